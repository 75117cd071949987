"""The Okta emulator's fidelity over plain HTTP: Okta's shapes, statuses, error codes, cookies and links.

These talk to the emulator with requests, as any Okta client would, without shellenv's provider.
"""

from __future__ import annotations

import base64
from typing import Any

import pyotp
import pytest
import requests

from shellenv.sandbox import okta as emulator


def authn(sandbox: Any, http: requests.Session | None = None, **body: Any) -> requests.Response:
    http = http or requests.Session()
    return http.post(f"{sandbox.url}/api/v1/authn", json=body, timeout=5)


def alice(sandbox: Any, http: requests.Session | None = None) -> dict[str, Any]:
    return authn(sandbox, http, username=emulator.ALICE,
                 password=emulator.PASSWORDS[emulator.ALICE]).json()


def factor(tx: dict[str, Any], kind: str, provider: str = "OKTA") -> dict[str, Any]:
    return next(f for f in tx["_embedded"]["factors"]
                if f["factorType"] == kind and f["provider"] == provider)


def verify(tx: dict[str, Any], chosen: dict[str, Any], http: requests.Session | None = None,
           **body: Any) -> requests.Response:
    http = http or requests.Session()
    return http.post(chosen["_links"]["verify"]["href"],
                     json={"stateToken": tx["stateToken"], **body}, timeout=5)


@pytest.mark.parametrize("pipeline", ["v1", "idx"])
def test_org_metadata_names_the_pipeline(okta_sandbox: Any, pipeline: str) -> None:
    okta_sandbox.configure(pipeline=pipeline)
    body = requests.get(f"{okta_sandbox.url}/.well-known/okta-organization", timeout=5).json()
    assert body["pipeline"] == pipeline
    assert body["_links"]["organization"]["href"] == okta_sandbox.url


def test_wrong_password_is_e0000004_and_sets_a_device_token(okta_sandbox: Any) -> None:
    answer = authn(okta_sandbox, username=emulator.ALICE, password="wrong")
    assert answer.status_code == 401
    body = answer.json()
    assert body["errorCode"] == "E0000004" and body["errorSummary"] == "Authentication failed"
    assert {"errorLink", "errorId", "errorCauses"} <= set(body)
    assert answer.cookies.get("DT")


def test_mfa_required_lists_factors_with_verify_links_and_policy(okta_sandbox: Any) -> None:
    tx = alice(okta_sandbox)
    assert tx["status"] == "MFA_REQUIRED" and tx["stateToken"]
    kinds = {(f["factorType"], f["provider"]) for f in tx["_embedded"]["factors"]}
    assert {("token:software:totp", "OKTA"), ("token:software:totp", "GOOGLE"), ("push", "OKTA"),
            ("sms", "OKTA"), ("call", "OKTA"), ("email", "OKTA"),
            ("token:hardware", "YUBICO")} <= kinds
    assert all(f["_links"]["verify"]["href"].endswith("/verify") for f in tx["_embedded"]["factors"])
    assert tx["_embedded"]["policy"]["allowRememberDevice"] is True
    assert tx["_embedded"]["user"]["profile"]["login"] == emulator.ALICE


def test_totp_success_gives_a_session_token(okta_sandbox: Any) -> None:
    tx = alice(okta_sandbox)
    code = pyotp.TOTP(emulator.GOOGLE_SEED).now()
    done = verify(tx, factor(tx, "token:software:totp", "GOOGLE"), passCode=code).json()
    assert done["status"] == "SUCCESS" and done["sessionToken"]
    assert okta_sandbox.stats()["logins"] == 1


def test_wrong_code_is_e0000068(okta_sandbox: Any) -> None:
    tx = alice(okta_sandbox)
    answer = verify(tx, factor(tx, "token:software:totp", "GOOGLE"), passCode="000000")
    assert answer.status_code == 403 and answer.json()["errorCode"] == "E0000068"


def test_push_waits_with_a_number_then_succeeds(okta_sandbox: Any) -> None:
    tx = alice(okta_sandbox)
    push = factor(tx, "push")
    waiting = verify(tx, push).json()
    assert waiting["status"] == "MFA_CHALLENGE" and waiting["factorResult"] == "WAITING"
    assert waiting["_links"]["next"]["name"] == "poll"
    number = waiting["_embedded"]["factor"]["_embedded"]["challenge"]["correctAnswer"]
    assert okta_sandbox.push("approve", answer=number)["factorResult"] == "SUCCESS"
    done = requests.post(waiting["_links"]["next"]["href"],
                         json={"stateToken": tx["stateToken"]}, timeout=5).json()
    assert done["status"] == "SUCCESS"


