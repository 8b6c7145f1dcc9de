"""The on-disk cache of the last good catalog response, one file per URL.

It is what lets a deployment start when the provider or the network is down:
the body of the last response that parsed and validated, with its ``ETag`` /
``Last-Modified`` (for conditional requests) and the time it was fetched (for
the freshness TTL and the "how old" in every fall-back warning).

Why not hishel (2.0, evaluated for this): its storages (SQLite, Redis) save a
response while it streams, before we can parse and validate it, so a bad 200
would become the newest cached answer, and "never replace a good cache with a
response that fails validation" would mean fighting the library. Its cache
is also an opaque database where we want one inspectable file per URL, and
its freshness comes from the server's ``Cache-Control`` where we want our own
TTL and a stale-if-error fall-back with the entry's age. What we need of RFC
9111 is one conditional GET per URL (``If-None-Match`` / ``If-Modified-Since``,
304 reuses the body), which is a few lines in ``url.py``.

File format: one line of JSON metadata, then the body bytes as received. A
write goes to a temporary file in the same directory and is renamed over the
entry (atomic on POSIX and Windows), so a reader sees the old entry or the
new one, never half of either; a ``filelock`` serialises writers so that the
read-modify-write after a 304 does not undo a concurrent refresh. The body's
sha256 is in the metadata and checked on every read.

A directory that cannot be written (read-only, full, not a directory) costs
one warning per process; the entry is then kept in this process's memory
instead, so conditional requests and fall-backs still work.

Nothing secret is stored: only ``/api/models`` (public) is cached, never the
``/v1/models`` live list or any request header.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ..errors import CatalogWarning
from ..files import replace_file
from .times import iso_time

FORMAT_VERSION = 1
LOCK_TIMEOUT = 10.0

#: Entries that could not be written to their directory, by (directory, url).
_kept_in_memory: dict[tuple[str, str], CacheEntry] = {}
#: Directories already warned about (one warning per process each).
_unwritable: set[str] = set()


def forget_memory() -> None:
    """Drop the entries kept in memory and the warnings given (``recent.forget``)."""
    _kept_in_memory.clear()
    _unwritable.clear()


def cache_dir() -> Path:
    """Where cached catalogs live: ``$POLICYENG_CACHE_DIR``, else the user cache directory."""
    configured = os.environ.get("POLICYENG_CACHE_DIR")
    if configured:
        return Path(configured)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("policyeng", appauthor=False)) / "catalogs"


@dataclass(frozen=True)
class CacheEntry:
    """The last good response for one URL."""

    url: str
    body: bytes
    sha256: str
    fetched_at: float
    etag: str | None = None
    last_modified: str | None = None

    def age(self, now: float | None = None) -> float:
        """Seconds since the body was fetched or last confirmed by a 304."""
        return max(0.0, (time.time() if now is None else now) - self.fetched_at)

    @property
    def fetched_at_iso(self) -> str:
        return iso_time(self.fetched_at)

    def validators(self) -> dict[str, str]:
        """Conditional-request headers that let the server answer 304."""
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


class CatalogCache:
    """Cached catalog responses in one directory, keyed by URL."""

    def __init__(self, directory: Path | str | None = None) -> None:
        self.directory = Path(directory) if directory is not None else cache_dir()

    def path_for(self, url: str) -> Path:
        """The entry file of a URL: the host for people, a hash of the URL for uniqueness."""
        # The host without any user:password: the file name is shown (``catalog --info``).
        netloc = urlsplit(url).netloc.rpartition("@")[2]
        host = "".join(c if c.isalnum() or c in ".-" else "_" for c in netloc)
        digest = hashlib.sha256(url.encode()).hexdigest()[:16]
        return self.directory / f"{host or 'catalog'}-{digest}.catalog"

    def read(self, url: str) -> CacheEntry | None:
        """The entry for ``url``, or None if there is none (or it is unreadable, with a warning)."""
        path = self.path_for(url)
        try:
            raw = path.read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return _kept_in_memory.get((str(self.directory), url))
        except OSError as exc:
            warnings.warn(
                f"cannot read cached catalog {path}: {exc.strerror}", CatalogWarning, stacklevel=2
            )
            return _kept_in_memory.get((str(self.directory), url))
        head, _, body = raw.partition(b"\n")
        try:
            meta = json.loads(head)
            entry = CacheEntry(
                url=meta["url"],
                body=body,
                sha256=meta["sha256"],
                fetched_at=float(meta["fetched_at"]),
                etag=meta.get("etag"),
                last_modified=meta.get("last_modified"),
            )
        except (ValueError, KeyError, TypeError):
            entry = None
        if entry is None or entry.url != url or hashlib.sha256(body).hexdigest() != entry.sha256:
            warnings.warn(
                f"cached catalog {path} is damaged; ignored", CatalogWarning, stacklevel=2
            )
            return None
        return entry

    def write(
        self,
        url: str,
        body: bytes,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        fetched_at: float | None = None,
    ) -> CacheEntry:
        """Store a good response as the entry for ``url`` (atomically)."""
        entry = CacheEntry(
            url,
            body,
            hashlib.sha256(body).hexdigest(),
            time.time() if fetched_at is None else fetched_at,
            etag,
            last_modified,
        )
        with self._locked(url):
            self._replace(entry)
        return entry

    def confirm(
        self, entry: CacheEntry, *, etag: str | None = None, last_modified: str | None = None
    ) -> CacheEntry:
        """After a 304: the same body, fetched now (unless another process stored a newer one)."""
        confirmed = CacheEntry(
            entry.url,
            entry.body,
            entry.sha256,
            time.time(),
            etag or entry.etag,
            last_modified or entry.last_modified,
        )
        with self._locked(entry.url):
            current = self.read(entry.url)
            if current is not None and current.sha256 != entry.sha256:
                return confirmed  # a concurrent refresh stored another body: keep it
            self._replace(confirmed)
        return confirmed

    def _replace(self, entry: CacheEntry) -> None:
        path = self.path_for(entry.url)
        meta = {
            "version": FORMAT_VERSION,
            "url": entry.url,
            "sha256": entry.sha256,
            "fetched_at": entry.fetched_at,
            "etag": entry.etag,
            "last_modified": entry.last_modified,
            "size": len(entry.body),
        }
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            replace_file(path, json.dumps(meta).encode() + b"\n" + entry.body)
        except OSError as exc:
            _kept_in_memory[(str(self.directory), entry.url)] = entry
            if str(self.directory) not in _unwritable:
                _unwritable.add(str(self.directory))
                warnings.warn(
                    f"cannot write the catalog cache {path}: {exc.strerror or exc}"
                    " (kept in memory instead)",
                    CatalogWarning,
                    stacklevel=3,
                )
        else:
            _kept_in_memory.pop((str(self.directory), entry.url), None)

    @contextmanager
    def _locked(self, url: str) -> Iterator[None]:
        """An inter-process lock for one entry (without it, the atomic rename still protects)."""
        from filelock import FileLock, Timeout

        path = self.path_for(url)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            lock = FileLock(str(path) + ".lock", timeout=LOCK_TIMEOUT)
            lock.acquire()
        except (OSError, Timeout):
            yield
            return
        try:
            yield
        finally:
            lock.release()
