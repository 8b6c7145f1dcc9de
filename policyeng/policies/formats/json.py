"""``check --format json``: one object per policy, or one per load mistake."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ...errors import PolicyError
from ..check import PolicyReport
from . import catalog_info, load_errors


def render(
    reports: list[PolicyReport],
    catalog: Any,
    lock_path: str | None = None,
    notes: Sequence[str] = (),
) -> str:
    """A JSON array, one object per policy (``PolicyReport.to_dict`` plus the catalog).

    ``catalog`` is ``{"source", "sha256", "fetched_at", "stale", "models",
    "warnings"}``; with ``--locked`` a drifted policy has ``drift``, the
    classifier's plain data (``reason``, ``detail``, ``text``, ...).
    """
    info = {**catalog_info(catalog), "warnings": list(notes)}
    return json.dumps(
        [{**r.to_dict(), "catalog": info} for r in reports], indent=2, ensure_ascii=False
    )


def render_load_errors(error: PolicyError) -> str:
    """A JSON array, one ``{"file", "line", "column", "status": "error", "message"}`` each."""
    return json.dumps(
        [
            {
                "file": e.source,
                "line": e.line,
                "column": e.column,
                "status": "error",
                "message": e.message,
            }
            for e in load_errors(error)
        ],
        indent=2,
        ensure_ascii=False,
    )
