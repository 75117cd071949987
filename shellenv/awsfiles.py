"""The AWS CLI's own files: a profile's keys in ~/.aws/credentials, its credential_process in ~/.aws/config.

It edits the text of those files, changing only the lines of the one section it writes, and replaces each
file atomically with mode 0600. It never rewrites a file through configparser (that loses the comments).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from shellenv import paths
from shellenv.cache import private_dir, write_private
from shellenv.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from shellenv.credentials import Credentials

log = logging.getLogger(__name__)

LOCK_WAIT_SECONDS = 30.0  # another shellenv rewriting the same file is done in milliseconds

_HEADER = re.compile(r"^[ \t]*\[([^\]\r\n]*)\][ \t]*(?:[#;].*)?$")
_KEY = re.compile(r"^([^\s=:#;\[][^=:]*?)[ \t]*[=:]")
_PLAIN_WORD = re.compile(r"^[A-Za-z0-9_./:@%+,=-]+$")


# -- where the files are ------------------------------------------------------------------------------------


def credentials_file() -> Path:
    """~/.aws/credentials, or AWS_SHARED_CREDENTIALS_FILE as the AWS CLI reads it."""
    return _aws_path("AWS_SHARED_CREDENTIALS_FILE", "credentials")


def config_file() -> Path:
    """~/.aws/config, or AWS_CONFIG_FILE as the AWS CLI reads it."""
    return _aws_path("AWS_CONFIG_FILE", "config")


def _aws_path(variable: str, name: str) -> Path:
    explicit = os.environ.get(variable)
    if explicit:
        return Path(explicit).expanduser()
    return Path.home() / ".aws" / name


# -- editing the text ---------------------------------------------------------------------------------------


def config_section(profile: str) -> str:
    """The section of ~/.aws/config for an AWS profile: `default` or `profile NAME`."""
    return "default" if profile == "default" else f"profile {profile}"


def set_section(text: str, section: str, values: Mapping[str, str]) -> str:
    """`text` with `section` holding `values`: keys there are replaced in place, missing keys are added at the
    end of the section, a missing section is appended. Every other line stays byte for byte."""
    _check_section(section)
    for key, value in values.items():
        if "\n" in value or "\r" in value or not _KEY.match(f"{key} ="):
            raise UsageError(f"cannot write {key} to an AWS file: the value or name holds a line break")
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.splitlines(keepends=True)
    span = _find_section(lines, section)
    if span is None:
        return _append_section(text, section, values, newline)

    start, end = span
    body = lines[start + 1:end]
    missing = dict(values)
    edited: list[str] = []
    skipping = False
    for line in body:
        key = _key_of(line)
        if skipping and key is None and line.strip() and line[:1] in " \t":
            continue  # a continuation line of a value being replaced
        skipping = False
        if key is not None and key in {k.lower() for k in values}:
            name = next(k for k in values if k.lower() == key)
            if name in missing:
                edited.append(f"{name} = {missing.pop(name)}{_ending(line, newline)}")
            skipping = True  # a repeated key is dropped, so the value written is the one read
            continue
        edited.append(line)
    insert_at = _after_last_setting(edited)
    added = [f"{key} = {value}{newline}" for key, value in missing.items()]
    if added and insert_at > 0 and not edited[insert_at - 1].endswith(("\n", "\r")):
        edited[insert_at - 1] += newline
    if added and insert_at == 0 and not lines[start].endswith(("\n", "\r")):
        lines[start] += newline
    edited[insert_at:insert_at] = added
    return "".join(lines[:start + 1] + edited + lines[end:])


def remove_section(text: str, section: str) -> str:
    """`text` without `section` (its header and body up to the next section); the rest byte for byte."""
    _check_section(section)
    lines = text.splitlines(keepends=True)
    span = _find_section(lines, section)
    if span is None:
        return text
    start, end = span
    body_end = _after_last_setting(lines[start + 1:end]) + start + 1
    return "".join(lines[:start] + lines[body_end:])


def read_section(text: str, section: str) -> dict[str, str] | None:
    """The keys of `section` (names lower-cased, as the AWS CLI reads them), or None when it is absent."""
    lines = text.splitlines()
    span = _find_section(lines, section)
    if span is None:
        return None
    values = {}
    for line in lines[span[0] + 1:span[1]]:
        key = _key_of(line)
        if key is not None:
            values[key] = re.split(r"[=:]", line, maxsplit=1)[1].strip()
    return values


def _check_section(section: str) -> None:
    if not section.strip() or any(c in section for c in "[]\r\n") or section != section.strip():
        raise UsageError(f"{section!r} cannot be the name of a section in an AWS file; pick another name")


def _find_section(lines: Sequence[str], section: str) -> tuple[int, int] | None:
    """(index of the header, index of the next header or the end) of the first section named `section`."""
    wanted = " ".join(section.split())
    for index, line in enumerate(lines):
        match = _HEADER.match(line.rstrip("\r\n"))
        if match and " ".join(match.group(1).split()) == wanted:
            for end in range(index + 1, len(lines)):
                if _HEADER.match(lines[end].rstrip("\r\n")):
                    return index, end
            return index, len(lines)
    return None


def _key_of(line: str) -> str | None:
    """The lower-cased key a line sets, or None for comments, blank and continuation lines."""
    match = _KEY.match(line)
    return match.group(1).strip().lower() if match else None


def _after_last_setting(body: Sequence[str]) -> int:
    """Where new keys go: after the section's last key or value line, before the blank lines and comments
    that separate it from the next section (they belong to that one)."""
    for index in range(len(body) - 1, -1, -1):
        stripped = body[index].strip()
        if stripped and not stripped.startswith(("#", ";")):
            return index + 1
    return 0


def _append_section(text: str, section: str, values: Mapping[str, str], newline: str) -> str:
    block = [f"[{section}]{newline}"] + [f"{key} = {value}{newline}" for key, value in values.items()]
    if text and not text.endswith(("\n", "\r")):
        text += newline
    if text.strip() and not text.endswith(newline * 2):
        text += newline
    return text + "".join(block)


def _ending(line: str, newline: str) -> str:
    if line.endswith("\r\n"):
        return "\r\n"
    if line.endswith("\n"):
        return "\n"
    return ""  # the last line of a file without a final newline


def command_line(argv: Sequence[str]) -> str:
    """A credential_process value the AWS CLI and SDKs split back into `argv`: words with spaces or quotes
    are put in double quotes, as the AWS CLI's guide asks."""
    words = []
    for word in argv:
        if _PLAIN_WORD.match(word):
            words.append(word)
        else:
            escaped = word.replace("\\", "\\\\").replace('"', '\\"')
            words.append(f'"{escaped}"')
    return " ".join(words)


