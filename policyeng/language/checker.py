"""Type-checking a parsed policy against the entry fields (``policyeng.fields``).

Runs after parsing and before compiling, so the compiled code can assume every
field exists and every operation is well-typed; mistakes are ``PolicyError``s
pointing at the node, with a "did you mean" for near-miss field names.
"""

from __future__ import annotations

from ..errors import PolicyError
from ..fields import BOOLEAN, FIELDS, LIST, NUMBER, STRING
from ..text import close_matches, quoted
from . import ast as s


def check(policy: s.Policy, text: str) -> tuple[str, ...]:
    """Type-check a parsed policy; return the type of each ranking key."""
    types = _Types(text)
    _expect(types, policy.where, BOOLEAN, "a condition")
    key_types = []
    for key in policy.order_by:
        kind = types.of(key.expr)
        if kind == LIST:
            raise types.error(key.expr, "a list field cannot rank models", kind="type")
        if not s.fields_used(key.expr):
            in_quotes = key.expr.value if isinstance(key.expr, s.String) else None
            hint = (
                f"to rank by the field, drop the quotes: `{in_quotes}`"
                if in_quotes in FIELDS
                else "rank by a field, e.g. `order by output_per_mtok`"
            )
            raise types.error(
                key.expr, "this ranking key is the same for every model", kind="type", hint=hint
            )
        key_types.append(kind)
    return tuple(key_types)


def _expect(types: _Types, node: s.Node, wanted: str, what: str) -> None:
    kind = types.of(node)
    if kind != wanted:
        hint = None
        if isinstance(node, s.Field) and kind == NUMBER:
            hint = f"compare it, e.g. `{node.name} > 0`"
        elif isinstance(node, s.Field) and kind == STRING:
            hint = f'compare it, e.g. `{node.name} == "..."`'
        elif isinstance(node, s.Field) and kind == LIST and node.name == "supports":
            hint = "write `supports TAG`, e.g. `supports tool_use`"
        raise types.error(node, f"expected {what}, but this is a {kind}", kind="type", hint=hint)


def close_fields(name: str) -> list[str]:
    """The field name closest to a misspelt one."""
    return close_matches(name, FIELDS)


