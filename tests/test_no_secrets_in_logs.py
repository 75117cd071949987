"""Whole logins at `-vv --debug` against the sandbox: every decision is told, and no secret appears.

The secrets looked for are the sandbox's password, TOTP seed and OneLogin client secret, the AWS keys
that the login produced, and any SAML assertion (base64 or decoded).
"""

from __future__ import annotations

import io
import re
import shlex

import pexpect
from cli_fixtures import PASSWORD, PROGRAM, Result

from shellenv.errors import ExitCode
from shellenv.sandbox import onelogin, world

FIXED_SECRETS = (world.ALICE_PASSWORD, world.ALICE_TOTP_SECRET, onelogin.CLIENT_SECRET)
# An assertion is long base64 ("<samlp:Response" and "<?xml" encode to these), or SAML XML once decoded.
ASSERTION_MARKS = ("PHNhbWxw", "PD94bWw", "samlp:Response", "saml2p:Response", "SignatureValue")
LONG_BASE64 = re.compile(r"[A-Za-z0-9+/=]{100,}")


def keys_from(stdout: str) -> dict[str, str]:
    found = {}
    for line in stdout.splitlines():
        match = re.fullmatch(r"export (AWS_[A-Z_]+)=(.*)", line)
        if match:
            found[match.group(1)] = shlex.split(match.group(2))[0]
    return found


def assert_no_secret(text: str, secrets: list[str], where: str) -> None:
    for secret in secrets:
        assert secret not in text, f"a secret (…{secret[-4:]}) appears in {where}"
    for mark in ASSERTION_MARKS:
        assert mark not in text, f"a SAML assertion ({mark}…) appears in {where}"
    assert not LONG_BASE64.search(text), f"a long base64 value appears in {where}"


def test_a_whole_login_at_debug_tells_each_decision_and_no_secret(cli):
    cli.add_totp_seed()

    result = cli.run(["-vv", "--debug", "export", "--shell", "bash", "dev-admin"], [PASSWORD])

    assert result.exit_code == 0, result.stderr
    keys = keys_from(result.stdout)
    secrets = [*FIXED_SECRETS, keys["AWS_ACCESS_KEY_ID"], keys["AWS_SECRET_ACCESS_KEY"],
               keys["AWS_SESSION_TOKEN"]]
    assert_no_secret(result.stderr, secrets, "stderr")
    assert_no_secret(result.screen, secrets, "the terminal")
    code = result.stdout  # the keys belong there, for the shell to eval; nothing else secret does
    for value in keys.values():
        code = code.replace(value, "")
    assert_no_secret(code, list(FIXED_SECRETS), "stdout")
    # The narration: which profile, the cache, each endpoint, the factor, the role, the masked key.
    for told in ("cache miss for dev-admin", "logging in to sandbox-dev (onelogin) for dev-admin",
                 "POST http://127.0.0.1:", "using factor Google Authenticator",
                 "assuming arn:aws:iam::111111111111:role/Admin",
                 f"key ****{keys['AWS_ACCESS_KEY_ID'][-4:]}"):
        assert told in result.stderr, told

    again = cli.run(["-v", "export", "--shell", "bash", "dev-admin"])
    assert "cache hit for dev-admin" in again.stderr
    assert_no_secret(again.stderr, secrets, "stderr of a cache hit")


def test_a_refused_password_at_debug_shows_neither_it_nor_the_real_one(cli):
    result = cli.run(["--debug", "export", "--shell", "bash", "dev-admin"],
                     [(PASSWORD[0], "typed-wrong-password-1234")])

    assert result.exit_code == ExitCode.AUTH
    text = result.stderr + result.screen + result.stdout
    assert_no_secret(text, [*FIXED_SECRETS, "typed-wrong-password-1234"], "the output")


def test_secrets_from_the_keyring_at_debug(cli):
    backend = {"PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring"}
    for kind, value in (("password", world.ALICE_PASSWORD), ("totp_secret", world.ALICE_TOTP_SECRET)):
        stored = cli.run(["-vv", "secret", "set", "sandbox-dev", kind], [(r"for sandbox-dev[^:]*: ", value)],
                         env=backend)
        assert stored.exit_code == 0, stored.stderr
        assert_no_secret(stored.stderr + stored.screen, list(FIXED_SECRETS), "secret set")
    cli.write_config(cli.config_path.read_text().replace(
        'mfa = "google"', 'mfa = "google"\npassword = "keyring"\ntotp_secret = "keyring"', 1))

    result = cli.run(["-vv", "--debug", "export", "--shell", "bash", "dev-admin"], env=backend)

    assert result.exit_code == 0, result.stderr
    assert "keyring PlaintextKeyring (keyrings.alt.file): password of sandbox-dev found" in result.stderr
    assert_no_secret(result.stderr + result.screen, list(FIXED_SECRETS), "the output")


def test_the_hook_in_a_real_bash_at_debug(cli, home):
    """`shellenv use -vv --debug` through the bash hook: the whole terminal transcript is clean."""
    cli.add_totp_seed()
    transcript = io.StringIO()
    bash = pexpect.spawn("bash", ["--norc", "--noprofile", "-i"], env={**cli.env, "PS1": "$ "},
                         cwd=str(home), encoding="utf-8", timeout=30)
    bash.logfile_read = transcript
    try:
        bash.sendline(f'eval "$({PROGRAM} init bash)"')
        bash.sendline("shellenv use -vv --debug dev-admin")
        bash.expect(PASSWORD[0])
        bash.sendline(PASSWORD[1])
        bash.expect("valid 1?\\d+h")
        bash.sendline("printenv AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN > ~/.keys; "
                      "echo FINI''SHED")
        bash.expect("FINISHED")
        bash.sendline("exit")
        bash.expect(pexpect.EOF)
    finally:
        bash.close(force=True)

    keys = (home / ".keys").read_text().split()
    assert len(keys) == 3 and keys[0].startswith("ASIA"), keys
    screen = Result(0, "", "", transcript.getvalue()).screen
    assert "logging in to sandbox-dev" in screen
    assert_no_secret(screen, [*FIXED_SECRETS, *keys], "the terminal transcript")
