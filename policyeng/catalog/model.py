"""A catalog as policyeng holds it: validated entries, their derived fields, provenance.

Every stage after loading sees the same shape: a ``Catalog`` of entry dicts,
each with a derived ``endpoint`` (when its category is known) and ``healthy``,
plus where the catalog came from (source, sha256, fetch time, staleness).
``parse_catalog`` is the one way a response body becomes a ``Catalog``.
"""

from __future__ import annotations

import _thread
import json
import warnings
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from ..errors import CatalogError, CatalogWarning
from ..text import plural, shown_source

if TYPE_CHECKING:
    from .validation import Skipped

#: category -> endpoint, from the provider's model discovery page.
ENDPOINTS = {
    "text": "/v1/chat/completions",
    "code": "/v1/chat/completions",
    "reasoning": "/v1/chat/completions",
    "multimodal": "/v1/chat/completions",
    "vision": "/v1/chat/completions",
    "embedding": "/v1/embeddings",
    "image": "/v1/images/generations",
    "video": "/v1/videos/generations",
    "audio": "/v1/audio/speech",
}
TRANSCRIPTION_ENDPOINT = "/v1/audio/transcriptions"


class Catalog:
    """Validated entries (dicts, with their derived fields) and their provenance.

    A plain class, not a dataclass: every ``policyeng select`` builds one, and
    the dataclasses module costs more to import than the catalog costs to load.
    """

    entries: list[dict[str, Any]]
    source: str
    location: str
    sha256: str
    fetched_at: str | None
    stale: bool
    skipped: list[Skipped]
    live_known: bool
    #: how this copy was had: "builtin", "file", "network (HTTP 200)", "cache (fresh)", ...
    origin: str

    def __init__(
        self,
        entries: list[dict[str, Any]],
        source: str,
        sha256: str,
        fetched_at: str | None = None,
        stale: bool = False,
        skipped: list[Skipped] | None = None,
        live_known: bool = False,
        origin: str = "",
    ) -> None:
        self.entries, self.sha256 = entries, sha256
        #: where the catalog came from, as outputs show it (a URL's secrets masked)
        self.source = shown_source(source)
        #: the source as given, credentials and all: for fetching and the cache, never shown
        self.location = source
        self.fetched_at, self.stale = fetched_at, stale
        self.skipped = [] if skipped is None else skipped
        self.live_known, self.origin = live_known, origin
        self._by_name: dict[str, dict] | None = None

    def _fields(self) -> tuple:
        return (
            self.entries,
            self.source,
            self.sha256,
            self.fetched_at,
            self.stale,
            self.skipped,
            self.live_known,
            self.origin,
        )

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._fields() == other._fields()

    __hash__ = None  # type: ignore[assignment]  # mutable, like the dataclass it was

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def __repr__(self) -> str:
        # Short: a catalog holds hundreds of entries, and a REPL or a log shows the repr.
        return (
            f"<Catalog {self.source!r}: {len(self.entries)} entries, "
            f"{len(self.skipped)} skipped, sha256 {self.sha256[:12]}>"
        )

    def get(self, model_name: str) -> dict[str, Any] | None:
        """The entry with this ``model_name``, or None."""
        if self._by_name is None:
            self._by_name = {e["model_name"]: e for e in self.entries}
        return self._by_name.get(model_name)

    def info(self) -> dict[str, Any]:
        """Provenance as it appears in ``--json`` output."""
        return {
            "source": self.source,
            "sha256": self.sha256,
            "fetched_at": self.fetched_at,
            "stale": self.stale,
        }

    @classmethod
    def from_entries(
        cls, entries: Iterable[dict[str, Any]], source: str = "<memory>", *, strict: bool = False
    ) -> Catalog:
        """Validate and derive in-memory entries (copied: the caller's dicts stay untouched)."""
        body = json.dumps(list(entries), sort_keys=True).encode()
        return parse_catalog(body, source, strict=strict)


def endpoint_for(entry: dict[str, Any]) -> str | None:
    """The endpoint a model is called through, or None for an unknown category."""
    category = entry.get("category")
    if category == "audio" and "audio_transcription" in (entry.get("supports") or ()):
        return TRANSCRIPTION_ENDPOINT
    return ENDPOINTS.get(category) if isinstance(category, str) else None


