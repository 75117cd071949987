"""The IAM Identity Center emulator answers botocore's own sso-oidc and sso clients as AWS does."""

from __future__ import annotations

import time
from typing import Any

import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from shellenv.sandbox import sso as emulator

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def clients(sso: Any) -> tuple[Any, Any]:
    import botocore.session

    session = botocore.session.Session()
    config = Config(
        signature_version=UNSIGNED, region_name="us-east-1", retries={"total_max_attempts": 1}
    )
    oidc = session.create_client("sso-oidc", config=config, endpoint_url=sso.oidc_url)
    portal = session.create_client("sso", config=config, endpoint_url=sso.portal_url)
    return oidc, portal


def code_of(call: Any, **params: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call(**params)
    return caught.value.response["Error"]["Code"]


def register(oidc: Any, scopes: list[str] | None = None) -> dict[str, Any]:
    extra = {"scopes": scopes} if scopes is not None else {}
    return oidc.register_client(clientName="test", clientType="public", **extra)


def device_login(sso: Any, oidc: Any, scopes: list[str] | None = None) -> tuple[dict, dict]:
    client = register(oidc, scopes if scopes is not None else [emulator.ACCOUNT_ACCESS_SCOPE])
    device = oidc.start_device_authorization(
        clientId=client["clientId"], clientSecret=client["clientSecret"], startUrl=sso.start_url
    )
    sso.approve(device["userCode"])
    token = oidc.create_token(
        clientId=client["clientId"],
        clientSecret=client["clientSecret"],
        grantType=DEVICE_GRANT,
        deviceCode=device["deviceCode"],
    )
    return client, token


def test_device_flow_pending_slow_down_then_token(sso: Any) -> None:
    oidc, _ = clients(sso)
    client = register(oidc)
    assert client["clientSecretExpiresAt"] > time.time()
    device = oidc.start_device_authorization(
        clientId=client["clientId"], clientSecret=client["clientSecret"], startUrl=sso.start_url
    )
    assert device["interval"] == 1 and device["expiresIn"] > 0
    assert device["verificationUriComplete"].endswith(f"user_code={device['userCode']}")
    poll = dict(
        clientId=client["clientId"],
        clientSecret=client["clientSecret"],
        grantType=DEVICE_GRANT,
        deviceCode=device["deviceCode"],
    )

    assert code_of(oidc.create_token, **poll) == "AuthorizationPendingException"
    assert code_of(oidc.create_token, **poll) == "SlowDownException"  # polled again at once
    assert sso.pending() == [device["userCode"]]

    sso.approve(device["userCode"].lower())
    time.sleep(1.05)
    token = oidc.create_token(**poll)
    assert token["accessToken"] and token["expiresIn"] == emulator.TOKEN_LIFETIME
    assert "refreshToken" not in token  # registered without a scope, like the real service
    assert (
        code_of(oidc.create_token, **poll) == "InvalidGrantException"
    )  # a device code serves once
    assert sso.stats()["logins"] == 1


def test_denied_and_expired_device_codes(sso: Any) -> None:
    oidc, _ = clients(sso)
    client = register(oidc)
    secrets = dict(clientId=client["clientId"], clientSecret=client["clientSecret"])
    denied = oidc.start_device_authorization(startUrl=sso.start_url, **secrets)
    expired = oidc.start_device_authorization(startUrl=sso.start_url, **secrets)
    sso.deny(denied["userCode"])
    assert (
        code_of(
            oidc.create_token, grantType=DEVICE_GRANT, deviceCode=denied["deviceCode"], **secrets
        )
        == "AccessDeniedException"
    )
    sso.expire("devices")
    assert (
        code_of(
            oidc.create_token, grantType=DEVICE_GRANT, deviceCode=expired["deviceCode"], **secrets
        )
        == "ExpiredTokenException"
    )


def test_bad_client_and_grant(sso: Any) -> None:
    oidc, _ = clients(sso)
    client = register(oidc)
    assert (
        code_of(
            oidc.start_device_authorization,
            clientId=client["clientId"],
            clientSecret="wrong",
            startUrl=sso.start_url,
        )
        == "InvalidClientException"
    )
    assert (
        code_of(
            oidc.create_token,
            clientId=client["clientId"],
            clientSecret=client["clientSecret"],
            grantType="password",
        )
        == "UnsupportedGrantTypeException"
    )
    assert (
        code_of(
            oidc.create_token,
            clientId=client["clientId"],
            clientSecret=client["clientSecret"],
            grantType="refresh_token",
            refreshToken="nope",
        )
        == "InvalidGrantException"
    )
    sso.expire("registrations")
    assert (
        code_of(
            oidc.start_device_authorization,
            clientId=client["clientId"],
            clientSecret=client["clientSecret"],
            startUrl=sso.start_url,
        )
        == "InvalidClientException"
    )


def test_refresh_rotates_tokens(sso: Any) -> None:
    oidc, portal = clients(sso)
    client, token = device_login(sso, oidc)
    refreshed = oidc.create_token(
        clientId=client["clientId"],
        clientSecret=client["clientSecret"],
        grantType="refresh_token",
        refreshToken=token["refreshToken"],
    )
    assert refreshed["accessToken"] != token["accessToken"]
    assert refreshed["refreshToken"] != token["refreshToken"]
    assert (
        code_of(portal.list_accounts, accessToken=token["accessToken"]) == "UnauthorizedException"
    )
    assert portal.list_accounts(accessToken=refreshed["accessToken"])["accountList"]
    assert (
        code_of(
            oidc.create_token,
            clientId=client["clientId"],
            clientSecret=client["clientSecret"],
            grantType="refresh_token",
            refreshToken=token["refreshToken"],
        )
        == "InvalidGrantException"
    )


def test_accounts_and_roles_take_several_pages(sso: Any) -> None:
    oidc, portal = clients(sso)
    _, token = device_login(sso, oidc)
    first = portal.list_accounts(accessToken=token["accessToken"])
    assert len(first["accountList"]) == emulator.PAGE_SIZE and first["nextToken"]

    pages = list(portal.get_paginator("list_accounts").paginate(accessToken=token["accessToken"]))
    accounts = [a for page in pages for a in page["accountList"]]
    assert len(pages) >= 3
    assert {a["accountId"]: a["accountName"] for a in accounts}["111111111111"] == "sandbox-dev"
    assert len({a["accountId"] for a in accounts}) == len(sso.state.assignments)

    roles = portal.get_paginator("list_account_roles").paginate(
        accessToken=token["accessToken"], accountId="333333333333", PaginationConfig={"PageSize": 3}
    )
    names = [r["roleName"] for page in roles for r in page["roleList"]]
    assert names == list(emulator.EXTRA_ROLES)
    assert (
        code_of(portal.list_accounts, accessToken=token["accessToken"], nextToken="garbage")
        == "InvalidRequestException"
    )


def test_role_credentials_work_with_the_sandbox_sts(sso: Any, sts_server: Any) -> None:
    oidc, portal = clients(sso)
    _, token = device_login(sso, oidc)
    before = time.time()
    keys = portal.get_role_credentials(
        accessToken=token["accessToken"], accountId="111111111111", roleName="Admin"
    )["roleCredentials"]
    assert keys["accessKeyId"].startswith("ASIA")
    assert before + 3500 < keys["expiration"] / 1000 < time.time() + 3700  # epoch milliseconds
    identity = sts_server.client(
        aws_access_key_id=keys["accessKeyId"],
        aws_secret_access_key=keys["secretAccessKey"],
        aws_session_token=keys["sessionToken"],
    ).get_caller_identity()
    assert identity["Account"] == "111111111111"
    assert identity["Arn"] == "arn:aws:sts::111111111111:assumed-role/Admin/alice@example.com"
    assert (
        code_of(
            portal.get_role_credentials,
            accessToken=token["accessToken"],
            accountId="111111111111",
            roleName="Billing",
        )
        == "ForbiddenException"
    )


def test_logout_and_expired_tokens_are_unauthorized(sso: Any) -> None:
    oidc, portal = clients(sso)
    _, first = device_login(sso, oidc)
    _, second = device_login(sso, oidc)
    portal.logout(accessToken=first["accessToken"])
    assert (
        code_of(portal.list_accounts, accessToken=first["accessToken"]) == "UnauthorizedException"
    )
    assert portal.list_accounts(accessToken=second["accessToken"])["accountList"]
    sso.expire("tokens")
    assert (
        code_of(
            portal.get_role_credentials,
            accessToken=second["accessToken"],
            accountId="111111111111",
            roleName="Admin",
        )
        == "UnauthorizedException"
    )
    assert code_of(portal.list_accounts, accessToken="made-up") == "UnauthorizedException"


def test_injected_failures(sso: Any) -> None:
    oidc, portal = clients(sso)
    _, token = device_login(sso, oidc)
    sso.fail("ListAccounts", "TooManyRequestsException", count=2)
    for _ in range(2):
        with pytest.raises(ClientError) as caught:
            portal.list_accounts(accessToken=token["accessToken"])
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
        assert caught.value.response["Error"]["Code"] == "TooManyRequestsException"
    assert portal.list_accounts(accessToken=token["accessToken"])["accountList"]
    sso.fail("RegisterClient", "InternalServerException")
    assert code_of(register, oidc=oidc) == "InternalServerException"


def test_auto_approve_and_device_page(sso: Any) -> None:
    import urllib.request

    oidc, _ = clients(sso)
    sso.auto_approve()
    client, token = device_login(sso, oidc)  # approve() of an approved code is harmless
    assert token["accessToken"]
    sso.auto_approve(False)
    device = oidc.start_device_authorization(
        clientId=client["clientId"], clientSecret=client["clientSecret"], startUrl=sso.start_url
    )
    page = f"{device['verificationUriComplete']}"
    with urllib.request.urlopen(page, timeout=5) as answer:  # noqa: S310
        assert device["userCode"] in answer.read().decode()
    form = f"user_code={device['userCode']}&action=approve".encode()
    with urllib.request.urlopen(urllib.request.Request(page, data=form), timeout=5) as answer:  # noqa: S310
        assert b"approved" in answer.read()
    assert sso.pending() == []
