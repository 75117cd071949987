"""Per-directory profiles: the project file, the config's [[directory]] rules, the trust store, the switch.

It decides which profile a folder asks for and what the shell does on the way in and out. It never runs or
follows anything a project file says beyond naming a profile of the user's config, never applies a file the
user has not allowed, and never puts a key in a message, a log record or the shell's state variables.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import stat
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from shellenv import logs, paths
from shellenv.cache import read_private, write_private
from shellenv.errors import ConfigError, NotFoundError, ShellenvError

if TYPE_CHECKING:
    from shellenv.config import Config
    from shellenv.credentials import Credentials
    from shellenv.shells import Shell
    from shellenv.terminal import Terminal

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

log = logs.get_logger(__name__)

FILE_NAME = ".shellenv.toml"
FILE_KEYS = ("profile", "region")
MAX_FILE_BYTES = 4096  # a project file names a profile and a region; anything bigger is not one
MARKER_MAX_AGE = 90 * 86400  # markers older than this are pruned: their shells are long gone
# Keys restored on the way out must stay good this long, or the shell is left with none.
RESTORE_MIN_VALIDITY = 60


# -- the trust store ---------------------------------------------------------------------------------------


def _digest(*parts: bytes) -> str:
    return hashlib.sha256(b"\0".join(parts)).hexdigest()


class TrustStore:
    """Which project files the user allowed (path + content) or denied (path), in 0600 files.

    `allow/<sha256(path, content)>` and `deny/<sha256(path)>` each hold the path they are for. Every change
    rewrites `changed`, whose mtime the shells compare with their own marker to notice it at no cost.
    """

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or paths.state_dir("trust")

    @property
    def changed_path(self) -> Path:
        return self.root / "changed"

    @property
    def seen_dir(self) -> Path:
        return self.root / "seen"

    def _allow_path(self, path: str, content: bytes) -> Path:
        return self.root / "allow" / _digest(os.fsencode(path), content)

    def _deny_path(self, path: str) -> Path:
        return self.root / "deny" / _digest(os.fsencode(path))

    def state(self, path: str, content: bytes) -> str:
        """'denied', 'allowed', 'changed' (allowed once, edited since) or 'new'. Only the user's own
        entries count: one that another user could write says nothing."""
        if _own_entry(self._deny_path(path)):
            return "denied"
        if _own_entry(self._allow_path(path, content)):
            return "allowed"
        return "changed" if self._allows_of(path) else "new"

    def allow(self, path: str, content: bytes) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._deny_path(path).unlink()
        for old in self._allows_of(path):
            old.unlink()
        write_private(self._allow_path(path, content), os.fsencode(path) + b"\n")
        self._changed()
        log.info("allowed %s", path)

    def deny(self, path: str) -> None:
        for old in self._allows_of(path):
            old.unlink()
        write_private(self._deny_path(path), os.fsencode(path) + b"\n")
        self._changed()
        log.info("denied %s", path)

    def _allows_of(self, path: str) -> list[Path]:
        folder = self.root / "allow"
        if not folder.is_dir():
            return []
        wanted = os.fsencode(path) + b"\n"
        found = []
        for entry in folder.iterdir():
            with contextlib.suppress(OSError):
                if read_private(entry) == wanted:
                    found.append(entry)
        return found

    def _changed(self) -> None:
        write_private(self.changed_path, f"{time.time()}\n".encode())

    def mark_seen(self, pid: int, newest: int) -> None:
        """Set a shell's two markers: files no newer than `seen/PID` and a `changed` no newer than
        `seen/PID.trust` were known to the shell when it last asked (each marker is its own shell's)."""
        marker = self.seen_dir / str(pid)
        fresh = not marker.exists()
        try:
            trusted = self.changed_path.stat().st_mtime_ns
        except FileNotFoundError:
            trusted = 0
        for path, mtime in ((marker, newest), (self.seen_dir / f"{pid}.trust", trusted)):
            write_private(path, b"")
            os.utime(path, ns=(mtime, mtime))  # to the nanosecond: a float would round below it
        if fresh:
            self._prune_markers()

    def _prune_markers(self) -> None:
        limit = time.time() - MARKER_MAX_AGE
        for entry in self.seen_dir.iterdir():
            with contextlib.suppress(OSError):
                if entry.stat().st_ctime < limit:  # a marker's mtime is a file's, its ctime its last use
                    entry.unlink()


def _own_entry(path: Path) -> bool:
    try:
        read_private(path)
    except OSError:
        return False
    return True


# -- rules: project files and [[directory]] patterns --------------------------------------------------------


# NamedTuples, not dataclasses: `dataclasses` loads `inspect`, a cost on every switch of folder.


class Rule(NamedTuple):
    """A reason for a folder to use a profile: a project file, or a [[directory]] rule of the config."""

    kind: str  # "file" or "config"
    folder: str  # the folder it covers, as the shell shows it ($PWD, symlinks kept)
    profile: str
    region: str | None
    source: str  # the file's path, or the rule's path pattern
    depth: int  # how many names deep `folder` is: the deeper rule wins
    content: str = ""  # a file's content digest: an edited (and re-allowed) file is a new rule

    @property
    def id(self) -> str:
        return _digest(*(x.encode() for x in (self.kind, self.source, self.content, self.profile,
                                              self.region or "")))[:20]

    def describe(self, home: str) -> str:
        if self.kind == "file":
            return tilde(self.source, home)
        return f'[[directory]] path = "{self.source}"'


class Ignored(NamedTuple):
    """A project file nearby that does not count, and why."""

    path: str
    reason: str  # for `status` and the notice
    advice: str = ""  # what to run, if anything


class Resolution:
    """Every rule for a folder, the winner last; the files passed over, nearest first; the nearest file."""

    def __init__(self, chain: list[Rule] | None = None) -> None:
        self.chain: list[Rule] = chain or []
        self.ignored: list[Ignored] = []
        self.nearest: str | None = None  # the nearest project file, counted or not

    @property
    def active(self) -> Rule | None:
        return self.chain[-1] if self.chain else None


class Pattern(NamedTuple):
    """A [[directory]] path as a regular expression, for Python and for the shells' `=~`."""

    text: str
    folder_depth: int
    regex: re.Pattern[str]
    ere: str  # POSIX extended regex (bash and zsh `=~`); fish's PCRE2 reads it the same way


def tilde(path: str, home: str) -> str:
    home = home.rstrip("/")
    if home and (path == home or path.startswith(home + "/")):
        return "~" + path[len(home):]
    return path


def compile_pattern(text: str, home: str) -> Pattern:
    """`~/work/prod/**`, `~/work/*/infra` or `/srv/app`: the folder and everything inside it.

    `*` and `?` match within one name; `**` may only end the pattern. ValueError when it cannot be used.
    """
    path = text.strip()
    if path == "~" or path.startswith("~/"):
        path = home.rstrip("/") + path[1:]
    if not path.startswith("/"):
        raise ValueError("write an absolute path or one starting with ~/")
    path = path.rstrip("/")
    if path.endswith("/**"):
        path = path[:-3]
    names = [name for name in path.split("/") if name]
    if "**" in names or any("**" in name for name in names):
        raise ValueError("** may only end the pattern, as in ~/work/prod/**")
    if any(name in (".", "..") for name in names):
        raise ValueError("write the path without . or ..")
    ere = "^" + "".join("/" + _ere_name(name) for name in names) + "(/.*)?$"
    python = "^" + "".join("/" + _python_name(name) for name in names) + "(/.*)?$"
    return Pattern(text, len(names), re.compile(python), ere)


def _ere_name(name: str) -> str:
    out = []
    for char in name:
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char in "\\^":
            out.append("\\" + char)
        elif char in ".[]()+{}|$":
            out.append(f"[{char}]")
        else:
            out.append(char)
    return "".join(out)


def _python_name(name: str) -> str:
    return "".join("[^/]*" if c == "*" else "[^/]" if c == "?" else re.escape(c) for c in name)


def patterns(config: Config | None, home: str, *, warn: bool = False) -> list[tuple[int, Pattern]]:
    """The usable [[directory]] rules, by their index in the config; a broken one is skipped."""
    found = []
    for index, rule in enumerate(config.directories if config else ()):
        try:
            found.append((index, compile_pattern(rule.path, home)))
        except ValueError as exc:
            log.debug("[[directory]] path = %r is skipped: %s", rule.path, exc)
            if warn:
                print(f'shellenv: {config.path}: [[directory]] path = "{rule.path}" is skipped: {exc}',
                      file=sys.stderr)
    return found


def candidate_files(pwd: str, home: str) -> list[str]:
    """Where a project file may be, nearest first: $PWD and its parents up to $HOME (or /)."""
    folder = pwd.rstrip("/")
    home = home.rstrip("/")
    found = []
    while True:
        found.append(f"{folder}/{FILE_NAME}")
        if not folder or folder == home:
            return found
        folder = folder.rsplit("/", 1)[0]


def read_project_file(path: str) -> tuple[dict[str, str], bytes]:
    """The profile (and region) a project file names, and its bytes; ValueError says what is wrong."""
    from shellenv.config import REGION

    info = os.stat(path)
    if info.st_uid not in (os.getuid(), 0):
        raise ValueError("it belongs to another user")
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise ValueError(f"others may write to it; run: chmod go-w {path}")
    if info.st_size > MAX_FILE_BYTES:
        raise ValueError(f"it is larger than {MAX_FILE_BYTES} bytes")
    content = Path(path).read_bytes()
    try:
        data = tomllib.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"it is not valid TOML ({exc})") from None
    unknown = [key for key in data if key not in FILE_KEYS]
    if unknown:
        raise ValueError(f"unknown key '{unknown[0]}'; a project file names only profile and region")
    profile, region = data.get("profile"), data.get("region")
    if not isinstance(profile, str) or not profile:
        raise ValueError('it names no profile; write profile = "NAME" (a profile of your config)')
    if region is not None and (not isinstance(region, str) or not REGION.match(region)):
        raise ValueError(f"region {region!r} is not an AWS region like eu-west-1")
    return ({"profile": profile, **({"region": region} if region else {})}, content)


