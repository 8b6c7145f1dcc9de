"""Why a long-running resolver's pick for a policy changed: one reason per change.

The catalog's part is the drift classifier of ``policyeng.diagnose`` (the
one ``check --locked`` and ``diff`` use): ``removed``, ``fails``,
``no-endpoint``, ``fallback``, ``outranked``, ``tie-break``. A running
service adds two: ``breaker`` (a circuit breaker opened on the old model, or
closed on the new one) and ``resolved`` (the policy had no model and now has
one).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from ..catalog.model import Catalog
from ..diagnose import classify_drift, resolution
from ..engine import Policy
from ..text import visible


@dataclass(frozen=True)
class Pick:
    """What a policy resolved to at one moment (``via``: the fallback that resolved)."""

    model_name: str
    via: str | None = None
    degraded: bool = False


@dataclass(frozen=True)
class Change:
    """A policy's pick changed: ``old`` and ``new`` are model names (None: no model)."""

    name: str
    old: str | None
    new: str | None
    reason: str
    old_via: str | None = None
    new_via: str | None = None
    #: the reason in words (``b ranks ahead on output_per_mtok: 2 against 5 for a``), if any
    detail: str | None = None

    def describe(self) -> str:
        """One line for a log: ``policy 'chat': m1 -> m2 (removed)``."""

        def show(model: str | None, via: str | None) -> str:
            if model is None:
                return "(no model)"
            return f"{model} via {via}" if via else model

        why = f"{self.reason}: {self.detail}" if self.detail else self.reason
        return visible(
            f"policy {self.name!r}: {show(self.old, self.old_via)} -> "
            f"{show(self.new, self.new_via)} ({why})"
        )


def change_reason(
    old: Pick | None,
    new: Pick | None,
    *,
    chain: list[tuple[str, Policy]],
    catalog: Catalog,
    old_catalog: Catalog | None,
    open_now: Collection[str],
    open_before: Collection[str],
) -> tuple[str, str | None]:
    """The one reason ``old`` gave way to ``new`` in ``catalog``, and a sentence saying it.

    ``chain`` is the policy and its fallbacks, ``[(name, compiled), ...]``.
    The old model gone, failing or without an endpoint comes first; then a
    breaker that opened on it or closed on the new model; then what the
    catalog changed (a fallback took over, another model ranks ahead).
    """
    if old is None:
        return "resolved", None
    drift = classify_drift(
        _as_locked(old, chain, old_catalog), chain, catalog, old_catalog=old_catalog
    )
    if drift is not None and drift["reason"] in ("removed", "fails", "no-endpoint"):
        return drift["reason"], drift["text"]
    breaker = old.model_name in open_now or (
        new is not None and (new.model_name in open_before or new.degraded != old.degraded)
    )
    if breaker or drift is None:
        return "breaker", None
    return drift["reason"], drift["text"]


def _as_locked(
    old: Pick, chain: list[tuple[str, Policy]], old_catalog: Catalog | None
) -> dict[str, Any]:
    """The old pick as the classifier takes it: with its values then, when they are known."""
    if old_catalog is not None:
        then = resolution(chain, old_catalog)
        if then is not None and then["model_name"] == old.model_name and then.get("via") == old.via:
            return then
    return {"model_name": old.model_name, "endpoint": None, "via": old.via}
