"""``check --format tap``: the Test Anything Protocol (version 14, readable as 13).

One test point per policy; a failing one carries a YAML diagnostic block
(``message``, ``severity``, ``data``: file, line, failures, pick, lock and
drift) that TAP consumers show under it. The catalog (source, sha256, fetch
time, staleness) and its warnings are comment lines, and so is the summary.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ...errors import PolicyError
from ...text import visible
from ..check import PolicyReport
from ..lock import describe
from . import catalog_info, catalog_line, load_errors, summary


def render(
    reports: list[PolicyReport],
    catalog: Any,
    lock_path: str | None = None,
    notes: Sequence[str] = (),
) -> str:
    """``ok N - name -> model`` or ``not ok N - name`` with its diagnostics."""
    lines = ["TAP version 14", f"1..{len(reports)}"]
    lines.extend(f"# warning: {_comment(note)}" for note in notes)
    for number, report in enumerate(reports, 1):
        if report.passed:
            lines.append(
                f"ok {number} - {_description(report.name)} -> "
                f"{_description(describe(report.pick))}"
            )
            lines.extend(
                f"# warning: {_comment(report.name)}: {_comment(note)}" for note in report.warnings
            )
            continue
        lines.append(f"not ok {number} - {_description(report.name)}")
        data: dict[str, Any] = {
            "file": report.file,
            "line": report.line,
            "failures": [str(f) for f in report.failures],
            "warnings": report.warnings,
            "pick": report.pick,
        }
        if report.locked is not None:
            data["locked"] = report.locked
            data["drift"] = report.drift
        lines.extend(
            _yaml_block({"message": str(report.failures[0]), "severity": "fail", "data": data})
        )
    lines.append(f"# {_comment(catalog_line(catalog))}")
    lines.append(f"# catalog: {json.dumps(catalog_info(catalog))}")
    lines.append(f"# {_comment(summary(reports, catalog))}")
    return "\n".join(lines)


def render_load_errors(error: PolicyError) -> str:
    """One failing test point per mistake found while loading the policy files."""
    errors = load_errors(error)
    lines = ["TAP version 14", f"1..{len(errors)}"]
    for number, e in enumerate(errors, 1):
        lines.append(f"not ok {number} - {_description(e.location or e.source)}")
        lines.extend(
            _yaml_block(
                {
                    "message": e.message,
                    "severity": "fail",
                    "data": {"file": e.source, "line": e.line, "column": e.column, "kind": e.kind},
                }
            )
        )
    return "\n".join(lines)


def _yaml_block(data: dict[str, Any]) -> list[str]:
    """A YAML diagnostic, indented two spaces; each value in JSON (which YAML reads too)."""
    lines = ["  ---"]
    for key, value in data.items():
        if isinstance(value, dict):
            lines.append(f"  {key}:")
            lines.extend(f"    {k}: {json.dumps(v)}" for k, v in value.items())
        else:
            lines.append(f"  {key}: {json.dumps(value)}")
    lines.append("  ...")
    return lines


def _description(text: str) -> str:
    """A test point's description: one line, ``#`` and ``\\`` escaped (TAP 14)."""
    return _comment(text).replace("\\", "\\\\").replace("#", "\\#")


def _comment(text: str) -> str:
    """One line, with nothing a terminal would act on (names come from catalogs and files)."""
    return visible(text)
