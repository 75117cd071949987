"""The main job in the three real shells, against each IdP of the sandbox: log in, keys in the shell, and
GetCallerIdentity naming the assumed role; then clear."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

import pyotp
import pytest
from shell_harness import SHELLS, Session, init_text, require

from shellenv.credentials import EXPORTED
from shellenv.sandbox import world

PROFILES = {"onelogin": "dev-admin", "okta": "okta-dev-admin", "sso": "sso-dev-admin"}


def post(url: str, body: dict) -> None:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=10).close()  # noqa: S310 - loopback


def start_shell(shell: str, home: Path, sandbox, config: str) -> Session:
    require(shell)
    path = home / ".config" / "shellenv" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_text(config)
    path.chmod(0o600)
    env = {**sandbox.environment(), "SHELLENV_NO_BROWSER": "1",
           "AWS_CONFIG_FILE": str(home / ".aws" / "config"),
           "AWS_SHARED_CREDENTIALS_FILE": str(home / ".aws" / "credentials")}
    from shell_harness import environment

    return Session(shell, home, init_text(shell, environment(home, env)), env=env, timeout=40)


@pytest.mark.parametrize("provider", sorted(PROFILES))
@pytest.mark.parametrize("shell", SHELLS)
def test_use_puts_the_role_in_the_shell(shell: str, provider: str, home: Path, sandbox) -> None:
    config = sandbox.config()
    if provider == "okta":  # the Okta login types the password; the code comes from the stored seed
        config = config.replace("[idp.sandbox-okta]\n",
                                f'[idp.sandbox-okta]\ntotp_secret = "{world.ALICE_TOTP_SECRET}"\n')
    if provider == "sso":
        post(sandbox.url("sso-oidc") + "/__sandbox/auto-approve", {"enabled": True})
    session = start_shell(shell, home, sandbox, config)

    session.child.sendline(f"shellenv use {PROFILES[provider]}")
    if provider != "sso":
        session.child.expect(r"Password for [^:]+: ")
        session.child.sendline(world.ALICE_PASSWORD)
    if provider == "onelogin":
        session.child.expect(r"Code from [^:]+: ")
        session.child.sendline(pyotp.TOTP(world.ALICE_TOTP_SECRET).now())
    prompt = session._prompt()
    assert prompt.status == 0, prompt.output

    whoami = session.run("shellenv whoami")
    assert re.search(r"arn:aws:sts::111111111111:assumed-role/Admin/\S+", whoami.output), whoami.output
    env = session.environment(*EXPORTED)
    assert env["SHELLENV_PROFILE"] == PROFILES[provider]
    assert env["AWS_REGION"] == "eu-west-1"
    assert env["AWS_ACCESS_KEY_ID"].startswith("ASIA")

    session.run("shellenv clear")
    assert set(session.environment(*EXPORTED).values()) == {None}
    session.close()


@pytest.mark.parametrize("shell", SHELLS)
def test_use_through_a_real_simplesamlphp(shell: str, home: Path, simplesamlphp,
                                          simplesamlphp_sts) -> None:
    require(shell)
    path = home / ".config" / "shellenv" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_text(simplesamlphp.config("carol"))
    path.chmod(0o600)
    from shell_harness import environment

    env = {"AWS_ENDPOINT_URL_STS": simplesamlphp_sts.url}
    session = Session(shell, home, init_text(shell, environment(home, env)), env=env, timeout=40)

    prompt = session.run("shellenv use ssp")
    assert prompt.status == 0, prompt.output
    whoami = session.run("shellenv whoami")
    assert re.search(r"assumed-role/\S+/carol", whoami.output), whoami.output
    assert session.environment("SHELLENV_PROFILE") == {"SHELLENV_PROFILE": "ssp"}
    session.close()
