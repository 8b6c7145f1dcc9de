"""Catalogs kept in memory between calls, so a loop of one-shot selects pays microseconds.

A service that calls ``policyeng.select(...)`` or ``book.select(...)`` on
every request would otherwise re-read and re-parse its catalog every time,
and, with the network down, wait for a failing fetch every time. So, per
process:

- ``builtin`` is parsed once; a file is parsed again only when its size,
  modification time or inode changes (one ``stat`` per call);
- a URL's catalog is answered from memory while it is younger than
  ``max_age`` (as the on-disk cache would, without reading the disk);
- a failed fetch is not retried for a back-off period (5 s, doubling with
  each failure in a row up to 5 min, or the server's ``Retry-After``):
  meanwhile the call answers as it did (the stale cached copy with its
  warning, or the same error) without touching the network.

Every caller gets its own ``Catalog`` object over shared entries, which no
one modifies (``apply_live`` copies them). ``forget()`` empties the memory.
"""

from __future__ import annotations

import dataclasses
import os
import stat
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import CatalogError
from .model import Catalog, warn_skipped

if TYPE_CHECKING:
    from .response_cache import CacheEntry

#: First pause after a failed fetch; doubled with each failure in a row, up to the maximum.
FIRST_BACKOFF = 5.0
MAX_BACKOFF = 300.0


@dataclass(frozen=True)
class Fresh:
    """A URL's catalog as last fetched (or confirmed) at ``fetched_at`` (a Unix time)."""

    catalog: Catalog
    fetched_at: float


@dataclass(frozen=True)
class Failed:
    """A URL's fetch failed: until ``until`` (a Unix time), answer without the network."""

    error: CatalogError
    until: float
    in_a_row: int
    #: the cached copy served meanwhile, and its cache entry (None: there was none)
    stale: Catalog | None = None
    entry: CacheEntry | None = None


#: The time (a Unix time) ages and back-offs are measured by; tests replace it.
now: Callable[[], float] = time.time

_lock = threading.Lock()
_parsed: dict[Hashable, Catalog] = {}
_urls: dict[Hashable, Fresh | Failed] = {}


def copy(catalog: Catalog, **changes: Any) -> Catalog:
    """A Catalog of its own for a caller (who may set ``stale`` or ``origin``), same entries."""
    return dataclasses.replace(catalog, **changes)


def parsed(key: Hashable, parse: Callable[[], Catalog]) -> Catalog:
    """The catalog ``parse()`` gives for ``key``, parsed once; skipped entries warned each time."""
    with _lock:
        known = _parsed.get(key)
    if known is None:
        known = parse()
        with _lock:
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
    return ("file", os.path.abspath(path), status.st_ino, status.st_size, status.st_mtime_ns,
            strict)


def url_state(key: Hashable) -> Fresh | Failed | None:
    with _lock:
        return _urls.get(key)


def fetched(key: Hashable, catalog: Catalog, fetched_at: float) -> None:
    """Remember a good fetch (or a fresh cached copy); any back-off ends."""
    with _lock:
        _urls[key] = Fresh(catalog, fetched_at)


def failed(key: Hashable, error: CatalogError, stale: Catalog | None = None,
           entry: CacheEntry | None = None) -> Failed:
    """Remember a failed fetch and when to try again."""
    with _lock:
        previous = _urls.get(key)
        in_a_row = previous.in_a_row + 1 if isinstance(previous, Failed) else 1
        pause = min(MAX_BACKOFF, FIRST_BACKOFF * 2 ** (in_a_row - 1))
        if error.retry_after is not None:
            pause = max(pause, min(error.retry_after, 86400.0))
        record = Failed(error, now() + pause, in_a_row, stale, entry)
        _urls[key] = record
        return record


def forget() -> None:
    """Empty the memory (tests; or to make the next call read its source again)."""
    with _lock:
        _parsed.clear()
        _urls.clear()
        from .response_cache import forget_memory

        forget_memory()


def _after_fork_in_child() -> None:
    global _lock
    _lock = threading.Lock()  # another thread may have held it when the process forked


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
