"""Editing ~/.aws/credentials and ~/.aws/config: only our section changes, the rest stays byte for byte."""

from __future__ import annotations

import configparser
import datetime as dt
import os
import shlex
import stat

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shellenv import awsfiles
from shellenv.credentials import Credentials
from shellenv.errors import UsageError

USER_FILE = """\
# my keys; keep this comment
[default]
aws_access_key_id = AKIAUSERKEY
aws_secret_access_key = user/secret+1   ; inline note

; the team's profile, below
[team]
aws_access_key_id=AKIATEAM
region = eu-west-1
s3 =
    max_concurrent_requests = 4

[dev-admin]
aws_access_key_id = OLDKEY
aws_secret_access_key = OLDSECRET
aws_session_token = OLDTOKEN
output = json

# trailing comment
"""


def keys(number: int, profile: str = "dev-admin") -> Credentials:
    return Credentials(
        access_key_id=f"ASIA{number:016d}",
        secret_access_key=f"secret/{number}+x=",
        session_token=f"token%{number}//==",
        expiration=dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc),
        role_arn="arn:aws:iam::111111111111:role/Admin",
        profile=profile,
    )


def test_replacing_a_section_keeps_every_other_byte():
    values = {"aws_access_key_id": "NEW", "aws_secret_access_key": "S", "aws_session_token": "T"}
    result = awsfiles.set_section(USER_FILE, "dev-admin", values)

    expected = (USER_FILE.replace("= OLDKEY", "= NEW").replace("= OLDSECRET", "= S")
                .replace("= OLDTOKEN", "= T"))
    assert result == expected


def test_a_new_section_is_appended_after_one_blank_line():
    result = awsfiles.set_section(USER_FILE, "new", {"aws_access_key_id": "K"})

    assert result == USER_FILE + "\n[new]\naws_access_key_id = K\n"


def test_missing_keys_go_after_the_sections_last_setting_not_into_the_next_sections_comments():
    text = "[a]\nx = 1\n\n# about b\n[b]\ny = 2"
    result = awsfiles.set_section(text, "a", {"aws_session_token": "T"})

    assert result == "[a]\nx = 1\naws_session_token = T\n\n# about b\n[b]\ny = 2"
    assert awsfiles.set_section(text, "b", {"z": "3"}) == text + "\nz = 3\n"


def test_continuation_lines_of_a_replaced_value_go_with_it_and_repeated_keys_collapse():
    text = "[p]\nregion = a\n  nested = 1\nregion = b\nother = c\n"

    assert awsfiles.set_section(text, "p", {"region": "z"}) == "[p]\nregion = z\nother = c\n"


def test_keys_match_case_insensitively_and_headers_with_odd_spacing():
    text = "[ profile   dev ]  # mine\nCREDENTIAL_PROCESS : old\n"

    result = awsfiles.set_section(text, "profile dev", {"credential_process": "new"})
    assert result == "[ profile   dev ]  # mine\ncredential_process = new\n"


def test_crlf_files_stay_crlf():
    text = "[a]\r\nx = 1\r\n"

    assert awsfiles.set_section(text, "b", {"y": "2"}) == "[a]\r\nx = 1\r\n\r\n[b]\r\ny = 2\r\n"


def test_remove_section_leaves_the_neighbours():
    result = awsfiles.remove_section(USER_FILE, "team")

    assert "[team]" not in result and "max_concurrent_requests" not in result
    assert result.startswith(USER_FILE.split("[team]")[0])
    assert result.endswith(USER_FILE.split("max_concurrent_requests = 4\n")[1])


@pytest.mark.parametrize("name", ["", " x", "a]b", "a\nb", "[x"])
def test_impossible_section_names_are_refused(name):
    with pytest.raises(UsageError):
        awsfiles.set_section("", name, {"k": "v"})


def test_values_with_line_breaks_are_refused():
    with pytest.raises(UsageError):
        awsfiles.set_section("", "p", {"k": "v\n[default]"})


_line = st.text(alphabet=st.sampled_from("ab=[]#; \t\n\r:x"), max_size=40)


@settings(max_examples=300, deadline=None)
@given(text=_line)
def test_any_text_outside_the_section_survives(text):
    """Whatever the file holds, the lines before our section and after it come back unchanged."""
    result = awsfiles.set_section(text, "ours", {"aws_access_key_id": "K"})

    assert result.startswith(text.rstrip("\r\n")) or "[ours]" in text
    assert awsfiles.read_section(result, "ours") is not None
    assert awsfiles.read_section(result, "ours")["aws_access_key_id"] == "K"


def test_configparser_reads_what_we_wrote():
    result = awsfiles.set_section(USER_FILE, "dev-admin", {"aws_session_token": "token%1//=="})
    parser = configparser.RawConfigParser()
    parser.read_string(result)

    assert parser["dev-admin"]["aws_session_token"] == "token%1//=="
    assert parser["team"]["aws_access_key_id"] == "AKIATEAM"


def test_write_keys_honours_the_variable_and_makes_the_file_private(home, monkeypatch):
    path = home / "elsewhere" / "creds"
    path.parent.mkdir()
    path.write_text(USER_FILE)
    path.chmod(0o644)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(path))

    written = awsfiles.write_keys(keys(7))

    assert written == path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    section = awsfiles.read_section(path.read_text(), "dev-admin")
    assert section["aws_access_key_id"] == "ASIA0000000000000007"
    assert section["output"] == "json"
    assert path.read_text().startswith(USER_FILE.split("[dev-admin]")[0])
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_write_keys_follows_a_symlink(home):
    real = home / "dotfiles" / "aws-credentials"
    real.parent.mkdir()
    real.write_text(USER_FILE)
    link = home / ".aws" / "credentials"
    link.parent.mkdir()
    link.symlink_to(real)

    awsfiles.write_keys(keys(1), section="other")

    assert link.is_symlink()
    assert "[other]" in real.read_text()


def test_an_unchanged_file_is_not_rewritten(home):
    path = awsfiles.write_keys(keys(1))
    before = path.stat().st_ino

    awsfiles.write_keys(keys(1))

    assert path.stat().st_ino == before


def test_credential_process_line_splits_back_into_argv():
    argv = ["/opt/my tools/shellenv", "credential-process", "team/Admin", 'we"ird']

    assert shlex.split(awsfiles.command_line(argv)) == argv
    assert awsfiles.command_line(["/usr/bin/shellenv", "credential-process", "dev"]) == (
        "/usr/bin/shellenv credential-process dev")


def test_write_credential_process_into_the_config(home):
    path = awsfiles.config_file()
    path.parent.mkdir(mode=0o700)
    path.write_text("[default]\nregion = us-east-1\n")

    awsfiles.write_credential_process("dev", ["/bin/shellenv", "credential-process", "dev"],
                                      region="eu-west-1")
    awsfiles.write_credential_process("default", ["/bin/shellenv", "credential-process", "x"])

    assert path.read_text() == (
        "[default]\nregion = us-east-1\ncredential_process = /bin/shellenv credential-process x\n"
        "\n[profile dev]\ncredential_process = /bin/shellenv credential-process dev\n"
        "region = eu-west-1\n")
    assert os.stat(path.parent).st_mode & 0o077 == 0
