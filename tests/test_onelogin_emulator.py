"""The OneLogin emulator answers like OneLogin's API: shapes, statuses and texts, over real HTTP."""

from __future__ import annotations

import base64
import time

import pyotp
import pytest
import requests

from shellenv import saml
from shellenv.sandbox import onelogin as ol

V1, V2 = "/api/1", "/api/2"


def token(sandbox, *, basic: bool = False, secret: str = ol.CLIENT_SECRET) -> requests.Response:
    if basic:
        auth = "Basic " + base64.b64encode(f"{ol.CLIENT_ID}:{secret}".encode()).decode()
    else:
        auth = f"client_id:{ol.CLIENT_ID}, client_secret:{secret}"
    return requests.post(
        sandbox.url + "/auth/oauth2/v2/token",
        timeout=5,
        json={"grant_type": "client_credentials"},
        headers={"Authorization": auth},
    )


class Api:
    """A bare client: one access token, raw answers."""

    def __init__(self, sandbox, version: str = V2) -> None:
        self.sandbox = sandbox
        self.version = version
        self.bearer = "bearer:" + token(sandbox).json()["access_token"]

    def post(self, path: str, body: dict, **kwargs) -> requests.Response:
        return requests.post(
            self.sandbox.url + self.version + path,
            json=body,
            headers={"Authorization": self.bearer},
            timeout=kwargs.pop("timeout", 5),
            **kwargs,
        )

    def login(self, user: str = ol.ALICE, app_id: str = ol.DEV_APP_ID, **extra) -> requests.Response:
        body = {
            "username_or_email": user,
            "password": ol.PASSWORDS.get(user, "x"),
            "app_id": app_id,
            "subdomain": ol.SUBDOMAIN,
            **extra,
        }
        return self.post("/saml_assertion", body)

    def mfa(self, user: str = ol.ALICE) -> dict:
        answer = self.login(user).json()
        return answer["data"][0] if self.version == V1 else answer

    def verify(self, state: dict | str, device_id: int, **extra) -> requests.Response:
        state_token = state if isinstance(state, str) else state["state_token"]
        return self.post(
            "/saml_assertion/verify_factor",
            {"app_id": ol.DEV_APP_ID, "device_id": str(device_id), "state_token": state_token, **extra},
        )


def device(mfa: dict, device_type: str) -> int:
    return next(d["device_id"] for d in mfa["devices"] if d["device_type"] == device_type)


def assertion_of(response: requests.Response, version: str = V2) -> saml.Assertion:
    assert response.status_code == 200, response.text
    body = response.json()
    if version == V1:
        assert body["status"] == {"type": "success", "message": "Success", "error": False, "code": 200}
    else:
        assert body["message"] == "Success"
    return saml.parse(body["data"])


# -- token -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("basic", [False, True], ids=["onelogin-header", "http-basic"])
def test_token_accepts_both_header_forms(onelogin_sandbox, basic):
    answer = token(onelogin_sandbox, basic=basic)
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {
        "access_token",
        "created_at",
        "expires_in",
        "refresh_token",
        "token_type",
        "account_id",
    }
    assert body["token_type"] == "bearer"


@pytest.mark.parametrize("basic", [False, True], ids=["onelogin-header", "http-basic"])
def test_token_refuses_a_wrong_client_secret(onelogin_sandbox, basic):
    answer = token(onelogin_sandbox, basic=basic, secret="wrong")
    assert answer.status_code == 401
    assert answer.json() == {
        "status": {"type": "Unauthorized", "message": "Authentication Failure", "error": True, "code": 401}
    }


def test_api_refuses_a_missing_or_unknown_bearer_token(onelogin_sandbox):
    for header in ({}, {"Authorization": "bearer:nope"}):
        answer = requests.post(
            onelogin_sandbox.url + "/api/2/saml_assertion", json={}, headers=header, timeout=5
        )
        assert answer.status_code == 401
    assert onelogin_sandbox.stats()["assertions_issued"] == 0


def test_bearer_with_a_space_is_accepted_too(onelogin_sandbox):
    api = Api(onelogin_sandbox)
    api.bearer = api.bearer.replace("bearer:", "bearer ")
    assertion_of(api.login(ol.BOB))


# -- generate SAML assertion -----------------------------------------------------------------------


@pytest.mark.parametrize("version", [V1, V2])
def test_user_without_factors_gets_the_assertion_with_the_apps_roles(onelogin_sandbox, version):
    api = Api(onelogin_sandbox, version)
    parsed = assertion_of(api.login(ol.BOB), version)
    assert [r.role_arn for r in parsed.roles] == ["arn:aws:iam::111111111111:role/ReadOnly"]
    assert parsed.session_name == ol.BOB


