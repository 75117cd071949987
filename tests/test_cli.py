"""The program end to end on the sandbox: login, cache, role pick, and every failure as one clear line."""

from __future__ import annotations

import os
import re
import shlex

import pytest
from cli_fixtures import PASSWORD, totp_now

from shellenv.errors import ExitCode

CODE = (r"Code from [^:]+: ", None)  # answered with the TOTP of the moment


def answers_with_code() -> list[tuple[str, str]]:
    return [PASSWORD, (CODE[0], totp_now())]


def exported(stdout: str) -> dict[str, str]:
    """The variables a bash `export` script sets, read with a strict pattern: anything else fails the test."""
    names = {}
    for line in stdout.splitlines():
        match = re.fullmatch(r"export ([A-Z_]+)=(.*)", line) or re.fullmatch(r"unset ([A-Z_ ]+)", line)
        assert match, f"not shell code of the expected shape: {line!r}"
        if line.startswith("export"):
            names[match.group(1)] = shlex.split(match.group(2))[0]
    return names


def test_export_logs_in_with_password_and_typed_code(cli):
    result = cli.run(["export", "--shell", "bash", "dev-admin"], answers_with_code())

    assert result.exit_code == 0, result.stderr
    env = exported(result.stdout)
    assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION",
            "AWS_DEFAULT_REGION", "AWS_CREDENTIAL_EXPIRATION", "AWS_SESSION_EXPIRATION",
            "SHELLENV_PROFILE", "SHELLENV_ROLE_ARN", "SHELLENV_EXPIRY"} <= set(env)
    assert "dev-admin" in env["SHELLENV_PROFILE"]
    assert "dev-admin: Admin in sandbox-dev" in result.stderr
    assert "alice-sandbox-password" not in result.screen + result.stderr + result.stdout


def test_second_use_is_served_from_the_cache(cli):
    cli.add_totp_seed()
    first = cli.run(["export", "--shell", "bash", "dev-admin"], [PASSWORD])
    second = cli.run(["export", "--shell", "bash", "dev-admin"])

    assert first.exit_code == second.exit_code == 0, first.stderr + second.stderr
    assert cli.assertions_issued() == 1
    assert exported(first.stdout)["AWS_ACCESS_KEY_ID"] == exported(second.stdout)["AWS_ACCESS_KEY_ID"]


def test_cache_files_are_private(cli, home):
    cli.add_totp_seed()
    cli.run(["export", "--shell", "bash", "dev-admin"], [PASSWORD])

    folder = home / ".cache" / "shellenv" / "sessions"
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    for path in folder.iterdir():
        assert oct(path.stat().st_mode & 0o777) == "0o600", path
        assert "alice-sandbox-password" not in path.read_text()


def test_no_profile_picks_idp_and_role_on_the_terminal(cli):
    cli.add_totp_seed()
    result = cli.run(["export", "--shell", "bash"],
                     [(r"Pick 1-\d+: ", "sandbox-prod"), PASSWORD, (r"Pick 1-\d+: ", "ReadOnly")])

    assert result.exit_code == 0, result.stderr
    env = exported(result.stdout)
    assert env["SHELLENV_ROLE_ARN"] == "arn:aws:iam::222222222222:role/ReadOnly"
    assert "sandbox-prod" in result.screen


def test_duration_above_the_role_maximum_falls_back_to_one_hour(cli):
    cli.add_totp_seed()
    text = cli.config_path.read_text().replace(
        'role_arn = "arn:aws:iam::111111111111:role/ReadOnly"\nregion = "eu-west-1"\nduration = "1h"',
        'role_arn = "arn:aws:iam::111111111111:role/ReadOnly"\nregion = "eu-west-1"\nduration = "12h"')
    cli.write_config(text)
    result = cli.run(["export", "--shell", "bash", "dev-readonly"], [PASSWORD])

    assert result.exit_code == 0, result.stderr
    assert "asked for 1h instead" in result.stderr
    left = int(exported(result.stdout)["SHELLENV_EXPIRY"]) - __import__("time").time()
    assert 3000 < left <= 3600


def test_wrong_password_is_one_line_and_its_own_exit_code(cli):
    result = cli.run(["export", "--shell", "bash", "dev-admin"], [(PASSWORD[0], "wrong")])

    assert result.exit_code == ExitCode.AUTH
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr


