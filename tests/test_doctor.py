"""`shellenv doctor` in a real bash: every finding on a healthy setup, and on a broken one."""

from __future__ import annotations

import email.utils
import http.server
import socket
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest
from cli_fixtures import PASSWORD, PROGRAM

from shellenv.errors import ExitCode
from shellenv.sandbox import world

PLAINTEXT = "keyrings.alt.file.PlaintextKeyring"
SKEW = 600


def doctor(cli, *, hook: bool, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`shellenv doctor` run from a real bash, with or without the hook loaded in it."""
    load = f'eval "$({PROGRAM} init bash)"\n' if hook else ""
    # `; exit $?` keeps bash from exec'ing the program, so bash stays its parent.
    script = f"{load}shellenv doctor --timeout 3; exit $?"
    return subprocess.run(["bash", "--norc", "--noprofile", "-c", script], env={**cli.env, **(env or {})},
                          capture_output=True, text=True, timeout=60)


def lines(result: subprocess.CompletedProcess, status: str) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.startswith(status)]


def test_a_healthy_setup(cli, home):
    cli.add_totp_seed()
    assert cli.run(["export", "--shell", "bash", "dev-admin"], [PASSWORD]).exit_code == 0
    stored = cli.run(["secret", "set", "sandbox-prod", "password"], [(r"Password for [^:]+: ", "x")],
                     env={"PYTHON_KEYRING_BACKEND": PLAINTEXT})
    assert stored.exit_code == 0, stored.stderr
    cli.write_config(cli.config_path.read_text().replace(
        "[idp.sandbox-prod]\n", '[idp.sandbox-prod]\npassword = "keyring"\n'))

    result = doctor(cli, hook=True, env={"PYTHON_KEYRING_BACKEND": PLAINTEXT})

    assert result.returncode == 0, result.stdout + result.stderr
    assert lines(result, "FAIL") == []
    assert result.stderr == ""
    text = result.stdout
    assert "ok    hook: loaded in this bash" in text
    assert f"ok    config: {cli.config_path} parses" in text
    assert "ok    files: the cache" in text
    assert "ok    idp sandbox-dev: http://127.0.0.1:" in text
    assert "ok    idp sandbox-dev: clock within" in text
    assert "ok    keyring: holds the password of sandbox-prod" in text
    assert "warn  keyring: PlaintextKeyring" in text  # the plain file backend is honest about itself
    assert "ok    other tools:" in text
    assert world.ALICE_PASSWORD not in text


@pytest.fixture
def skewed_idp() -> Iterator[str]:
    """An IdP login page whose server clock is SKEW seconds behind."""

    class Page(http.server.BaseHTTPRequestHandler):
        def date_time_string(self, timestamp=None):  # noqa: ARG002 - the clock of this server
            return email.utils.formatdate(time.time() - SKEW, usegmt=True)

        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/login"
    server.shutdown()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_broken_setup(cli, home, skewed_idp):
    cli.write_config(f"""
[idp.down]
type = "saml-form"
url = "http://127.0.0.1:{closed_port()}/login"
password = "keyring"

[idp.skewed]
type = "saml-form"
url = "{skewed_idp}"

[profile.p]
idp = "down"
role_arn = "arn:aws:iam::111111111111:role/Admin"
""")
    cache = home / ".cache" / "shellenv"
    cache.mkdir(parents=True, mode=0o755)
    cache.chmod(0o755)
    (cache / "leaked.json").write_text("{}")
    (cache / "leaked.json").chmod(0o644)

    result = doctor(cli, hook=False, env={"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
                                          "AWS_VAULT": "dev", "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE"})

    assert result.returncode == ExitCode.CONFIG, result.stdout
    failures = "\n".join(lines(result, "FAIL"))
    assert 'hook: not loaded in this bash (pid ' in failures
    assert 'add `eval "$(shellenv init bash)"` to ~/.bashrc' in failures
    assert "files: 1 folder and 1 file in the cache are open to others" in failures
    assert f"chmod -R go-rwx {cache}" in failures
    assert "idp down: could not reach down at http://127.0.0.1:" in failures
    assert f"idp skewed: this computer's clock is {SKEW}" in failures or \
        f"idp skewed: this computer's clock is {SKEW - 1}" in failures
    assert "ahead of the IdP's" in failures
    assert "keyring: the config keeps secrets in the keyring, but no keyring backend" in failures
    assert "other tools: aws-vault has set AWS_VAULT" in failures
    assert "ok    config:" in result.stdout
    assert all(line[:6] in ("ok    ", "warn  ", "info  ", "FAIL  ") for line in result.stdout.splitlines())


def test_a_config_that_does_not_parse_is_one_finding_and_the_rest_still_runs(cli):
    cli.write_config("[idp.a\n")

    result = doctor(cli, hook=True)

    assert result.returncode == ExitCode.CONFIG
    assert [line[6:13] for line in lines(result, "FAIL")] == ["config:"]
    assert "fix the TOML syntax" in result.stdout
    assert "other tools:" in result.stdout
