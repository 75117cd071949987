"""A local emulator of OneLogin's API for AWS logins: tokens, SAML assertions and factor verification.

It answers with OneLogin's shapes, statuses and texts so that clients can be tested end to end; it holds
only public test values, never a real credential, and listens on the loopback address only.

Endpoints (as OneLogin serves them):
  POST /auth/oauth2/v2/token                  client credentials ("client_id:.., client_secret:.." or Basic)
  POST /api/{1,2}/saml_assertion              password login; success, or MFA needed with a state token
  POST /api/{1,2}/saml_assertion/verify_factor  OTP, Protect push (pending, then approved or denied),
                                              SMS and email (a call without otp_token sends a code)
  GET  /api/1/users/<id>/otp_devices          the user's factors with their display names

Test endpoints (the sandbox's own, never in OneLogin):
  POST /__sandbox/push/<state_token>/approve  approve the pending push of a login ("latest": the newest)
  POST /__sandbox/push/<state_token>/deny     deny it
  GET  /__sandbox/outbox                      codes "sent" by SMS and email, oldest first (?to=<address>)
  GET  /__sandbox/stats                       counters: token_calls, saml_assertion_calls,
                                              verify_factor_calls, assertions_issued
  POST /__sandbox/fail                        {"path": "/api/2/saml_assertion" | "*" | "/api/*",
                                              "status": 503, "times": 1, "delay": 0, "retry_after": 30}
                                              answers the next `times` matching calls with `status`
                                              (after `delay` seconds; a delay alone only slows them)
  DELETE /__sandbox/fail                      forget every failure rule
  POST /__sandbox/clock                       {"advance": 600}: move the emulator's clock, to expire logins
  POST /__sandbox/reset                       counters, outbox, pushes, rules and clock back to the start
  GET  /__sandbox/info                        the public constants below, for a config that points here

Special users: LOCKED_USER is locked; OFFICE_USER may log in only from OFFICE_IP (ip_address); a login
with ip_address MFA_BYPASS_IP skips MFA; BOB has no factor (no MFA); CAROL has one authenticator; DAVE
has OneLogin Protect only; ALICE has every factor. UNKNOWN_APP_ID answers 404.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from shellenv.sandbox import world
from shellenv.sandbox.control import Faults, SandboxClock, parse_fault

log = logging.getLogger(__name__)

CLIENT_ID = "sandbox-onelogin-client-id"
CLIENT_SECRET = "sandbox-onelogin-client-secret"
SUBDOMAIN = "shellenv-sandbox"
DEV_APP_ID = "1000001"  # the AWS app of the dev organization: roles in account 111111111111
PROD_APP_ID = "1000002"  # the AWS app of the prod organization: roles in account 222222222222
UNKNOWN_APP_ID = "9999999"

ALICE = "alice@example.com"
BOB = "bob@example.com"
CAROL = "carol@example.com"
DAVE = "dave@example.com"
LOCKED_USER = "locked@example.com"
OFFICE_USER = "office@example.com"
PASSWORDS = {
    ALICE: world.ALICE_PASSWORD,
    BOB: world.BOB_PASSWORD,
    CAROL: "carol-sandbox-password",
    DAVE: "dave-sandbox-password",
    LOCKED_USER: "locked-sandbox-password",
    OFFICE_USER: "office-sandbox-password",
}

TOTP_SEED = world.ALICE_TOTP_SECRET  # Google Authenticator of alice and carol
PROTECT_SEED = "ONSWG4TFORYHE33UMVRXI43FMVSAAAAA"  # the codes OneLogin Protect shows
YUBIKEY_OTP = "ccccccsandboxcbdefghijklnrtuvcbdefghijklnrtuv"
MFA_BYPASS_IP = "203.0.113.10"  # on the MFA policy's allow-list: no second factor asked
OFFICE_IP = "198.51.100.20"  # the only address OFFICE_USER may log in from

ACCESS_TOKEN_SECONDS = 36000  # OneLogin's access tokens last 10 hours
STATE_TOKEN_SECONDS = 300  # how long a login waits for its second factor
TOTP_WINDOW = 1  # codes one step before or after the current one are accepted

# OneLogin's texts, as its API answers them.
MFA_REQUIRED = "MFA is required for this user"
SUCCESS = "Success"
INVALID_CREDENTIALS = "Authentication Failed: Invalid user credentials"
AUTH_FAILURE = "Authentication Failure"
USER_LOCKED = "Authentication Failed: User is locked"
IP_NOT_ALLOWED = "Authentication Failed: IP address is not allowed"
APP_NOT_FOUND = "App not found"
NOT_ASSIGNED = "User is not assigned to this app"
INVALID_SUBDOMAIN = "Invalid subdomain"
FACTOR_FAILED = "Failed authentication with this factor"
STATE_EXPIRED = "State token is invalid or expired"
PUSH_PENDING = "Authentication pending on OL Protect"
OTP_SENT = "Authentication pending: OTP sent to the device"
TOO_MANY = "Too many requests"

KIND_TOTP, KIND_PROTECT, KIND_YUBIKEY, KIND_SMS, KIND_EMAIL = "totp", "protect", "yubikey", "sms", "email"


@dataclass(frozen=True)
class Device:
    """One enrolled factor. `device_type` is OneLogin's name for it; `kind` says how it is checked."""

    device_id: int
    device_type: str
    kind: str
    secret: str = ""  # TOTP seed, or the YubiKey's fixed test OTP
    destination: str = ""  # phone number or address that codes are sent to
    user_display_name: str = ""


