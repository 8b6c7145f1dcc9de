"""``Resolver``: which model now, answered from memory, for a long-running service.

A deployment asks for a policy on every request, for hours. The resolver loads
the catalog once (the usual chain: the live URL, its cached copy, builtin),
then one daemon thread keeps it fresh in the background, so ``select`` never
waits on the network: it answers from a memo keyed by the policy and the
current state (catalog revision, circuit breakers, stale flag), which every
change of that state replaces as a whole.

How it behaves, and why:

- Refreshes are conditional requests (the response cache's ``ETag`` /
  ``Last-Modified``), every ``refresh`` seconds give or take 10 % (so a fleet
  does not refresh in step). A failed refresh keeps the last good catalog and
  is retried after 1 s, 2 s, 4 s ... at most ``refresh``, or after the
  server's ``Retry-After``. Only one refresh runs at a time: ``refresh()``
  during one waits for it and reports its outcome.
- While the catalog could not be confirmed, selections say ``stale=True``;
  past ``max_stale`` seconds, ``select`` raises ``CatalogError`` (fail closed).
- Per-model circuit breakers (``runtime.breakers``) skip a failing model: the
  next candidate of the policy, then its fallbacks; when every candidate is
  skipped, the best one comes back with ``degraded=True`` rather than nothing.
- With a lock, a policy keeps its locked model while that is still valid.
- A change of pick is reported to ``on_change`` callbacks and logged on the
  ``policyeng`` logger, with a reason (``runtime.changes``).
- Fork: a resolver started before ``os.fork()`` (a pre-forking server that
  loads the app first) restarts its refresh thread in the child, with fresh
  locks; the child keeps the parent's catalog and breakers (``runtime.forks``).

This module is the public class: its lifecycle, the refresh loop and
``status()``. What a policy resolves to over one state is ``runtime.picks``;
watching picks and reporting their changes, ``runtime.publisher``; checking
the constructor's arguments, ``runtime.arguments``.
"""

from __future__ import annotations

import logging
import math
import os
import random
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from ..catalog.model import QUIET_THREADS, Catalog
from ..catalog.sources import is_url, load_catalog
from ..catalog.times import iso_time
from ..engine import Selection
from ..errors import CatalogError, UsageError
from ..text import plural, shown_source, visible
from .arguments import (
    PolicyPaths,
    chain_source,
    check_catalog,
    check_live,
    load_book,
    read_locked,
    seconds,
)
from .breakers import Breakers
from .changes import Change
from .clock import Clock
from .forks import forget, restart_after_fork
from .picks import Picker, State
from .publisher import PickPublisher

log = logging.getLogger("policyeng")

#: First retry after a failed refresh; doubled on each further failure, at most ``refresh``.
FIRST_BACKOFF = 1.0
#: Refresh intervals vary by this fraction either way.
JITTER = 0.1
#: How long ``close()`` waits for a refresh thread stuck in a fetch before leaving it behind.
CLOSE_TIMEOUT = 2.0


