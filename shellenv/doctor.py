"""`shellenv doctor`: checks the setup and says in plain words, one finding a line, what is right and wrong.

It looks at the hook, the config, each IdP (reachable, its clock), file modes, the keyring and other AWS
tools; it only reads and asks, never changes a file, never logs in, and never shows a secret's value.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import stat
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from shellenv import paths
from shellenv.errors import ExitCode, ShellenvError

log = logging.getLogger(__name__)

SHELLS = ("bash", "zsh", "fish")
SKEW_WARN_SECONDS = 30  # a TOTP code from a stored seed lives one 30-second step
SKEW_FAIL_SECONDS = 300  # beyond this AWS refuses signed requests, and assertions look expired
# Variables other tools set when they put AWS keys in a shell: (tool, prefix or exact name).
COMPETITORS = (
    ("awsume", "AWSUME_"),
    ("aws-vault", "AWS_VAULT"),
    ("granted", "GRANTED_"),
)
IGNORED = ("GRANTED_ALIAS_CONFIGURED",)  # set by granted's setup in every shell, not by a login
RC_FILES = {"bash": "~/.bashrc", "zsh": "~/.zshrc", "fish": "~/.config/fish/config.fish"}


@dataclass(frozen=True)
class Finding:
    """One line of the report. `code` is the exit code a failure stands for."""

    status: str  # "ok", "warn", "info" or "FAIL"
    topic: str
    text: str
    code: ExitCode = ExitCode.OK

    def line(self) -> str:
        return f"{self.status:<4}  {self.topic}: {self.text}"


def ok(topic: str, text: str) -> Finding:
    return Finding("ok", topic, text)


def warn(topic: str, text: str) -> Finding:
    return Finding("warn", topic, text)


def info(topic: str, text: str) -> Finding:
    return Finding("info", topic, text)


def fail(topic: str, text: str, code: ExitCode = ExitCode.CONFIG) -> Finding:
    return Finding("FAIL", topic, text, code)


def run(*, timeout: float = 5.0, environ: Mapping[str, str] | None = None,
        out: TextIO | None = None) -> int:
    """Print every finding; return 0 when nothing failed, else the exit code of the first failure."""
    out = out or sys.stdout
    environ = os.environ if environ is None else environ
    first_failure = ExitCode.OK
    for finding in findings(environ, timeout=timeout):
        print(finding.line(), file=out, flush=True)
        if finding.status == "FAIL" and not first_failure:
            first_failure = finding.code
    return int(first_failure)


def findings(environ: Mapping[str, str], *, timeout: float) -> Iterator[Finding]:
    yield hook(environ)
    config, finding = load_config()
    yield finding
    yield from file_modes()
    if config is not None:
        yield from idps(config, timeout=timeout)
    yield from keyring_findings(config)
    yield from competitors(environ)


# -- the hook ---------------------------------------------------------------------------------------------


def hook(environ: Mapping[str, str]) -> Finding:
    """The hook's `shellenv` function calls the program with SHELLENV_SHELL set; a bare call does not."""
    hooked = environ.get("SHELLENV_SHELL")
    shell, pid = parent_shell()
    if hooked in SHELLS:
        where = f"this {hooked}" + (f" (pid {pid})" if pid else "")
        return ok("hook", f"loaded in {where}")
    if shell is None:
        return info("hook", "not started from bash, zsh or fish, so whether the hook is loaded is unknown")
    load = "shellenv init fish | source" if shell == "fish" else f'eval "$(shellenv init {shell})"'
    return fail("hook", f"not loaded in this {shell} (pid {pid}): add `{load}` to {RC_FILES[shell]} and "
                "open a new shell (running `command shellenv doctor` also bypasses it)")


