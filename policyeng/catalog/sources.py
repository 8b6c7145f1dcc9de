"""Where a catalog comes from: ``builtin``, a JSON file, a URL, or the default chain.

``load_catalog`` is the one entry point every command and library call uses,
so "which copy did we get, and how old is it" has one answer everywhere: a
named source is read as named; the default chain (live URL, its cached copy,
``builtin``) announces every fall-back with one ``CatalogWarning``.
"""

from __future__ import annotations

import json
import os
import warnings
from typing import TYPE_CHECKING, Any

from ..errors import CatalogError, CatalogWarning, UsageError
from . import recent
from .model import Catalog, apply_live, parse_catalog

if TYPE_CHECKING:
    from .http import FetchSettings, Progress

# Paths as text: reading builtin, what most runs do, needs no pathlib (nor the
# urllib and ipaddress it imports). Files and URLs import what they need.
_DATA_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data")
BUILTIN_PATH = os.path.join(_DATA_DIR, "builtin.json")
BUILTIN_META_PATH = os.path.join(_DATA_DIR, "builtin.meta.json")


#: What a mistyped source is told (CLI: --catalog or POLICYENG_CATALOG).
SOURCES = "a catalog source is `builtin`, a path to a JSON file, or an http(s):// URL"


#: The provider's live catalog: the first source of the default chain.
DEFAULT_URL = "https://tokens.flex.ai/api/models"
#: The most a catalog file may hold: a real catalog is a few MiB and a synthetic
#: 100,000-model one about 50 MiB; past this, reading would only exhaust memory.
MAX_CATALOG_FILE_BYTES = 256 * 1024 * 1024
TRUTHY = frozenset({"1", "true", "yes", "on"})
FALSY = frozenset({"", "0", "false", "no", "off"})


def load_catalog(
    source: str | os.PathLike[str] | None = None,
    *,
    strict: bool = False,
    live: bool = False,
    offline: bool | None = None,
    fallback: bool = True,
    refresh: bool = False,
    max_age: float | None = None,
    settings: FetchSettings | None = None,
    default: str | None = None,
    progress: Progress | None = None,
) -> Catalog:
    """Load a catalog from ``builtin``, a JSON file path or an ``http(s)://`` URL.

    With no ``source``, the default chain (docs/catalog.md): ``$POLICYENG_CATALOG``,
    else ``default`` (a policy file's ``catalog:``), else the live URL; then
    that URL's cached copy; then ``builtin``, each fall-back announced by one
    ``CatalogWarning`` line naming the copy used and its age. Only a URL falls
    back: a file named anywhere in the chain that is missing or invalid is a
    ``CatalogError``. A named URL falls back to its own cached copy only.
    ``fallback=False`` makes an unreachable or invalid source a ``CatalogError``;
    so does ``refresh=True`` (fetch now, whatever the cache's age). ``offline``
    (default: ``$POLICYENG_OFFLINE``) never touches the network. ``live=True``
    also reads ``GET /v1/models`` with ``$FLEXAI_API_KEY`` and sets every
    entry's ``live``.
    """
    if offline is None:
        offline = _offline_from_environment()
    if offline and (refresh or live):
        raise UsageError(
            f"{'--refresh' if refresh else '--live'} needs the network, but offline mode is on "
            "(--offline or POLICYENG_OFFLINE)"
        )
    if source is not None and not isinstance(source, (str, os.PathLike)):
        raise TypeError(
            "a catalog source is builtin, a path or a URL (str or os.PathLike), "
            f"not {type(source).__name__}"
        )
    chained = source is None
    if source is None:
        source = os.environ.get("POLICYENG_CATALOG") or default or DEFAULT_URL
    source = os.fspath(source)
    if refresh and not is_url(source):
        raise UsageError(
            f"--refresh fetches a URL source, and {source} is not one "
            "(builtin and files are read as they are)"
        )
    fallback = fallback and not refresh
    try:
        catalog = _load_source(
            source,
            strict=strict,
            offline=offline,
            fallback=fallback,
            refresh=refresh,
            max_age=max_age,
            settings=settings,
            progress=progress,
        )
    except CatalogError as exc:
        # Falling back is for the network only: a named file that is missing or
        # invalid is a mistake in the configuration, wherever it was named.
        if not (chained and fallback and is_url(source)):
            raise
        from .times import age_of, describe_age

        catalog = load_builtin(strict=strict)
        catalog.stale, catalog.origin = True, "builtin (fallback)"
        reason = f"catalog {exc.source}: {exc.message}" if exc.source else exc.message
        reason = reason.splitlines()[0].rstrip(":")  # one line: no hint, no entry list
        warnings.warn(
            f"{reason}; using builtin (snapshot of {catalog.fetched_at}, "
            f"{describe_age(age_of(catalog.fetched_at))} old)",
            CatalogWarning,
            stacklevel=2,
        )
    if live:
        from .url import fetch_live_models

        live_source = source if is_url(source) else DEFAULT_URL
        apply_live(
            catalog,
            fetch_live_models(
                live_source, os.environ.get("FLEXAI_API_KEY"), settings=settings, progress=progress
            ),
        )
    return catalog