@dataclass
class Member:
    """A OneLogin user: credentials, AWS roles, factors and policy."""

    id: int
    username: str
    email: str
    password: str
    roles: list[str]
    devices: list[Device] = field(default_factory=list)
    session_duration: int | None = None
    locked: bool = False
    allowed_ips: tuple[str, ...] = ()  # empty: any address


@dataclass(frozen=True)
class App:
    """A OneLogin "AWS Multi Account" app: the AWS organization whose roles its assertion lists."""

    app_id: str
    name: str
    account_ids: tuple[str, ...]


APPS: dict[str, App] = {
    DEV_APP_ID: App(DEV_APP_ID, "Amazon Web Services (dev)", ("111111111111",)),
    PROD_APP_ID: App(PROD_APP_ID, "Amazon Web Services (prod)", ("222222222222",)),
}


def _alice_devices() -> list[Device]:
    return [
        Device(500001, "Google Authenticator", KIND_TOTP, secret=TOTP_SEED),
        Device(
            500002, "OneLogin Protect", KIND_PROTECT, secret=PROTECT_SEED, user_display_name="Alice's phone"
        ),
        Device(500003, "Yubico YubiKey", KIND_YUBIKEY, secret=YUBIKEY_OTP),
        Device(500004, "OneLogin SMS", KIND_SMS, destination="+1 555 0100"),
        Device(500005, "OneLogin Email", KIND_EMAIL, destination=ALICE),
    ]


def default_members() -> dict[str, Member]:
    """The sandbox's OneLogin users, keyed by email; alice and bob are the world's users."""
    alice, bob = world.USERS[ALICE], world.USERS[BOB]
    members = [
        Member(
            70001,
            "alice",
            ALICE,
            PASSWORDS[ALICE],
            list(alice.roles),
            _alice_devices(),
            session_duration=alice.session_duration,
        ),
        Member(70002, "bob", BOB, PASSWORDS[BOB], list(bob.roles)),
        Member(
            70003,
            "carol",
            CAROL,
            PASSWORDS[CAROL],
            list(alice.roles),
            [Device(500011, "Google Authenticator", KIND_TOTP, secret=TOTP_SEED)],
        ),
        Member(
            70004,
            "dave",
            DAVE,
            PASSWORDS[DAVE],
            list(alice.roles),
            [Device(500021, "OneLogin Protect", KIND_PROTECT, secret=PROTECT_SEED)],
        ),
        Member(70005, "locked", LOCKED_USER, PASSWORDS[LOCKED_USER], list(bob.roles), locked=True),
        Member(
            70006, "office", OFFICE_USER, PASSWORDS[OFFICE_USER], list(bob.roles), allowed_ips=(OFFICE_IP,)
        ),
    ]
    return {member.email: member for member in members}