def test_push_with_the_wrong_number_is_rejected(okta_sandbox: Any) -> None:
    tx = alice(okta_sandbox)
    number = verify(tx, factor(tx, "push")).json()["_embedded"]["factor"]["_embedded"][
        "challenge"]["correctAnswer"]
    okta_sandbox.push("approve", answer=number + 1)
    polled = verify(tx, factor(tx, "push")).json()
    assert polled["factorResult"] == "REJECTED"


def test_push_times_out_after_five_minutes(okta_sandbox: Any) -> None:
    tx = alice(okta_sandbox)
    verify(tx, factor(tx, "push"))
    okta_sandbox.advance(emulator.PUSH_SECONDS - 100)
    assert verify(tx, factor(tx, "push")).json()["factorResult"] == "WAITING"
    okta_sandbox.advance(101)
    assert verify(tx, factor(tx, "push")).json()["factorResult"] == "TIMEOUT"


def test_sms_challenge_then_code_from_the_outbox(okta_sandbox: Any) -> None:
    tx = alice(okta_sandbox)
    sms = factor(tx, "sms")
    challenge = verify(tx, sms).json()
    assert challenge["status"] == "MFA_CHALLENGE" and challenge["factorResult"] == "CHALLENGE"
    code = okta_sandbox.outbox(emulator.ALICE)[-1]["code"]
    done = requests.post(challenge["_links"]["next"]["href"],
                         json={"stateToken": tx["stateToken"], "passCode": code}, timeout=5)
    assert done.json()["status"] == "SUCCESS"


def test_expired_state_token_is_e0000011(okta_sandbox: Any) -> None:
    tx = alice(okta_sandbox)
    okta_sandbox.advance(emulator.STATE_SECONDS + 1)
    answer = verify(tx, factor(tx, "push"))
    assert answer.status_code == 401 and answer.json()["errorCode"] == "E0000011"


def test_wrong_passwords_lock_the_account(okta_sandbox: Any) -> None:
    for _ in range(emulator.LOCKOUT_AFTER):
        assert authn(okta_sandbox, username=emulator.BOB, password="wrong").status_code == 401
    locked = authn(okta_sandbox, username=emulator.BOB, password=emulator.PASSWORDS[emulator.BOB])
    assert locked.json()["status"] == "LOCKED_OUT"


def test_remember_device_skips_mfa_for_the_same_device_token(okta_sandbox: Any) -> None:
    http = requests.Session()
    tx = alice(okta_sandbox, http)
    code = pyotp.TOTP(emulator.GOOGLE_SEED).now()
    chosen = factor(tx, "token:software:totp", "GOOGLE")
    http.post(chosen["_links"]["verify"]["href"] + "?rememberDevice=true",
              json={"stateToken": tx["stateToken"], "passCode": code}, timeout=5)
    assert alice(okta_sandbox, http)["status"] == "SUCCESS"
    assert alice(okta_sandbox)["status"] == "MFA_REQUIRED"  # another browser


def test_session_cookie_app_links_and_the_saml_form(okta_sandbox: Any) -> None:
    token = authn(okta_sandbox, username=emulator.NOMFA,
                  password=emulator.PASSWORDS[emulator.NOMFA]).json()["sessionToken"]
    http = requests.Session()
    assert http.get(f"{okta_sandbox.url}/api/v1/users/me/appLinks", timeout=5).status_code == 403
    redirect = http.get(f"{okta_sandbox.url}/login/sessionCookieRedirect", timeout=5,
                        params={"token": token, "redirectUrl": okta_sandbox.url + "/app/UserHome"},
                        allow_redirects=False)
    assert redirect.status_code == 302 and "sid" in redirect.cookies
    links = http.get(f"{okta_sandbox.url}/api/v1/users/me/appLinks", timeout=5).json()
    aws = [link for link in links if link["appName"] == "amazon_aws"]
    assert [link["label"] for link in aws] == ["AWS sandbox-dev"]
    page = http.get(aws[0]["linkUrl"], timeout=5).text
    assert 'action="https://signin.aws.amazon.com/saml"' in page
    value = page.split('name="SAMLResponse" value="')[1].split('"')[0]
    assert b"arn:aws:iam::111111111111:role/ReadOnly" in base64.b64decode(value)


