"""``check --format github``: GitHub Actions annotations on the lines at fault."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...errors import PolicyError
from ..check import PolicyReport
from . import catalog_line, load_errors, summary


def render(
    reports: list[PolicyReport],
    catalog: Any,
    lock_path: str | None = None,
    notes: Sequence[str] = (),
) -> str:
    """One ``::error`` per failure and one ``::warning`` per note, at the policy's line.

    The catalog's own warnings (a fall-back copy, skipped entries) come first, as
    ``::warning`` annotations without a file: a job's log keeps stderr, but only
    annotations reach the run's summary.
    """
    lines = [f"::warning title=catalog::{_escape_data(note)}" for note in notes]
    for report in reports:
        for reason in report.failures:
            lines.append(
                annotation(report.file, report.line, None, f"policy '{report.name}': {reason}")
            )
        for note in report.warnings:
            lines.append(
                annotation(
                    report.file,
                    report.line,
                    None,
                    f"policy '{report.name}': {note}",
                    level="warning",
                )
            )
    lines.append(catalog_line(catalog))
    lines.append(summary(reports, catalog))
    return "\n".join(lines)


def render_load_errors(error: PolicyError) -> str:
    """A load error (or several) as ``::error file=F,line=L,col=C::message`` lines."""
    return "\n".join(annotation(e.source, e.line, e.column, e.message) for e in load_errors(error))


def annotation(
    file: str, line: int | None, column: int | None, message: str, level: str = "error"
) -> str:
    """One workflow command; data and properties escaped as GitHub documents."""
    properties = f"file={_escape_property(file)}"
    if line is not None:
        properties += f",line={line}"
    if column is not None:
        properties += f",col={column}"
    return f"::{level} {properties}::{_escape_data(message)}"


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")
