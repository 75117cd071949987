"""Automatic refresh end to end: real shells, the real program, a real login at the OneLogin emulator.

Keys near expiry sit in the cache and in two open shells of a profile with `auto_refresh = true`; both
shells start `shellenv refresh --background` at their prompt, one login happens, both pick up its keys.
"""

from __future__ import annotations

import re
import shlex
import time
from pathlib import Path

import pytest
from cli_fixtures import Cli
from shell_harness import (
    PROGRAM,
    SHELLS,
    Prompt,
    Session,
    cache_keys,
    environment,
    init_text,
    keys_line,
    require,
)

from shellenv.cache import KeyCache
from shellenv.sandbox import world

PROFILE = "dev-readonly"  # the sandbox's one-hour profile
# Keys left in the cache with LEFT seconds to go: inside refresh_before, outside warn_again, so the first
# prompt starts a refresh and says nothing (with automatic refresh the first warning is silent).
LEFT = 120
SHELL_TABLE = 'refresh_before = "5m"\nwarn_before = "10m"\nwarn_again = "1m"\n'


@pytest.fixture(params=SHELLS)
def shell(request: pytest.FixtureRequest) -> str:
    return request.param


def write_config(cli: Cli, *, password: bool) -> None:
    """The sandbox config with a TOTP seed (no human for the factor), and the password unless asked not."""
    secrets = f'totp_secret = "{world.ALICE_TOTP_SECRET}"\n'
    if password:
        secrets += f'password = "{world.ALICE_PASSWORD}"\n'
    text = cli.sandbox.config().replace('mfa = "google"\n', 'mfa = "google"\n' + secrets)
    text = text.replace(f"[profile.{PROFILE}]\n", f"[profile.{PROFILE}]\nauto_refresh = true\n")
    cli.write_config(f"[shell]\n{SHELL_TABLE}\n{text}")


def wrapper(home: Path) -> Path:
    """The real program behind a script that notes each background refresh: its start and exit status."""
    log = home / "background.log"
    script = home / "shellenv-noted"
    script.write_text(
        "#!/bin/sh\n"
        f'case " $* " in *" --background "*) echo "start $$" >>{shlex.quote(str(log))} ;; esac\n'
        f'{shlex.quote(PROGRAM)} "$@"\nstatus=$?\n'
        f'case " $* " in *" --background "*) echo "exit $$ $status" >>{shlex.quote(str(log))} ;; esac\n'
        'exit "$status"\n')
    script.chmod(0o700)
    return log


def open_shell(shell: str, cli: Cli) -> Session:
    """An interactive shell with the real init text, whose hook runs the noted program."""
    require(shell)
    env = {**cli.sandbox.environment(), "AWS_EC2_METADATA_DISABLED": "true",
           "AWS_CONFIG_FILE": str(cli.home / ".aws" / "config"),
           "AWS_SHARED_CREDENTIALS_FILE": str(cli.home / ".aws" / "credentials")}
    init = init_text(shell, environment(cli.home, env))
    noted = shlex.quote(str(cli.home / "shellenv-noted"))
    use_noted = f"set -g __shellenv_prog {noted}" if shell == "fish" else f"__shellenv_prog={noted}"
    return Session(shell, cli.home, f"{init}\n{use_noted}", env=env)


def lines(prompt: Prompt) -> list[str]:
    return [line.strip() for line in prompt.output.splitlines() if line.strip()]


def background_runs(log: Path, *, timeout: float = 30) -> list[str]:
    """The background refreshes' log once every one that started has exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        entries = log.read_text().splitlines() if log.exists() else []
        starts = [e for e in entries if e.startswith("start")]
        if starts and len(entries) == 2 * len(starts):
            return entries
        time.sleep(0.1)
    raise AssertionError(f"background refreshes still running: {entries}")


def test_two_shells_refresh_in_the_background_with_one_login(shell: str, cli: Cli) -> None:
    write_config(cli, password=True)
    log = wrapper(cli.home)
    old = cache_keys(PROFILE, LEFT, key="ASIAOLDKEY")
    stamp = str(KeyCache().stamp_path(PROFILE))
    expiry = int(old.expiration.timestamp())
    shells = [open_shell(shell, cli), open_shell(shell, cli)]

    # Both shells get the keys at the same moment, as two terminals of one `shellenv use` would hold them.
    line = keys_line(shell, expiry, profile=PROFILE, stamp=stamp, refresh=True)
    for session in shells:
        session.send(line)
    assert [lines(session.wait()) for session in shells] == [[], []]
    runs = background_runs(log)
    assert len([e for e in runs if e.startswith("start")]) == 2, runs
    assert all(e.endswith(" 0") for e in runs if e.startswith("exit")), runs
    assert cli.assertions_issued() == 1

    renewed = KeyCache().load(PROFILE)
    assert renewed is not None and renewed.access_key_id != "ASIAOLDKEY"
    assert renewed.seconds_left() > 3000
    for session in shells:
        said = lines(session.run(""))
        assert len(said) == 1 and re.fullmatch(
            rf"shellenv: renewed keys for {PROFILE} picked up \(valid (59|1h00)m\)", said[0]), said
        assert session.environment("AWS_ACCESS_KEY_ID", "SHELLENV_EXPIRY") == {
            "AWS_ACCESS_KEY_ID": renewed.access_key_id,
            "SHELLENV_EXPIRY": str(int(renewed.expiration.timestamp()))}
        prompt = session.run("")
        assert lines(prompt) == [] and re.search(rf"aws:{PROFILE} (59m|1h00m)", prompt.text)
        session.close()
    assert cli.assertions_issued() == 1
    assert len(log.read_text().splitlines()) == 4  # the new keys start no refresh


def test_a_refresh_that_needs_a_human_says_what_to_run(shell: str, cli: Cli) -> None:
    """No stored password: the background refresh gives up without asking, the shell says what to run."""
    write_config(cli, password=False)
    log = wrapper(cli.home)
    old = cache_keys(PROFILE, 63, key="ASIAOLDKEY")  # a minute (warn_again) and three seconds
    expiry = int(old.expiration.timestamp())
    session = open_shell(shell, cli)

    prompt = session.run(keys_line(shell, expiry, profile=PROFILE, stamp=str(KeyCache().stamp_path(PROFILE)),
                                   refresh=True))
    assert lines(prompt) == []
    runs = background_runs(log)
    assert len(runs) == 2 and not runs[1].endswith(" 0"), runs
    assert cli.assertions_issued() == 0

    time.sleep(max(0.0, expiry - 60 + 0.2 - time.time()))
    prompt = session.run("")
    assert re.fullmatch(rf"shellenv: keys for {PROFILE} expire in (1m|59s|58s) and automatic refresh has "
                        r"not renewed them; run `shellenv refresh`", "".join(lines(prompt))), prompt.output
    assert lines(session.run("")) == []
    assert len(log.read_text().splitlines()) == 2  # one try per set of keys, not one per prompt
    assert session.environment("AWS_ACCESS_KEY_ID") == {"AWS_ACCESS_KEY_ID": "ASIAHAND"}
    session.close()