def test_the_embed_link_takes_a_one_time_token_once(okta_sandbox: Any) -> None:
    token = authn(okta_sandbox, username=emulator.NOMFA,
                  password=emulator.PASSWORDS[emulator.NOMFA]).json()["sessionToken"]
    link = okta_sandbox.app_url()
    assert "SAMLResponse" in requests.get(link, params={"onetimetoken": token}, timeout=5).text
    again = requests.get(link, params={"onetimetoken": token}, timeout=5, allow_redirects=False)
    assert again.status_code == 302 and "/login/login.htm" in again.headers["Location"]


def test_rate_limit_carries_okta_headers(okta_sandbox: Any) -> None:
    okta_sandbox.fail("/api/v1/authn", 429)
    answer = authn(okta_sandbox, username=emulator.ALICE, password="x")
    assert answer.status_code == 429 and answer.json()["errorCode"] == "E0000047"
    assert answer.headers["X-Rate-Limit-Remaining"] == "0" and answer.headers["X-Rate-Limit-Reset"]


def test_device_authorization_and_web_sso_token(okta_sandbox: Any) -> None:
    okta_sandbox.configure(pipeline="idx", device_interval=0)
    url = okta_sandbox.url
    start = requests.post(f"{url}/oauth2/v1/device/authorize", timeout=5,
                          data={"client_id": emulator.OIDC_CLIENT_ID, "scope": "openid okta.apps.sso"})
    device_code = start.json()["device_code"]
    poll = {"client_id": emulator.OIDC_CLIENT_ID, "device_code": device_code,
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code"}
    pending = requests.post(f"{url}/oauth2/v1/token", data=poll, timeout=5)
    assert pending.status_code == 400 and pending.json()["error"] == "authorization_pending"
    okta_sandbox.device("approve", user_code=start.json()["user_code"], username=emulator.ALICE)
    tokens = requests.post(f"{url}/oauth2/v1/token", data=poll, timeout=5).json()
    exchanged = requests.post(f"{url}/oauth2/v1/token", timeout=5, data={
        "client_id": emulator.OIDC_CLIENT_ID,
        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
        "actor_token": tokens["device_secret"],
        "actor_token_type": "urn:x-oath:params:oauth:token-type:device-secret",
        "subject_token": tokens["id_token"],
        "subject_token_type": "urn:ietf:params:oauth:token-type:id_token",
        "requested_token_type": "urn:okta:oauth:token-type:web_sso_token",
        "audience": f"urn:okta:apps:{emulator.GOV_APP_ID}"}).json()
    assert exchanged["issued_token_type"] == "urn:okta:oauth:token-type:web_sso_token"
    sso = f"{url}/login/token/sso"
    page = requests.get(sso, params={"token": exchanged["access_token"]}, timeout=5).text
    assert 'action="https://signin.amazonaws-us-gov.com/saml"' in page
    assert requests.get(sso, params={"token": exchanged["access_token"]}, timeout=5).status_code == 400


def test_cn_assertion_is_accepted_by_the_sandbox_sts(okta_sandbox: Any, sts_server: Any) -> None:
    token = authn(okta_sandbox, username=emulator.ALICE,
                  password=emulator.PASSWORDS[emulator.ALICE]).json()
    code = pyotp.TOTP(emulator.GOOGLE_SEED).now()
    done = verify(token, factor(token, "token:software:totp", "GOOGLE"), passCode=code).json()
    page = requests.get(okta_sandbox.app_url(emulator.CN_APP_ID), timeout=5,
                        params={"sessionToken": done["sessionToken"]}).text
    assertion = page.split('name="SAMLResponse" value="')[1].split('"')[0]
    answer = sts_server.client("cn-north-1").assume_role_with_saml(
        RoleArn="arn:aws-cn:iam::111111111111:role/ReadOnly",
        PrincipalArn="arn:aws-cn:iam::111111111111:saml-provider/shellenv-sandbox",
        SAMLAssertion=assertion)
    assert answer["AssumedRoleUser"]["Arn"].startswith("arn:aws-cn:sts::111111111111:assumed-role/")
