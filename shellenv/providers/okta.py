"""Logging in to Okta (classic authn with MFA, or Identity Engine's device grant) for an AWS app's SAML form.

It owns the Okta conversation, the remembered device token and the choice of AWS app, and turns every
state and refusal into a shellenv error with one line to act on. It never retries a refused password
and never logs or shows a password, code, token or assertion.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import time
import urllib.parse
from collections.abc import Callable
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any

from shellenv import http, paths
from shellenv.errors import (
    AccountLockedError,
    AuthenticationError,
    ConfigError,
    IdpDeniedError,
    Interrupted,
    MfaError,
    NotFoundError,
    ServiceError,
)
from shellenv.providers.base import SamlResponse, Secrets, wait_for_push

if TYPE_CHECKING:
    import requests

    from shellenv.config import IdpConfig
    from shellenv.terminal import Terminal

log = logging.getLogger(__name__)

MAX_STEPS = 12  # transaction states one login may pass through before we call it a loop
CODE_ATTEMPTS = 3  # a typed code may be retyped; Okta locks the account after a few more
MIN_DEVICE_POLL = 0.2  # seconds: never poll the token endpoint faster, whatever the server says
DEVICE_SCOPE = "openid okta.apps.sso"
GRANT_DEVICE = "urn:ietf:params:oauth:grant-type:device_code"
GRANT_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
WEB_SSO_TOKEN = "urn:okta:oauth:token-type:web_sso_token"

TOTP, PUSH, SMS, CALL, EMAIL = "token:software:totp", "push", "sms", "call", "email"
HARDWARE, TOKEN = "token:hardware", "token"
CODE_FACTORS = (TOTP, HARDWARE, TOKEN)
SENT_FACTORS = (SMS, CALL, EMAIL)
SUPPORTED = (PUSH, TOTP, HARDWARE, TOKEN, SMS, CALL, EMAIL)

# The words `mfa = ...` may use for a factor: (factorType, provider or None for any).
ALIASES: dict[str, tuple[str, str | None]] = {
    "push": (PUSH, None),
    "okta-verify": (PUSH, None),
    "totp": (TOTP, None),
    "code": (TOTP, None),
    "okta-totp": (TOTP, "OKTA"),
    "google": (TOTP, "GOOGLE"),
    "google-totp": (TOTP, "GOOGLE"),
    "sms": (SMS, None),
    "call": (CALL, None),
    "voice": (CALL, None),
    "email": (EMAIL, None),
    "yubikey": (HARDWARE, None),
    "hardware": (HARDWARE, None),
    "token": (TOKEN, None),
}

# States after the password that a terminal cannot finish, and what the person should do instead.
DEAD_ENDS: dict[str, tuple[type, str]] = {
    "LOCKED_OUT": (AccountLockedError, "the Okta account {user} is locked; unlock it from {org} "
                                       "(\"Unlock account?\") or ask your Okta administrator"),
    "PASSWORD_EXPIRED": (AccountLockedError, "the Okta password of {user} has expired; change it "
                                             "at {org} in a browser, then run this again"),
    "PASSWORD_RESET": (AccountLockedError, "Okta requires {user} to reset the password; do it at "
                                           "{org} in a browser, then run this again"),
    "RECOVERY": (AccountLockedError, "the Okta account {user} is in password recovery; finish it "
                                     "at {org} in a browser, then run this again"),
    "RECOVERY_CHALLENGE": (AccountLockedError, "the Okta account {user} is in password recovery; "
                                               "finish it at {org} in a browser"),
    "MFA_ENROLL": (IdpDeniedError, "Okta requires {user} to set up a second factor first; sign "
                                   "in at {org} in a browser, enrol one, then run this again"),
    "MFA_ENROLL_ACTIVATE": (IdpDeniedError, "a factor of {user} is half set up; finish it at "
                                            "{org} in a browser, then run this again"),
    "UNAUTHENTICATED": (MfaError, "Okta ended the login transaction; run this again"),
}


class Okta:
    """An Okta org and one of its AWS apps, as one `[idp.NAME]` entry of type "okta" describes them."""

    def __init__(
        self,
        idp: IdpConfig,
        terminal: Terminal,
        secrets: Secrets,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        open_browser: Callable[[str], Any] | None = None,
    ) -> None:
        self.idp = idp
        self.terminal = terminal
        self.secrets = secrets
        self.org_url = _org_url(str(idp.get("org_url") or ""), idp.name)
        self.what = f"Okta at {self.org_url}"
        self.remember = bool(idp.get("remember_device", True))
        self._sleep = sleep
        self._clock = clock
        self._open_browser = open_browser if open_browser is not None else _default_browser
        self._http: requests.Session | None = None
        self._username = ""
        self._app_label = "the AWS app"

    # -- the whole login -----------------------------------------------------------------------------

    def fetch_assertion(self) -> SamlResponse:
        self._http = http.session(ca_bundle=self.idp.get("ca_bundle"))
        pipeline = self._pipeline()
        if pipeline == "idx" and self.idp.get("client_id"):
            return self._device_login()
        self._load_device_token()
        session_token = self._authenticate()
        self._save_device_token()
        app_url = self._configured_app_url()
        if app_url is None:
            self._start_session(session_token)
            app_url = self._choose_app()
            page = self._request("GET", app_url)
        else:
            page = self._request("GET", app_url, params={"sessionToken": session_token})
        return self._saml_from(page, idx=pipeline == "idx")

    def _pipeline(self) -> str:
        """"v1" for a Classic org, "idx" for Identity Engine; Classic when the org does not say."""
        response = self._request("GET", "/.well-known/okta-organization",
                                 headers={"Accept": "application/json"})
        if response.status_code != 200:
            log.debug("no org metadata (HTTP %d); assuming Okta Classic", response.status_code)
            return "v1"
        try:
            pipeline = str(response.json().get("pipeline", "v1"))
        except (ValueError, AttributeError):
            return "v1"
        log.debug("the org's authentication pipeline is %s", pipeline)
        return pipeline

    # -- classic authentication ----------------------------------------------------------------------

    def _authenticate(self) -> str:
        """Password, then every state Okta leads to, until a session token."""
        self._username = self.secrets.username()
        tx = self._api("/api/v1/authn", {"username": self._username,
                                         "password": self.secrets.password(),
                                         "options": {"warnBeforePasswordExpired": True,
                                                     "multiOptionalFactorEnroll": False}},
                       primary=True)
        for _ in range(MAX_STEPS):
            status = str(tx.get("status", ""))
            log.debug("Okta transaction state: %s", status)
            if status == "SUCCESS":
                token = tx.get("sessionToken")
                if not token:
                    raise ServiceError(f"{self.what} said SUCCESS without a session token; "
                                       "try again")
                return str(token)
            if status == "MFA_REQUIRED":
                tx = self._second_factor(tx)
            elif status == "PASSWORD_WARN":
                tx = self._skip_password_warning(tx)
            else:
                self._dead_end(status)
        raise ServiceError(f"{self.what} kept the login going for {MAX_STEPS} steps; try again")

    def _dead_end(self, status: str) -> None:
        kind, text = DEAD_ENDS.get(status, (ServiceError, ""))
        if not text:
            text = ("{what} answered with the login state '" + status[:40] + "', which shellenv "
                    "does not handle; sign in at {org} in a browser to see what it asks for")
        raise kind(text.format(user=self._username, org=self.org_url, what=self.what))

    def _skip_password_warning(self, tx: dict[str, Any]) -> dict[str, Any]:
        days = (tx.get("_embedded", {}).get("policy", {}).get("expiration", {})
                .get("passwordExpireDays"))
        when = f"in {days} days" if days is not None else "soon"
        self.terminal.message(f"your Okta password expires {when}; change it at {self.org_url}")
        skip = _href(tx, "skip")
        if not skip:
            raise AccountLockedError(f"Okta wants the password of {self._username} changed now; "
                                     f"change it at {self.org_url}, then run this again")
        return self._api(skip, {"stateToken": tx["stateToken"]})

    def _api(self, url: str, body: dict[str, Any], *, primary: bool = False,
             params: dict[str, str] | None = None) -> dict[str, Any]:
        """POST to the authn API; errors become shellenv errors, the transaction is returned."""
        response = self._request("POST", url, json=body, params=params,
                                 headers={"Accept": "application/json"})
        data = http.json_body(response, what=self.what)
        if response.status_code < 400 and isinstance(data, dict):
            return data
        code = str(data.get("errorCode", "")) if isinstance(data, dict) else ""
        summary = str(data.get("errorSummary", "")) if isinstance(data, dict) else ""
        if code == "E0000004" or (primary and response.status_code == 401):
            self.secrets.reject_password()
            raise AuthenticationError(f"Okta rejected the username or password for "
                                      f"{self._username}; check them (the stored password was "
                                      "forgotten, so you will be asked again)")
        if code == "E0000068":
            raise _WrongCode()
        if code == "E0000069":
            raise AccountLockedError(f"Okta locked the account {self._username} after too many "
                                     f"failed attempts; unlock it at {self.org_url} or ask your "
                                     "Okta administrator")
        if code == "E0000011":
            raise MfaError("the Okta login transaction expired; run this again")
        raise IdpDeniedError(f"{self.what} refused the login: {summary[:160] or 'no reason given'}"
                             f" ({code or 'HTTP ' + str(response.status_code)})")

    # -- second factor -------------------------------------------------------------------------------

    def _second_factor(self, tx: dict[str, Any]) -> dict[str, Any]:
        factors = [f for f in tx.get("_embedded", {}).get("factors", [])
                   if f.get("factorType") in SUPPORTED]
        if not factors:
            kinds = ", ".join(sorted({str(f.get("factorType")) for f in
                                      tx.get("_embedded", {}).get("factors", [])})) or "none"
            raise MfaError(f"none of your Okta factors can be used in a terminal ({kinds}); enrol "
                           f"Okta Verify or an authenticator app at {self.org_url}")
        policy = tx.get("_embedded", {}).get("policy", {})
        remember = self.remember and policy.get("allowRememberDevice", True) is not False
        factor = self._pick_factor(factors)
        try:
            return self._verify(tx, factor, remember)
        except _PushAbandoned:
            codes = [f for f in factors if f.get("factorType") in CODE_FACTORS + SENT_FACTORS]
            if not codes:
                raise MfaError("the Okta Verify push was not approved and you have no code "
                               "factor to use instead; run this again") from None
            index = self.terminal.choose("Use a code instead:", [_label(f) for f in codes],
                                         why="a second factor")
            return self._verify(tx, codes[index], remember)

    def _pick_factor(self, factors: list[dict[str, Any]]) -> dict[str, Any]:
        wanted = str(self.idp.get("mfa") or "").strip()
        if wanted:
            matching = [f for f in factors if _matches(f, wanted)]
            if matching:
                factors = matching
            else:
                self.terminal.message(f"no enrolled Okta factor matches mfa = \"{wanted}\"; "
                                      "choose one of yours")
        elif self.secrets.stored("totp_secret"):
            totp = [f for f in factors if f.get("factorType") == TOTP]
            factors = totp or factors
        if len(factors) == 1:
            return factors[0]
        index = self.terminal.choose("Choose a second factor:", [_label(f) for f in factors],
                                     why="a choice of second factor")
        return factors[index]

    def _verify(self, tx: dict[str, Any], factor: dict[str, Any], remember: bool) -> dict[str, Any]:
        kind = factor.get("factorType")
        url = _href(factor, "verify")
        if not url:
            raise ServiceError(f"{self.what} listed a factor without a verify link; try again")
        params = {"rememberDevice": "true" if remember else "false"}
        label = _label(factor)
        log.debug("verifying with %s", label)
        if kind == PUSH:
            return self._push(tx, url, params, label)
        if kind in SENT_FACTORS:
            challenge = self._api(url, {"stateToken": tx["stateToken"]}, params=params)
            self.terminal.message(f"Okta sent a code: {_sent_to(factor)}")
            url = _href(challenge, "next") or url
        return self._enter_code(tx, factor, url, params, label)

    def _enter_code(self, tx: dict[str, Any], factor: dict[str, Any], url: str,
                    params: dict[str, str], label: str) -> dict[str, Any]:
        stored = self.secrets.totp_code() if factor.get("factorType") == TOTP else None
        source = label.removesuffix(" code")  # "Code from Okta Verify", not "... Okta Verify code"
        for attempt in range(1, CODE_ATTEMPTS + 1):
            code = stored or self.secrets.ask_code(source)
            try:
                return self._api(url, {"stateToken": tx["stateToken"], "passCode": code},
                                 params=params)
            except _WrongCode:
                if stored:
                    raise MfaError("Okta refused the code made from the stored totp_secret; "
                                   "check the seed and this computer's clock") from None
                if attempt == CODE_ATTEMPTS:
                    raise MfaError(f"Okta refused {CODE_ATTEMPTS} codes from {source}; run this "
                                   "again with a fresh code") from None
                self.terminal.message("Okta refused that code; try again")
        raise AssertionError("unreachable")

    def _push(self, tx: dict[str, Any], url: str, params: dict[str, str],
              label: str) -> dict[str, Any]:
        body = {"stateToken": tx["stateToken"]}
        state = {"tx": self._api(url, body, params=params), "number_shown": False}

        def poll() -> bool:
            if state["tx"].get("factorResult") == "WAITING":
                state["tx"] = self._api(_href(state["tx"], "next") or url, body, params=params)
            return self._push_settled(state)

        if self._push_settled(state) or wait_for_push(
            poll, self.terminal, label=label, sleep=self._sleep, clock=self._clock
        ):
            return state["tx"]
        log.debug("the push was left unanswered; offering a code factor")
        raise _PushAbandoned()

    def _push_settled(self, state: dict[str, Any]) -> bool:
        """True once approved; shows the number to tap; raises MfaError when rejected or expired."""
        tx = state["tx"]
        challenge = (tx.get("_embedded", {}).get("factor", {}).get("_embedded", {})
                     .get("challenge", {}))
        answer = challenge.get("correctAnswer")
        if answer is not None and not state["number_shown"]:
            state["number_shown"] = True
            self.terminal.message(f"on your phone, tap {answer} in Okta Verify")
        if tx.get("status") == "SUCCESS":
            return True
        result = tx.get("factorResult")
        if result == "REJECTED":
            raise MfaError("the Okta Verify push was rejected on your phone; if that was not you, "
                           "tell your security team, else run this again")
        if result == "TIMEOUT":
            raise MfaError("the Okta Verify push expired before it was approved; run this again")
        return False

    # -- the AWS app ---------------------------------------------------------------------------------

    def _configured_app_url(self) -> str | None:
        app_url = self.idp.get("app_url")
        if app_url:
            return self._absolute(str(app_url))
        app_id = self.idp.get("app_id")
        if app_id:
            return f"{self.org_url}/home/amazon_aws/{app_id}/272"
        return None

    def _start_session(self, session_token: str) -> None:
        """Trade the one-time session token for Okta's session cookie, as a browser would."""
        response = self._request("GET", "/login/sessionCookieRedirect",
                                 params={"token": session_token,
                                         "redirectUrl": f"{self.org_url}/app/UserHome"},
                                 allow_redirects=False)
        if "sid" not in response.cookies and response.status_code >= 400:
            raise IdpDeniedError(f"{self.what} did not start a session after the login "
                                 f"(HTTP {response.status_code}); try again")

    def _choose_app(self) -> str:
        response = self._request("GET", "/api/v1/users/me/appLinks",
                                 headers={"Accept": "application/json"})
        links = http.json_body(response, what=self.what)
        if response.status_code >= 400 or not isinstance(links, list):
            raise IdpDeniedError(f"{self.what} would not list your apps (HTTP "
                                 f"{response.status_code}); set app_url or app_id in "
                                 f"[idp.{self.idp.name}]")
        aws = [link for link in links
               if isinstance(link, dict) and link.get("appName") == "amazon_aws"
               and link.get("linkUrl")]
        if not aws:
            raise NotFoundError(f"no AWS app is assigned to {self._username} in Okta; ask your "
                                "Okta administrator, or set app_url in "
                                f"[idp.{self.idp.name}]")
        labels = [str(link.get("label") or link.get("appInstanceId")) for link in aws]
        index = self.terminal.choose("Choose an AWS app:", labels, why="a choice of AWS app")
        self._app_label = labels[index]
        log.debug("chose the AWS app %s", labels[index])
        return self._absolute(str(aws[index]["linkUrl"]))

    def _saml_from(self, response: requests.Response, *, idx: bool) -> SamlResponse:
        form = _Form.parse(response.text)
        assertion = form.inputs.get("SAMLResponse")
        if assertion:
            action = urllib.parse.urljoin(response.url, form.action) if form.action else None
            return SamlResponse(assertion=assertion, destination=action)
        if idx:
            raise IdpDeniedError(
                f"this Okta org runs Identity Engine and {self._app_label} wants a browser sign-in"
                "; ask your Okta admin for an OIDC native app with the Device Authorization and "
                "Token Exchange grants and Native to Web SSO allowed for the AWS app, then set "
                f"client_id in [idp.{self.idp.name}]")
        if form.state_token or "/login/step-up" in response.url:
            raise IdpDeniedError(f"{self._app_label} asks for extra verification (step-up) that "
                                 "Okta only offers in a browser; ask your Okta admin to let its "
                                 "sign-on policy accept your login, or use a factor it accepts")
        if "/login/login.htm" in response.url or form.has_password:
            raise IdpDeniedError(f"Okta showed its sign-in page instead of {self._app_label}; "
                                 "check app_url (the app's embed link) and try again")
        reason = form.error_text or form.title or f"HTTP {response.status_code}"
        raise IdpDeniedError(f"Okta did not open {self._app_label}: {reason[:160]}; check that "
                             "the app is assigned to you and app_url is its embed link")

    # -- Identity Engine -----------------------------------------------------------------------------

    def _device_login(self) -> SamlResponse:
        client_id = str(self.idp.get("client_id"))
        app_id = self._app_id()
        start = self._oauth("/oauth2/v1/device/authorize",
                            {"client_id": client_id, "scope": DEVICE_SCOPE})
        url = str(start.get("verification_uri_complete") or start.get("verification_uri"))
        self.terminal.message(f"to sign in to Okta, open {url} and confirm the code "
                              f"{start.get('user_code')}")
        if _display_available():
            self._open_browser(url)
        tokens = self._poll_device(client_id, start)
        exchanged = self._oauth("/oauth2/v1/token", {
            "client_id": client_id, "grant_type": GRANT_EXCHANGE,
            "actor_token": tokens["access_token"],
            "actor_token_type": "urn:ietf:params:oauth:token-type:access_token",
            "subject_token": tokens["id_token"],
            "subject_token_type": "urn:ietf:params:oauth:token-type:id_token",
            "requested_token_type": WEB_SSO_TOKEN, "audience": f"urn:okta:apps:{app_id}",
        })
        page = self._request("GET", "/login/token/sso",
                             params={"token": exchanged.get("access_token", "")})
        return self._saml_from(page, idx=False)

    def _app_id(self) -> str:
        app_id = self.idp.get("app_id")
        if app_id:
            return str(app_id)
        path = urllib.parse.urlparse(str(self.idp.get("app_url") or "")).path.strip("/").split("/")
        if len(path) >= 3 and path[0] in ("home", "app"):
            return path[2]
        raise ConfigError(f"[idp.{self.idp.name}] needs app_id (or app_url) for Okta Identity "
                          "Engine's device sign-in")

    def _poll_device(self, client_id: str, start: dict[str, Any]) -> dict[str, Any]:
        interval = max(float(start.get("interval", 5)), MIN_DEVICE_POLL)
        deadline = self._clock() + float(start.get("expires_in", 600))
        try:
            while self._clock() < deadline:
                self._sleep(interval)
                response = self._request("POST", "/oauth2/v1/token", data={
                    "client_id": client_id, "grant_type": GRANT_DEVICE,
                    "device_code": start.get("device_code", "")})
                data = http.json_body(response, what=self.what)
                if response.status_code == 200:
                    return dict(data)
                error = data.get("error") if isinstance(data, dict) else None
                if error == "authorization_pending":
                    self.terminal.status("waiting for the sign-in in your browser...")
                elif error == "slow_down":
                    interval += 5
                elif error == "access_denied":
                    raise MfaError("the Okta sign-in was denied in the browser; run this again")
                elif error == "expired_token":
                    break
                else:
                    self._oauth_failed(response.status_code, data)
        except KeyboardInterrupt:
            raise Interrupted() from None
        raise MfaError("the Okta device code expired before the sign-in was confirmed; run this "
                       "again")

    def _oauth(self, path: str, form: dict[str, str]) -> dict[str, Any]:
        response = self._request("POST", path, data=form, headers={"Accept": "application/json"})
        data = http.json_body(response, what=self.what)
        if response.status_code == 200 and isinstance(data, dict):
            return data
        self._oauth_failed(response.status_code, data)
        raise AssertionError("unreachable")

    def _oauth_failed(self, status: int, data: Any) -> None:
        error = str(data.get("error", "")) if isinstance(data, dict) else ""
        name = self.idp.name
        if error == "invalid_client":
            raise ConfigError(f"Okta does not know the client_id of [idp.{name}]; copy it from the "
                              "OIDC app in Okta's admin console")
        if error in ("unauthorized_client", "unsupported_grant_type"):
            raise IdpDeniedError("the Okta OIDC app does not allow the Device Authorization and "
                                 "Token Exchange grants; ask your Okta admin to enable both (and "
                                 "Native to Web SSO) for it")
        if error == "invalid_scope":
            raise IdpDeniedError("the Okta OIDC app may not ask for the okta.apps.sso scope; ask "
                                 "your Okta admin to grant it")
        if error == "invalid_target":
            raise IdpDeniedError(f"Okta will not sign you in to the AWS app {self._app_id()} from "
                                 "this OIDC app; check app_id and ask your Okta admin to allow "
                                 "Native to Web SSO for it")
        raise IdpDeniedError(f"{self.what} refused the device sign-in ({error or 'HTTP ' + str(status)}"
                             "); run this again")

    # -- HTTP and the remembered device --------------------------------------------------------------

    def _absolute(self, url: str) -> str:
        return urllib.parse.urljoin(self.org_url + "/", url)

    def _request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        assert self._http is not None
        return http.request(self._http, method, self._absolute(url), what=self.what, **kwargs)

    def _device_file(self) -> Any:
        host = urllib.parse.urlparse(self.org_url).netloc
        name = hashlib.sha256(host.encode()).hexdigest()[:16]
        return paths.state_dir("okta") / f"{name}.json"

    def _load_device_token(self) -> None:
        if not self.remember:
            return
        try:
            data = json.loads(self._device_file().read_text(encoding="utf-8"))
            token = str(data["device_token"])
        except (OSError, ValueError, KeyError, TypeError):
            return
        assert self._http is not None
        host = urllib.parse.urlparse(self.org_url).hostname or ""
        self._http.cookies.set("DT", token, domain=host, path="/")
        log.debug("sending the remembered Okta device token")

    def _save_device_token(self) -> None:
        assert self._http is not None
        token = self._http.cookies.get("DT")
        if not self.remember or not token:
            return
        from shellenv.cache import write_private

        data = {"org_url": self.org_url, "device_token": token}
        write_private(self._device_file(), json.dumps(data).encode())
        log.debug("remembered the Okta device token in %s", self._device_file())


