"""``check --format junit``: JUnit XML for CI test-report viewers."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any

from ...errors import PolicyError
from ..check import PolicyReport
from ..lock import describe
from . import catalog_info, load_errors


def render(
    reports: list[PolicyReport],
    catalog: Any,
    lock_path: str | None = None,
    notes: Sequence[str] = (),
) -> str:
    """One testsuite per file, one testcase per policy; the catalog in each suite's properties.

    Properties: ``catalog`` (``SRC sha256:DIGEST``, as before), ``catalog.source``,
    ``catalog.sha256``, ``catalog.fetched_at``, ``catalog.stale``,
    ``catalog.models`` and one ``catalog.warning`` per note.
    """
    info = catalog_info(catalog)
    by_file: dict[str, list[PolicyReport]] = {}
    for report in reports:
        by_file.setdefault(report.file, []).append(report)
    root = _root(tests=len(reports), failures=sum(1 for r in reports if not r.passed))
    for file, group in by_file.items():
        suite = _suite(root, file, tests=len(group), failures=sum(1 for r in group if not r.passed))
        properties = ET.SubElement(suite, "properties")
        ET.SubElement(
            properties,
            "property",
            name="catalog",
            value=f"{catalog.source} sha256:{catalog.sha256}",
        )
        for key, value in info.items():
            shown = str(value).lower() if isinstance(value, bool) else str(value or "")
            ET.SubElement(properties, "property", name=f"catalog.{key}", value=shown)
        for note in notes:
            ET.SubElement(properties, "property", name="catalog.warning", value=note)
        for report in group:
            case = _case(suite, file, report.name, report.line)
            if report.passed:
                out = [describe(report.pick), *(f"warning: {w}" for w in report.warnings)]
                ET.SubElement(case, "system-out").text = "\n".join(out)
            else:
                failure = ET.SubElement(case, "failure", message=report.failures[0], type="policy")
                failure.text = "\n".join(report.failures)
    return _xml(root)


def render_load_errors(error: PolicyError) -> str:
    """One testcase per file that failed to load, marked ``<error>``."""
    by_file: dict[str, list[PolicyError]] = {}
    for e in load_errors(error):
        by_file.setdefault(e.source, []).append(e)
    root = _root(tests=len(by_file), errors=len(by_file))
    suite = _suite(root, "load policy files", tests=len(by_file), errors=len(by_file))
    for file, errors in by_file.items():
        first = errors[0]
        case = _case(suite, file, file, first.line)
        failed = ET.SubElement(
            case, "error", type=first.kind, message=f"{first.location}: {first.message}"
        )
        failed.text = "\n".join(str(e) for e in errors)
    return _xml(root)


def _root(*, tests: int, failures: int = 0, errors: int = 0) -> ET.Element:
    return ET.Element(
        "testsuites",
        name="policyeng check",
        tests=str(tests),
        failures=str(failures),
        errors=str(errors),
    )


def _suite(
    root: ET.Element, name: str, *, tests: int, failures: int = 0, errors: int = 0
) -> ET.Element:
    return ET.SubElement(
        root,
        "testsuite",
        name=name,
        tests=str(tests),
        failures=str(failures),
        errors=str(errors),
        skipped="0",
    )


def _case(suite: ET.Element, file: str, name: str, line: int | None) -> ET.Element:
    attributes = {"classname": file, "name": name, "file": file}
    if line is not None:
        attributes["line"] = str(line)
    return ET.SubElement(suite, "testcase", attributes)


def _xml(root: ET.Element) -> str:
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")
