"""Tab completion in real bash, zsh and fish: the generated files are current, and complete profile names."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pexpect
import pytest
from cli_fixtures import PROGRAM
from conftest import missing

from shellenv import completions
from shellenv.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "completions"
CONFIG = """
[idp.work]
type = "saml-form"
url = "https://idp.example.com/login"

[idp.partner]
type = "okta"
org_url = "https://partner.okta.com"

[profile.dev-admin]
idp = "work"
role_arn = "arn:aws:iam::111111111111:role/Admin"

[profile.prod-admin]
idp = "work"
role_arn = "arn:aws:iam::222222222222:role/Admin"

[profile.prod-readonly]
idp = "partner"
role_arn = "arn:aws:iam::222222222222:role/ReadOnly"
"""


@pytest.fixture
def env(home: Path) -> dict[str, str]:
    config = home / ".config" / "shellenv" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(CONFIG)
    return {"HOME": str(home), "PATH": f"{Path(PROGRAM).parent}:/usr/bin:/bin", "TERM": "dumb",
            "LANG": "C.UTF-8"}


def need(shell: str) -> str:
    path = shutil.which(shell)
    if not path:
        missing(shell)
    return str(path)


# -- the generated files ----------------------------------------------------------------------------------


@pytest.mark.parametrize("shell", completions.SHELLS)
def test_committed_files_are_what_the_parser_generates(shell):
    committed = (FOLDER / completions.FILES[shell]).read_text()

    assert committed == completions.script(shell, build_parser()), (
        "completions/ is stale; regenerate it: python -m shellenv.completions completions/")


def test_every_command_and_flag_is_in_the_table():
    text = completions.script("bash")
    shown = {action.dest for action in build_parser()._subparsers._group_actions[0]._choices_actions}

    assert not any(name.startswith("__") for name in shown)  # hidden helpers have no help text
    for name in shown:
        assert f"'{name}'" in text or f" {name}" in text, name
    for flag in ("--no-prompt", "--credentials-file", "--timeout", "--state"):
        assert flag in text, flag
    assert "--background" not in text  # the hook's own flag, hidden from --help and Tab


def test_bash_file_passes_shellcheck():
    if not shutil.which("shellcheck"):
        missing("shellcheck")
    result = subprocess.run(["shellcheck", "-s", "bash", str(FOLDER / "shellenv.bash")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_zsh_and_fish_files_parse():
    result = subprocess.run([need("zsh"), "-n", str(FOLDER / "_shellenv")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    result = subprocess.run([need("fish"), "--no-config", "-n", str(FOLDER / "shellenv.fish")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_names_come_from_the_config_and_never_fail(env, home):
    run = [PROGRAM, "__complete", "profile"]
    result = subprocess.run(run, env=env, capture_output=True, text=True, timeout=30)
    assert result.stdout.split() == ["dev-admin", "prod-admin", "prod-readonly"]

    (home / ".config" / "shellenv" / "config.toml").write_text("[profile.broken\n")
    result = subprocess.run(run, env=env, capture_output=True, text=True, timeout=30)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


# -- bash -------------------------------------------------------------------------------------------------


def bash_complete(env: dict[str, str], line: str, *, load: str) -> list[str]:
    """COMPREPLY for `line` (the cursor at its end), after running `load` in a bash without rc files."""
    words = line.split(" ")
    script = (f"{load}\nCOMP_WORDS=({' '.join(repr(w) for w in words)})\n"
              f"COMP_CWORD={len(words) - 1}\n_shellenv\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"")
    result = subprocess.run([need("bash"), "--norc", "--noprofile", "-c", script], env=env,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


@pytest.mark.parametrize("load", [f"source {FOLDER / 'shellenv.bash'}", 'eval "$(shellenv init bash)"'])
def test_bash_registers_and_completes_profiles(env, load):
    result = subprocess.run([need("bash"), "--norc", "--noprofile", "-c", f"{load}\ncomplete -p shellenv"],
                            env=env, capture_output=True, text=True, timeout=30)
    assert result.stdout.strip() == "complete -F _shellenv shellenv", result.stderr

    assert bash_complete(env, "shellenv use prod-", load=load) == ["prod-admin", "prod-readonly"]
    assert bash_complete(env, "shellenv -v export --shell zsh d", load=load) == ["dev-admin"]


def test_bash_completes_commands_flags_choices_and_idps(env):
    load = f"source {FOLDER / 'shellenv.bash'}"

    assert "doctor" in bash_complete(env, "shellenv ", load=load)
    assert bash_complete(env, "shellenv export --shell ", load=load) == ["bash", "zsh", "fish"]
    assert bash_complete(env, "shellenv export --c", load=load) == ["--cached", "--credentials-file"]
    assert bash_complete(env, "shellenv secret set ", load=load) == ["partner", "work"]
    assert bash_complete(env, "shellenv secret set work t", load=load) == ["totp_secret"]
    assert bash_complete(env, "shellenv init z", load=load) == ["zsh"]


# -- zsh: a real interactive zsh on a pseudo-terminal, pressing Tab ---------------------------------------


def zsh_tab(env: dict[str, str], home: Path, setup: str, typed: str) -> str:
    """The screen after typing `typed` and Tab in an interactive zsh whose .zshrc is `setup`."""
    zdotdir = home / "zdot"
    zdotdir.mkdir(exist_ok=True)
    (zdotdir / ".zshrc").write_text(f"PS1='%% '\nunsetopt beep\n{setup}\nprint ready\n")
    child = pexpect.spawn(need("zsh"), ["-i"], env={**env, "ZDOTDIR": str(zdotdir)}, encoding="utf-8",
                          timeout=20, dimensions=(24, 200))
    try:
        child.expect("ready")
        child.send(typed + "\t")
        child.expect(r"-admin")
        return typed + child.after
    finally:
        child.sendcontrol("c")
        child.close(force=True)


COMPINIT = "autoload -Uz compinit && compinit -u -d ~/.zcompdump"


@pytest.mark.parametrize("setup", [
    f"fpath=({FOLDER} $fpath)\n{COMPINIT}",  # installed by hand on $fpath
    f'{COMPINIT}\neval "$(shellenv init zsh)"',  # loaded by the hook
])
def test_zsh_completes_a_profile_on_tab(env, home, setup):
    assert zsh_tab(env, home, setup, "shellenv use dev") == "shellenv use dev-admin"


def test_zsh_lists_commands_with_their_help(env, home):
    zdotdir = home / "zdot"
    zdotdir.mkdir()
    (zdotdir / ".zshrc").write_text(f"PS1='%% '\nfpath=({FOLDER} $fpath)\n{COMPINIT}\nprint ready\n")
    child = pexpect.spawn(need("zsh"), ["-i"], env={**env, "ZDOTDIR": str(zdotdir)}, encoding="utf-8",
                          timeout=20, dimensions=(40, 200))
    try:
        child.expect("ready")
        child.send("shellenv secret set work \t")
        child.expect("totp_secret")
        child.send("\x15shellenv \t")
        child.expect(r"doctor\s+-- check the setup")
    finally:
        child.close(force=True)


# -- fish -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("load", [f"source {FOLDER / 'shellenv.fish'}", "shellenv init fish | source"])
def test_fish_completes_a_profile(env, load):
    script = f'{load}\ncomplete -C "shellenv use d"\necho ==\ncomplete -C "shellenv secret set "'
    result = subprocess.run([need("fish"), "--no-config", "-c", script], env=env, capture_output=True,
                            text=True, timeout=30)

    profiles, idps = result.stdout.split("==\n")
    assert profiles.split() == ["dev-admin"], result.stderr
    assert idps.split() == ["partner", "work"]


def test_fish_shows_flag_help(env):
    script = f'source {FOLDER / "shellenv.fish"}\ncomplete -C "shellenv export --sh"'
    result = subprocess.run([need("fish"), "--no-config", "-c", script], env=env, capture_output=True,
                            text=True, timeout=30)

    assert result.stdout == "--shell\tthe shell to write code for (default: yours)\n", result.stderr


def test_init_without_completions(env):
    result = subprocess.run([PROGRAM, "init", "bash", "--no-completions"], env=env, capture_output=True,
                            text=True, timeout=30)

    assert result.returncode == 0
    assert "_shellenv" not in result.stdout.replace("__shellenv", "")


@pytest.fixture(autouse=True)
def _no_user_rc(monkeypatch):
    for name in ("ZDOTDIR", "BASH_ENV", "ENV"):
        monkeypatch.delenv(name, raising=False)
    return os.environ
