"""``check``'s output formats, one module each, chosen by name.

Each format module has ``render(reports, catalog, lock_path)`` for a run that
resolved the policies, and ``render_load_errors(error)`` for policy files that
did not load, so CI gets a report it can read either way. Adding a format is
one new module and one entry in ``NAMES``.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ...errors import PolicyError, PolicyFileError

if TYPE_CHECKING:
    from ..check import PolicyReport

#: ``check --format`` choices, in the order ``--help`` lists them.
NAMES = ("text", "json", "junit", "github")


def get(name: str) -> ModuleType:
    """The module that renders format ``name``."""
    if name not in NAMES:
        raise ValueError(f"unknown format {name!r}; formats: {', '.join(NAMES)}")
    return importlib.import_module(f".{name}", __name__)


def summary(reports: list[PolicyReport], catalog: Any) -> str:
    """``N passed, M failed (K policies, catalog SRC)``: the last line of text and github."""
    failed = sum(1 for r in reports if not r.passed)
    return (f"{len(reports) - failed} passed, {failed} failed "
            f"({len(reports)} polic{'y' if len(reports) == 1 else 'ies'}, "
            f"catalog {catalog.source})")


def load_errors(error: PolicyError) -> list[PolicyError]:
    """Each mistake found while loading policy files."""
    return error.errors if isinstance(error, PolicyFileError) else [error]
