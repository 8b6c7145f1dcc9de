"""Catalogs served over HTTP: the URL source, its cache, and the live list.

``load_url`` answers from the cache while it is fresh (``max_age``), else
revalidates with a conditional GET (a 304 reuses the cached body), else
fetches; only a response that parses and validates replaces the cache. When
the fetch fails it falls back to the cached copy, with one warning naming
the copy and its age, unless ``fallback=False`` (``--no-fallback``).

``fetch_live_models`` reads ``GET /v1/models`` (the models serving right now)
from the catalog's own origin, with the ``FLEXAI_API_KEY`` bearer key, which
is never cached, logged or put in an error.
"""

from __future__ import annotations

import json
import time
import warnings
from typing import Any

from ..errors import CatalogError, CatalogWarning
from ..text import shown_source
from . import recent
from .http import FetchSettings, Progress, get, origin_url
from .model import Catalog, parse_catalog
from .response_cache import CacheEntry, CatalogCache
from .times import describe_age, iso_time

#: Freshness TTL: a cached catalog younger than this is used without a request.
DEFAULT_MAX_AGE = 600.0


def load_url(
    source: str,
    *,
    strict: bool = False,
    offline: bool = False,
    fallback: bool = True,
    refresh: bool = False,
    max_age: float | None = None,
    settings: FetchSettings | None = None,
    cache: CatalogCache | None = None,
    progress: Progress | None = None,
) -> Catalog:
    """The catalog at ``source``: from memory or a fresh cache, the network, or (stale) the cache.

    In-process memory (``recent``) answers first: a copy younger than
    ``max_age``, or, within the back-off after a failed fetch, the same
    answer as then (the stale copy with its warning, or the error) without
    trying the network again. ``refresh=True`` always fetches.
    """
    cache = cache if cache is not None else CatalogCache()
    max_age = DEFAULT_MAX_AGE if max_age is None else max_age
    key = (source, str(cache.directory), strict)
    if not refresh:
        answer = _from_memory(source, key, max_age, offline, fallback)
        if answer is not None:
            return answer
    with recent.one_at_a_time(key):
        if not refresh:  # another thread may have fetched (or failed) while this one waited
            answer = _from_memory(source, key, max_age, offline, fallback)
            if answer is not None:
                return answer
        return _load_url(
            source,
            key,
            strict=strict,
            offline=offline,
            fallback=fallback,
            refresh=refresh,
            max_age=max_age,
            settings=settings,
            cache=cache,
            progress=progress,
        )


def _from_memory(
    source: str, key: tuple, max_age: float, offline: bool, fallback: bool
) -> Catalog | None:
    remembered = recent.url_state(key)
    now = recent.now()
    if isinstance(remembered, recent.Fresh) and now - remembered.fetched_at <= max_age:
        return recent.copy(remembered.catalog, origin="cache (fresh)")
    if isinstance(remembered, recent.Failed) and now < remembered.until and not offline:
        return _as_before(source, remembered, fallback)
    return None


def _load_url(
    source: str,
    key: tuple,
    *,
    strict: bool,
    offline: bool,
    fallback: bool,
    refresh: bool,
    max_age: float,
    settings: FetchSettings | None,
    cache: CatalogCache,
    progress: Progress | None,
) -> Catalog:
    settings = settings if settings is not None else FetchSettings()
    entry = cache.read(source)
    if entry is not None and not refresh and entry.age() <= max_age:
        catalog = _from_cache(entry, strict, stale=False, origin="cache (fresh)")
        recent.fetched(key, catalog, entry.fetched_at)
        return recent.copy(catalog)
    if offline:
        if entry is None:
            raise CatalogError("offline, and no cached copy", source=source)
        _warn_stale(source, "offline", entry)
        return _from_cache(entry, strict, stale=True, origin="cache (offline)")
    try:
        catalog, fetched_at = _fetch(source, entry, cache, strict, settings, progress)
    except CatalogError as exc:
        stale = (
            None
            if entry is None
            else _from_cache(entry, strict, stale=True, origin="cache (stale)")
        )
        recent.failed(key, exc, stale, entry)
        if entry is None or stale is None:
            raise CatalogError(
                f"{exc.message}; no cached copy",
                source=source,
                retry_after=exc.retry_after,
                hint=exc.hint,
            ) from None
        if not fallback:
            raise
        _warn_stale(source, exc.message, entry)
        return recent.copy(stale)
    recent.fetched(key, catalog, fetched_at)
    return recent.copy(catalog)


