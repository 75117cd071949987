"""`exec` runs one command with a profile's keys; `console` signs in through the federation endpoint;
`list` and `whoami` tell what is cached and who AWS says the keys are. All against the sandbox."""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.parse
import urllib.request

import pytest
from test_single_flight import answer_nothing

from shellenv import console
from shellenv.cache import write_private
from shellenv.errors import ExitCode

SHOW_ENV = ("import json, os; print(json.dumps({k: os.environ.get(k) for k in "
            "('AWS_ACCESS_KEY_ID', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_DEFAULT_PROFILE', "
            "'SHELLENV_PROFILE', 'AWS_REGION', 'MINE')}))")


_SEED: dict[str, bytes] = {}


@pytest.fixture
def ready(cli, home):
    """The sandbox config, with dev-admin's keys already cached: one login for the whole module."""
    answer_nothing(cli)
    sessions = home / ".cache" / "shellenv" / "sessions"
    if not _SEED:
        assert cli.run(["export", "--shell", "bash", "dev-admin"]).exit_code == 0
        _SEED.update({p.name: p.read_bytes() for p in sessions.glob("dev-admin.*")})
    else:
        for name, data in _SEED.items():
            write_private(sessions / name, data)
    return cli


# -- exec ---------------------------------------------------------------------------------------------------


def test_exec_puts_the_keys_in_the_commands_environment_and_removes_profiles(ready):
    result = ready.run(["exec", "dev-admin", "--", sys.executable, "-c", SHOW_ENV],
                       env={"AWS_PROFILE": "someone-else", "AWS_DEFAULT_PROFILE": "x", "MINE": "kept"})

    assert result.exit_code == 0, result.stderr
    env = json.loads(result.stdout)
    assert env["AWS_ACCESS_KEY_ID"].startswith("ASIA") and env["AWS_SESSION_TOKEN"]
    assert env["AWS_PROFILE"] is None and env["AWS_DEFAULT_PROFILE"] is None
    assert env["SHELLENV_PROFILE"] == "dev-admin" and env["AWS_REGION"] == "eu-west-1"
    assert env["MINE"] == "kept"


def test_exec_keys_work_for_the_command(ready):
    script = "import boto3; print(boto3.client('sts').get_caller_identity()['Arn'])"
    result = ready.run(["exec", "dev-admin", "--", sys.executable, "-c", script])

    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip().endswith(":assumed-role/Admin/alice@example.com")


@pytest.mark.parametrize(("script", "status"), [
    ("exit 0", 0), ("exit 7", 7), ("exit 255", 255),
    ("kill -TERM $$", 128 + 15), ("kill -KILL $$", 128 + 9), ("kill -INT $$", 128 + 2),
])
def test_exec_passes_the_exit_status_through(ready, script, status):
    result = ready.run(["exec", "dev-admin", "--", "/bin/sh", "-c", script])

    assert result.exit_code == status, result.stderr


def test_exec_hands_a_terminating_signal_on_to_the_command(ready):
    # The command reports SIGTERM and exits 42: shellenv must forward the signal and then pass 42 through.
    script = "trap 'echo got-term; exit 42' TERM; kill -TERM $PPID; sleep 5 & wait"
    result = ready.run(["exec", "dev-admin", "--", "/bin/sh", "-c", script])

    assert result.exit_code == 42, result.stderr
    assert "got-term" in result.stdout


def test_exec_involves_no_shell(ready, home):
    result = ready.run(["exec", "dev-admin", "--", "printf", "%s|", "$HOME", "a b", "*"])

    assert result.stdout == "$HOME|a b|*|"


@pytest.mark.parametrize(("args", "code", "words"), [
    (["exec", "dev-admin"], ExitCode.USAGE, "name the command to run"),
    (["exec", "dev-admin", "--"], ExitCode.USAGE, "name the command to run"),
    (["exec", "dev-admin", "--", "no-such-program-here"], ExitCode.NOT_FOUND, "command not found"),
    (["exec", "nope", "--", "true"], ExitCode.NOT_FOUND, "no profile 'nope'"),
])
def test_exec_failures_are_one_line(ready, args, code, words):
    result = ready.run(args)

    assert result.exit_code == code
    assert result.stderr.count("\n") == 1 and words in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_a_mistyped_command_fails_before_any_login(cli):
    # dev-readonly has no cached keys: a login would ask for a password that nobody types here.
    result = cli.run(["exec", "dev-readonly", "--", "terrafrom", "plan"], timeout=10)

    assert result.exit_code == ExitCode.NOT_FOUND and "command not found: terrafrom" in result.stderr
    assert "Password" not in result.screen and cli.assertions_issued() == 0


# -- console ------------------------------------------------------------------------------------------------


