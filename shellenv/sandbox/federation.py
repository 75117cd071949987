"""A local AWS console sign-in endpoint: sign-in tokens for keys the sandbox STS issued, and the login.

It owns the two federation actions (getSigninToken, login) and the tokens between them. It never
logs a key or a token, and trusts only keys found in the STS emulator's key store.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from shellenv.sandbox.sts import IssuedKey, KeyStore, StsApp

log = logging.getLogger(__name__)

TOKEN_LIFETIME = 900  # seconds a sign-in token may wait before it is used
MIN_SESSION = 900
MAX_SESSION = 43200
DEFAULT_SESSION = 3600  # the console session when SessionDuration is not given (our choice)


@dataclass
class SigninToken:
    key: IssuedKey
    session_duration: int
    issued: float


@dataclass
class Login:
    """A console login the endpoint let through, for tests to look at."""

    assumed_role_arn: str
    destination: str
    issuer: str
    session_ends: float


class FederationApp:
    """The WSGI app, under /federation as AWS serves it. `logins` lists the logins it allowed."""

    __name__ = "federation"

    def __init__(
        self,
        keys: KeyStore,
        *,
        clock: Callable[[], float] = time.time,
        token_lifetime: int = TOKEN_LIFETIME,
    ) -> None:
        self.keys = keys
        self.clock = clock
        self.token_lifetime = token_lifetime
        self.calls: Counter[str] = Counter()
        self.logins: list[Login] = []
        self._tokens: dict[str, SigninToken] = {}
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        from werkzeug.wrappers import Request

        request = Request(environ)
        if request.path == "/__sandbox/stats":
            return _answer(start_response, 200, dict(self.calls))
        if request.path.rstrip("/") != "/federation":
            return _answer(start_response, 404, {"message": f"no page at {request.path}"})
        params = dict(parse_qsl(request.query_string.decode("latin-1"), keep_blank_values=True))
        if request.method == "POST":
            body = request.get_data(cache=True).decode("utf-8", "replace")
            params.update(parse_qsl(body, keep_blank_values=True))
        action = params.get("Action", "")
        with self._lock:
            self.calls[action] += 1
        try:
            if action == "getSigninToken":
                return _answer(start_response, 200, {"SigninToken": self.signin_token(params)})
            if action == "login":
                location = self.login(params)
                start_response("302 Found", [("Location", location), ("Content-Length", "0")])
                return [b""]
        except _Refused as refused:
            log.info("federation refused %s: %s", action, refused)
            return _answer(start_response, 400, {"message": str(refused)})
        return _answer(start_response, 400, {"message": f"unknown Action {action!r}"})

    def signin_token(self, params: dict[str, str]) -> str:
        """A sign-in token for the keys in the Session parameter, if the STS emulator issued them."""
        try:
            session = json.loads(params.get("Session", ""))
        except ValueError:
            raise _Refused("Session must be JSON with sessionId, sessionKey, sessionToken") from None
        if not isinstance(session, dict):
            raise _Refused("Session must be a JSON object")
        key = self.keys.get(str(session.get("sessionId", "")))
        if (
            key is None
            or not secrets.compare_digest(str(session.get("sessionKey", "")), key.secret_access_key)
            or not secrets.compare_digest(str(session.get("sessionToken", "")), key.session_token)
        ):
            raise _Refused("the session's credentials are not valid")
        now = self.clock()
        if now >= key.expiration:
            raise _Refused("the session's credentials have expired")
        duration = _session_duration(params.get("SessionDuration"))
        token = secrets.token_urlsafe(96)
        with self._lock:
            self._tokens[token] = SigninToken(key=key, session_duration=duration, issued=now)
        log.debug("sign-in token issued for %s", key.assumed_role_arn)
        return token

    def login(self, params: dict[str, str]) -> str:
        """Where the browser goes next: the Destination, when the sign-in token is good."""
        destination = params.get("Destination", "")
        if urlsplit(destination).scheme not in ("https", "http") or not urlsplit(destination).netloc:
            raise _Refused("Destination must be an absolute http(s) URL")
        with self._lock:
            token = self._tokens.get(params.get("SigninToken", ""))
        now = self.clock()
        if token is None:
            raise _Refused("the SigninToken is not valid")
        if now >= token.issued + self.token_lifetime:
            raise _Refused("the SigninToken has expired; ask for a new one")
        login = Login(
            assumed_role_arn=token.key.assumed_role_arn,
            destination=destination,
            issuer=params.get("Issuer", ""),
            session_ends=now + token.session_duration,
        )
        with self._lock:
            self.logins.append(login)
        return destination


class _Refused(Exception):
    """A request the endpoint turns down with 400."""


def _session_duration(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_SESSION
    try:
        seconds = int(raw)
    except ValueError:
        raise _Refused("SessionDuration must be a number of seconds") from None
    if not MIN_SESSION <= seconds <= MAX_SESSION:
        raise _Refused(f"SessionDuration must be between {MIN_SESSION} and {MAX_SESSION} seconds")
    return seconds


def _answer(start_response: Callable[..., Any], status: int, body: dict[str, Any]) -> list[bytes]:
    reasons = {200: "OK", 400: "Bad Request", 404: "Not Found"}
    data = json.dumps(body).encode()
    start_response(
        f"{status} {reasons[status]}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(data)))],
    )
    return [data]


def make_app(keys: KeyStore | StsApp, *, clock: Callable[[], float] | None = None) -> FederationApp:
    """The console federation endpoint, trusting the keys of an STS emulator (its app or key store).

    Given the STS app, it shares the app's clock too unless `clock` is given.
    """
    if isinstance(keys, StsApp):
        return FederationApp(keys.keys, clock=clock or keys.clock)
    return FederationApp(keys, clock=clock or time.time)
