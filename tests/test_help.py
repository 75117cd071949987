"""--help for every command shows an example of it; --version; usage mistakes; the exit-code table."""

from __future__ import annotations

import argparse
import re
import subprocess
from pathlib import Path

import pytest
from cli_fixtures import PROGRAM

from shellenv import __version__, cli
from shellenv.errors import ExitCode

DOCS = Path(__file__).resolve().parent.parent / "docs" / "daily.md"


def command_paths(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for shown in action._choices_actions:
                path = (*prefix, shown.dest)
                found.append(path)
                found += command_paths(action.choices[shown.dest], path)
    return found


COMMANDS = command_paths(cli.build_parser())


def test_the_commands_are_all_found():
    assert {("init",), ("use",), ("doctor",), ("completions",), ("secret", "set")} <= set(COMMANDS)


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_command_has_help_with_an_example_of_itself(path, capsys):
    code = cli.main([*path, "--help"])

    out = capsys.readouterr().out
    assert code == ExitCode.OK
    assert out.startswith(f"usage: shellenv {' '.join(path)}")
    example = re.search(r"^examples?:\n  (.+)$", out, re.MULTILINE)
    assert example, out
    assert f"shellenv {' '.join(path)}" in example.group(1) or path == ("export",) and \
        "shellenv export" in example.group(1)
    assert "-v, --verbose" in out and "--debug" in out


def test_top_level_help_lists_commands_with_examples_but_not_the_hidden_helper(capsys):
    assert cli.main(["--help"]) == ExitCode.OK
    out = capsys.readouterr().out

    assert "examples:" in out
    for name in ("doctor", "secret", "completions"):
        assert re.search(rf"^    {name}\s+\S", out, re.MULTILINE), name
    assert "__complete" not in out


def test_version_from_the_real_program():
    result = subprocess.run([PROGRAM, "--version"], capture_output=True, text=True, timeout=30)

    assert (result.returncode, result.stdout) == (0, f"shellenv {__version__}\n")


@pytest.mark.parametrize(("argv", "words"), [
    ([], "usage: shellenv"),
    (["lgoin"], "'lgoin' is not a shellenv command; `shellenv --help` lists them"),
    (["uze", "dev-admin"], "'uze' is not a shellenv command (did you mean 'use'?)"),
    (["-v", "lsit"], "(did you mean 'list'?)"),
    (["init", "tcsh"], "invalid choice: 'tcsh'"),
    (["doctor", "--timeout", "soon"], "invalid float value"),
])
def test_usage_mistakes_exit_with_the_usage_code(argv, words, capsys):
    assert cli.main(argv) == ExitCode.USAGE
    captured = capsys.readouterr()

    assert captured.out == ""
    assert words in captured.err
    assert "__dir" not in captured.err


def test_the_exit_code_table_in_the_docs_is_complete():
    rows = dict(re.findall(r"^\| (\d+) \| `(\w+)` \|", DOCS.read_text(), re.MULTILINE))

    assert {int(code): name for code, name in rows.items()} == {code.value: code.name for code in ExitCode}
