"""A local emulator of an Okta org for AWS logins: classic authn, every common factor, the AWS apps' forms.

It answers with Okta's shapes, statuses and error codes so that clients can be tested end to end; it holds
only public test values, never a real credential, and listens on the loopback address only.

Endpoints (as Okta serves them):
  GET  /.well-known/okta-organization         {"pipeline": "v1"} (Classic) or "idx" (Identity Engine)
  POST /api/v1/authn                          primary authentication, or resume with {"stateToken"}
  POST /api/v1/authn/factors/<id>/verify      verify a factor (?rememberDevice=true); push polls here too
  POST /api/v1/authn/skip                     past PASSWORD_WARN
  POST /api/v1/authn/cancel                   end a transaction
  GET  /login/sessionCookieRedirect           ?token=<sessionToken>&redirectUrl=..: sets `sid`, redirects
  GET  /home/amazon_aws/<app id>/272          the AWS app's embed link: the auto-posting SAML form
       (also /app/amazon_aws/<app id>/sso/saml) with ?sessionToken= / ?onetimetoken= or the sid cookie
  GET  /api/v1/users/me/appLinks              the signed-in user's apps (sid cookie)
  POST /oauth2/v1/device/authorize            Identity Engine: device authorization (RFC 8628)
  POST /oauth2/v1/token                       device_code grant; token exchange for a web SSO token
  GET  /login/token/sso?token=<web sso token> the AWS app's SAML form for a web SSO token
  GET|POST /activate                          the page where a person confirms a device code

Test endpoints (the sandbox's own, never in Okta):
  POST /__sandbox/push                        {"action": "approve"|"reject"|"timeout", "username": ..,
                                              "answer": n}: answer the newest waiting push
  GET  /__sandbox/outbox                      codes "sent" by SMS, voice call and email (?to=<login>)
  POST /__sandbox/device                      {"user_code": ..|"latest", "username", "action"}: confirm
                                              or deny a device code as the person at the browser would
  POST /__sandbox/settings                    change SETTINGS (pipeline, number_matching, push_auto..)
  POST /__sandbox/apps/<app id>               {"mode": "saml"|"step-up"|"error"}: how its link answers
  POST /__sandbox/users/<login>               {"status": "PASSWORD_EXPIRED"|..}: force a state after the
                                              password (any string, to test unknown states)
  GET  /__sandbox/stats                       counters; `logins` counts session tokens issued
  POST /__sandbox/fail                        {"path", "status", "times"}: the next matching calls fail
                                              (after "delay" seconds; a delay alone only slows them)
  POST /__sandbox/clock                       {"advance": seconds}
  POST /__sandbox/reset                       everything back to the start
  GET  /__sandbox/info                        the public constants below

Users: ALICE has every factor and roles in both accounts; BOB has one Google Authenticator and one role;
NOMFA has no factor; EXPIRED, WARN, ENROLL, LOCKED and RECOVERY answer those states after the password.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import html
import json
import logging
import re
import secrets
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shellenv.sandbox import saml, world
from shellenv.sandbox.control import Faults, SandboxClock, parse_fault

log = logging.getLogger(__name__)

ORG_ID = "00osandbox0000000001"
ALICE = "alice@example.com"
BOB = "bob@example.com"
NOMFA = "nomfa@example.com"
EXPIRED = "expired@example.com"
WARN = "warn@example.com"
ENROLL = "enroll@example.com"
LOCKED = "locked@example.com"
RECOVERY = "recovery@example.com"
PASSWORDS = {
    ALICE: world.ALICE_PASSWORD,
    BOB: world.BOB_PASSWORD,
    NOMFA: "nomfa-sandbox-password",
    EXPIRED: "expired-sandbox-password",
    WARN: "warn-sandbox-password",
    ENROLL: "enroll-sandbox-password",
    LOCKED: "locked-sandbox-password",
    RECOVERY: "recovery-sandbox-password",
}

GOOGLE_SEED = world.ALICE_TOTP_SECRET  # alice's Google Authenticator
OKTA_VERIFY_SEED = "MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U"  # the codes alice's Okta Verify shows
YUBIKEY_ID = "ccccccbdefgh"  # the public id every OTP of alice's YubiKey starts with
MODHEX = "cbdefghijklnrtuv"

DEV_APP_ID = "0oasbxdev000000000a1"  # roles in 111111111111, aws
PROD_APP_ID = "0oasbxprod00000000a2"  # roles in 222222222222, aws
CN_APP_ID = "0oasbxcn0000000000a3"  # roles in 111111111111, posted to aws-cn
GOV_APP_ID = "0oasbxgov000000000a4"  # roles in 222222222222, posted to aws-us-gov
WIKI_APP_ID = "0oasbxwiki00000000b1"  # a bookmark app, not AWS
OIDC_CLIENT_ID = "0oasbxcli0000000000c"  # the native OIDC app of the Identity Engine path

STATE_SECONDS = 300  # a transaction's stateToken lives five minutes
SESSION_TOKEN_SECONDS = 300
PUSH_SECONDS = 300  # an unanswered push times out after five minutes
LOCKOUT_AFTER = 5  # wrong passwords before the account locks
MFA_LOCKOUT_AFTER = 5  # wrong codes before the account locks
REMEMBER_MINUTES = 7 * 24 * 60
DEVICE_CODE_SECONDS = 600
TOTP_WINDOW = 1

SETTINGS: dict[str, Any] = {
    "pipeline": "v1",  # "idx" makes the org an Identity Engine org
    "number_matching": True,  # pushes carry a number the person must pick on the phone
    "push_auto": None,  # "approve" | "reject": answer pushes on the first poll, without a test call
    "allow_remember_device": True,
    "device_interval": 5,  # seconds between device-code polls, as Okta asks
    "device_auto": None,  # a login to confirm device codes as, on the first poll
    "native_sso": True,  # the OIDC app may exchange tokens for a web SSO token
    "classic_sso_on_idx": False,  # on idx, a classic session token opens the AWS app without a widget
}

TOTP, PUSH, SMS, CALL, EMAIL = "token:software:totp", "push", "sms", "call", "email"
HARDWARE, WEBAUTHN = "token:hardware", "webauthn"
GRANT_DEVICE = "urn:ietf:params:oauth:grant-type:device_code"
GRANT_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
WEB_SSO_TOKEN = "urn:okta:oauth:token-type:web_sso_token"
TYPE_ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"
TYPE_ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token"
TYPE_DEVICE_SECRET = "urn:x-oath:params:oauth:token-type:device-secret"


@dataclass(frozen=True)
class Factor:
    """One enrolled factor, as Okta lists it in MFA_REQUIRED."""

    id: str
    type: str
    provider: str
    profile: dict[str, str] = field(default_factory=dict)
    secret: str = ""  # TOTP seed or YubiKey public id


@dataclass
class Person:
    """An Okta user: credentials, AWS roles, factors, and the state the password leads to."""

    id: str
    login: str
    password: str
    roles: list[str]
    factors: list[Factor] = field(default_factory=list)
    session_duration: int | None = None
    status: str | None = None  # forced transaction status after the password, e.g. PASSWORD_EXPIRED
    failures: int = 0  # wrong passwords in a row
    mfa_failures: int = 0  # wrong codes in a row, counted apart as Okta's factor lockout does
    locked: bool = False


@dataclass(frozen=True)
class AwsApp:
    """An "AWS Account Federation" app instance: one AWS organization's roles, one partition."""

    id: str
    label: str
    account_id: str
    partition: str = "aws"
    assigned: tuple[str, ...] | None = None  # logins it is assigned to; None: all with roles there

    def roles_for(self, person: Person) -> list[str]:
        """The roles of `person` this app's assertion lists; none when it is not assigned to them."""
        if self.assigned is not None and person.login not in self.assigned:
            return []
        return [role for role in person.roles if role.split(":")[4] == self.account_id]


