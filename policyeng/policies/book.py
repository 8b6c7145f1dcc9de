"""Named policies loaded from files (``PolicyBook``), and how a name resolves.

``book.select(name)`` tries the policy, then its fallbacks in order, so a
deployment asks for ``"support-chat"`` and always learns which policy
answered (``via``).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..catalog.model import Catalog
from ..catalog.sources import load_catalog
from ..engine import CatalogLike, Selection, as_catalog
from ..errors import NoMatch, PolicyError, PolicyFileError
from ..text import did_you_mean, quoted, shown_source
from .parsing import NamedPolicy, load_file, raise_all, read_text_file

POLICY_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Attempt:
    """One policy tried while resolving a name: it gave a Selection or a NoMatch."""

    name: str
    selection: Selection | None = None
    error: NoMatch | None = None

    @property
    def resolved(self) -> bool:
        return self.selection is not None

    @property
    def no_match(self) -> NoMatch:
        """Why this policy resolved to nothing (only for an attempt that did not resolve)."""
        assert self.error is not None, f"policy {self.name!r} resolved"
        return self.error


class PolicyBook:
    """Named policies loaded from one or more files; ``select(name)`` follows fallbacks."""

    def __init__(
        self,
        policies: dict[str, NamedPolicy],
        files: tuple[str, ...] = (),
        paths: tuple[str, ...] = (),
    ) -> None:
        self.policies = policies
        self.files = files
        self.paths = paths or files

    def __repr__(self) -> str:
        return f"<PolicyBook {len(self.policies)} policies from {', '.join(self.files)}>"

    @property
    def names(self) -> list[str]:
        """Policy names in file order (files in the order they were loaded)."""
        return list(self.policies)

    def __len__(self) -> int:
        return len(self.policies)

    def __iter__(self) -> Iterator[NamedPolicy]:
        return iter(self.policies.values())

    def __contains__(self, name: object) -> bool:
        return name in self.policies

    def __getitem__(self, name: str) -> NamedPolicy:
        if not isinstance(name, str):
            raise TypeError(f"a policy name is a str, not {type(name).__name__}")
        policy = self.policies.get(name)
        if policy is None:
            raise self._unknown(name)
        return policy

    def _unknown(self, name: str) -> PolicyError:
        guess = did_you_mean(name, self.policies)
        hint = None if guess else "policies: " + ", ".join(self.policies)
        message = f"no policy named {quoted(name)}{guess}"
        return PolicyError(
            message, kind="unknown-policy", hint=hint, source=", ".join(self.paths) or "<policies>"
        )

    def chain(self, name: str) -> list[str]:
        """The names tried for ``name``: itself, then its fallbacks depth first, each once."""
        order: list[str] = []
        seen: set[str] = set()
        stack = [self[name].name]
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            order.append(current)
            stack.extend(reversed(self.policies[current].fallback))
        return order

    def attempts(
        self,
        name: str,
        catalog: CatalogLike = None,
        *,
        outcomes: dict[str, Selection | NoMatch] | None = None,
    ) -> list[Attempt]:
        """Try ``name`` and then its fallbacks until one resolves; every try, in order.

        The last attempt holds the Selection, unless nothing in the chain resolved.
        ``catalog=None``: ``$POLICYENG_CATALOG``, else the ``catalog:`` of the policy's
        file, else the default chain (as on the command line). ``outcomes`` keeps
        each policy's own result across calls on one catalog (``check_book``), so
        that resolving every policy of a long fallback chain stays linear.
        """
        resolved = self.catalog_for([name], catalog)
        outcomes = {} if outcomes is None else outcomes
        tried = []
        for current in self.chain(name):
            outcome = outcomes.get(current)
            if outcome is None:
                try:
                    outcome = self.policies[current].compiled.select(resolved, name=current)
                except NoMatch as exc:
                    outcome = exc
                outcomes[current] = outcome
            if isinstance(outcome, NoMatch):
                tried.append(Attempt(current, error=outcome))
                continue
            selection = copy.copy(outcome)  # shares the ranked candidates, once computed
            selection.policy = name
            selection.via = None if current == name else current
            tried.append(Attempt(current, selection=selection))
            break
        return tried

    def catalog_for(self, names: Iterable[str], catalog: CatalogLike = None) -> Catalog:
        """The catalog these policies resolve against when the caller names none.

        As on the command line: ``$POLICYENG_CATALOG``, else the one ``catalog:``
        their files name, else the default chain (live URL, cache, builtin).
        """
        if catalog is not None:
            return as_catalog(catalog)
        return load_catalog(default=named_catalog(self[name] for name in names))

    def explain(
        self, name: str, catalog: CatalogLike = None, model: str | None = None
    ) -> dict[str, Any]:
        """Why ``name`` resolves as it does, fallback chain included (``explain -f --json``)."""
        from ..explain import explain_named

        return explain_named(self, name, self.catalog_for([name], catalog), model)

    def select(
        self,
        name: str,
        catalog: CatalogLike = None,
        *,
        outcomes: dict[str, Selection | NoMatch] | None = None,
    ) -> Selection:
        """The model for policy ``name`` (``via`` names the fallback that resolved, if any).

        ``outcomes``: as for ``attempts``, when selecting many names of one book.
        """
        tried = self.attempts(name, catalog, outcomes=outcomes)
        if tried[-1].selection is not None:
            return tried[-1].selection
        raise chain_no_match(name, tried)


def chain_no_match(name: str, tried: list[Attempt]) -> NoMatch:
    """One NoMatch for a whole fallback chain: each policy's funnel, in order."""
    if len(tried) == 1:
        return tried[0].no_match
    chain = " -> ".join(a.name for a in tried)
    lines = [f"policy {name!r} and its fallbacks resolve to no model (tried {chain})"]
    for attempt in tried:
        lines.extend("  " + line for line in str(attempt.no_match).splitlines())
    return NoMatch("\n".join(lines), funnel=tried[0].no_match.funnel)


