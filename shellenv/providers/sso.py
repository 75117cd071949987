"""AWS IAM Identity Center: the device login, the portal's accounts and roles, and role credentials.

It shares its login with the AWS CLI through ~/.aws/sso/cache (same file names and fields). It never
writes to stdout, nor puts an access token, refresh token or client secret in a message or a log.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shellenv.credentials import Credentials
from shellenv.errors import (
    AuthenticationError,
    ConfigError,
    IdpDeniedError,
    Interrupted,
    MfaError,
    NeedsLoginError,
    NetworkError,
    NotFoundError,
    RateLimitedError,
    ServiceError,
    ShellenvError,
    TlsError,
)
from shellenv.terminal import open_browser

if TYPE_CHECKING:
    from shellenv.config import IdpConfig
    from shellenv.terminal import Terminal

log = logging.getLogger(__name__)

CLIENT_NAME = "shellenv"
ACCOUNT_ACCESS_SCOPE = "sso:account:access"  # the scope that makes the service issue refresh tokens
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
REFRESH_GRANT = "refresh_token"
REFRESH_WINDOW = 15 * 60  # refresh a token this close to its expiry, as botocore does
MIN_TOKEN_SECONDS = 60  # a cached token with less left than this is not worth a request
REGISTRATION_MARGIN = 3600  # register anew when the client registration ends within this
DEFAULT_POLL_INTERVAL = 5  # RFC 8628's default when the service names no interval
SLOW_DOWN_STEP = 5  # RFC 8628: after slow_down, wait this much longer between polls from then on
LIST_WORKERS = 8  # accounts whose roles are listed at once
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class SsoRole:
    """A permission set the portal lets the user use in one account."""

    account_id: str
    account_name: str
    role_name: str

    def label(self) -> str:
        return f"{self.account_name} ({self.account_id}) {self.role_name}"


def token_cache_dir() -> Path:
    """The AWS CLI's and botocore's SSO token cache folder."""
    return Path.home() / ".aws" / "sso" / "cache"


def token_cache_key(start_url: str, session_name: str | None) -> str:
    """The cache file's base name: sha1 of the sso-session name, or of the start URL (legacy)."""
    name = (session_name or start_url).encode("utf-8")
    return hashlib.sha1(name, usedforsecurity=False).hexdigest()  # a file name, not a secret


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def parse_time(text: str) -> dt.datetime:
    """A cache timestamp: botocore writes `...Z`, older AWS CLI versions wrote `...UTC`."""
    text = text.strip()
    for suffix in ("UTC", "Z"):
        if text.endswith(suffix):
            text = text[: -len(suffix)] + "+00:00"
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


