"""AST -> Python functions, generated as source once per policy.

A policy is evaluated for every catalog entry, so walking the AST per entry
would dominate; instead each policy becomes one list comprehension and one
sort-key function, as a person would write them by hand. The missing-value
rules of the language (docs/language.md) are spelled out as guards in that code:

* a field that is absent or null is *missing*; arithmetic with a missing
  value, or a division by zero, is missing;
* ``== < <= > >= in matches`` are false when a side is missing;
* ``!=`` is exactly ``not ==`` and ``not in`` exactly ``not (in)``, so both
  hold when the value is missing; ``not`` is the plain complement;
* ranking keys that are missing (or NaN after arithmetic) sort last in both
  directions, and ``model_name`` breaks every tie.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from ..fields import BOOLEAN, NUMBER, STRING
from . import ast as s

#: Fields the catalog loader guarantees on every entry, read without a guard.
ALWAYS_PRESENT = frozenset({"model_name", "healthy", "live"})

_MISSING = (1,)


class _Descending:
    """Reverses the order of a string sort key (numbers are negated instead)."""

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def __lt__(self, other: _Descending) -> bool:
        return other.value < self.value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Descending) and other.value == self.value

    __hash__ = None  # type: ignore[assignment]


class Glob:
    """A ``matches`` pattern: ``*`` any run of characters, ``?`` one, the rest literal.

    Case-insensitive by Unicode case folding, not ``re.IGNORECASE`` (which lets
    ``İ`` match ``i`` but not ``straße`` match ``STRASSE``): the pattern is folded
    here, and the value is folded before it is matched (``_Generator.condition``).

    Not one regular expression: ``*?*?*?*?*#`` as ``.*.?.*.?...`` backtracks
    exponentially, and a policy (from a pull request, or a request to the
    server) must not be able to stall evaluation. The pattern is split at its
    stars into pieces of fixed length (literals and ``?``); the first piece must
    match at the start, the last at the end, and each one between at its
    leftmost place after the previous one, which is correct for globs and takes
    at most (text length x pattern length) steps.
    """

    __slots__ = ("_first", "_inner", "_last", "_last_width", "_starred")

    def __init__(self, pattern: str) -> None:
        texts = pattern.casefold().split("*")
        pieces = [
            re.compile("".join("." if c == "?" else re.escape(c) for c in text), re.DOTALL)
            for text in texts
        ]
        self._starred = len(pieces) > 1
        self._first, self._inner, self._last = pieces[0], pieces[1:-1], pieces[-1]
        self._last_width = len(texts[-1])  # a literal or `?` is one character

    def __call__(self, text: str) -> bool:
        """Whether the whole of ``text`` (already case-folded) matches."""
        if not self._starred:
            return self._first.fullmatch(text) is not None
        head = self._first.match(text)
        if head is None:
            return False
        position, end = head.end(), len(text) - self._last_width
        for piece in self._inner:
            found = piece.search(text, position, end)
            if found is None:
                return False
            position = found.end()
        return end >= position and self._last.fullmatch(text, end) is not None


class Compiled:
    """The generated functions of one policy."""

    __slots__ = ("filter", "sort_key", "source")

    def __init__(
        self, filter: Callable[[Iterable[dict]], list], sort_key: Callable[[dict], Any], source: str
    ) -> None:
        self.filter = filter
        self.sort_key = sort_key
        self.source = source

    def matches(self, entry: dict) -> bool:
        return bool(self.filter((entry,)))


def compile_policy(policy: s.Policy, key_types: tuple[str, ...]) -> Compiled:
    """Generate and load the functions for a checked policy."""
    gen = _Generator()
    condition = gen.condition(policy.where)
    keys = [gen.sort_key(k.expr, kind, k.descending) for k, kind in zip(policy.order_by, key_types)]
    keys.append("e['model_name']")
    # Python's compile() is the largest cost of compiling a policy, so the
    # condition is emitted once; everything else is built from these two.
    source = "\n".join(
        [
            "def filter(entries):",
            f"    return [e for e in entries if {condition}]",
            "def sort_key(e):",
            f"    return ({', '.join(keys)},)",
        ]
    )
    namespace: dict[str, Any] = {"_MISSING": _MISSING, "_Descending": _Descending, **gen.constants}
    exec(compile(source, "<policy>", "exec"), namespace)
    return Compiled(namespace["filter"], namespace["sort_key"], source)


def compile_condition(node: s.Node) -> Callable[[dict], bool]:
    """A single checked condition as a predicate (used for per-clause counts)."""
    gen = _Generator()
    source = f"def matches(e):\n    return {gen.condition(node)}"
    namespace: dict[str, Any] = dict(gen.constants)
    exec(compile(source, "<policy>", "exec"), namespace)
    return namespace["matches"]


def compile_value(node: s.Node) -> Callable[[dict], Any]:
    """A checked expression as a function giving its value for an entry, None when missing."""
    gen = _Generator()
    source, guards = gen.value(node)
    body = f"({source}) if ({' and '.join(guards)}) else None" if guards else source
    namespace: dict[str, Any] = dict(gen.constants)
    exec(compile(f"def value(e):\n    return {body}", "<policy>", "exec"), namespace)
    return namespace["value"]


class _Generator:
    def __init__(self) -> None:
        self.constants: dict[str, Any] = {}
        self.count = 0

    def _name(self, prefix: str) -> str:
        self.count += 1
        return f"_{prefix}{self.count}"

    def constant(self, value: Any) -> str:
        name = self._name("c")
        self.constants[name] = value
        return name

    def literal(self, node: s.Number | s.String | s.Bool) -> str:
        if isinstance(node, s.String):
            return self.constant(node.value)
        return repr(node.value)

    # A value is (python source, guards): the source may only be evaluated
    # when every guard holds; the guards bind the temporaries it uses.
    def value(self, node: s.Node) -> tuple[str, list[str]]:
        if isinstance(node, (s.Number, s.String, s.Bool)):
            return self.literal(node), []
        if isinstance(node, s.Field) and node.name in ALWAYS_PRESENT:
            return f"e[{node.name!r}]", []
        if isinstance(node, s.Field):
            temp = self._name("v")
            return temp, [f"({temp} := e.get({node.name!r})) is not None"]
        if isinstance(node, s.Negative):
            source, guards = self.value(node.operand)
            return f"(-{source})", guards
        if isinstance(node, s.Arithmetic):
            left, left_guards = self.value(node.left)
            right, right_guards = self.value(node.right)
            guards = left_guards + right_guards
            if node.op == "/":
                divisor = self._name("v")
                guards.append(f"({divisor} := {right}) != 0")
                right = divisor
            return f"({left} {node.op} {right})", guards
        return self.condition(node), []

    def _plain(self, node: s.Node) -> str | None:
        """``e.get(name)`` for a bare optional field, where None can stand for missing."""
        if isinstance(node, s.Field) and node.name not in ALWAYS_PRESENT:
            return f"e.get({node.name!r})"
        return None

    def _guarded(self, guards: list[str], test: str) -> str:
        return f"({' and '.join([*guards, test])})" if guards else f"({test})"

    def condition(self, node: s.Node) -> str:
        if isinstance(node, s.Bool):
            return repr(node.value)
        if isinstance(node, s.Field):
            return f"e[{node.name!r}]"  # the boolean fields (healthy, live) are always present
        if isinstance(node, s.Supports):
            return f"({self.constant(node.tag)} in (e.get('supports') or ()))"
        if isinstance(node, s.Has):
            return f"(e.get({node.field!r}) is not None)"
        if isinstance(node, s.Not):
            return f"(not {self.condition(node.operand)})"
        if isinstance(node, s.And):
            return "(" + " and ".join(self.condition(op) for op in node.operands) + ")"
        if isinstance(node, s.Or):
            return "(" + " or ".join(self.condition(op) for op in node.operands) + ")"
        if isinstance(node, s.Compare):
            return self.compare(node)
        if isinstance(node, s.In):
            members = self.constant(frozenset(v.value for v in node.values))
            plain = self._plain(node.operand)
            if plain is not None:  # None is never a member
                test = f"({plain} in {members})"
            else:
                source, guards = self.value(node.operand)
                test = self._guarded(guards, f"{source} in {members}")
            return f"(not {test})" if node.negated else test
        if isinstance(node, s.Matches):
            matcher = self.constant(Glob(node.pattern.value))
            source, guards = self.value(node.operand)
            return self._guarded(guards, f"{matcher}({source}.casefold())")
        raise TypeError(f"not a condition: {node!r}")

    def compare(self, node: s.Compare) -> str:
        op = "==" if node.op == "!=" else node.op
        literal_sides = (s.Number, s.String, s.Bool)
        plain_left, plain_right = self._plain(node.left), self._plain(node.right)
        if op == "==" and plain_left and isinstance(node.right, literal_sides):
            test = f"({plain_left} == {self.literal(node.right)})"
        elif op == "==" and plain_right and isinstance(node.left, literal_sides):
            test = f"({self.literal(node.left)} == {plain_right})"
        else:
            left, left_guards = self.value(node.left)
            right, right_guards = self.value(node.right)
            test = self._guarded(left_guards + right_guards, f"{left} {op} {right}")
        return f"(not {test})" if node.op == "!=" else test

    def sort_key(self, node: s.Node, kind: str, descending: bool) -> str:
        if kind == BOOLEAN:  # never missing; false < true
            condition = self.condition(node)
            return f"(not {condition})" if descending else condition
        source, guards = self.value(node)
        if kind == NUMBER and not isinstance(node, s.Field):
            # arithmetic may overflow to NaN (inf - inf): rank it as missing
            temp = self._name("k")
            guards = [*guards, f"({temp} := {source}) == {temp}"]
            source = temp
        if descending:
            source = f"(-{source})" if kind == NUMBER else f"_Descending({source})"
        assert kind in (NUMBER, STRING)
        if not guards:
            return f"(0, {source})"
        return f"((0, {source}) if ({' and '.join(guards)}) else _MISSING)"
