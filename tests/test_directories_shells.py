"""Per-directory profiles in real interactive bash, zsh and fish: in on the way in, back on the way out.

Each session runs the real `shellenv init` with the sandbox's config in a temporary HOME; keys come from the
cache (put there by the test), except in the one test that logs in through the sandbox OneLogin and STS.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_fixtures import Cli
from conftest import missing
from shell_harness import SHELLS, Prompt, Session, cache_keys, environment, init_text, require

from shellenv import directories


@pytest.fixture(params=SHELLS)
def shell(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def keys(cli: Cli) -> dict[str, str]:
    """Valid cached keys for three profiles of the sandbox config, by profile."""
    return {name: cache_keys(name, 7000, key=f"ASIA{tag}0000000001").access_key_id
            for name, tag in (("dev-admin", "DEVADMIN"), ("dev-readonly", "DEVREAD"),
                              ("prod-readonly", "PRODREAD"))}


def project(folder: Path, profile: str, *, allow: bool = True, extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / directories.FILE_NAME
    path.write_text(f'profile = "{profile}"\n{extra}')
    if allow:
        directories.allow(str(folder))
    return path


class Shell:
    """A session plus what the tests ask of it."""

    def __init__(self, name: str, cli: Cli, *, after: str = "", env: dict[str, str] | None = None,
                 wrapper: list[str] | None = None) -> None:
        require(name)
        self.name = name
        extra = {**cli.sandbox.environment(), **(env or {})}
        init = init_text(name, environment(cli.home, extra))
        self.session = Session(name, cli.home, f"{init}\n{after}", env=extra, wrapper=wrapper)

    def run(self, line: str = "") -> Prompt:
        return self.session.run(line)

    def cd(self, folder: Path | str) -> Prompt:
        return self.run(f"cd '{folder}'")

    def key(self) -> str | None:
        return self.session.environment("AWS_ACCESS_KEY_ID")["AWS_ACCESS_KEY_ID"]

    def env(self, *names: str) -> dict[str, str | None]:
        return self.session.environment(*names)

    def close(self) -> None:
        self.session.close()


@pytest.fixture
def open_shell(cli: Cli) -> Iterator:
    opened: list[Shell] = []

    def start(name: str, **kwargs: object) -> Shell:
        opened.append(Shell(name, cli, **kwargs))  # type: ignore[arg-type]
        return opened[-1]

    yield start
    for session in opened:
        session.close()


def notices(prompt: Prompt) -> list[str]:
    return [line.strip() for line in prompt.output.splitlines() if line.strip().startswith("shellenv:")]


def test_entering_switches_and_leaving_restores_through_nested_projects(shell: str, cli: Cli, keys,
                                                                        open_shell) -> None:
    project(cli.home / "proj", "dev-admin")
    project(cli.home / "proj" / "inner", "dev-readonly", extra='region = "us-east-2"\n')
    (cli.home / "proj" / "src" / "deep").mkdir(parents=True)
    sh = open_shell(shell)
    assert sh.key() is None

    prompt = sh.cd(cli.home / "proj" / "src" / "deep")
    assert notices(prompt) == ["shellenv: ~/proj/.shellenv.toml -> dev-admin: team/Admin in acme-dev "
                               "(eu-west-1), valid 1h56m"]
    assert "aws:dev-admin" in prompt.text
    assert sh.key() == keys["dev-admin"]

    prompt = sh.cd(cli.home / "proj" / "inner")
    assert "-> dev-readonly" in prompt.output
    env = sh.env("AWS_ACCESS_KEY_ID", "AWS_REGION", "AWS_DEFAULT_REGION", "SHELLENV_PROFILE")
    assert env == {"AWS_ACCESS_KEY_ID": keys["dev-readonly"], "AWS_REGION": "us-east-2",
                   "AWS_DEFAULT_REGION": "us-east-2", "SHELLENV_PROFILE": "dev-readonly"}

    prompt = sh.cd("..")
    assert notices(prompt) == ["shellenv: left the folder: back to dev-admin: team/Admin in acme-dev "
                               "(eu-west-1), valid 1h56m"]
    assert sh.env("AWS_ACCESS_KEY_ID", "AWS_REGION") == {"AWS_ACCESS_KEY_ID": keys["dev-admin"],
                                                         "AWS_REGION": "eu-west-1"}

    prompt = sh.cd(cli.home)
    assert notices(prompt) == ["shellenv: left the folder of dev-admin: no AWS keys in this shell now"]
    assert sh.env("AWS_ACCESS_KEY_ID", "SHELLENV_PROFILE") == {"AWS_ACCESS_KEY_ID": None,
                                                               "SHELLENV_PROFILE": None}
    assert "aws:" not in prompt.text


def test_leaving_gives_back_the_profile_the_shell_had(shell: str, cli: Cli, keys, open_shell) -> None:
    project(cli.home / "proj", "dev-admin")
    sh = open_shell(shell)
    sh.run("shellenv use prod-readonly")
    sh.cd(cli.home / "proj")
    assert sh.key() == keys["dev-admin"]
    prompt = sh.cd(cli.home)
    assert "back to prod-readonly" in prompt.output
    assert sh.key() == keys["prod-readonly"]


def test_cd_and_a_command_on_one_line_runs_the_command_with_the_folders_keys(shell: str, cli: Cli, keys,
                                                                             open_shell) -> None:
    project(cli.home / "proj", "dev-admin")
    sh = open_shell(shell)
    glue = "; and" if shell == "fish" else " &&"
    prompt = sh.run(f"cd proj{glue} printenv AWS_ACCESS_KEY_ID")
    assert keys["dev-admin"] in prompt.output
    prompt = sh.run(f"cd ..{glue} printenv AWS_ACCESS_KEY_ID; echo done")
    assert keys["dev-admin"] not in prompt.output
    if shell != "fish":
        # A cd inside a command substitution happens in a subshell: it changes nothing and runs nothing.
        prompt = sh.run('x=$(cd proj && printenv AWS_ACCESS_KEY_ID); echo "[$x]"')
        assert "[]" in prompt.output and notices(prompt) == []


def test_a_file_counts_only_once_allowed_and_each_edit_needs_a_new_allow(shell: str, cli: Cli, keys,
                                                                         open_shell) -> None:
    path = project(cli.home / "proj", "dev-admin", allow=False)
    sh = open_shell(shell)
    prompt = sh.cd(cli.home / "proj")
    assert notices(prompt) == ["shellenv: ~/proj/.shellenv.toml is ignored: names dev-admin, but you have "
                               "not allowed it; to use it, run `shellenv allow ~/proj`"]
    assert sh.key() is None
    assert notices(sh.cd(".")) == []  # the same resolution: nothing again

    prompt = sh.run("shellenv allow")  # the prompt after it notices the new allow
    assert "allowed ~/proj/.shellenv.toml: its folder uses dev-admin" in prompt.output
    assert "-> dev-admin" in prompt.output
    assert sh.key() == keys["dev-admin"]

    stamp = time.time() + 2  # an edit after the last look, whatever the file system's clock
    path.write_text('profile = "prod-readonly"\n')
    os.utime(path, (stamp, stamp))
    prompt = sh.run("")
    assert "~/proj/.shellenv.toml is ignored: names prod-readonly, but it changed since you allowed it" \
        in prompt.output
    assert "no AWS keys in this shell now" in prompt.output
    assert sh.key() is None

    prompt = sh.run("shellenv allow .")
    assert "-> prod-readonly" in prompt.output
    assert sh.key() == keys["prod-readonly"]

    prompt = sh.run("shellenv deny")
    assert "denied ~/proj/.shellenv.toml" in prompt.output
    assert "no AWS keys in this shell now" in prompt.output
    assert sh.key() is None
    sh.cd(cli.home)
    prompt = sh.cd(cli.home / "proj")
    assert notices(prompt) == []  # denied for good, and quiet about it
    assert sh.key() is None
    status = sh.run("shellenv status").output
    assert "ignored: ~/proj/.shellenv.toml: you denied it" in status


def test_a_hand_typed_use_wins_until_the_folder_is_left(shell: str, cli: Cli, keys, open_shell) -> None:
    project(cli.home / "proj", "dev-admin")
    (cli.home / "proj" / "sub").mkdir()
    sh = open_shell(shell)
    sh.cd(cli.home / "proj")
    sh.run("shellenv use dev-readonly")
    sh.cd("sub")
    prompt = sh.cd("..")
    assert notices(prompt) == []
    assert sh.key() == keys["dev-readonly"]
    status = sh.run("shellenv status").output
    assert "dev-readonly was set by hand" in status
    assert "chosen by ~/proj/.shellenv.toml" in status
    prompt = sh.cd(cli.home)
    assert sh.key() is None
    prompt = sh.cd(cli.home / "proj")
    assert sh.key() == keys["dev-admin"]


def test_a_config_rule_maps_folders_and_the_deeper_folder_wins(shell: str, cli: Cli, keys,
                                                               open_shell) -> None:
    cli.write_config(cli.config_path.read_text() + '\n[[directory]]\npath = "~/work/*/prod/**"\n'
                     'profile = "prod-readonly"\n')
    prod = cli.home / "work" / "acme.com" / "prod"
    (prod / "app").mkdir(parents=True)
    project(prod / "app" / "tool", "dev-readonly")
    project(cli.home / "work", "dev-admin")
    sh = open_shell(shell)
    prompt = sh.cd(prod / "app")
    assert '[[directory]] path = "~/work/*/prod/**" -> prod-readonly' in prompt.output
    assert sh.key() == keys["prod-readonly"]
    sh.cd("tool")
    assert sh.key() == keys["dev-readonly"]
    sh.cd(prod)
    assert sh.key() == keys["prod-readonly"]
    sh.cd(cli.home / "work" / "acme.com")
    assert sh.key() == keys["dev-admin"]
    status = sh.run("shellenv status").output
    assert "this folder: dev-admin, chosen by ~/work/.shellenv.toml" in status


def test_symlinked_and_deleted_folders(shell: str, cli: Cli, keys, open_shell) -> None:
    project(cli.home / "real", "dev-admin")
    (cli.home / "real" / "gone").mkdir()
    project(cli.home / "real" / "gone", "dev-readonly")
    (cli.home / "link").symlink_to(cli.home / "real")
    sh = open_shell(shell)
    prompt = sh.cd(cli.home / "link")  # allowed under its real path: the link needs no allow of its own
    assert "~/link/.shellenv.toml -> dev-admin" in prompt.output
    assert sh.key() == keys["dev-admin"]
    sh.cd("gone")
    assert sh.key() == keys["dev-readonly"]
    shutil.rmtree(cli.home / "real" / "gone")
    prompt = sh.run("")
    assert "back to dev-admin" in prompt.output
    assert sh.key() == keys["dev-admin"]


def test_notice_mode_says_what_to_run_instead_of_logging_in(shell: str, cli: Cli, keys,
                                                            open_shell) -> None:
    cli.write_config(cli.config_path.read_text() + '\n[shell]\non_directory = "notice"\n')
    from shellenv.cache import KeyCache

    KeyCache().remove("dev-admin")
    project(cli.home / "proj", "dev-admin")
    sh = open_shell(shell)
    sh.run("shellenv use prod-readonly")
    prompt = sh.cd(cli.home / "proj")
    assert notices(prompt) == ["shellenv: ~/proj/.shellenv.toml uses dev-admin: run `shellenv use "
                               "dev-admin` to log in; the keys of prod-readonly are out of this shell "
                               "meanwhile"]
    assert sh.key() is None
    sh.cd(cli.home)
    assert sh.key() == keys["prod-readonly"]


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_a_cd_that_keeps_the_resolution_forks_nothing(shell: str, cli: Cli, keys, open_shell) -> None:
    if shutil.which("strace") is None:
        missing("strace")
    project(cli.home / "proj", "dev-admin")
    cli.write_config(cli.config_path.read_text() + '\n[[directory]]\npath = "~/work/**"\n'
                     'profile = "prod-readonly"\n')
    for folder in ("proj/a/b", "work/x/y", "plain/c"):
        (cli.home / folder).mkdir(parents=True)
    log = cli.home / "strace.log"
    sh = open_shell(shell, wrapper=["strace", "-f", "-qq", "-o", str(log),
                                    "-e", "trace=clone,clone3,fork,vfork,execve"])
    walk = ["proj", "a", "b", "..", "../..", "work", "x", "y", "..", "../..", "plain", "c", "..", "..",
            "proj/a"]
    switches = {"proj", "../..", "work", "../..", "proj/a"}
    for step in walk:
        started = len(log.read_text().splitlines())
        sh.cd(step)
        events = log.read_text().splitlines()[started:]
        execs = [e for e in events if "execve(" in e]
        forks = [e for e in events if ("clone" in e and "CLONE_THREAD" not in e) or "fork" in e]
        if step in switches:
            assert len(execs) == 1 and "shellenv" in execs[0], (step, execs)
        else:
            assert (execs, forks) == ([], []), step


def test_a_login_at_the_prompt_on_entering(cli: Cli, open_shell) -> None:
    """No cached keys: entering logs in through the sandbox OneLogin (password and TOTP from the config)."""
    from cli_fixtures import world

    cli.write_config(cli.config_path.read_text().replace(
        'mfa = "google"', f'mfa = "google"\ntotp_secret = "{world.ALICE_TOTP_SECRET}"\n'
                          f'password = "{world.ALICE_PASSWORD}"'))
    project(cli.home / "proj", "dev-admin")
    sh = open_shell("bash")
    prompt = sh.cd(cli.home / "proj")
    assert re.search(r"~/proj/\.shellenv\.toml -> dev-admin: Admin in sandbox-dev \(eu-west-1\), "
                     r"valid (11h59m|12h00m)", prompt.output), prompt.output
    assert sh.key().startswith("ASIA")
    assert cli.assertions_issued() == 1
    sh.cd(cli.home)
    prompt = sh.cd(cli.home / "proj")  # from the cache now
    assert cli.assertions_issued() == 1
    assert sh.key().startswith("ASIA")
    assert world.ALICE_PASSWORD not in prompt.output