def parent_shell() -> tuple[str | None, int | None]:
    """The nearest bash, zsh or fish among this process's ancestors (a login shell's '-bash' too)."""
    import psutil

    try:
        process = psutil.Process(os.getppid())
        for _ in range(6):
            name = process.name().lstrip("-")
            if name in SHELLS:
                log.debug("the parent shell is %s, pid %d", name, process.pid)
                return name, process.pid
            parent = process.parent()
            if parent is None:
                break
            process = parent
    except psutil.Error as exc:
        log.debug("cannot walk the parent processes: %s", type(exc).__name__)
    return None, None


# -- the config and the files -----------------------------------------------------------------------------


def load_config() -> tuple[Any, Finding]:
    from shellenv import config

    try:
        cfg = config.load()
    except ShellenvError as exc:
        return None, fail("config", exc.message, exc.exit_code)
    return cfg, ok("config", f"{cfg.path} parses: {_count(len(cfg.idps), 'IdP')}, "
                   f"{_count(len(cfg.profiles), 'profile')}")


def file_modes() -> Iterator[Finding]:
    config_file = paths.config_file()
    if config_file.exists():
        loose = _mode(config_file) & 0o077
        if loose:
            yield warn("files", f"others can read {config_file} (mode {_mode(config_file):o}); "
                       f"run: chmod 600 {config_file}")
        else:
            yield ok("files", f"{config_file} is private (mode {_mode(config_file):o})")
    cache = paths.cache_dir()
    if not cache.exists():
        yield ok("files", f"no cache yet at {cache}")
        return
    wrong_dirs = [p for p in [cache, *cache.rglob("*")] if p.is_dir() and _mode(p) & 0o077]
    wrong_files = [p for p in cache.rglob("*") if p.is_file() and _mode(p) & 0o077]
    if wrong_dirs or wrong_files:
        example = (wrong_dirs or wrong_files)[0]
        yield fail("files", f"{_count(len(wrong_dirs), 'folder')} and {_count(len(wrong_files), 'file')} "
                   f"in the cache are open to others (e.g. {example}, mode {_mode(example):o}); run: "
                   f"chmod -R go-rwx {cache}")
    else:
        yield ok("files", f"the cache {cache} and its files are private")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


# -- the IdPs ---------------------------------------------------------------------------------------------


def idp_url(idp: Any) -> str | None:
    """The address to ask an IdP at: the base of its API or login page."""
    if idp.type == "onelogin":
        region = idp.get("region", "us")
        return idp.get("base_url") or f"https://api.{region}.onelogin.com"
    if idp.type == "sso":  # logins talk to the OIDC service of the region, not to the start URL
        return idp.get("oidc_url") or f"https://oidc.{idp.get('sso_region')}.amazonaws.com"
    key = {"okta": "org_url", "saml-form": "url"}.get(idp.type)
    return idp.get(key) if key else None


def idps(config: Any, *, timeout: float) -> Iterator[Finding]:
    from concurrent.futures import ThreadPoolExecutor

    targets = [(idp, idp_url(idp)) for idp in config.idps.values()]
    if not targets:
        yield warn("idp", f"no [idp.NAME] in {config.path}; add one to log in anywhere")
        return
    with ThreadPoolExecutor(max_workers=min(8, len(targets))) as pool:
        answers = [pool.submit(_ask, idp, url, timeout) for idp, url in targets if url]
        for answer in answers:
            yield from answer.result()


def _ask(idp: Any, url: str, timeout: float) -> list[Finding]:
    from shellenv import http

    topic = f"idp {idp.name}"
    session = http.session(ca_bundle=idp.get("ca_bundle"))
    before = time.time()
    try:
        response = http.request(session, "GET", url, what=f"{idp.name} at {url}",
                                timeout=(timeout, timeout), allow_redirects=False)
    except ShellenvError as exc:
        if exc.exit_code not in (ExitCode.SERVICE, ExitCode.RATE_LIMITED):
            return [fail(topic, exc.message, exc.exit_code)]
        return [ok(topic, f"{url} answers (with an error, but it is there)")]
    finally:
        session.close()
    after = time.time()
    found = [ok(topic, f"{url} answers (HTTP {response.status_code} in {int((after - before) * 1000)} ms)")]
    found.append(_clock(topic, response.headers.get("Date"), (before + after) / 2))
    return found


