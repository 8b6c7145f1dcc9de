"""The time a resolver and its breakers read, and how its refresh thread waits.

Passing a clock in (instead of calling ``time`` directly) lets tests move
time forward by hand: a cooldown of 30 s or a back-off of 64 s is tested in
microseconds, with the real refresh thread still running.
"""

from __future__ import annotations

import threading
import time


class Clock:
    """The real clock: ``monotonic()`` for intervals, ``time()`` for timestamps."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    def wait(self, event: threading.Event, timeout: float) -> bool:
        """Block until ``event`` is set (True) or ``timeout`` seconds pass (False)."""
        return event.wait(max(0.0, timeout))


class ManualClock(Clock):
    """A clock that moves only when told to (``advance``); for tests of timed behaviour.

    ``wait`` blocks the calling thread until the event is set or the clock has
    been advanced past the timeout, so a background thread sleeping for 300 s
    wakes as soon as a test calls ``advance(300)``.
    """

    def __init__(self, start: float | None = None) -> None:
        self._wall = time.time() if start is None else start
        self._mono = 1000.0
        self._changed = threading.Condition()

    def monotonic(self) -> float:
        return self._mono

    def time(self) -> float:
        return self._wall

    def advance(self, seconds: float) -> None:
        with self._changed:
            self._mono += seconds
            self._wall += seconds
            self._changed.notify_all()

    def wait(self, event: threading.Event, timeout: float) -> bool:
        deadline = self._mono + max(0.0, timeout)
        with self._changed:
            while not event.is_set() and self._mono < deadline:
                # A short real wait: the event is set without notifying this condition.
                self._changed.wait(0.005)
        return event.is_set()
