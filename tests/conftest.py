"""Every test runs in a temporary HOME with no AWS variables, so nothing here can touch a real setup."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

_HERE = Path(__file__).parent
pytest_plugins = [
    name
    for name in (
        "sandbox_fixtures",
        "onelogin_fixtures",
        "okta_fixtures",
        "sso_fixtures",
        "simplesamlphp_fixtures",
        "cli_fixtures",
    )
    if (_HERE / f"{name}.py").exists()
]

REQUIRE_ALL = os.environ.get("SHELLENV_REQUIRE_ALL") == "1"

# CI runs the same examples every time (a property that fails there fails here too, with the same input);
# a developer's runs keep exploring new ones.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


def missing(what: str) -> None:
    """Skip a test for a missing shell or tool; in CI (SHELLENV_REQUIRE_ALL=1) fail it instead."""
    if REQUIRE_ALL:
        pytest.fail(f"{what} is missing, and SHELLENV_REQUIRE_ALL=1 forbids skipping", pytrace=False)
    pytest.skip(f"{what} is missing")


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    monkeypatch.setenv("HOME", str(home))
    for name in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "SHELLENV_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    for name in list(os.environ):
        if name.startswith(("AWS_", "SHELLENV_")) and name != "SHELLENV_REQUIRE_ALL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / ".aws" / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / ".aws" / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return home


@pytest.fixture(autouse=True)
def fresh_logging():
    """A test that runs `cli.main` in-process configures the `shellenv` logger; undo it for the next."""
    import logging

    yield
    logger = logging.getLogger("shellenv")
    logger.handlers[:] = []
    logger.setLevel(logging.NOTSET)
    logger.propagate = True
