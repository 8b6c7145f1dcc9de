"""Policy files (DESIGN §3): named policies in YAML, their fallbacks and expectations.

A deployment keeps ``policies/*.yaml`` beside its config and asks for a policy
by name; CI runs ``policyeng check`` on the same files. Everything that can be
wrong with a file is found when it loads, all at once, each mistake with the
file, line and column: YAML syntax, duplicate keys, the schema
(``schemas/policy.schema.json``), every policy expression (compiled here, the
caret placed in the file), unknown fallbacks and fallback cycles.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from . import syntax
from .catalog import Catalog, is_url, load_catalog
from .engine import CatalogLike, Policy, Selection, as_catalog, compile
from .errors import NoMatch, PolicyError, PolicyFileError
from .yamldoc import YamlDocument, format_path, load_yaml

POLICY_SUFFIXES = (".yaml", ".yml")
_TYPE_WORDS = {"string": "text", "array": "a list", "object": "a mapping",
               "integer": "a whole number", "number": "a number", "boolean": "true or false",
               "null": "null"}


@dataclass(frozen=True)
class NamedPolicy:
    """One policy of a file: its compiled expression and what surrounds it."""

    name: str
    where: str
    order_by: tuple[str, ...]
    fallback: tuple[str, ...]
    expect: dict[str, Any]
    description: str | None
    compiled: Policy = field(repr=False)
    file: str = "<memory>"
    line: int = 1
    column: int = 1
    catalog: str | None = None

    @property
    def expression(self) -> Policy:
        """The compiled ``where`` + ``order by`` (an ``engine.Policy``)."""
        return self.compiled

    @property
    def text(self) -> str:
        return self.compiled.text


@dataclass(frozen=True)
class Attempt:
    """One policy tried while resolving a name: it gave a Selection or a NoMatch."""

    name: str
    selection: Selection | None = None
    error: NoMatch | None = None

    @property
    def resolved(self) -> bool:
        return self.selection is not None


class PolicyBook:
    """Named policies loaded from one or more files; ``select(name)`` follows fallbacks."""

    def __init__(self, policies: dict[str, NamedPolicy], files: tuple[str, ...] = (),
                 paths: tuple[str, ...] = ()) -> None:
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
        close = difflib.get_close_matches(name, self.policies, n=1, cutoff=0.6)
        message = f"no policy named {name!r}"
        if close:
            message += f"; did you mean {close[0]!r}?"
        hint = None if close else "policies: " + ", ".join(self.policies)
        return PolicyError(message, kind="unknown-policy", hint=hint,
                           source=", ".join(self.paths) or "<policies>")

    def chain(self, name: str) -> list[str]:
        """The names tried for ``name``: itself, then its fallbacks depth first, each once."""
        order: list[str] = []
        stack = [self[name].name]
        while stack:
            current = stack.pop()
            if current in order:
                continue
            order.append(current)
            stack.extend(reversed(self.policies[current].fallback))
        return order

    def attempts(self, name: str, catalog: CatalogLike = None) -> list[Attempt]:
        """Try ``name`` and then its fallbacks until one resolves; every try, in order.

        The last attempt holds the Selection, unless nothing in the chain resolved.
        ``catalog=None``: ``$POLICYENG_CATALOG``, else the ``catalog:`` of the policy's
        file, else the default chain (as on the command line).
        """
        resolved = self.catalog_for([name], catalog)
        tried = []
        for current in self.chain(name):
            try:
                selection = self.policies[current].compiled.select(resolved, name=current)
            except NoMatch as exc:
                tried.append(Attempt(current, error=exc))
                continue
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

    def explain(self, name: str, catalog: CatalogLike = None,
                model: str | None = None) -> dict[str, Any]:
        """Why ``name`` resolves as it does, fallback chain included (``explain -f --json``)."""
        from .explain import explain_named

        return explain_named(self, name, self.catalog_for([name], catalog), model)

    def select(self, name: str, catalog: CatalogLike = None) -> Selection:
        """The model for policy ``name`` (``via`` names the fallback that resolved, if any)."""
        tried = self.attempts(name, catalog)
        if tried[-1].selection is not None:
            return tried[-1].selection
        raise chain_no_match(name, tried)


def chain_no_match(name: str, tried: list[Attempt]) -> NoMatch:
    """One NoMatch for a whole fallback chain: each policy's funnel, in order."""
    if len(tried) == 1:
        return tried[0].error
    chain = " -> ".join(a.name for a in tried)
    lines = [f"policy {name!r} and its fallbacks resolve to no model (tried {chain})"]
    for attempt in tried:
        lines.extend("  " + line for line in str(attempt.error).splitlines())
    return NoMatch("\n".join(lines), funnel=tried[0].error.funnel)