class _Types:
    def __init__(self, text: str) -> None:
        self.text = text

    def error(self, node, message: str, *, kind: str, hint: str | None = None) -> PolicyError:
        span = getattr(node, "span", None)
        if span is None:
            return PolicyError(message, kind=kind, text=self.text, hint=hint)
        return PolicyError(
            message,
            kind=kind,
            text=self.text,
            line=span.line,
            column=span.column,
            length=span.end - span.start,
            hint=hint,
        )

    def field(self, node, name: str) -> str:
        kind = FIELDS.get(name)
        if kind is None:
            close = close_fields(name)
            message = f"unknown field {quoted(name)}"
            if close:
                message += f"; did you mean '{close[0]}'?"
            hint = None if close else "fields: " + ", ".join(sorted(FIELDS))
            raise self.error(node, message, kind="unknown-field", hint=hint)
        return kind

    def of(self, node: s.Node) -> str:
        if isinstance(node, s.Number):
            return NUMBER
        if isinstance(node, s.String):
            return STRING
        if isinstance(node, s.Bool):
            return BOOLEAN
        if isinstance(node, s.Field):
            return self.field(node, node.name)
        if isinstance(node, s.Has):
            self.field(node, node.field)
            return BOOLEAN
        if isinstance(node, s.Supports):
            return BOOLEAN
        if isinstance(node, (s.Not,)):
            _expect(self, node.operand, BOOLEAN, "a condition after `not`")
            return BOOLEAN
        if isinstance(node, (s.And, s.Or)):
            word = "and" if isinstance(node, s.And) else "or"
            for operand in node.operands:
                _expect(self, operand, BOOLEAN, f"a condition around `{word}`")
            return BOOLEAN
        if isinstance(node, s.Negative):
            _expect(self, node.operand, NUMBER, "a number after unary `-`")
            return NUMBER
        if isinstance(node, s.Arithmetic):
            _expect(self, node.left, NUMBER, f"a number before `{node.op}`")
            _expect(self, node.right, NUMBER, f"a number after `{node.op}`")
            if node.op == "/" and _is_zero(node.right):
                raise self.division_by_zero(node)
            return NUMBER
        if isinstance(node, s.Compare):
            return self.compare(node)
        if isinstance(node, s.In):
            kind = self.of(node.operand)
            if kind == LIST:
                raise self.error(
                    node.operand,
                    "`in` needs a single value, not a list",
                    kind="type",
                    hint="for tags write `supports TAG`",
                )
            for value in node.values:
                if self.of(value) != kind:
                    raise self.error(
                        value,
                        f"this list holds a {self.of(value)}, but the value tested is a {kind}",
                        kind="type",
                    )
            return BOOLEAN
        if isinstance(node, s.Matches):
            kind = self.of(node.operand)
            if kind != STRING:
                raise self.error(
                    node.operand, f"`matches` works on text, but this is a {kind}", kind="type"
                )
            return BOOLEAN
        raise TypeError(f"not a policy node: {node!r}")

    def division_by_zero(self, node: s.Arithmetic) -> PolicyError:
        """Dividing by a literal 0 leaves every model without a value: refused, caret on `/ 0`."""
        left, right = getattr(node.left, "span", None), getattr(node.right, "span", None)
        if left is None or right is None:
            return self.error(node, _DIVIDED_BY_ZERO, kind="type", hint=_ZERO_HINT)
        start = _operator_offset(self.text, left.end, right.start)
        error = PolicyError.at(_DIVIDED_BY_ZERO, self.text, start, kind="type", hint=_ZERO_HINT)
        error.length = max(1, right.end - start)
        return error

    def compare(self, node: s.Compare) -> str:
        if not s.fields_used(node):
            in_quotes = next(
                (
                    side.value
                    for side in (node.left, node.right)
                    if isinstance(side, s.String) and side.value in FIELDS
                ),
                None,
            )
            hint = (
                f"to compare the field, drop the quotes: `{in_quotes}`"
                if in_quotes
                else "compare a field, e.g. `output_per_mtok < 1`"
            )
            raise self.error(
                node, "this comparison is the same for every model", kind="type", hint=hint
            )
        for side, other in ((node.left, node.right), (node.right, node.left)):
            if (
                isinstance(side, s.Field)
                and side.name not in FIELDS
                and isinstance(other, s.Field)
                and FIELDS.get(other.name) == STRING
                and not close_fields(side.name)
            ):
                raise self.error(
                    side,
                    f"unknown field {quoted(side.name)}",
                    kind="unknown-field",
                    hint=f"to compare with the text {side.name[:40]}, quote it: "
                    f'"{side.name[:40]}"'
                    + ("" if len(side.name) <= 40 else " (shown cut to 40 characters)"),
                )
        left, right = self.of(node.left), self.of(node.right)
        for side, kind in ((node.left, left), (node.right, right)):
            if kind == LIST:
                raise self.error(
                    side,
                    "a list field cannot be compared",
                    kind="type",
                    hint="for tags write `supports TAG`; for presence `has FIELD`",
                )
        if left != right:
            raise self.error(node, f"cannot compare a {left} with a {right}", kind="type")
        if left != NUMBER and node.op not in ("==", "!="):
            raise self.error(
                node,
                f"`{node.op}` needs numbers, but these are {left}s",
                kind="type",
                hint="text and booleans compare with == and != only",
            )
        return BOOLEAN


_DIVIDED_BY_ZERO = "division by 0: the value would be missing for every model"
_ZERO_HINT = "divide by a field or a number other than 0, e.g. `output_per_mtok / 1000`"


def _is_zero(node: s.Node) -> bool:
    """Whether ``node`` is a literal 0 (``0``, ``0.0``, ``-0``), not an expression that may be."""
    while isinstance(node, s.Negative):
        node = node.operand
    return isinstance(node, s.Number) and node.value == 0


def _operator_offset(text: str, after: int, before: int) -> int:
    """Where the `/` between two operands stands (skipping spaces, parentheses, comments)."""
    index = after
    while index < before:
        if text[index] == "/":
            return index
        if text[index] == "#":
            newline = text.find("\n", index, before)
            index = before if newline < 0 else newline
        index += 1
    return after


def uses_live(policy: s.Policy) -> bool:
    """Whether the policy reads ``live``, which only a live-list fetch can answer."""
    exprs = [policy.where, *(key.expr for key in policy.order_by)]
    return any("live" in s.fields_used(expr) for expr in exprs)
