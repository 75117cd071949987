"""Logging in to OneLogin through its API (token, SAML assertion, factor verification) for an AWS app.

It owns the OneLogin conversation and turns every refusal into a shellenv error with one line to act on.
It never retries a refused password, never follows a URL the server names, and never logs a secret.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

from shellenv import http
from shellenv.errors import (
    AccountLockedError,
    AuthenticationError,
    ConfigError,
    IdpDeniedError,
    MfaError,
    ServiceError,
)
from shellenv.providers.base import (
    PUSH_POLL_SECONDS,
    PUSH_TIMEOUT_SECONDS,
    SamlResponse,
    Secrets,
    wait_for_push,
)

if TYPE_CHECKING:
    import requests

    from shellenv.config import IdpConfig
    from shellenv.terminal import Terminal

log = logging.getLogger(__name__)

REGIONS = ("us", "eu")
API_VERSIONS = (1, 2)
CODE_ATTEMPTS = 2  # a typed code may be retyped once; more attempts would only risk a lockout

# How each kind of factor is named in OneLogin's device types, and the words `mfa` may use for it.
KINDS: dict[str, tuple[str, ...]] = {
    "totp": ("google authenticator", "authenticator", "totp", "authy", "otp"),
    "protect": ("onelogin protect", "protect", "push"),
    "yubikey": ("yubikey", "yubico"),
    "sms": ("sms", "text"),
    "email": ("email", "e-mail", "mail"),
    "voice": ("voice", "call"),
    "duo": ("duo",),
}
LABELS = {
    "totp": "your authenticator app",
    "protect": "OneLogin Protect",
    "yubikey": "your YubiKey",
    "sms": "the SMS OneLogin sent",
    "email": "the email OneLogin sent",
    "voice": "the call OneLogin placed",
}


@dataclass(frozen=True)
class Factor:
    """One device from OneLogin's MFA answer."""

    device_id: str
    device_type: str

    @property
    def kind(self) -> str:
        lowered = self.device_type.lower()
        for kind in ("protect", "yubikey", "sms", "email", "voice", "duo", "totp"):
            if any(word in lowered for word in KINDS[kind]):
                return kind
        return "otp"

    @property
    def label(self) -> str:
        return LABELS.get(self.kind, self.device_type)


@dataclass(frozen=True)
class Answer:
    """One OneLogin API answer, whatever the version: what it says, and the payload."""

    status: int
    message: str
    assertion: str | None = None
    mfa: dict[str, Any] | None = None
    pending: bool = False

    @property
    def failed(self) -> bool:
        return self.status >= 400