def test_a_role_the_idp_does_not_offer(cli):
    cli.add_totp_seed()
    text = cli.config_path.read_text().replace("role/Admin", "role/Nope")
    cli.write_config(text)
    result = cli.run(["export", "--shell", "bash", "dev-admin"], [PASSWORD])

    assert result.exit_code == ExitCode.NOT_FOUND
    assert "does not offer arn:aws:iam::111111111111:role/Nope" in result.stderr


def test_cached_only_never_logs_in(cli):
    result = cli.run(["export", "--shell", "bash", "--cached", "dev-admin"])

    assert result.exit_code == ExitCode.NEEDS_LOGIN
    assert result.stdout == ""
    assert cli.assertions_issued() == 0


def test_use_without_the_hook_explains_the_hook(cli):
    result = cli.run(["use", "dev-admin"], env={"SHELL": "/usr/bin/zsh"})

    assert result.exit_code == ExitCode.USAGE
    assert 'eval "$(shellenv init zsh)"' in result.stderr


def test_refresh_without_the_hook_asks_for_the_hook_and_prints_no_keys(cli, home):
    import pexpect
    from cli_fixtures import PROGRAM

    # stdout is the terminal, as when the hook is missing: keys would only land on the screen.
    child = pexpect.spawn(PROGRAM, ["refresh", "dev-admin"], env=cli.env, encoding="utf-8", timeout=30)
    screen = child.read()
    child.close()

    assert child.exitstatus == ExitCode.USAGE, screen
    assert "only through the shell hook" in screen and "export" not in screen.replace("`", "")
    assert cli.assertions_issued() == 0


def test_no_terminal_means_a_clear_error(cli, home):
    import subprocess

    result = subprocess.run([cli.env["PATH"].split(":")[0] + "/shellenv", "export", "--shell", "bash",
                             "dev-admin"], env=cli.env, capture_output=True, text=True,
                            stdin=subprocess.DEVNULL, start_new_session=True, timeout=30)

    assert result.returncode == ExitCode.NEEDS_LOGIN, result.stderr
    assert result.stdout == ""
    assert "no terminal" in result.stderr


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[idp.a\n", r"config\.toml:1: Expected '\]' .*; fix the TOML syntax there"),
        ('[idp.a]\nusername = "alice\n', r"config\.toml:2: a quoted string is not closed"),
        ('[profile.p]\nregion = eu-west-1\n', r"config\.toml:2: a value without quotes"),
        ('[profile.p]\nidp = "nope"\nrole_arn = "arn:aws:iam::111111111111:role/A"\n',
         r"config\.toml:2: \[profile\.p\] idp: names no \[idp\.nope\]"),
        ('[idp.a]\ntype = "onelogin"\nregion = "us"\nsubdomain = "s"\napp_id = "1"\nclient_id = "c"\n'
         'app = "x"\n', r"config\.toml:7: \[idp\.a\] app: unknown key \(did you mean 'app_id'\?\)"),
        ('[idp.a]\ntype = "onelogin"\nregion = "us"\nsubdomain = "s"\napp_id = 1\nclient_id = "c"\n',
         r"config\.toml:5: \[idp\.a\] app_id: must be a string in quotes, not a whole number"),
        ('[idp.a]\ntype = "onelogin"\nregion = "us"\napp_id = "1"\nclient_id = "c"\n',
         r"config\.toml:1: \[idp\.a\]: 'subdomain' is missing"),
        ('[idp.a]\ntype = "oktah"\n', r"unknown type 'oktah'; use one of"),
        ('[profile.p]\nidp = "a"\n', r"names no \[idp\.a\]"),
    ],
)
def test_a_bad_config_gets_one_line_naming_file_line_and_fix(cli, text, expected):
    cli.write_config(text)
    result = cli.run(["export", "--shell", "bash", "p"])

    assert result.exit_code == ExitCode.CONFIG
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert re.search(expected, result.stderr), result.stderr
    assert result.stdout == ""


def test_secrets_in_a_config_others_can_read_are_refused(cli):
    cli.add_totp_seed()
    cli.config_path.chmod(0o644)
    result = cli.run(["export", "--shell", "bash", "dev-admin"])

    assert result.exit_code == ExitCode.CONFIG
    assert f"chmod 600 {cli.config_path}" in result.stderr


def test_missing_config_says_where_it_looked(cli):
    os.unlink(cli.config_path)
    result = cli.run(["list"])

    assert result.exit_code == ExitCode.CONFIG
    assert str(cli.config_path) in result.stderr
