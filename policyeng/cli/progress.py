"""A one-line download meter for long catalog fetches, on a terminal only.

A deployment's logs and a piped ``--json`` must stay clean, so the CLI uses
this only when stderr is a terminal, and it draws nothing for fetches that
finish within ``delay`` seconds.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from ..text import is_terminal, shown_source


class TerminalProgress:
    """Redraws ``policyeng: fetching URL  1.2 MiB / 3.4 MiB`` in place; erases it when done."""

    def __init__(
        self, stream: TextIO | None = None, *, delay: float = 0.5, interval: float = 0.1
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.delay = delay
        self.interval = interval
        self._started: float | None = None
        self._drawn_at = 0.0
        self._width = 0

    @classmethod
    def for_terminal(cls, stream: TextIO | None = None) -> TerminalProgress | None:
        """A meter if ``stream`` (stderr by default) is a terminal, else None."""
        stream = stream if stream is not None else sys.stderr
        return cls(stream) if is_terminal(stream) else None

    def update(self, url: str, received: int, total: int | None) -> None:
        now = time.monotonic()
        if self._started is None:
            self._started = now
        if now - self._started < self.delay or now - self._drawn_at < self.interval:
            return
        self._drawn_at = now
        size = _mib(received) + (f" / {_mib(total)}" if total else "")
        self._draw(f"policyeng: fetching {shown_source(url)}  {size}")

    def close(self) -> None:
        if self._width:
            self._draw("")
            self.stream.write("\r")
            self.stream.flush()
        self._started, self._width = None, 0

    def _draw(self, text: str) -> None:
        self.stream.write("\r" + text.ljust(self._width))
        self.stream.flush()
        self._width = len(text)


def _mib(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MiB"