# --- loading ---------------------------------------------------------------------------


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
                errors.append(PolicyError(
                    f"policy {name!r} is already defined in {first.file}:{first.line}:"
                    f"{first.column}", kind="duplicate-policy",
                    text=_read(file), line=policy.line, column=policy.column,
                    length=len(name), source=file,
                    hint="policy names must be unique across the files loaded together",
                ))
                continue
            policies[name] = policy
    _raise(errors)
    return PolicyBook(policies, tuple(files), tuple(os.fspath(p) for p in paths))


def _flatten_paths(paths: tuple) -> tuple[str | os.PathLike[str], ...]:
    flat: list[str | os.PathLike[str]] = []
    for path in paths:
        many = not isinstance(path, (str, bytes, os.PathLike)) and isinstance(path, Iterable)
        for item in path if many else [path]:
            if not isinstance(item, (str, os.PathLike)):
                raise TypeError(f"load_policies() takes paths (str or os.PathLike) or a list of "
                                f"them, not {type(item).__name__}")
            flat.append(item)
    return tuple(flat)


def policy_files(path: str | os.PathLike[str]) -> list[str]:
    """A file as given, or a directory's ``*.yaml``/``*.yml`` files in name order."""
    text = os.fspath(path)
    p = Path(text)
    try:
        if p.is_dir():
            found = sorted(str(f) for f in p.iterdir()
                           if f.suffix in POLICY_SUFFIXES and f.is_file())
            if not found:
                raise PolicyError("no policy files (*.yaml, *.yml) in this directory",
                                  kind="file", source=text)
            return found
        if not p.exists():
            raise PolicyError("file not found", kind="file", source=text)
        if not p.is_file():  # a FIFO or a device would block or never end
            raise PolicyError("not a regular file", kind="file", source=text)
    except OSError as exc:
        raise PolicyError(f"cannot read: {exc.strerror}", kind="file", source=text) from None
    return [text]


def _read(file: str) -> str:
    try:
        return Path(file).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyError(f"not UTF-8 text (byte {exc.start})", kind="file", source=file) from None
    except OSError as exc:
        raise PolicyError(f"cannot read: {exc.strerror}", kind="file", source=file) from None


def _raise(errors: list[PolicyError]) -> None:
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise PolicyFileError(errors)


def load_file(file: str) -> dict[str, NamedPolicy]:
    """One policy file -> its policies by name, in file order."""
    return parse_policy_file(_read(file), file)


def parse_policy_file(text: str, source: str = "<policies>") -> dict[str, NamedPolicy]:
    """Policy-file text -> policies; the stages stop at the first stage that finds mistakes."""
    document = load_yaml(text, source)
    _raise(schema_errors(document))
    data = document.data
    policies: dict[str, NamedPolicy] = {}
    errors: list[PolicyError] = []
    for name, spec in data["policies"].items():
        try:
            policies[name] = _named_policy(document, name, spec,
                                           catalog_source(data.get("catalog"), source))
        except PolicyError as exc:
            errors.append(exc)
    _raise(errors)
    _raise(fallback_errors(document, policies))
    return policies