class TokenCache:
    """One login in the shared cache: `<folder>/<sha1>.json`, written atomically with mode 0600."""

    def __init__(
        self, start_url: str, session_name: str | None, folder: Path | None = None
    ) -> None:
        self.start_url = start_url
        self.path = (
            folder or token_cache_dir()
        ) / f"{token_cache_key(start_url, session_name)}.json"

    def load(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.debug(
                "ignoring the unreadable SSO token cache %s: %s", self.path, type(exc).__name__
            )
            return None
        if not isinstance(data, dict) or data.get("startUrl", self.start_url) != self.start_url:
            log.debug("the SSO token cache %s is for another start URL; ignoring it", self.path)
            return None
        return data

    def save(self, token: dict[str, Any]) -> None:
        from shellenv.cache import write_private

        write_private(self.path, json.dumps(token, indent=2).encode("utf-8"))
        log.debug("saved the SSO token to %s", self.path)

    def remove(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


class IdentityCenter:
    """IAM Identity Center for one `[idp.NAME]` with `type = "sso"`.

    Not a SAML provider: it lists the user's accounts and roles and gets role credentials directly.
    `clock`, `sleep`, `browser` and `cache_dir` are seams for tests; `max_attempts` bounds
    botocore's retries of throttled and failed calls.
    """

    def __init__(
        self,
        idp: IdpConfig,
        terminal: Terminal,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        browser: Callable[[str], bool] | None = None,
        cache_dir: Path | None = None,
        max_attempts: int = 3,
    ) -> None:
        self.idp = idp
        self.terminal = terminal
        self.start_url = str(idp.get("start_url"))
        self.region = str(idp.get("sso_region"))
        self.session_name = idp.get("session_name") or None
        self.partition = partition_of(self.region)
        self.cache = TokenCache(self.start_url, self.session_name, cache_dir)
        self._clock = clock
        self._sleep = sleep
        self._browser = browser if browser is not None else open_browser
        self._max_attempts = max_attempts
        self._clients: dict[str, Any] = {}
        self._token: dict[str, Any] | None = None
        self._account_names: dict[str, str] = {}
        self._lock = threading.RLock()

    # -- what the rest of shellenv calls -----------------------------------------------------------

    def list_roles(self) -> list[SsoRole]:
        """Every account and role the user may use, all pages, sorted by account name then role."""
        accounts = self._with_token(self._list_accounts)
        self._account_names.update(accounts)

        def roles_of(account_id: str) -> list[str]:
            return self._with_token(lambda token: self._list_account_roles(token, account_id))

        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=LIST_WORKERS) as pool:
            names = list(pool.map(roles_of, accounts))
        roles = [
            SsoRole(account_id, accounts[account_id], role_name)
            for account_id, role_names in zip(accounts, names)
            for role_name in role_names
        ]
        log.debug("the portal lists %d roles in %d accounts", len(roles), len(accounts))
        return sorted(
            roles, key=lambda r: (r.account_name.lower(), r.account_id, r.role_name.lower())
        )

    def role_credentials(self, account_id: str, role_name: str) -> Credentials:
        """Keys for one role in one account; profile is left empty for the caller to fill in."""
        answer = self._with_token(
            lambda token: self._call(
                "sso",
                "get_role_credentials",
                what=f"role {role_name} in account {account_id}",
                accessToken=token,
                accountId=account_id,
                roleName=role_name,
            )
        )
        keys = answer["roleCredentials"]
        expiration = dt.datetime.fromtimestamp(keys["expiration"] / 1000, dt.timezone.utc)
        credentials = Credentials(
            access_key_id=keys["accessKeyId"],
            secret_access_key=keys["secretAccessKey"],
            session_token=keys["sessionToken"],
            expiration=expiration,
            role_arn=f"arn:{self.partition}:iam::{account_id}:role/{role_name}",
            profile="",
            account_alias=self._account_names.get(account_id),
        )
        log.info("IAM Identity Center issued %s", credentials.describe())
        return credentials

    def login(self, *, force: bool = False) -> None:
        """Make sure a usable token is cached: from the cache, by refresh, else by device login."""
        self._access_token(force_device=force)

    def logout(self) -> None:
        """End the portal session and remove the cached token, as `aws sso logout` does."""
        token = self.cache.load()
        if token and token.get("accessToken"):
            try:
                self._call("sso", "logout", what="sign-out", accessToken=token["accessToken"])
            except NeedsLoginError:
                log.debug("the portal no longer knew the token; nothing to sign out of")
        self.cache.remove()
        self._token = None
        log.info("signed out of %s", self.start_url)

    # -- tokens ------------------------------------------------------------------------------------

    def _with_token(self, call: Callable[[str], Any]) -> Any:
        """Run `call(access_token)`; if the portal refuses a token believed valid, sign in again."""
        token = self._access_token()
        try:
            return call(token)
        except NeedsLoginError:
            if self._token is not None and self._token.get("_fresh"):
                raise IdpDeniedError(
                    f"IAM Identity Center at {self.start_url} refused a token it just issued; "
                    "ask your administrator to check your access"
                ) from None
            log.info("the portal refused the cached token; signing in again")
        return call(self._access_token(stale=token))

    def _access_token(self, *, force_device: bool = False, stale: str | None = None) -> str:
        from shellenv.cache import KeyCache

        # list_roles asks from several threads, and several shells may need the same sign-in at once:
        # one device sign-in serves them all; the others wait, then read the token it cached.
        with self._lock, KeyCache().login_lock(f"IAM Identity Center {self.start_url}", self.terminal):
            return self._access_token_locked(force_device=force_device, stale=stale)

    def _access_token_locked(self, *, force_device: bool, stale: str | None) -> str:
        token = None if force_device else (self._token or self.cache.load())
        if token and stale and token.get("accessToken") == stale:
            token = dict(
                token, expiresAt=_format_time(self._now())
            )  # the portal said it is no good
        left = self._seconds_left(token)
        if token and left > REFRESH_WINDOW:
            log.debug("cached SSO token for %s, %d min left", self.start_url, left // 60)
            self._token = token
            return str(token["accessToken"])
        refreshed = self._refresh(token) if token else None
        if refreshed:
            return str(refreshed["accessToken"])
        if token and left > MIN_TOKEN_SECONDS:
            log.debug("could not refresh; using the cached token for its last %d min", left // 60)
            self._token = token
            return str(token["accessToken"])
        return str(self._device_login(token)["accessToken"])

    def _seconds_left(self, token: dict[str, Any] | None, field: str = "expiresAt") -> float:
        if not token or not token.get("accessToken") or not token.get(field):
            return 0.0
        try:
            return (parse_time(str(token[field])) - self._now()).total_seconds()
        except ValueError:
            log.debug("cannot read %s in the SSO token cache; treating it as expired", field)
            return 0.0

    def _refresh(self, token: dict[str, Any]) -> dict[str, Any] | None:
        needed = ("refreshToken", "clientId", "clientSecret", "registrationExpiresAt")
        if any(not token.get(name) for name in needed):
            log.debug(
                "the cached SSO token cannot be refreshed: it lacks a refresh token or client"
            )
            return None
        if self._seconds_left(token, "registrationExpiresAt") <= 0:
            log.debug("the client registration of the cached SSO token has expired")
            return None
        try:
            answer = self._call(
                "sso-oidc",
                "create_token",
                what="token refresh",
                clientId=token["clientId"],
                clientSecret=token["clientSecret"],
                grantType=REFRESH_GRANT,
                refreshToken=token["refreshToken"],
            )
        except (AuthenticationError, MfaError, NeedsLoginError) as exc:
            log.info(
                "could not refresh the SSO token (%s); a new sign-in is needed", type(exc).__name__
            )
            return None
        log.info("refreshed the IAM Identity Center token for %s", self.start_url)
        return self._store(answer, token)

    def _store(
        self, answer: dict[str, Any], registration: dict[str, Any], *, fresh: bool = False
    ) -> dict:
        token: dict[str, Any] = {
            "startUrl": self.start_url,
            "region": self.region,
            "accessToken": answer["accessToken"],
            "expiresAt": _format_time(self._now() + dt.timedelta(seconds=int(answer["expiresIn"]))),
            "clientId": registration["clientId"],
            "clientSecret": registration["clientSecret"],
            "registrationExpiresAt": registration["registrationExpiresAt"],
        }
        refresh = answer.get("refreshToken") or (
            None if fresh else registration.get("refreshToken")
        )
        if refresh:
            token["refreshToken"] = refresh
        self.cache.save(token)
        self._token = dict(token, _fresh=True)
        return token

    # -- the device login --------------------------------------------------------------------------

    def _registration(self, cached: dict[str, Any] | None) -> dict[str, Any]:
        """The client registration from the cache when it lasts, else a new one."""
        lasting = self._seconds_left(cached, "registrationExpiresAt") > REGISTRATION_MARGIN
        if cached and cached.get("clientId") and cached.get("clientSecret") and lasting:
            return {k: cached[k] for k in ("clientId", "clientSecret", "registrationExpiresAt")}
        answer = self._call(
            "sso-oidc",
            "register_client",
            what="client registration",
            clientName=CLIENT_NAME,
            clientType="public",
            scopes=[ACCOUNT_ACCESS_SCOPE],
        )
        expires = dt.datetime.fromtimestamp(int(answer["clientSecretExpiresAt"]), dt.timezone.utc)
        log.debug("registered a new client with IAM Identity Center")
        return {
            "clientId": answer["clientId"],
            "clientSecret": answer["clientSecret"],
            "registrationExpiresAt": _format_time(expires),
        }

    def _device_login(self, cached: dict[str, Any] | None) -> dict[str, Any]:
        if not self.terminal.interactive:
            raise NeedsLoginError(
                f"signing in to IAM Identity Center at {self.start_url} needs a terminal; run the "
                "command in one, or `aws sso login`"
            )
        registration = self._registration(cached)
        try:
            device = self._start_device(registration)
        except AuthenticationError:
            log.info("the cached client registration was refused; registering anew")
            registration = self._registration(None)
            device = self._start_device(registration)
        answer = self._wait_for_approval(registration, device)
        self.terminal.message(f"signed in to {self.start_url}")
        return self._store(answer, registration, fresh=True)

    def _start_device(self, registration: dict[str, Any]) -> dict[str, Any]:
        device = self._call(
            "sso-oidc",
            "start_device_authorization",
            what="device sign-in",
            clientId=registration["clientId"],
            clientSecret=registration["clientSecret"],
            startUrl=self.start_url,
        )
        url = device.get("verificationUriComplete") or device["verificationUri"]
        self.terminal.message(
            f"to sign in to IAM Identity Center, open {device['verificationUri']} "
            f"and confirm the code {device['userCode']}"
        )
        if self._browser(url):
            self.terminal.message("opened the sign-in page in your browser")
        return device

    def _wait_for_approval(
        self, registration: dict[str, Any], device: dict[str, Any]
    ) -> dict[str, Any]:
        interval = float(device.get("interval") or DEFAULT_POLL_INTERVAL)
        start = self._clock()
        deadline = start + float(device.get("expiresIn") or 600)
        try:
            while True:
                waited = self._clock() - start
                self.terminal.status(
                    f"waiting for approval of code {device['userCode']} in the browser... "
                    f"{int(waited)}s (Ctrl-C to stop)"
                )
                self._sleep(interval)
                try:
                    return self._call(
                        "sso-oidc",
                        "create_token",
                        what="device sign-in",
                        polling=True,
                        clientId=registration["clientId"],
                        clientSecret=registration["clientSecret"],
                        grantType=DEVICE_GRANT,
                        deviceCode=device["deviceCode"],
                    )
                except _Pending:
                    pass
                except _SlowDown:
                    interval += SLOW_DOWN_STEP
                    log.debug("told to slow down; polling every %.0fs now", interval)
                if self._clock() >= deadline:
                    raise MfaError(
                        f"the sign-in code {device['userCode']} expired before it was approved; "
                        "run the command again"
                    )
        except KeyboardInterrupt:
            raise Interrupted("stopped waiting for the IAM Identity Center sign-in") from None

    # -- calls -------------------------------------------------------------------------------------

    def _list_accounts(self, token: str) -> dict[str, str]:
        pages = self._pages("list_accounts", "accountList", what="account list", accessToken=token)
        return {a["accountId"]: a.get("accountName") or a["accountId"] for a in pages}

    def _list_account_roles(self, token: str, account_id: str) -> list[str]:
        pages = self._pages(
            "list_account_roles",
            "roleList",
            what=f"role list of account {account_id}",
            accessToken=token,
            accountId=account_id,
        )
        return [r["roleName"] for r in pages]

    def _pages(self, operation: str, key: str, *, what: str, **params: Any) -> list[dict[str, Any]]:
        """Every item of a paged portal listing, following nextToken to the end."""
        items: list[dict[str, Any]] = []
        next_token = None
        while True:
            extra = {"nextToken": next_token} if next_token else {}
            answer = self._call("sso", operation, what=what, **params, **extra)
            items.extend(answer.get(key) or [])
            next_token = answer.get("nextToken")
            if not next_token:
                return items

    def _client(self, service: str) -> Any:
        with self._lock:
            return self._make_client(service)

    def _make_client(self, service: str) -> Any:
        if service not in self._clients:
            _quiet_botocore()
            import botocore.session
            from botocore import UNSIGNED
            from botocore.config import Config

            session = botocore.session.Session()
            session.set_config_variable(
                "profile", None
            )  # an AWS_PROFILE set in the shell is not ours
            config = Config(
                region_name=self.region,
                signature_version=UNSIGNED,
                retries={"mode": "standard", "total_max_attempts": self._max_attempts},
                user_agent_extra=CLIENT_NAME,
            )
            kwargs: dict[str, Any] = {"config": config}
            if self.idp.get("ca_bundle"):
                kwargs["verify"] = str(self.idp.get("ca_bundle"))
            url = self.idp.get("oidc_url" if service == "sso-oidc" else "portal_url")
            if url:
                kwargs["endpoint_url"] = str(url)
            self._clients[service] = session.create_client(service, **kwargs)
        return self._clients[service]

    def _call(
        self, service: str, operation: str, *, what: str, polling: bool = False, **params: Any
    ) -> Any:
        """One API call; every failure comes back as the ShellenvError that says what to do."""
        import botocore.exceptions as bx

        where = f"IAM Identity Center ({self.idp.name})"
        try:
            answer = getattr(self._client(service), operation)(**params)
        except bx.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            raise self._translate(code, what, polling=polling) from None
        except bx.SSLError:
            raise TlsError(
                f"could not verify the TLS certificate of {where}; "
                "if it uses a private CA, set ca_bundle in the idp's config"
            ) from None
        except (bx.ConnectTimeoutError, bx.ReadTimeoutError):
            raise NetworkError(f"{where} did not answer in time; check your network") from None
        except (bx.EndpointConnectionError, bx.ConnectionClosedError, bx.HTTPClientError):
            raise NetworkError(
                f"could not reach {where}; check your network and sso_region"
            ) from None
        except bx.NoRegionError:
            raise ConfigError(f"idp {self.idp.name} needs sso_region") from None
        except (bx.ParamValidationError, bx.ProfileNotFound) as exc:
            raise ConfigError(
                f"idp {self.idp.name}: {type(exc).__name__}; check its config"
            ) from None
        answer.pop("ResponseMetadata", None)
        return answer

    def _translate(self, code: str, what: str, *, polling: bool) -> ShellenvError:
        where = f"IAM Identity Center ({self.idp.name})"
        if polling and code == "AuthorizationPendingException":
            return _Pending(code)
        if polling and code == "SlowDownException":
            return _SlowDown(code)
        log.debug("%s answered %s to the %s", where, code, what)
        if code in ("TooManyRequestsException", "SlowDownException"):
            return RateLimitedError(f"{where} says too many requests; wait a minute and try again")
        if code == "UnauthorizedException":
            return NeedsLoginError(
                f"the {where} session has ended; run the command again to sign in"
            )
        if code in ("ForbiddenException", "ResourceNotFoundException"):
            return NotFoundError(
                f"{what} is not assigned to you in {where}; pick one of the roles it lists"
            )
        if code == "AccessDeniedException":
            return MfaError("the sign-in was denied in the browser; run the command again to retry")
        if code == "ExpiredTokenException":
            return MfaError(
                "the sign-in code expired before it was approved; run the command again"
            )
        if code in (
            "InvalidGrantException",
            "InvalidClientException",
            "UnauthorizedClientException",
        ):
            return AuthenticationError(f"{where} refused the {what} ({code}); sign in again")
        if code in (
            "InvalidRequestException",
            "InvalidScopeException",
            "InvalidRequestRegionException",
        ):
            return ConfigError(
                f"{where} refused the {what} ({code}); check start_url and sso_region of idp "
                f"{self.idp.name}"
            )
        return ServiceError(
            f"{where} failed the {what} ({code or 'no error code'}); try again later"
        )

    def _now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self._clock(), dt.timezone.utc)


class _Pending(ShellenvError):
    """The user has not approved the device yet: poll again. Never reaches the user."""


class _SlowDown(ShellenvError):
    """Polled too fast: wait longer between polls. Never reaches the user."""


def _format_time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime(TIME_FORMAT)


def _quiet_botocore() -> None:
    """botocore logs request bodies at debug level, and these carry the client secret and tokens:
    whatever level -vv sets, its loggers stay at info or above."""
    for name in ("botocore", "boto3"):
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.INFO:
            logger.setLevel(logging.INFO)
