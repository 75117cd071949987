"""Two shells asking for two roles of one IAM Identity Center at once: one device sign-in serves both."""

from __future__ import annotations

import json
import shlex
import urllib.request

import pexpect
from cli_fixtures import PROGRAM


def call(url: str, method: str = "GET", body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback
        return json.loads(answer.read() or b"null")


def test_concurrent_logins_of_one_sso_session_share_one_device_sign_in(cli, sandbox):
    cli.write_config(sandbox.config() + '\n[profile.sso-prod-admin]\nidp = "sandbox-sso"\n'
                     'account_id = "222222222222"\nrole_name = "Admin"\nregion = "eu-west-1"\n')
    oidc = sandbox.url("sso-oidc")
    call(oidc + "/__sandbox/reset", "POST", {})
    call(oidc + "/__sandbox/auto-approve", "POST", {"enabled": True})
    env = {**cli.env, "SHELLENV_NO_BROWSER": "1"}

    children = []
    for profile in ("sso-dev-admin", "sso-prod-admin"):
        out = cli.home / f".{profile}.out"
        command = f"exec {shlex.quote(PROGRAM)} export --shell bash {profile} >{out}"
        children.append((out, pexpect.spawn("/bin/sh", ["-c", command], env=env, encoding="utf-8",
                                            timeout=60)))
    for out, child in children:
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0, child.before
        assert "AWS_ACCESS_KEY_ID" in out.read_text()

    stats = call(oidc + "/__sandbox/stats")["stats"]
    assert stats["device_authorizations"] == 1, stats
