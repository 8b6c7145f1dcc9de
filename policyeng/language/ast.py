"""The policy AST: immutable plain classes, shared by every stage after the parser.

Positions are kept on every node for error carets but excluded from equality,
so ``parse(to_text(tree)) == tree`` holds whatever the spacing was. The nodes
are written out by hand rather than as dataclasses: every ``policyeng select``
imports this module, and generating its seventeen frozen dataclasses cost more than
the rest of the start-up's own code.
"""

from __future__ import annotations

_set = object.__setattr__


class _Node:
    """Value semantics: equal and hashed by every field but ``span``.

    A node's fields are its annotated attributes, in the order they are declared
    (the constructor's order); ``__slots__`` only stores them.
    """

    __slots__ = ()
    _fields: tuple[str, ...] = ()
    _compared: tuple[str, ...] = ()

    def __init_subclass__(cls) -> None:
        cls._fields = tuple(cls.__annotations__)  # this class's own, in order
        cls._compared = tuple(name for name in cls._fields if name != "span")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def _key(self) -> tuple:
        return tuple(getattr(self, name) for name in self._compared)

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._compared)
        return f"{self.__class__.__qualname__}({shown})"

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}: policy nodes are immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}: policy nodes are immutable")

    def __reduce__(self) -> tuple:
        return self.__class__, tuple(getattr(self, name) for name in self._fields)


def replace(node: _Node, **changes: object) -> _Node:
    """A copy of ``node`` with some fields changed, e.g. ``replace(node, span=wider)``."""
    values: dict[str, object] = {name: getattr(node, name) for name in node._fields}
    values.update(changes)
    return node.__class__(**values)


class Span(_Node):
    """Where a node stands in the policy text (1-based line and column)."""

    __slots__ = ("column", "end", "line", "start")
    line: int
    column: int
    start: int
    end: int

    def __init__(self, line: int, column: int, start: int, end: int) -> None:
        _set(self, "line", line)
        _set(self, "column", column)
        _set(self, "start", start)
        _set(self, "end", end)


class Number(_Node):
    __slots__ = ("span", "value")
    value: int | float
    span: Span | None

    def __init__(self, value: int | float, span: Span | None = None) -> None:
        _set(self, "value", value)
        _set(self, "span", span)


class String(_Node):
    __slots__ = ("span", "value")
    value: str
    span: Span | None

    def __init__(self, value: str, span: Span | None = None) -> None:
        _set(self, "value", value)
        _set(self, "span", span)


class Bool(_Node):
    __slots__ = ("span", "value")
    value: bool
    span: Span | None

    def __init__(self, value: bool, span: Span | None = None) -> None:
        _set(self, "value", value)
        _set(self, "span", span)


class Field(_Node):
    __slots__ = ("name", "span")
    name: str
    span: Span | None

    def __init__(self, name: str, span: Span | None = None) -> None:
        _set(self, "name", name)
        _set(self, "span", span)


class Negative(_Node):
    __slots__ = ("operand", "span")
    operand: Node
    span: Span | None

    def __init__(self, operand: Node, span: Span | None = None) -> None:
        _set(self, "operand", operand)
        _set(self, "span", span)


class Arithmetic(_Node):
    __slots__ = ("left", "op", "right", "span")
    op: str  # one of + - * /
    left: Node
    right: Node
    span: Span | None

    def __init__(self, op: str, left: Node, right: Node, span: Span | None = None) -> None:
        _set(self, "op", op)
        _set(self, "left", left)
        _set(self, "right", right)
        _set(self, "span", span)


class Compare(_Node):
    __slots__ = ("left", "op", "right", "span")
    op: str  # one of == != < <= > >=
    left: Node
    right: Node
    span: Span | None

    def __init__(self, op: str, left: Node, right: Node, span: Span | None = None) -> None:
        _set(self, "op", op)
        _set(self, "left", left)
        _set(self, "right", right)
        _set(self, "span", span)


class In(_Node):
    __slots__ = ("negated", "operand", "span", "values")
    operand: Node
    values: tuple[Number | String | Bool, ...]
    negated: bool
    span: Span | None

    def __init__(
        self,
        operand: Node,
        values: tuple[Number | String | Bool, ...],
        negated: bool = False,
        span: Span | None = None,
    ) -> None:
        _set(self, "operand", operand)
        _set(self, "values", values)
        _set(self, "negated", negated)
        _set(self, "span", span)


class Matches(_Node):
    __slots__ = ("operand", "pattern", "span")
    operand: Node
    pattern: String
    span: Span | None

    def __init__(self, operand: Node, pattern: String, span: Span | None = None) -> None:
        _set(self, "operand", operand)
        _set(self, "pattern", pattern)
        _set(self, "span", span)


class Supports(_Node):
    __slots__ = ("span", "tag")
    tag: str
    span: Span | None

    def __init__(self, tag: str, span: Span | None = None) -> None:
        _set(self, "tag", tag)
        _set(self, "span", span)


class Has(_Node):
    __slots__ = ("field", "span")
    field: str
    span: Span | None

    def __init__(self, field: str, span: Span | None = None) -> None:
        _set(self, "field", field)
        _set(self, "span", span)