def info() -> dict[str, Any]:
    """The public constants a client needs to log in here (all of them test values)."""
    return {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "subdomain": SUBDOMAIN,
        "apps": {app.app_id: {"name": app.name, "accounts": list(app.account_ids)} for app in APPS.values()},
        "users": dict(PASSWORDS),
        "totp_seed": TOTP_SEED,
        "protect_seed": PROTECT_SEED,
        "yubikey_otp": YUBIKEY_OTP,
        "mfa_bypass_ip": MFA_BYPASS_IP,
        "office_ip": OFFICE_IP,
    }


@dataclass
class _Login:
    """A login waiting for its second factor, named by its state token."""

    member: Member
    app: App
    expires: float
    push: str | None = None  # None, "pending", "approved" or "denied"
    codes: dict[int, str] = field(default_factory=dict)  # device id -> code sent by SMS or email


class _Answer(Exception):
    """An error answer, in the calling version's shape."""

    def __init__(self, status: int, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


_NAMES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class OneLoginEmulator:
    """The WSGI app. Tests may read `stats` and `outbox` directly when they run in the same process."""

    __name__ = "onelogin"

    def __init__(
        self,
        signer: Any,
        *,
        members: dict[str, Member] | None = None,
        apps: dict[str, App] | None = None,
        subdomain: str = SUBDOMAIN,
        client_id: str = CLIENT_ID,
        client_secret: str = CLIENT_SECRET,
        state_seconds: float = STATE_TOKEN_SECONDS,
        mfa_bypass_ips: Iterable[str] = (MFA_BYPASS_IP,),
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.signer = signer
        self.members = members if members is not None else default_members()
        self.apps = apps if apps is not None else dict(APPS)
        self.subdomain = subdomain
        self.client = (client_id, client_secret)
        self.state_seconds = state_seconds
        self.mfa_bypass_ips = frozenset(mfa_bypass_ips)
        self.clock = SandboxClock(clock)
        self.faults = Faults(sleep)
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.stats = dict.fromkeys(
                ("token_calls", "saml_assertion_calls", "verify_factor_calls", "assertions_issued"), 0
            )
            self.outbox: list[dict[str, Any]] = []
            self._tokens: dict[str, float] = {}
            self._logins: dict[str, _Login] = {}
        self.faults.clear()
        self.clock.reset()

    def now(self) -> float:
        return self.clock.now()

    # -- WSGI --------------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        from werkzeug.wrappers import Request

        request = Request(environ)
        response = self._dispatch(request)
        return response(environ, start_response)

    def _dispatch(self, request: Any) -> Any:
        path = request.path
        if path.startswith("/__sandbox/"):
            return self._control(request)
        version = 1 if path.startswith("/api/1/") else 2
        try:
            self._inject_fault(path)
            return self._route(request, path, version)
        except _Answer as answer:
            return _error(answer, version)

    def _route(self, request: Any, path: str, version: int) -> Any:
        if request.method != "POST" and not path.startswith("/api/1/users/"):
            raise _Answer(405, "Method not allowed")
        if path == "/auth/oauth2/v2/token":
            return self._token(request)
        if path in ("/api/1/saml_assertion", "/api/2/saml_assertion"):
            self._count("saml_assertion_calls")
            self._check_bearer(request)
            return self._saml_assertion(request, version)
        if path in ("/api/1/saml_assertion/verify_factor", "/api/2/saml_assertion/verify_factor"):
            self._count("verify_factor_calls")
            self._check_bearer(request)
            return self._verify_factor(request, version)
        if path.startswith("/api/1/users/") and path.endswith("/otp_devices"):
            self._check_bearer(request)
            return self._otp_devices(path)
        raise _Answer(404, "Not found")

    def _inject_fault(self, path: str) -> None:
        fault = self.faults.take(path)
        if fault is None or fault.status is None:
            return
        headers = {"Retry-After": str(fault.retry_after)} if fault.status == 429 else {}
        text = TOO_MANY if fault.status == 429 else _NAMES.get(fault.status, "Error")
        raise _Answer(fault.status, text, headers=headers)

    def _count(self, name: str) -> None:
        with self._lock:
            self.stats[name] += 1

    # -- OAuth token -------------------------------------------------------------------------------

    def _token(self, request: Any) -> Any:
        self._count("token_calls")
        if _client_credentials(request.headers.get("Authorization", "")) != self.client:
            # The token endpoint answers in the wrapped shape whatever the API version.
            raise _Answer(401, AUTH_FAILURE)
        body = _json(request)
        if body.get("grant_type") != "client_credentials":
            raise _Answer(400, "grant_type is invalid")
        token = secrets.token_hex(32)
        with self._lock:
            self._tokens[token] = self.now() + ACCESS_TOKEN_SECONDS
        answer = {
            "access_token": token,
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(self.now())),
            "expires_in": ACCESS_TOKEN_SECONDS,
            "refresh_token": secrets.token_hex(32),
            "token_type": "bearer",
            "account_id": 424242,
        }
        return _json_response(answer)

    def _check_bearer(self, request: Any) -> None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.replace(":", " ", 1).partition(" ")
        with self._lock:
            expires = self._tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if expires is None or expires < self.now():
            raise _Answer(401, AUTH_FAILURE)

    # -- Generate SAML Assertion -------------------------------------------------------------------

    def _saml_assertion(self, request: Any, version: int) -> Any:
        body = _json(request)
        name = str(body.get("username_or_email") or "")
        password = str(body.get("password") or "")
        if not name:
            raise _Answer(400, "username is empty")
        if not password:
            raise _Answer(400, "password is empty")
        if str(body.get("subdomain") or "") != self.subdomain:
            raise _Answer(400, INVALID_SUBDOMAIN)
        app = self.apps.get(str(body.get("app_id") or ""))
        if app is None:
            raise _Answer(404, APP_NOT_FOUND)
        member = self._member(name)
        if member is None or not secrets.compare_digest(member.password, password):
            raise _Answer(401, INVALID_CREDENTIALS)
        if member.locked:
            raise _Answer(401, USER_LOCKED)
        address = str(body.get("ip_address") or request.remote_addr or "")
        if member.allowed_ips and address not in member.allowed_ips:
            raise _Answer(401, IP_NOT_ALLOWED)
        if not _app_roles(member, app):
            raise _Answer(401, NOT_ASSIGNED)
        if not member.devices or address in self.mfa_bypass_ips:
            return _success(self._issue(member, app), version)

        state_token = secrets.token_hex(20)
        with self._lock:
            self._logins[state_token] = _Login(member, app, self.now() + self.state_seconds)
        mfa = {
            "state_token": state_token,
            "devices": [{"device_id": d.device_id, "device_type": d.device_type} for d in member.devices],
            "callback_url": f"{request.host_url}api/{version}/saml_assertion/verify_factor",
            "user": {
                "id": member.id,
                "username": member.username,
                "email": member.email,
                "firstname": member.username.capitalize(),
                "lastname": "Sandbox",
            },
        }
        if version == 1:
            return _json_response({"status": _status("success", MFA_REQUIRED), "data": [mfa]})
        return _json_response({"message": MFA_REQUIRED, **mfa})

    def _member(self, name: str) -> Member | None:
        lowered = name.lower()
        for member in self.members.values():
            if lowered in (member.email.lower(), member.username.lower()):
                return member
        return None

    def _issue(self, member: Member, app: App) -> str:
        from shellenv.sandbox.saml import issue_response

        assertion = issue_response(
            self.signer,
            issuer=f"https://app.onelogin.com/saml/metadata/{app.app_id}",
            name_id=member.email,
            roles=_app_roles(member, app),
            session_name=member.email,
            session_duration=member.session_duration,
        )
        self._count("assertions_issued")
        log.debug("issued an assertion for %s in app %s", member.email, app.app_id)
        return assertion

    # -- Verify Factor -----------------------------------------------------------------------------

    def _verify_factor(self, request: Any, version: int) -> Any:
        body = _json(request)
        state_token = str(body.get("state_token") or "")
        with self._lock:
            login = self._logins.get(state_token)
        if login is None or login.expires < self.now():
            raise _Answer(401, STATE_EXPIRED)
        if str(body.get("app_id") or "") != login.app.app_id:
            raise _Answer(400, "app_id does not match the state token")
        device = next(
            (d for d in login.member.devices if str(d.device_id) == str(body.get("device_id"))), None
        )
        if device is None:
            raise _Answer(400, "Invalid device_id")
        otp = str(body.get("otp_token") or "").strip()
        if otp:
            if not self._code_matches(login, device, otp):
                raise _Answer(401, FACTOR_FAILED)
            return self._finish(state_token, login, version)
        if device.kind == KIND_PROTECT:
            return self._push(state_token, login, version, notify=not body.get("do_not_notify"))
        if device.kind in (KIND_SMS, KIND_EMAIL):
            self._send_code(state_token, login, device)
            return _pending(OTP_SENT, version)
        raise _Answer(400, "otp_token is required for this device")

    def _code_matches(self, login: _Login, device: Device, otp: str) -> bool:
        if device.kind in (KIND_TOTP, KIND_PROTECT):
            import pyotp

            return pyotp.TOTP(device.secret).verify(otp, for_time=self.now(), valid_window=TOTP_WINDOW)
        if device.kind == KIND_YUBIKEY:
            return secrets.compare_digest(otp, device.secret)
        with self._lock:
            sent = login.codes.get(device.device_id)
        return sent is not None and secrets.compare_digest(otp, sent)

    def _push(self, state_token: str, login: _Login, version: int, *, notify: bool) -> Any:
        with self._lock:
            if notify and login.push != "approved":
                login.push = "pending"
            state = login.push
        if state == "approved":
            return self._finish(state_token, login, version)
        if state == "denied":
            raise _Answer(401, FACTOR_FAILED)
        if state is None:
            raise _Answer(400, "No push notification was sent; call without do_not_notify first")
        return _pending(PUSH_PENDING, version)

    def _send_code(self, state_token: str, login: _Login, device: Device) -> None:
        code = f"{secrets.randbelow(10**6):06d}"
        with self._lock:
            login.codes[device.device_id] = code
            self.outbox.append(
                {
                    "kind": device.kind,
                    "to": device.destination,
                    "code": code,
                    "device_id": device.device_id,
                    "state_token": state_token,
                    "sent_at": self.now(),
                }
            )

    def _finish(self, state_token: str, login: _Login, version: int) -> Any:
        with self._lock:
            self._logins.pop(state_token, None)
        return _success(self._issue(login.member, login.app), version)

    # -- otp_devices (Users API v1) ----------------------------------------------------------------

    def _otp_devices(self, path: str) -> Any:
        user_id = path.split("/")[4]
        member = next((m for m in self.members.values() if str(m.id) == user_id), None)
        if member is None:
            raise _Answer(404, "User not found")
        devices = [
            {
                "id": d.device_id,
                "active": True,
                "default": i == 0,
                "needs_trigger": d.kind in (KIND_PROTECT, KIND_SMS, KIND_EMAIL),
                "auth_factor_name": d.device_type,
                "type_display_name": d.device_type,
                "user_display_name": d.user_display_name or d.destination,
            }
            for i, d in enumerate(member.devices)
        ]
        return _json_response({"status": _status("success", SUCCESS), "data": {"otp_devices": devices}})

    # -- test endpoints ----------------------------------------------------------------------------

    def _control(self, request: Any) -> Any:
        parts = request.path.strip("/").split("/")[1:]
        method = request.method
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
            advance = float(_json(request).get("advance", 0))
            return _json_response({"offset": self.clock.advance(advance)})
        if parts == ["fail"] and method == "POST":
            return _json_response({"rules": self.faults.add(parse_fault(_json(request)))})
        if parts == ["fail"] and method == "DELETE":
            self.faults.clear()
            return _json_response({"rules": 0})
        if len(parts) == 3 and parts[0] == "push" and parts[2] in ("approve", "deny") and method == "POST":
            return self._answer_push(parts[1], parts[2])
        return _json_response({"message": "no such sandbox endpoint"}, 404)

    def _answer_push(self, state_token: str, verdict: str) -> Any:
        with self._lock:
            if state_token == "latest":
                pending = [t for t, login in self._logins.items() if login.push == "pending"]
                state_token = pending[-1] if pending else ""
            login = self._logins.get(state_token)
            if login is None or login.push != "pending":
                return _json_response({"message": "no pending push for that state token"}, 404)
            login.push = "approved" if verdict == "approve" else "denied"
        return _json_response({"push": login.push})


def make_app(signer: Any, **options: Any) -> OneLoginEmulator:
    """The OneLogin emulator as a WSGI app; `options` are OneLoginEmulator's keyword arguments."""
    return OneLoginEmulator(signer, **options)


# -- answers ---------------------------------------------------------------------------------------


def _status(kind: str, message: str, code: int = 200) -> dict[str, Any]:
    return {"type": kind, "message": message, "error": code >= 400, "code": code}


def _success(assertion: str, version: int) -> Any:
    if version == 1:
        return _json_response({"status": _status("success", SUCCESS), "data": assertion})
    return _json_response({"data": assertion, "message": SUCCESS})


def _pending(message: str, version: int) -> Any:
    if version == 1:
        return _json_response({"status": _status("pending", message), "data": None})
    return _json_response({"message": message})


def _error(answer: _Answer, version: int) -> Any:
    name = _NAMES.get(answer.status, "Error")
    if version == 1 or answer.message == AUTH_FAILURE:
        body: dict[str, Any] = {"status": _status(name, answer.message, answer.status)}
    else:
        body = {"statusCode": answer.status, "name": name.replace(" ", ""), "message": answer.message}
    response = _json_response(body, answer.status)
    for key, value in answer.headers.items():
        response.headers[key] = value
    return response


def _json_response(body: Any, status: int = 200) -> Any:
    from werkzeug.wrappers import Response

    return Response(json.dumps(body), status=status, mimetype="application/json")


def _json(request: Any) -> dict[str, Any]:
    try:
        body = json.loads(request.get_data(as_text=True) or "{}")
    except ValueError:
        raise _Answer(400, "The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise _Answer(400, "The request body must be a JSON object")
    return body


def _client_credentials(header: str) -> tuple[str, str] | None:
    """(client_id, client_secret) from OneLogin's own header form or from HTTP Basic."""
    header = header.strip()
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except ValueError:
            return None
        client_id, sep, client_secret = decoded.partition(":")
        return (client_id, client_secret) if sep else None
    fields = {}
    for part in header.split(","):
        key, sep, value = part.strip().partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    if "client_id" in fields and "client_secret" in fields:
        return fields["client_id"], fields["client_secret"]
    return None


def _app_roles(member: Member, app: App) -> list[str]:
    return [role for role in member.roles if role.split(":")[4] in app.account_ids]