def load_policies(
    *paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
) -> PolicyBook:
    """Load policy files and directories (``*.yaml``, ``*.yml``) into one PolicyBook.

    ``load_policies("a.yaml", "dir/")`` and ``load_policies(["a.yaml", "dir/"])``
    are the same; anything else than paths is a ``TypeError``. A file named
    twice (directly, through its directory or a symlink) is loaded once.
    Every mistake in every file is reported at once (a ``PolicyFileError`` when
    there are several); a policy name defined in two files is one of them.
    """
    paths = _flatten_paths(paths)
    if not paths:
        raise PolicyError("no policy file given", kind="file")
    files: list[str] = []
    seen: set[str] = set()
    for path in paths:
        for file in policy_files(path):
            if os.path.realpath(file) not in seen:
                seen.add(os.path.realpath(file))
                files.append(file)
    errors: list[PolicyError] = []
    policies: dict[str, NamedPolicy] = {}
    for file in files:
        try:
            loaded = load_file(file)
        except PolicyFileError as exc:
            errors.extend(exc.errors)
            continue
        except PolicyError as exc:
            errors.append(exc)
            continue
        for name, policy in loaded.items():
            if name in policies:
                first = policies[name]
                errors.append(
                    PolicyError(
                        f"policy {name!r} is already defined in {first.file}:{first.line}:"
                        f"{first.column}",
                        kind="duplicate-policy",
                        text=read_text_file(file),
                        line=policy.line,
                        column=policy.column,
                        length=len(name),
                        source=file,
                        hint="policy names must be unique across the files loaded together",
                    )
                )
                continue
            policies[name] = policy
    raise_all(errors)
    return PolicyBook(policies, tuple(files), tuple(os.fspath(p) for p in paths))


def _flatten_paths(paths: tuple) -> tuple[str | os.PathLike[str], ...]:
    flat: list[str | os.PathLike[str]] = []
    for path in paths:
        many = not isinstance(path, (str, bytes, os.PathLike)) and isinstance(path, Iterable)
        for item in path if many else [path]:
            if not isinstance(item, (str, os.PathLike)):
                raise TypeError(
                    f"load_policies() takes paths (str or os.PathLike) or a list of "
                    f"them, not {type(item).__name__}"
                )
            flat.append(item)
    return tuple(flat)


def policy_files(path: str | os.PathLike[str]) -> list[str]:
    """A file as given, or a directory's ``*.yaml``/``*.yml`` files in name order."""
    text = os.fspath(path)
    p = Path(text)
    try:
        if p.is_dir():
            found = sorted(
                str(f) for f in p.iterdir() if f.suffix in POLICY_SUFFIXES and f.is_file()
            )
            if not found:
                raise PolicyError(
                    "no policy files (*.yaml, *.yml) in this directory", kind="file", source=text
                )
            return found
        if not p.exists():
            raise PolicyError("file not found", kind="file", source=text)
    except OSError as exc:
        raise PolicyError(f"cannot read: {exc.strerror}", kind="file", source=text) from None
    return [text]


def named_catalog(policies: Iterable[NamedPolicy]) -> str | None:
    """The one ``catalog:`` these policies' files name (None if none does)."""
    policies = list(policies)
    named = {p.catalog for p in policies if p.catalog}
    if len(named) > 1:
        shown = {f"{p.file}: {shown_source(p.catalog)}" for p in policies if p.catalog}
        files = "; ".join(sorted(shown))
        raise PolicyError(
            f"the policy files name different catalogs ({files}); pass --catalog", kind="file"
        )
    return named.pop() if named else None