def resolve(pwd: str, config: Config | None, trust: TrustStore, home: str) -> Resolution:
    """Every rule that covers `pwd`, the winner last: the deeper folder wins, a config rule wins a tie."""
    result = Resolution()
    for path in candidate_files(pwd, home):
        if not os.path.isfile(path):
            continue
        if result.nearest is None:
            result.nearest = path
        rule = _file_rule(path, config, trust, result, home)
        if rule is not None:
            result.chain.append(rule)
    # Reversed, so that the stable sort below leaves the first listed of equally deep rules last (winning).
    for index, pattern in reversed(patterns(config, home)):
        if pattern.regex.match(pwd.rstrip("/") or "/"):
            assert config is not None
            rule_cfg = config.directories[index]
            folder = "/" + "/".join(pwd.strip("/").split("/")[:pattern.folder_depth])
            result.chain.append(Rule("config", folder, rule_cfg.profile, rule_cfg.region,
                                     rule_cfg.path, pattern.folder_depth))
    result.chain.sort(key=lambda r: (r.depth, r.kind == "config"))
    return result


def _file_rule(path: str, config: Config | None, trust: TrustStore, result: Resolution,
               home: str) -> Rule | None:
    folder = path[: -len(FILE_NAME) - 1] or "/"
    key = os.path.join(os.path.realpath(folder), FILE_NAME)  # trust follows the real file
    try:
        named, content = read_project_file(path)
    except (OSError, ValueError) as exc:
        result.ignored.append(Ignored(path, str(exc)))
        return None
    if config is None or named["profile"] not in config.profiles:
        result.ignored.append(Ignored(path, f"it names profile '{named['profile']}', which your config "
                                      "does not have"))
        return None
    state = trust.state(key, content)
    if state == "denied":
        result.ignored.append(Ignored(path, "you denied it (`shellenv allow` there undoes that)"))
        return None
    if state in ("new", "changed"):
        why = "it changed since you allowed it" if state == "changed" else "you have not allowed it"
        result.ignored.append(Ignored(path, f"names {named['profile']}, but {why}",
                                      f"shellenv allow {_shell_word(folder, home)}"))
        return None
    depth = len([name for name in folder.split("/") if name])
    return Rule("file", folder, named["profile"], named.get("region"), path, depth,
                hashlib.sha256(content).hexdigest()[:16])


