"""The key cache: one 0600 file of keys and expiry per profile, plus a stamp that shells read for free.

It holds only keys, their expiry and what they are for: never a password, an MFA seed or an assertion.
Every write goes through `write_private` (temp file, fsync, rename), so a reader sees the old file or the new
one, never a torn one. Logins of one profile are single-flight through `KeyCache.login_lock`.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from shellenv import logs, paths
from shellenv.credentials import Credentials

if TYPE_CHECKING:
    from shellenv.terminal import Terminal

log = logs.get_logger(__name__)

LOCK_POLL_SECONDS = 0.2
LOCK_WAIT_SECONDS = 600.0  # a login with a push to approve can take minutes
RENDERED_SHELLS = ("bash", "zsh", "fish")
STALE_TEMP_SECONDS = 60.0  # a write takes milliseconds: an older temp file lost its writer


def private_dir(path: Path) -> Path:
    """Create `path` (and parents) as 0700 folders; tighten it if it exists with looser modes.

    ConfigError when `path`, or a folder between shellenv's cache folder and it, belongs to another user:
    its owner could swap what shellenv keeps there (a cache folder someone else made first, say).
    """
    # mkdir(parents=True) would give the missing parents the umask's mode (0755), not 0700.
    for folder in [*reversed(path.parents), path]:
        if not folder.exists():
            folder.mkdir(mode=0o700, exist_ok=True)
    root = paths.cache_dir()
    for folder in [path, *(f for f in path.parents if f == root or root in f.parents)]:
        _check_owner(folder)
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o700)
    return path


def _check_owner(folder: Path) -> None:
    owner = folder.stat().st_uid
    if owner != os.getuid():
        from shellenv.errors import ConfigError

        cache = paths.cache_dir()
        where = ", or set XDG_CACHE_HOME to a folder of yours" if cache in (folder, *folder.parents) else ""
        raise ConfigError(f"{folder} belongs to another user (uid {owner}), who could swap the files "
                          f"shellenv keeps there; remove it{where}")


def read_private(path: Path) -> bytes:
    """The bytes of a file shellenv wrote, or OSError: a file of another user, or one that others may
    write to, was not written by shellenv for this user and counts as missing."""
    with open(path, "rb") as handle:
        info = os.fstat(handle.fileno())
        if info.st_uid != os.getuid() or info.st_mode & 0o022:
            raise PermissionError(f"{path.name} is not the user's own")
        return handle.read()


def write_private(path: Path, data: bytes, *, mtime: float | None = None) -> None:
    """Replace `path` atomically with `data`, mode 0600. With `mtime`, the new file carries that mtime."""
    import tempfile  # not at the top: a cache hit writes nothing, and start-up pays for every import

    private_dir(path.parent)
    _sweep_temp_files(path)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if mtime is not None:
            os.utime(temp, (mtime, mtime))
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _fsync_dir(path.parent)


def _sweep_temp_files(target: Path) -> None:
    """Remove temp files of writers killed mid-write: they may hold keys. The older of mtime and ctime
    dates a file, since a stamp's temp file already carries the (future) expiry as its mtime."""
    import glob

    cutoff = time.time() - STALE_TEMP_SECONDS
    for temp in target.parent.glob(f".{glob.escape(target.name)}.*.tmp"):
        with contextlib.suppress(OSError):
            status = temp.lstat()
            if min(status.st_mtime, status.st_ctime) < cutoff:
                temp.unlink()
                log.debug("removed %s, left by a writer that died", temp.name)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


_FILE_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~@+=,")


def file_key(name: str) -> str:
    """A profile name as a safe file name (names may hold '/', ':' or anything else): other bytes are
    %-escaped, as urllib.parse.quote(name, safe="-_.@+=,") would, without its import on every start."""
    key = "".join(char if char in _FILE_SAFE else "".join(f"%{byte:02X}" for byte in char.encode())
                  for char in name)
    return key or "_"


