"""Pytest fixtures for the OneLogin emulator: one server per test session, reset before each test.

tests/conftest.py loads it as a plugin; it needs `sandbox_signer` from tests/sandbox_fixtures.py.
It never reaches beyond 127.0.0.1.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from shellenv.sandbox import onelogin as emulator
from shellenv.sandbox.serve import Server


class OneLoginSandbox:
    """A running emulator and the test endpoints around it, spoken to over HTTP like any test would."""

    def __init__(self, server: Server, app: emulator.OneLoginEmulator) -> None:
        self.server = server
        self.app = app

    @property
    def url(self) -> str:
        return self.server.url

    def settings(self, **overrides: Any) -> dict[str, Any]:
        """An `[idp.NAME]` table of type onelogin pointing here, for the dev app, as alice."""
        table: dict[str, Any] = {
            "type": "onelogin",
            "base_url": self.url,
            "subdomain": emulator.SUBDOMAIN,
            "app_id": emulator.DEV_APP_ID,
            "client_id": emulator.CLIENT_ID,
            "client_secret": emulator.CLIENT_SECRET,
            "username": emulator.ALICE,
            "password": emulator.PASSWORDS[emulator.ALICE],
        }
        table.update(overrides)
        return {key: value for key, value in table.items() if value is not None}

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback only
            return json.loads(response.read() or b"null")

    def stats(self) -> dict[str, int]:
        return self.call("GET", "/__sandbox/stats")

    def outbox(self, to: str | None = None) -> list[dict[str, Any]]:
        query = "?" + urllib.parse.urlencode({"to": to}) if to else ""
        return self.call("GET", "/__sandbox/outbox" + query)

    def approve_push(self, state_token: str = "latest") -> Any:
        return self.call("POST", f"/__sandbox/push/{state_token}/approve", {})

    def deny_push(self, state_token: str = "latest") -> Any:
        return self.call("POST", f"/__sandbox/push/{state_token}/deny", {})

    def fail(self, path: str = "*", status: int | None = None, **rule: Any) -> Any:
        return self.call("POST", "/__sandbox/fail", {"path": path, "status": status, **rule})

    def advance(self, seconds: float) -> Any:
        return self.call("POST", "/__sandbox/clock", {"advance": seconds})

    def reset(self) -> Any:
        return self.call("POST", "/__sandbox/reset", {})


@pytest.fixture(scope="session")
def onelogin_server(sandbox_signer: Any) -> Iterator[OneLoginSandbox]:
    """The emulator, started once for the session on a free port."""
    app = emulator.make_app(sandbox_signer)
    server = Server(app).start()
    try:
        yield OneLoginSandbox(server, app)
    finally:
        server.stop()


@pytest.fixture
def onelogin_sandbox(onelogin_server: OneLoginSandbox) -> OneLoginSandbox:
    """The session's emulator with counters, outbox, pushes, failure rules and clock reset."""
    onelogin_server.app.reset()
    return onelogin_server
