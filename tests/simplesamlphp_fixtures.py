"""Pytest fixtures for a real SimpleSAMLphp IdP on 127.0.0.1, and a sandbox STS that trusts it.

Load with `pytest_plugins = ["tests.simplesamlphp_fixtures"]`. SimpleSAMLphp comes from Debian's package,
unpacked by tests/simplesamlphp/setup.sh; without it (or without php) the tests skip, or fail under
SHELLENV_REQUIRE_ALL=1. Its signing key is generated per session, never committed.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent / "simplesamlphp"
INSTALL_DIR = Path(os.environ.get("SHELLENV_SIMPLESAMLPHP_DIR", "/var/cache/shellenv-test/simplesamlphp"))
SETUP_HINT = "run tests/simplesamlphp/setup.sh"

# The test users of tests/simplesamlphp/config/authsources.php (test-only values).
PASSWORDS = {
    "alice": "alice-test-password",
    "bob": "bob-test-password",
    "carol": "carol-test-password",
}
CAROL_TOTP_SEED = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # saml20-idp-hosted.php
PROVIDER_NAME = "simplesamlphp"
ACCOUNTS = ("111111111111", "222222222222")
SP_ENTITY_ID = "urn:amazon:webservices"
START_SECONDS = 15


def provider_arn(account_id: str) -> str:
    """The SAML provider this IdP is registered as in a sandbox account."""
    return f"arn:aws:iam::{account_id}:saml-provider/{PROVIDER_NAME}"


# The roles each user's assertion carries, as (role ARN, provider ARN).
ROLES = {
    "alice": [
        ("arn:aws:iam::111111111111:role/Admin", provider_arn("111111111111")),
        ("arn:aws:iam::111111111111:role/ReadOnly", provider_arn("111111111111")),
        ("arn:aws:iam::111111111111:role/team/ops/Deploy", provider_arn("111111111111")),
        ("arn:aws:iam::222222222222:role/ReadOnly", provider_arn("222222222222")),
    ],
    "bob": [("arn:aws:iam::111111111111:role/ReadOnly", provider_arn("111111111111"))],
    "carol": [("arn:aws:iam::222222222222:role/Admin", provider_arn("222222222222"))],
}


def require(condition: bool, reason: str) -> None:
    """Skip when a tool is missing, or fail when CI asks for every test to run."""
    if condition:
        return
    if os.environ.get("SHELLENV_REQUIRE_ALL") == "1":
        pytest.fail(f"{reason} (SHELLENV_REQUIRE_ALL=1)")
    pytest.skip(reason)


@dataclass
class SimpleSamlPhp:
    """A running SimpleSAMLphp: its URL, the IdP-initiated SSO URL for AWS, and its signing certificate."""

    url: str
    cert_pem: bytes
    folder: Path

    @property
    def sso_url(self) -> str:
        return f"{self.url}/saml2/idp/SSOService.php?spentityid={SP_ENTITY_ID}"

    def settings(self, user: str = "bob", **overrides: Any) -> dict[str, Any]:
        """An `[idp.NAME]` table of type saml-form for one test user (password included)."""
        table: dict[str, Any] = {
            "type": "saml-form",
            "url": self.sso_url,
            "username": user,
            "password": PASSWORDS[user],
        }
        if user == "carol":
            table["totp_secret"] = CAROL_TOTP_SEED
        table.update(overrides)
        return {k: v for k, v in table.items() if v is not None}

    def toml(self, name: str = "simplesamlphp", user: str = "bob", **overrides: Any) -> str:
        """The same table as TOML text, ready to append to a config file."""
        lines = [f"[idp.{name}]"]
        for key, value in self.settings(user, **overrides).items():
            text = str(value).lower() if isinstance(value, bool) else value
            lines.append(f'{key} = "{text}"' if isinstance(value, str) else f"{key} = {text}")
        return "\n".join(lines) + "\n"

    def config(self, user: str = "bob", *, idp: str = "simplesamlphp", profile: str = "ssp") -> str:
        """A whole config file: the `[idp.NAME]` table for `user` and a `[profile.NAME]` for the first of
        the user's roles, ready for the end-to-end tests (mode 0600: it holds a password)."""
        role_arn = ROLES[user][0][0]
        return (
            self.toml(idp, user=user)
            + f'\n[profile.{profile}]\nidp = "{idp}"\nrole_arn = "{role_arn}"\nregion = "eu-west-1"\n'
        )

    def log_tail(self, lines: int = 40) -> str:
        """The end of the PHP server's and SimpleSAMLphp's logs, for a failing test's report."""
        text = ""
        for path in (self.folder / "php.log", self.folder / "log" / "simplesamlphp.log"):
            if path.exists():
                text += f"--- {path.name}\n" + "\n".join(path.read_text().splitlines()[-lines:]) + "\n"
        return text


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_answering(url: str, process: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - a loopback URL we built
                return True
        except urllib.error.HTTPError:
            return True
        except OSError:
            time.sleep(0.1)
    return False


def _write_signing_key(folder: Path) -> bytes:
    from shellenv.sandbox.saml import Signer

    signer = Signer.generate("shellenv test SimpleSAMLphp IdP")
    cert_dir = folder / "cert"
    cert_dir.mkdir(mode=0o700)
    key = cert_dir / "idp.key"
    key.write_bytes(signer.key_pem)
    key.chmod(0o600)
    (cert_dir / "idp.crt").write_bytes(signer.cert_pem)
    return signer.cert_pem


@pytest.fixture(scope="session")
def simplesamlphp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleSamlPhp]:
    """SimpleSAMLphp served by `php -S` on a free loopback port for the whole test session."""
    php = shutil.which("php")
    require(php is not None, f"php is not installed; {SETUP_HINT}")
    unpacked = (INSTALL_DIR / "www" / "_include.php").exists()
    require(unpacked, f"no SimpleSAMLphp in {INSTALL_DIR}; {SETUP_HINT}")
    assert php is not None

    folder = tmp_path_factory.mktemp("simplesamlphp")
    shutil.copytree(HERE / "config", folder / "config")
    for sub in ("log", "data", "tmp", "sessions"):
        (folder / sub).mkdir(mode=0o700)
    cert_pem = _write_signing_key(folder)

    process = None
    for _attempt in range(3):  # the port may be taken between probing and binding
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "SIMPLESAMLPHP_CONFIG_DIR": str(folder / "config"),
            "SHELLENV_SSP_BASEURL": url,
            "SHELLENV_SSP_VARDIR": str(folder),
        }
        command = [
            php, "-d", "display_errors=stderr", "-d", "error_reporting=E_ALL & ~E_DEPRECATED",
            "-S", f"127.0.0.1:{port}", "-t", str(INSTALL_DIR / "www"), str(HERE / "router.php"),
        ]  # fmt: skip
        with open(folder / "php.log", "ab") as log:
            process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        if _wait_until_answering(f"{url}/saml2/idp/metadata.php", process):
            break
        process.terminate()
        process.wait(timeout=5)
        process = None
    if process is None:
        pytest.fail(f"SimpleSAMLphp did not start; its log: {folder / 'php.log'}")

    yield SimpleSamlPhp(url=url, cert_pem=cert_pem, folder=folder)

    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def simplesamlphp_sts(simplesamlphp: SimpleSamlPhp) -> Iterator[Any]:
    """A sandbox STS (the real emulator, served over HTTP) that trusts this SimpleSAMLphp's certificate
    as arn:aws:iam::<account>:saml-provider/simplesamlphp in both sandbox accounts."""
    from shellenv.sandbox import sts
    from shellenv.sandbox.serve import Server

    app = sts.make_app(trusted={provider_arn(account): simplesamlphp.cert_pem for account in ACCOUNTS})
    with Server(app) as server:
        server.app = app
        yield server