class KeyCache:
    """Cached keys by profile name, under $XDG_CACHE_HOME/shellenv/sessions."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or paths.cache_dir() / "sessions"

    def path(self, profile: str) -> Path:
        return self.root / f"{file_key(profile)}.json"

    def stamp_path(self, profile: str) -> Path:
        """The stamp shells read on their prompt: content and mtime are the keys' expiry in epoch seconds."""
        return self.root / f"{file_key(profile)}.expiry"

    def load(self, profile: str) -> Credentials | None:
        try:
            data = json.loads(read_private(self.path(profile)))
            credentials = Credentials.from_json(data)
        except FileNotFoundError:
            log.debug("cache miss for %s: nothing cached", profile)
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.debug("cache miss for %s: unreadable entry (%s)", profile, type(exc).__name__)
            return None
        if credentials.profile != profile:
            log.debug("cache miss for %s: entry belongs to %s", profile, credentials.profile)
            return None
        return credentials

    def rendered_path(self, profile: str, shell: str) -> Path:
        """Shell code that puts the profile's keys in `shell`, which the hook sources on a cached `use`."""
        return self.root / f"{file_key(profile)}.{shell}"

    def note_path(self, profile: str) -> Path:
        """The line the hook says after such a `use`: "profile: role in account"."""
        return self.root / f"{file_key(profile)}.note"

    def store(self, credentials: Credentials, rendered: Mapping[str, str] | None = None,
              note: str | None = None) -> None:
        """Cache the keys; with `rendered` (shell name -> code) and `note`, also what the hook needs to
        serve a `use` without starting the program. The stamp goes last: shells watch it."""
        body = json.dumps(credentials.to_json(), indent=2).encode() + b"\n"
        write_private(self.path(credentials.profile), body)
        for shell in RENDERED_SHELLS:
            path = self.rendered_path(credentials.profile, shell)
            if rendered and shell in rendered and note:
                write_private(path, rendered[shell].encode())
            else:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
        if rendered and note:
            write_private(self.note_path(credentials.profile), f"{note}\n".encode())
        expiry = credentials.expiry_epoch
        write_private(self.stamp_path(credentials.profile), f"{expiry}\n".encode(), mtime=expiry)
        log.debug("cached %s for %s", credentials.describe(), credentials.profile)

    def remove(self, profile: str) -> None:
        rendered = [self.rendered_path(profile, shell) for shell in RENDERED_SHELLS]
        for path in (self.stamp_path(profile), *rendered, self.note_path(profile), self.path(profile)):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def profiles(self) -> list[str]:
        """Names of the profiles with an entry, readable or not."""
        if not self.root.is_dir():
            return []
        names = []
        for path in sorted(self.root.glob("*.json")):
            credentials = self.load_path(path)
            if credentials:
                names.append(credentials.profile)
        return names

    def load_path(self, path: Path) -> Credentials | None:
        try:
            return Credentials.from_json(json.loads(read_private(path)))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    @contextlib.contextmanager
    def login_lock(self, profile: str, terminal: Terminal | None = None) -> Iterator[None]:
        """Hold the login of `profile` for this process alone: other callers wait, then read the cache.

        The lock is a kernel file lock, released when its holder dies. A holder whose process is gone but
        whose lock lives on (a child inherited the descriptor) is detected with psutil and taken over.
        """
        from filelock import FileLock, Timeout

        private_dir(self.root)
        lock_path = self.root / f"{file_key(profile)}.lock"
        owner_path = self.root / f"{file_key(profile)}.owner"
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        told = False
        while True:
            lock = FileLock(str(lock_path), mode=0o600, is_singleton=False)
            try:
                lock.acquire(timeout=LOCK_POLL_SECONDS)
                break
            except Timeout:
                owner = _read_owner(owner_path)
                if owner and not _alive(*owner):
                    log.info("taking over the login lock of %s from dead process %d", profile, owner[0])
                    _take_over(lock_path, owner_path, owner)
                    continue
                if not told and terminal is not None:
                    who = f" (process {owner[0]})" if owner else ""
                    terminal.message(f"another shellenv{who} is logging in to {profile}; waiting for it")
                    told = True
                if time.monotonic() > deadline:
                    from shellenv.errors import NetworkError

                    raise NetworkError(
                        f"gave up waiting for another login of {profile}; try again"
                    ) from None
        try:
            _write_owner(owner_path)
            yield
        finally:
            with contextlib.suppress(OSError):
                owner_path.unlink()
            lock.release()


def _read_owner(path: Path) -> tuple[int, float] | None:
    try:
        pid, started = path.read_text().split()
        return int(pid), float(started)
    except (OSError, ValueError):
        return None


def _write_owner(path: Path) -> None:
    import psutil

    me = psutil.Process()
    write_private(path, f"{me.pid} {me.create_time()}\n".encode())


def _alive(pid: int, started: float) -> bool:
    """Is the process that wrote the owner file still running (and not a new one with a reused pid)?"""
    import psutil

    try:
        process = psutil.Process(pid)
        return abs(process.create_time() - started) < 1.0 and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _take_over(lock_path: Path, owner_path: Path, owner: tuple[int, float]) -> None:
    """Replace a lock file whose holder is dead, once: only if the owner file still names that holder."""
    if _read_owner(owner_path) != owner:
        return
    with contextlib.suppress(FileNotFoundError):
        owner_path.unlink()
    with contextlib.suppress(FileNotFoundError):
        lock_path.unlink()
