"""Catalog sources, entry validation and the derived fields every entry gets.

A catalog is the ``GET /api/models`` array. Each entry is validated against
``schemas/catalog.schema.json``; an invalid entry is skipped with one
``CatalogWarning`` naming it (or, with ``strict=True``, the whole load fails),
so one bad entry upstream never takes a deployment down and never goes unseen.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .checker import FIELDS, NUMBER
from .errors import CatalogError, CatalogWarning, UsageError

if TYPE_CHECKING:
    from .fetch import FetchSettings, Progress

PACKAGE_DIR = Path(__file__).parent
BUILTIN_PATH = PACKAGE_DIR / "data" / "builtin.json"
BUILTIN_META_PATH = PACKAGE_DIR / "data" / "builtin.meta.json"

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
#: What a mistyped source is told (CLI: --catalog or POLICYENG_CATALOG).
SOURCES = "a catalog source is `builtin`, a path to a JSON file, or an http(s):// URL"

#: The provider's live catalog: the first source of the default chain.
DEFAULT_URL = "https://tokens.flex.ai/api/models"
TRUTHY = frozenset({"1", "true", "yes", "on"})
FALSY = frozenset({"", "0", "false", "no", "off"})


@dataclass(frozen=True)
class Skipped:
    """An entry left out of the catalog, and why."""

    index: int
    model_name: str | None
    reason: str

    def __str__(self) -> str:
        name = f" {self.model_name!r}" if self.model_name else ""
        return f"entry [{self.index}]{name}: {self.reason}"


@dataclass(repr=False)
class Catalog:
    """Validated entries (dicts, with derived ``endpoint``/``healthy``) and their provenance."""

    entries: list[dict[str, Any]]
    source: str
    sha256: str
    fetched_at: str | None = None
    stale: bool = False
    skipped: list[Skipped] = field(default_factory=list)
    live_known: bool = False
    #: how this copy was had: "builtin", "file", "network (HTTP 200)", "cache (fresh)", ...
    origin: str = ""
    _by_name: dict[str, dict] | None = field(default=None, repr=False, compare=False)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def __repr__(self) -> str:
        # Short: a catalog holds hundreds of entries, and a REPL or a log shows the repr.
        return (f"<Catalog {self.source!r}: {len(self.entries)} entries, "
                f"{len(self.skipped)} skipped, sha256 {self.sha256[:12]}>")

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

    With no ``source``, the default chain (DESIGN §1): ``$POLICYENG_CATALOG``,
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
        raise TypeError("a catalog source is builtin, a path or a URL (str or os.PathLike), "
                        f"not {type(source).__name__}")
    chained = source is None
    if source is None:
        source = os.environ.get("POLICYENG_CATALOG") or default or DEFAULT_URL
    source = os.fspath(source)
    if refresh and not is_url(source):
        raise UsageError(f"--refresh fetches a URL source, and {source} is not one "
                         "(builtin and files are read as they are)")
    fallback = fallback and not refresh
    try:
        catalog = _load_source(source, strict=strict, offline=offline, fallback=fallback,
                               refresh=refresh, max_age=max_age, settings=settings,
                               progress=progress)
    except CatalogError as exc:
        # Falling back is for the network only: a named file that is missing or
        # invalid is a mistake in the configuration, wherever it was named.
        if not (chained and fallback and is_url(source)):
            raise
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
        from .remote import fetch_live_models

        live_source = source if is_url(source) else DEFAULT_URL
        apply_live(catalog, fetch_live_models(live_source, os.environ.get("FLEXAI_API_KEY"),
                                              settings=settings, progress=progress))
    return catalog


def _load_source(source: str, *, strict: bool, **options: Any) -> Catalog:
    if source == "builtin":
        return load_builtin(strict=strict)
    if is_url(source):
        _check_url(source)
        from .remote import load_url  # httpx only when a URL is asked for

        return load_url(source, strict=strict, **options)
    if "://" in source:
        scheme = source.split("://", 1)[0]
        raise CatalogError(f"cannot fetch {scheme}:// URLs", source=source, hint=SOURCES)
    return load_file(source, strict=strict)


def _offline_from_environment() -> bool:
    value = os.environ.get("POLICYENG_OFFLINE", "").strip().lower()
    if value not in TRUTHY | FALSY:
        raise UsageError(f"POLICYENG_OFFLINE={value!r}: use 1, true, yes or on (0, false, no, "
                         "off or unset for online)")
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
    """The snapshot bundled in the package, dated by its metadata."""
    meta = json.loads(BUILTIN_META_PATH.read_text(encoding="utf-8"))
    catalog = parse_catalog(BUILTIN_PATH.read_bytes(), "builtin", strict=strict,
                            fetched_at=meta.get("date"), validated_sha256=meta["sha256"],
                            require="holds")
    catalog.origin = "builtin"
    return catalog


def load_file(source: str, *, strict: bool = False) -> Catalog:
    """A JSON file in the ``/api/models`` shape; its modification time is its fetch time."""
    path = Path(source)
    if not source:
        raise CatalogError("the catalog source is empty", source="''", hint=SOURCES)
    try:
        if path.exists() and not path.is_dir() and not path.is_file():
            # a FIFO would block and a device (/dev/zero) never end
            raise CatalogError("not a regular file", source=source, hint=SOURCES)
        body = path.read_bytes()
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        import difflib

        close = difflib.get_close_matches(source, ["builtin"], n=1, cutoff=0.75)
        guess = "; did you mean builtin?" if close and os.sep not in source else ""
        raise CatalogError(f"file not found{guess}", source=source, hint=SOURCES) from None
    except IsADirectoryError:
        raise CatalogError("is a directory, not a JSON file", source=source,
                           hint=SOURCES) from None
    except OSError as exc:
        raise CatalogError(f"cannot read: {exc.strerror}", source=source) from None
    fetched_at = iso_time(mtime)
    catalog = parse_catalog(body, source, strict=strict, fetched_at=fetched_at, remember=True,
                            require="holds")
    catalog.origin = "file"
    return catalog


def require_models(catalog: Catalog, what: str = "holds") -> None:
    """A source with no usable entry is unusable (exit 3), not a policy matching nothing.

    Checked where a catalog is read from its source, not in ``parse_catalog``: a
    program may build an empty catalog in memory on purpose.
    """
    if catalog.entries:
        return
    if not catalog.skipped:
        raise CatalogError(f"{what} no models", source=catalog.source)
    raise CatalogError(f"{what} no valid model entries ({len(catalog.skipped)} invalid)",
                       source=catalog.source,
                       hint="--strict (strict=True) lists why each entry is invalid")


def apply_live(catalog: Catalog, live_ids: set[str]) -> None:
    """Set ``live`` on every entry (listed by ``/v1/models`` or not); mark it known."""
    for entry in catalog.entries:
        entry["live"] = entry["model_name"] in live_ids
    catalog.live_known = True


def describe_age(seconds: float) -> str:
    """An age for people: ``42 s``, ``12 min``, ``3 h 5 min``, ``4 days``."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        hours, minutes = divmod(seconds // 60, 60)
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{seconds // 86400} days"


def iso_time(timestamp: float) -> str:
    """A fetch time as the catalog reports it: UTC, ISO 8601, to the second."""
    return datetime.fromtimestamp(timestamp, timezone.utc).isoformat(timespec="seconds")


def age_of(fetched_at: str | None) -> float:
    """Seconds since an ISO date or timestamp (a bare date counts from its midnight, UTC)."""
    if not fetched_at:
        return 0.0
    when = datetime.fromisoformat(fetched_at)
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return (datetime.now(timezone.utc) - when).total_seconds()


def parse_catalog(
    body: bytes,
    source: str,
    *,
    strict: bool = False,
    fetched_at: str | None = None,
    stale: bool = False,
    validated_sha256: str | None = None,
    remember: bool = False,
    require: str | None = None,
) -> Catalog:
    """Turn a response body into a Catalog: parse, validate each entry, derive fields.

    ``validated_sha256`` names a body already known to be entirely valid (the
    bundled snapshot, checked by the test suite), whose validation is skipped;
    ``remember=True`` reuses the validation of a body seen before (``memo``).
    ``require`` (how the error starts: ``"holds"``) makes a body with no usable
    entry a ``CatalogError``, raised before any skipped-entry warning so that a
    rejected body never floods stderr first.
    """
    digest = hashlib.sha256(body).hexdigest()
    try:
        data = json.loads(body)
    except UnicodeDecodeError as exc:
        raise CatalogError(f"is not UTF-8 text (byte {exc.start})", source=source) from None
    except json.JSONDecodeError as exc:
        raise CatalogError(
            f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}", source=source
        ) from None
    except RecursionError:
        raise CatalogError("is nested too deeply to be a catalog", source=source) from None
    if not isinstance(data, list):
        kind = type(data).__name__ if not isinstance(data, dict) else "JSON object"
        raise CatalogError(
            f"expected a JSON array of models (the /api/models shape), got a {kind}",
            source=source,
        )
    if digest == validated_sha256:
        entries, skipped = data, []
    elif remember:
        from .memo import validate_remembered

        entries, skipped = validate_remembered(data, digest)
    else:
        entries, skipped = validate_entries(data)
    if skipped and strict:
        shown = "\n  ".join(str(s) for s in skipped[:20])
        more = f"\n  ... and {len(skipped) - 20} more" if len(skipped) > 20 else ""
        raise CatalogError(
            f"{len(skipped)} invalid entr{'y' if len(skipped) == 1 else 'ies'} "
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


def warn_skipped(catalog: Catalog, stacklevel: int = 3) -> None:
    """One ``CatalogWarning`` per skipped entry."""
    for problem in catalog.skipped:
        warnings.warn(f"catalog {catalog.source}: skipped {problem}", CatalogWarning,
                      stacklevel=stacklevel)


def derive(entry: dict[str, Any]) -> None:
    """Add ``endpoint`` (when the category is known) and ``healthy`` to an entry, in place."""
    endpoint = endpoint_for(entry)
    if endpoint is None:
        entry.pop("endpoint", None)
    else:
        entry["endpoint"] = endpoint
    entry["healthy"] = entry.get("health_status") == "healthy"


def validate_entries(data: list[Any]) -> tuple[list[dict[str, Any]], list[Skipped]]:
    """Keep the valid entries, first of each ``model_name``; report the rest.

    Every entry goes through a compiled validator (fastjsonschema, about as fast
    as parsing the JSON); only an entry it rejects is validated again with
    ``jsonschema``, whose messages say exactly what is wrong and where.
    """
    is_valid = _fast_validator()
    entries: list[dict[str, Any]] = []
    skipped: list[Skipped] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(data):
        error = None if is_valid(entry) else _first_error(_validator(), entry)
        name = entry.get("model_name") if isinstance(entry, dict) else None
        name = name if isinstance(name, str) else None
        if error is not None:
            skipped.append(Skipped(index, name, error))
            continue
        if name in seen:
            skipped.append(Skipped(index, name, f"duplicate model_name; kept entry [{seen[name]}]"))
            continue
        seen[name] = index
        entries.append(entry)
    return entries, skipped


NUMBER_FIELDS = tuple(name for name, kind in FIELDS.items() if kind == NUMBER)


def _first_error(validator, entry: Any) -> str | None:
    """The clearest reason an entry is invalid, or None if it is valid."""
    from jsonschema.exceptions import best_match

    error = best_match(validator.iter_errors(entry))
    if error is not None:
        where = ".".join(str(p) for p in error.absolute_path)
        return f"{where}: {error.message}" if where else error.message
    return _non_finite(entry)


def _non_finite(entry: dict[str, Any]) -> str | None:
    # JSON Schema cannot say "not NaN" (NaN passes minimum and maximum).
    for name in NUMBER_FIELDS:
        number = entry.get(name)
        if number is not None and number != number:
            return f"{name}: NaN is not a finite number"
    return None


def schema_path(name: str) -> Path:
    """A bundled JSON Schema: inside the installed package, or in the source checkout."""
    for candidate in (PACKAGE_DIR / "schemas" / name, PACKAGE_DIR.parent / "schemas" / name):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"schema {name} is not installed")


@cache
def load_schema(name: str) -> dict[str, Any]:
    return json.loads(schema_path(name).read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _fast_validator():
    """A predicate that accepts exactly the entries the JSON Schema (and finiteness) accept."""
    import fastjsonschema

    validate = fastjsonschema.compile(load_schema("catalog.schema.json"))
    invalid = fastjsonschema.JsonSchemaException

    def is_valid(entry: Any) -> bool:
        try:
            validate(entry)
        except invalid:
            return False
        return _non_finite(entry) is None

    return is_valid


@lru_cache(maxsize=1)
def _validator():
    from jsonschema import Draft202012Validator

    return Draft202012Validator(load_schema("catalog.schema.json"))
