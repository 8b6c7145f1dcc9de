"""The policy AST: frozen dataclasses, shared by every stage after the parser.

Positions are kept on every node for error carets but excluded from equality,
so ``parse(to_text(tree)) == tree`` holds whatever the spacing was.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Span:
    """Where a node stands in the policy text (1-based line and column)."""

    line: int
    column: int
    start: int
    end: int


def _span() -> Span | None:
    return field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Number:
    value: int | float
    span: Span | None = _span()


@dataclass(frozen=True)
class String:
    value: str
    span: Span | None = _span()


@dataclass(frozen=True)
class Bool:
    value: bool
    span: Span | None = _span()


@dataclass(frozen=True)
class Field:
    name: str
    span: Span | None = _span()


@dataclass(frozen=True)
class Negative:
    operand: Node
    span: Span | None = _span()


@dataclass(frozen=True)
class Arithmetic:
    op: str  # one of + - * /
    left: Node
    right: Node
    span: Span | None = _span()


@dataclass(frozen=True)
class Compare:
    op: str  # one of == != < <= > >=
    left: Node
    right: Node
    span: Span | None = _span()


@dataclass(frozen=True)
class In:
    operand: Node
    values: tuple[Number | String | Bool, ...]
    negated: bool = False
    span: Span | None = _span()


@dataclass(frozen=True)
class Matches:
    operand: Node
    pattern: String
    span: Span | None = _span()


@dataclass(frozen=True)
class Supports:
    tag: str
    span: Span | None = _span()


@dataclass(frozen=True)
class Has:
    field: str
    span: Span | None = _span()


@dataclass(frozen=True)
class Not:
    operand: Node
    span: Span | None = _span()


@dataclass(frozen=True)
class And:
    operands: tuple[Node, ...]
    span: Span | None = _span()


@dataclass(frozen=True)
class Or:
    operands: tuple[Node, ...]
    span: Span | None = _span()


Node = (
    Number | String | Bool | Field | Negative | Arithmetic | Compare | In | Matches | Supports
    | Has | Not | And | Or
)


@dataclass(frozen=True)
class OrderKey:
    expr: Node
    descending: bool = False
    span: Span | None = _span()


@dataclass(frozen=True)
class Policy:
    """A parsed policy: the filter and the ranking keys (possibly none)."""

    where: Node
    order_by: tuple[OrderKey, ...] = ()


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

KEYWORDS = frozenset(
    "or and not in matches supports has true false order by asc desc".split()
)


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