class Resolver:
    """Answers ``select(policy)`` from memory while a thread keeps the catalog fresh.

    ``paths``: policy files or directories (None: expressions only). ``catalog``:
    a source as everywhere (``builtin``, a path, a URL; None: the default chain)
    or a ``Catalog`` (kept as it is). ``refresh``: seconds between background
    refreshes. ``max_stale``: seconds an unconfirmed catalog may be served
    (None: always, flagged ``stale``). ``lock``: a ``policies.lock`` whose picks
    are kept while valid. ``live``: read the live list too (``FLEXAI_API_KEY``).
    ``cooldown`` / ``allowed_fails``: the circuit breakers (``runtime.breakers``).
    ``clock`` and ``jitter`` (a function giving a factor in [0.9, 1.1]) are for
    tests; ``settings`` are the fetch limits of a refresh.
    """

    def __init__(
        self,
        paths: PolicyPaths,
        catalog: str | os.PathLike[str] | Catalog | None = None,
        refresh: float = 300,
        max_stale: float | None = None,
        lock: str | os.PathLike[str] | None = None,
        live: bool = False,
        cooldown: float = 30,
        allowed_fails: int = 3,
        *,
        clock: Clock | None = None,
        jitter: Callable[[], float] | None = None,
        settings: Any = None,
    ) -> None:
        self.refresh_interval = seconds("refresh", refresh)
        self.max_stale = None if max_stale is None else seconds("max_stale", max_stale)
        self.live = check_live(live)
        self._clock = clock or Clock()
        self._jitter = jitter or (lambda: random.uniform(1 - JITTER, 1 + JITTER))
        self._breakers = Breakers(cooldown, allowed_fails, self._clock)
        self._book = load_book(paths)
        self._locked = read_locked(lock, self._book)
        check_catalog(catalog)
        self._fixed: Catalog | None = None
        if isinstance(catalog, Catalog):
            self._fixed, self.source = catalog, catalog.source
        else:
            self.source = chain_source(catalog, self._book)
        self._named = catalog is not None
        self._start_settings = settings  # None: the usual retries for the first load
        if settings is None:
            from ..catalog.http import FetchSettings

            settings = FetchSettings(retries=0)  # refreshes back off on their own
        self._settings = settings
        self._state: State | None = None
        self._started = self._closed = False
        self._thread: threading.Thread | None = None
        self._picker = Picker(self._book, self._locked)
        self._changes = PickPublisher(self._picker, lambda: self._state)
        self._refreshes = self._refresh_failures = self._failures_in_a_row = 0
        self._last_refresh_at: float | None = None
        self._last_error: str | None = None
        self._confirmed_at = 0.0
        self._fetched_ts: float | None = None
        self._next_refresh_at = math.inf
        self._make_locks()

    def _make_locks(self) -> None:
        self._start_lock = threading.Lock()
        self._write_lock = threading.RLock()  # swaps of the state
        self._refresh_done = threading.Condition()
        self._refreshing = False
        self._refresh_count = 0
        self._wake = threading.Event()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "started" if self._started else "not started"
        return f"<Resolver {shown_source(self.source)!r} {state}>"

    @property
    def book(self):
        """The policies of the files it was given (a ``PolicyBook``), or None."""
        return self._book

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> Resolver:
        """Load the catalog (the usual chain) and start the refresh thread; idempotent.

        Raises ``CatalogError`` only when no catalog at all can be had.
        """
        with self._start_lock:
            self._check_open()
            if self._started:
                return self
            if self._fixed is not None:
                catalog = self._fixed
            else:
                from ..policies.book import named_catalog

                default = named_catalog(self._book) if self._book is not None else None
                catalog = load_catalog(
                    self.source if self._named else None,
                    live=self.live,
                    default=default,
                    settings=self._start_settings,
                )
            unconfirmed = catalog.stale or catalog.origin.startswith("cache")
            self._confirmed_at = (
                _timestamp(catalog.fetched_at)
                if unconfirmed and catalog.fetched_at
                else self._clock.time()
            )
            stale = catalog.stale
            self._fetched_ts = self._fetch_time(catalog)
            self._install(catalog, stale=stale)
            picks = self._changes.picks
            for name, pick in (self._locked or {}).items():
                picks[name] = pick  # a lock not honoured now is a change, with its reason
            for name in self._book.names if self._book is not None else ():
                picks.setdefault(name, None)
            self._changes.publish(silent={n for n in picks if n not in (self._locked or {})})
            if stale:
                self._failures_in_a_row = 1
                self._schedule(FIRST_BACKOFF)
            else:
                # a cached copy of a URL is due when it would have been refreshed; a file is
                # read again a whole interval on, however old it is
                self._schedule(
                    self._interval() - ((self._age() or 0.0) if is_url(self.source) else 0.0)
                )
            self._started = True
            restart_after_fork(self)
            self._start_thread()
        return self

    def close(self) -> None:
        """Stop the refresh thread (waiting for it up to 2 s); idempotent."""
        with self._start_lock:
            if self._closed:
                return
            self._closed = True
        with self._write_lock:
            if self._state is not None:  # select() looks again at once, and finds it closed
                self._state = replace(self._state, expires=-math.inf)
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(CLOSE_TIMEOUT)
            if thread.is_alive():
                log.debug(
                    "policyeng resolver closed while a refresh was still fetching; "
                    "its result will be dropped"
                )
        forget(self)

    def __enter__(self) -> Resolver:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def __aenter__(self) -> Resolver:
        import asyncio

        await asyncio.to_thread(self.start)  # the first load may take a while: not on the loop
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        import asyncio

        await asyncio.to_thread(self.close)

    # --- answering -----------------------------------------------------------------------

    def select(self, name_or_expression: str) -> Selection:
        """The model for a policy name (from the files) or a policy expression; no I/O.

        Raises ``PolicyError`` for an unknown name (with did-you-mean) or a bad
        expression, ``NoMatch`` when nothing in the catalog matches, and
        ``CatalogError`` when the catalog is older than ``max_stale``.
        """
        state = self._state
        if state is None:
            raise self._unusable()
        if self._clock.monotonic() >= state.expires:
            state = self._advance()
        try:
            hit = state.memo.get(name_or_expression)
        except TypeError:  # unhashable: say what select() takes
            hit = None
        if hit is not None:
            return hit
        return self._select_slowly(state, name_or_expression)

    def _select_slowly(self, state: State, name: str) -> Selection:
        """Not remembered yet: work it out (and watch an expression for changes)."""
        return self._picker.select(state, name, self._changes.watch)

    # --- failover ------------------------------------------------------------------------

    def report_failure(
        self, model_name: str, status: int | None = None, retry_after: float | None = None
    ) -> None:
        """A call to ``model_name`` failed (``status``: its HTTP status, None for no answer).

        401, 403, 404, 429 (and any ``retry_after``) skip the model at once; no
        status, 408 and 5xx count, and more than ``allowed_fails`` of them within
        ``cooldown`` skip it; other statuses are the request's fault and ignored.
        A model the catalog does not have is ignored (logged at debug level).
        """
        state = self._usable_state()
        if not isinstance(model_name, str) or state.catalog.get(model_name) is None:
            log.debug("report_failure(%r): not a model of the catalog; ignored", model_name)
            return
        version = self._breakers.version
        opened = self._breakers.failure(model_name, status, retry_after)
        if opened:
            log.info(
                "model %s skipped for now: %s",
                visible(model_name),
                f"HTTP {status}" if status is not None else "no answer",
            )
        if self._breakers.version != version:
            self._breakers_changed()

    def report_success(self, model_name: str) -> None:
        """A call to ``model_name`` worked: close its breaker and clear its failure count."""
        self._usable_state()
        if not isinstance(model_name, str):
            return
        if self._breakers.success(model_name):
            log.info("model %s is used again: a call succeeded", visible(model_name))
            self._breakers_changed()

    def _breakers_changed(self) -> None:
        with self._write_lock:
            before = self._state
            if before is None:
                return
            self._replace_state(before.catalog, before.stale)
            after = self._state
        assert after is not None
        if before.open <= after.open:  # only opened: only picks of those models can change
            self._changes.publish(only=after.open - before.open)
        else:
            self._changes.publish()

    # --- change events -------------------------------------------------------------------

    def on_change(self, callback: Callable[[Change], Any]) -> Callable[[Change], Any]:
        """Call ``callback(change)`` whenever a policy's pick changes; returns the callback.

        ``change`` has ``.name .old .new .reason``. A callback that raises is
        logged and never stops the resolver. Callbacks run on the thread that
        made the change (the refresh thread, or the one reporting a failure).
        """
        self._check_open()
        if not callable(callback):
            raise TypeError(f"on_change() takes a callable, not {type(callback).__name__}")
        self._changes.add(callback)
        return callback

    # --- refreshing ----------------------------------------------------------------------

    def refresh(self) -> dict[str, Any]:
        """Refresh now and return ``status()``; during a refresh, wait for it instead.

        Never raises for a failed fetch: the last good catalog stays, and
        ``status()`` says what went wrong.
        """
        self._usable_state()
        if self._changes.in_callback:
            return self.status()  # from a change callback: that refresh is this one
        self._refresh_once()
        return self.status()

    def _refresh_once(self) -> None:
        with self._refresh_done:
            if self._refreshing:
                count = self._refresh_count
                while self._refresh_count == count:
                    self._refresh_done.wait()
                return
            self._refreshing = True
        try:
            self._fetch_and_install()
        finally:
            with self._refresh_done:
                self._refreshing = False
                self._refresh_count += 1
                self._refresh_done.notify_all()
            self._wake.set()  # the thread works out its next wake-up afresh

    def _fetch_and_install(self) -> None:
        if self._fixed is not None or self.source == "builtin":
            self._succeeded(None)
            return
        me = threading.get_ident()
        QUIET_THREADS.add(me)  # skipped entries are logged below, not warned
        try:
            if is_url(self.source):
                catalog = load_catalog(
                    self.source,
                    live=self.live,
                    refresh=True,
                    fallback=False,
                    settings=self._settings,
                )
            else:
                catalog = load_catalog(self.source, live=self.live, fallback=False)
        except Exception as exc:  # any failure keeps the last good catalog
            self._failed(exc)
            return
        finally:
            QUIET_THREADS.discard(me)
        state = self._state
        if catalog.skipped and (state is None or state.catalog.sha256 != catalog.sha256):
            shown = "; ".join(str(problem) for problem in catalog.skipped[:5])
            more = f"; and {len(catalog.skipped) - 5} more" if len(catalog.skipped) > 5 else ""
            log.warning(
                "catalog %s: skipped %s: %s%s",
                visible(catalog.source),
                plural(len(catalog.skipped), "invalid entry", "invalid entries"),
                visible(shown),
                more,
            )
        self._succeeded(catalog)

    def _succeeded(self, catalog: Catalog | None) -> None:
        with self._write_lock:
            if self._closed or self._state is None:
                return
            self._failures_in_a_row = 0
            self._last_error = None
            now = self._clock.time()
            self._last_refresh_at = now
            self._confirmed_at = now
            if catalog is not None:
                self._fetched_ts = self._fetch_time(catalog)
            self._install(catalog or self._state.catalog, stale=False)
            self._schedule(self._interval())
        self._changes.publish()
        with self._write_lock:  # counted last: once status() shows it, all of it is visible
            self._refreshes += 1

    def _failed(self, exc: BaseException) -> None:
        message = visible(str(exc).splitlines()[0]) if str(exc) else type(exc).__name__
        with self._write_lock:
            if self._closed or self._state is None:
                return
            self._failures_in_a_row += 1
            self._last_error = message
            backoff = min(self.refresh_interval, FIRST_BACKOFF * 2 ** (self._failures_in_a_row - 1))
            retry_after = getattr(exc, "retry_after", None)
            delay = backoff * self._jitter()
            if isinstance(retry_after, (int, float)) and retry_after > delay:
                delay = min(float(retry_after), 86400.0)
            self._schedule(delay)
            if not self._state.stale:
                self._replace_state(self._state.catalog, stale=True)
        log.warning(
            "catalog refresh failed (serving the last good catalog, retrying in %.0f s): %s",
            delay,
            message,
        )
        self._changes.publish()
        with self._write_lock:
            self._refresh_failures += 1

    def _install(self, catalog: Catalog, *, stale: bool) -> None:
        with self._write_lock:
            self._replace_state(catalog, stale)

    def _replace_state(self, catalog: Catalog, stale: bool) -> None:
        """A new state (empty memo): after a refresh, a breaker change or the stale flag."""
        self._breakers.expire()
        previous = self._state
        failed = None
        expires = self._breakers.next_expiry
        if stale and self.max_stale is not None:
            over = self._clock.time() - self._confirmed_at - self.max_stale
            if over >= 0:
                failed = CatalogError(
                    f"the catalog could not be refreshed for over {self.max_stale:g} s "
                    f"(max_stale); last error: {self._last_error or 'none'}",
                    source=catalog.source,
                )
            else:
                expires = min(expires, self._clock.monotonic() - over)
        self._state = State(
            catalog,
            (previous.generation + 1) if previous else 1,
            stale,
            self._breakers.open_models(),
            expires,
            failed,
        )

    def _advance(self) -> State:
        """Time passed a breaker's cooldown or ``max_stale``: a new state, changes published."""
        with self._write_lock:
            state = self._state
            if state is None or self._closed:
                raise self._unusable()
            if self._clock.monotonic() >= state.expires:
                self._replace_state(state.catalog, state.stale)
                state = self._state
        assert state is not None
        if state.open != (self._changes.published[1] if self._changes.published else frozenset()):
            self._changes.publish()
        return state

    def _schedule(self, delay: float) -> None:
        self._next_refresh_at = self._clock.monotonic() + max(0.0, delay)

    def _interval(self) -> float:
        return self.refresh_interval * self._jitter()

    def _fetch_time(self, catalog: Catalog) -> float | None:
        """When the catalog's data was had: now if it just came over the network (or was
        confirmed by a 304), else the time the catalog itself gives (to the second)."""
        if catalog.origin.startswith(("network", "cache (revalidated")):
            return self._clock.time()
        return _timestamp(catalog.fetched_at) if catalog.fetched_at else None

    def _age(self) -> float | None:
        """Seconds since the current catalog's data was had (None: its source gives no time)."""
        if self._fetched_ts is None:
            return None
        return max(0.0, self._clock.time() - self._fetched_ts)

    @property
    def next_refresh_in(self) -> float | None:
        """Seconds until the refresh thread's next attempt (None: it does not refresh)."""
        if not self._refreshable() or self._closed:
            return None
        return max(0.0, self._next_refresh_at - self._clock.monotonic())

    def _refreshable(self) -> bool:
        if self._fixed is not None or self.source == "builtin":
            return False
        return not (is_url(self.source) and _offline())

    def _start_thread(self) -> None:
        self._thread = threading.Thread(target=self._run, name="policyeng-resolver", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        """The refresh thread: sleep until the next refresh or breaker expiry, then do it."""
        while not self._closed:
            self._wake.clear()
            now = self._clock.monotonic()
            state = self._state
            due = self._next_refresh_at if self._refreshable() else math.inf
            expires = state.expires if state is not None else math.inf
            self._clock.wait(self._wake, min(due, expires, now + 3600.0) - now)
            if self._closed:
                return
            try:
                if self._clock.monotonic() >= self._next_refresh_at and self._refreshable():
                    self._refresh_once()
                state = self._state
                if state is not None and self._clock.monotonic() >= state.expires:
                    self._advance()
            except Exception:  # never let anything end the thread
                log.exception("policyeng resolver thread: unexpected error (continuing)")

    # --- status --------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Plain data for a health endpoint (the shape is stable; see the manual)."""
        state = self._state
        if state is None:
            raise self._unusable()
        if not self._closed and self._clock.monotonic() >= state.expires:
            state = self._advance()
        catalog = state.catalog
        age = self._age()
        return {
            "state": "failed" if state.failed else "stale" if state.stale else "ready",
            "catalog": {
                "source": catalog.source,
                "sha256": catalog.sha256,
                "fetched_at": catalog.fetched_at,
                "age_s": None if age is None else round(age, 1),
                "stale": state.stale,
                "models": len(catalog),
            },
            "last_refresh_at": _iso(self._last_refresh_at),
            "last_error": self._last_error,
            "refreshes": self._refreshes,
            "refresh_failures": self._refresh_failures,
            "open": [
                {"model_name": name, "until": _iso(until)}
                for name, until in self._breakers.open_until()
            ],
        }

    # --- helpers -------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise UsageError("this Resolver is closed; create a new one")

    def _usable_state(self) -> State:
        state = self._state
        if state is None or self._closed:
            raise self._unusable()
        return state

    def _unusable(self) -> UsageError:
        if self._closed:
            return UsageError("this Resolver is closed; create a new one")
        return UsageError(
            "this Resolver is not started: use `with Resolver(...) as r:` "
            "(or `async with`), or call start() first"
        )

    def _after_fork_in_child(self) -> None:
        """In a forked child: fresh locks, and a refresh thread of its own."""
        self._make_locks()
        self._changes.make_locks()
        self._breakers.reinitialize_after_fork()
        if self._started and not self._closed:
            self._start_thread()


def _timestamp(fetched_at: str) -> float:
    when = datetime.fromisoformat(fetched_at)
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp()


def _iso(timestamp: float | None) -> str | None:
    return None if timestamp is None else iso_time(timestamp)


def _offline() -> bool:
    from ..catalog.sources import _offline_from_environment

    return _offline_from_environment()