def catalog_source(value: str | None, file: str) -> str | None:
    """A file's ``catalog:``; a relative JSON path is relative to the policy file, not the cwd."""
    if value is None or value == "builtin" or is_url(value):
        return value
    if os.path.isabs(value) or file.startswith("<"):
        return value
    return os.path.join(os.path.dirname(file), value)


def _as_tuple(value: str | list[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _named_policy(document: YamlDocument, name: str, spec: dict[str, Any],
                  catalog: str | None) -> NamedPolicy:
    base = ("policies", name)
    order_by = _as_tuple(spec.get("order_by"))
    compiled = _compile_in_file(document, base, spec["where"], order_by,
                                isinstance(spec.get("order_by"), str))
    return NamedPolicy(
        name=name,
        where=spec["where"],
        order_by=order_by,
        fallback=_as_tuple(spec.get("fallback")),
        expect=dict(spec.get("expect") or {}),
        description=spec.get("description"),
        compiled=compiled,
        file=document.source,
        line=document.line_of(base),
        column=document.column_of(base),
        catalog=catalog,
    )


def policy_text(where: str, order_by: tuple[str, ...]) -> str:
    """The policy a file entry stands for: ``where`` + `` order by `` + the keys."""
    if not order_by:
        return where
    # A `#` comment in a block-scalar `where` would swallow a ranking on the same line.
    glue = "\norder by " if "#" in where else " order by "
    return where + glue + ", ".join(order_by)


def _compile_in_file(document: YamlDocument, base: tuple, where: str,
                     order_by: tuple[str, ...], order_by_is_text: bool) -> Policy:
    text = policy_text(where, order_by)
    try:
        return compile(text)
    except PolicyError as exc:
        raise _place(exc, document, base, where, order_by, order_by_is_text, text) from None


def _place(exc: PolicyError, document: YamlDocument, base: tuple, where: str,
           order_by: tuple[str, ...], order_by_is_text: bool, text: str) -> PolicyError:
    """Move an error in the compiled text to the scalar (and character) it came from."""
    segments: list[tuple[int, int, tuple]] = [(0, len(where), (*base, "where"))]
    position = len(text) - len(", ".join(order_by))
    for index, key in enumerate(order_by):
        path = (*base, "order_by") if order_by_is_text else (*base, "order_by", index)
        segments.append((position, position + len(key), path))
        position += len(key) + 2
    if exc.line is None or exc.column is None:
        line, column = document.scalar_place(segments[0][2], 0)
        return exc.placed(document.source, document.text, line, column, len(where.split("\n")[0]))
    offset = _offset(text, exc.line, exc.column)
    for number, (start, end, path) in enumerate(segments):
        if start <= offset <= end:
            break
        following = segments[number + 1][0] if number + 1 < len(segments) else None
        if following is not None and end < offset < following:
            if order_by and _has_own_order_by(where):
                return document.error(
                    "`where` has its own `order by` and `order_by` is given too; keep one",
                    (*base, "order_by"), kind="syntax", at_key=True)
            start, end, path = segments[number + 1]
            offset = start
            break
    line, column = document.scalar_place(path, offset - start)
    length = exc.length
    end_line, end_column = document.scalar_place(path, min(offset - start + length, end - start))
    if end_line == line and end_column > column:
        length = end_column - column
    return exc.placed(document.source, document.text, line, column, length)


def _has_own_order_by(where: str) -> bool:
    from .parser import parse

    try:
        return bool(parse(where).order_by)
    except PolicyError:
        return False


def _offset(text: str, line: int, column: int) -> int:
    starts = [0] + [m.end() for m in re.finditer("\n", text)]
    return starts[min(line, len(starts)) - 1] + column - 1


# --- schema ----------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _policy_validator():
    from jsonschema import Draft202012Validator

    from .catalog import load_schema

    return Draft202012Validator(load_schema("policy.schema.json"))


def schema_errors(document: YamlDocument) -> list[PolicyError]:
    """Every schema violation of the file, in file order, each at its key or value."""
    errors = []
    for error in _policy_validator().iter_errors(document.data):
        errors.extend(_schema_error(document, error))
    return sorted(errors, key=lambda e: (e.line or 0, e.column or 0))


def _schema_error(document: YamlDocument, error) -> list[PolicyError]:
    path = tuple(error.absolute_path)
    where = format_path(path)
    kind = error.validator
    instance = error.instance
    if kind == "additionalProperties":
        known = list(error.schema.get("properties", {}))
        out = []
        for key in instance:
            if key in known:
                continue
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
            message = f"{where}: unknown key '{key}'"
            message += f"; did you mean '{close[0]}'?" if close else ""
            hint = None if close else "allowed: " + ", ".join(known)
            out.append(document.error(message, (*path, key), kind="schema", at_key=True,
                                      hint=hint))
        return out
    if kind == "required":
        return [document.error(f"{where}: missing required key '{key}'", path, kind="schema",
                               at_key=True)
                for key in error.validator_value if key not in instance]
    if kind == "pattern" and path == ("policies",):  # propertyNames: the name is the instance
        name = instance
        return [document.error(
            f"policy name {name!r} may hold only letters, digits, '-' and '_' "
            "(and starts with a letter or digit)", (*path, name), kind="schema", at_key=True)]
    if kind == "type":
        wanted = error.validator_value
        wanted = [wanted] if isinstance(wanted, str) else wanted
        words = " or ".join(_TYPE_WORDS.get(w, w) for w in wanted)
        message = f"{where}: expected {words}, got {_describe(instance)}"
    elif kind == "const" and path == ("version",):
        message = f"version: this policyeng reads version {error.validator_value}, not {instance!r}"
    elif kind == "const":
        message = f"{where}: must be {error.validator_value!r}"
    elif kind == "enum":
        message = f"{where}: {instance!r} is not one of: " + ", ".join(error.validator_value)
    elif kind in ("minLength", "minItems", "minProperties"):
        message = f"{where}: must not be empty"
    elif kind == "uniqueItems":
        message = f"{where}: lists the same name twice"
    elif kind == "minimum":
        message = f"{where}: must be at least {error.validator_value}"
    else:
        message = f"{where}: {error.message}"
    return [document.error(message, path, kind="schema")]


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"{str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"text {value!r}"
    if isinstance(value, list):
        return "a list"
    return "a mapping"


# --- fallbacks -------------------------------------------------------------------------


def fallback_errors(document: YamlDocument, policies: dict[str, NamedPolicy]) -> list[PolicyError]:
    """Unknown fallback names and cycles, each reported once with the chain that reaches it."""
    errors: list[PolicyError] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for root in policies:
        if root in state:
            continue
        path = [root]
        state[root] = 1
        edges = [iter(enumerate(policies[root].fallback))]
        while edges:
            try:
                index, target = next(edges[-1])
            except StopIteration:
                state[path.pop()] = 2
                edges.pop()
                continue
            owner = path[-1]
            spot = ("policies", owner, "fallback", index)
            if spot not in document.values:  # `fallback: name`, not a list
                spot = spot[:-1]
            if target not in policies:
                close = difflib.get_close_matches(target, policies, n=1, cutoff=0.6)
                chain = " -> ".join([*path, target])
                message = (f"policy {owner!r} falls back to {target!r}, which is not a policy "
                           f"in this file (chain: {chain})")
                message += f"; did you mean {close[0]!r}?" if close else ""
                errors.append(document.error(message, spot, kind="fallback"))
            elif state.get(target) == 1:
                chain = " -> ".join([*path[path.index(target):], target])
                errors.append(document.error(f"fallback cycle: {chain}", spot, kind="fallback"))
            elif target not in state:
                state[target] = 1
                path.append(target)
                edges.append(iter(enumerate(policies[target].fallback)))
    return errors



# --- expectations and `check` ------------------------------------------------------------


def expectation_failures(expect: dict[str, Any], selection: Selection) -> list[str]:
    """Why the picked model breaks the policy's ``expect`` block (empty when it meets it)."""
    failures = []
    model = selection.model_name
    if "min_candidates" in expect:
        pickable = sum(1 for entry in selection.candidates if "endpoint" in entry)
        if pickable < expect["min_candidates"]:
            failures.append(f"expected at least {expect['min_candidates']} candidates, "
                            f"found {pickable}")
    if "endpoint" in expect and selection.endpoint != expect["endpoint"]:
        failures.append(f"expected endpoint {expect['endpoint']}, got {selection.endpoint} "
                        f"({model})")
    if "category" in expect:
        allowed = _as_tuple(expect["category"])
        if selection.category not in allowed:
            failures.append(f"expected category {' or '.join(allowed)}, got "
                            f"{selection.category} ({model})")
    if "model_name_in" in expect and model not in expect["model_name_in"]:
        failures.append(f"picked {model}, which is not in model_name_in "
                        f"[{', '.join(expect['model_name_in'])}]")
    if "max_output_per_mtok" in expect:
        limit = expect["max_output_per_mtok"]
        price = selection.entry.get("output_per_mtok")
        if price is None:
            failures.append(f"{model} has no output_per_mtok; max_output_per_mtok is {limit:g}")
        elif price > limit:
            failures.append(f"{model} costs {price:g} per million output tokens, above "
                            f"max_output_per_mtok {limit:g}")
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
        return {"model_name": self.selection.model_name, "endpoint": self.selection.endpoint,
                "via": self.selection.via}

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
            "candidates": (sum(1 for e in selection.candidates if "endpoint" in e)
                           if selection else 0),
            "failures": self.failures,
        }
        if self.locked is not None:
            data["locked"] = self.locked
        return data


def unknown_values(node: syntax.Node, catalog: Catalog) -> list[str]:
    """Every tag or value the condition names that no model in the catalog has."""
    from .engine import unknown_value

    found, stack = [], [node]
    while stack:
        current = stack.pop()
        message = unknown_value(current, catalog.entries, any_missing=True)
        if message and message not in found:
            found.append(message)
        stack.extend(reversed(syntax.children(current)))
    return found


def named_catalog(policies: Iterable[NamedPolicy]) -> str | None:
    """The one ``catalog:`` these policies' files name (None if none does)."""
    policies = list(policies)
    named = {p.catalog for p in policies if p.catalog}
    if len(named) > 1:
        files = "; ".join(sorted({f"{p.file}: {p.catalog}" for p in policies if p.catalog}))
        raise PolicyError(f"the policy files name different catalogs ({files}); "
                          "pass --catalog", kind="file")
    return named.pop() if named else None


def check_book(book: PolicyBook, catalog: CatalogLike = None) -> list[PolicyReport]:
    """Resolve every policy of the book (fallbacks included) and check its expectations."""
    catalog = book.catalog_for(book.names, catalog)  # once, for every policy
    reports = []
    for policy in book:
        tried = book.attempts(policy.name, catalog)
        report = PolicyReport(policy.name, policy.file, policy.line,
                              tried=[a.name for a in tried],
                              warnings=unknown_values(policy.compiled.tree.where, catalog))
        if tried[-1].selection is None:
            chain = " -> ".join(report.tried)
            reason = "resolves to no model" + (f" (tried {chain})" if len(tried) > 1 else "")
            emptied = [step for step in tried[0].error.funnel if step["passed"] == 0]
            if emptied:
                reason += f": `{emptied[0]['clause']}` leaves none of {emptied[0]['entered']}"
            report.failures.append(reason)
        else:
            report.selection = tried[-1].selection
            report.failures.extend(expectation_failures(policy.expect, report.selection))
        reports.append(report)
    return reports
