"""Real interactive bash, zsh and fish under a pseudo-terminal, for the hook's tests and the prompt benchmark.

A session starts a shell with none of the user's rc files and a temporary HOME, runs the rc text a test
gives (usually with the real `shellenv init` in it), and reports each prompt: the status the user's prompt
saw, the segment shellenv drew, and what was printed before it.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pexpect

from shellenv.cache import KeyCache
from shellenv.credentials import Credentials

SHELLS = ("bash", "zsh", "fish")
PROGRAM = str(Path(sys.executable).parent / "shellenv")
MARK = "@@P@@"
RIGHT = "@@R@@"
# What the user's own prompt looks like in a session: the status, then a mark (bash, zsh); fish's right
# prompt ends with a mark of its own, so that the segment drawn in front of it can be read.
USER_PROMPT = {
    "bash": f"PS1='<$?>{MARK} '",
    "zsh": f"PROMPT='<%?>{MARK} '\nunsetopt prompt_sp prompt_cr",
    "fish": (f"function fish_prompt; printf '<%s>{MARK} ' $status; end\n"
             f"function fish_right_prompt; printf '{RIGHT}'; end\nset -g fish_greeting"),
}
PROMPT_RE = {
    "bash": re.compile(rf"(?P<segment>[^\n]*)<(?P<status>\d+)>{MARK} "),
    "zsh": re.compile(rf"(?P<segment>[^\n]*)<(?P<status>\d+)>{MARK} "),
    "fish": re.compile(rf"<(?P<status>\d+)>{MARK} (?P<segment>.*?){RIGHT}", re.S),
}
SGR = re.compile(r"\x1b\[[0-9;]*m")
# Everything a line editor sends but colour (SGR) codes.
CONTROL = re.compile(r" +\r|\x1b\[[0-9;?]*[A-Za-ln-z]|\x1b\(B|⏎ *|\x1b[=>]|\x1b\][^\x07]*\x07"
                     r"|[\x01\x02\r\x07]")


def find(tool: str) -> str | None:
    return shutil.which(tool)


@dataclass
class Prompt:
    output: str  # what the command and the hook printed (stdout and stderr), control sequences removed
    status: int  # $? as the user's own prompt saw it
    segment: str  # what shellenv drew in the prompt, colour codes kept, other control sequences removed

    @property
    def text(self) -> str:
        """The segment without colour codes."""
        return SGR.sub("", self.segment).strip()


def init_text(shell: str, env: Mapping[str, str]) -> str:
    """The real `shellenv init SHELL` output for this HOME's config."""
    done = subprocess.run([PROGRAM, "init", shell], env=dict(env), capture_output=True, text=True,
                          check=True, timeout=30)
    return done.stdout


