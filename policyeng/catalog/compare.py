"""Two catalogs side by side: which models were added, removed, and what changed in the rest.

Plain data in, plain data out, so ``policyeng diff`` (text or ``--json``) and
any other tool word a catalog change the same way. A field that is absent and
one that is ``null`` are the same (both are missing, as everywhere else);
fields the loader derives (``healthy``, ``live``, the unit prices) are left
out because the change of what they follow from (``health_status``, the live
list, ``pricing``) already shows, but ``endpoint`` stays in: a category change
that moves a model to another endpoint matters to callers.
"""

from __future__ import annotations

from typing import Any

from ..fields import DERIVED
from .model import Catalog

#: Derived fields a change of another field already shows.
IMPLIED = DERIVED - {"endpoint"}


def compare_catalogs(old: Catalog, new: Catalog) -> dict[str, Any]:
    """What changed from ``old`` to ``new``, every list in ``model_name`` order::

        {"added": [NEW_ENTRY, ...], "removed": [OLD_ENTRY, ...],
         "changed": [{"model_name": NAME, "changes": [{"field", "before", "after"}, ...]}],
         "counts": {"added", "removed", "changed", "unchanged"}}

    ``changes`` are in field-name order; ``before``/``after`` are None when the
    field is missing on that side. Identical catalogs (same sha256) are compared
    in no time.
    """
    if old.sha256 == new.sha256:
        return _result([], [], [], len(new))
    before = {e["model_name"]: e for e in old.entries}
    after = {e["model_name"]: e for e in new.entries}
    added = [after[name] for name in sorted(after.keys() - before.keys())]
    removed = [before[name] for name in sorted(before.keys() - after.keys())]
    changed = []
    unchanged = 0
    for name in sorted(before.keys() & after.keys()):
        changes = entry_changes(before[name], after[name])
        if changes:
            changed.append({"model_name": name, "changes": changes})
        else:
            unchanged += 1
    return _result(added, removed, changed, unchanged)


def entry_changes(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """Each field whose value differs, ``{"field", "before", "after"}``, by field name."""
    if before == after:
        return []
    changes = []
    for field in sorted((before.keys() | after.keys()) - IMPLIED):
        a, b = before.get(field), after.get(field)
        if a != b:
            changes.append({"field": field, "before": a, "after": b})
    return changes


def _result(added: list, removed: list, changed: list, unchanged: int) -> dict[str, Any]:
    return {
        "added": added,
        "removed": removed,
        "changed": changed,
        "counts": {
            "added": len(added),
            "removed": len(removed),
            "changed": len(changed),
            "unchanged": unchanged,
        },
    }
