"""The start-up path stays light: what `shellenv export` on a cache hit and `shellenv init` import.

Run as real processes under `python -X importtime` in the test's HOME. Nothing here is timed: how fast
start-up is belongs to `bench/use.py`; what it loads is a fact a test can hold.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shellenv.cache import KeyCache
from shellenv.credentials import Credentials

PROFILE = "dev"
# No network is needed on a cache hit: the IdP's address is a closed port, so a miss would fail loudly.
CONFIG = f"""\
[idp.corp]
type = "onelogin"
base_url = "http://127.0.0.1:9"
subdomain = "acme"
app_id = "123456"
client_id = "startup-test"

[profile.{PROFILE}]
idp = "corp"
role_arn = "arn:aws:iam::111111111111:role/Admin"
region = "eu-west-1"
"""
# Third-party libraries that a cache hit, and the hook's init, must never load.
HEAVY = ("boto3", "botocore", "requests", "defusedxml", "psutil", "keyring", "urllib3", "filelock",
         "lxml", "signxml", "cryptography", "pyotp")
# Standard modules the cache hit has stopped loading; each costs milliseconds on every `shellenv use`.
AVOIDED = ("logging", "dataclasses", "inspect", "difflib", "tempfile", "shutil", "bz2", "lzma",
           "subprocess", "threading", "http", "ssl", "socket", "email")


@pytest.fixture
def cached(home: Path) -> None:
    config = home / ".config" / "shellenv" / "config.toml"
    config.parent.mkdir(parents=True, mode=0o700)
    config.write_text(CONFIG)
    expiry = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=8)
    KeyCache().store(Credentials(
        access_key_id="ASIASTARTUPTEST00001", secret_access_key="startup-secret",
        session_token="startup-token", expiration=expiry,
        role_arn="arn:aws:iam::111111111111:role/Admin", profile=PROFILE, region="eu-west-1", idp="corp"))


def imported(*args: str) -> tuple[set[str], str]:
    """The modules `python -X importtime -m shellenv ARGS` loads after start-up, and its stdout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "shellenv", *args],
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    return _modules(done.stderr), done.stdout


def _modules(importtime: str) -> set[str]:
    names = set()
    for line in importtime.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name != "imported package":
                names.add(name)
    return names


def bare_interpreter() -> set[str]:
    """What this interpreter loads for `python -c pass`: site hooks and .pth files are not ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", "pass"],
                          capture_output=True, text=True, env=env, timeout=60)
    return _modules(done.stderr)


def roots(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


SHELLS = ("bash", "zsh", "fish")
SET_KEY = {
    "bash": "export AWS_ACCESS_KEY_ID='ASIASTARTUPTEST00001'\n",
    "zsh": "export AWS_ACCESS_KEY_ID='ASIASTARTUPTEST00001'\n",
    "fish": "set -gx AWS_ACCESS_KEY_ID 'ASIASTARTUPTEST00001'\n",
}


@pytest.mark.usefixtures("cached")
@pytest.mark.parametrize("shell", SHELLS)
def test_cache_hit_loads_no_heavy_library(shell: str) -> None:
    modules, stdout = imported("export", "--shell", shell, PROFILE)

    assert SET_KEY[shell] in stdout
    assert "shellenv.cache" in modules  # the import log was read
    assert sorted(roots(modules) & set(HEAVY)) == []


@pytest.mark.usefixtures("cached")
def test_cache_hit_skips_costly_standard_modules() -> None:
    modules, _ = imported("export", "--shell", "bash", PROFILE)
    own = modules - bare_interpreter()

    assert sorted(roots(own) & set(AVOIDED)) == []


@pytest.mark.usefixtures("cached")
@pytest.mark.parametrize("shell", SHELLS)
def test_hook_init_loads_no_heavy_library(shell: str) -> None:
    modules, stdout = imported("init", shell)

    assert "__shellenv_prog" in stdout
    assert sorted(roots(modules) & set(HEAVY)) == []


# -- the lazy loggers of the start-up path still log -------------------------------------------------------


@pytest.mark.usefixtures("cached")
def test_verbose_cache_hit_tells_the_decision_on_stderr_only() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    once = subprocess.run([sys.executable, "-m", "shellenv", "-v", "export", "--shell", "bash", PROFILE],
                          capture_output=True, text=True, env=env, timeout=60)
    twice = subprocess.run([sys.executable, "-m", "shellenv", "-vv", "export", "--shell", "bash", PROFILE],
                           capture_output=True, text=True, env=env, timeout=60)

    assert f"shellenv: cache hit for {PROFILE}: " in once.stderr
    assert f"shellenv[shellenv.login]: cache hit for {PROFILE}: " in twice.stderr
    assert "startup-secret" not in once.stderr + twice.stderr
    for done in (once, twice):
        assert done.returncode == 0
        assert all(line.startswith(("export ", "unset ")) for line in done.stdout.splitlines())


def test_log_capture_sees_the_lazy_loggers(home: Path, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    caplog.set_level(logging.DEBUG, logger="shellenv.cache")
    # Straight to the module's logger: an earlier `cli.main` in this process may have stopped the
    # `shellenv` tree from propagating to the root, where the capture listens.
    logger = logging.getLogger("shellenv.cache")
    logger.addHandler(caplog.handler)
    try:
        assert KeyCache().load("nowhere") is None
    finally:
        logger.removeHandler(caplog.handler)

    assert "cache miss for nowhere: nothing cached" in caplog.text
