"""``check`` for people: ``PASS``/``FAIL`` lines, the drift table, the catalog, a summary."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...errors import PolicyError
from ...text import visible
from ..check import PolicyReport
from ..lock import DriftFailure, describe, drifted
from . import catalog_line, summary


def render(
    reports: list[PolicyReport],
    catalog: Any,
    lock_path: str | None = None,
    notes: Sequence[str] = (),
) -> str:
    """``PASS name  -> model (endpoint)`` / ``FAIL name  reason`` lines, then a summary.

    A drift reads as two lines: what was locked and what is picked now, then
    its reason (``tie-break: ...``). ``notes`` are not repeated: they went to
    stderr as the catalog loaded.
    """
    width = max((len(r.name) for r in reports), default=0)
    lines = []
    for report in reports:
        if report.passed:
            lines.append(f"PASS {report.name:<{width}}  -> {describe(report.pick)}")
        else:
            shown = [line for reason in report.failures for line in _lines(reason)]
            lines.append(f"FAIL {report.name:<{width}}  {shown[0]}")
            lines.extend(f"     {'':<{width}}  {line}" for line in shown[1:])
        lines.extend(f"     {'':<{width}}  warning: {note}" for note in report.warnings)
    moved = drifted(reports)
    if moved:
        rows = [("policy", "locked", "now", "reason")]
        rows += [
            (r.name, describe(r.locked), describe(r.pick), r.drift["reason"])
            for r in moved
            if r.drift is not None
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        lines.append("")
        lines.append(f"drift against {lock_path}:")
        lines.extend(
            f"  {a:<{widths[0]}}  {b:<{widths[1]}}  {c:<{widths[2]}}  {d}".rstrip()
            for a, b, c, d in rows
        )
    lines.append(catalog_line(catalog))
    lines.append(summary(reports, catalog))
    # Names, picks and reasons come from the catalog and the lock: shown, never obeyed.
    return "\n".join(visible(line) for line in lines)


def _lines(reason: str) -> list[str]:
    if isinstance(reason, DriftFailure):
        return [reason.brief, f"{reason.drift['reason']}: {reason.drift['text']}"]
    return [reason]


def render_load_errors(error: PolicyError) -> str | None:
    """Nothing on stdout: the error itself goes to stderr, as for every command."""
    return None
