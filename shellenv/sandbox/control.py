"""The emulators' shared test controls: failures injected into matching calls, and a movable clock.

It owns the rules and the clock's offset, safe across the server's threads; it never builds an HTTP
answer (each emulator answers in its own service's shape) and never touches the emulators' protocol.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


@dataclass
class Fault:
    """An injected failure. `key` is a path or operation name, or a prefix ending in "*" (all: "*").

    `status` None with a `delay` only slows the matching calls; `times` None never runs out. `error`
    names the failure where a service answers by name (an AWS error code) rather than by status.
    """

    key: str = "*"
    status: int | None = None
    times: int | None = 1
    delay: float = 0.0
    retry_after: int = 30
    error: str = ""

    def matches(self, key: str) -> bool:
        if self.key.endswith("*"):
            return key.startswith(self.key[:-1])
        return key == self.key


def parse_fault(body: Mapping[str, Any], *, default_status: int | None = None) -> Fault:
    """A Fault from a `/__sandbox/fail` body: {"path", "status", "times", "delay", "retry_after"}"""
    status = body.get("status", default_status)
    times = body.get("times", 1)
    return Fault(
        key=str(body.get("path", "*")),
        status=int(status) if status is not None else None,
        times=int(times) if times is not None else None,
        delay=float(body.get("delay", 0)),
        retry_after=int(body.get("retry_after", 30)),
    )


class Faults:
    """The failures waiting to be served, oldest first; the first that matches a call serves it."""

    def __init__(self, sleep: Callable[[float], None] = time.sleep) -> None:
        self._sleep = sleep
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> int:
        """Queue `fault`; the number of faults now waiting."""
        with self._lock:
            self._faults.append(fault)
            return len(self._faults)

    def take(self, key: str) -> Fault | None:
        """The fault that answers this call (after its delay, slept outside the lock), or None."""
        with self._lock:
            fault = next((f for f in self._faults if f.matches(key)), None)
            if fault is None:
                return None
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
        log.debug("failing a call of %s (status %s, delay %s s)", key, fault.status, fault.delay)
        if fault.delay:
            self._sleep(fault.delay)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()


class SandboxClock:
    """An emulator's time: `base` (real time by default) plus an offset tests move to expire things.

    Calling it is `now()`, so it serves wherever a `clock: Callable[[], float]` is taken.
    """

    def __init__(self, base: Callable[[], float] = time.time) -> None:
        self._base = base
        self.offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        return self._base() + self.offset

    __call__ = now

    def advance(self, seconds: float) -> float:
        """Move the clock `seconds` on (back, if negative); the offset from `base` afterwards."""
        with self._lock:
            self.offset += seconds
            return self.offset

    def reset(self) -> None:
        with self._lock:
            self.offset = 0.0
