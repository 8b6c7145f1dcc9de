"""Started resolvers survive ``os.fork()``: the child gets fresh locks and a refresh thread.

A pre-forking server (gunicorn with ``--preload``, for one) builds its app,
and so its resolver, before forking its workers. A forked child has only the
thread that forked: without this its catalog would never be refreshed again,
and a lock the refresh thread held at the fork would stay held forever.
"""

from __future__ import annotations

import os
import weakref
from typing import Protocol


class Restartable(Protocol):
    def _after_fork_in_child(self) -> None: ...


#: Started resolvers, restarted in a forked child.
_LIVE: weakref.WeakSet[Restartable] = weakref.WeakSet()


def restart_after_fork(resolver: Restartable) -> None:
    """Restart ``resolver`` in every forked child from now on (while it exists)."""
    _LIVE.add(resolver)


def forget(resolver: Restartable) -> None:
    """No restart for ``resolver`` any more (it was closed)."""
    _LIVE.discard(resolver)


def _restart_in_child() -> None:
    for resolver in list(_LIVE):
        resolver._after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_restart_in_child)