def _load_source(source: str, *, strict: bool, **options: Any) -> Catalog:
    if source == "builtin":
        return load_builtin(strict=strict)
    if is_url(source):
        _check_url(source)
        from .url import load_url  # httpx only when a URL is asked for

        return load_url(source, strict=strict, **options)
    if "://" in source:
        scheme = source.split("://", 1)[0]
        raise CatalogError(f"cannot fetch {scheme}:// URLs", source=source, hint=SOURCES)
    return load_file(source, strict=strict)


def _offline_from_environment() -> bool:
    value = os.environ.get("POLICYENG_OFFLINE", "").strip().lower()
    if value not in TRUTHY | FALSY:
        raise UsageError(
            f"POLICYENG_OFFLINE={value!r}: use 1, true, yes or on (0, false, no, "
            "off or unset for online)"
        )
    return value in TRUTHY


def _check_url(source: str) -> None:
    """A malformed URL is a CatalogError here, not a traceback deep inside httpx."""
    from urllib.parse import urlsplit

    import httpx

    try:
        _ = urlsplit(source).port  # a port out of range fails here
        host = httpx.URL(source).host  # a malformed host fails here, decoding it (IDNA)
    except (httpx.InvalidURL, ValueError) as exc:
        raise CatalogError(f"not a valid URL: {exc}", source=source, hint=SOURCES) from None
    if not host:
        raise CatalogError("not a valid URL: no host", source=source, hint=SOURCES)


def is_url(source: str) -> bool:
    return source[:8].lower().startswith(("http://", "https://"))


def load_builtin(*, strict: bool = False) -> Catalog:
    """The snapshot bundled in the package, dated by its metadata (parsed once per process)."""
    return recent.parsed(("builtin", strict), lambda: _read_builtin(strict))


def _read_builtin(strict: bool) -> Catalog:
    with open(BUILTIN_META_PATH, encoding="utf-8") as file:
        meta = json.load(file)
    with open(BUILTIN_PATH, "rb") as file:
        body = file.read()
    # The recorded digest is trusted (a test checks it): no hashing, no validation.
    catalog = parse_catalog(
        body,
        "builtin",
        strict=strict,
        fetched_at=meta.get("date"),
        sha256=meta["sha256"],
        validated_sha256=meta["sha256"],
        require="holds",
    )
    catalog.origin = "builtin"
    return catalog


def load_file(source: str, *, strict: bool = False) -> Catalog:
    """A JSON file in the ``/api/models`` shape; its modification time is its fetch time.

    Parsed again only when the file changes (its size, modification time or inode).
    """
    if not source:
        raise CatalogError("the catalog source is empty", source="''", hint=SOURCES)
    key = recent.file_key(source, strict)
    if key is None:  # missing, or not a regular file: _read_file says why
        return _read_file(source, strict)
    return recent.parsed(key, lambda: _read_file(source, strict))


def _read_file(source: str, strict: bool) -> Catalog:
    from ..files import FileTooLarge, NotRegularFile, read_regular_file
    from ..text import did_you_mean
    from .times import iso_time

    try:
        body = read_regular_file(source, MAX_CATALOG_FILE_BYTES)
        mtime = os.stat(source).st_mtime
    except FileNotFoundError:
        guess = (
            did_you_mean(source.strip().casefold(), ["builtin"], cutoff=0.75)
            if os.sep not in source
            else ""
        )
        raise CatalogError(f"file not found{guess}", source=source, hint=SOURCES) from None
    except IsADirectoryError:
        raise CatalogError("is a directory, not a JSON file", source=source, hint=SOURCES) from None
    except NotRegularFile:  # a FIFO would block and a device (/dev/zero) never end
        raise CatalogError("not a regular file", source=source, hint=SOURCES) from None
    except FileTooLarge:
        raise CatalogError(
            f"is over {MAX_CATALOG_FILE_BYTES:,} bytes, the most a catalog file may hold",
            source=source,
        ) from None
    except OSError as exc:
        raise CatalogError(f"cannot read: {exc.strerror}", source=source) from None
    fetched_at = iso_time(mtime)
    catalog = parse_catalog(
        body, source, strict=strict, fetched_at=fetched_at, remember=True, require="holds"
    )
    catalog.origin = "file"
    return catalog
