"""Talking to the person at the keyboard: messages on stderr, questions on the terminal.

This module owns every prompt shellenv shows. It never writes to stdout, which the shell may be capturing
for `eval`, and it never reads a secret from anywhere but the terminal device.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from typing import TextIO

from shellenv.errors import Interrupted, NeedsLoginError

TTY_PATH = "/dev/tty"
NO_BROWSER = "SHELLENV_NO_BROWSER"  # set: never open a browser, print the URL
# C0 controls, DEL and C1 controls: a terminal obeys them (OSC 52 sets the clipboard, CSI moves the cursor).
_CONTROLS = frozenset([*range(32), *range(0x7F, 0xA0)])


def printable(text: str) -> str:
    """`text` with its control characters written as \\xNN: words from an IdP (a page title, an error, an
    account name) are shown to the user, never obeyed by the terminal."""
    if text.isprintable():
        return text
    return "".join(f"\\x{ord(c):02x}" if ord(c) in _CONTROLS else c for c in text)


class Terminal:
    """The user's terminal. Tests run shellenv under a pseudo-terminal, so this is the real path there too."""

    def __init__(self, *, stderr: TextIO | None = None, tty_path: str = TTY_PATH) -> None:
        self._stderr = stderr if stderr is not None else sys.stderr
        self._tty_path = tty_path
        self._status_shown = False

    # -- output --------------------------------------------------------------------------------------------

    def message(self, text: str) -> None:
        """One line for the user, on stderr."""
        self._clear_status()
        print(f"shellenv: {printable(text)}", file=self._stderr, flush=True)

    def status(self, text: str) -> None:
        """A line that the next status or message replaces, such as 'waiting for push approval... 12s'."""
        if self._stderr.isatty():
            self._stderr.write(f"\r\033[2Kshellenv: {printable(text)}")
            self._stderr.flush()
            self._status_shown = True
        else:
            print(f"shellenv: {printable(text)}", file=self._stderr, flush=True)

    def _clear_status(self) -> None:
        if self._status_shown:
            self._stderr.write("\r\033[2K")
            self._stderr.flush()
            self._status_shown = False

    # -- input ---------------------------------------------------------------------------------------------

    @property
    def interactive(self) -> bool:
        """True when a terminal is there to ask on."""
        try:
            fd = os.open(self._tty_path, os.O_RDWR | os.O_NOCTTY)
        except OSError:
            return False
        os.close(fd)
        return True

    def ask(self, prompt: str, *, secret: bool = False, why: str = "an answer") -> str:
        """Ask on the terminal and return the answer without its newline.

        `why` names what is missing when there is no terminal, for the error message.
        """
        self._clear_status()
        with self._open_tty(why) as tty:
            try:
                if secret:
                    answer = _read_hidden(tty, printable(prompt))
                else:
                    tty.write(printable(prompt))
                    answer = tty.readline()
                    if not answer:
                        raise Interrupted("no answer: the terminal was closed")
                    answer = answer.rstrip("\r\n")
            except KeyboardInterrupt:
                tty.write("\n")
                raise Interrupted() from None
        return answer

    def choose(self, prompt: str, options: Sequence[str], *, why: str = "a choice") -> int:
        """Show numbered options and return the index the user picked. One option is taken without asking."""
        if not options:
            raise ValueError("choose() needs at least one option")
        if len(options) == 1:
            return 0
        self._clear_status()
        width = len(str(len(options)))
        lines = [prompt] + [f"  {i:>{width}}) {printable(text)}" for i, text in enumerate(options, 1)]
        with self._open_tty(why) as tty:
            tty.write("\n".join(lines) + "\n")
            tty.flush()
        while True:
            answer = self.ask(f"Pick 1-{len(options)}: ", why=why).strip()
            if answer.isdigit() and 1 <= int(answer) <= len(options):
                return int(answer) - 1
            matches = [i for i, text in enumerate(options) if answer and answer.lower() in text.lower()]
            if len(matches) == 1:
                return matches[0]
            with self._open_tty(why) as tty:
                tty.write(f"'{answer}' is not one of the choices; type its number.\n")

    @contextlib.contextmanager
    def _open_tty(self, why: str) -> Iterator[_Tty]:
        try:
            fd = os.open(self._tty_path, os.O_RDWR | os.O_NOCTTY)
        except OSError:
            raise NeedsLoginError(
                f"{why} is needed but there is no terminal to ask on; "
                "run the command in an interactive terminal"
            ) from None
        tty = _Tty(fd)
        try:
            yield tty
        finally:
            tty.close()


class _Tty:
    """The terminal device opened once for reading and writing (a tty cannot be one seekable stream)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._reader = open(fd, encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115

    def fileno(self) -> int:
        return self._fd

    def write(self, text: str) -> None:
        data = text.encode("utf-8")
        while data:
            data = data[os.write(self._fd, data):]

    def flush(self) -> None:
        pass

    def readline(self) -> str:
        return self._reader.readline()

    def close(self) -> None:
        self._reader.close()
        os.close(self._fd)


def _read_hidden(tty: _Tty, prompt: str) -> str:
    """Show `prompt` and read a line with echo off (turned off first, so that nothing typed early shows),
    restoring the terminal's mode whatever happens."""
    import termios

    fd = tty.fileno()
    try:
        old = termios.tcgetattr(fd)
    except termios.error:
        old = None
    if old is not None:
        new = termios.tcgetattr(fd)
        new[3] &= ~termios.ECHO
        termios.tcsetattr(fd, termios.TCSADRAIN, new)
    try:
        tty.write(prompt)
        answer = tty.readline()
    finally:
        if old is not None:
            termios.tcsetattr(fd, termios.TCSADRAIN, old)
        tty.write("\n")
        tty.flush()
    if not answer:
        raise Interrupted("no answer: the terminal was closed")
    return answer.rstrip("\r\n")


def open_browser(url: str) -> bool:
    """Open `url` in a browser when one can be shown; stdout stays clean for the shell's eval."""
    if os.environ.get(NO_BROWSER):
        return False
    graphical = sys.platform in ("darwin", "win32") or any(
        os.environ.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER")
    )
    if not graphical:
        return False
    import webbrowser

    saved = os.dup(1)
    try:
        os.dup2(2, 1)  # a browser launcher that prints must not print into the eval channel
        return bool(webbrowser.open(url, new=2))
    except Exception:  # noqa: BLE001 - a browser that fails to start is not an error
        return False
    finally:
        os.dup2(saved, 1)
        os.close(saved)