def require_models(catalog: Catalog, what: str = "holds") -> None:
    """A source with no usable entry is unusable (exit 3), not a policy matching nothing.

    Checked where a catalog is read from its source, not in ``parse_catalog``: a
    program may build an empty catalog in memory on purpose.
    """
    if catalog.entries:
        return
    if not catalog.skipped:
        raise CatalogError(f"{what} no models", source=catalog.source)
    raise CatalogError(
        f"{what} no valid model entries ({len(catalog.skipped)} invalid)",
        source=catalog.source,
        hint="--strict (strict=True) lists why each entry is invalid",
    )


def apply_live(catalog: Catalog, live_ids: set[str]) -> None:
    """Set ``live`` on every entry (listed by ``/v1/models`` or not); mark it known.

    The entries are copied, not changed: other catalogs (kept in memory) share them.
    """
    catalog.entries = [
        {**entry, "live": entry["model_name"] in live_ids} for entry in catalog.entries
    ]
    catalog._by_name = None
    catalog.live_known = True


def parse_catalog(
    body: bytes,
    source: str,
    *,
    strict: bool = False,
    fetched_at: str | None = None,
    stale: bool = False,
    sha256: str | None = None,
    validated_sha256: str | None = None,
    remember: bool = False,
    require: str | None = None,
) -> Catalog:
    """Turn a response body into a Catalog: parse, validate each entry, derive fields.

    ``sha256`` is the body's digest when the caller already knows it (the
    bundled snapshot's, recorded beside it and checked by the test suite), so
    that the body need not be hashed again. ``validated_sha256`` names a body
    already known to be entirely valid (the bundled snapshot), whose validation
    is skipped;
    ``remember=True`` reuses the validation of a body seen before (``memo``).
    ``require`` (how the error starts: ``"holds"``) makes a body with no usable
    entry a ``CatalogError``, raised before any skipped-entry warning so that a
    rejected body never floods stderr first.
    """
    if sha256 is None:
        import hashlib  # the bundled snapshot's digest is known: no OpenSSL at start-up

        sha256 = hashlib.sha256(body).hexdigest()
    digest = sha256
    data, unusual = read_json(body, source, known_valid=digest == validated_sha256)
    if not isinstance(data, list):
        kind = type(data).__name__ if not isinstance(data, dict) else "JSON object"
        raise CatalogError(
            f"expected a JSON array of models (the /api/models shape), got a {kind}",
            source=source,
        )
    skipped: list[Skipped]
    if digest == validated_sha256:
        entries, skipped = data, []
    elif remember:
        from .validation import validate_remembered

        entries, skipped = validate_remembered(data, digest, unusual=unusual)
    else:
        from .validation import validate_entries

        entries, skipped = validate_entries(data, unusual=unusual)
    if skipped and strict:
        shown = "\n  ".join(str(s) for s in skipped[:20])
        more = f"\n  ... and {len(skipped) - 20} more" if len(skipped) > 20 else ""
        raise CatalogError(
            f"{plural(len(skipped), 'invalid entry', 'invalid entries')} "
            f"(strict mode):\n  {shown}{more}",
            source=source,
            hint="fix the source, or drop --strict (strict=False) to skip them with a warning",
        )
    for entry in entries:
        derive(entry)
    catalog = Catalog(entries, source, digest, fetched_at, stale, skipped)
    if require is not None:
        require_models(catalog, require)
    warn_skipped(catalog, stacklevel=4)
    return catalog


#: Lone surrogates, escaped (``"\\ud800"``) or as raw bytes: json decodes both without a word.
_SURROGATE = rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}|\xed[\xa0-\xbf]"
#: Python refuses to read integers longer than this (sys.get_int_max_str_digits), and any
#: longer than a double can hold are no size or price: they are read as floats (then inf).
_LONGEST_INT = 308


def read_json(body: bytes, source: str, *, known_valid: bool = False) -> tuple[Any, bool]:
    """The body as JSON, and whether it may hold values entries must not (``unusual``).

    A catalog is hostile input: numbers of 5,000 digits, ``NaN`` and ``Infinity``
    (which Python's json accepts), a number too large for a double, lone
    surrogates. None of these stops the parse; each sets ``unusual``, so that
    validation looks for them in every entry (and only then: a normal body
    pays nothing). A ``known_valid`` body (the bundled snapshot) is read plainly.
    """
    if known_valid:
        return _plain_json(body, source), False
    import math
    import re

    unusual = re.search(_SURROGATE, body) is not None

    def number(text: str) -> float:
        nonlocal unusual
        value = float(text)
        if not math.isfinite(value):
            unusual = True
        return value

    def integer(text: str) -> int | float:
        return int(text) if len(text.lstrip("-")) <= _LONGEST_INT else number(text)

    def constant(name: str) -> float:
        nonlocal unusual
        unusual = True
        return float(name)

    return _plain_json(
        body, source, parse_int=integer, parse_float=number, parse_constant=constant
    ), unusual


