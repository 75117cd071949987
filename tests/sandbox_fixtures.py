"""Pytest fixtures for the sandbox's core: the IdP signing key, the STS emulator and console sign-in.

tests/conftest.py loads it as a plugin. Servers start once per session on 127.0.0.1,
port 0; nothing here reaches beyond the loopback address.
"""

from __future__ import annotations

import datetime as dt
import json
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from shellenv.sandbox import federation, saml, sts, world
from shellenv.sandbox.control import SandboxClock
from shellenv.sandbox.serve import Server


@dataclass
class StsSandbox:
    """A running STS emulator: its base URL, the app (keys, calls) and its clock."""

    url: str
    app: sts.StsApp
    clock: SandboxClock
    server: Server

    @property
    def assume_role_with_saml_calls(self) -> int:
        return self.app.assume_role_with_saml_calls

    @property
    def calls(self) -> dict[str, int]:
        """Requests so far by Action, read over HTTP from /__sandbox/stats as another process would."""
        with urllib.request.urlopen(f"{self.url}/__sandbox/stats", timeout=5) as answer:  # noqa: S310
            return json.load(answer)

    def env(self) -> dict[str, str]:
        """Environment that points botocore (and so shellenv) at this emulator."""
        return {"AWS_ENDPOINT_URL_STS": self.url}

    def client(self, region: str = "us-east-1", **credentials: str) -> Any:
        """A boto3 STS client for this emulator; unsigned unless keys are given."""
        import boto3
        from botocore import UNSIGNED
        from botocore.config import Config

        config = Config(retries={"max_attempts": 1}) if credentials else Config(
            signature_version=UNSIGNED, retries={"max_attempts": 1}
        )
        return boto3.client(
            "sts", endpoint_url=self.url, region_name=region, config=config, **credentials
        )


@pytest.fixture(scope="session")
def sandbox_signer() -> saml.Signer:
    """The sandbox IdP's signing key; the STS emulator trusts its certificate."""
    return saml.Signer.generate()


@pytest.fixture(scope="session")
def sts_server(sandbox_signer: saml.Signer) -> Iterator[StsSandbox]:
    """The STS emulator, trusting the sandbox provider of every account in every partition."""
    clock = SandboxClock()
    trusted = sts.sandbox_trusted(sandbox_signer.cert_pem)
    app = sts.make_app(trusted=trusted, roles=world.roles_in(), clock=clock)
    server = Server(app).start()
    try:
        yield StsSandbox(url=server.url, app=app, clock=clock, server=server)
    finally:
        server.stop()


@pytest.fixture
def sts_clock(sts_server: StsSandbox) -> Iterator[SandboxClock]:
    """The STS (and federation) clock, put back to real time after the test."""
    yield sts_server.clock
    sts_server.clock.reset()


@dataclass
class FederationSandbox:
    url: str  # base URL; the endpoint is {url}/federation
    app: federation.FederationApp


@pytest.fixture(scope="session")
def federation_server(sts_server: StsSandbox) -> Iterator[FederationSandbox]:
    """The console sign-in endpoint, trusting the keys the STS emulator issued."""
    app = federation.make_app(sts_server.app)
    with Server(app) as server:
        yield FederationSandbox(url=server.url, app=app)


@pytest.fixture(scope="session")
def sandbox_assertion(sandbox_signer: saml.Signer) -> Any:
    """A factory of signed SAMLResponses for a sandbox user: `sandbox_assertion("bob@example.com")`.

    Keyword arguments go to saml.issue_response, e.g. roles=[...], now=..., audience=...;
    signer=... signs with another key.
    """

    def issue(username: str = "alice@example.com", **overrides: Any) -> str:
        user = world.USERS[username]
        signer = overrides.pop("signer", sandbox_signer)
        fields: dict[str, Any] = {
            "issuer": "https://idp.sandbox.shellenv.test",
            "name_id": user.email,
            "roles": user.roles,
            "session_name": user.email,
            "session_duration": user.session_duration,
            "now": dt.datetime.now(dt.timezone.utc),
        }
        fields.update(overrides)
        return saml.issue_response(signer, **fields)

    return issue
