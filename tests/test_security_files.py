"""Security: files shellenv reads back (keys, trust) count only when they are the user's own.

Another user who can write to the cache's folders (a world-writable XDG_CACHE_HOME, a folder made by someone
else first) must not get keys served, or a project file trusted, through files of theirs.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shellenv.credentials import Credentials

PROGRAM = str(Path(sys.executable).parent / "shellenv")
NOBODY = 65534
CONFIG = """
[idp.work]
type = "saml-form"
url = "https://idp.example.com/login"

[profile.prod]
idp = "work"
role_arn = "arn:aws:iam::222222222222:role/Admin"
"""
# Keys of someone else's account: a shell holding them would send the user's data there.
PLANTED = Credentials("ASIAPLANTEDPLANTED01", "planted-secret", "planted-token",
                      dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1),
                      "arn:aws:iam::222222222222:role/Admin", "prod")


@pytest.fixture
def other_user() -> int:
    if os.getuid() != 0:
        pytest.skip("giving a file to another user takes root")
    return NOBODY


def run(home: Path, *args: str, cache: Path | None = None, cwd: Path | None = None
        ) -> subprocess.CompletedProcess[str]:
    config = home / ".config" / "shellenv" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(CONFIG)
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    if cache is not None:
        env["XDG_CACHE_HOME"] = str(cache)
    if cwd is not None:
        env["PWD"] = str(cwd)
    return subprocess.run([PROGRAM, *args], env=env, cwd=cwd or home, capture_output=True, text=True,
                          timeout=30, stdin=subprocess.DEVNULL)


def give(path: Path, uid: int, mode: int) -> None:
    os.chown(path, uid, uid)
    path.chmod(mode)


def plant_keys(sessions: Path, uid: int) -> None:
    sessions.mkdir(parents=True, exist_ok=True)
    keys = sessions / "prod.json"
    keys.write_text(json.dumps(PLANTED.to_json()))
    give(keys, uid, 0o644)


def test_keys_in_a_file_of_another_user_are_not_served(home: Path, other_user: int) -> None:
    sessions = home / ".cache" / "shellenv" / "sessions"
    plant_keys(sessions, other_user)

    result = run(home, "export", "--shell", "bash", "--cached", "prod")

    assert (result.returncode, result.stdout) == (13, ""), result.stderr
    assert "PLANTED" not in result.stdout + result.stderr


def test_a_cache_folder_of_another_user_is_refused_with_one_line(home: Path, tmp_path: Path,
                                                                 other_user: int) -> None:
    shared = tmp_path / "shared"  # XDG_CACHE_HOME pointing at a folder everyone may write to
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    folder = shared / "shellenv"
    plant_keys(folder / "sessions", other_user)
    give(folder / "sessions", other_user, 0o777)
    give(folder, other_user, 0o777)

    served = run(home, "export", "--shell", "bash", "--cached", "prod", cache=shared)
    login = run(home, "export", "--shell", "bash", "prod", cache=shared)

    assert (served.returncode, served.stdout) == (13, ""), served.stderr
    assert (login.returncode, login.stdout) == (3, ""), login.stderr
    assert len(login.stderr.splitlines()) == 1 and "Traceback" not in login.stderr
    assert str(folder) in login.stderr and "another user" in login.stderr


def test_a_trust_entry_of_another_user_does_not_allow_a_project_file(home: Path, tmp_path: Path,
                                                                     other_user: int) -> None:
    from shellenv.directories import TrustStore

    project = home / "src" / "cloned"
    project.mkdir(parents=True)
    (project / ".shellenv.toml").write_text('profile = "prod"\n')
    trust = home / ".cache" / "shellenv" / "trust"
    TrustStore(trust).allow(str(project / ".shellenv.toml"), b'profile = "prod"\n')
    for entry in (trust / "allow").iterdir():
        give(entry, other_user, 0o644)

    result = run(home, "status", cwd=project)

    assert result.returncode == 0, result.stderr
    assert "you have not allowed it" in result.stdout, result.stdout
    assert "this folder: prod" not in result.stdout