def _plain_json(body: bytes, source: str, **hooks: Any) -> Any:
    try:
        return json.loads(body, **hooks)
    except UnicodeDecodeError as exc:
        raise CatalogError(f"is not UTF-8 text (byte {exc.start})", source=source) from None
    except json.JSONDecodeError as exc:
        raise CatalogError(
            f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
            source=source,
            hint=_HTML_HINT if _looks_like_html(body) else None,
        ) from None
    except RecursionError:
        raise CatalogError("is nested too deeply to be a catalog", source=source) from None


_HTML_HINT = "the response is HTML, not JSON: a login page, a proxy's error page, or the wrong URL?"


def _looks_like_html(body: bytes | str) -> bool:
    """Whether a body that is not JSON starts like markup (``<!doctype html>``, ``<html>``)."""
    start = body[:1024].lstrip()
    if isinstance(start, bytes):
        return start.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"<")
    return start.removeprefix("\ufeff").lstrip().startswith("<")


#: Threads that report skipped entries their own way (a resolver's refresh logs them): no
#: warning there, where a warnings filter set to "error" would fail the whole refresh.
QUIET_THREADS: set[int] = set()


def warn_skipped(catalog: Catalog, stacklevel: int = 3) -> None:
    """One ``CatalogWarning`` per skipped entry (none in a thread of ``QUIET_THREADS``)."""
    if QUIET_THREADS and _thread.get_ident() in QUIET_THREADS:
        return
    for problem in catalog.skipped:
        warnings.warn(
            f"catalog {catalog.source}: skipped {problem}", CatalogWarning, stacklevel=stacklevel
        )


def derive(entry: dict[str, Any]) -> None:
    """Add the derived fields to a validated entry, in place, once per load.

    ``endpoint`` (when the category is known), ``healthy``, and the prices of
    its ``pricing`` rows (``unit_price``, ``billing_unit``,
    ``cached_input_per_mtok``, see ``usd_prices``): computed here, at load,
    so that evaluating a policy reads them like any other field. A derived
    field the rows do not give is removed, whatever the entry carried.
    """
    endpoint = endpoint_for(entry)
    if endpoint is None:
        entry.pop("endpoint", None)
    else:
        entry["endpoint"] = endpoint
    entry["healthy"] = entry.get("health_status") == "healthy"
    for name in PRICE_FIELDS:
        entry.pop(name, None)
    rows = entry.get("pricing")
    if rows:  # most entries (every per-token model) have none
        entry.update(usd_prices(rows))


#: The fields ``usd_prices`` derives from an entry's ``pricing`` rows.
PRICE_FIELDS = ("unit_price", "billing_unit", "cached_input_per_mtok")


def usd_prices(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The "from" price of a model billed per unit, from its (validated) ``pricing`` rows.

    Only USD rows count: a row whose ``currency`` is ``"USD"`` in any letter
    case, or that has none (its ``unit_price_usd`` names the currency); a row
    in another currency is ignored rather than compared with dollars.
    ``unit_price`` is the lowest ``unit_price_usd`` among the USD rows that
    have both a price and a ``billing_unit``, and ``billing_unit`` that row's
    unit; equal prices in different units are settled by the unit's code
    points, so the answer does not depend on the rows' order.
    ``cached_input_per_mtok`` is the lowest among the USD rows that have one.
    A field no row gives is left out (missing).
    """
    usd = [row for row in rows if _is_usd(row.get("currency"))]
    prices: dict[str, Any] = {}
    priced = [
        (row["unit_price_usd"], row["billing_unit"])
        for row in usd
        if row.get("unit_price_usd") is not None and row.get("billing_unit") is not None
    ]
    if priced:
        prices["unit_price"], prices["billing_unit"] = min(priced)
    cached = [
        row["cached_input_per_mtok"] for row in usd if row.get("cached_input_per_mtok") is not None
    ]
    if cached:
        prices["cached_input_per_mtok"] = min(cached)
    return prices


def _is_usd(currency: str | None) -> bool:
    return currency is None or (currency.isascii() and currency.upper() == "USD")
