"""Catalogs kept in memory between calls, so a loop of one-shot selects pays microseconds.

A service that calls ``policyeng.select(...)`` or ``book.select(...)`` on
every request would otherwise re-read and re-parse its catalog every time,
and, with the network down, wait for a failing fetch every time. So, per
process:

- ``builtin`` is parsed once; a file is parsed again only when its size,
  modification time or inode changes (one ``stat`` per call);
- a URL's catalog is answered from memory while it is younger than
  ``max_age`` (as the on-disk cache would, without reading the disk);
- concurrent calls whose copy expired wait for one fetch, not one each;
- a failed fetch is not retried for a back-off period (5 s, doubling with
  each failure in a row up to 5 min, or the server's ``Retry-After``):
  meanwhile the call answers as it did (the stale cached copy with its
  warning, or the same error) without touching the network.

Every caller gets its own ``Catalog`` object over shared entries, which no
one modifies (``apply_live`` copies them). ``forget()`` empties the memory.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any

from ..errors import CatalogError
from .model import Catalog, warn_skipped

if TYPE_CHECKING:
    from .response_cache import CacheEntry

#: First pause after a failed fetch; doubled with each failure in a row, up to the maximum.
FIRST_BACKOFF = 5.0
MAX_BACKOFF = 300.0


class Fresh:
    """A URL's catalog as last fetched (or confirmed) at ``fetched_at`` (a Unix time)."""

    __slots__ = ("catalog", "fetched_at")

    def __init__(self, catalog: Catalog, fetched_at: float) -> None:
        self.catalog, self.fetched_at = catalog, fetched_at


class Failed:
    """A URL's fetch failed: until ``until`` (a Unix time), answer without the network.

    ``stale`` is the cached copy served meanwhile, and ``entry`` its cache
    entry (None: there was none).
    """

    __slots__ = ("entry", "error", "in_a_row", "stale", "until")

    def __init__(
        self,
        error: CatalogError,
        until: float,
        in_a_row: int,
        stale: Catalog | None = None,
        entry: CacheEntry | None = None,
    ) -> None:
        self.error, self.until, self.in_a_row = error, until, in_a_row
        self.stale, self.entry = stale, entry


#: The time (a Unix time) ages and back-offs are measured by; tests replace it.
now: Callable[[], float] = time.time

# Plain dicts, no lock: each read or write of one key is atomic, and two threads
# that both miss merely parse or fetch the same thing twice.
_parsed: dict[Hashable, Catalog] = {}
_urls: dict[Hashable, Fresh | Failed] = {}
_flights: dict[Hashable, Any] = {}


def copy(catalog: Catalog, **changes: Any) -> Catalog:
    """A Catalog of its own for a caller (who may set ``stale`` or ``origin``), same entries."""
    twin = Catalog.__new__(Catalog)
    twin.__dict__.update(catalog.__dict__)
    twin.__dict__.update(changes)
    return twin


def parsed(key: Hashable, parse: Callable[[], Catalog]) -> Catalog:
    """The catalog ``parse()`` gives for ``key``, parsed once; skipped entries warned each time."""
    known = _parsed.get(key)
    if known is None:
        known = parse()
        if len(_parsed) > 64:  # files come and go: keep the memory bounded
            _parsed.clear()
        _parsed[key] = known
        return copy(known)
    warn_skipped(known, stacklevel=4)
    return copy(known)


def file_key(path: str, strict: bool) -> Hashable | None:
    """What identifies a file's content cheaply; None when it cannot be told (not a file)."""
    try:
        status = os.stat(path)
    except (OSError, ValueError):
        return None
    if not stat.S_ISREG(status.st_mode):
        return None
    return (
        "file",
        os.path.abspath(path),
        status.st_ino,
        status.st_size,
        status.st_mtime_ns,
        strict,
    )


def url_state(key: Hashable) -> Fresh | Failed | None:
    return _urls.get(key)


def fetched(key: Hashable, catalog: Catalog, fetched_at: float) -> None:
    """Remember a good fetch (or a fresh cached copy); any back-off ends."""
    _urls[key] = Fresh(catalog, fetched_at)


def failed(
    key: Hashable,
    error: CatalogError,
    stale: Catalog | None = None,
    entry: CacheEntry | None = None,
) -> Failed:
    """Remember a failed fetch and when to try again."""
    previous = _urls.get(key)
    in_a_row = previous.in_a_row + 1 if isinstance(previous, Failed) else 1
    pause = min(MAX_BACKOFF, FIRST_BACKOFF * 2 ** (in_a_row - 1))
    if error.retry_after is not None:
        pause = max(pause, min(error.retry_after, 86400.0))
    record = Failed(error, now() + pause, in_a_row, stale, entry)
    _urls[key] = record
    return record


def one_at_a_time(key: Hashable) -> Any:
    """A lock per URL: concurrent calls whose copy expired make one fetch, not one each.

    The first caller fetches; the others wait for it, then find its answer
    (or its failure, and so the back-off) in memory.
    """
    lock = _flights.get(key)
    if lock is None:
        import threading  # only on the URL path, which imports it anyway

        lock = _flights.setdefault(key, threading.Lock())
    return lock


def forget() -> None:
    """Empty the memory (tests; or to make the next call read its source again)."""
    from .response_cache import forget_memory

    _parsed.clear()
    _urls.clear()
    forget_memory()


if hasattr(os, "register_at_fork"):  # a parent's thread may have held a lock mid-fetch
    os.register_at_fork(after_in_child=_flights.clear)