def environment(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SHELLENV_", "XDG_"))}
    env.pop("PROMPT_COMMAND", None)
    env.update(HOME=str(home), TERM="xterm-256color", LANG="C.UTF-8", LC_ALL="C.UTF-8",
               PATH=f"{Path(PROGRAM).parent}:{env.get('PATH', '/usr/bin:/bin')}")
    env.update(extra or {})
    return env


def write_config(home: Path, shell_table: str = "") -> Path:
    """A config with only a [shell] table: cached keys are all the tests need."""
    path = home / ".config" / "shellenv" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_text(f"[shell]\n{shell_table}\n")
    path.chmod(0o600)
    return path


def cache_keys(profile: str, seconds: int, *, key: str = "ASIATESTKEY0000001",
               region: str = "eu-west-1") -> Credentials:
    """Store keys for `profile` in the cache of the current HOME, valid `seconds` from now."""
    import datetime as dt

    expiry = dt.datetime.fromtimestamp(int(time.time()) + seconds, dt.timezone.utc)
    credentials = Credentials(access_key_id=key, secret_access_key="secret/" + key,
                              session_token="token+" + key, expiration=expiry,
                              role_arn="arn:aws:iam::111111111111:role/team/Admin", profile=profile,
                              region=region, account_alias="acme-dev")
    KeyCache().store(credentials)
    return credentials


class Session:
    """One interactive shell on a pseudo-terminal."""

    def __init__(self, shell: str, home: Path, rc: str, *, env: Mapping[str, str] | None = None,
                 wrapper: list[str] | None = None, timeout: float = 15) -> None:
        self.shell = shell
        self.home = home
        self.env = environment(home, env)
        rc_path = home / f".test_rc.{shell}"
        rc_path.write_text(USER_PROMPT[shell] + "\n" + rc + "\n")
        if shell == "bash":
            argv = ["bash", "--noprofile", "--rcfile", str(rc_path), "-i"]
        elif shell == "zsh":
            zdot = home / ".zdot"
            zdot.mkdir(exist_ok=True)
            (zdot / ".zshrc").write_text(rc_path.read_text())
            self.env["ZDOTDIR"] = str(zdot)
            argv = ["zsh", "-d", "-i"]
        else:
            argv = ["fish", "--no-config", "-i", "-C", f"source {shlex.quote(str(rc_path))}"]
        argv = [*(wrapper or []), *argv]
        self.child = pexpect.spawn(argv[0], argv[1:], env=self.env, cwd=str(home), encoding="utf-8",
                                   codec_errors="replace", timeout=timeout, dimensions=(50, 250))
        self._sent = ""
        self.first = self._prompt()

    def _prompt(self) -> Prompt:
        self.child.expect(PROMPT_RE[self.shell])
        match = self.child.match
        before = SGR.sub("", CONTROL.sub("", self.child.before))
        before = re.sub(r"(?m)^ +$\n?| +$", "", before)
        segment = CONTROL.sub("", match.group("segment"))
        return Prompt(before, int(match.group("status")), segment)

    def run(self, line: str = "") -> Prompt:
        """Type a command line, wait for the next prompt; `output` holds what came after the line itself."""
        self.send(line)
        return self.wait()

    def send(self, line: str = "") -> None:
        """Type a command line and return at once: with wait(), several shells can run a line together."""
        self.child.sendline(line)
        self._sent = line

    def wait(self) -> Prompt:
        """The next prompt after send(), as run() reports it."""
        line = self._sent
        prompt = self._prompt()
        output = prompt.output
        # The line editor echoes the line, possibly redrawn several times: skip to after its last echo.
        tail = line[-20:]
        if tail and tail in output:
            output = output[output.rindex(tail) + len(tail):]
        output = output.split("\n", 1)[1] if "\n" in output else ""
        return Prompt(output, prompt.status, prompt.segment)

    def setenv(self, name: str, value: str) -> Prompt:
        if self.shell == "fish":
            return self.run(f"set -gx {name} {shlex.quote(value)}")
        return self.run(f"export {name}={shlex.quote(value)}")

    def environment(self, *names: str) -> dict[str, str]:
        """The exported values of `names`, as a child process sees them."""
        code = f"import json, os; print(json.dumps({{n: os.environ.get(n) for n in {list(names)!r}}}))"
        out = self.run(f"{shlex.quote(sys.executable)} -c {shlex.quote(code)}").output
        return json.loads(out.strip().splitlines()[-1])

    def close(self) -> None:
        self.child.sendline("exit")
        self.child.expect(pexpect.EOF)
        self.child.close()


def require(shell: str) -> None:
    if find(shell) is None:
        from conftest import missing

        missing(shell)


def open_session(shell: str, home: Path, *, before: str = "", after: str = "", shell_table: str = "",
                 env: Mapping[str, str] | None = None, wrapper: list[str] | None = None) -> Session:
    """A session whose rc runs `before`, then the real `shellenv init` (its text inline), then `after`."""
    require(shell)
    write_config(home, shell_table)
    init = init_text(shell, environment(home, env))
    return Session(shell, home, f"{before}\n{init}\n{after}", env=env, wrapper=wrapper)


def keys_line(shell: str, expiry: int, *, profile: str | None = "dev", stamp: str | None = None,
              refresh: bool = False) -> str:
    """One command line that puts keys in a shell by hand, as `eval "$(shellenv export ...)"` would."""
    from shellenv.shells import get

    env = {"AWS_ACCESS_KEY_ID": "ASIAHAND", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "t",
           "SHELLENV_ROLE_ARN": "arn:aws:iam::111111111111:role/team/Admin",
           "SHELLENV_ACCOUNT": "acme-dev", "SHELLENV_EXPIRY": str(expiry)}
    if profile:
        env["SHELLENV_PROFILE"] = profile
    if stamp:
        env["SHELLENV_STAMP"] = stamp
    if refresh:
        env["SHELLENV_REFRESH"] = "auto"
    return "; ".join(get(shell).export(env).splitlines())


def write_stamp(path: Path, expiry: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{expiry}\n")
    os.utime(path, (expiry, expiry))
