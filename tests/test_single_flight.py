"""One login for many callers: 20 programs asking for one expired profile at once, and locks left by the dead.

The 20 are the real program, started together against the sandbox; the IdP emulator counts the logins.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from cli_fixtures import PROGRAM

from shellenv.cache import KeyCache
from shellenv.sandbox import world

CALLERS = 20


def answer_nothing(cli) -> None:
    """Password and TOTP seed in the (0600) config: a login needs no terminal, so 20 can run at once."""
    text = cli.config_path.read_text().replace(
        'mfa = "google"',
        f'mfa = "google"\ntotp_secret = "{world.ALICE_TOTP_SECRET}"\npassword = "{world.ALICE_PASSWORD}"')
    cli.write_config(text)


def expire(home: Path, profile: str) -> None:
    """Turn a cached entry into one that expired a minute ago."""
    path = KeyCache(home / ".cache" / "shellenv" / "sessions").path(profile)
    data = json.loads(path.read_text())
    past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)
    data["expiration"] = past.strftime("%Y-%m-%dT%H:%M:%SZ")
    path.write_text(json.dumps(data))


def start_export(cli, profile: str) -> subprocess.Popen[str]:
    # A new session: no controlling terminal, so nothing could ever be asked on the developer's screen.
    return subprocess.Popen([PROGRAM, "export", "--shell", "bash", profile], env=cli.env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def test_twenty_exports_of_an_expired_profile_make_one_login(cli, home):
    answer_nothing(cli)
    first = cli.run(["export", "--shell", "bash", "dev-admin"])
    assert first.exit_code == 0, first.stderr
    expire(home, "dev-admin")
    cli.onelogin("POST", "/__sandbox/reset", {})

    started = time.monotonic()
    callers = [start_export(cli, "dev-admin") for _ in range(CALLERS)]
    results = [(c.wait(timeout=60), *c.communicate()) for c in callers]
    took = time.monotonic() - started

    assert [code for code, _, _ in results] == [0] * CALLERS, [err for _, _, err in results]
    assert cli.assertions_issued() == 1
    keys = {line for _, out, _ in results for line in out.splitlines()
            if line.startswith("export AWS_ACCESS_KEY_ID=")}
    assert len(keys) == 1, "every caller got the keys of the one login"
    assert keys != {line for line in first.stdout.splitlines()
                    if line.startswith("export AWS_ACCESS_KEY_ID=")}, "and they are new keys"
    waiting = [err for _, _, err in results if "is logging in to dev-admin; waiting for it" in err]
    assert waiting, "callers that waited said so"
    for _, out, _ in results:
        assert all(line.startswith(("export ", "unset ")) for line in out.splitlines())
    print(f"\n{CALLERS} exports of an expired profile: 1 login, {len(waiting)} waited, {took:.2f}s")


HOLDER = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from shellenv.cache import KeyCache

    cache = KeyCache(Path(sys.argv[1]))
    with cache.login_lock("dev-admin"):
        if sys.argv[2] == "fork":
            # A child that inherits the lock's descriptor keeps the kernel lock alive after we die.
            if os.fork() == 0:
                time.sleep(60)
                os._exit(0)
        print("holding", flush=True)
        time.sleep(60)
""")


def _holder(root: Path, mode: str) -> subprocess.Popen[str]:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(root), mode], stdout=subprocess.PIPE,
                              text=True, start_new_session=True)
    assert holder.stdout.readline().strip() == "holding"
    return holder


def _kill_group(holder: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(holder.pid, signal.SIGKILL)


@pytest.mark.parametrize("mode", ["alone", "fork"])
def test_a_lock_left_by_a_killed_holder_is_taken_over_within_a_second(home, mode):
    root = home / "sessions"
    holder = _holder(root, mode)
    try:
        holder.kill()
        holder.wait()
        killed = time.monotonic()
        with KeyCache(root).login_lock("dev-admin"):
            waited = time.monotonic() - killed
    finally:
        _kill_group(holder)  # the forked child too
    assert waited < 1.0, f"took {waited:.2f}s to take the lock over"
    print(f"\nstale lock ({mode}): taken over after {waited * 1000:.0f} ms")


def test_a_live_holder_is_waited_for_not_taken_over(home):
    root = home / "sessions"
    holder = _holder(root, "alone")
    try:
        from shellenv import cache

        started = time.monotonic()
        with pytest.raises(Exception) as failure:
            old = cache.LOCK_WAIT_SECONDS
            cache.LOCK_WAIT_SECONDS = 0.6
            try:
                with KeyCache(root).login_lock("dev-admin"):
                    pass
            finally:
                cache.LOCK_WAIT_SECONDS = old
        assert "gave up waiting for another login of dev-admin" in str(failure.value)
        assert time.monotonic() - started >= 0.6
    finally:
        holder.kill()
        holder.wait()


TAKER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from shellenv.cache import KeyCache

    with KeyCache(Path(sys.argv[1])).login_lock("dev-admin"):
        start = time.time()
        time.sleep(0.15)
        print(start, time.time(), flush=True)
""")


def test_many_callers_meeting_a_stale_lock_still_hold_it_one_at_a_time(home):
    """Ten processes find the same dead holder at once: each takes the lock in turn, never two together."""
    root = home / "sessions"
    holder = _holder(root, "fork")
    try:
        holder.kill()
        holder.wait()
        takers = [subprocess.Popen([sys.executable, "-c", TAKER, str(root)], stdout=subprocess.PIPE,
                                   text=True) for _ in range(10)]
        spans = sorted(tuple(map(float, t.communicate(timeout=60)[0].split())) for t in takers)
    finally:
        _kill_group(holder)
    assert len(spans) == 10
    for (_, end), (start, _) in zip(spans, spans[1:]):
        assert start >= end, f"two holders at once: {spans}"
