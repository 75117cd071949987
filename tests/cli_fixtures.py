"""Fixtures that run the real `shellenv` program against the sandbox, in the test's temporary HOME.

`sandbox` starts every emulator once per session; `cli` writes the sandbox config into HOME and runs the
program under a pseudo-terminal, so that its questions arrive on /dev/tty while stdout and stderr are kept
apart, exactly as the shell hook sees them.
"""

from __future__ import annotations

import io
import json
import shlex
import sys
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pexpect
import pytest

from shellenv.sandbox import run as sandbox_run
from shellenv.sandbox import world

PROGRAM = str(Path(sys.executable).parent / "shellenv")


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str
    screen: str  # what appeared on the terminal: the questions, never the hidden answers


@pytest.fixture(scope="session")
def sandbox() -> Iterator[sandbox_run.Sandbox]:
    with sandbox_run.running() as running:
        yield running


class Cli:
    """The program, its config in HOME, and the sandbox it talks to."""

    def __init__(self, home: Path, sandbox: sandbox_run.Sandbox) -> None:
        self.home = home
        self.sandbox = sandbox
        self.config_path = home / ".config" / "shellenv" / "config.toml"
        self.env = sandbox_run.environ_for(home, sandbox, program_dir=str(Path(PROGRAM).parent))
        self.env.pop("SHELLENV_REQUIRE_ALL", None)
        self.write_config(sandbox.config())

    def write_config(self, text: str, *, mode: int = 0o600) -> Path:
        self.config_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.config_path.write_text(text)
        self.config_path.chmod(mode)
        return self.config_path

    def add_totp_seed(self) -> None:
        """Let the sandbox IdPs compute the MFA code from the seed, with no question asked."""
        text = self.config_path.read_text().replace(
            'mfa = "google"', f'mfa = "google"\ntotp_secret = "{world.ALICE_TOTP_SECRET}"')
        self.write_config(text)

    def run(self, args: Sequence[str], answers: Sequence[tuple[str, str]] = (), *,
            timeout: float = 30, env: dict[str, str] | None = None) -> Result:
        """Run `shellenv ARGS` on a pseudo-terminal; answer each (regex, text) question in order."""
        out, err = self.home / ".stdout", self.home / ".stderr"
        command = " ".join(shlex.quote(a) for a in (PROGRAM, *args))
        child = pexpect.spawn("/bin/sh", ["-c", f"exec {command} >{out} 2>{err}"],
                              env={**self.env, **(env or {})}, cwd=str(self.home),
                              encoding="utf-8", timeout=timeout)
        child.logfile_read = screen = io.StringIO()
        for pattern, answer in answers:
            child.expect(pattern)
            child.sendline(answer)
        child.expect(pexpect.EOF)
        child.close()
        code = child.exitstatus if child.exitstatus is not None else 128 + (child.signalstatus or 0)
        return Result(code, out.read_text(), err.read_text(), screen.getvalue())

    def onelogin(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.sandbox.url("onelogin") + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return json.loads(response.read() or b"null")

    def assertions_issued(self) -> int:
        return int(self.onelogin("GET", "/__sandbox/stats")["assertions_issued"])


@pytest.fixture
def cli(home: Path, sandbox: sandbox_run.Sandbox) -> Iterator[Cli]:
    tool = Cli(home, sandbox)
    tool.onelogin("POST", "/__sandbox/reset", {})
    yield tool


def totp_now() -> str:
    import pyotp

    return pyotp.TOTP(world.ALICE_TOTP_SECRET).now()


PASSWORD = (r"Password for [^:]+: ", world.ALICE_PASSWORD)
