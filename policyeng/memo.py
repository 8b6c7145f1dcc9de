"""Validation results remembered by the digest of the catalog body.

Validating every entry is the largest cost of loading a large catalog, and a
deployment or CI job loads the same body (a file, or the cached copy of a
URL) again and again. The outcome of validating a body (which entries were
skipped, and why) depends only on the body and the schema, so it is stored
under ``sha256(body) + sha256(schema)`` in the catalog cache directory (a
small ``*.validated`` file) and reused;
a changed body or schema is validated afresh. The memo is an optimisation
only: when it cannot be read or written, validation simply runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

from .atomic import replace_file
from .catalog import Skipped, schema_path, validate_entries


def validate_remembered(data: list[Any], digest: str) -> tuple[list[Any], list[Skipped]]:
    """``validate_entries(data)``, answered from the memo when this body was seen before."""
    from .cache import cache_dir

    path = cache_dir() / f"{_key(digest)}.validated"
    skipped = _recall(path, len(data))
    if skipped is not None:
        dropped = {problem.index for problem in skipped}
        return [e for i, e in enumerate(data) if i not in dropped], skipped
    entries, skipped = validate_entries(data)
    _remember(path, len(data), skipped)
    return entries, skipped


@cache
def _schema_digest() -> str:
    return hashlib.sha256(schema_path("catalog.schema.json").read_bytes()).hexdigest()


def _key(digest: str) -> str:
    return hashlib.sha256(f"{digest}:{_schema_digest()}".encode()).hexdigest()


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
