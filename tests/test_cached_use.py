"""A cached `shellenv use` served by the hook itself: real bash, zsh and fish, the real program, one real
login at the OneLogin emulator that writes the cache.

The hook's program is the real one behind a script that notes each run, so a test sees whether a `use`
was served in the shell or went to the program; strace shows that a served one starts no process.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shlex
import shutil
import sys
import time
from pathlib import Path

import pytest
from cli_fixtures import Cli
from conftest import missing
from shell_harness import PROGRAM, SHELLS, Session, environment, init_text, require

from shellenv.cache import KeyCache
from shellenv.sandbox import world

PROFILE = "dev-admin"  # the sandbox's 12-hour profile
ROOT = Path(__file__).resolve().parent.parent
VALID = re.compile(r"^shellenv: (?P<note>.+), valid (?:(?P<h>\d+)h)?(?P<m>\d+)m$", re.M)
TRACE = ["strace", "-f", "-qq", "-e", "trace=clone,clone3,fork,vfork,execve"]


@pytest.fixture(params=SHELLS)
def shell(request: pytest.FixtureRequest) -> str:
    return request.param


def write_config(cli: Cli, extra: str = "", *, region: str = "eu-west-1") -> None:
    """The sandbox config with the password and the TOTP seed in it: a login asks nothing."""
    secrets = f'totp_secret = "{world.ALICE_TOTP_SECRET}"\npassword = "{world.ALICE_PASSWORD}"\n'
    text = cli.sandbox.config().replace('mfa = "google"\n', 'mfa = "google"\n' + secrets)
    text = text.replace(f'[profile.{PROFILE}]\nidp = "sandbox-dev"\n'
                        'role_arn = "arn:aws:iam::111111111111:role/Admin"\nregion = "eu-west-1"',
                        f'[profile.{PROFILE}]\nidp = "sandbox-dev"\n'
                        f'role_arn = "arn:aws:iam::111111111111:role/Admin"\nregion = "{region}"')
    cli.write_config(text + extra)


def open_shell(shell: str, cli: Cli, *, env: dict[str, str] | None = None,
               trace: Path | None = None) -> Session:
    """An interactive shell with the real init text; its hook runs the program through a noting script."""
    require(shell)
    env = {**cli.sandbox.environment(), "AWS_EC2_METADATA_DISABLED": "true",
           "AWS_CONFIG_FILE": str(cli.home / ".aws" / "config"),
           "AWS_SHARED_CREDENTIALS_FILE": str(cli.home / ".aws" / "credentials"), **(env or {})}
    log = cli.home / "runs.log"
    noted = cli.home / "shellenv-noted"
    noted.write_text(f'#!/bin/sh\necho "$*" >>{shlex.quote(str(log))}\nexec {shlex.quote(PROGRAM)} "$@"\n')
    noted.chmod(0o700)
    init = init_text(shell, environment(cli.home, env))
    quoted = shlex.quote(str(noted))
    use_noted = f"set -g __shellenv_prog {quoted}" if shell == "fish" else f"__shellenv_prog={quoted}"
    wrapper = [*TRACE, "-o", str(trace)] if trace else None
    return Session(shell, cli.home, f"{init}\n{use_noted}", env=env, wrapper=wrapper, timeout=40)


def runs(cli: Cli) -> int:
    """How many times a hook has started the program."""
    log = cli.home / "runs.log"
    return len(log.read_text().splitlines()) if log.exists() else 0


def log_in(shell: str, cli: Cli, profile: str = PROFILE) -> None:
    """A first `use` in a shell of its own: the real program logs in and writes the cache."""
    session = open_shell(shell, cli)
    before = cli.assertions_issued()
    prompt = session.run(f"shellenv use {shlex.quote(profile)}")
    assert prompt.status == 0, prompt.output
    assert cli.assertions_issued() == before + 1
    session.close()


def everything(session: Session) -> dict[str, str]:
    """The whole environment a command started from the shell gets."""
    code = "import json, os; print(json.dumps(dict(os.environ)))"
    out = session.run(f"{shlex.quote(sys.executable)} -c {shlex.quote(code)}").output
    env = json.loads(out.strip().splitlines()[-1])
    env.pop("_", None)  # bash: the program's own path
    return env


def eval_export(shell: str, profile: str = PROFILE) -> str:
    if shell == "fish":  # the code's last lines erase variables that may not exist: a status, no failure
        return f"shellenv export --shell fish {shlex.quote(profile)} | source; true"
    return f'eval "$(shellenv export --shell {shell} {shlex.quote(profile)})"'


def minutes(output: str) -> tuple[str, int]:
    """The note and the minutes of validity of the message a `use` printed."""
    found = VALID.search(output)
    assert found, output
    return found["note"], int(found["h"] or 0) * 60 + int(found["m"])


def processes(trace: Path, start: int) -> list[str]:
    events = trace.read_text().splitlines()[start:]
    return [e for e in events if "execve" in e or ("clone" in e and "CLONE_THREAD" not in e)
            or "fork" in e]


def test_a_cached_use_is_served_by_the_hook(shell: str, cli: Cli) -> None:
    if shutil.which("strace") is None:
        missing("strace")
    write_config(cli)
    log_in(shell, cli)
    logins, started = cli.assertions_issued(), runs(cli)
    trace = cli.home / "strace.log"
    session = open_shell(shell, cli, env={"AWS_PROFILE": "other"}, trace=trace)
    session.run("")
    mark = len(trace.read_text().splitlines())

    served = session.run(f"shellenv use {PROFILE}")
    assert served.status == 0, served.output
    assert processes(trace, mark) == []
    assert runs(cli) == started
    assert cli.assertions_issued() == logins
    assert served.output.strip().count("\n") == 0
    hooked = everything(session)
    assert hooked["SHELLENV_PROFILE"] == PROFILE
    assert "AWS_PROFILE" not in hooked

    session.run("shellenv clear")
    program = session.run(eval_export(shell))
    assert program.status == 0, program.output
    assert runs(cli) == started + 1  # the export; clear is the hook's own
    assert everything(session) == hooked
    note, valid = minutes(served.output)
    assert note.startswith(f"{PROFILE}: ")
    assert note == minutes(program.output)[0]
    assert abs(valid - minutes(program.output)[1]) <= 1  # a minute may turn between the two
    session.close()


def test_the_program_runs_when_something_must_change(shell: str, cli: Cli) -> None:
    write_config(cli)
    log_in(shell, cli)
    cache = KeyCache()
    rendered = cache.rendered_path(PROFILE, shell)
    session = open_shell(shell, cli)

    def use(*, served: bool, args: str = PROFILE) -> str:
        before = runs(cli)
        prompt = session.run(f"shellenv use {args}")
        assert prompt.status == 0, prompt.output
        assert runs(cli) == before + (0 if served else 1), prompt.output
        return prompt.output

    use(served=True)
    assert "usage:" in use(served=False, args="--help")

    # A rendered file missing, or (where the shell can tell without a process) not the user's alone.
    code = rendered.read_bytes()
    rendered.unlink()
    use(served=False)
    rendered.write_bytes(code)
    rendered.chmod(0o600)
    if os.geteuid() == 0:  # only root can give a file away
        os.chown(rendered, 65534, 65534)
        use(served=False)
        os.chown(rendered, 0, 0)
    if shell == "zsh":  # bash and fish have no test of others' permissions without a process
        rendered.chmod(0o602)
        use(served=False)
        rendered.chmod(0o600)
    use(served=True)

    # An edited config: the program applies the new region, and writes the shell code again for the hook.
    logins = cli.assertions_issued()
    time.sleep(0.01)
    write_config(cli, region="us-west-2")
    use(served=False)
    assert session.environment("AWS_REGION")["AWS_REGION"] == "us-west-2"
    use(served=True)
    assert session.environment("AWS_REGION")["AWS_REGION"] == "us-west-2"
    assert cli.assertions_issued() == logins

    # Keys that expire within MIN_VALIDITY_SECONDS: the program logs in again.
    from shellenv import config
    from shellenv.login import MIN_VALIDITY_SECONDS, Login

    soon = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=MIN_VALIDITY_SECONDS - 60)
    Login(config.load(), None).store(cache.load(PROFILE)._replace(expiration=soon))
    use(served=False)
    assert cli.assertions_issued() == logins + 1
    left = int(session.environment("SHELLENV_EXPIRY")["SHELLENV_EXPIRY"]) - time.time()
    assert left > 11 * 3600
    use(served=True)
    session.close()


def test_a_name_spelt_otherwise_in_the_cache_goes_to_the_program(shell: str, cli: Cli) -> None:
    name = "team/dev"
    write_config(cli, f'\n[profile."{name}"]\nidp = "sandbox-dev"\n'
                      'role_arn = "arn:aws:iam::111111111111:role/Admin"\n')
    log_in(shell, cli, name)
    assert KeyCache().rendered_path(name, shell).exists()
    session = open_shell(shell, cli)
    logins = cli.assertions_issued()

    prompt = session.run(f"shellenv use {name}")
    assert prompt.status == 0, prompt.output
    assert runs(cli) == 2
    assert cli.assertions_issued() == logins
    assert session.environment("SHELLENV_PROFILE")["SHELLENV_PROFILE"] == name
    session.close()


def test_a_profile_that_writes_the_credentials_file_goes_to_the_program(shell: str, cli: Cli) -> None:
    write_config(cli)
    text = cli.config_path.read_text().replace(f"[profile.{PROFILE}]\n",
                                               f"[profile.{PROFILE}]\ncredentials_file = true\n")
    cli.write_config(text)
    log_in(shell, cli)
    assert not KeyCache().rendered_path(PROFILE, shell).exists()
    credentials = cli.home / ".aws" / "credentials"
    credentials.unlink()
    session = open_shell(shell, cli)

    prompt = session.run(f"shellenv use {PROFILE}")
    assert prompt.status == 0, prompt.output
    assert runs(cli) == 2
    assert f"[{PROFILE}]" in credentials.read_text()
    session.close()


def test_every_hook_waits_as_long_as_the_program() -> None:
    from shellenv.login import MIN_VALIDITY_SECONDS

    for shell in SHELLS:
        text = (ROOT / "shell" / f"shellenv.{shell}").read_text()
        assert re.search(rf"__shellenv_min_validity[= ]{MIN_VALIDITY_SECONDS}\b", text), shell