def _as_before(source: str, remembered: recent.Failed, fallback: bool) -> Catalog:
    """Within the back-off after a failed fetch: the answer that fetch got, without the network."""
    error = remembered.error
    if remembered.stale is None or remembered.entry is None:
        raise CatalogError(
            f"{error.message}; no cached copy",
            source=source,
            retry_after=error.retry_after,
            hint=error.hint,
        )
    if not fallback:
        raise CatalogError(
            error.message, source=error.source, hint=error.hint, retry_after=error.retry_after
        )
    _warn_stale(source, error.message, remembered.entry)
    return recent.copy(remembered.stale)


def _fetch(
    source: str,
    entry: CacheEntry | None,
    cache: CatalogCache,
    strict: bool,
    settings: FetchSettings,
    progress: Progress | None,
) -> tuple[Catalog, float]:
    """Revalidate or fetch; store the body only if it makes a usable catalog."""
    response = get(
        source,
        settings=settings,
        progress=progress,
        headers=entry.validators() if entry is not None else None,
    )
    if response.status == 304 and entry is not None:
        confirmed = cache.confirm(
            entry,
            etag=response.headers.get("etag"),
            last_modified=response.headers.get("last-modified"),
        )
        return (
            _from_cache(confirmed, strict, stale=False, origin="cache (revalidated: 304)"),
            confirmed.fetched_at,
        )
    if response.status != 200:
        raise CatalogError(f"HTTP {response.status} {response.reason}".rstrip(), source=source)
    now = time.time()
    catalog = parse_catalog(
        response.body,
        source,
        strict=strict,
        fetched_at=iso_time(now),
        remember=True,
        require="response holds",
    )
    cache.write(
        source,
        response.body,
        etag=response.headers.get("etag"),
        last_modified=response.headers.get("last-modified"),
        fetched_at=now,
    )
    catalog.origin = f"network (HTTP {response.status})"
    return catalog, now


def _from_cache(entry: CacheEntry, strict: bool, *, stale: bool, origin: str) -> Catalog:
    catalog = parse_catalog(
        entry.body,
        entry.url,
        strict=strict,
        fetched_at=entry.fetched_at_iso,
        stale=stale,
        remember=True,
    )
    catalog.origin = origin
    return catalog


def _warn_stale(source: str, reason: str, entry: CacheEntry) -> None:
    warnings.warn(
        f"catalog {shown_source(source)}: {reason}; using the cached copy fetched "
        f"{entry.fetched_at_iso} ({describe_age(entry.age())} old)",
        CatalogWarning,
        stacklevel=4,
    )


def live_list_url(catalog_url: str) -> str:
    """``/v1/models`` on the catalog URL's own scheme, host and port."""
    return origin_url(catalog_url) + "/v1/models"


def fetch_live_models(
    catalog_url: str,
    key: str | None,
    *,
    settings: FetchSettings | None = None,
    progress: Progress | None = None,
) -> set[str]:
    """The ids ``GET /v1/models`` lists as serving now (OpenAI list shape)."""
    url = live_list_url(catalog_url)
    response = get(url, settings=settings or FetchSettings(), bearer=key or None, progress=progress)
    if response.status in (401, 403):
        why = (
            "FLEXAI_API_KEY is not set"
            if not key
            else "the key in FLEXAI_API_KEY was refused (wrong or expired?)"
        )
        raise CatalogError(f"HTTP {response.status} {response.reason}: {why}", source=url)
    if response.status != 200:
        raise CatalogError(f"HTTP {response.status} {response.reason}".rstrip(), source=url)
    return _live_ids(response.body, url)


def _live_ids(body: bytes, url: str) -> set[str]:
    shape = 'expected the OpenAI list shape {"object": "list", "data": [{"id": ...}, ...]}'
    try:
        data: Any = json.loads(body)
    except (ValueError, RecursionError):  # not UTF-8, not JSON, a 5,000-digit number, too deep
        raise CatalogError(f"not JSON; {shape}", source=url) from None
    items = data.get("data") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise CatalogError(shape, source=url)
    ids = set()
    for index, item in enumerate(items):
        model_id = item.get("id") if isinstance(item, dict) else None
        if not isinstance(model_id, str):
            raise CatalogError(f"data[{index}] has no string id; {shape}", source=url)
        ids.add(model_id)
    return ids
