"""The hook in real interactive bash, zsh and fish: use/clear, $?, idempotence, set -u, other hooks, forks.

Every session starts with no user rc file and a temporary HOME, loads the real `shellenv init` output, and
talks to the real program; keys come from the program's cache.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from conftest import missing
from shell_harness import SHELLS, cache_keys, keys_line, open_session, write_stamp

from shellenv.credentials import EXPORTED

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(params=SHELLS)
def shell(request: pytest.FixtureRequest) -> str:
    return request.param


def test_use_sets_the_keys_and_clear_removes_them(shell: str, home: Path) -> None:
    keys = cache_keys("dev", 7000)
    session = open_session(shell, home, env={"AWS_PROFILE": "other", "AWS_SECURITY_TOKEN": "stale"})

    prompt = session.run("shellenv use dev")
    assert prompt.status == 0
    assert "dev: team/Admin in acme-dev" in prompt.output
    env = session.environment(*EXPORTED, "AWS_PROFILE", "AWS_SECURITY_TOKEN", "SHELLENV_REFRESH")
    assert env["AWS_ACCESS_KEY_ID"] == keys.access_key_id
    assert env["AWS_SECRET_ACCESS_KEY"] == keys.secret_access_key
    assert env["AWS_SESSION_TOKEN"] == keys.session_token
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert env["SHELLENV_PROFILE"] == "dev"
    assert env["SHELLENV_EXPIRY"] == str(keys.expiry_epoch)
    assert env["AWS_CREDENTIAL_EXPIRATION"].endswith("Z")
    assert env["AWS_PROFILE"] is env["AWS_SECURITY_TOKEN"] is env["SHELLENV_REFRESH"] is None

    prompt = session.run("shellenv clear")
    assert prompt.status == 0
    assert prompt.text == ""
    assert set(session.environment(*EXPORTED).values()) == {None}
    session.close()


def test_a_failed_use_changes_nothing_and_returns_its_status(shell: str, home: Path) -> None:
    session = open_session(shell, home)
    prompt = session.run("shellenv use nosuch")
    assert prompt.status not in (0, 1)
    assert prompt.output.count("\n") == 1 and prompt.output.startswith("shellenv: ")
    assert session.environment("AWS_ACCESS_KEY_ID") == {"AWS_ACCESS_KEY_ID": None}
    session.close()


def test_other_subcommands_pass_through(shell: str, home: Path) -> None:
    session = open_session(shell, home)
    assert session.run("shellenv --version").output.startswith("shellenv ")
    prompt = session.run("shellenv use --help")
    assert prompt.status == 0 and "usage: shellenv use " in prompt.output  # not export's help
    assert "--cached" in prompt.output
    session.close()


def test_the_programs_flags_may_come_before_the_verb(shell: str, home: Path) -> None:
    keys = cache_keys("dev", 7000)
    session = open_session(shell, home)

    prompt = session.run("shellenv -v use dev")
    assert prompt.status == 0
    assert "cache hit" in prompt.output or "cached" in prompt.output, prompt.output
    assert session.environment("AWS_ACCESS_KEY_ID") == {"AWS_ACCESS_KEY_ID": keys.access_key_id}

    prompt = session.run("shellenv --debug clear")
    assert prompt.status == 0
    assert "unset" not in prompt.output
    assert session.environment("AWS_ACCESS_KEY_ID") == {"AWS_ACCESS_KEY_ID": None}

    session.run("shellenv use dev")
    prompt = session.run("shellenv -v refresh")  # a login is needed and there is no IdP: it fails
    assert keys.secret_access_key not in prompt.output and "export" not in prompt.output
    assert session.run("shellenv -v --version").output.startswith("shellenv ")
    session.close()


def test_status_is_preserved_for_the_users_prompt(shell: str, home: Path) -> None:
    session = open_session(shell, home, after=keys_line(shell, int(time.time()) + 600))
    assert session.run("false").status == 1
    assert session.run("sh -c 'exit 7'").status == 7
    assert session.run("true").status == 0
    session.close()


def test_init_twice_changes_nothing(shell: str, home: Path) -> None:
    session = open_session(shell, home, after=keys_line(shell, int(time.time()) + 600))
    init = subprocess.run(["shellenv", "init", shell], capture_output=True, text=True, check=True,
                          env=session.env).stdout
    (home / "again").write_text(init)
    session.run(f"source {home / 'again'}")
    prompt = session.run("")
    assert prompt.text.count("aws:dev") == 1
    if shell == "bash":
        assert session.run('echo "$PROMPT_COMMAND"').output.count("__shellenv_precmd") == 1
    elif shell == "zsh":
        assert session.run("echo $precmd_functions").output.count("__shellenv_precmd") == 1
    else:
        assert session.run("functions fish_right_prompt __shellenv_right_prompt").output.count(
            "shellenv_prompt") == 1
    session.close()


def test_set_u_does_not_break_it(shell: str, home: Path) -> None:
    cache_keys("dev", 7000)
    strict = {"bash": "set -u", "zsh": "setopt nounset warn_create_global", "fish": ""}[shell]
    session = open_session(shell, home, before=strict)
    outputs = [session.run(line).output for line in
               ("", "shellenv use dev", keys_line(shell, int(time.time()) + 100), "", "shellenv clear",
                keys_line(shell, int(time.time()) - 5), "", "shellenv refresh --help", "")]
    assert not [o for o in outputs if re.search(r"unbound|parameter not set|not set|created globally", o)]
    session.close()


def test_coexists_with_direnv_starship_like_hooks_and_a_prompt_command_array(shell: str,
                                                                            home: Path) -> None:
    if shutil.which("direnv") is None:
        missing("direnv")
    before = {
        "bash": ('__seen=""; __user_a() { __seen+="a$? "; }; __starship_like() { __seen+="s$? "; }\n'
                 "PROMPT_COMMAND=(__user_a __starship_like)\n"
                 'eval "$(direnv hook bash)"'),
        "zsh": ('__seen=""; __user_a() { __seen+="a$? "; }; __starship_like() { __seen+="s$? "; }\n'
                "precmd_functions+=(__user_a __starship_like)\n"
                'eval "$(direnv hook zsh)"'),
        "fish": ("set -g __seen\n"
                 "function __user_a --on-event fish_prompt; set -ga __seen a$status; end\n"
                 "direnv hook fish | source"),
    }[shell]
    session = open_session(shell, home, before=before,
                           after=keys_line(shell, int(time.time()) + 7000))
    session.run("set __seen" if shell == "fish" else "__seen=''")
    prompt = session.run("false")
    assert prompt.status == 1
    assert "aws:dev" in prompt.text
    seen = session.run("echo $__seen").output
    if shell == "fish":
        assert "a1" in seen
    else:
        assert "a1" in seen and "s1" in seen
        if shell == "bash":
            assert session.run("echo ${#PROMPT_COMMAND[@]} ${PROMPT_COMMAND[0]}").output.strip() == \
                "3 __shellenv_precmd"
    assert "direnv" not in prompt.output
    session.close()


def test_starship_owns_the_prompt_when_present(shell: str, home: Path) -> None:
    session = open_session(shell, home, env={"STARSHIP_SHELL": shell},
                           after=keys_line(shell, int(time.time()) + 7000))
    prompt = session.run("echo $SHELLENV_PROMPT_SEGMENT")
    assert "aws:dev" not in prompt.text
    assert prompt.output.startswith("aws:dev 1h5")
    session.close()


def test_shellcheck_is_clean_on_the_bash_hook() -> None:
    if shutil.which("shellcheck") is None:
        missing("shellcheck")
    done = subprocess.run(["shellcheck", "--shell=bash", str(ROOT / "shell" / "shellenv.bash")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout


@pytest.mark.parametrize("argv", [["fish", "--no-execute"], ["zsh", "-n"], ["bash", "-n"]])
def test_the_hooks_parse(argv: list[str]) -> None:
    if shutil.which(argv[0]) is None:
        missing(argv[0])
    done = subprocess.run([*argv, str(ROOT / "shell" / f"shellenv.{argv[0]}")], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("left", [7000, 100])
def test_an_ordinary_prompt_forks_nothing(shell: str, home: Path, left: int) -> None:
    """Outside and inside the warning window (where the stamp is read), traced with strace."""
    if shutil.which("strace") is None:
        missing("strace")
    expiry = int(time.time()) + left
    stamp = home / "stamp"
    write_stamp(stamp, expiry)
    log = home / "strace.log"
    session = open_session(shell, home, after=keys_line(shell, expiry, stamp=str(stamp)),
                           wrapper=["strace", "-f", "-qq", "-o", str(log),
                                    "-e", "trace=clone,clone3,fork,vfork,execve"])
    session.run("")
    started = len(log.read_text().splitlines())
    assert started > 0  # the trace works: the start-up forked
    for _ in range(5):
        prompt = session.run("")
    assert "aws:dev" in prompt.text
    events = log.read_text().splitlines()[started:]
    processes = [e for e in events if "execve" in e or ("clone" in e and "CLONE_THREAD" not in e)
                 or "fork" in e]
    assert processes == []
    session.close()