class OneLogin:
    """A SAML provider for a OneLogin AWS app, driven through OneLogin's API."""

    def __init__(
        self,
        idp: IdpConfig,
        terminal: Terminal,
        secrets: Secrets,
        *,
        push_timeout: float = PUSH_TIMEOUT_SECONDS,
        push_interval: float = PUSH_POLL_SECONDS,
        timeout: tuple[float, float] = http.TIMEOUT,
    ) -> None:
        self.idp = idp
        self.terminal = terminal
        self.secrets = secrets
        self.push_timeout = push_timeout
        self.push_interval = push_interval
        self.timeout = timeout
        self.base_url = _base_url(idp)
        self.version = _api_version(idp)
        self.app_id = str(idp.get("app_id"))
        self.what = f"OneLogin at {self.base_url}"
        self._http: requests.Session | None = None
        self._token = ""

    # -- the login ---------------------------------------------------------------------------------

    def fetch_assertion(self) -> SamlResponse:
        """Log in with the password, then the second factor if OneLogin asks; return the assertion."""
        self._http = http.session(ca_bundle=self.idp.get("ca_bundle"))
        self._token = self._access_token()
        username = self.secrets.username()
        body = {
            "username_or_email": username,
            "password": self.secrets.password(),
            "app_id": self.app_id,
            "subdomain": str(self.idp.get("subdomain")),
        }
        if self.idp.get("ip_address"):
            body["ip_address"] = str(self.idp.get("ip_address"))
        answer = self._post(f"/api/{self.version}/saml_assertion", body)
        if answer.failed:
            self._refuse_login(answer, username)
        if answer.assertion:
            log.info("OneLogin issued the assertion for %s without MFA", username)
            return SamlResponse(answer.assertion)
        if answer.mfa is None:
            raise ServiceError(f"{self.what} answered the login with neither an assertion nor MFA")
        return SamlResponse(self._second_factor(answer.mfa))

    def _access_token(self) -> str:
        client_id = str(self.idp.get("client_id"))
        client_secret = self.secrets.stored("client_secret") or self.terminal.ask(
            f"OneLogin API client secret for {self.idp.name}: ",
            secret=True,
            why="the OneLogin API client secret",
        )
        response = self._send(
            "/auth/oauth2/v2/token",
            {"grant_type": "client_credentials"},
            authorization=f"client_id:{client_id}, client_secret:{client_secret}",
        )
        if response.status_code in (400, 401, 403):
            raise ConfigError(
                f"{self.what} refused the API credentials of client_id {client_id}; "
                f"check client_id and client_secret of [idp.{self.idp.name}]"
            )
        data = http.json_body(response, what=self.what)
        if isinstance(data, dict) and "access_token" not in data and "data" in data:
            data = data["data"][0] if isinstance(data["data"], list) else data["data"]
        token = data.get("access_token") if isinstance(data, dict) else None
        if response.status_code != 200 or not token:
            raise ServiceError(f"{self.what} answered HTTP {response.status_code} with no access token")
        log.debug("got an OneLogin API access token")
        return str(token)

    # -- second factor -----------------------------------------------------------------------------

    def _second_factor(self, mfa: dict[str, Any]) -> str:
        state_token = str(mfa.get("state_token") or "")
        factors = [
            Factor(str(d.get("device_id")), str(d.get("device_type", "")))
            for d in mfa.get("devices") or []
            if d.get("device_id") is not None
        ]
        if not state_token or not factors:
            raise IdpDeniedError(
                f"{self.what} requires MFA but offers no factor; enroll one in OneLogin and try again"
            )
        factor, push = self._choose(factors)
        log.debug("using factor %s (%s)%s", factor.device_type, factor.device_id, ", push" if push else "")
        if factor.kind == "duo":
            raise IdpDeniedError(
                "OneLogin's API cannot verify Duo; set mfa to another of your factors in "
                f"[idp.{self.idp.name}]"
            )
        if push:
            assertion = self._push(factor, state_token)
            if assertion:
                return assertion
            return self._typed_code(factor, state_token, label="OneLogin Protect")
        if factor.kind == "totp":
            code = self._seeded_totp()
            if code:
                return self._seeded_code(factor, state_token, code)
        if factor.kind in ("sms", "email", "voice"):
            self._trigger(factor, state_token)
        return self._typed_code(factor, state_token, label=factor.label)

    def _choose(self, factors: list[Factor]) -> tuple[Factor, bool]:
        """The factor to use and whether to push to it: `mfa` from the config, else the only one,
        else the authenticator when a seed is stored, else the user's pick."""
        wanted = str(self.idp.get("mfa") or "").strip().lower()
        if wanted:
            matches = [f for f in factors if _wants(wanted, f)]
            if not matches:
                offered = ", ".join(f.device_type for f in factors)
                raise ConfigError(
                    f"mfa = '{wanted}' matches none of your OneLogin factors ({offered}); "
                    f"change mfa in [idp.{self.idp.name}]"
                )
            return matches[0], matches[0].kind == "protect" and "code" not in wanted
        if len(factors) == 1:
            return factors[0], factors[0].kind == "protect"
        if self.secrets.stored("totp_secret"):
            seeded = [f for f in factors if f.kind == "totp"]
            if seeded:
                return seeded[0], False
        options = [f.device_type + (" (push)" if f.kind == "protect" else "") for f in factors]
        index = self.terminal.choose(
            "OneLogin asks for a second factor:", options, why="a choice of MFA factor"
        )
        return factors[index], factors[index].kind == "protect"

    def _push(self, factor: Factor, state_token: str) -> str | None:
        """Send a Protect push and wait for it; the assertion, or None to fall back to a code."""
        result: dict[str, str] = {}
        first = self._verify(factor, state_token, do_not_notify=False)
        if first.failed:
            self._refuse_factor(first, factor, push=True)
        if first.assertion:
            return first.assertion
        self.terminal.message(f"sent a push to {factor.device_type}; approve it on your device")

        def poll() -> bool:
            answer = self._verify(factor, state_token, do_not_notify=True)
            if answer.failed:
                self._refuse_factor(answer, factor, push=True)
            if answer.assertion:
                result["assertion"] = answer.assertion
                return True
            return False

        approved = wait_for_push(
            poll,
            self.terminal,
            label="the OneLogin Protect push",
            timeout=self.push_timeout,
            interval=self.push_interval,
        )
        return result.get("assertion") if approved else None

    def _trigger(self, factor: Factor, state_token: str) -> None:
        answer = self._verify(factor, state_token)
        if answer.failed:
            self._refuse_factor(answer, factor)
        self.terminal.message(f"OneLogin sent a code ({factor.device_type})")

    def _seeded_totp(self) -> str | None:
        try:
            return self.secrets.totp_code()
        except ValueError:  # pyotp's complaint about a seed that is not base32, or too short
            raise ConfigError(
                f"totp_secret of [idp.{self.idp.name}] is not a valid base32 seed; "
                "copy the seed OneLogin showed when the authenticator was enrolled"
            ) from None

    def _seeded_code(self, factor: Factor, state_token: str, code: str) -> str:
        answer = self._verify(factor, state_token, otp_token=code)
        if answer.failed:
            if _is_state_error(answer):
                self._refuse_factor(answer, factor)
            raise MfaError(
                f"OneLogin rejected the code computed from totp_secret of [idp.{self.idp.name}]; "
                "check the seed and this computer's clock"
            )
        return self._assertion_of(answer)

    def _typed_code(self, factor: Factor, state_token: str, *, label: str) -> str:
        for attempt in range(1, CODE_ATTEMPTS + 1):
            code = self.secrets.ask_code(label)
            answer = self._verify(factor, state_token, otp_token=code)
            if not answer.failed:
                return self._assertion_of(answer)
            if _is_state_error(answer) or attempt == CODE_ATTEMPTS:
                self._refuse_factor(answer, factor)
            self.terminal.message("OneLogin rejected that code; type the current one")
        raise AssertionError("unreachable")  # the loop returns or raises

    def _verify(
        self, factor: Factor, state_token: str, *, otp_token: str | None = None, do_not_notify: bool = True
    ) -> Answer:
        body: dict[str, Any] = {
            "app_id": self.app_id,
            "device_id": factor.device_id,
            "state_token": state_token,
            "do_not_notify": do_not_notify,
        }
        if otp_token:
            body["otp_token"] = otp_token
        return self._post(f"/api/{self.version}/saml_assertion/verify_factor", body)

    def _assertion_of(self, answer: Answer) -> str:
        if not answer.assertion:
            raise ServiceError(f"{self.what} accepted the factor but sent no assertion")
        log.info("OneLogin issued the assertion after MFA")
        return answer.assertion

    # -- refusals ----------------------------------------------------------------------------------

    def _refuse_login(self, answer: Answer, username: str) -> NoReturn:
        text = answer.message.lower()
        if answer.status == 404 or ("app" in text and "not found" in text):
            raise ConfigError(
                f"OneLogin has no app with app_id {self.app_id}; check app_id in [idp.{self.idp.name}]"
            )
        if "subdomain" in text:
            raise ConfigError(
                f"OneLogin does not know the subdomain '{self.idp.get('subdomain')}'; "
                f"check subdomain in [idp.{self.idp.name}]"
            )
        if "locked" in text or "suspended" in text or "disabled" in text or "expired" in text:
            raise AccountLockedError(
                f"OneLogin says the account {username} is locked or disabled ({answer.message}); "
                "ask your OneLogin administrator"
            )
        if "ip address" in text or " ip " in f" {text} ":
            raise IdpDeniedError(
                f"OneLogin does not allow {username} to log in from this network ({answer.message}); "
                "connect from an allowed network or set ip_address"
            )
        if "assigned" in text or answer.status == 403:
            raise IdpDeniedError(
                f"OneLogin refuses {username} for app {self.app_id} ({answer.message}); "
                "ask your OneLogin administrator for access"
            )
        if text.strip() == "authentication failure":
            raise ConfigError(
                f"{self.what} refused the API access token; the API credential of "
                f"[idp.{self.idp.name}] needs the Authentication Only scope or wider"
            )
        if answer.status in (400, 401):
            self.secrets.reject_password()
            raise AuthenticationError(
                f"OneLogin rejected the username or password of {username}; "
                "check them and run the command again"
            )
        raise IdpDeniedError(f"OneLogin refused the login (HTTP {answer.status}: {answer.message})")

    def _refuse_factor(self, answer: Answer, factor: Factor, *, push: bool = False) -> NoReturn:
        if _is_state_error(answer):
            raise MfaError(
                "the OneLogin login expired before MFA was done; run the command again to start over"
            )
        if push:
            raise MfaError(
                f"the push to {factor.device_type} was denied; run the command again "
                "and approve it, or set mfa to another factor"
            )
        raise MfaError(
            f"OneLogin rejected the code for {factor.device_type}; run the command again with a current code"
        )

    # -- HTTP --------------------------------------------------------------------------------------

    def _post(self, path: str, body: dict[str, Any]) -> Answer:
        response = self._send(path, body, authorization=f"bearer:{self._token}")
        data = http.json_body(response, what=self.what)
        return _answer(response.status_code, data)

    def _send(self, path: str, body: dict[str, Any], *, authorization: str) -> requests.Response:
        assert self._http is not None
        return http.request(
            self._http,
            "POST",
            self.base_url + path,
            what=self.what,
            json=body,
            headers={"Authorization": authorization},
            timeout=self.timeout,
        )


