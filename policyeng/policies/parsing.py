"""One policy file -> its named policies, every mistake found at once with its place.

A deployment keeps ``policies/*.yaml`` beside its config; CI runs ``policyeng
check`` on the same files. Everything that can be wrong with a file is found
when it loads, all at once, each mistake with the file, line and column: YAML
syntax, duplicate keys, the schema (``schemas/policy.schema.json``), every
policy expression (compiled here, the caret placed in the file), unknown
fallbacks and fallback cycles.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ..catalog.sources import is_url
from ..engine import Policy, compile
from ..errors import PolicyError, PolicyFileError, UsageError
from ..files import FileTooLarge, NotRegularFile, read_regular_file
from ..language.parser import parse
from ..text import did_you_mean, visible
from .yamldoc import YamlDocument, format_path, load_yaml

_TYPE_WORDS = {
    "string": "text",
    "array": "a list",
    "object": "a mapping",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


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


#: What one policy file may hold, unless the environment allows more. Far above any
#: real file (a few KB, a few dozen policies), and low enough that a hostile or
#: generated file is refused in a moment instead of taking minutes and gigabytes.
MAX_FILE_BYTES = ("POLICYENG_MAX_FILE_BYTES", 1_000_000)
MAX_POLICIES = ("POLICYENG_MAX_POLICIES", 5_000)


def file_limit(limit: tuple[str, int]) -> int:
    """A limit's value: its environment variable when set, else the default."""
    name, default = limit
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not (value.isascii() and value.isdigit() and 0 < len(value) <= 18 and int(value) > 0):
        raise UsageError(f"{name}={visible(value[:40])!r}: expected a whole number, 1 or more")
    return int(value)


def read_text_file(file: str) -> str:
    """A policy file's text: UTF-8 (a byte-order mark is dropped), within the size limit."""
    limit = file_limit(MAX_FILE_BYTES)
    try:
        raw = read_regular_file(file, limit)
    except FileNotFoundError:
        raise PolicyError("file not found", kind="file", source=file) from None
    except NotRegularFile:
        raise PolicyError("not a regular file", kind="file", source=file) from None
    except FileTooLarge:
        raise PolicyError(
            f"the file is over {limit:,} bytes, the most a policy file may hold",
            kind="limit",
            source=file,
            hint=f"split it, or set {MAX_FILE_BYTES[0]} to allow more",
        ) from None
    except OSError as exc:
        raise PolicyError(f"cannot read: {exc.strerror}", kind="file", source=file) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PolicyError(f"not UTF-8 text (byte {exc.start})", kind="file", source=file) from None


def raise_all(errors: list[PolicyError]) -> None:
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise PolicyFileError(errors)


def load_file(file: str) -> dict[str, NamedPolicy]:
    """One policy file -> its policies by name, in file order."""
    return parse_policy_file(read_text_file(file), file)


def parse_policy_file(text: str, source: str = "<policies>") -> dict[str, NamedPolicy]:
    """Policy-file text -> policies; the stages stop at the first stage that finds mistakes."""
    document = load_yaml(text.removeprefix("\ufeff"), source)
    _check_policy_count(document)
    raise_all(schema_errors(document))
    data = document.data
    policies: dict[str, NamedPolicy] = {}
    errors: list[PolicyError] = []
    for name, spec in data["policies"].items():
        try:
            policies[name] = _named_policy(
                document, name, spec, catalog_source(data.get("catalog"), source)
            )
        except PolicyError as exc:
            errors.append(exc)
    raise_all(errors)
    raise_all(fallback_errors(document, policies))
    return policies


def _check_policy_count(document: YamlDocument) -> None:
    """Refuse a file of more policies than the limit before any is validated or compiled."""
    data = document.data
    policies = data.get("policies") if isinstance(data, dict) else None
    limit = file_limit(MAX_POLICIES)
    if isinstance(policies, dict) and len(policies) > limit:
        raise document.error(
            f"the file holds {len(policies):,} policies, over the limit of {limit:,} per file",
            ("policies",),
            kind="limit",
            at_key=True,
            hint=f"split it, or set {MAX_POLICIES[0]} to allow more",
        )


def catalog_source(value: str | None, file: str) -> str | None:
    """A file's ``catalog:``; a relative JSON path is relative to the policy file, not the cwd."""
    if value is None or value == "builtin" or is_url(value):
        return value
    if os.path.isabs(value) or file.startswith("<"):
        return value
    return os.path.join(os.path.dirname(file), value)


def as_tuple(value: str | list[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _named_policy(
    document: YamlDocument, name: str, spec: dict[str, Any], catalog: str | None
) -> NamedPolicy:
    base = ("policies", name)
    order_by = as_tuple(spec.get("order_by"))
    compiled = _compile_in_file(
        document, base, spec["where"], order_by, isinstance(spec.get("order_by"), str)
    )
    return NamedPolicy(
        name=name,
        where=spec["where"],
        order_by=order_by,
        fallback=as_tuple(spec.get("fallback")),
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


def _compile_in_file(
    document: YamlDocument,
    base: tuple,
    where: str,
    order_by: tuple[str, ...],
    order_by_is_text: bool,
) -> Policy:
    text = policy_text(where, order_by)
    try:
        return compile(text)
    except PolicyError as exc:
        raise _place(exc, document, base, where, order_by, order_by_is_text, text) from None


def _place(
    exc: PolicyError,
    document: YamlDocument,
    base: tuple,
    where: str,
    order_by: tuple[str, ...],
    order_by_is_text: bool,
    text: str,
) -> PolicyError:
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
                    (*base, "order_by"),
                    kind="syntax",
                    at_key=True,
                )
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
    try:
        return bool(parse(where).order_by)
    except PolicyError:
        return False


def _offset(text: str, line: int, column: int) -> int:
    starts = [0] + [m.end() for m in re.finditer("\n", text)]
    return starts[min(line, len(starts)) - 1] + column - 1


@lru_cache(maxsize=1)
def _policy_validator():
    from jsonschema import Draft202012Validator

    from ..catalog.validation import load_schema

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
            guess = did_you_mean(key, known)
            message = f"{where}: unknown key '{key}'{guess}"
            hint = None if guess else "allowed: " + ", ".join(known)
            out.append(document.error(message, (*path, key), kind="schema", at_key=True, hint=hint))
        return out
    if kind == "required":
        return [
            document.error(
                f"{where}: missing required key '{key}'", path, kind="schema", at_key=True
            )
            for key in error.validator_value
            if key not in instance
        ]
    if kind == "pattern" and path == ("policies",):  # propertyNames: the name is the instance
        name = instance
        return [
            document.error(
                f"policy name {name!r} may hold only letters, digits, '-' and '_' "
                "(and starts with a letter or digit)",
                (*path, name),
                kind="schema",
                at_key=True,
            )
        ]
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
            spot: tuple[str | int, ...] = ("policies", owner, "fallback", index)
            if spot not in document.values:  # `fallback: name`, not a list
                spot = spot[:-1]
            if target not in policies:
                chain = " -> ".join([*path, target])
                message = (
                    f"policy {owner!r} falls back to {target!r}, which is not a policy "
                    f"in this file (chain: {chain}){did_you_mean(target, policies)}"
                )
                errors.append(document.error(message, spot, kind="fallback"))
            elif state.get(target) == 1:
                chain = " -> ".join([*path[path.index(target) :], target])
                errors.append(document.error(f"fallback cycle: {chain}", spot, kind="fallback"))
            elif target not in state:
                state[target] = 1
                path.append(target)
                edges.append(iter(enumerate(policies[target].fallback)))
    return errors
