"""The README's first command ends in `shellenv sandbox --demo`: it must pass on a fresh HOME."""

from __future__ import annotations

import subprocess

from cli_fixtures import PROGRAM


def test_the_demo_logs_in_and_whoami_names_the_role(home):
    result = subprocess.run([PROGRAM, "sandbox", "--demo"], capture_output=True, text=True, timeout=120,
                            stdin=subprocess.DEVNULL)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "assumed-role/Admin/alice@example.com" in result.stdout
    assert "keys left: none" in result.stdout
    assert "demo passed" in result.stderr
