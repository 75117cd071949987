"""A real pseudo-terminal for tests: shellenv asks its questions on it, a script answers them.

`ScriptedTty` opens a pty pair; `terminal()` gives a shellenv Terminal whose questions go to the pty's slave
side, and a thread reads the master side and types the scripted answer when a prompt matches.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import threading
import time
from collections.abc import Iterable

from shellenv.terminal import Terminal


class ScriptedTty:
    def __init__(self, script: Iterable[tuple[str, str]] = ()) -> None:
        """`script`: (regex on the screen text since the last answer, text to type) pairs, in order."""
        self.master, self.slave = os.openpty()
        self.path = os.ttyname(self.slave)
        self.script = list(script)
        self.screen = ""
        self.stderr = io.StringIO()
        self._lock = threading.Lock()
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def terminal(self) -> Terminal:
        return Terminal(stderr=self.stderr, tty_path=self.path)

    def _run(self) -> None:
        pending = ""
        while not self._stop:
            try:
                chunk = os.read(self.master, 4096).decode("utf-8", "replace")
            except OSError:
                return
            with self._lock:
                self.screen += chunk
                pending += chunk
                if self.script and re.search(self.script[0][0], pending):
                    _, answer = self.script.pop(0)
                    pending = ""
                    os.write(self.master, answer.encode() + b"\n")

    def wait_quiet(self, seconds: float = 0.2) -> None:
        time.sleep(seconds)

    def close(self) -> None:
        self._stop = True
        for fd in (self.slave, self.master):
            with contextlib.suppress(OSError):
                os.close(fd)