APPS: dict[str, AwsApp] = {
    DEV_APP_ID: AwsApp(DEV_APP_ID, "AWS sandbox-dev", "111111111111"),
    PROD_APP_ID: AwsApp(PROD_APP_ID, "AWS sandbox-prod", "222222222222"),
    CN_APP_ID: AwsApp(CN_APP_ID, "AWS China sandbox-dev", "111111111111", "aws-cn", (ALICE,)),
    GOV_APP_ID: AwsApp(GOV_APP_ID, "AWS GovCloud sandbox-prod", "222222222222", "aws-us-gov",
                       (ALICE,)),
}


def _alice_factors() -> list[Factor]:
    phone = {"phoneNumber": "+1 XXX-XXX-0100"}
    return [
        Factor("ostsbxoktatotp000001", TOTP, "OKTA", {"credentialId": ALICE}, OKTA_VERIFY_SEED),
        Factor("ostsbxgoogle00000001", TOTP, "GOOGLE", {"credentialId": ALICE}, GOOGLE_SEED),
        Factor("opfsbxpush0000000001", PUSH, "OKTA",
               {"credentialId": ALICE, "deviceType": "SmartPhone_IPhone", "name": "Alice's iPhone",
                "platform": "IOS", "version": "17.4"}),
        Factor("mblsbxsms00000000001", SMS, "OKTA", phone),
        Factor("clfsbxcall0000000001", CALL, "OKTA", phone),
        Factor("emfsbxemail000000001", EMAIL, "OKTA", {"email": "a...e@example.com"}),
        Factor("ykfsbxyubikey0000001", HARDWARE, "YUBICO", {"credentialId": YUBIKEY_ID}, YUBIKEY_ID),
        Factor("fwfsbxwebauthn000001", WEBAUTHN, "FIDO", {"authenticatorName": "Security Key"}),
    ]


def default_people() -> dict[str, Person]:
    """The sandbox's Okta users, keyed by login; alice and bob are the world's users."""
    alice, bob = world.USERS[ALICE], world.USERS[BOB]
    dev = ["arn:aws:iam::111111111111:role/ReadOnly"]
    bob_totp = Factor("ostsbxbobgoogle00001", TOTP, "GOOGLE", {"credentialId": BOB},
                      world.BOB_TOTP_SECRET)
    people = [
        Person("00usbxalice", ALICE, PASSWORDS[ALICE], list(alice.roles), _alice_factors(),
               session_duration=alice.session_duration),
        Person("00usbxbob", BOB, PASSWORDS[BOB], list(bob.roles), [bob_totp]),
        Person("00usbxnomfa", NOMFA, PASSWORDS[NOMFA], list(dev)),
        Person("00usbxexpired", EXPIRED, PASSWORDS[EXPIRED], list(dev), status="PASSWORD_EXPIRED"),
        Person("00usbxwarn", WARN, PASSWORDS[WARN], list(dev), status="PASSWORD_WARN"),
        Person("00usbxenroll", ENROLL, PASSWORDS[ENROLL], list(dev), status="MFA_ENROLL"),
        Person("00usbxlocked", LOCKED, PASSWORDS[LOCKED], list(dev), locked=True),
        Person("00usbxrecovery", RECOVERY, PASSWORDS[RECOVERY], list(dev), status="RECOVERY"),
    ]
    return {person.login: person for person in people}


def info() -> dict[str, Any]:
    """The public constants a client needs to log in here (all of them test values)."""
    return {
        "users": dict(PASSWORDS),
        "apps": {app.id: {"label": app.label, "account": app.account_id, "partition": app.partition}
                 for app in APPS.values()},
        "google_seed": GOOGLE_SEED,
        "okta_verify_seed": OKTA_VERIFY_SEED,
        "yubikey_id": YUBIKEY_ID,
        "client_id": OIDC_CLIENT_ID,
    }


def yubikey_otp(public_id: str = YUBIKEY_ID) -> str:
    """A fresh OTP as the sandbox YubiKey would type it: its public id and 32 modhex characters."""
    return public_id + "".join(secrets.choice(MODHEX) for _ in range(32))