def _base_url(idp: IdpConfig) -> str:
    base = str(idp.get("base_url") or "").strip().rstrip("/")
    if base:
        if not base.startswith(("https://", "http://")):
            raise ConfigError(f"base_url of [idp.{idp.name}] must start with https://")
        return base
    region = str(idp.get("region") or "us").strip().lower()
    if region not in REGIONS:
        raise ConfigError(f"region of [idp.{idp.name}] must be us or eu, not '{region}'")
    return f"https://api.{region}.onelogin.com"


def _api_version(idp: IdpConfig) -> int:
    version = idp.get("api_version", 2)
    if version not in API_VERSIONS:
        raise ConfigError(f"api_version of [idp.{idp.name}] must be 1 or 2, not {version!r}")
    return int(version)


def _wants(wanted: str, factor: Factor) -> bool:
    """True when the config's `mfa` word names this factor."""
    words = wanted.replace("-", " ").replace("_", " ").split()
    if wanted in factor.device_type.lower():
        return True
    return any(word in KINDS.get(factor.kind, ()) or word == factor.kind for word in words)


def _is_state_error(answer: Answer) -> bool:
    return "state token" in answer.message.lower()


def _answer(status: int, data: Any) -> Answer:
    """Read a v1 (wrapped) or v2 (flat) answer."""
    if not isinstance(data, dict):
        return Answer(status, str(data))
    wrapped = data.get("status")
    if isinstance(wrapped, dict):
        message = wrapped.get("message", "")
        if isinstance(message, dict):
            message = message.get("description", "")
        message = str(message or wrapped.get("type", ""))
        pending = str(wrapped.get("type", "")).lower() == "pending"
        if wrapped.get("error") and status < 400:
            status = int(wrapped.get("code") or 400)
    else:
        message = str(data.get("message") or data.get("name") or "")
        pending = "pending" in message.lower()
    payload = data.get("data")
    if status >= 400:
        return Answer(status, message)
    if isinstance(payload, str) and payload:
        return Answer(status, message, assertion=payload)
    if isinstance(payload, list) and payload and isinstance(payload[0], dict):
        return Answer(status, message, mfa=payload[0])
    if "state_token" in data:
        return Answer(status, message, mfa=data)
    return Answer(status, message, pending=pending)
