"""Quoting and export code: hostile names and values round-trip exactly through export + eval in real shells.

Each example runs the export code in a real bash, zsh or fish, then `env -0` prints what a child process
sees, so that any value that escaped its quotes shows up as a difference (or as a marker file written).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import missing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shellenv import shells
from shellenv.errors import UsageError

HOSTILE = ["", "'", "''", "a'b", '"', "\\", "\\'", "$(touch PWNED)", "`touch PWNED`", "${HOME}", "$HOME",
           "a\nb", "\n", "trailing\n\n", "; touch PWNED", "&& touch PWNED #", "|", "*", "~", "!!", "%F{red}",
           "\t", "\r", "ünïcødé ✓ 😀", "\x1b[31m", "--", "-e", "{a,b}", "(", ")", "#", "a\\\nb",
           "\U000f600a", "\uf601"]
NAMES = st.from_regex(r"\AT_[A-Za-z0-9_]{0,8}\Z")
# Any text but NUL (no shell variable can hold it) and lone surrogates (not text).
VALUES = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=40)


def shell_argv(name: str, script: Path, *, rc_quotes: bool = False) -> list[str]:
    if shutil.which(name) is None:
        missing(name)
    if name == "zsh":
        return ["zsh", "-f", "-c", ("setopt rc_quotes; " if rc_quotes else "") + f"source {script}; env -0"]
    if name == "fish":
        return ["fish", "--no-config", "-c", f"source {script}; env -0"]
    return ["bash", "--norc", "--noprofile", "-c", f"source {script}; env -0"]


def round_trip(name: str, tmp: Path, env: dict[str, str], unset: list[str] = (), *,
               rc_quotes: bool = False) -> dict[str, str]:
    script = tmp / f"code.{name}"
    script.write_text(shells.get(name).export(env, unset), encoding="utf-8")
    start = {"PATH": "/usr/bin:/bin", "HOME": str(tmp), "LC_ALL": "C.UTF-8", "T_OLD": "old"}
    done = subprocess.run(shell_argv(name, script, rc_quotes=rc_quotes), env=start, cwd=tmp,
                          capture_output=True, check=True, timeout=20)
    assert not (tmp / "PWNED").exists()
    pairs = [item.split(b"=", 1) for item in done.stdout.split(b"\0") if item]
    return {k.decode(): v.decode("utf-8") for k, v in pairs if k.startswith(b"T_")}


@pytest.mark.parametrize("name", shells.NAMES)
def test_hostile_values_round_trip(name: str, tmp_path: Path) -> None:
    env = {f"T_{i}": value for i, value in enumerate(HOSTILE)}
    assert round_trip(name, tmp_path, env, ["T_OLD", "T_NEVER_SET"]) == env


def test_zsh_rc_quotes_changes_nothing(tmp_path: Path) -> None:
    env = {f"T_{i}": value for i, value in enumerate(HOSTILE)}
    assert round_trip("zsh", tmp_path, env, ["T_OLD"], rc_quotes=True) == env


@pytest.mark.parametrize("name", shells.NAMES)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(env=st.dictionaries(NAMES, VALUES, max_size=6), keep_old=st.booleans())
def test_any_text_round_trips(name: str, tmp_path: Path, env: dict[str, str], keep_old: bool) -> None:
    unset = [] if keep_old else ["T_OLD"]
    expected = dict(env)
    if keep_old and "T_OLD" not in env:
        expected["T_OLD"] = "old"
    assert round_trip(name, tmp_path, env, unset) == expected


@pytest.mark.parametrize("name", shells.NAMES)
@given(bad=st.text(max_size=12).filter(lambda s: not shells.NAME.fullmatch(s)))
def test_names_that_are_not_identifiers_are_refused(name: str, bad: str) -> None:
    with pytest.raises(ValueError, match="not a valid variable name"):
        shells.get(name).export({bad: "x"})
    with pytest.raises(ValueError, match="not a valid variable name"):
        shells.get(name).export({}, [bad])


@pytest.mark.parametrize("name", shells.NAMES)
def test_nul_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="NUL"):
        shells.get(name).quote("a\0b")


def test_unknown_shell_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown shell 'tcsh'; use bash, zsh or fish"):
        shells.get("tcsh")


@pytest.mark.parametrize("name", shells.NAMES)
def test_hook_starts_with_the_program_and_settings(name: str) -> None:
    text = shells.get(name).hook("/opt/it's here/shellenv", {"warn_before": 60, "prompt": False})
    head = text.split("\n", 12)
    assert any("__shellenv_prog" in line and "it" in line for line in head)
    assert any("__shellenv_warn_before" in line and "60" in line for line in head)
    assert any("__shellenv_prompt" in line and "0" in line for line in head)
    assert text.endswith(shells.get(name).script())
    with pytest.raises(ValueError):
        shells.get(name).hook("/bin/x", {"bad name": 1})


def test_shells_module_imports_only_the_standard_library() -> None:
    code = ("import sys, shellenv.shells; "
            "print(sorted(m for m in ('requests','boto3','defusedxml','psutil','keyring','lxml') "
            "if m in sys.modules))")
    done = subprocess.run(["python", "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