class _WrongCode(Exception):
    """Okta refused a passcode (E0000068)."""


class _PushAbandoned(Exception):
    """The push was not answered in time here, or the user pressed Ctrl-C."""


class _Form(HTMLParser):
    """What a page Okta answers with holds: the first form, its inputs, and words about errors."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.action: str | None = None
        self.inputs: dict[str, str] = {}
        self.has_password = False
        self.state_token = False
        self.title = ""
        self.error_text = ""
        self._in: list[str] = []
        self._error_depth = 0

    @classmethod
    def parse(cls, text: str) -> _Form:
        form = cls()
        form.feed(text)
        form.state_token = "stateToken" in text
        return form

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form" and self.action is None:
            self.action = values.get("action", "")
        if tag == "input":
            if values.get("type") == "password":
                self.has_password = True
            if values.get("name"):
                self.inputs.setdefault(values["name"], values.get("value", ""))
        if "error-content" in values.get("class", "") or self._error_depth:
            self._error_depth += 1
        self._in.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._error_depth:
            self._error_depth -= 1
        if self._in and self._in[-1] == tag:
            self._in.pop()

    def handle_data(self, data: str) -> None:
        text = " ".join(data.split())
        if not text:
            return
        if self._in and self._in[-1] == "title":
            self.title = text
        elif self._error_depth:
            self.error_text = f"{self.error_text} {text}".strip()


def _org_url(value: str, name: str) -> str:
    parsed = urllib.parse.urlparse(value.strip())
    if parsed.scheme not in ("https", "http") or not parsed.netloc:
        raise ConfigError(f"org_url of [idp.{name}] must be your Okta org's address, such as "
                          "https://example.okta.com")
    return f"{parsed.scheme}://{parsed.netloc}"


def _href(obj: dict[str, Any], name: str) -> str | None:
    link = obj.get("_links", {}).get(name)
    if isinstance(link, list):
        link = link[0] if link else None
    return str(link["href"]) if isinstance(link, dict) and link.get("href") else None


def _matches(factor: dict[str, Any], wanted: str) -> bool:
    kind, provider = ALIASES.get(wanted.lower(), (wanted, None))
    if factor.get("factorType") != kind:
        return False
    return provider is None or str(factor.get("provider", "")).upper() == provider


def _label(factor: dict[str, Any]) -> str:
    kind, provider = factor.get("factorType"), str(factor.get("provider", "")).upper()
    profile = factor.get("profile") or {}
    if kind == PUSH:
        device = profile.get("name")
        return f"Okta Verify push to {device}" if device else "Okta Verify push"
    if kind == TOTP:
        return {"OKTA": "Okta Verify code", "GOOGLE": "Google Authenticator code"}.get(
            provider, f"{provider.title()} authenticator code")
    if kind == HARDWARE:
        return "YubiKey" if provider == "YUBICO" else "hardware token"
    if kind == SMS:
        return f"SMS to {profile.get('phoneNumber', 'your phone')}"
    if kind == CALL:
        return f"voice call to {profile.get('phoneNumber', 'your phone')}"
    if kind == EMAIL:
        return f"email to {profile.get('email', 'your address')}"
    return f"{provider.title()} token"


def _sent_to(factor: dict[str, Any]) -> str:
    return {SMS: "check your text messages", CALL: "answer the phone call",
            EMAIL: "check your email"}.get(str(factor.get("factorType")), "check your device")


def _display_available() -> bool:
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _default_browser(url: str) -> None:
    """The sign-in page in a browser, as for IAM Identity Center: SHELLENV_NO_BROWSER is honoured, and the
    launcher (and the browser it starts) write to stderr, never into the stdout the shell evals."""
    from shellenv.terminal import open_browser

    open_browser(url)