def _shell_word(folder: str, home: str) -> str:
    """A folder as a word to type: ~/NAME when inside $HOME."""
    import shlex

    short = tilde(folder, home)
    if short.startswith("~/"):
        return "~/" + shlex.quote(short[2:])
    return shlex.quote(short)


# -- the switch ---------------------------------------------------------------------------------------------


class Entry(NamedTuple):
    """A folder the shell entered: the rule that switched it, and the profile it had before ('' = none)."""

    rule: str
    before: str


def load_stack(text: str) -> list[Entry]:
    try:
        return [Entry(str(item["rule"]), str(item["before"])) for item in json.loads(text or "[]")]
    except (ValueError, TypeError, KeyError):
        log.debug("unreadable directory state; starting afresh")
        return []


def dump_stack(stack: Sequence[Entry]) -> str:
    return json.dumps([entry._asdict() for entry in stack], separators=(",", ":"))


class Step(NamedTuple):
    """What the shell must do: nothing, switch to a rule's profile, or go back to an earlier profile."""

    stack: list[Entry]
    apply: Rule | None = None
    restore: str | None = None  # a profile, or '' for no keys; None: nothing to restore
    left: tuple[Entry, ...] = ()


def step(stack: Sequence[Entry], resolution: Resolution, current: str) -> Step:
    """Leave the folders whose rule no longer holds (outermost first), then enter the winning rule's."""
    ids = {rule.id for rule in resolution.chain}
    keep = 0
    while keep < len(stack) and stack[keep].rule in ids:
        keep += 1
    kept, left = list(stack[:keep]), list(stack[keep:])
    restore = left[0].before if left else None
    active = resolution.active
    if active is not None and (not kept or kept[-1].rule != active.id):
        before = restore if restore is not None else current
        return Step([*kept, Entry(active.id, before)], apply=active, left=tuple(left))
    return Step(kept, restore=restore, left=tuple(left))


