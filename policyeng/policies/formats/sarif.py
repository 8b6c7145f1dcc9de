"""``check --format sarif``: SARIF 2.1.0 for code scanning, one result per failure.

GitHub code scanning (and other SARIF viewers) annotate the policy's line in
the file with each result. There is one rule per kind of failure (a policy
resolving to nothing, a broken ``expect``, each drift reason, a policy missing
from the lock or from the files, a file that does not load), so a failure kind
can be filtered or dismissed on its own. The run's ``properties.catalog``
names the catalog (source, sha256, fetched_at, stale, models) and the
catalog's warnings are the invocation's ``toolExecutionNotifications``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import PurePath
from typing import Any
from urllib.parse import quote

from ..._version import __version__
from ...diagnose import DRIFT_REASONS
from ...errors import PolicyError
from ..check import PolicyReport
from . import catalog_info, load_errors

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"

#: rule id -> what it means (the rule's short description).
RULES: dict[str, str] = {
    "unresolved": "The policy and its fallbacks resolve to no model in the catalog.",
    "expect": "The model the policy picks breaks the policy's expect block.",
    **{
        f"drift/{reason}": f"The pick differs from the lock file: {why}"
        for reason, why in (
            (
                "fallback",
                "the policy that resolved then matches nothing now (or resolves again), "
                "so another policy of the fallback chain answers.",
            ),
            ("removed", "the locked model is no longer in the catalog."),
            ("fails", "the locked model fails a clause of the policy now."),
            ("no-endpoint", "the locked model's category no longer maps to an endpoint."),
            ("endpoint", "the locked model is now called through another endpoint."),
            ("outranked", "the locked model still passes, but another model ranks ahead."),
            ("tie-break", "the ranking keys are equal and model_name decided."),
        )
    },
    "not-locked": "The policy is not in the lock file.",
    "not-defined": "The lock file has a policy the policy files no longer define.",
    "load": "A policy file does not load (YAML, schema, policy syntax or types).",
}
assert {f"drift/{r}" for r in DRIFT_REASONS} <= set(RULES)


def render(
    reports: list[PolicyReport],
    catalog: Any,
    lock_path: str | None = None,
    notes: Sequence[str] = (),
) -> str:
    """A SARIF log with one run: every failure of every policy as a result at its line."""
    results = []
    for report in reports:
        for failure in report.failures:
            rule = _rule_of(failure, report)
            result = _result(
                rule, f"policy '{report.name}': {failure}", report.file, report.line, report.column
            )
            result["properties"] = {
                "policy": report.name,
                "pick": report.pick,
                "locked": report.locked,
            }
            if rule.startswith("drift/"):
                result["properties"]["drift"] = report.drift
            results.append(result)
    invocation = {
        "executionSuccessful": True,
        "toolExecutionNotifications": [
            {"level": "warning", "message": {"text": note}} for note in notes
        ],
    }
    return _log(results, invocation, {"catalog": catalog_info(catalog)})


def render_load_errors(error: PolicyError) -> str:
    """One ``load`` result per mistake, at its file, line and column."""
    results = [_result("load", e.message, e.source, e.line, e.column) for e in load_errors(error)]
    invocation = {"executionSuccessful": False, "toolExecutionNotifications": []}
    return _log(results, invocation, {})


def _rule_of(failure: str, report: PolicyReport) -> str:
    kind = getattr(failure, "kind", "expect")
    if kind == "drift":
        return f"drift/{report.drift['reason']}" if report.drift else "drift/outranked"
    return kind if kind in RULES else "expect"


def _result(
    rule: str, message: str, file: str, line: int | None, column: int | None
) -> dict[str, Any]:
    region: dict[str, int] = {}
    if line is not None:
        region["startLine"] = max(1, line)
        if column is not None:
            region["startColumn"] = max(1, column)
    location: dict[str, Any] = {"artifactLocation": {"uri": _uri(file)}}
    if region:
        location["region"] = region
    return {
        "ruleId": rule,
        "ruleIndex": list(RULES).index(rule),
        "level": "error",
        "message": {"text": message},
        "locations": [{"physicalLocation": location}],
    }


def _uri(file: str) -> str:
    """A file path as a URI reference: relative paths stay relative (code scanning wants that)."""
    path = PurePath(file)
    if path.is_absolute():
        return "file://" + quote(path.as_posix())
    return quote(path.as_posix())


def _log(
    results: list[dict[str, Any]], invocation: dict[str, Any], properties: dict[str, Any]
) -> str:
    driver = {
        "name": "policyeng",
        "version": __version__,
        "rules": [
            {
                "id": rule,
                "shortDescription": {"text": text},
                "defaultConfiguration": {"level": "error"},
            }
            for rule, text in RULES.items()
        ],
    }
    run: dict[str, Any] = {
        "tool": {"driver": driver},
        "invocations": [invocation],
        "results": results,
    }
    if properties:
        run["properties"] = properties
    return json.dumps(
        {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2, ensure_ascii=False
    )