@dataclass
class _Push:
    result: str = "WAITING"  # SUCCESS, REJECTED, TIMEOUT
    answer: int | None = None
    sent: float = 0.0
    reported: bool = False


@dataclass
class _Transaction:
    """A login between the password and the session token, named by its stateToken."""

    person: Person
    status: str
    expires: float
    device: str
    factor_id: str | None = None
    push: _Push | None = None
    code: str | None = None  # sent by SMS, voice or email
    passed_warn: bool = False


@dataclass
class _DeviceCode:
    user_code: str
    client_id: str
    expires: float
    login: str | None = None
    denied: bool = False
    last_poll: float = 0.0


class _Answer(Exception):
    """An error answer in Okta's JSON shape."""

    def __init__(self, status: int, code: str, summary: str, *, causes: list[str] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(summary)
        self.status = status
        self.code = code
        self.summary = summary
        self.causes = causes or []
        self.headers = headers or {}


def _invalid_token() -> _Answer:
    return _Answer(401, "E0000011", "Invalid token provided")


def _auth_failed() -> _Answer:
    return _Answer(401, "E0000004", "Authentication failed")


class OktaEmulator:
    """The WSGI app. Tests in the same process may read `stats` and `outbox` directly."""

    __name__ = "okta"

    def __init__(
        self,
        signer: Any,
        *,
        people: dict[str, Person] | None = None,
        apps: dict[str, AwsApp] | None = None,
        settings: dict[str, Any] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.signer = signer
        self._initial_people = people
        self.apps = apps if apps is not None else dict(APPS)
        self._initial_settings = {**SETTINGS, **(settings or {})}
        self.clock = SandboxClock(clock)
        self.faults = Faults()
        self._lock = threading.Lock()
        self._jwt_key = secrets.token_bytes(32)
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.people = (copy.deepcopy(self._initial_people) if self._initial_people is not None
                           else default_people())
            self.settings = dict(self._initial_settings)
            self.stats = dict.fromkeys(
                ("authn_calls", "password_failures", "verify_calls", "pushes_sent", "codes_sent",
                 "mfa_skipped", "logins", "saml_responses", "device_authorizations",
                 "token_exchanges"), 0)
            self.outbox: list[dict[str, Any]] = []
            self.app_modes: dict[str, str] = {}
            self._transactions: dict[str, _Transaction] = {}
            self._session_tokens: dict[str, tuple[str, float]] = {}
            self._sessions: dict[str, str] = {}
            self._trusted: dict[tuple[str, str], float] = {}  # (device token, login) -> until
            self._used_otps: set[str] = set()
            self._device_codes: dict[str, _DeviceCode] = {}
            self._tokens: dict[str, tuple[str, str]] = {}  # token -> (kind, login)
            self._web_sso: dict[str, tuple[str, str, float]] = {}  # token -> (login, app, until)
        self.faults.clear()
        self.clock.reset()

    def now(self) -> float:
        return self.clock.now()

    # -- WSGI ----------------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        from werkzeug.wrappers import Request

        request = Request(environ)
        response = self._dispatch(request)
        return response(environ, start_response)

    def _dispatch(self, request: Any) -> Any:
        path = request.path
        if path.startswith("/__sandbox/"):
            return self._control(request)
        # Okta names each browser with a device token cookie on its first visit.
        device = request.cookies.get("DT") or _device_token(request) or secrets.token_urlsafe(24)
        request.environ["sandbox.device"] = device
        try:
            self._inject_fault(path)
            response = self._route(request, path)
        except _Answer as answer:
            response = _error(answer)
        if path.startswith("/api/v1/authn") and not request.cookies.get("DT"):
            response.set_cookie("DT", device, max_age=5 * 365 * 86400, path="/", httponly=True,
                                secure=request.scheme == "https")
        return response

    def _route(self, request: Any, path: str) -> Any:
        method = request.method
        if path == "/.well-known/okta-organization" and method == "GET":
            return self._organization(request)
        if path == "/api/v1/authn" and method == "POST":
            return self._authn(request)
        match = re.fullmatch(r"/api/v1/authn/factors/([^/]+)/verify", path)
        if match and method == "POST":
            return self._verify(request, match.group(1))
        if path == "/api/v1/authn/skip" and method == "POST":
            return self._skip(request)
        if path == "/api/v1/authn/cancel" and method == "POST":
            return self._cancel(request)
        if path == "/login/sessionCookieRedirect" and method == "GET":
            return self._session_cookie_redirect(request)
        match = re.fullmatch(r"/(?:home/amazon_aws/([^/]+)/\d+|app/amazon_aws/([^/]+)/sso/saml)",
                             path)
        if match and method in ("GET", "POST"):
            return self._embed_link(request, match.group(1) or match.group(2))
        if path == "/api/v1/users/me/appLinks" and method == "GET":
            return self._app_links(request)
        if path == "/oauth2/v1/device/authorize" and method == "POST":
            return self._device_authorize(request)
        if path == "/oauth2/v1/token" and method == "POST":
            return self._token(request)
        if path == "/login/token/sso" and method == "GET":
            return self._token_sso(request)
        if path == "/activate":
            return self._activate(request)
        if path in ("/login/login.htm", "/app/UserHome", "/"):
            return _page("Sign In", "<p>Sign in to the shellenv sandbox Okta org.</p>"
                         '<form method="post" action="/login/login.htm">'
                         '<input name="username"><input name="password" type="password"></form>')
        raise _Answer(404, "E0000007", f"Not found: Resource not found: {path} (GenericResource)")

    def _inject_fault(self, path: str) -> None:
        fault = self.faults.take(path)
        if fault is None or fault.status is None:
            return
        if fault.status == 429:
            reset = int(self.now()) + 60
            raise _Answer(429, "E0000047",
                          "API call exceeded rate limit due to too many requests.",
                          headers={"X-Rate-Limit-Limit": "600", "X-Rate-Limit-Remaining": "0",
                                   "X-Rate-Limit-Reset": str(reset)})
        raise _Answer(fault.status, "E0000009", "Internal Server Error")

    def _count(self, name: str, by: int = 1) -> None:
        with self._lock:
            self.stats[name] += by

    def _organization(self, request: Any) -> Any:
        base = _base(request)
        return _json_response({
            "id": ORG_ID,
            "pipeline": self.settings["pipeline"],
            "_links": {"organization": {"href": base},
                       "alternate": {"href": base.replace("://", "://sandbox-admin.", 1)}},
            "settings": {"analyticsCollectionEnabled": False, "bugReportingEnabled": False,
                         "omEnabled": False},
        })

    # -- classic authentication ----------------------------------------------------------------------

    def _authn(self, request: Any) -> Any:
        self._count("authn_calls")
        body = _json(request)
        if body.get("stateToken"):
            token = str(body["stateToken"])
            tx = self._transaction(token)
            return self._answer(request, token, tx)
        username, password = body.get("username"), body.get("password")
        if not isinstance(username, str) or not isinstance(password, str) or not username:
            raise _Answer(400, "E0000001", "API validation failed: username",
                          causes=["username: The field cannot be left blank"])
        person = self.people.get(username.lower())
        if person is not None and person.locked:
            return _json_response(self._locked_out(request))
        if person is None or not hmac.compare_digest(person.password, password):
            self._count("password_failures")
            if person is not None:
                with self._lock:
                    person.failures += 1
                    person.locked = person.failures >= LOCKOUT_AFTER
            raise _auth_failed()
        person.failures = 0
        device = request.environ["sandbox.device"]
        token = "00" + secrets.token_urlsafe(30)
        tx = _Transaction(person, "", self.now() + STATE_SECONDS, device)
        tx.status = self._after_password(person, device)
        with self._lock:
            self._transactions[token] = tx
        return self._answer(request, token, tx)

    def _after_password(self, person: Person, device: str) -> str:
        if person.status and person.status != "PASSWORD_WARN":
            return person.status
        if person.status == "PASSWORD_WARN":
            return "PASSWORD_WARN"
        return self._mfa_or_success(person, device)

    def _mfa_or_success(self, person: Person, device: str) -> str:
        if not person.factors:
            return "SUCCESS"
        until = self._trusted.get((device, person.login), 0.0)
        if device and until > self.now():
            self._count("mfa_skipped")
            return "SUCCESS"
        return "MFA_REQUIRED"

    def _transaction(self, token: str) -> _Transaction:
        with self._lock:
            tx = self._transactions.get(token)
        if tx is None or tx.expires < self.now():
            raise _invalid_token()
        tx.expires = self.now() + STATE_SECONDS  # each step of a transaction extends its life
        return tx

    def _answer(self, request: Any, token: str, tx: _Transaction) -> Any:
        """The transaction object for the state `tx` is in."""
        base = _base(request)
        if tx.status == "SUCCESS":
            return _json_response(self._success(request, token, tx))
        body: dict[str, Any] = {
            "stateToken": token,
            "expiresAt": _iso(tx.expires),
            "status": tx.status,
            "_embedded": {"user": _user(tx.person)},
            "_links": {"cancel": _link(f"{base}/api/v1/authn/cancel")},
        }
        if tx.status == "MFA_REQUIRED":
            body["_embedded"]["factors"] = [_factor(base, f) for f in tx.person.factors]
            body["_embedded"]["policy"] = self._mfa_policy()
        elif tx.status == "MFA_ENROLL":
            body["_embedded"]["factors"] = [
                {"factorType": kind, "provider": "OKTA", "status": "NOT_SETUP",
                 "enrollment": "REQUIRED" if kind == PUSH else "OPTIONAL",
                 "_links": {"enroll": _link(f"{base}/api/v1/authn/factors")}}
                for kind in (PUSH, TOTP, SMS)]
        elif tx.status in ("PASSWORD_EXPIRED", "PASSWORD_WARN"):
            body["_embedded"]["policy"] = {"complexity": {"minLength": 12, "minNumber": 1},
                                           "age": {"minAgeMinutes": 0, "historyCount": 4}}
            body["_links"]["next"] = _link(f"{base}/api/v1/authn/credentials/change_password",
                                           name="changePassword")
            if tx.status == "PASSWORD_WARN":
                body["_embedded"]["policy"]["expiration"] = {"passwordExpireDays": 3}
                body["_links"]["skip"] = _link(f"{base}/api/v1/authn/skip", name="skip")
        elif tx.status == "RECOVERY":
            body["recoveryType"] = "PASSWORD"
            body["_links"]["next"] = _link(f"{base}/api/v1/authn/credentials/reset_password",
                                           name="password")
        return _json_response(body)

    def _success(self, request: Any, token: str, tx: _Transaction) -> dict[str, Any]:
        session_token = secrets.token_urlsafe(30)
        with self._lock:
            self._transactions.pop(token, None)
            self._session_tokens[session_token] = (tx.person.login, self.now() + SESSION_TOKEN_SECONDS)
            self.stats["logins"] += 1
        return {"expiresAt": _iso(self.now() + SESSION_TOKEN_SECONDS), "status": "SUCCESS",
                "sessionToken": session_token, "_embedded": {"user": _user(tx.person)}}

    def _mfa_policy(self) -> dict[str, Any]:
        return {"allowRememberDevice": bool(self.settings["allow_remember_device"]),
                "rememberDeviceLifetimeInMinutes": REMEMBER_MINUTES,
                "rememberDeviceByDefault": False, "factorsPolicyInfo": {}}

    def _locked_out(self, request: Any) -> dict[str, Any]:
        base = _base(request)
        return {"status": "LOCKED_OUT",
                "_links": {"next": _link(f"{base}/api/v1/authn/recovery/unlock", name="unlock")}}

    def _skip(self, request: Any) -> Any:
        token = str(_json(request).get("stateToken", ""))
        tx = self._transaction(token)
        if tx.status != "PASSWORD_WARN":
            raise _Answer(403, "E0000079", "This operation is not allowed in the current "
                          "authentication state.")
        tx.status = self._mfa_or_success(tx.person, tx.device)
        return self._answer(request, token, tx)

    def _cancel(self, request: Any) -> Any:
        token = str(_json(request).get("stateToken", ""))
        with self._lock:
            self._transactions.pop(token, None)
        return _json_response({"status": "UNAUTHENTICATED"})

    # -- factors -------------------------------------------------------------------------------------

    def _verify(self, request: Any, factor_id: str) -> Any:
        self._count("verify_calls")
        body = _json(request)
        token = str(body.get("stateToken", ""))
        tx = self._transaction(token)
        if tx.status not in ("MFA_REQUIRED", "MFA_CHALLENGE"):
            raise _Answer(403, "E0000079",
                          "This operation is not allowed in the current authentication state.")
        factor = next((f for f in tx.person.factors if f.id == factor_id), None)
        if factor is None:
            raise _Answer(404, "E0000007", f"Not found: Resource not found: {factor_id} (UserFactor)")
        if tx.factor_id != factor_id:
            tx.factor_id, tx.push, tx.code = factor_id, None, None
        remember = request.args.get("rememberDevice", "").lower() == "true"
        if factor.type == PUSH:
            return self._verify_push(request, token, tx, factor, remember)
        passcode = body.get("passCode")
        if factor.type in (SMS, CALL, EMAIL) and not passcode:
            return self._send_code(request, token, tx, factor)
        if factor.type == WEBAUTHN:
            raise _Answer(400, "E0000001", "API validation failed: authenticatorData",
                          causes=["A security key must sign this challenge in a browser."])
        if not isinstance(passcode, str) or not passcode:
            raise _Answer(400, "E0000001", "API validation failed: passCode",
                          causes=["passCode: The passcode is required."])
        if not self._code_matches(tx, factor, passcode):
            self._wrong_code(tx)
        return self._passed(request, token, tx, remember)

    def _code_matches(self, tx: _Transaction, factor: Factor, passcode: str) -> bool:
        if factor.type == TOTP:
            import pyotp

            return pyotp.TOTP(factor.secret).verify(passcode, for_time=self.now(),
                                                    valid_window=TOTP_WINDOW)
        if factor.type == HARDWARE:
            pattern = re.escape(factor.secret) + f"[{MODHEX}]{{32}}"
            with self._lock:
                fresh = passcode not in self._used_otps
                self._used_otps.add(passcode)
            return fresh and re.fullmatch(pattern, passcode) is not None
        return tx.code is not None and hmac.compare_digest(tx.code, passcode)

    def _wrong_code(self, tx: _Transaction) -> None:
        person = tx.person
        with self._lock:
            person.mfa_failures += 1
            if person.mfa_failures >= MFA_LOCKOUT_AFTER:
                person.locked = True
        if person.locked:
            raise _Answer(403, "E0000069", "User Locked",
                          causes=["Your account is locked because of too many failed attempts."])
        raise _Answer(403, "E0000068", "Invalid Passcode/Answer",
                      causes=["Your passcode doesn't match our records. Please try again."])

    def _send_code(self, request: Any, token: str, tx: _Transaction, factor: Factor) -> Any:
        tx.code = f"{secrets.randbelow(10**6):06d}"
        tx.status = "MFA_CHALLENGE"
        with self._lock:
            self.outbox.append({"to": tx.person.login, "factor": factor.type, "code": tx.code})
            self.stats["codes_sent"] += 1
        base = _base(request)
        verify = f"{base}/api/v1/authn/factors/{factor.id}/verify"
        return _json_response({
            "stateToken": token, "expiresAt": _iso(tx.expires), "status": "MFA_CHALLENGE",
            "factorResult": "CHALLENGE",
            "_embedded": {"user": _user(tx.person), "factor": _factor(base, factor)},
            "_links": {"next": _link(verify, name="verify"),
                       "prev": _link(f"{base}/api/v1/authn/previous", name="prev"),
                       "resend": [_link(f"{verify}/resend", name=factor.type)],
                       "cancel": _link(f"{base}/api/v1/authn/cancel")},
        })

    def _verify_push(self, request: Any, token: str, tx: _Transaction, factor: Factor,
                     remember: bool) -> Any:
        now = self.now()
        if tx.push is not None and tx.push.result in ("REJECTED", "TIMEOUT"):
            # The poll after the phone's answer reports it; a verify after that sends a new push.
            if tx.push.reported:
                tx.push = None
            else:
                tx.push.reported = True
        if tx.push is None:
            answer = secrets.randbelow(90) + 10 if self.settings["number_matching"] else None
            tx.push = _Push(answer=answer, sent=now)
            tx.status = "MFA_CHALLENGE"
            self._count("pushes_sent")
        elif tx.push.result == "WAITING":
            auto = self.settings["push_auto"]
            if auto in ("approve", "reject"):
                tx.push.result = "SUCCESS" if auto == "approve" else "REJECTED"
            elif now - tx.push.sent > PUSH_SECONDS:
                tx.push.result = "TIMEOUT"
        if tx.push.result == "SUCCESS":
            return self._passed(request, token, tx, remember)
        base = _base(request)
        verify = f"{base}/api/v1/authn/factors/{factor.id}/verify"
        embedded_factor = _factor(base, factor)
        if tx.push.answer is not None and tx.push.result == "WAITING":
            embedded_factor["_embedded"] = {"challenge": {"correctAnswer": tx.push.answer}}
        links: dict[str, Any] = {"cancel": _link(f"{base}/api/v1/authn/cancel"),
                                 "prev": _link(f"{base}/api/v1/authn/previous", name="prev")}
        if tx.push.result == "WAITING":
            links["next"] = _link(verify, name="poll")
        else:
            links["resend"] = [_link(f"{verify}/resend", name="push")]
            links["next"] = _link(verify, name="verify")
        return _json_response({
            "stateToken": token, "expiresAt": _iso(tx.expires), "status": "MFA_CHALLENGE",
            "factorResult": tx.push.result,
            "_embedded": {"user": _user(tx.person), "factor": embedded_factor,
                          "policy": self._mfa_policy()},
            "_links": links,
        })

    def _passed(self, request: Any, token: str, tx: _Transaction, remember: bool) -> Any:
        tx.person.mfa_failures = 0
        if remember and tx.device and self.settings["allow_remember_device"]:
            with self._lock:
                self._trusted[(tx.device, tx.person.login)] = self.now() + REMEMBER_MINUTES * 60
        tx.status = "SUCCESS"
        return self._answer(request, token, tx)

    # -- sessions and the AWS apps -------------------------------------------------------------------

    def _take_session_token(self, token: str) -> str | None:
        with self._lock:
            entry = self._session_tokens.pop(token, None)
        if entry is None or entry[1] < self.now():
            return None
        return entry[0]

    def _new_session(self, login: str, response: Any, request: Any) -> None:
        sid = "102" + secrets.token_urlsafe(24)
        with self._lock:
            self._sessions[sid] = login
        response.set_cookie("sid", sid, path="/", httponly=True, secure=request.scheme == "https")

    def _session_cookie_redirect(self, request: Any) -> Any:
        from werkzeug.utils import redirect

        login = self._take_session_token(request.args.get("token", ""))
        target = request.args.get("redirectUrl") or f"{_base(request)}/app/UserHome"
        if login is None:
            return _page("Sign In", '<p class="error-content">Your session has expired. '
                         "Please sign in again.</p>", status=403)
        response = redirect(target, code=302)
        self._new_session(login, response, request)
        return response

    def _session_login(self, request: Any) -> str | None:
        with self._lock:
            return self._sessions.get(request.cookies.get("sid", ""))

    def _embed_link(self, request: Any, app_id: str) -> Any:
        from werkzeug.utils import redirect

        one_time = request.args.get("sessionToken") or request.args.get("onetimetoken")
        login = self._take_session_token(one_time) if one_time else self._session_login(request)
        if login is None:
            query = urllib.parse.urlencode({"fromURI": request.path})
            return redirect(f"{_base(request)}/login/login.htm?{query}", code=302)
        response = self._app_page(request, login, app_id, classic=True)
        if one_time:
            self._new_session(login, response, request)
        return response

    def _app_page(self, request: Any, login: str, app_id: str, *, classic: bool) -> Any:
        app = self.apps.get(app_id)
        person = self.people[login]
        roles = app.roles_for(person) if app else []
        mode = self.app_modes.get(app_id, "saml")
        if app is None or mode == "error":
            return _page("Error", '<div class="error-content"><h1>403 - Forbidden</h1>'
                         "<p>You do not have permission to access this application.</p></div>",
                         status=403)
        if not roles:
            return _page("Error", '<div class="error-content"><h1>Not assigned</h1>'
                         f"<p>{html.escape(app.label)} is not assigned to you. Ask your Okta "
                         "administrator for access.</p></div>", status=403)
        idx_widget = self.settings["pipeline"] == "idx" and not self.settings["classic_sso_on_idx"]
        if mode == "step-up" or (classic and idx_widget):
            state = "02" + secrets.token_urlsafe(30)
            return _page("Extra verification required",
                         f"<script>var stateToken = '{state}';</script>"
                         '<div id="okta-sign-in"><h2>Verify it\'s you with a security method</h2>'
                         "</div>")
        assertion = saml.issue_response(
            self.signer, issuer=f"http://www.okta.com/exk{app.id[3:]}", name_id=login, roles=roles,
            session_name=login, session_duration=person.session_duration, partition=app.partition)
        self._count("saml_responses")
        from werkzeug.wrappers import Response

        page = saml.form_page(assertion, saml.signin_url(app.partition), relay_state="")
        return Response(page, mimetype="text/html")

    def _app_links(self, request: Any) -> Any:
        login = self._session_login(request)
        if login is None:
            raise _Answer(403, "E0000005", "Invalid session")
        base = _base(request)
        person = self.people[login]
        links = []
        for order, app in enumerate(a for a in self.apps.values() if a.roles_for(person)):
            links.append({
                "id": "0ua" + app.id[3:], "label": app.label, "appName": "amazon_aws",
                "appInstanceId": app.id, "appAssignmentId": "0ua" + app.id[3:],
                "linkUrl": f"{base}/home/amazon_aws/{app.id}/272",
                "logoUrl": f"{base}/assets/img/logos/amazon-aws.png",
                "credentialsSetup": False, "hidden": False, "sortOrder": order,
            })
        links.append({"id": "0uawiki", "label": "Sandbox Wiki", "appName": "bookmark",
                      "appInstanceId": WIKI_APP_ID, "appAssignmentId": "0uawiki",
                      "linkUrl": f"{base}/home/bookmark/{WIKI_APP_ID}/2557", "logoUrl": "",
                      "credentialsSetup": False, "hidden": False, "sortOrder": len(links)})
        return _json_response(links)

    # -- Identity Engine: device authorization and web SSO tokens ------------------------------------

    def _device_authorize(self, request: Any) -> Any:
        form = request.form
        client_id = form.get("client_id", "")
        if client_id != OIDC_CLIENT_ID:
            return _oauth_error(401, "invalid_client", "Invalid value for 'client_id' parameter.")
        scopes = set(form.get("scope", "").split())
        if "openid" not in scopes:
            return _oauth_error(400, "invalid_scope", "The authorization server does not support "
                                "the requested scope without 'openid'.")
        self._count("device_authorizations")
        device_code = secrets.token_urlsafe(32)
        user_code = "".join(secrets.choice("BCDFGHJKLMNPQRSTVWXZ") for _ in range(8))
        with self._lock:
            self._device_codes[device_code] = _DeviceCode(
                user_code, client_id, self.now() + DEVICE_CODE_SECONDS)
        base = _base(request)
        return _json_response({
            "device_code": device_code, "user_code": user_code,
            "verification_uri": f"{base}/activate",
            "verification_uri_complete": f"{base}/activate?user_code={user_code}",
            "expires_in": DEVICE_CODE_SECONDS, "interval": self.settings["device_interval"],
        })

    def _token(self, request: Any) -> Any:
        form = request.form
        if form.get("client_id") != OIDC_CLIENT_ID:
            return _oauth_error(401, "invalid_client", "Invalid value for 'client_id' parameter.")
        grant = form.get("grant_type")
        if grant == GRANT_DEVICE:
            return self._device_token(request, form.get("device_code", ""))
        if grant == GRANT_EXCHANGE:
            return self._exchange(form)
        return _oauth_error(400, "unsupported_grant_type",
                            f"The grant type '{grant}' is not supported.")

    def _device_token(self, request: Any, device_code: str) -> Any:
        with self._lock:
            entry = self._device_codes.get(device_code)
        now = self.now()
        if entry is None:
            return _oauth_error(400, "invalid_grant", "The device code is invalid.")
        if entry.expires < now:
            return _oauth_error(400, "expired_token", "The device code has expired.")
        if entry.denied:
            return _oauth_error(400, "access_denied", "The resource owner or authorization "
                                "server denied the request.")
        auto = self.settings["device_auto"]
        if entry.login is None and auto:
            entry.login = auto
        if entry.login is None:
            too_soon = now - entry.last_poll < float(self.settings["device_interval"])
            entry.last_poll = now
            if too_soon:
                return _oauth_error(400, "slow_down", "The client is polling too frequently.")
            return _oauth_error(400, "authorization_pending",
                                "The device authorization is pending. Please try again later.")
        with self._lock:
            self._device_codes.pop(device_code, None)
        login = entry.login
        base = _base(request)
        access = self._jwt({"iss": base, "aud": "api://default", "sub": login, "cid": OIDC_CLIENT_ID,
                            "scp": ["openid", "okta.apps.sso"]})
        id_token = self._jwt({"iss": base, "aud": OIDC_CLIENT_ID, "sub": self.people[login].id,
                              "preferred_username": login})
        device_secret = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[access] = ("access_token", login)
            self._tokens[id_token] = ("id_token", login)
            self._tokens[device_secret] = ("device_secret", login)
        return _json_response({"token_type": "Bearer", "expires_in": 3600, "access_token": access,
                               "scope": "openid okta.apps.sso", "id_token": id_token,
                               "device_secret": device_secret})

    def _exchange(self, form: Any) -> Any:
        if not self.settings["native_sso"]:
            return _oauth_error(400, "unauthorized_client", "The client is not authorized to use "
                                "the provided grant type. Configured grant types: "
                                f"[{GRANT_DEVICE}].")
        if form.get("requested_token_type") != WEB_SSO_TOKEN:
            return _oauth_error(400, "invalid_request", "'requested_token_type' is invalid.")
        subject = self._tokens.get(form.get("subject_token", ""))
        actor = self._tokens.get(form.get("actor_token", ""))
        kinds = {TYPE_ACCESS_TOKEN: "access_token", TYPE_DEVICE_SECRET: "device_secret"}
        if (subject is None or subject[0] != "id_token"
                or form.get("subject_token_type") != TYPE_ID_TOKEN):
            return _oauth_error(400, "invalid_grant", "The 'subject_token' is invalid.")
        if actor is None or kinds.get(form.get("actor_token_type", "")) != actor[0]:
            return _oauth_error(400, "invalid_grant", "The 'actor_token' is invalid.")
        audience = form.get("audience", "")
        app_id = audience.removeprefix("urn:okta:apps:")
        if not audience.startswith("urn:okta:apps:") or app_id not in self.apps:
            return _oauth_error(400, "invalid_target", "The 'audience' is invalid.")
        self._count("token_exchanges")
        web_token = secrets.token_urlsafe(32)
        with self._lock:
            self._web_sso[web_token] = (subject[1], app_id, self.now() + 300)
        return _json_response({"token_type": "N_A", "expires_in": 300, "access_token": web_token,
                               "issued_token_type": WEB_SSO_TOKEN})

    def _token_sso(self, request: Any) -> Any:
        with self._lock:
            entry = self._web_sso.pop(request.args.get("token", ""), None)
        if entry is None or entry[2] < self.now():
            return _page("Error", '<div class="error-content"><p>The token is invalid or has '
                         "expired.</p></div>", status=400)
        response = self._app_page(request, entry[0], entry[1], classic=False)
        self._new_session(entry[0], response, request)
        return response

    def _activate(self, request: Any) -> Any:
        form = request.form
        if request.method == "POST":
            person = self.people.get(form.get("username", "").lower())
            entry = self._device_by_user_code(form.get("user_code", ""))
            if entry is None or person is None or person.password != form.get("password"):
                return _page("Activate", "<p>That code, username or password is wrong.</p>",
                             status=400)
            entry.login = person.login
            return _page("Device activated", "<p>Device activated. Return to your terminal.</p>")
        code = html.escape(request.args.get("user_code", ""))
        return _page("Activate", '<form method="post"><input name="user_code" '
                     f'value="{code}"><input name="username"><input name="password" '
                     'type="password"><button>Next</button></form>')

    def _device_by_user_code(self, user_code: str) -> _DeviceCode | None:
        with self._lock:
            entries = list(self._device_codes.values())
        if user_code == "latest":
            return entries[-1] if entries else None
        wanted = user_code.replace("-", "").upper()
        return next((e for e in entries if e.user_code == wanted), None)

    def _jwt(self, claims: dict[str, Any]) -> str:
        now = int(self.now())
        payload = {**claims, "iat": now, "exp": now + 3600, "jti": "AT." + secrets.token_hex(8)}
        header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        body = _b64url(json.dumps(payload).encode())
        signature = hmac.new(self._jwt_key, f"{header}.{body}".encode(), hashlib.sha256).digest()
        return f"{header}.{body}.{_b64url(signature)}"

    # -- test endpoints ------------------------------------------------------------------------------

    def _control(self, request: Any) -> Any:
        parts = request.path.strip("/").split("/")[1:]
        method = request.method
        body = _json(request) if method == "POST" else {}
        if parts == ["stats"] and method == "GET":
            with self._lock:
                return _json_response(dict(self.stats))
        if parts == ["outbox"] and method == "GET":
            to = request.args.get("to")
            with self._lock:
                return _json_response([m for m in self.outbox if to in (None, m["to"])])
        if parts == ["info"] and method == "GET":
            return _json_response(info())
        if parts == ["reset"] and method == "POST":
            self.reset()
            return _json_response({"reset": True})
        if parts == ["clock"] and method == "POST":
            return _json_response({"offset": self.clock.advance(float(body.get("advance", 0)))})
        if parts == ["fail"] and method == "POST":
            return _json_response({"rules": self.faults.add(parse_fault(body, default_status=500))})
        if parts == ["settings"] and method == "POST":
            unknown = set(body) - set(SETTINGS)
            if unknown:
                return _json_response({"message": f"unknown settings: {sorted(unknown)}"}, 400)
            self.settings.update(body)
            return _json_response(self.settings)
        if len(parts) == 2 and parts[0] == "apps" and method == "POST":
            self.app_modes[parts[1]] = str(body.get("mode", "saml"))
            return _json_response({"app": parts[1], "mode": self.app_modes[parts[1]]})
        if len(parts) == 2 and parts[0] == "users" and method == "POST":
            person = self.people.get(parts[1].lower())
            if person is None:
                return _json_response({"message": "no such user"}, 404)
            person.status = body.get("status")
            person.locked = bool(body.get("locked", person.locked))
            return _json_response({"login": person.login, "status": person.status})
        if parts == ["push"] and method == "POST":
            return self._answer_push(body)
        if parts == ["device"] and method == "POST":
            entry = self._device_by_user_code(str(body.get("user_code", "latest")))
            if entry is None:
                return _json_response({"message": "no such device code"}, 404)
            if body.get("action", "approve") == "deny":
                entry.denied = True
            else:
                entry.login = str(body.get("username", ALICE))
            return _json_response({"user_code": entry.user_code})
        return _json_response({"message": "no such sandbox endpoint"}, 404)

    def _answer_push(self, body: dict[str, Any]) -> Any:
        username = body.get("username")
        with self._lock:
            waiting = [tx for tx in self._transactions.values()
                       if tx.push is not None and tx.push.result == "WAITING"
                       and username in (None, tx.person.login)]
        if not waiting:
            return _json_response({"message": "no push is waiting"}, 404)
        push = waiting[-1].push
        assert push is not None
        action = body.get("action", "approve")
        if action == "approve":
            answer = body.get("answer")
            wrong = answer is not None and push.answer is not None and int(answer) != push.answer
            push.result = "REJECTED" if wrong else "SUCCESS"
        else:
            push.result = {"reject": "REJECTED", "timeout": "TIMEOUT"}.get(action, "REJECTED")
        return _json_response({"factorResult": push.result, "correctAnswer": push.answer})


def make_app(signer: Any, **options: Any) -> OktaEmulator:
    """The Okta emulator as a WSGI app; `options` are OktaEmulator's keyword arguments."""
    return OktaEmulator(signer, **options)


# -- answers -------------------------------------------------------------------------------------------


def _base(request: Any) -> str:
    return request.host_url.rstrip("/")


def _device_token(request: Any) -> str | None:
    """The device token a trusted client may send in the authn request's context."""
    try:
        body = json.loads(request.get_data(as_text=True) or "{}")
    except ValueError:
        return None
    context = body.get("context") if isinstance(body, dict) else None
    token = context.get("deviceToken") if isinstance(context, dict) else None
    return str(token) if token else None


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(epoch))


def _link(href: str, *, name: str | None = None) -> dict[str, Any]:
    link: dict[str, Any] = {"href": href, "hints": {"allow": ["POST"]}}
    if name:
        link["name"] = name
    return link


def _user(person: Person) -> dict[str, Any]:
    first = person.login.split("@")[0].capitalize()
    return {"id": person.id, "passwordChanged": "2024-01-01T00:00:00.000Z",
            "profile": {"login": person.login, "firstName": first, "lastName": "Sandbox",
                        "locale": "en", "timeZone": "UTC"}}


def _factor(base: str, factor: Factor) -> dict[str, Any]:
    return {"id": factor.id, "factorType": factor.type, "provider": factor.provider,
            "vendorName": factor.provider, "profile": dict(factor.profile),
            "_links": {"verify": _link(f"{base}/api/v1/authn/factors/{factor.id}/verify")}}


def _error(answer: _Answer) -> Any:
    body = {"errorCode": answer.code, "errorSummary": answer.summary, "errorLink": answer.code,
            "errorId": "oae" + secrets.token_urlsafe(16),
            "errorCauses": [{"errorSummary": cause} for cause in answer.causes]}
    response = _json_response(body, answer.status)
    for key, value in answer.headers.items():
        response.headers[key] = value
    return response


def _oauth_error(status: int, error: str, description: str) -> Any:
    return _json_response({"error": error, "error_description": description}, status)


def _page(title: str, content: str, *, status: int = 200) -> Any:
    from werkzeug.wrappers import Response

    text = (f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{html.escape(title)}"
            f"</title></head><body>{content}</body></html>")
    return Response(text, status=status, mimetype="text/html")


def _json_response(body: Any, status: int = 200) -> Any:
    from werkzeug.wrappers import Response

    return Response(json.dumps(body), status=status, mimetype="application/json")


def _json(request: Any) -> dict[str, Any]:
    try:
        body = json.loads(request.get_data(as_text=True) or "{}")
    except ValueError:
        raise _Answer(400, "E0000003", "The request body was not well-formed.") from None
    if not isinstance(body, dict):
        raise _Answer(400, "E0000003", "The request body was not well-formed.")
    return body


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