# -- what the hook asks for ----------------------------------------------------------------------------------


def init_lines(shell: Shell, config: Config | None, *, home: str | None = None, warn: bool = False) -> str:
    """Shell variables the hook reads: the [[directory]] rules as regexes, and the files it compares.

    With `warn`, a rule that cannot be used gets a line on stderr (at `shellenv init`, once a shell).
    """
    home = home if home is not None else str(Path.home())
    found = patterns(config, home, warn=warn)
    trust = TrustStore()
    lines = [
        shell.setting_line("__shellenv_dir_rules", " ".join(shell.quote(p.ere) for _, p in found),
                           listing=True),
        shell.setting_line("__shellenv_dir_depths", " ".join(str(p.folder_depth) for _, p in found),
                           listing=True),
        shell.setting_line("__shellenv_dir_config", shell.quote(str(paths.config_file()))),
        shell.setting_line("__shellenv_dir_seen", shell.quote(str(trust.seen_dir))),
        shell.setting_line("__shellenv_dir_trust", shell.quote(str(trust.changed_path))),
    ]
    return "\n".join(lines) + "\n"


def hook(shell: Shell, pwd: str, state: str, pid: int, *, terminal: Terminal,
         environ: Mapping[str, str] | None = None) -> str:
    """The code for the shell after its folder's resolution changed: keys in or out, and the new state."""
    from shellenv import config as config_module

    environ = os.environ if environ is None else environ
    home = environ.get("HOME") or str(Path.home())
    trust = TrustStore()
    trust.mark_seen(pid, _newest(pwd, home))
    try:
        cfg: Config | None = config_module.load(required=False)
    except ShellenvError as exc:
        terminal.message(f"{exc.message} (folder profiles are off until it is fixed)")
        cfg = None
    resolution = resolve(pwd, cfg, trust, home)
    _notice_nearest(resolution, terminal, home)
    move = step(load_stack(state), resolution, environ.get("SHELLENV_PROFILE", ""))
    code = ""
    if move.apply is not None:
        code = _enter(shell, cfg, move.apply, terminal, environ, home)
    elif move.restore is not None:
        code = _leave(shell, move.restore, move.left, terminal, environ)
    stack = shell.setting_line("__shellenv_dir_stack", shell.quote(dump_stack(move.stack)))
    return code + stack + "\n" + init_lines(shell, cfg, home=home)


def _newest(pwd: str, home: str) -> int:
    """The latest mtime (ns) of the project files and the config, which the shell compares with its marker."""
    newest = 0
    for path in [*candidate_files(pwd, home), str(paths.config_file())]:
        with contextlib.suppress(OSError):
            newest = max(newest, os.stat(path).st_mtime_ns)
    return newest


