"""Pytest fixtures for the IAM Identity Center emulator: an sso-oidc and a portal server a session.

tests/conftest.py loads it as a plugin; it needs `sts_server` from tests/sandbox_fixtures.py, whose
key store the portal's role credentials join. State is reset before each test; all on 127.0.0.1.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from shellenv.sandbox import sso as emulator
from shellenv.sandbox.serve import Server

START_URL = "https://sandbox.awsapps.com/start"
REGION = "us-east-1"
SESSION_NAME = "sandbox"


class SsoClock:
    """Real time plus an offset. Shared by the emulator and a client under test, a `sleep` that only
    moves the offset makes polling instant while both sides still agree on the time."""

    def __init__(self) -> None:
        self.offset = 0.0
        self.sleeps: list[float] = []
        self.on_sleep: Any = None  # called after each sleep, e.g. to approve the device
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return time.time() + self.offset

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.offset += seconds
            self.sleeps.append(seconds)
        if self.on_sleep is not None:
            self.on_sleep(len(self.sleeps))


class SsoSandbox:
    """The running emulator, spoken to over HTTP as another process (or a shell test) would."""

    def __init__(
        self, state: emulator.SsoState, oidc: Server, portal: Server, sts_url: str
    ) -> None:
        self.state = state
        self.oidc = oidc
        self.portal = portal
        self.sts_url = sts_url
        self.start_url = START_URL
        self.region = REGION

    @property
    def oidc_url(self) -> str:
        return self.oidc.url

    @property
    def portal_url(self) -> str:
        return self.portal.url

    def env(self) -> dict[str, str]:
        """Environment that points botocore (and so shellenv and the AWS CLI) at the emulators."""
        return {
            "AWS_ENDPOINT_URL_SSO_OIDC": self.oidc_url,
            "AWS_ENDPOINT_URL_SSO": self.portal_url,
            "AWS_ENDPOINT_URL_STS": self.sts_url,
        }

    def settings(self, **overrides: Any) -> dict[str, Any]:
        """An `[idp.NAME]` table of type sso pointing here; a None override drops a field."""
        table: dict[str, Any] = {
            "type": "sso",
            "start_url": self.start_url,
            "sso_region": self.region,
            "session_name": SESSION_NAME,
            "oidc_url": self.oidc_url,
            "portal_url": self.portal_url,
        }
        table.update(overrides)
        return {key: value for key, value in table.items() if value is not None}

    def idp_toml(self, name: str = "sso", **overrides: Any) -> str:
        """The same table as TOML text, ready to paste into a config file."""
        lines = [f"[idp.{name}]"]
        lines += [
            f"{key} = {json.dumps(value)}" for key, value in self.settings(**overrides).items()
        ]
        return "\n".join(lines) + "\n"

    def aws_config(self, profile: str, account_id: str, role_name: str) -> str:
        """An AWS CLI config with an sso-session and a profile on it, like `aws configure sso`."""
        return (
            f"[profile {profile}]\nsso_session = {SESSION_NAME}\nsso_account_id = {account_id}\n"
            f"sso_role_name = {role_name}\nregion = {self.region}\n\n"
            f"[sso-session {SESSION_NAME}]\nsso_start_url = {self.start_url}\n"
            f"sso_region = {self.region}\nsso_registration_scopes = sso:account:access\n"
        )

    # -- the test endpoints, over HTTP -------------------------------------------------------------

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.oidc_url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback only
            return json.loads(response.read() or b"null")

    def approve(self, user_code: str | None = None) -> str:
        """Play the user approving the sign-in; no code approves the newest pending one."""
        return self.call("POST", "/__sandbox/approve", {"user_code": user_code})["user_code"]

    def deny(self, user_code: str | None = None) -> str:
        return self.call("POST", "/__sandbox/deny", {"user_code": user_code})["user_code"]

    def auto_approve(self, enabled: bool = True) -> None:
        self.call("POST", "/__sandbox/auto-approve", {"enabled": enabled})

    def fail(self, operation: str, error: str, count: int = 1) -> None:
        self.call(
            "POST", "/__sandbox/fail", {"operation": operation, "error": error, "count": count}
        )

    def expire(self, what: str = "tokens") -> int:
        return self.call("POST", "/__sandbox/expire", {"what": what})["expired"]

    def stats(self) -> dict[str, int]:
        return self.call("GET", "/__sandbox/stats")["stats"]

    def pending(self) -> list[str]:
        return self.call("GET", "/__sandbox/stats")["pending"]

    def approve_when_asked(self, timeout: float = 15.0) -> threading.Thread:
        """Approve the next device sign-in as soon as it is pending, from a background thread: for
        tests that run shellenv as a separate process and cannot hook its sleep."""

        def watch() -> None:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.pending():
                    self.approve()
                    return
                time.sleep(0.05)

        thread = threading.Thread(target=watch, name="sso-approver", daemon=True)
        thread.start()
        return thread


@pytest.fixture(scope="session")
def sso_server(sts_server: Any) -> Iterator[SsoSandbox]:
    """The sso-oidc and portal emulators; the sandbox STS knows the role credentials they issue."""
    state = emulator.SsoState(mint=emulator.sts_minter(sts_server.app.keys))
    oidc, portal = Server(emulator.make_oidc_app(state)), Server(emulator.make_portal_app(state))
    with oidc, portal:
        yield SsoSandbox(state, oidc, portal, sts_server.url)


@pytest.fixture
def sso(sso_server: SsoSandbox) -> Iterator[SsoSandbox]:
    """The emulator with fresh state and real time for one test."""
    state = sso_server.state
    state.reset()
    state.clock, state.interval, state.page_size = (
        time.time,
        emulator.DEFAULT_INTERVAL,
        emulator.PAGE_SIZE,
    )
    yield sso_server
    state.clock = time.time


@pytest.fixture
def sso_clock(sso: SsoSandbox) -> SsoClock:
    """A clock the emulator shares with the test, for instant polling; see SsoClock."""
    clock = SsoClock()
    sso.state.clock = clock
    return clock


@pytest.fixture
def sso_idp_toml(sso: SsoSandbox) -> str:
    """A ready `[idp.sso]` table for a shellenv config pointing at the emulator."""
    return sso.idp_toml()
