"""Secrets in a file-backed keyring in the temporary HOME: store, use, reject-and-drop, delete, no backend."""

from __future__ import annotations

import pytest
from cli_fixtures import PASSWORD
from keyrings.alt.file import PlaintextKeyring

from shellenv.errors import ExitCode
from shellenv.sandbox import onelogin, world

FILE_BACKEND = {"PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring"}
SECRET_PROMPT = r"(Password|Client secret|Totp secret) for [^:]+: "


@pytest.fixture
def ring(home):
    """The same file keyring the program uses, read from the test (HOME is the temporary one)."""
    return PlaintextKeyring()


def store(cli, kind: str, value: str):
    return cli.run(["secret", "set", "sandbox-dev", kind], [(SECRET_PROMPT, value)], env=FILE_BACKEND)


def blocks(cli) -> list[str]:
    return cli.config_path.read_text().split("\n\n")


def refer_to_keyring(cli, *kinds: str) -> None:
    """Rewrite [idp.sandbox-dev] so that these secrets come from the keyring."""
    rewritten = []
    for block in blocks(cli):
        if block.startswith("[idp.sandbox-dev]"):
            lines = [line for line in block.splitlines() if line.split(" =")[0] not in kinds]
            block = "\n".join(lines + [f'{kind} = "keyring"' for kind in kinds])
        rewritten.append(block)
    cli.write_config("\n\n".join(rewritten))


def only_dev(cli, *, mode: int) -> None:
    """Keep the sandbox-dev IdP and its profiles only."""
    kept = [block for block in blocks(cli) if "sandbox-dev" in block or block.startswith("[accounts]")]
    cli.write_config("\n\n".join(kept), mode=mode)


def test_store_prompts_on_the_terminal_and_keeps_the_secret_in_the_keyring(cli, ring):
    result = store(cli, "password", world.ALICE_PASSWORD)

    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert 'write password = "keyring" in [idp.sandbox-dev]' in result.stderr
    assert world.ALICE_PASSWORD not in result.screen + result.stderr
    assert ring.get_password("shellenv:sandbox-dev", "password") == world.ALICE_PASSWORD


def test_a_login_uses_every_kind_of_secret_from_the_keyring_and_asks_nothing(cli, ring):
    for kind, value in (("password", world.ALICE_PASSWORD), ("client_secret", onelogin.CLIENT_SECRET),
                        ("totp_secret", world.ALICE_TOTP_SECRET.lower()[:8] + " " +
                         world.ALICE_TOTP_SECRET.lower()[8:])):
        assert store(cli, kind, value).exit_code == 0
    refer_to_keyring(cli, "password", "client_secret", "totp_secret")
    only_dev(cli, mode=0o644)  # with no secret in it, a config others can read is no risk

    result = cli.run(["export", "--shell", "bash", "dev-admin"], env=FILE_BACKEND)

    assert result.exit_code == 0, result.stderr
    assert "AWS_SESSION_TOKEN" in result.stdout
    assert "Password" not in result.screen
    assert ring.get_password("shellenv:sandbox-dev", "totp_secret") == world.ALICE_TOTP_SECRET


def test_a_refused_stored_password_is_dropped_and_asked_once(cli, ring):
    cli.add_totp_seed()
    store(cli, "password", "an-old-password")
    refer_to_keyring(cli, "password")
    calls_before = cli.onelogin("GET", "/__sandbox/stats")["saml_assertion_calls"]

    result = cli.run(["export", "--shell", "bash", "dev-admin"], [PASSWORD], env=FILE_BACKEND)

    assert result.exit_code == 0, result.stderr
    assert "refused the password stored in the keyring; it was removed" in result.stderr
    assert "stored the new password for sandbox-dev in the keyring" in result.stderr
    assert cli.onelogin("GET", "/__sandbox/stats")["saml_assertion_calls"] - calls_before == 2
    assert ring.get_password("shellenv:sandbox-dev", "password") == world.ALICE_PASSWORD


def test_a_refused_typed_password_after_a_refused_stored_one_is_not_retried(cli, ring):
    cli.add_totp_seed()
    store(cli, "password", "an-old-password")
    refer_to_keyring(cli, "password")
    calls_before = cli.onelogin("GET", "/__sandbox/stats")["saml_assertion_calls"]

    result = cli.run(["export", "--shell", "bash", "dev-admin"], [(PASSWORD[0], "also-wrong")],
                     env=FILE_BACKEND)

    assert result.exit_code == ExitCode.AUTH
    assert result.stdout == ""
    assert cli.onelogin("GET", "/__sandbox/stats")["saml_assertion_calls"] - calls_before == 2
    assert ring.get_password("shellenv:sandbox-dev", "password") is None


def test_a_missing_keyring_secret_is_asked_for_with_a_hint(cli):
    cli.add_totp_seed()
    refer_to_keyring(cli, "password")

    result = cli.run(["export", "--shell", "bash", "dev-admin"], [PASSWORD], env=FILE_BACKEND)

    assert result.exit_code == 0, result.stderr
    assert "run" not in result.stdout
    assert "shellenv secret set sandbox-dev password" in result.stderr


def test_delete(cli, ring):
    store(cli, "password", world.ALICE_PASSWORD)

    first = cli.run(["secret", "delete", "sandbox-dev", "password"], env=FILE_BACKEND)
    second = cli.run(["secret", "delete", "sandbox-dev", "password"], env=FILE_BACKEND)

    assert first.exit_code == 0, first.stderr
    assert ring.get_password("shellenv:sandbox-dev", "password") is None
    assert second.exit_code == ExitCode.NOT_FOUND
    assert "holds no password for sandbox-dev" in second.stderr


def test_no_backend_is_one_line_with_the_alternatives_and_no_question(cli):
    result = cli.run(["secret", "set", "sandbox-dev", "password"],
                     env={"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"})

    assert result.exit_code == ExitCode.CONFIG
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "chmod 600" in result.stderr and "PYTHON_KEYRING_BACKEND=" in result.stderr
    assert "Password" not in result.screen


@pytest.mark.parametrize(("args", "answer", "code", "words"), [
    (["secret", "set", "sandbox-dve", "password"], None, ExitCode.NOT_FOUND, "did you mean 'sandbox-dev'"),
    (["secret", "set", "sandbox-dev", "totp_secret"], "not base32!", ExitCode.USAGE, "not a TOTP seed"),
    (["secret", "set", "sandbox-dev", "password"], "", ExitCode.USAGE, "nothing was typed"),
    (["secret", "set", "sandbox-dev", "pin"], None, ExitCode.USAGE, "invalid choice"),
    (["secret"], None, ExitCode.USAGE, "shellenv secret set|delete IDP KIND"),
])
def test_mistakes_get_one_line_and_their_exit_code(cli, args, answer, code, words):
    answers = [(SECRET_PROMPT, answer)] if answer is not None else []
    result = cli.run(args, answers, env=FILE_BACKEND)

    assert result.exit_code == code, result.stderr
    assert words in result.stderr
    assert "Traceback" not in result.stderr
