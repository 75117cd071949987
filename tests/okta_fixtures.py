"""Pytest fixtures for the Okta emulator: one server per test session, reset before each test.

tests/conftest.py loads it as a plugin; it needs `sandbox_signer` from tests/sandbox_fixtures.py.
It never reaches beyond 127.0.0.1.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from shellenv.sandbox import okta as emulator
from shellenv.sandbox.serve import Server


class OktaSandbox:
    """A running Okta emulator and its test endpoints, spoken to over HTTP like any client would."""

    def __init__(self, server: Server, app: emulator.OktaEmulator) -> None:
        self.server = server
        self.app = app

    @property
    def url(self) -> str:
        return self.server.url

    def app_url(self, app_id: str = emulator.DEV_APP_ID) -> str:
        return f"{self.url}/home/amazon_aws/{app_id}/272"

    def settings(self, **overrides: Any) -> dict[str, Any]:
        """An `[idp.NAME]` table of type okta pointing here, for the dev app, as alice with push.

        An override of None drops the key (e.g. app_url=None to pick among the app links).
        """
        table: dict[str, Any] = {
            "type": "okta",
            "org_url": self.url,
            "app_url": self.app_url(),
            "username": emulator.ALICE,
            "password": emulator.PASSWORDS[emulator.ALICE],
            "mfa": "google",
            "totp_secret": emulator.GOOGLE_SEED,
        }
        table.update(overrides)
        return {key: value for key, value in table.items() if value is not None}

    def toml(self, name: str = "okta", **overrides: Any) -> str:
        """The same table as TOML text, ready for a config file: `[idp.<name>]` and its keys."""
        lines = [f"[idp.{name}]"]
        for key, value in self.settings(**overrides).items():
            lines.append(f"{key} = {json.dumps(value)}")
        return "\n".join(lines) + "\n"

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback only
            return json.loads(response.read() or b"null")

    def stats(self) -> dict[str, int]:
        return self.call("GET", "/__sandbox/stats")

    def outbox(self, to: str | None = None) -> list[dict[str, Any]]:
        return self.call("GET", "/__sandbox/outbox" + (f"?to={to}" if to else ""))

    def push(self, action: str = "approve", **extra: Any) -> Any:
        return self.call("POST", "/__sandbox/push", {"action": action, **extra})

    def configure(self, **settings: Any) -> Any:
        return self.call("POST", "/__sandbox/settings", settings)

    def app_mode(self, app_id: str, mode: str) -> Any:
        return self.call("POST", f"/__sandbox/apps/{app_id}", {"mode": mode})

    def user_status(self, login: str, status: str | None) -> Any:
        return self.call("POST", f"/__sandbox/users/{login}", {"status": status})

    def device(self, action: str = "approve", **extra: Any) -> Any:
        return self.call("POST", "/__sandbox/device", {"action": action, **extra})

    def fail(self, path: str = "*", status: int = 500, times: int = 1) -> Any:
        return self.call("POST", "/__sandbox/fail", {"path": path, "status": status, "times": times})

    def advance(self, seconds: float) -> Any:
        return self.call("POST", "/__sandbox/clock", {"advance": seconds})

    def reset(self) -> Any:
        return self.call("POST", "/__sandbox/reset", {})


@pytest.fixture(scope="session")
def okta_server(sandbox_signer: Any) -> Iterator[OktaSandbox]:
    """The emulator, started once for the session on a free port."""
    app = emulator.make_app(sandbox_signer)
    server = Server(app).start()
    try:
        yield OktaSandbox(server, app)
    finally:
        server.stop()


@pytest.fixture
def okta_sandbox(okta_server: OktaSandbox) -> OktaSandbox:
    """The session's emulator with users, sessions, pushes, settings, rules and clock reset."""
    okta_server.app.reset()
    return okta_server


@pytest.fixture
def okta_idp_toml(okta_sandbox: OktaSandbox) -> str:
    """A ready `[idp.okta]` TOML table pointing at the emulator (alice, dev app, Google TOTP seed),
    for end-to-end tests of `shellenv use` in real shells."""
    return okta_sandbox.toml()