# -- credential_process ------------------------------------------------------------------------------------

# botocore asks a credential_process again once its keys have less than 15 minutes left (its "advisory"
# refresh); keys handed out with less than that would make it ask on every call. So a cache entry is good
# for credential_process only with a margin above that.
PROCESS_REFRESH_AHEAD = 20 * 60


def process_refresh_window(duration: int | None) -> float:
    """How long cached keys must still last to be handed to an AWS tool. Capped at half the session, so a
    short session (15 or 30 minutes) is served from the cache at all instead of logging in every time."""
    if duration:
        return min(PROCESS_REFRESH_AHEAD, duration / 2)
    return PROCESS_REFRESH_AHEAD


def process_output(credentials: Credentials) -> dict[str, object]:
    """The JSON document a credential_process prints (Version 1)."""
    from shellenv.credentials import rfc3339

    return {
        "Version": 1,
        "AccessKeyId": credentials.access_key_id,
        "SecretAccessKey": credentials.secret_access_key,
        "SessionToken": credentials.session_token,
        "Expiration": rfc3339(credentials.expiration),
        "AccountId": credentials.account_id,
    }


# -- writing the files --------------------------------------------------------------------------------------


def update(path: Path, edit: Callable[[str], str]) -> bool:
    """Apply `edit` to the text of `path` under a lock, and replace the file atomically (0600) if it changed.

    A symbolic link (a dotfiles repository, say) is followed, so the link stays and its target changes.
    """
    target = Path(os.path.realpath(path))
    with _file_lock(target):
        try:
            raw = target.read_bytes()
        except FileNotFoundError:
            raw = b""
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc.strerror}; check its permissions") from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigError(f"{path} is not UTF-8 text; fix or move it, then try again") from None
        new = edit(text)
        if new == text and raw:
            if target.stat().st_mode & 0o077:
                os.chmod(target, 0o600)
            return False
        try:
            write_private(target, new.encode("utf-8"))
        except OSError as exc:
            raise ConfigError(
                f"cannot write {path}: {exc.strerror}; check the folder's permissions"
            ) from None
    log.debug("rewrote %s", path)
    return True


def write_keys(credentials: Credentials, *, section: str | None = None, path: Path | None = None) -> Path:
    """Put a profile's keys into the shared credentials file under `section` (default: the profile)."""
    path = path or credentials_file()
    section = section or credentials.profile
    values = {
        "aws_access_key_id": credentials.access_key_id,
        "aws_secret_access_key": credentials.secret_access_key,
        "aws_session_token": credentials.session_token,
    }
    update(path, lambda text: set_section(text, section, values))
    log.info("wrote the keys of %s to [%s] in %s", credentials.profile, section, path)
    return path


def remove_keys(section: str, *, path: Path | None = None) -> bool:
    """Remove a section from the shared credentials file; False when it was not there."""
    path = path or credentials_file()
    if not path.exists():
        return False
    return update(path, lambda text: remove_section(text, section))


def write_credential_process(aws_profile: str, argv: Sequence[str], *, region: str | None = None,
                             path: Path | None = None) -> Path:
    """Point an AWS CLI profile at `argv` as its credential_process (and region, when given)."""
    path = path or config_file()
    values = {"credential_process": command_line(argv)}
    if region:
        values["region"] = region
    update(path, lambda text: set_section(text, config_section(aws_profile), values))
    log.info("set credential_process of [%s] in %s", config_section(aws_profile), path)
    return path


@contextlib.contextmanager
def _file_lock(target: Path) -> Iterator[None]:
    """Two shellenv processes writing two profiles into one file must not lose either: read-edit-write is
    done under a lock kept in shellenv's cache (not beside the user's file)."""
    from filelock import FileLock, Timeout

    folder = private_dir(paths.cache_dir() / "locks")
    name = hashlib.sha256(str(target).encode()).hexdigest()[:24]
    lock = FileLock(str(folder / f"aws-{name}.lock"), mode=0o600, is_singleton=False)
    try:
        lock.acquire(timeout=LOCK_WAIT_SECONDS)
    except Timeout:
        raise ConfigError(f"another program keeps {target} locked; try again") from None
    try:
        yield
    finally:
        lock.release()
