"""``check``'s output formats, one module each, chosen by name.

Each format module has ``render(reports, catalog, lock_path, notes=())`` for a
run that resolved the policies (``notes``: the catalog's warnings, a fall-back
or skipped entries), and ``render_load_errors(error)`` for policy files that
did not load, so CI gets a report it can read either way. Every report names
the catalog it was made against: source, sha256, fetch time and whether it is
stale. Adding a format is one new module and one entry in ``NAMES``.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ...errors import PolicyError, PolicyFileError
from ...text import plural

if TYPE_CHECKING:
    from ..check import PolicyReport

#: ``check --format`` choices, in the order ``--help`` lists them.
NAMES = ("text", "json", "junit", "github", "sarif", "tap")


def get(name: str) -> ModuleType:
    """The module that renders format ``name``."""
    if name not in NAMES:
        raise ValueError(f"unknown format {name!r}; formats: {', '.join(NAMES)}")
    return importlib.import_module(f".{name}", __name__)


def summary(reports: list[PolicyReport], catalog: Any) -> str:
    """``N passed, M failed (K policies, catalog SRC)``: the last line of text, github and tap."""
    failed = sum(1 for r in reports if not r.passed)
    return (
        f"{len(reports) - failed} passed, {failed} failed "
        f"({plural(len(reports), 'policy', 'policies')}, "
        f"catalog {catalog.source})"
    )


def catalog_info(catalog: Any) -> dict[str, Any]:
    """Where the report's catalog came from: source, sha256, fetched_at, stale, models."""
    return {**catalog.info(), "models": len(catalog)}


def catalog_line(catalog: Any) -> str:
    """``catalog SRC: sha256 0123456789ab, fetched T[, stale], N models``, for text reports."""
    info = catalog_info(catalog)
    return (
        f"catalog {info['source']}: sha256 {info['sha256'][:12]}, fetched "
        f"{info['fetched_at'] or 'at an unknown time'}"
        f"{', stale' if info['stale'] else ''}, {info['models']} models"
    )


def load_errors(error: PolicyError) -> list[PolicyError]:
    """Each mistake found while loading policy files."""
    return error.errors if isinstance(error, PolicyFileError) else [error]
