"""AWS tools through shellenv: credential_process JSON, ~/.aws/config and ~/.aws/credentials, real boto3.

boto3 reads the files shellenv wrote, runs `shellenv credential-process` itself, and calls the sandbox STS.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess

import boto3
import pytest
from cli_fixtures import PASSWORD, PROGRAM
from test_single_flight import answer_nothing

from shellenv import awsfiles
from shellenv.cache import KeyCache
from shellenv.credentials import parse_rfc3339
from shellenv.errors import ExitCode


@pytest.fixture
def aws_env(cli, monkeypatch):
    """This test process as an AWS tool of the user: the sandbox's endpoints, the temporary HOME's files."""
    for name, value in cli.sandbox.environment().items():
        monkeypatch.setenv(name, value)
    return cli


def caller_arn(profile: str) -> str:
    session = boto3.Session(profile_name=profile)
    return session.client("sts", region_name="eu-west-1").get_caller_identity()["Arn"]


def shorten_cache(home, profile: str, minutes: int) -> None:
    path = KeyCache(home / ".cache" / "shellenv" / "sessions").path(profile)
    data = json.loads(path.read_text())
    soon = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=minutes)
    data["expiration"] = soon.strftime("%Y-%m-%dT%H:%M:%SZ")
    path.write_text(json.dumps(data))


def test_credential_process_prints_version_1_json_only_and_asks_on_the_terminal(cli):
    cli.add_totp_seed()
    result = cli.run(["credential-process", "dev-admin"], [PASSWORD])

    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["Version"] == 1
    assert document["AccessKeyId"].startswith("ASIA")
    assert document["SecretAccessKey"] and document["SessionToken"]
    expiry = parse_rfc3339(document["Expiration"])
    assert expiry - dt.datetime.now(dt.timezone.utc) > dt.timedelta(hours=11)
    assert document["Expiration"].endswith("Z")
    assert "Password for sandbox-dev" in result.screen
    assert result.stderr == ""  # AWS tools show a process's stderr: nothing to show, no secret


def test_credential_process_serves_the_cache_and_refreshes_ahead_of_expiry(cli, home):
    answer_nothing(cli)
    first = json.loads(cli.run(["credential-process", "dev-admin"]).stdout)
    again = json.loads(cli.run(["credential-process", "dev-admin"]).stdout)
    assert again == first and cli.assertions_issued() == 1

    # 18 minutes left: enough for a shell (5), not for botocore, which would ask again below 15.
    shorten_cache(home, "dev-admin", 18)
    exported = cli.run(["export", "--shell", "bash", "dev-admin"])
    assert exported.exit_code == 0 and cli.assertions_issued() == 1
    renewed = json.loads(cli.run(["credential-process", "dev-admin"]).stdout)
    assert cli.assertions_issued() == 2
    assert renewed["AccessKeyId"] != first["AccessKeyId"]


def test_the_refresh_window_stays_inside_short_sessions():
    assert awsfiles.process_refresh_window(None) == awsfiles.PROCESS_REFRESH_AHEAD
    assert awsfiles.process_refresh_window(43200) == awsfiles.PROCESS_REFRESH_AHEAD
    assert awsfiles.process_refresh_window(900) == 450


def test_credential_process_without_a_terminal_says_what_to_do(cli):
    cli.add_totp_seed()  # the password is still needed: there is no terminal to ask on
    result = subprocess.run([PROGRAM, "credential-process", "dev-admin"], env=cli.env,
                            capture_output=True, text=True, start_new_session=True, timeout=30)

    assert result.returncode == ExitCode.NEEDS_LOGIN
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and "terminal" in result.stderr


def test_unknown_profile_is_one_line_and_no_json(cli):
    result = cli.run(["credential-process", "dev-admn"])

    assert result.exit_code == ExitCode.NOT_FOUND
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "did you mean 'dev-admin'" in result.stderr


def test_configure_aws_lets_boto3_refresh_through_shellenv(aws_env, home):
    cli = aws_env
    answer_nothing(cli)
    config = home / ".aws" / "config"
    config.parent.mkdir(mode=0o700)
    config.write_text("# my settings\n[default]\nregion = us-east-1\n\n[profile other]\noutput = json\n")

    result = cli.run(["configure-aws", "dev-admin"])

    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    text = config.read_text()
    assert text.startswith("# my settings\n[default]\nregion = us-east-1\n\n[profile other]\noutput = json\n")
    assert f"credential_process = {PROGRAM} credential-process dev-admin\n" in text
    assert caller_arn("dev-admin").endswith(":assumed-role/Admin/alice@example.com")
    assert cli.assertions_issued() == 1
    assert caller_arn("dev-admin").endswith("/Admin/alice@example.com")
    assert cli.assertions_issued() == 1, "the second boto3 session is served from shellenv's cache"


def test_configure_aws_under_another_name_and_an_unknown_profile(aws_env, home):
    cli = aws_env
    answer_nothing(cli)
    assert cli.run(["configure-aws", "dev-readonly", "--aws-profile", "ro"]).exit_code == 0
    assert caller_arn("ro").endswith(":assumed-role/ReadOnly/alice@example.com")

    missing = cli.run(["configure-aws", "nope"])
    assert missing.exit_code == ExitCode.NOT_FOUND and missing.stderr.count("\n") == 1


def test_export_with_credentials_file_writes_keys_boto3_reads(aws_env, home):
    cli = aws_env
    answer_nothing(cli)
    path = home / ".aws" / "credentials"
    path.parent.mkdir(mode=0o700)
    path.write_text("[default]\n# my own\naws_access_key_id = AKIAMINE\n")

    result = cli.run(["export", "--shell", "bash", "--credentials-file", "dev-readonly"])

    assert result.exit_code == 0, result.stderr
    section = awsfiles.read_section(path.read_text(), "dev-readonly")
    assert f"export AWS_ACCESS_KEY_ID='{section['aws_access_key_id']}'" in result.stdout
    assert path.read_text().startswith("[default]\n# my own\naws_access_key_id = AKIAMINE\n")
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert caller_arn("dev-readonly").endswith(":assumed-role/ReadOnly/alice@example.com")


def test_profile_setting_credentials_file_writes_on_every_export(cli, home, monkeypatch):
    answer_nothing(cli)
    elsewhere = home / "creds"
    cli.env["AWS_SHARED_CREDENTIALS_FILE"] = str(elsewhere)
    text = cli.config_path.read_text().replace(
        "[profile.dev-admin]\n", "[profile.dev-admin]\ncredentials_file = true\n")
    cli.write_config(text)

    assert cli.run(["export", "--shell", "bash", "dev-admin"]).exit_code == 0
    assert cli.run(["export", "--shell", "bash", "dev-readonly"]).exit_code == 0

    written = elsewhere.read_text()
    assert "[dev-admin]" in written and "[dev-readonly]" not in written
