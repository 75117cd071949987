"""Writers killed with SIGKILL at random moments, hundreds of times: files are always the old or the new one.

A forked child loops on the real writer (KeyCache.store, awsfiles.write_keys), each write carrying its
generation number in every field, so that a torn or mixed file shows as mixed numbers. The parent kills it
after a random delay, then reads what is on disk.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import signal
import stat
import time
from collections.abc import Callable
from pathlib import Path

from shellenv import awsfiles
from shellenv.cache import KeyCache
from shellenv.credentials import Credentials

KILLS = 300
MAX_DELAY = 0.02  # seconds at least; a store takes a few ms (two fsyncs)
BASE = int(dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc).timestamp())

OTHER_SECTIONS = """\
# keep me
[default]
aws_access_key_id = AKIAUSERKEY ; mine

[dev-admin]
aws_access_key_id = placeholder

; below: the team's
[team]
region = eu-west-1
"""


def generation(number: int, profile: str = "dev-admin") -> Credentials:
    return Credentials(
        access_key_id=f"ASIA{number:016d}",
        secret_access_key=f"secret-{number}",
        session_token=f"token-{number}",
        expiration=dt.datetime.fromtimestamp(BASE + number, dt.timezone.utc),
        role_arn="arn:aws:iam::111111111111:role/Admin",
        profile=profile,
    )


def kill_writers(write: Callable[[int], None], check: Callable[[], int], kills: int = KILLS) -> int:
    """Fork a writer looping from the last generation seen, kill it at a random moment, check; repeat.
    Returns how many kills landed after at least one new write (the rest landed before any)."""
    # Kills must land before, inside and after writes whatever the machine's load: calibrate the delays
    # on the time one write takes here and now.
    first = check()
    started = time.monotonic()
    for number in range(first + 1, first + 6):
        write(number)
    max_delay = max(MAX_DELAY, 3 * (time.monotonic() - started) / 5)
    seen = check()
    changed = 0
    rng = random.Random(6)
    for _ in range(kills):
        pid = os.fork()
        if pid == 0:  # the writer: loops until killed, never returns into pytest
            try:
                number = seen + 1
                while True:
                    write(number)
                    number += 1
            finally:
                os._exit(1)
        time.sleep(rng.uniform(0, max_delay))
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        assert os.WIFSIGNALED(status), "the writer failed on its own instead of being killed"
        now = check()
        assert now >= seen, f"went back from generation {seen} to {now}"
        changed += now > seen
        seen = now
    return changed


def private(path: Path) -> bool:
    return stat.S_IMODE(path.stat().st_mode) == 0o600


def test_key_cache_survives_sigkill_at_any_moment(home):
    cache = KeyCache(home / "sessions")
    cache.store(generation(0))

    def check() -> int:
        path, stamp = cache.path("dev-admin"), cache.stamp_path("dev-admin")
        data = json.loads(path.read_text())  # parseable, never torn
        number = int(data["access_key_id"][4:])
        assert data["secret_access_key"] == f"secret-{number}"
        assert data["session_token"] == f"token-{number}"
        assert cache.load("dev-admin").expiry_epoch == BASE + number
        # The stamp is written after the keys: their generation or an earlier one, whole, its mtime its value.
        stamped = int(stamp.read_text())
        assert BASE <= stamped <= BASE + number
        assert int(stamp.stat().st_mtime) == stamped
        assert private(path) and private(stamp)
        return number

    started = time.monotonic()
    changed = kill_writers(lambda n: cache.store(generation(n)), check)
    took = time.monotonic() - started

    leftovers = [p for p in cache.root.iterdir() if p.name.endswith(".tmp")]
    assert all(private(p) for p in leftovers)
    assert changed > KILLS // 10, "kills must also land after the writer has written"
    print(f"\nkey cache: {KILLS} SIGKILLs survived in {took:.1f}s, {changed} after new writes, "
          f"{len(leftovers)} temp files left")


def test_credentials_file_survives_sigkill_at_any_moment(home):
    path = awsfiles.credentials_file()
    path.parent.mkdir(mode=0o700)
    path.write_text(OTHER_SECTIONS)
    path.chmod(0o600)
    awsfiles.write_keys(generation(0))

    def check() -> int:
        text = path.read_text()
        section = awsfiles.read_section(text, "dev-admin")
        number = int(section["aws_access_key_id"][4:])
        values = {"aws_access_key_id": f"ASIA{number:016d}", "aws_secret_access_key": f"secret-{number}",
                  "aws_session_token": f"token-{number}"}
        # Byte for byte: the user's sections around ours, and ours whole, of one generation.
        assert text == awsfiles.set_section(OTHER_SECTIONS, "dev-admin", values)
        assert private(path)
        return number

    started = time.monotonic()
    changed = kill_writers(lambda n: awsfiles.write_keys(generation(n)), check)
    took = time.monotonic() - started

    leftovers = [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    assert all(private(p) for p in leftovers)
    assert changed > KILLS // 10
    print(f"\ncredentials file: {KILLS} SIGKILLs survived in {took:.1f}s, {changed} after new writes, "
          f"{len(leftovers)} temp files left")


def test_temp_files_of_killed_writers_are_swept_by_the_next_write(home):
    path = awsfiles.credentials_file()
    awsfiles.write_keys(generation(1))
    stale = path.parent / f".{path.name}.abandoned.tmp"
    stale.write_text("aws_secret_access_key = old")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    fresh = path.parent / f".{path.name}.inflight.tmp"
    fresh.write_text("being written right now")

    awsfiles.write_keys(generation(2))

    assert not stale.exists()
    assert fresh.exists(), "a temp file another writer may still be filling is left alone"