def test_each_app_lists_the_roles_of_its_own_organization(onelogin_sandbox):
    api = Api(onelogin_sandbox)
    dev = assertion_of(api.login(ol.ALICE, ip_address=ol.MFA_BYPASS_IP))
    prod = assertion_of(api.login(ol.ALICE, ol.PROD_APP_ID, ip_address=ol.MFA_BYPASS_IP))
    assert {r.account_id for r in dev.roles} == {"111111111111"}
    assert len(dev.roles) == 3
    assert {r.role_arn for r in prod.roles} == {
        "arn:aws:iam::222222222222:role/Admin",
        "arn:aws:iam::222222222222:role/ReadOnly",
    }
    assert all(r.principal_arn.endswith(":saml-provider/shellenv-sandbox") for r in prod.roles)


def test_mfa_answer_v2_is_flat(onelogin_sandbox):
    body = Api(onelogin_sandbox).login().json()
    assert body["message"] == "MFA is required for this user"
    assert body["state_token"]
    assert body["callback_url"] == onelogin_sandbox.url + "/api/2/saml_assertion/verify_factor"
    assert body["user"]["email"] == ol.ALICE
    assert [d["device_type"] for d in body["devices"]] == [
        "Google Authenticator",
        "OneLogin Protect",
        "Yubico YubiKey",
        "OneLogin SMS",
        "OneLogin Email",
    ]


def test_mfa_answer_v1_is_wrapped(onelogin_sandbox):
    body = Api(onelogin_sandbox, V1).login().json()
    assert body["status"] == {
        "type": "success",
        "message": "MFA is required for this user",
        "error": False,
        "code": 200,
    }
    assert len(body["data"]) == 1 and body["data"][0]["state_token"]
    assert body["data"][0]["callback_url"].endswith("/api/1/saml_assertion/verify_factor")


@pytest.mark.parametrize(
    "user, app_id, extra, status, message",
    [
        (ol.ALICE, ol.DEV_APP_ID, {"password": "wrong"}, 401, ol.INVALID_CREDENTIALS),
        ("nobody@example.com", ol.DEV_APP_ID, {}, 401, ol.INVALID_CREDENTIALS),
        (ol.LOCKED_USER, ol.DEV_APP_ID, {}, 401, ol.USER_LOCKED),
        (ol.OFFICE_USER, ol.DEV_APP_ID, {}, 401, ol.IP_NOT_ALLOWED),
        (ol.BOB, ol.UNKNOWN_APP_ID, {}, 404, ol.APP_NOT_FOUND),
        (ol.BOB, ol.PROD_APP_ID, {}, 401, ol.NOT_ASSIGNED),
        (ol.BOB, ol.DEV_APP_ID, {"subdomain": "elsewhere"}, 400, ol.INVALID_SUBDOMAIN),
        (ol.BOB, ol.DEV_APP_ID, {"password": ""}, 400, "password is empty"),
    ],
)
@pytest.mark.parametrize("version", [V1, V2])
def test_login_failures_carry_onelogins_status_and_text(
    onelogin_sandbox, version, user, app_id, extra, status, message
):
    answer = Api(onelogin_sandbox, version).login(user, app_id, **extra)
    assert answer.status_code == status
    body = answer.json()
    if version == V1:
        assert body["status"]["message"] == message
        assert body["status"]["error"] is True and body["status"]["code"] == status
    else:
        assert body["message"] == message and body["statusCode"] == status


def test_office_user_may_log_in_from_the_office_address(onelogin_sandbox):
    assertion_of(Api(onelogin_sandbox).login(ol.OFFICE_USER, ip_address=ol.OFFICE_IP))


def test_allow_listed_address_skips_mfa(onelogin_sandbox):
    assertion_of(Api(onelogin_sandbox).login(ol.ALICE, ip_address=ol.MFA_BYPASS_IP))


# -- verify factor ---------------------------------------------------------------------------------


@pytest.mark.parametrize("offset, accepted", [(0, True), (-30, True), (30, True), (-90, False)])
def test_authenticator_codes_one_step_either_side_are_accepted(onelogin_sandbox, offset, accepted):
    if time.time() % 30 > 28:  # keep the code's step and the check's step from straddling a boundary
        time.sleep(2.5)
    api = Api(onelogin_sandbox)
    mfa = api.mfa()
    code = pyotp.TOTP(ol.TOTP_SEED).at(time.time() + offset)
    answer = api.verify(mfa, device(mfa, "Google Authenticator"), otp_token=code)
    if accepted:
        assertion_of(answer)
    else:
        assert answer.status_code == 401
        assert answer.json()["message"] == ol.FACTOR_FAILED


def test_protect_code_and_yubikey_otp(onelogin_sandbox):
    api = Api(onelogin_sandbox)
    mfa = api.mfa()
    code = pyotp.TOTP(ol.PROTECT_SEED).now()
    assertion_of(api.verify(mfa, device(mfa, "OneLogin Protect"), otp_token=code))
    mfa = api.mfa()
    assert api.verify(mfa, device(mfa, "Yubico YubiKey"), otp_token="cccc").status_code == 401
    assertion_of(api.verify(mfa, device(mfa, "Yubico YubiKey"), otp_token=ol.YUBIKEY_OTP))


