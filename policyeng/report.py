"""``check`` reports in the four formats CI reads: text, json, junit, github.

Each function takes the per-policy reports and returns the text to print, so
the command stays a thin shell and each format can be parsed back in tests.
"""

from __future__ import annotations

import json
from typing import Any

from .errors import PolicyError, PolicyFileError
from .lock import describe, drifted
from .policyfile import PolicyReport


def summary(reports: list[PolicyReport], catalog: Any) -> str:
    failed = sum(1 for r in reports if not r.passed)
    return (f"{len(reports) - failed} passed, {failed} failed "
            f"({len(reports)} polic{'y' if len(reports) == 1 else 'ies'}, "
            f"catalog {catalog.source})")


def text(reports: list[PolicyReport], catalog: Any, lock_path: str | None = None) -> str:
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
    return "\n".join(lines)


def as_json(reports: list[PolicyReport], catalog: Any) -> str:
    """A JSON array, one object per policy (``PolicyReport.to_dict`` plus the catalog)."""
    info = {"source": catalog.source, "sha256": catalog.sha256}
    return json.dumps([{**r.to_dict(), "catalog": info} for r in reports], indent=2,
                      ensure_ascii=False)


def junit(reports: list[PolicyReport], catalog: Any) -> str:
    """JUnit XML: one testsuite per file, one testcase per policy."""
    import xml.etree.ElementTree as ET

    failures = sum(1 for r in reports if not r.passed)
    root = ET.Element("testsuites", name="policyeng check", tests=str(len(reports)),
                      failures=str(failures), errors="0")
    by_file: dict[str, list[PolicyReport]] = {}
    for report in reports:
        by_file.setdefault(report.file, []).append(report)
    for file, group in by_file.items():
        suite = ET.SubElement(
            root, "testsuite", name=file, tests=str(len(group)),
            failures=str(sum(1 for r in group if not r.passed)), errors="0", skipped="0",
        )
        ET.SubElement(ET.SubElement(suite, "properties"), "property", name="catalog",
                      value=f"{catalog.source} sha256:{catalog.sha256}")
        for report in group:
            case = ET.SubElement(suite, "testcase", classname=file, name=report.name,
                                 file=file, line=str(report.line))
            if report.passed:
                out = [describe(report.pick), *(f"warning: {w}" for w in report.warnings)]
                ET.SubElement(case, "system-out").text = "\n".join(out)
            else:
                failure = ET.SubElement(case, "failure", message=report.failures[0],
                                        type="policy")
                failure.text = "\n".join(report.failures)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


def github(reports: list[PolicyReport], catalog: Any) -> str:
    """GitHub Actions workflow commands: one ``::error`` per failing policy, at its line."""
    lines = []
    for report in reports:
        for reason in report.failures:
            lines.append(annotation(report.file, report.line, None,
                                    f"policy '{report.name}': {reason}"))
        for note in report.warnings:
            lines.append(annotation(report.file, report.line, None,
                                    f"policy '{report.name}': {note}", level="warning"))
    lines.append(summary(reports, catalog))
    return "\n".join(lines)


def github_load_errors(error: PolicyError) -> str:
    """A load error (or several) as ``::error file=F,line=L,col=C::message`` lines."""
    return "\n".join(annotation(e.source, e.line, e.column, e.message)
                     for e in load_errors(error))


def load_errors(error: PolicyError) -> list[PolicyError]:
    """Each mistake found while loading policy files."""
    return error.errors if isinstance(error, PolicyFileError) else [error]


def json_load_errors(error: PolicyError) -> str:
    """A JSON array, one ``{"file", "line", "column", "status": "error", "message"}`` each."""
    return json.dumps([{"file": e.source, "line": e.line, "column": e.column,
                        "status": "error", "message": e.message} for e in load_errors(error)],
                      indent=2, ensure_ascii=False)


def junit_load_errors(error: PolicyError) -> str:
    """JUnit XML: one testcase per file that failed to load, marked ``<error>``."""
    import xml.etree.ElementTree as ET

    by_file: dict[str, list[PolicyError]] = {}
    for e in load_errors(error):
        by_file.setdefault(e.source, []).append(e)
    root = ET.Element("testsuites", name="policyeng check", tests=str(len(by_file)),
                      failures="0", errors=str(len(by_file)))
    suite = ET.SubElement(root, "testsuite", name="load policy files", tests=str(len(by_file)),
                          failures="0", errors=str(len(by_file)), skipped="0")
    for file, errors in by_file.items():
        first = errors[0]
        case = ET.SubElement(suite, "testcase", classname=file, name=file, file=file,
                             **({"line": str(first.line)} if first.line is not None else {}))
        failed = ET.SubElement(case, "error", type=first.kind,
                               message=f"{first.location}: {first.message}")
        failed.text = "\n".join(str(e) for e in errors)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


def annotation(file: str, line: int | None, column: int | None, message: str,
               level: str = "error") -> str:
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


#: ``check --format F`` when a policy file does not load (text: stderr only).
LOAD_ERRORS = {"json": json_load_errors, "junit": junit_load_errors,
               "github": github_load_errors}
