"""``check``: resolve every policy of a book and hold it to its ``expect`` block.

CI runs this on every change and nightly; each policy passes or fails with
every reason, and the reports are plain data that each output format
(``policies.formats``) renders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..catalog.model import Catalog
from ..diagnose import per_unit_ranking, unknown_value
from ..engine import CatalogLike, Selection
from ..language import ast as syntax
from .book import PolicyBook
from .parsing import as_tuple


class Failure(str):
    """One reason a policy fails, in words, with its ``kind`` for reports that group them.

    Kinds: ``unresolved`` (no model), ``expect`` (an ``expect`` entry), ``drift``
    (the pick differs from the lock), ``not-locked`` and ``not-defined`` (the lock
    and the files disagree on which policies exist).
    """

    kind: str

    def __new__(cls, text: str, kind: str) -> Failure:
        failure = super().__new__(cls, text)
        failure.kind = kind
        return failure


def expectation_failures(expect: dict[str, Any], selection: Selection) -> list[str]:
    """Why the picked model breaks the policy's ``expect`` block (empty when it meets it)."""
    return [Failure(text, "expect") for text in _broken_expectations(expect, selection)]


def _broken_expectations(expect: dict[str, Any], selection: Selection) -> list[str]:
    failures = []
    model = selection.model_name
    if "min_candidates" in expect:
        pickable = sum(1 for entry in selection.candidates if "endpoint" in entry)
        if pickable < expect["min_candidates"]:
            failures.append(
                f"expected at least {expect['min_candidates']} candidates, found {pickable}"
            )
    if "endpoint" in expect and selection.endpoint != expect["endpoint"]:
        failures.append(
            f"expected endpoint {expect['endpoint']}, got {selection.endpoint} ({model})"
        )
    if "category" in expect:
        allowed = as_tuple(expect["category"])
        if selection.category not in allowed:
            failures.append(
                f"expected category {' or '.join(allowed)}, got {selection.category} ({model})"
            )
    if "model_name_in" in expect and model not in expect["model_name_in"]:
        failures.append(
            f"picked {model}, which is not in model_name_in [{', '.join(expect['model_name_in'])}]"
        )
    if "max_output_per_mtok" in expect:
        limit = expect["max_output_per_mtok"]
        price = selection.entry.get("output_per_mtok")
        if price is None:
            failures.append(f"{model} has no output_per_mtok; max_output_per_mtok is {limit:g}")
        elif price > limit:
            failures.append(
                f"{model} costs {price:g} per million output tokens, above "
                f"max_output_per_mtok {limit:g}"
            )
    return failures


@dataclass
class PolicyReport:
    """What ``check`` found for one policy: the pick, and every reason it fails."""

    name: str
    file: str
    line: int
    selection: Selection | None = None
    tried: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    locked: dict[str, Any] | None = None
    #: Why the pick differs from the locked one (``diagnose.classify_drift``), with --locked.
    drift: dict[str, Any] | None = None
    column: int = 1
    #: Tags or values the policy names that no model in the catalog has (likely typos).
    warnings: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def pick(self) -> dict[str, Any] | None:
        """The pick as a lock records it: model_name, endpoint, via."""
        if self.selection is None:
            return None
        return {
            "model_name": self.selection.model_name,
            "endpoint": self.selection.endpoint,
            "via": self.selection.via,
        }

    def to_dict(self) -> dict[str, Any]:
        """One object of ``check --format json``."""
        selection = self.selection
        data: dict[str, Any] = {
            "policy": self.name,
            "file": self.file,
            "line": self.line,
            "status": "pass" if self.passed else "fail",
            "model_name": selection.model_name if selection else None,
            "endpoint": selection.endpoint if selection else None,
            "category": selection.category if selection else None,
            "via": selection.via if selection else None,
            "tried": self.tried,
            "warnings": self.warnings,
            "candidates": (
                sum(1 for e in selection.candidates if "endpoint" in e) if selection else 0
            ),
            "failures": self.failures,
        }
        if self.locked is not None:
            data["locked"] = self.locked
            data["drift"] = self.drift
        return data


def unknown_values(node: syntax.Node, catalog: Catalog) -> list[str]:
    """Every tag or value the condition names that no model in the catalog has."""
    found, stack = [], [node]
    while stack:
        current = stack.pop()
        message = unknown_value(current, catalog.entries, any_missing=True)
        if message and message not in found:
            found.append(message)
        stack.extend(reversed(syntax.children(current)))
    return found


def check_book(book: PolicyBook, catalog: CatalogLike = None) -> list[PolicyReport]:
    """Resolve every policy of the book (fallbacks included) and check its expectations."""
    catalog = book.catalog_for(book.names, catalog)  # once, for every policy
    outcomes: dict[str, Any] = {}  # each policy's own result, reused along fallback chains
    reports = []
    for policy in book:
        tried = book.attempts(policy.name, catalog, outcomes=outcomes)
        report = PolicyReport(
            policy.name,
            policy.file,
            policy.line,
            column=policy.column,
            tried=[a.name for a in tried],
            warnings=unknown_values(policy.compiled.tree.where, catalog),
        )
        trap = per_unit_ranking(policy.compiled, catalog)
        if trap:
            report.warnings.append(trap)
        if tried[-1].selection is None:
            chain = " -> ".join(report.tried)
            reason = "resolves to no model" + (f" (tried {chain})" if len(tried) > 1 else "")
            emptied = [step for step in tried[0].no_match.funnel if step["passed"] == 0]
            if emptied:
                reason += f": `{emptied[0]['clause']}` leaves none of {emptied[0]['entered']}"
            report.failures.append(Failure(reason, "unresolved"))
        else:
            report.selection = tried[-1].selection
            report.failures.extend(expectation_failures(policy.expect, report.selection))
        reports.append(report)
    return reports
