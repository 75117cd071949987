"""Ruff on the Python code, as the style guide asks (shellcheck and fish's parser run in the hook tests)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from conftest import missing

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_is_clean() -> None:
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    if not Path(ruff).exists():
        missing("ruff")
    result = subprocess.run([ruff, "check", "--no-cache", "shellenv", "tests", "bench"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