def follow(url: str) -> tuple[int, str]:
    """Open the sign-in URL without following the redirect: the status and where it sends the browser."""
    class Stop(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    try:
        urllib.request.build_opener(Stop).open(url, timeout=10)
    except urllib.error.HTTPError as answer:
        return answer.code, answer.headers.get("Location", "")
    raise AssertionError("the endpoint did not redirect")


def test_console_prints_a_sign_in_url_that_logs_in_as_the_role(ready):
    result = ready.run(["console", "dev-admin"])

    assert result.exit_code == 0, result.stderr
    url = result.stdout.strip()
    assert result.stdout.count("\n") == 1
    assert url.startswith(ready.sandbox.url("federation") + "/federation?Action=login&")
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    assert query["Issuer"] == "shellenv"
    assert query["Destination"] == "https://console.aws.amazon.com/console/home?region=eu-west-1"
    assert query["SigninToken"] not in result.stderr + result.screen
    assert "ASIA" not in url, "the keys never travel in a URL"

    status, location = follow(url)
    assert (status, location) == (302, query["Destination"])
    login = ready.sandbox.apps["federation"].logins[-1]
    assert login.assumed_role_arn.endswith(":assumed-role/Admin/alice@example.com")


def test_console_for_a_service_and_a_session_length(ready):
    result = ready.run(["console", "dev-admin", "--service", "s3", "--duration", "2h"])

    assert result.exit_code == 0, result.stderr
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(result.stdout.strip()).query))
    assert query["Destination"] == "https://console.aws.amazon.com/s3/home?region=eu-west-1"
    follow(result.stdout.strip())
    login = ready.sandbox.apps["federation"].logins[-1]
    assert 7100 < login.session_ends - ready.sandbox.apps["federation"].clock() <= 7200


def test_console_of_the_active_profile_and_bad_durations(ready):
    assert ready.run(["console"]).exit_code == ExitCode.USAGE
    assert ready.run(["console"], env={"SHELLENV_PROFILE": "dev-admin"}).exit_code == 0
    bad = ready.run(["console", "dev-admin", "--duration", "13h"])
    assert bad.exit_code == ExitCode.USAGE and bad.stderr.count("\n") == 1
    assert bad.stdout == ""


@pytest.mark.parametrize(("partition", "signin", "landing"), [
    ("aws", "https://signin.aws.amazon.com/federation",
     "https://console.aws.amazon.com/console/home?region=eu-west-1"),
    ("aws-cn", "https://signin.amazonaws.cn/federation",
     "https://console.amazonaws.cn/console/home?region=cn-north-1"),
    ("aws-us-gov", "https://signin.amazonaws-us-gov.com/federation",
     "https://console.amazonaws-us-gov.com/console/home?region=us-gov-west-1"),
])
def test_each_partition_signs_in_on_its_own_hosts(partition, signin, landing):
    region = {"aws": "eu-west-1", "aws-cn": "cn-north-1", "aws-us-gov": "us-gov-west-1"}[partition]

    assert console.federation_url(partition) == signin
    assert console.destination(partition, region) == landing


# -- list and whoami ----------------------------------------------------------------------------------------


def test_list_shows_every_profile_with_alias_role_and_cached_time(ready):
    ready.run(["export", "--shell", "bash", "dev-admin"])
    result = ready.run(["list"], env={"SHELLENV_PROFILE": "dev-admin"})

    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["PROFILE", "ACCOUNT", "ROLE", "KEYS"]
    admin = next(line for line in lines if "dev-admin" in line)
    assert admin.startswith("* dev-admin") and "sandbox-dev (111111111111)" in admin
    assert "Admin" in admin and "valid 11h5" in admin
    readonly = next(line for line in lines if " dev-readonly " in line)
    assert readonly.rstrip().endswith("-")

    rows = json.loads(ready.run(["list", "--json"]).stdout)
    row = next(r for r in rows if r["profile"] == "dev-admin")
    assert row["alias"] == "sandbox-dev" and row["seconds_left"] > 11 * 3600


def test_whoami_asks_sts_with_the_active_keys_or_a_profiles_cache(ready):
    exported = ready.run(["exec", "dev-admin", "--", sys.executable, "-m", "shellenv", "whoami"])
    assert exported.exit_code == 0, exported.stderr
    assert "Arn:     arn:aws:sts::111111111111:assumed-role/Admin/alice@example.com" in exported.stdout
    assert "Profile: dev-admin" in exported.stdout

    cached = ready.run(["whoami", "dev-admin"])
    assert "Account: 111111111111" in cached.stdout

    nothing = ready.run(["whoami", "dev-readonly"])
    assert nothing.exit_code == ExitCode.NEEDS_LOGIN and nothing.stderr.count("\n") == 1
    typo = ready.run(["whoami", "dev-admn"])  # not "run `shellenv use dev-admn`", which cannot work
    assert typo.exit_code == ExitCode.NOT_FOUND and "did you mean 'dev-admin'?" in typo.stderr
    bare = ready.run(["whoami"])
    assert bare.exit_code == ExitCode.USAGE and "shellenv use PROFILE" in bare.stderr
