"""A local IAM Identity Center: the `sso-oidc` device-login service and the `sso` access portal.

It owns their shared state (clients, device codes, tokens, assignments) and the test hooks under
`/__sandbox/`. It answers in the rest-json shapes botocore parses; it never guards a real account.

The person at the browser (either server):
  GET/POST /device                            the verification page: a code, Allow and Deny;
                                              `curl -d action=approve -d user_code=ABCD-EFGH URL/device`

Test endpoints (the sandbox's own, never in AWS; bodies are JSON):
  POST /__sandbox/approve, /__sandbox/deny    {"user_code": "ABCD-EFGH"}; no code: the newest pending
  POST /__sandbox/auto-approve                {"enabled": true}: approve every new device at once
  GET  /__sandbox/stats                       counters by operation, and the pending user codes
  POST /__sandbox/fail                        {"operation": "ListAccounts" | "*", "error":
                                              "TooManyRequestsException", "count": 1}
  POST /__sandbox/expire                      {"what": "tokens" | "devices" | "registrations" |
                                              "refresh_tokens"}: expire them now
  POST /__sandbox/reset                       clients, devices, tokens, faults and counters cleared
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import logging
import secrets
import string
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from shellenv.sandbox import world
from shellenv.sandbox.control import Fault, Faults

log = logging.getLogger(__name__)

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
REFRESH_GRANT = "refresh_token"
ACCOUNT_ACCESS_SCOPE = "sso:account:access"
BEARER_HEADER = "x-amz-sso_bearer_token"

DEFAULT_INTERVAL = 1  # seconds between polls, as the real service answers
DEVICE_LIFETIME = 600
TOKEN_LIFETIME = 8 * 3600
REGISTRATION_LIFETIME = 90 * 24 * 3600
CREDENTIAL_LIFETIME = 3600
PAGE_SIZE = 3  # small on purpose: every listing of the sandbox's directory takes several pages
MAX_PAGE_SIZE = 100

# Extra accounts beside world.ACCOUNTS, so that account listings need several pages.
EXTRA_ACCOUNTS = {f"{n}" * 12: f"sandbox-team-{n}" for n in range(3, 8)}
EXTRA_ROLES = ("AdministratorAccess", "ReadOnlyAccess", "PowerUserAccess", "Billing")

# HTTP status of every error the emulator answers, by its botocore error code.
ERROR_STATUS = {
    "AccessDeniedException": 400,
    "AuthorizationPendingException": 400,
    "ExpiredTokenException": 400,
    "InternalServerException": 500,
    "InvalidClientException": 401,
    "InvalidGrantException": 400,
    "InvalidRequestException": 400,
    "SlowDownException": 400,
    "UnsupportedGrantTypeException": 400,
    "UnauthorizedException": 401,
    "ForbiddenException": 403,
    "ResourceNotFoundException": 404,
    "TooManyRequestsException": 429,
}
# The OAuth error names the sso-oidc service puts in its bodies.
OAUTH_ERROR = {
    "AccessDeniedException": "access_denied",
    "AuthorizationPendingException": "authorization_pending",
    "ExpiredTokenException": "expired_token",
    "InvalidClientException": "invalid_client",
    "InvalidGrantException": "invalid_grant",
    "InvalidRequestException": "invalid_request",
    "SlowDownException": "slow_down",
    "UnsupportedGrantTypeException": "unsupported_grant_type",
    "InternalServerException": "server_error",
}

Minter = Callable[[str, str, int], dict[str, str]]


class ApiError(Exception):
    """An answer in AWS's error shape: the code in x-amzn-ErrorType, the text in the body."""

    def __init__(self, code: str, description: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.description = description


@dataclass
class Client:
    client_id: str
    client_secret: str
    name: str
    scopes: list[str]
    expires_at: float


@dataclass
class Device:
    device_code: str
    user_code: str
    client_id: str
    start_url: str
    expires_at: float
    interval: int
    status: str = "pending"  # pending, approved, denied, redeemed
    last_poll: float | None = None


@dataclass
class Token:
    client_id: str
    start_url: str
    expires_at: float
    refresh_token: str | None
    revoked: bool = False


def mint_keys(account_id: str, role_name: str, lifetime: int) -> dict[str, str]:
    """Keys shaped like AWS's temporary keys; the default when no STS key store is shared."""
    alphabet = string.ascii_uppercase + string.digits
    return {
        "accessKeyId": "ASIA" + "".join(secrets.choice(alphabet) for _ in range(16)),
        "secretAccessKey": base64.b64encode(secrets.token_bytes(30)).decode(),
        "sessionToken": base64.b64encode(secrets.token_bytes(96)).decode(),
    }


def sts_minter(
    keys: Any,
    *,
    user: str = "alice@example.com",
    partition: str = "aws",
    clock: Callable[[], float] = time.time,
) -> Minter:
    """A minter that records its keys in the STS emulator's key store (`StsApp.keys`), so that the
    sandbox STS answers GetCallerIdentity for them as for keys it issued itself."""
    from shellenv.sandbox.sts import IssuedKey

    def mint(account_id: str, role_name: str, lifetime: int) -> dict[str, str]:
        minted = mint_keys(account_id, role_name, lifetime)
        role_id = "AROA" + secrets.token_hex(8).upper()
        keys.add(
            IssuedKey(
                access_key_id=minted["accessKeyId"],
                secret_access_key=minted["secretAccessKey"],
                session_token=minted["sessionToken"],
                expiration=clock() + lifetime,
                role_arn=f"arn:{partition}:iam::{account_id}:role/{role_name}",
                assumed_role_arn=f"arn:{partition}:sts::{account_id}:assumed-role/{role_name}/{user}",
                assumed_role_id=f"{role_id}:{user}",
                account=account_id,
                partition=partition,
                session_name=user,
            )
        )
        return minted

    return mint


def default_assignments() -> dict[str, list[str]]:
    """Account ID -> permission set (role) names: the world's roles, plus filler accounts."""
    assignments: dict[str, list[str]] = {account: [] for account in world.ACCOUNTS}
    for arn in world.ROLES:
        account, name = arn.split(":")[4], arn.rsplit("/", 1)[1]
        if name not in assignments[account]:
            assignments[account].append(name)
    for account in EXTRA_ACCOUNTS:
        assignments[account] = list(EXTRA_ROLES)
    return assignments


class SsoState:
    """Everything the two services share, under one lock; times come from `clock`."""

    def __init__(
        self,
        *,
        accounts: dict[str, str] | None = None,
        assignments: dict[str, list[str]] | None = None,
        clock: Callable[[], float] = time.time,
        interval: int = DEFAULT_INTERVAL,
        device_lifetime: int = DEVICE_LIFETIME,
        token_lifetime: int = TOKEN_LIFETIME,
        credential_lifetime: int = CREDENTIAL_LIFETIME,
        page_size: int = PAGE_SIZE,
        mint: Minter = mint_keys,
    ) -> None:
        self.accounts = dict(
            accounts if accounts is not None else {**world.ACCOUNTS, **EXTRA_ACCOUNTS}
        )
        self.assignments = assignments if assignments is not None else default_assignments()
        self.clock = clock
        self.interval = interval
        self.device_lifetime = device_lifetime
        self.token_lifetime = token_lifetime
        self.credential_lifetime = credential_lifetime
        self.page_size = page_size
        self.mint = mint
        self.auto_approve = False
        self.stats: Counter[str] = Counter()
        self.lock = threading.RLock()
        self.clients: dict[str, Client] = {}
        self.devices: dict[str, Device] = {}
        self.tokens: dict[str, Token] = {}
        self.refresh_tokens: dict[str, str] = {}  # refresh token -> its access token
        self.faults = Faults()
        self.issued_keys: list[str] = []  # access key IDs handed out, newest last

    # -- test hooks --------------------------------------------------------------------------------

    def _device_by_user_code(self, user_code: str | None) -> Device:
        pending = [d for d in self.devices.values() if d.status == "pending"]
        if user_code:
            wanted = user_code.strip().upper()
            pending = [d for d in self.devices.values() if d.user_code == wanted]
        if not pending:
            raise KeyError(user_code or "no pending device authorization")
        return pending[-1]

    def approve(self, user_code: str | None = None) -> str:
        """Play the user approving the device login; None approves the newest pending one."""
        with self.lock:
            device = self._device_by_user_code(user_code)
            device.status = "approved"
            self.stats["approvals"] += 1
            return device.user_code

    def deny(self, user_code: str | None = None) -> str:
        with self.lock:
            device = self._device_by_user_code(user_code)
            device.status = "denied"
            return device.user_code

    def pending_user_codes(self) -> list[str]:
        with self.lock:
            return [d.user_code for d in self.devices.values() if d.status == "pending"]

    def fail(self, operation: str, error: str, count: int = 1) -> None:
        """Answer the next `count` calls of `operation` (e.g. "ListAccounts"; "*": any) with `error`."""
        if error not in ERROR_STATUS:
            raise ValueError(f"unknown error {error!r}; one of {sorted(ERROR_STATUS)}")
        self.faults.add(Fault(operation, ERROR_STATUS[error], times=count, error=error))

    def expire(self, what: str) -> int:
        """Expire now every access token, refresh token, device code or client registration."""
        now = self.clock() - 1
        with self.lock:
            if what == "tokens":
                items: Iterable[Any] = self.tokens.values()
            elif what == "devices":
                items = self.devices.values()
            elif what == "registrations":
                items = self.clients.values()
            elif what == "refresh_tokens":
                count = len(self.refresh_tokens)
                self.refresh_tokens.clear()
                return count
            else:
                raise ValueError(f"cannot expire {what!r}")
            count = 0
            for item in items:
                item.expires_at = min(item.expires_at, now)
                count += 1
            return count

    def reset(self) -> None:
        with self.lock:
            self.clients.clear()
            self.devices.clear()
            self.tokens.clear()
            self.refresh_tokens.clear()
            self.faults.clear()
            self.stats.clear()
            self.issued_keys.clear()
            self.auto_approve = False

    def _take_fault(self, operation: str) -> None:
        fault = self.faults.take(operation)
        if fault is None:
            return
        self.stats[f"faults.{operation}"] += 1
        raise ApiError(fault.error, f"injected {fault.error}")

    # -- sso-oidc ----------------------------------------------------------------------------------

    def register_client(self, body: dict[str, Any]) -> dict[str, Any]:
        name, kind = body.get("clientName"), body.get("clientType")
        if not name or kind != "public":
            raise ApiError(
                "InvalidRequestException", "clientName and clientType 'public' are required"
            )
        now = self.clock()
        client = Client(
            client_id=_token("client"),
            client_secret=_token("secret", 48),
            name=str(name),
            scopes=list(body.get("scopes") or []),
            expires_at=now + REGISTRATION_LIFETIME,
        )
        with self.lock:
            self.clients[client.client_id] = client
            self.stats["registrations"] += 1
        return {
            "clientId": client.client_id,
            "clientSecret": client.client_secret,
            "clientIdIssuedAt": int(now),
            "clientSecretExpiresAt": int(client.expires_at),
        }

    def _client(self, body: dict[str, Any]) -> Client:
        client = self.clients.get(str(body.get("clientId")))
        if client is None or not secrets.compare_digest(
            client.client_secret, str(body.get("clientSecret"))
        ):
            raise ApiError("InvalidClientException", "unknown client or wrong secret")
        if client.expires_at <= self.clock():
            raise ApiError("InvalidClientException", "the client registration has expired")
        return client

    def start_device_authorization(self, body: dict[str, Any], base_url: str) -> dict[str, Any]:
        with self.lock:
            client = self._client(body)
            if not body.get("startUrl"):
                raise ApiError("InvalidRequestException", "startUrl is required")
            device = Device(
                device_code=_token("device", 48),
                user_code=_user_code(),
                client_id=client.client_id,
                start_url=str(body["startUrl"]),
                expires_at=self.clock() + self.device_lifetime,
                interval=self.interval,
            )
            if self.auto_approve:
                device.status = "approved"
            self.devices[device.device_code] = device
            self.stats["device_authorizations"] += 1
        page = f"{base_url}/device"
        return {
            "deviceCode": device.device_code,
            "userCode": device.user_code,
            "verificationUri": page,
            "verificationUriComplete": f"{page}?user_code={device.user_code}",
            "expiresIn": self.device_lifetime,
            "interval": device.interval,
        }

    def create_token(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            client = self._client(body)
            grant = body.get("grantType")
            if grant == DEVICE_GRANT:
                return self._redeem_device(client, str(body.get("deviceCode")))
            if grant == REFRESH_GRANT:
                return self._redeem_refresh(client, str(body.get("refreshToken")))
            raise ApiError(
                "UnsupportedGrantTypeException", f"grant type {grant!r} is not supported"
            )

    def _redeem_device(self, client: Client, device_code: str) -> dict[str, Any]:
        device = self.devices.get(device_code)
        if device is None or device.client_id != client.client_id or device.status == "redeemed":
            raise ApiError("InvalidGrantException", "invalid device code")
        now = self.clock()
        self.stats["polls"] += 1
        if device.expires_at <= now:
            raise ApiError("ExpiredTokenException", "the device code has expired")
        if device.status == "denied":
            raise ApiError("AccessDeniedException", "the user denied the request")
        too_soon = device.last_poll is not None and now - device.last_poll < device.interval
        device.last_poll = now
        if device.status == "pending":
            if too_soon:
                self.stats["slow_downs"] += 1
                raise ApiError("SlowDownException", "polled faster than the interval")
            raise ApiError("AuthorizationPendingException", "the user has not approved yet")
        device.status = "redeemed"
        self.stats["logins"] += 1
        return self._issue_token(client, device.start_url)

    def _redeem_refresh(self, client: Client, refresh_token: str) -> dict[str, Any]:
        access = self.refresh_tokens.pop(refresh_token, None)
        token = self.tokens.get(access) if access else None
        if token is None or token.revoked or token.client_id != client.client_id:
            raise ApiError("InvalidGrantException", "invalid refresh token")
        token.revoked = True  # a refresh rotates both tokens
        self.stats["refreshes"] += 1
        return self._issue_token(client, token.start_url)

    def _issue_token(self, client: Client, start_url: str) -> dict[str, Any]:
        access = _token("aoa", 64)
        # Like the real service, only clients registered with a scope get a refresh token.
        refresh = _token("aor", 64) if client.scopes else None
        self.tokens[access] = Token(
            client.client_id, start_url, self.clock() + self.token_lifetime, refresh
        )
        answer: dict[str, Any] = {
            "accessToken": access,
            "tokenType": "Bearer",
            "expiresIn": self.token_lifetime,
        }
        if refresh:
            self.refresh_tokens[refresh] = access
            answer["refreshToken"] = refresh
        return answer

    # -- sso portal --------------------------------------------------------------------------------

    def _bearer(self, access_token: str | None) -> Token:
        token = self.tokens.get(access_token or "")
        if token is None or token.revoked or token.expires_at <= self.clock():
            raise ApiError("UnauthorizedException", "Session token not found or invalid")
        return token

    def list_accounts(self, access_token: str | None, query: dict[str, str]) -> dict[str, Any]:
        with self.lock:
            self._bearer(access_token)
            accounts = [
                {"accountId": a, "accountName": self.accounts.get(a, a), "emailAddress": _email(a)}
                for a in sorted(self.assignments)
            ]
            page, next_token = self._page(accounts, query)
            self.stats["list_accounts"] += 1
        return _with_next({"accountList": page}, next_token)

    def list_account_roles(self, access_token: str | None, query: dict[str, str]) -> dict[str, Any]:
        with self.lock:
            self._bearer(access_token)
            account = query.get("account_id", "")
            if account not in self.assignments:
                raise ApiError("ResourceNotFoundException", "No account found")
            roles = [{"roleName": r, "accountId": account} for r in self.assignments[account]]
            page, next_token = self._page(roles, query)
            self.stats["list_account_roles"] += 1
        return _with_next({"roleList": page}, next_token)

    def get_role_credentials(
        self, access_token: str | None, query: dict[str, str]
    ) -> dict[str, Any]:
        with self.lock:
            self._bearer(access_token)
            account, role = query.get("account_id", ""), query.get("role_name", "")
            if role not in self.assignments.get(account, []):
                # What the real portal answers for a role not assigned to the user.
                raise ApiError("ForbiddenException", "No access")
            expires = self.clock() + self.credential_lifetime
            keys = self.mint(account, role, self.credential_lifetime)
            self.issued_keys.append(keys["accessKeyId"])
            self.stats["role_credentials"] += 1
        return {"roleCredentials": {**keys, "expiration": int(expires * 1000)}}

    def logout(self, access_token: str | None) -> None:
        with self.lock:
            token = self.tokens.get(access_token or "")
            if token is None or token.revoked:
                raise ApiError("UnauthorizedException", "Session token not found or invalid")
            token.revoked = True
            if token.refresh_token:
                self.refresh_tokens.pop(token.refresh_token, None)
            self.stats["logouts"] += 1

    def _page(
        self, items: list[dict[str, str]], query: dict[str, str]
    ) -> tuple[list[Any], str | None]:
        try:
            size = int(query.get("max_result") or self.page_size)
            start = _decode_next(query["next_token"]) if query.get("next_token") else 0
        except ValueError:
            raise ApiError("InvalidRequestException", "invalid next_token or max_result") from None
        if not 1 <= size <= MAX_PAGE_SIZE or start > len(items):
            raise ApiError("InvalidRequestException", "max_result must be 1-100")
        end = start + size
        return items[start:end], (_encode_next(end) if end < len(items) else None)


def _token(prefix: str, size: int = 24) -> str:
    return f"{prefix}{secrets.token_urlsafe(size)}"


def _user_code() -> str:
    letters = "BCDFGHJKLMNPQRSTVWXZ"  # no vowels, so no words; as device flows do
    code = "".join(secrets.choice(letters) for _ in range(8))
    return f"{code[:4]}-{code[4:]}"


def _email(account_id: str) -> str:
    return f"aws+{account_id}@example.com"


def _encode_next(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _decode_next(text: str) -> int:
    try:
        return int(json.loads(base64.urlsafe_b64decode(text.encode()))["offset"])
    except (binascii.Error, KeyError, TypeError, json.JSONDecodeError, UnicodeDecodeError):
        raise ValueError("bad next_token") from None


def _with_next(answer: dict[str, Any], next_token: str | None) -> dict[str, Any]:
    if next_token:
        answer["nextToken"] = next_token
    return answer


# -- WSGI ------------------------------------------------------------------------------------------


def make_oidc_app(state: SsoState) -> Callable[..., Any]:
    """The `sso-oidc` service (what AWS_ENDPOINT_URL_SSO_OIDC points at), plus the device page."""
    routes = {
        ("POST", "/client/register"): ("RegisterClient", lambda r, b: state.register_client(b)),
        ("POST", "/device_authorization"): (
            "StartDeviceAuthorization",
            lambda r, b: state.start_device_authorization(b, r.host_url.rstrip("/")),
        ),
        ("POST", "/token"): ("CreateToken", lambda r, b: state.create_token(b)),
    }
    return _app(state, routes, oauth=True, name="sso_oidc")


def make_portal_app(state: SsoState) -> Callable[..., Any]:
    """The `sso` access portal (what AWS_ENDPOINT_URL_SSO points at)."""

    def bearer(request: Any) -> str | None:
        return request.headers.get(BEARER_HEADER)

    def query(request: Any) -> dict[str, str]:
        return {k: v for k, v in request.args.items()}

    routes = {
        ("GET", "/assignment/accounts"): (
            "ListAccounts",
            lambda r, b: state.list_accounts(bearer(r), query(r)),
        ),
        ("GET", "/assignment/roles"): (
            "ListAccountRoles",
            lambda r, b: state.list_account_roles(bearer(r), query(r)),
        ),
        ("GET", "/federation/credentials"): (
            "GetRoleCredentials",
            lambda r, b: state.get_role_credentials(bearer(r), query(r)),
        ),
        ("POST", "/logout"): ("Logout", lambda r, b: state.logout(bearer(r))),
    }
    return _app(state, routes, oauth=False, name="sso_portal")


def make_app(state: SsoState) -> Callable[..., Any]:
    """Both services on one port, for `shellenv sandbox`: their paths do not overlap."""
    oidc, portal = make_oidc_app(state), make_portal_app(state)
    portal_paths = ("/assignment/", "/federation/", "/logout")

    def sso(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        return (portal if path.startswith(portal_paths) else oidc)(environ, start_response)

    return sso


def _app(state: SsoState, routes: dict[tuple[str, str], Any], *, oauth: bool, name: str) -> Any:
    from werkzeug.wrappers import Request, Response

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        if request.path.startswith("/__sandbox/"):
            response = _sandbox_hook(state, request)
        elif request.path == "/device":
            response = _device_page(state, request)
        else:
            response = _api_call(state, routes, request, oauth=oauth)
        return response(environ, start_response)

    def _api_call(state: SsoState, routes: Any, request: Any, *, oauth: bool) -> Response:
        route = routes.get((request.method, request.path))
        if route is None:
            return _error(ApiError("ResourceNotFoundException", "no such operation"), oauth=oauth)
        operation, handler = route
        try:
            body = request.get_json(silent=True) if request.method == "POST" else None
            if request.method == "POST" and request.get_data() and not isinstance(body, dict):
                raise ApiError("InvalidRequestException", "the body is not a JSON object")
            state.stats[f"calls.{operation}"] += 1
            state._take_fault(operation)
            answer = handler(request, body or {})
        except ApiError as exc:
            log.debug("%s -> %s", operation, exc.code)
            return _error(exc, oauth=oauth)
        return Response(json.dumps(answer or {}), 200, content_type="application/json")

    app.__name__ = name
    return app


def _error(exc: ApiError, *, oauth: bool) -> Any:
    from werkzeug.wrappers import Response

    if oauth:
        body = {"error": OAUTH_ERROR.get(exc.code, exc.code), "error_description": exc.description}
    else:
        body = {"message": exc.description}
    response = Response(
        json.dumps(body), ERROR_STATUS.get(exc.code, 400), content_type="application/json"
    )
    response.headers["x-amzn-ErrorType"] = exc.code
    response.headers["x-amzn-RequestId"] = str(uuid.uuid4())
    return response


def _sandbox_hook(state: SsoState, request: Any) -> Any:
    """Test endpoints: approve/deny a device, auto-approve, stats, failures, expiry, reset."""
    from werkzeug.wrappers import Response

    body = request.get_json(silent=True) or {}
    action = request.path[len("/__sandbox/") :]
    try:
        if action == "stats" and request.method == "GET":
            with state.lock:
                answer: dict[str, Any] = {
                    "stats": dict(state.stats),
                    "pending": state.pending_user_codes(),
                }
        elif request.method != "POST":
            return Response("use POST\n", 405)
        elif action in ("approve", "deny"):
            answer = {"user_code": getattr(state, action)(body.get("user_code"))}
        elif action == "auto-approve":
            state.auto_approve = bool(body.get("enabled", True))
            answer = {"auto_approve": state.auto_approve}
        elif action == "fail":
            state.fail(str(body["operation"]), str(body["error"]), int(body.get("count", 1)))
            answer = {"ok": True}
        elif action == "expire":
            answer = {"expired": state.expire(str(body.get("what", "tokens")))}
        elif action == "reset":
            state.reset()
            answer = {"ok": True}
        else:
            return Response("no such sandbox endpoint\n", 404)
    except KeyError as exc:
        return Response(
            json.dumps({"error": f"not found: {exc.args[0]}"}), 404, content_type="application/json"
        )
    except (TypeError, ValueError) as exc:
        return Response(json.dumps({"error": str(exc)}), 400, content_type="application/json")
    return Response(json.dumps(answer), 200, content_type="application/json")


def _device_page(state: SsoState, request: Any) -> Any:
    """The page a verification URL opens: shows the code and lets a person approve or deny it."""
    from werkzeug.wrappers import Response

    code = request.values.get("user_code", "")
    if request.method == "POST":
        action = "approve" if request.form.get("action") == "approve" else "deny"
        try:
            getattr(state, action)(code)
        except KeyError:
            return Response("<p>No such code.</p>", 404, content_type="text/html")
        return Response(
            f"<p>Request {action}d. You may close this window.</p>", content_type="text/html"
        )
    shown = html.escape(code)
    page = (
        "<!doctype html><title>shellenv sandbox sign-in</title>"
        "<h1>Authorize request</h1><form method='post'>"
        f"<label>Code <input name='user_code' value='{shown}'></label> "
        "<button name='action' value='approve'>Allow</button> "
        "<button name='action' value='deny'>Deny</button></form>"
    )
    return Response(page, content_type="text/html")
