"""Per-model circuit breakers: skip a model that keeps failing, for a while.

A service reports how each call to a model went (``Resolver.report_failure`` /
``report_success``); the resolver skips a model whose breaker is open and
picks the next candidate. The rules, the same as written in the manual:

- **Open at once**: HTTP 401, 403, 404 and 429 (the model refuses this
  caller, does not exist there, or is rate-limiting it: retrying it now
  cannot help), and any failure reported with ``retry_after``.
- **Counted**: no status (a connection error or a timeout), 408 and every
  5xx. More than ``allowed_fails`` counted failures within ``cooldown``
  seconds open the breaker.
- **Ignored**: any other status (400, 413, 422, ...: the request was wrong,
  not the model) is not held against the model.
- An open breaker closes after ``cooldown`` seconds (after ``retry_after``
  when one was given), or at once on a reported success, which also clears
  the count.

Times come from an injectable clock (``runtime.clock``), so tests move them by hand.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass, field

from .clock import Clock

#: Statuses that open a breaker on the first failure.
OPEN_AT_ONCE = frozenset({401, 403, 404, 429})
#: Longest ``retry_after`` honoured (a day): a larger one is cut to this.
MAX_RETRY_AFTER = 86400.0


def counts_toward_allowed_fails(status: int | None) -> bool:
    """No status (connection error, timeout), 408 and 5xx count; they may pass."""
    return status is None or status == 408 or 500 <= status <= 599


@dataclass
class _Breaker:
    failures: deque = field(default_factory=deque)  # monotonic times of counted failures
    open_until: float | None = None  # monotonic
    open_until_wall: float | None = None


class Breakers:
    """The breakers of every model a service reported on; thread-safe.

    ``version`` changes whenever the set of open models changes, so a caller
    can memoize anything computed from ``open_models()`` by it.
    """

    def __init__(
        self, cooldown: float = 30.0, allowed_fails: int = 3, clock: Clock | None = None
    ) -> None:
        self.cooldown: float = _checked_cooldown(cooldown)
        self.allowed_fails: int = _checked_allowed_fails(allowed_fails)
        self.clock: Clock = clock or Clock()
        self.version = 0
        self._breakers: dict[str, _Breaker] = {}
        self._open: frozenset[str] = frozenset()
        self._next_expiry = math.inf
        self._lock = threading.Lock()

    def failure(
        self, model: str, status: int | None = None, retry_after: float | None = None
    ) -> bool:
        """Record a failed call; True when this opened the model's breaker."""
        status = _checked_status(status)
        retry_after = _checked_retry_after(retry_after)
        now = self.clock.monotonic()
        with self._lock:
            breaker = self._breakers.setdefault(model, _Breaker())
            if retry_after is not None:
                opens_for = retry_after
            elif status in OPEN_AT_ONCE:
                opens_for = self.cooldown
            elif counts_toward_allowed_fails(status):
                breaker.failures.append(now)
                while breaker.failures and breaker.failures[0] <= now - self.cooldown:
                    breaker.failures.popleft()
                if len(breaker.failures) <= self.allowed_fails:
                    return False
                opens_for = self.cooldown
            else:
                return False
            was_open = breaker.open_until is not None
            until = now + opens_for
            if was_open and breaker.open_until is not None and breaker.open_until >= until:
                return False
            breaker.open_until = until
            breaker.open_until_wall = self.clock.time() + opens_for
            breaker.failures.clear()
            self._update()
            return not was_open

    def success(self, model: str) -> bool:
        """Record a successful call: close the breaker and clear the count; True if it was open."""
        with self._lock:
            breaker = self._breakers.pop(model, None)
            if breaker is None or breaker.open_until is None:
                return False
            self._update()
            return True

    def expire(self) -> bool:
        """Close the breakers whose time is up; True if any closed."""
        now = self.clock.monotonic()
        if now < self._next_expiry:
            return False
        with self._lock:
            done = [
                name
                for name, b in self._breakers.items()
                if b.open_until is not None and b.open_until <= now
            ]
            for name in done:
                del self._breakers[name]
            if done:
                self._update()
            return bool(done)

    def open_models(self) -> frozenset[str]:
        """The models skipped now (as of the last ``expire``)."""
        return self._open

    @property
    def next_expiry(self) -> float:
        """The monotonic time the next open breaker closes (infinity when none is open)."""
        return self._next_expiry

    def open_until(self) -> list[tuple[str, float]]:
        """``(model_name, until)`` for each open breaker, ``until`` a Unix time; by name."""
        with self._lock:
            return [
                (name, b.open_until_wall)
                for name, b in sorted(self._breakers.items())
                if b.open_until is not None and b.open_until_wall is not None
            ]

    def reinitialize_after_fork(self) -> None:
        """A forked child gets a fresh lock (the parent's may have been held mid-fork)."""
        self._lock = threading.Lock()

    def _update(self) -> None:
        opened = {
            name: b.open_until for name, b in self._breakers.items() if b.open_until is not None
        }
        self._open = frozenset(opened)
        self._next_expiry = min(opened.values(), default=math.inf)
        self.version += 1


def _checked_cooldown(cooldown: object) -> float:
    if (
        isinstance(cooldown, (int, float))
        and not isinstance(cooldown, bool)
        and math.isfinite(cooldown)
        and cooldown >= 0
    ):
        return float(cooldown)
    raise ValueError(f"cooldown is a number of seconds, 0 or more, not {cooldown!r}")


def _checked_allowed_fails(allowed_fails: object) -> int:
    if not isinstance(allowed_fails, int) or isinstance(allowed_fails, bool) or allowed_fails < 0:
        raise ValueError(f"allowed_fails is a whole number, 0 or more, not {allowed_fails!r}")
    return allowed_fails


def _checked_status(status: object) -> int | None:
    if status is None:
        return None
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise ValueError(f"status is an HTTP status code (100-599) or None, not {status!r}")
    return status


def _checked_retry_after(retry_after: object) -> float | None:
    if retry_after is None:
        return None
    if (
        not isinstance(retry_after, (int, float))
        or isinstance(retry_after, bool)
        or not retry_after >= 0
    ):  # NaN fails this too
        raise ValueError(f"retry_after is a number of seconds, 0 or more, not {retry_after!r}")
    return min(float(retry_after), MAX_RETRY_AFTER)
