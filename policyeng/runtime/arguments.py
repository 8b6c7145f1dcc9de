"""The ``Resolver``'s constructor arguments, checked and read before anything starts.

A long-running service is configured once, often from environment variables
or a settings file: a wrong type or a zero interval should fail at
construction with a message naming the argument, not hours later in the
refresh thread.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable

from ..catalog.model import Catalog
from ..catalog.sources import DEFAULT_URL
from ..errors import PolicyError
from .changes import Pick

PolicyPaths = str | os.PathLike[str] | Iterable[str | os.PathLike[str]] | None


def seconds(name: str, value: object) -> float:
    """``value`` as a positive, finite number of seconds, or a ``ValueError`` naming ``name``."""
    if (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    ):
        return float(value)
    raise ValueError(f"{name} is a number of seconds greater than 0, not {value!r}")


def check_live(live: object) -> bool:
    if not isinstance(live, bool):
        raise TypeError(f"live is True or False, not {live!r}")
    return live


def check_catalog(catalog: object) -> None:
    """A source (``builtin``, a path, a URL), a ``Catalog`` or None, else a ``TypeError``."""
    if not (catalog is None or isinstance(catalog, (str, os.PathLike, Catalog))):
        raise TypeError(
            "catalog is a source (builtin, a path, a URL), a Catalog or None, "
            f"not {type(catalog).__name__}"
        )


def load_book(paths: PolicyPaths):
    """The ``PolicyBook`` of the policy files or directories (None: expressions only)."""
    if paths is None:
        return None
    from ..policies.book import load_policies

    return load_policies(paths)


def chain_source(catalog: str | os.PathLike[str] | None, book) -> str:
    """The source a refresh reads: the one given, else ``POLICYENG_CATALOG``, the policy
    files' own catalog, or the default URL."""
    if catalog is not None:
        return os.fspath(catalog)
    from ..policies.book import named_catalog

    default = named_catalog(book) if book is not None else None
    return os.environ.get("POLICYENG_CATALOG") or default or DEFAULT_URL


def read_locked(lock: str | os.PathLike[str] | None, book) -> dict[str, Pick] | None:
    """The lock's pick for each policy of ``book`` (None: no lock)."""
    if lock is None:
        return None
    if not isinstance(lock, (str, os.PathLike)):
        raise TypeError(f"lock is a path to a policies.lock, not {type(lock).__name__}")
    from ..policies.lock import read_lock

    data = read_lock(lock)
    if book is None:
        raise PolicyError(
            "a lock names policies of policy files; pass them too (Resolver(paths, lock=...))",
            kind="lock",
            source=os.fspath(lock),
        )
    return {
        name: Pick(
            pick["model_name"], pick.get("via") if isinstance(pick.get("via"), str) else None
        )
        for name, pick in data["policies"].items()
        if name in book
    }
