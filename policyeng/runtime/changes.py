"""Why a long-running resolver's pick for a policy changed: one reason per change.

The reasons are those of a lock drift (``removed``, ``no-endpoint``, ``fails``,
``outranked``, ``tie-break``, ``fallback``), plus the two a running service
adds: ``breaker`` (a circuit breaker opened or closed) and ``resolved`` (the
policy had no model and now has one).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from ..catalog.model import Catalog
from ..engine import Policy


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

    def describe(self) -> str:
        """One line for a log: ``policy 'chat': m1 -> m2 (removed)``."""
        def show(model: str | None, via: str | None) -> str:
            if model is None:
                return "(no model)"
            return f"{model} via {via}" if via else model

        return (f"policy {self.name!r}: {show(self.old, self.old_via)} -> "
                f"{show(self.new, self.new_via)} ({self.reason})")


def change_reason(old: Pick | None, new: Pick | None, *, catalog: Catalog,
                  policy_for: Callable[[str | None], Policy | None],
                  open_now: Collection[str], open_before: Collection[str]) -> str:
    """The one reason ``old`` gave way to ``new`` in ``catalog``.

    ``policy_for(via)`` is the compiled policy that picked a model (``via``
    None: the policy itself). Checked in this order: the old model is gone,
    lost its endpoint, fails the policy now, is skipped by its open breaker; a
    breaker closed on the new model; the policy matched nothing and a
    fallback resolved; another model ranks ahead (or ties and wins on name).
    """
    if old is None:
        return "resolved"
    entry = catalog.get(old.model_name)
    if entry is None:
        return "removed"
    if "endpoint" not in entry:
        return "no-endpoint"
    policy = policy_for(old.via)
    if policy is not None and not policy.matches(entry):
        return "fails"
    if old.model_name in open_now:
        return "breaker"
    if new is None:
        return "fails"
    if new.model_name in open_before or old.degraded != new.degraded:
        return "breaker"
    if new.via != old.via:
        return "fallback"
    new_entry = catalog.get(new.model_name)
    if policy is not None and new_entry is not None and same_keys(policy, entry, new_entry):
        return "tie-break"
    return "outranked"


def same_keys(policy: Policy, one: dict[str, Any], other: dict[str, Any]) -> bool:
    """Whether two entries tie on every ranking key (``model_name`` then decides)."""
    return all(key(one) == key(other) for key in policy.key_values)
