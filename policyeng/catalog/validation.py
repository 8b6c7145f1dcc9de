"""Entry validation against ``schemas/catalog.schema.json``, remembered per body.

An invalid entry is skipped with a reason (``Skipped``) rather than failing
the load, so one bad entry upstream never takes a deployment down. Validating
every entry is the largest cost of loading a large catalog, and a deployment
or CI job loads the same body again and again; the outcome depends only on
the body and the schema, so it is remembered under ``sha256(body) +
sha256(schema)`` in the catalog cache directory (a small ``*.validated``
file). The memo is an optimisation only: when it cannot be read or written,
validation simply runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from ..fields import DERIVED, FIELDS, NUMBER
from ..files import replace_file
from ..text import has_lone_surrogate, visible

PACKAGE_DIR = Path(__file__).parent.parent


@dataclass(frozen=True)
class Skipped:
    """An entry left out of the catalog, and why."""

    index: int
    model_name: str | None
    reason: str

    def __str__(self) -> str:
        name = f" {self.model_name!r}" if self.model_name else ""
        return f"entry [{self.index}]{name}: {self.reason}"


def validate_entries(
    data: list[Any], *, unusual: bool = True
) -> tuple[list[dict[str, Any]], list[Skipped]]:
    """Keep the valid entries, first of each ``model_name``; report the rest.

    Every entry goes through a compiled validator (fastjsonschema, about as fast
    as parsing the JSON); only an entry it rejects is validated again with
    ``jsonschema``, whose messages say exactly what is wrong and where.
    ``unusual=False`` (the body holds no lone surrogate, NaN or infinity: see
    ``model.read_json``) spares the walk through every value of every entry.
    """
    is_valid = _fast_validator()
    entries: list[dict[str, Any]] = []
    skipped: list[Skipped] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(data):
        error = None if is_valid(entry) else _first_error(_validator(), entry)
        if error is None and unusual:
            error = not_plain_data(entry)
        name = entry.get("model_name") if isinstance(entry, dict) else None
        name = name if isinstance(name, str) else None
        if error is not None:
            skipped.append(Skipped(index, name, error))
            continue
        assert name is not None  # a valid entry has a string model_name
        if name in seen:
            skipped.append(Skipped(index, name, f"duplicate model_name; kept entry [{seen[name]}]"))
            continue
        seen[name] = index
        entries.append(entry)
    return entries, skipped


NUMBER_FIELDS = tuple(
    name for name, kind in FIELDS.items() if kind == NUMBER and name not in DERIVED
)
#: The numbers of a ``pricing`` row (see ``$defs/pricing_row`` in the schema).
ROW_NUMBER_FIELDS = ("unit_price_usd", "input_per_mtok", "output_per_mtok", "cached_input_per_mtok")


def _first_error(validator, entry: Any) -> str | None:
    """The clearest reason an entry is invalid, or None if it is valid."""
    from jsonschema.exceptions import best_match

    error = best_match(validator.iter_errors(entry))
    if error is not None:
        where = field_path(error.absolute_path)
        message = error.message
        if isinstance(error.instance, float) and math.isinf(error.instance):
            message = _TOO_LARGE  # "inf is not of type 'integer'" says nothing to a reader
        return f"{where}: {message}" if where else message
    return _non_finite(entry)


#: Infinity, or a number read as infinite: 5,000 digits, or past about 1.8e308.
_TOO_LARGE = "not a finite number (Infinity, or too large: past about 1.8e308)"


def field_path(path: Iterable[str | int]) -> str:
    """``("pricing", 1, "unit_price_usd")`` -> ``pricing[1].unit_price_usd``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text


def not_plain_data(value: Any) -> str | None:
    """Where a value holds what no output can show faithfully, and what; None if nowhere.

    A lone surrogate is not text (it cannot even be encoded for printing), and
    NaN or an infinity is not a number JSON can carry: anywhere in an entry,
    extra fields included, either makes it invalid.
    """
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        where, current = stack.pop()
        if isinstance(current, str):
            if has_lone_surrogate(current):
                return f"{where or 'value'}: {visible(current)!s} is not text (a lone surrogate)"
        elif isinstance(current, float):
            if not math.isfinite(current):
                return f"{where or 'value'}: " + (
                    "NaN is not a finite number" if current != current else _TOO_LARGE
                )
        elif isinstance(current, dict):
            for key, item in reversed(list(current.items())):
                if has_lone_surrogate(key):
                    return f"{where or 'entry'}: key {visible(key)} is not text (a lone surrogate)"
                stack.append((f"{where}.{key}" if where else key, item))
        elif isinstance(current, list):
            stack.extend((f"{where}[{i}]", item) for i, item in reversed(list(enumerate(current))))
    return None


def _non_finite(entry: dict[str, Any]) -> str | None:
    # JSON Schema cannot say "not NaN" (NaN passes minimum and maximum). Called
    # only on an entry the schema accepts, so ``pricing`` is a list of objects.
    numbers = [(name, entry.get(name)) for name in NUMBER_FIELDS]
    for index, row in enumerate(entry.get("pricing") or ()):
        numbers += [
            (field_path(("pricing", index, name)), row.get(name)) for name in ROW_NUMBER_FIELDS
        ]
    for where, number in numbers:
        if number is not None and number != number:
            return f"{where}: NaN is not a finite number"
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


def validate_remembered(
    data: list[Any], digest: str, *, unusual: bool = True
) -> tuple[list[Any], list[Skipped]]:
    """``validate_entries(data)``, answered from the memo when this body was seen before."""
    from .response_cache import cache_dir

    path = cache_dir() / f"{_key(digest)}.validated"
    skipped = _recall(path, len(data))
    if skipped is not None:
        dropped = {problem.index for problem in skipped}
        return [e for i, e in enumerate(data) if i not in dropped], skipped
    entries, skipped = validate_entries(data, unusual=unusual)
    _remember(path, len(data), skipped)
    return entries, skipped


#: Bumped when validation beyond the schema changes, so older memos are not trusted.
_RULES = 2


@cache
def _schema_digest() -> str:
    return hashlib.sha256(schema_path("catalog.schema.json").read_bytes()).hexdigest()


def _key(digest: str) -> str:
    return hashlib.sha256(f"{digest}:{_schema_digest()}:{_RULES}".encode()).hexdigest()


def _recall(path: Path, count: int) -> list[Skipped] | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        if record["entries"] != count:
            return None
        return [Skipped(index, name, reason) for index, name, reason in record["skipped"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _remember(path: Path, count: int, skipped: list[Skipped]) -> None:
    record = {"entries": count, "skipped": [[s.index, s.model_name, s.reason] for s in skipped]}
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_file(path, json.dumps(record).encode())