def _clock(topic: str, date_header: str | None, local: float) -> Finding:
    import email.utils

    if not date_header:
        return info(topic, "sent no Date header, so the clock could not be compared")
    try:
        remote = email.utils.parsedate_to_datetime(date_header)
    except (TypeError, ValueError):
        return info(topic, "sent an unreadable Date header, so the clock could not be compared")
    if remote.tzinfo is None:
        remote = remote.replace(tzinfo=dt.timezone.utc)
    skew = local - remote.timestamp()
    words = f"{abs(int(skew))} s {'ahead of' if skew > 0 else 'behind'} the IdP's"
    fix = "set the clock right (e.g. sudo timedatectl set-ntp true)"
    if abs(skew) >= SKEW_FAIL_SECONDS:
        return fail(topic, f"this computer's clock is {words}: AWS will refuse the keys and assertions "
                    f"will look expired; {fix}", ExitCode.CONFIG)
    if abs(skew) >= SKEW_WARN_SECONDS:
        return warn(topic, f"this computer's clock is {words}: TOTP codes computed from a stored "
                    f"seed will be refused; {fix}")
    return ok(topic, f"clock within {SKEW_WARN_SECONDS} s of the IdP's")


# -- the keyring ------------------------------------------------------------------------------------------


def keyring_findings(config: Any) -> Iterator[Finding]:
    from shellenv import secrets
    from shellenv.config import KEYRING, SECRET_KEYS

    wanted = [] if config is None else [
        (idp.name, kind) for idp in config.idps.values() for kind in SECRET_KEYS if idp.get(kind) == KEYRING]
    try:
        ring = secrets.backend()
    except ShellenvError as exc:
        if wanted:
            yield fail("keyring", f"the config keeps secrets in the keyring, but {exc.message}")
        else:
            yield info("keyring", "no keyring backend here; secrets come from the config or the terminal")
        return
    name = secrets.backend_name(ring)
    if secrets.is_plaintext(ring):
        yield warn("keyring", f"{name} keeps secrets unencrypted in a file, no safer than a chmod 600 "
                   "config; prefer the desktop keyring or keyrings.alt.file.EncryptedKeyring")
    else:
        yield ok("keyring", f"backend {name}")
    for idp_name, kind in wanted:
        try:
            present = secrets.get(idp_name, kind) is not None
        except ShellenvError as exc:
            yield fail("keyring", exc.message)
            return
        if present:
            yield ok("keyring", f"holds the {kind} of {idp_name}")
        else:
            yield fail("keyring", f"the config says the {kind} of {idp_name} is in the keyring, but it is "
                       f"not there; run: shellenv secret set {idp_name} {kind}")


# -- other tools ------------------------------------------------------------------------------------------


def competitors(environ: Mapping[str, str]) -> Iterator[Finding]:
    found = False
    for tool, prefix in COMPETITORS:
        names = sorted(name for name in environ if name.startswith(prefix) and name not in IGNORED)
        if names:
            found = True
            yield fail("other tools", f"{tool} has set {', '.join(names)} in this shell, so the AWS keys "
                       f"here may be its own: use one tool per shell (unset {' '.join(names)}, or open a "
                       "new shell)")
    if "AWS_ACCESS_KEY_ID" in environ and not environ.get("SHELLENV_PROFILE") and not found:
        yield warn("other tools", "AWS_ACCESS_KEY_ID is set, but not by shellenv; `shellenv clear` "
                   "removes it, or leave it if you set it on purpose")
    if environ.get("SHELLENV_PROFILE") and environ.get("AWS_PROFILE"):
        yield warn("other tools", f"AWS_PROFILE={environ['AWS_PROFILE']} was set after shellenv's keys; "
                   "some tools prefer it to the keys: unset AWS_PROFILE")
    if not found:
        yield ok("other tools", "no other AWS login tool has set variables in this shell")
