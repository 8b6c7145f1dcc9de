"""Which model a policy resolves to over one state of a running resolver.

Pure given its inputs: the policy files (their fallback chains), the lock's
picks, and a ``State`` (catalog, open breakers, stale flag). No clock, no
lock, no I/O: a ``State`` is replaced as a whole whenever any of it changes,
so each one remembers its answers (``memo``, ``no_match``) for as long as it
is current.

The order, and why:

- A locked pick is kept (sticky) while it is in the catalog, passes its
  policy, has an endpoint and its breaker is closed: a lock exists so a
  deployment does not move by itself.
- Otherwise the chain (the policy, then its fallbacks) is walked and the
  first step with a model whose breaker is closed wins.
- When every candidate's breaker is open, the best one comes back with
  ``degraded=True``: a failing model beats none.
- When nothing matches at all, ``NoMatch`` names every step tried.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..catalog.model import Catalog
from ..engine import Policy, Selection, compile
from ..errors import CatalogError, NoMatch, PolicyError
from .changes import Pick

#: Distinct policy expressions remembered; policy names always are.
EXPRESSION_LIMIT = 1024


@dataclass
class State:
    """Everything ``select`` reads, replaced as a whole whenever any of it changes."""

    catalog: Catalog
    generation: int
    stale: bool
    open: frozenset[str]
    #: monotonic time at which this state must be looked at again (a breaker closes, or
    #: ``max_stale`` runs out)
    expires: float
    failed: CatalogError | None = None
    memo: dict[str, Selection] = field(default_factory=dict)
    no_match: dict[str, NoMatch] = field(default_factory=dict)


class Picker:
    """Resolves policy names and expressions over a ``State``, remembering the answers in it.

    ``book``: the ``PolicyBook`` of the policy files (None: expressions only).
    ``locked``: the lock's picks by policy name (None: no lock).
    """

    def __init__(self, book: Any, locked: dict[str, Pick] | None) -> None:
        self._book = book
        self._locked = locked

    def select(
        self,
        state: State,
        name: str,
        remembered: Callable[[str, Selection], None] | None = None,
    ) -> Selection:
        """The answer for ``name`` over ``state``, worked out and remembered when it can be.

        ``remembered`` is told of an answer the state remembers (so the resolver
        can watch that policy for changes).
        """
        if not isinstance(name, str):
            raise TypeError(
                f"select() takes a policy name or expression (str), not {type(name).__name__}"
            )
        if state.failed is not None:
            raise CatalogError(state.failed.message, source=state.failed.source)
        missed = state.no_match.get(name)
        if missed is not None:
            raise NoMatch(missed.message, funnel=missed.funnel, text=missed.text)
        try:
            selection = self._resolve(state, name)
        except NoMatch as exc:
            if self._rememberable(state, name):
                state.no_match[name] = exc
            raise
        if self._rememberable(state, name):
            state.memo[name] = selection
            if remembered is not None:
                remembered(name, selection)
        return selection

    def _rememberable(self, state: State, name: str) -> bool:
        return (self._book is not None and name in self._book) or len(state.memo) + len(
            state.no_match
        ) < EXPRESSION_LIMIT

    def _resolve(self, state: State, name: str) -> Selection:
        """Walk the policy's chain: the first candidate whose breaker is closed wins."""
        chain = self.chain(name)
        catalog, skip = state.catalog, state.open
        locked = self._locked.get(name) if self._locked else None
        if locked is not None:
            sticky = self._sticky(state, name, locked)
            if sticky is not None:
                return sticky
        first: tuple[dict[str, Any], Policy, str | None] | None = None
        for via, policy in chain:
            pickable = [e for e in policy.filter(catalog) if "endpoint" in e]
            if not pickable:
                continue
            usable = [e for e in pickable if e["model_name"] not in skip] if skip else pickable
            if usable:
                best = min(usable, key=policy.sort_key)
                return _selection(state, name, best, policy, via)
            if first is None:
                first = (min(pickable, key=policy.sort_key), policy, via)
        if first is not None:  # every candidate's breaker is open: a failing model beats none
            return _selection(state, name, *first, degraded=True)
        raise _no_match(state, name, chain)

    def _sticky(self, state: State, name: str, locked: Pick) -> Selection | None:
        """The locked model, while it is in the catalog, passes, has an endpoint and is not open."""
        entry = state.catalog.get(locked.model_name)
        policy = self._policy_for(name, locked.via)
        if (
            entry is None
            or policy is None
            or "endpoint" not in entry
            or locked.model_name in state.open
            or not policy.matches(entry)
        ):
            return None
        return _selection(state, name, entry, policy, locked.via)

    def chain(self, name: str) -> list[tuple[str | None, Policy]]:
        """(name, compiled) for a policy and each fallback; (None, compiled) for an expression."""
        book = self._book
        if book is not None and name in book:
            return [(current, book.policies[current].compiled) for current in book.chain(name)]
        try:
            return [(None, compile(name))]
        except PolicyError as exc:
            if book is not None and _looks_like_a_name(name):
                raise book._unknown(name) from None
            if book is None and exc.kind != "limit" and _looks_like_a_name(name):
                exc.hint = "; ".join(filter(None, [exc.hint, _NAMES_NEED_FILES]))
            raise

    def named_chain(self, name: str) -> list[tuple[str, Policy]]:
        """The chain with a name for every step (an expression is named by its text)."""
        return [(via or name, policy) for via, policy in self.chain(name)]

    def _policy_for(self, name: str, via: str | None) -> Policy | None:
        book = self._book
        if book is None or name not in book:
            try:
                return compile(name)
            except PolicyError:
                return None
        current = via or name
        if current not in book.chain(name):
            return None
        return book.policies[current].compiled


def pick_of(selection: Selection) -> Pick:
    """What a change event compares: the model, the fallback that gave it, degraded or not."""
    return Pick(selection.model_name, selection.via, selection.degraded)


def _selection(
    state: State,
    name: str,
    entry: dict[str, Any],
    policy: Policy,
    via: str | None,
    degraded: bool = False,
) -> Selection:
    return Selection(
        entry,
        policy,
        state.catalog,
        policy=name,
        via=via if via != name else None,
        stale=state.stale,
        degraded=degraded,
    )


def _no_match(state: State, name: str, chain: list[tuple[str | None, Policy]]) -> NoMatch:
    from ..policies.book import Attempt, chain_no_match

    tried = [
        Attempt(via or name, error=policy.no_match(state.catalog, name=via))
        for via, policy in chain
    ]
    return chain_no_match(name, tried)


_NAMES_NEED_FILES = (
    "if this is a policy name, names need policy files: "
    '`Resolver("policies/")`; without them the text is read as a policy'
)


def _looks_like_a_name(text: str) -> bool:
    import re

    return re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*", text) is not None
