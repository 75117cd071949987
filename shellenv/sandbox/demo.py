"""`shellenv sandbox --demo`: the main job once, end to end, in a real interactive bash on the sandbox.

It starts the emulators, makes a throwaway HOME with the sandbox config, and types into a bash what a user
would: the hook line, `shellenv use`, the password and the MFA code at their prompts, then `shellenv whoami`.
The transcript goes to stdout. It touches nothing outside its temporary HOME.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

from shellenv.sandbox import run as sandbox
from shellenv.sandbox import world

PROFILE = "dev-admin"
PROMPT = "demo$ "


def run_demo(out: object = None) -> int:
    import pexpect
    import pyotp

    out = out or sys.stdout
    bash = shutil.which("bash")
    if not bash:
        print("shellenv sandbox: the demo needs bash", file=sys.stderr)
        return 2
    program = _program()
    with sandbox.running() as running, sandbox.temporary_home() as folder:
        home = Path(folder)
        config = home / ".config" / "shellenv" / "config.toml"
        config.parent.mkdir(parents=True, mode=0o700)
        config.write_text(running.config())
        config.chmod(0o600)
        env = sandbox.environ_for(home, running, program_dir=str(Path(program).parent))
        env.update(PS1=PROMPT, TERM="dumb", SHELL=bash)
        shell = pexpect.spawn(bash, ["--norc", "--noprofile", "-i"], env=env, cwd=str(home),
                              encoding="utf-8", timeout=60, dimensions=(40, 200))
        shell.logfile_read = out
        try:
            shell.expect_exact(PROMPT)
            _type(shell, f'eval "$({program} init bash --no-prompt)"')
            shell.sendline(f"shellenv use {PROFILE}")
            shell.expect("Password for [^:]+: ")
            time.sleep(0.2)
            shell.sendline(world.ALICE_PASSWORD)
            shell.expect("Code from [^:]+: ")
            time.sleep(0.2)
            shell.sendline(pyotp.TOTP(world.ALICE_TOTP_SECRET).now())
            shell.expect_exact(PROMPT)
            _type(shell, 'echo "profile=$SHELLENV_PROFILE key=${AWS_ACCESS_KEY_ID:0:4}... '
                         'expires=$AWS_CREDENTIAL_EXPIRATION"')
            _type(shell, "shellenv whoami")
            whoami = shell.before or ""
            _type(shell, "shellenv clear; echo \"keys left: ${AWS_ACCESS_KEY_ID:-none}\"")
            shell.sendline("exit")
            shell.expect(pexpect.EOF)
        except (pexpect.TIMEOUT, pexpect.EOF):
            print("\nshellenv sandbox: the demo did not complete; see the transcript above",
                  file=sys.stderr)
            return 1
    ok = "assumed-role/Admin/" in whoami
    print("\nshellenv sandbox: demo " + ("passed: the shell held the keys of the Admin role"
                                         if ok else "failed: whoami did not name the Admin role"),
          file=sys.stderr)
    return 0 if ok else 1


def main() -> int:
    return run_demo()


def _type(shell: object, line: str) -> None:
    shell.sendline(line)  # type: ignore[attr-defined]
    shell.expect_exact(PROMPT)  # type: ignore[attr-defined]


def _program() -> str:
    candidate = Path(sys.executable).parent / "shellenv"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("shellenv")
    if found:
        return found
    raise SystemExit("shellenv sandbox: the `shellenv` program is not installed; pip install -e . first")


if __name__ == "__main__":
    raise SystemExit(run_demo())
