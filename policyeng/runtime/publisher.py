"""Change events: each policy's pick watched across states, every change reported once.

A service wants to know when its model moves (to log it, to warm a connection,
to page someone), and why. After every change of state (a refresh, a breaker
opening or closing, the catalog going stale) the watched picks are worked out
again and compared with the last ones; each difference becomes one ``Change``
(its reason from ``runtime.changes``), logged on the ``policyeng`` logger and
given to the ``on_change`` callbacks. One lock keeps the comparisons and the
callbacks in order; ``select`` never takes it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from ..catalog.model import Catalog
from ..engine import Selection
from ..errors import CatalogError, NoMatch, PolicyError
from .changes import Change, Pick, change_reason
from .picks import Picker, State, pick_of

log = logging.getLogger("policyeng")

#: Policy expressions watched for changes (each change of state recomputes every watched
#: pick); policy names always are.
WATCHED_EXPRESSIONS = 64


class PickPublisher:
    """The watched picks, the last published state, and the ``on_change`` callbacks.

    ``current_state`` gives the resolver's state at the moment of publishing
    (read under the lock, so the latest one is what gets published);
    ``picker`` works out a pick the state has not remembered yet.
    """

    def __init__(self, picker: Picker, current_state: Callable[[], State | None]) -> None:
        self._picker = picker
        self._current_state = current_state
        self._callbacks: list[Callable[[Change], Any]] = []
        #: the last pick of each watched policy (None: it had no model)
        self.picks: dict[str, Pick | None] = {}
        self._watched_expressions = 0
        #: the catalog and open breakers the picks were last published against
        self.published: tuple[Catalog, frozenset[str]] | None = None
        self.make_locks()

    def make_locks(self) -> None:
        """Fresh locks (at start, and in a forked child, where the parent's may be held)."""
        self._lock = threading.RLock()  # computing picks and firing changes, in order
        self._in_callback = threading.local()

    @property
    def in_callback(self) -> bool:
        """Whether this thread is running an ``on_change`` callback right now."""
        return getattr(self._in_callback, "active", False)

    def add(self, callback: Callable[[Change], Any]) -> None:
        """Call ``callback(change)`` on each change from now on."""
        self._callbacks.append(callback)

    def watch(self, name: str, selection: Selection) -> None:
        """Watch a policy expression ``select`` just answered (up to ``WATCHED_EXPRESSIONS``)."""
        if name not in self.picks and self._watched_expressions < WATCHED_EXPRESSIONS:
            self._watched_expressions += 1
            self.picks.setdefault(name, pick_of(selection))

    def publish(self, silent: Iterable[str] = (), only: frozenset[str] | None = None) -> None:
        """Recompute the watched picks against the current state; report each change once.

        ``only``: just the picks that are one of these models (breakers opened on
        them: no other pick can change).
        """
        silent = set(silent)
        changes: list[Change] = []
        with self._lock:
            state = self._current_state()
            if state is None:
                return
            before = self.published
            for name, old in list(self.picks.items()):
                if only is not None and (old is None or old.model_name not in only):
                    continue
                try:
                    new = pick_of(self._select_quietly(state, name))
                except (NoMatch, CatalogError, PolicyError):
                    new = None
                self.picks[name] = new
                if (
                    name in silent
                    or _model(old) == _model(new)
                    or (
                        old is not None
                        and new is not None
                        and old.via != new.via
                        and old.model_name == new.model_name
                    )
                ):
                    continue
                reason, detail = change_reason(
                    old,
                    new,
                    chain=self._picker.named_chain(name),
                    catalog=state.catalog,
                    old_catalog=before[0] if before else None,
                    open_now=state.open,
                    open_before=before[1] if before else frozenset(),
                )
                changes.append(
                    Change(
                        name,
                        _model(old),
                        _model(new),
                        reason,
                        old.via if old else None,
                        new.via if new else None,
                        detail,
                    )
                )
            self.published = (state.catalog, state.open)
            for change in changes:
                log.info("pick changed: %s", change.describe())
                self._fire(change)

    def _select_quietly(self, state: State, name: str) -> Selection:
        hit = state.memo.get(name)
        return hit if hit is not None else self._picker.select(state, name, self.watch)

    def _fire(self, change: Change) -> None:
        self._in_callback.active = True
        try:
            for callback in list(self._callbacks):
                try:
                    callback(change)
                except Exception:
                    log.exception(
                        "an on_change callback raised (ignored) for %s", change.describe()
                    )
        finally:
            self._in_callback.active = False


def _model(pick: Pick | None) -> str | None:
    return pick.model_name if pick is not None else None
