"""Loggers for the modules on the start-up path, which load `logging` only when a record is due.

`cli` sets the level once from -v/--debug; a cache hit at the default level never imports `logging`.
This module formats nothing itself and never sees more than the caller passes it.
"""

from __future__ import annotations

import sys
from typing import Any

DEBUG = 10  # the values of logging.DEBUG, INFO and WARNING, which this module must not import to read
INFO = 20
WARNING = 30
ROOT = "shellenv"

_threshold = WARNING  # the level cli asked for; records below it are dropped while `logging` is unloaded
_pending = False  # cli asked for a level that is not applied to the real loggers yet


class Logger:
    """Stands in for `logging.getLogger(name)`: the same calls, but a call below the level costs nothing.

    Once `logging` is loaded anyway (a login, a test's log capture), every call goes to the real logger,
    whose own level decides.
    """

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def isEnabledFor(self, level: int) -> bool:  # the name logging gives it
        return _wanted(level) and _real(self.name).isEnabledFor(level)

    def debug(self, msg: str, *args: Any, **kwargs: Any) -> None:
        if _wanted(DEBUG):
            self._log(DEBUG, msg, args, kwargs)

    def info(self, msg: str, *args: Any, **kwargs: Any) -> None:
        if _wanted(INFO):
            self._log(INFO, msg, args, kwargs)

    def warning(self, msg: str, *args: Any, **kwargs: Any) -> None:
        self._log(WARNING, msg, args, kwargs)

    def _log(self, level: int, msg: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        kwargs.setdefault("stacklevel", 3)  # name the caller's line, not this module's
        _real(self.name).log(level, msg, *args, **kwargs)


def get_logger(name: str) -> Logger:
    return Logger(name)


def set_level(level: int) -> None:
    """The level of the whole `shellenv` tree, from the command line: applied now if `logging` is
    loaded or the level is below WARNING, else on the first record that is due."""
    global _threshold, _pending
    _threshold = level
    _pending = True
    if level < WARNING or "logging" in sys.modules:
        _configure()


def _wanted(level: int) -> bool:
    return level >= _threshold or "logging" in sys.modules


def _real(name: str) -> Any:
    import logging

    if _pending:
        _configure()
    return logging.getLogger(name)


def _configure() -> None:
    """One handler on stderr for the `shellenv` tree, in the format -v and -vv show."""
    global _pending
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(
        "shellenv: %(message)s" if _threshold > DEBUG else "shellenv[%(name)s]: %(message)s"))
    root = logging.getLogger(ROOT)
    root.handlers[:] = [handler]
    root.setLevel(_threshold)
    root.propagate = False
    _pending = False
