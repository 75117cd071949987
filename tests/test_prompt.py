"""The prompt segment and expiry warnings in real interactive bash, zsh and fish, over real time.

The windows are set to seconds in the config's [shell] table so that a test watches keys go from valid to
warned to expired in a few seconds; keys renewed by another process reach the shell through the stamp.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from shell_harness import SHELLS, Prompt, Session, cache_keys, keys_line, open_session

OK, WARN, EXPIRED = "\x1b[36m", "\x1b[1;33m", "\x1b[1;31m"


@pytest.fixture(params=SHELLS)
def shell(request: pytest.FixtureRequest) -> str:
    return request.param


def lines(prompt: Prompt) -> list[str]:
    """The non-blank lines printed before a prompt."""
    return [line.strip() for line in prompt.output.splitlines() if line.strip()]


def prompt_at(session: Session, expiry: int, left: int) -> Prompt:
    """The prompt drawn when `left` whole seconds remain before `expiry`."""
    time.sleep(max(0.0, expiry - left + 0.15 - time.time()))
    return session.run("")


def test_segment_and_each_warning_once_through_expiry(shell: str, home: Path) -> None:
    session = open_session(shell, home, shell_table="warn_before = 3\nwarn_again = 2\nrefresh_before = 1")
    expiry = int(time.time()) + 6
    session.run(keys_line(shell, expiry))
    said = []

    prompt = prompt_at(session, expiry, 5)
    said += lines(prompt)
    assert OK + "aws:dev 5s" in prompt.segment

    prompt = prompt_at(session, expiry, 3)
    assert WARN + "aws:dev 3s" in prompt.segment
    assert lines(prompt) == ["shellenv: keys for dev expire in 3s; run `shellenv refresh` to renew them"]
    said += lines(session.run(""))

    prompt = prompt_at(session, expiry, 2)
    assert lines(prompt) == ["shellenv: keys for dev expire in 2s; run `shellenv refresh` to renew them"]
    said += lines(session.run(""))

    prompt = prompt_at(session, expiry, 0)
    assert EXPIRED + "aws:dev expired" in prompt.segment
    assert lines(prompt) == [("shellenv: keys for dev expired and were removed from this shell; "
                             "run `shellenv refresh` to log in again")]
    prompt = session.run("")
    said += lines(prompt)
    assert EXPIRED + "aws:dev expired" in prompt.segment
    assert said == []
    assert session.environment("AWS_ACCESS_KEY_ID", "SHELLENV_EXPIRY") == {
        "AWS_ACCESS_KEY_ID": None, "SHELLENV_EXPIRY": None}

    assert session.run("shellenv clear").text == ""
    session.close()


def test_expired_keys_stay_when_clear_expired_is_off(shell: str, home: Path) -> None:
    session = open_session(shell, home, shell_table="clear_expired = false")
    prompt = session.run(keys_line(shell, int(time.time()) - 5))
    assert EXPIRED + "aws:dev expired" in prompt.segment
    assert lines(prompt) == ["shellenv: keys for dev expired; run `shellenv refresh` to log in again"]
    assert lines(session.run("")) == []
    assert session.environment("AWS_ACCESS_KEY_ID") == {"AWS_ACCESS_KEY_ID": "ASIAHAND"}
    session.close()


def test_segment_names_account_and_role_without_a_profile(shell: str, home: Path) -> None:
    session = open_session(shell, home)
    prompt = session.run(keys_line(shell, int(time.time()) + 2 * 3600 + 330, profile=None))
    assert re.search(r"aws:acme-dev/Admin 2h0[45]m", prompt.text)
    assert session.run("echo $SHELLENV_PROMPT_STATE").output == "ok\n"
    session.close()


def test_keys_renewed_elsewhere_are_picked_up_at_the_next_prompt(shell: str, home: Path) -> None:
    cache_keys("dev", 1800, key="ASIAFIRST")
    session = open_session(shell, home, shell_table='warn_before = "1h"')
    assert re.search("expire in (29|30)m", session.run("shellenv use dev").output)

    cache_keys("dev", 7200, key="ASIASECOND")  # as another shell or a background refresh would
    prompt = session.run("")
    assert re.fullmatch(r"shellenv: renewed keys for dev picked up \(valid (1h59m|2h00m)\)",
                        "".join(lines(prompt)))
    assert re.search(re.escape(OK) + r"aws:dev (1h59m|2h00m)", prompt.segment)
    assert session.environment("AWS_ACCESS_KEY_ID") == {"AWS_ACCESS_KEY_ID": "ASIASECOND"}
    assert lines(session.run("")) == []
    session.close()


def test_keys_renewed_after_expiry_are_picked_up(shell: str, home: Path) -> None:
    """Expired keys were cleared; a login elsewhere (here: the cache written anew) brings the profile back."""
    from shellenv.cache import KeyCache

    session = open_session(shell, home)
    stamp = str(KeyCache().stamp_path("dev"))
    prompt = session.run(keys_line(shell, int(time.time()) - 5, stamp=stamp))
    assert "removed from this shell" in prompt.output and EXPIRED + "aws:dev expired" in prompt.segment
    assert lines(session.run("")) == []

    cache_keys("dev", 7200, key="ASIARENEWED")
    prompt = session.run("")
    assert re.fullmatch(r"shellenv: renewed keys for dev picked up \(valid (1h59m|2h00m)\)",
                        "".join(lines(prompt)))
    assert re.search(re.escape(OK) + r"aws:dev (1h59m|2h00m)", prompt.segment)
    assert session.environment("AWS_ACCESS_KEY_ID") == {"AWS_ACCESS_KEY_ID": "ASIARENEWED"}
    session.close()


def test_prompt_off_leaves_the_prompt_alone_but_keeps_the_variables(shell: str, home: Path) -> None:
    session = open_session(shell, home, shell_table="prompt = false")
    prompt = session.run(keys_line(shell, int(time.time()) + 7000))
    assert "aws:" not in prompt.text
    assert session.run("echo $SHELLENV_PROMPT_SEGMENT").output.startswith("aws:dev 1h5")
    session.close()


def test_no_color_drops_the_colours(shell: str, home: Path) -> None:
    session = open_session(shell, home, env={"NO_COLOR": "1"})
    prompt = session.run(keys_line(shell, int(time.time()) + 7000))
    assert "aws:dev 1h5" in prompt.segment and OK not in prompt.segment
    session.close()