class Not(_Node):
    __slots__ = ("operand", "span")
    operand: Node
    span: Span | None

    def __init__(self, operand: Node, span: Span | None = None) -> None:
        _set(self, "operand", operand)
        _set(self, "span", span)


class And(_Node):
    __slots__ = ("operands", "span")
    operands: tuple[Node, ...]
    span: Span | None

    def __init__(self, operands: tuple[Node, ...], span: Span | None = None) -> None:
        _set(self, "operands", operands)
        _set(self, "span", span)


class Or(_Node):
    __slots__ = ("operands", "span")
    operands: tuple[Node, ...]
    span: Span | None

    def __init__(self, operands: tuple[Node, ...], span: Span | None = None) -> None:
        _set(self, "operands", operands)
        _set(self, "span", span)


Node = (
    Number
    | String
    | Bool
    | Field
    | Negative
    | Arithmetic
    | Compare
    | In
    | Matches
    | Supports
    | Has
    | Not
    | And
    | Or
)


class OrderKey(_Node):
    __slots__ = ("descending", "expr", "span")
    expr: Node
    descending: bool
    span: Span | None

    def __init__(self, expr: Node, descending: bool = False, span: Span | None = None) -> None:
        _set(self, "expr", expr)
        _set(self, "descending", descending)
        _set(self, "span", span)


class Policy(_Node):
    """A parsed policy: the filter and the ranking keys (possibly none)."""

    __slots__ = ("order_by", "where")
    where: Node
    order_by: tuple[OrderKey, ...]

    def __init__(self, where: Node, order_by: tuple[OrderKey, ...] = ()) -> None:
        _set(self, "where", where)
        _set(self, "order_by", order_by)


def children(node: Node) -> tuple[Node, ...]:
    """The direct sub-expressions of a node, for generic walks."""
    if isinstance(node, (And, Or)):
        return node.operands
    if isinstance(node, (Not, Negative)):
        return (node.operand,)
    if isinstance(node, (Arithmetic, Compare)):
        return (node.left, node.right)
    if isinstance(node, In):
        return (node.operand, *node.values)
    if isinstance(node, Matches):
        return (node.operand, node.pattern)
    return ()


def conjuncts(tree: Policy) -> tuple[Node, ...]:
    """The top-level ``and`` clauses of a policy, in order."""
    return tree.where.operands if isinstance(tree.where, And) else (tree.where,)


def fields_used(node: Node) -> set[str]:
    """Every field name a node reads, including implicit ones (``supports``)."""
    found: set[str] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, Field):
            found.add(current.name)
        elif isinstance(current, Has):
            found.add(current.field)
        elif isinstance(current, Supports):
            found.add("supports")
        stack.extend(children(current))
    return found


# --- printing -----------------------------------------------------------------

KEYWORDS = frozenset("or and not in matches supports has true false order by asc desc".split())


def _quote(text: str) -> str:
    escaped = (
        text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    )
    return f'"{escaped}"'


def _number(value: int | float) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def _literal(node: Number | String | Bool) -> str:
    if isinstance(node, String):
        return _quote(node.value)
    if isinstance(node, Bool):
        return "true" if node.value else "false"
    return _number(node.value)


def to_text(node: Node) -> str:
    """Print an expression back as policy text; compound operands get parentheses."""

    def sub(child: Node) -> str:
        text = to_text(child)
        simple = isinstance(child, (Number, String, Bool, Field, Supports, Has))
        return text if simple else f"({text})"

    if isinstance(node, (Number, String, Bool)):
        return _literal(node)
    if isinstance(node, Field):
        return node.name
    if isinstance(node, Negative):
        return f"-{sub(node.operand)}"
    if isinstance(node, (Arithmetic, Compare)):
        return f"{sub(node.left)} {node.op} {sub(node.right)}"
    if isinstance(node, In):
        values = ", ".join(_literal(v) for v in node.values)
        keyword = "not in" if node.negated else "in"
        return f"{sub(node.operand)} {keyword} [{values}]"
    if isinstance(node, Matches):
        return f"{sub(node.operand)} matches {_quote(node.pattern.value)}"
    if isinstance(node, Supports):
        tag = node.tag
        bare = tag.isidentifier() and tag.isascii() and tag not in KEYWORDS
        return f"supports {tag if bare else _quote(tag)}"
    if isinstance(node, Has):
        return f"has {node.field}"
    if isinstance(node, Not):
        return f"not {sub(node.operand)}"
    if isinstance(node, And):
        return " and ".join(sub(op) for op in node.operands)
    if isinstance(node, Or):
        return " or ".join(sub(op) for op in node.operands)
    raise TypeError(f"not a policy node: {node!r}")


def policy_to_text(policy: Policy) -> str:
    """Print a whole policy, ranking included."""
    text = to_text(policy.where)
    if policy.order_by:
        keys = ", ".join(
            f"{to_text(k.expr)}{' desc' if k.descending else ''}" for k in policy.order_by
        )
        text += f" order by {keys}"
    return text
