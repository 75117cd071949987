"""Security: nothing but shell code reaches what a shell evaluates, whatever a name or a browser says.

A profile name with `$( )` in it must never run at Tab, and a browser launcher that prints must never print
into the stdout that `eval "$(shellenv export ...)"` captures.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import missing

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = "x$(touch PWNED)`touch PWNED2`"
CONFIG = f"""
[idp.work]
type = "saml-form"
url = "https://idp.example.com/login"

[profile.dev-admin]
idp = "work"
role_arn = "arn:aws:iam::111111111111:role/Admin"

[profile."{HOSTILE}"]
idp = "work"
role_arn = "arn:aws:iam::111111111111:role/Admin"
"""


def test_bash_tab_completion_never_expands_a_profile_name(home: Path) -> None:
    """compgen -W expands `$( )` in its word list, and a name inserted unquoted runs it at Enter."""
    bash = shutil.which("bash") or missing("bash")
    config = home / ".config" / "shellenv" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(CONFIG)
    env = {"HOME": str(home), "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "LANG": "C.UTF-8"}

    def complete(typed: str) -> list[str]:
        # Each reply read back as the shell reads a word typed on the command line.
        script = (f"source {ROOT / 'completions' / 'shellenv.bash'}\n"
                  f"COMP_WORDS=(shellenv use {typed!r})\nCOMP_CWORD=2\n_shellenv\n"
                  'for reply in "${COMPREPLY[@]}"; do eval "words=($reply)"; printf "%s\\n" "$words"; '
                  "done")
        result = subprocess.run([str(bash), "--norc", "--noprofile", "-c", script], env=env,
                                cwd=home, capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, result.stderr
        return result.stdout.splitlines()

    assert complete("") == ["dev-admin", HOSTILE]
    assert complete("x") == [HOSTILE]
    assert complete("dev") == ["dev-admin"]
    assert not (home / "PWNED").exists() and not (home / "PWNED2").exists()


@pytest.mark.parametrize("provider", ["okta", "sso"])
def test_a_browser_that_prints_leaves_stdout_clean(home: Path, tmp_path: Path, provider: str) -> None:
    """The Okta and IAM Identity Center device sign-ins open a browser inside `shellenv export`."""
    browser = tmp_path / "browser"
    browser.write_text("#!/bin/sh\necho \"Opening in existing browser session: $1\"\n")
    browser.chmod(0o755)
    opener = {"okta": "from shellenv.providers.okta import _default_browser as open_it",
              "sso": "from shellenv.terminal import open_browser as open_it"}[provider]
    code = f"{opener}\nopen_it('https://example.com/activate?user_code=ABCD')\n"
    env = {**os.environ, "BROWSER": str(browser), "DISPLAY": ":99"}
    env.pop("SHELLENV_NO_BROWSER", None)

    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                            timeout=30, cwd=ROOT)

    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "Opening in existing browser session" in result.stderr