@pytest.mark.parametrize("version", [V1, V2])
def test_push_is_pending_until_approved(onelogin_sandbox, version):
    api = Api(onelogin_sandbox, version)
    mfa = api.mfa()
    protect = device(mfa, "OneLogin Protect")
    for notify in (False, True, True):
        body = api.verify(mfa, protect, do_not_notify=notify).json()
        if version == V1:
            assert body["status"]["type"] == "pending"
            assert body["status"]["message"] == ol.PUSH_PENDING
        else:
            assert body == {"message": ol.PUSH_PENDING}
    onelogin_sandbox.approve_push(mfa["state_token"])
    assertion_of(api.verify(mfa, protect, do_not_notify=True), version)


def test_denied_push_fails_the_factor(onelogin_sandbox):
    api = Api(onelogin_sandbox)
    mfa = api.mfa(ol.DAVE)
    api.verify(mfa, device(mfa, "OneLogin Protect"), do_not_notify=False)
    onelogin_sandbox.deny_push("latest")
    answer = api.verify(mfa, device(mfa, "OneLogin Protect"), do_not_notify=True)
    assert answer.status_code == 401 and answer.json()["message"] == ol.FACTOR_FAILED


@pytest.mark.parametrize("device_type, to", [("OneLogin SMS", "+1 555 0100"), ("OneLogin Email", ol.ALICE)])
def test_sms_and_email_send_a_code_to_the_outbox(onelogin_sandbox, device_type, to):
    api = Api(onelogin_sandbox)
    mfa = api.mfa()
    sent = api.verify(mfa, device(mfa, device_type))
    assert sent.status_code == 200 and "pending" in sent.json()["message"].lower()
    [message] = onelogin_sandbox.outbox(to)
    assert message["state_token"] == mfa["state_token"] and len(message["code"]) == 6
    wrong = "000000" if message["code"] != "000000" else "111111"
    assert api.verify(mfa, device(mfa, device_type), otp_token=wrong).status_code == 401
    assertion_of(api.verify(mfa, device(mfa, device_type), otp_token=message["code"]))


def test_state_token_expires_and_is_used_once(onelogin_sandbox):
    api = Api(onelogin_sandbox)
    mfa = api.mfa()
    authenticator = device(mfa, "Google Authenticator")
    assertion_of(api.verify(mfa, authenticator, otp_token=pyotp.TOTP(ol.TOTP_SEED).now()))
    again = api.verify(mfa, authenticator, otp_token=pyotp.TOTP(ol.TOTP_SEED).now())
    assert again.status_code == 401 and again.json()["message"] == ol.STATE_EXPIRED

    mfa = api.mfa()
    onelogin_sandbox.advance(ol.STATE_TOKEN_SECONDS + 1)
    late = api.verify(mfa, authenticator, otp_token=pyotp.TOTP(ol.TOTP_SEED).now())
    assert late.status_code == 401 and late.json()["message"] == ol.STATE_EXPIRED


def test_otp_devices_lists_the_factors_with_their_names(onelogin_sandbox):
    api = Api(onelogin_sandbox)
    user_id = api.mfa()["user"]["id"]
    answer = requests.get(
        f"{onelogin_sandbox.url}/api/1/users/{user_id}/otp_devices",
        headers={"Authorization": api.bearer},
        timeout=5,
    ).json()
    names = [d["auth_factor_name"] for d in answer["data"]["otp_devices"]]
    assert names[:2] == ["Google Authenticator", "OneLogin Protect"]


# -- failure rules and counters --------------------------------------------------------------------


def test_fail_rule_answers_the_next_calls_then_stops(onelogin_sandbox):
    api = Api(onelogin_sandbox)
    onelogin_sandbox.fail("/api/2/saml_assertion", 503, times=1)
    assert api.login(ol.BOB).status_code == 503
    assertion_of(api.login(ol.BOB))


def test_rate_limit_carries_retry_after(onelogin_sandbox):
    api = Api(onelogin_sandbox)
    onelogin_sandbox.fail("/api/*", 429, retry_after=17)
    answer = api.login(ol.BOB)
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "17"


def test_delay_rule_slows_the_answer(onelogin_sandbox):
    api = Api(onelogin_sandbox)
    onelogin_sandbox.fail("/api/2/saml_assertion", None, delay=1.0)
    body = {
        "username_or_email": ol.BOB,
        "password": ol.PASSWORDS[ol.BOB],
        "app_id": ol.DEV_APP_ID,
        "subdomain": ol.SUBDOMAIN,
    }
    with pytest.raises(requests.exceptions.ReadTimeout):
        api.post("/saml_assertion", body, timeout=0.3)


def test_stats_count_logins_and_assertions(onelogin_sandbox):
    api = Api(onelogin_sandbox)
    api.login(ol.BOB)
    api.login(ol.ALICE)
    api.login(ol.ALICE, password="wrong")
    stats = onelogin_sandbox.stats()
    assert stats["saml_assertion_calls"] == 3
    assert stats["assertions_issued"] == 1
    assert stats["token_calls"] == 1
