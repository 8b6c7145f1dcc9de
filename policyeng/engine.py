"""Compiled policies: filter, rank and select over a catalog.

``compile`` parses, checks and generates code once per policy text (cached),
so a deployment or a router can call ``policy.select(catalog)`` on every
refresh or request at the cost of one list comprehension and one ``min``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from functools import cached_property, lru_cache
from typing import Any

from .catalog.model import Catalog
from .catalog.sources import load_catalog
from .errors import NoMatch, PolicyError
from .language import ast as s
from .language.checker import check, uses_live
from .language.codegen import Compiled, compile_condition, compile_policy, compile_value
from .language.parser import parse

CatalogLike = Catalog | Iterable[dict[str, Any]] | str | None


class Policy:
    """A checked, compiled policy; reusable and safe to share between threads."""

    def __init__(self, text: str, tree: s.Policy, key_types: tuple[str, ...]) -> None:
        self.text = text
        self.tree = tree
        self.key_types = key_types
        self.uses_live = uses_live(tree)
        self._code: Compiled = compile_policy(tree, key_types)
        #: The ranking key of an entry: the smaller, the better (``min`` over it picks).
        self.sort_key = self._code.sort_key

    def __repr__(self) -> str:
        return f"policyeng.compile({self.text!r})"

    def matches(self, entry: dict[str, Any]) -> bool:
        """Whether one (catalog-derived) entry passes the filter."""
        return self._code.matches(entry)

    def filter(self, catalog: CatalogLike = None) -> list[dict[str, Any]]:
        """The entries that pass the filter, in catalog order."""
        return self._code.filter(self._entries(as_catalog(catalog)))

    def rank(self, catalog: CatalogLike = None) -> list[dict[str, Any]]:
        """The entries that pass, best first (missing keys last, ``model_name`` breaks ties)."""
        return sorted(self.filter(catalog), key=self._code.sort_key)

    def select(self, catalog: CatalogLike = None, *, name: str | None = None) -> Selection:
        """The best entry that has an endpoint; ``NoMatch`` says which clause emptied the set."""
        catalog = as_catalog(catalog)
        pickable = [e for e in self._code.filter(self._entries(catalog)) if "endpoint" in e]
        if not pickable:
            raise self.no_match(catalog, name=name)
        best = min(pickable, key=self._code.sort_key)
        return Selection(best, self, catalog, policy=name or self.text)

    def explain(self, catalog: CatalogLike = None, model: str | None = None) -> dict[str, Any]:
        """Why this policy picks what it picks, as plain data (what ``explain --json`` prints).

        The funnel (per top-level clause: entered, passed, dropped, a few
        dropped names; sub-trees under ``or``/``not``), the ranked candidates
        with their key values, the pick, and with ``model`` why that model was
        or was not picked. See ``policyeng.explain`` for the exact shape.
        """
        from .explain import explain

        return explain(self, as_catalog(catalog), model)

    def no_match(self, catalog: Catalog, *, name: str | None = None) -> NoMatch:
        """The error for an empty result, with how many models each top-level clause dropped."""
        from .diagnose import no_match

        return no_match(self, catalog, name=name)

    @cached_property
    def key_values(self) -> list:
        """One function per ranking key giving its value for an entry (None when missing)."""
        return [compile_value(key.expr) for key in self.tree.order_by]

    @cached_property
    def clause_tests(self) -> list:
        """One compiled predicate per top-level clause (compiled on first need, then kept)."""
        return [compile_condition(node) for node in s.conjuncts(self.tree)]

    def _entries(self, catalog: Catalog) -> list[dict[str, Any]]:
        if self.uses_live and not catalog.live_known:
            raise PolicyError(
                "this policy uses `live`, but the catalog was loaded without the live list",
                kind="live",
                hint="pass --live (or load_catalog(..., live=True)) with FLEXAI_API_KEY set",
            )
        return catalog.entries


class Selection:
    """The answer to a policy: one model, its endpoint, and how it was reached.

    A plain class rather than a dataclass, which would import ``dataclasses``
    (and ``inspect`` behind it) on every ``policyeng select``.
    """

    def __init__(
        self,
        entry: dict[str, Any],
        compiled: Policy,
        catalog_ref: Catalog,
        policy: str = "",
        via: str | None = None,
        stale: bool = False,
        degraded: bool = False,
    ) -> None:
        self.entry = entry
        self.compiled = compiled
        self.catalog_ref = catalog_ref
        self.policy = policy
        self.via = via
        #: The catalog could not be confirmed at its last refresh (a long-running ``Resolver``).
        self.stale = stale
        #: Every candidate's circuit breaker was open: this is the best one anyway (``Resolver``).
        self.degraded = degraded

    def _fields(self) -> tuple:
        return (
            self.entry,
            self.compiled,
            self.catalog_ref,
            self.policy,
            self.via,
            self.stale,
            self.degraded,
        )

    def __repr__(self) -> str:
        return (
            f"Selection(entry={self.entry!r}, policy={self.policy!r}, via={self.via!r}, "
            f"stale={self.stale!r}, degraded={self.degraded!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Selection):
            return NotImplemented
        return self._fields() == other._fields()

    __hash__ = None  # type: ignore[assignment]

    @property
    def model_name(self) -> str:
        return self.entry["model_name"]

    @property
    def endpoint(self) -> str:
        return self.entry["endpoint"]

    @property
    def category(self) -> str | None:
        return self.entry.get("category")

    @property
    def catalog(self) -> dict[str, Any]:
        """Where the catalog came from: source, sha256, fetched_at, stale.

        ``stale`` is the catalog's own flag (a fall-back copy) or the answering
        resolver's (its last refresh failed), so every consumer reads one value.
        """
        info = self.catalog_ref.info()
        return {**info, "stale": bool(self.stale or info["stale"])}

    @property
    def base_url(self) -> str:
        """The ``/v1`` root an OpenAI-compatible SDK takes (``OpenAI(base_url=...)``)."""
        return service_root(self.catalog_ref.source) + "/v1"

    @property
    def url(self) -> str:
        """The full URL to call: the catalog's host (the provider's for builtin and files)."""
        return service_root(self.catalog_ref.source) + self.endpoint

    @property
    def catalog_age(self) -> float | None:
        """Seconds since the catalog was fetched (None when its source gives no time)."""
        from .catalog.times import age_of

        return age_of(self.catalog_ref.fetched_at) if self.catalog_ref.fetched_at else None

    @cached_property
    def candidates(self) -> list[dict[str, Any]]:
        """Every entry that passed, best first (including ones without an endpoint)."""
        return self.compiled.rank(self.catalog_ref)

    def to_dict(self, top: int | None = None) -> dict[str, Any]:
        """The ``select --json`` object (docs/cli.md)."""
        candidates = self.candidates if top is None else self.candidates[:top]
        return {
            "model_name": self.model_name,
            "endpoint": self.endpoint,
            "category": self.category,
            "policy": self.policy,
            "via": self.via,
            "candidates": candidates,
            "catalog": self.catalog,
        }


def service_root(source: str) -> str:
    """``scheme://host[:port]`` of a catalog URL; the provider's for builtin, files and memory.

    Endpoints are absolute paths (``/v1/chat/completions``) on the host that
    serves the catalog, so a catalog at ``https://h:8443/api/models`` is called
    at ``https://h:8443/v1/...``.
    """
    from .catalog.http import origin_url
    from .catalog.sources import DEFAULT_URL, is_url

    return origin_url(source if is_url(source) else DEFAULT_URL)


def compile(text: str) -> Policy:
    """Parse, check and compile a policy; cached by text."""
    if not isinstance(text, str):
        raise PolicyError(f"a policy is text, not {type(text).__name__}", kind="type")
    return _compile_cached(text)


@lru_cache(maxsize=512)
def _compile_cached(text: str) -> Policy:
    return compile_uncached(text)


def compile_uncached(text: str) -> Policy:
    """``compile`` without the cache (for benchmarks and tests of the cache itself)."""
    tree = parse(text)
    return Policy(text, tree, check(tree, text))


def as_catalog(catalog: CatalogLike) -> Catalog:
    """Accept a Catalog, a source name, None (the default source) or raw entries."""
    if isinstance(catalog, Catalog):
        return catalog
    if catalog is None:
        return default_catalog()
    if isinstance(catalog, (str, os.PathLike)):
        return load_catalog(catalog)
    if isinstance(catalog, (list, tuple)):
        return Catalog.from_entries(catalog)
    hint = "; for one entry pass [entry]" if isinstance(catalog, dict) else ""
    raise TypeError(
        "a catalog is a Catalog, a source (builtin, a path, a URL) or a list of entries, "
        f"not {type(catalog).__name__}{hint}"
    )


def default_catalog() -> Catalog:
    """The catalog used when none is named: the default chain (live URL, cache, builtin)."""
    return load_catalog()


def select(policy: str | Policy, catalog: CatalogLike = None) -> Selection:
    """Compile (cached) and select in one call: ``select("supports chat and healthy")``."""
    compiled = policy if isinstance(policy, Policy) else compile(policy)
    return compiled.select(catalog)
