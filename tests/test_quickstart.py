"""The README's first command ends in `shellenv sandbox --demo`: it must pass on a fresh HOME."""

from __future__ import annotations

import itertools
import os
import stat
import subprocess

from cli_fixtures import PROGRAM


def test_the_demo_logs_in_and_whoami_names_the_role(home):
    result = subprocess.run([PROGRAM, "sandbox", "--demo"], capture_output=True, text=True, timeout=120,
                            stdin=subprocess.DEVNULL)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "assumed-role/Admin/alice@example.com" in result.stdout
    assert "keys left: none" in result.stdout
    assert "demo passed" in result.stderr


def test_the_config_the_sandbox_writes_as_the_readme_says_is_one_shellenv_accepts(home):
    config = home / ".config" / "shellenv" / "config.toml"
    config.parent.mkdir(parents=True)
    with config.open("w") as out:  # the shell's `>`: the umask's mode, 0644 here
        os.chmod(config, 0o644)
        sandbox = subprocess.Popen([PROGRAM, "sandbox", "--port", "0"], stdout=out,
                                   stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    try:
        said = "".join(itertools.takewhile(lambda line: "Ctrl-C" not in line, sandbox.stderr))
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)

    assert stat.S_IMODE(config.stat().st_mode) == 0o600, said
    assert f"wrote the config to {config}" in said
    listed = subprocess.run([PROGRAM, "list"], capture_output=True, text=True, timeout=30)
    assert listed.returncode == 0, listed.stderr
    assert "dev-admin" in listed.stdout