def _notice_nearest(resolution: Resolution, terminal: Terminal, home: str) -> None:
    """One line about the nearest project file when it does not count (a denied file stays quiet)."""
    for ignored in resolution.ignored:
        if ignored.path != resolution.nearest:
            continue
        if "denied" in ignored.reason:
            return
        text = f"{tilde(ignored.path, home)} is ignored: {ignored.reason}"
        if ignored.advice:
            text += f"; to use it, run `{ignored.advice}`"
        terminal.message(text)


def _enter(shell: Shell, cfg: Config | None, rule: Rule, terminal: Terminal,
           environ: Mapping[str, str], home: str) -> str:
    from shellenv.login import Login

    assert cfg is not None  # a rule names a profile of the config, so there is one
    where = rule.describe(home)
    login = Login(cfg, terminal)
    cached_only = cfg.shell.get("on_directory") == "notice"
    try:
        credentials = login.credentials(rule.profile, cached_only=cached_only)
    except ShellenvError as exc:
        was = environ.get("SHELLENV_PROFILE")
        dropped = f"; the keys of {was} are out of this shell meanwhile" if was else ""
        if cached_only:
            terminal.message(f"{where} uses {rule.profile}: run `shellenv use {rule.profile}` to log in"
                             + dropped)
        else:
            terminal.message(f"{exc.message} ({where} uses {rule.profile}; `shellenv use "
                             f"{rule.profile}` tries again){dropped}")
        return _clear_code(shell) if environ.get("AWS_ACCESS_KEY_ID") else ""
    if rule.region:
        credentials = _with_region(credentials, rule.region)
    terminal.message(f"{where} -> {rule.profile}: {_summary(credentials)}")
    return _export_code(shell, login, credentials)


def _leave(shell: Shell, before: str, left: Sequence[Entry], terminal: Terminal,
           environ: Mapping[str, str]) -> str:
    current = environ.get("SHELLENV_PROFILE", "")
    if before == current and (before or not environ.get("AWS_ACCESS_KEY_ID")):
        return ""
    if not before:
        terminal.message(f"left the folder of {current or 'these keys'}: no AWS keys in this shell now")
        return _clear_code(shell)
    from shellenv import config as config_module
    from shellenv.login import Login

    try:
        login = Login(config_module.load(required=False), terminal)
        credentials = login.credentials(before, cached_only=True, min_validity=RESTORE_MIN_VALIDITY)
    except ShellenvError:
        terminal.message(f"left the folder; the keys of {before} you had before have expired: "
                         f"run `shellenv use {before}` for them again")
        return _clear_code(shell)
    terminal.message(f"left the folder: back to {before}: {_summary(credentials)}")
    return _export_code(shell, login, credentials)


def _with_region(credentials: Credentials, region: str) -> Credentials:
    if hasattr(credentials, "_replace"):  # a NamedTuple
        return credentials._replace(region=region)
    import dataclasses

    return dataclasses.replace(credentials, region=region)


