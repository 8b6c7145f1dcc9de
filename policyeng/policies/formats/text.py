"""``check`` for people: ``PASS``/``FAIL`` lines, the drift table, a summary."""

from __future__ import annotations

from typing import Any

from ...errors import PolicyError
from ...text import visible
from ..check import PolicyReport
from ..lock import describe, drifted
from . import summary


def render(reports: list[PolicyReport], catalog: Any, lock_path: str | None = None) -> str:
    """``PASS name  -> model (endpoint)`` / ``FAIL name  reason`` lines, then a summary."""
    width = max((len(r.name) for r in reports), default=0)
    lines = []
    for report in reports:
        if report.passed:
            lines.append(f"PASS {report.name:<{width}}  -> {describe(report.pick)}")
        else:
            lines.append(f"FAIL {report.name:<{width}}  {report.failures[0]}")
            lines.extend(f"     {'':<{width}}  {reason}" for reason in report.failures[1:])
        lines.extend(f"     {'':<{width}}  warning: {note}" for note in report.warnings)
    moved = drifted(reports)
    if moved:
        rows = [("policy", "locked", "now")]
        rows += [(r.name, describe(r.locked), describe(r.pick)) for r in moved]
        widths = [max(len(row[i]) for row in rows) for i in range(2)]
        lines.append("")
        lines.append(f"drift against {lock_path}:")
        lines.extend(f"  {a:<{widths[0]}}  {b:<{widths[1]}}  {c}".rstrip() for a, b, c in rows)
    lines.append(summary(reports, catalog))
    # Names, picks and reasons come from the catalog and the lock: shown, never obeyed.
    return "\n".join(visible(line) for line in lines)


def render_load_errors(error: PolicyError) -> str | None:
    """Nothing on stdout: the error itself goes to stderr, as for every command."""
    return None