def _summary(credentials: Credentials) -> str:
    minutes = max(0, credentials.whole_seconds_left() // 60)
    hours, minutes = divmod(minutes, 60)
    valid = f"{hours}h{minutes:02d}m" if hours else f"{minutes}m"
    account = credentials.account_alias or credentials.account_id
    role = credentials.role_arn.split(":role/", 1)[-1]
    region = f" ({credentials.region})" if credentials.region else ""
    return f"{role} in {account}{region}, valid {valid}"


def _export_code(shell: Shell, login: Any, credentials: Credentials) -> str:
    return shell.export(*login.shell_variables(credentials))


def _clear_code(shell: Shell) -> str:
    from shellenv.shells import CLEARED

    return shell.export({}, CLEARED)


# -- allow, deny, status -------------------------------------------------------------------------------------


def target_file(path: str | None, pwd: str, home: str) -> str:
    """The project file a command means: PATH (a folder or the file), else the nearest one."""
    if path:
        full = os.path.abspath(os.path.expanduser(path))
        return full if os.path.basename(full) == FILE_NAME else os.path.join(full, FILE_NAME)
    for candidate in candidate_files(pwd, home):
        if os.path.isfile(candidate):
            return candidate
    raise NotFoundError(f"no {FILE_NAME} in {tilde(pwd, home)} or above it; name the folder: "
                        "shellenv allow PATH")


def trust_key(path: str) -> str:
    folder, name = os.path.split(path)
    return os.path.join(os.path.realpath(folder or "/"), name)


def allow(path: str | None, *, pwd: str | None = None, home: str | None = None) -> str:
    """Trust a project file as it is now; returns the message for the user."""
    from shellenv import config as config_module

    pwd, home = pwd or current_folder(), home or str(Path.home())
    target = target_file(path, pwd, home)
    if not os.path.isfile(target):
        raise NotFoundError(f"no {FILE_NAME} at {tilde(target, home)}; create it first "
                            f'(profile = "NAME")')
    try:
        cfg = config_module.load(required=False)
    except ShellenvError:
        cfg = None
    try:
        named, content = read_project_file(target)
    except OSError as exc:
        raise NotFoundError(f"cannot read {tilde(target, home)}: {exc.strerror}") from None
    except ValueError as exc:
        raise ConfigError(f"{tilde(target, home)} cannot be allowed: {exc}") from None
    TrustStore().allow(trust_key(target), content)
    region = f" in {named['region']}" if "region" in named else ""
    missing = ""
    if cfg is not None and named["profile"] not in cfg.profiles:
        missing = f"; add [profile.{named['profile']}] to {tilde(str(cfg.path), home)} for it to apply"
    return (f"allowed {tilde(target, home)}: its folder uses {named['profile']}{region} "
            f"(any edit needs a new allow){missing}")


def deny(path: str | None, *, pwd: str | None = None, home: str | None = None) -> str:
    pwd, home = pwd or current_folder(), home or str(Path.home())
    if not path and not any(os.path.isfile(c) for c in candidate_files(pwd, home)):
        raise NotFoundError(f"no {FILE_NAME} in {tilde(pwd, home)} or above it; name the folder: "
                            "shellenv deny PATH")
    target = target_file(path, pwd, home)
    TrustStore().deny(trust_key(target))
    return f"denied {tilde(target, home)}: shellenv ignores it from now on, whatever it says"


def status(*, pwd: str | None = None, environ: Mapping[str, str] | None = None) -> list[str]:
    """Lines saying which profile is active, which rule chose it, and which files nearby do not count."""
    from shellenv import config as config_module
    from shellenv.cache import KeyCache

    environ = os.environ if environ is None else environ
    pwd = pwd or current_folder()
    home = environ.get("HOME") or str(Path.home())
    cfg = config_module.load(required=False)
    resolution = resolve(pwd, cfg, TrustStore(), home)
    active = resolution.active
    profile = environ.get("SHELLENV_PROFILE", "")
    lines = []
    if profile:
        cached = KeyCache().load(profile)
        valid = f", keys valid {_summary(cached).rsplit('valid ', 1)[1]}" if cached else ""
        lines.append(f"active profile: {profile}{valid}")
    else:
        lines.append("active profile: none (no shellenv keys in this shell)")
    if active is None:
        lines.append(f"this folder: no rule names a profile for {tilde(pwd, home)}")
    else:
        region = f" in {active.region}" if active.region else ""
        lines.append(f"this folder: {active.profile}{region}, chosen by {active.describe(home)}")
        if profile and profile != active.profile:
            lines.append(f"  {profile} was set by hand (`shellenv use`); it wins until you leave "
                         f"{tilde(active.folder, home)}")
        for outer in reversed(resolution.chain[:-1]):
            lines.append(f"  outranked (a nearer rule wins): {outer.describe(home)} -> {outer.profile}")
    for ignored in resolution.ignored:
        advice = f"; run `{ignored.advice}`" if ignored.advice else ""
        lines.append(f"ignored: {tilde(ignored.path, home)}: {ignored.reason}{advice}")
    return lines


def current_folder() -> str:
    """The folder as the shell shows it ($PWD, symlinks kept) when $PWD is really here."""
    pwd = os.environ.get("PWD", "")
    try:
        here = os.getcwd()
    except FileNotFoundError:
        return pwd or "/"
    with contextlib.suppress(OSError):
        if pwd and os.path.samefile(pwd, here):
            return pwd
    return here

