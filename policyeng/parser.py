"""Policy text -> AST (``syntax.Policy``); the only module that knows lark exists.

The LALR parser is built once per process; lark errors become ``PolicyError``
with a caret and a plain-words list of what could come next.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

from . import syntax as s
from .errors import PolicyError

MAX_LENGTH = 10_000
MAX_DEPTH = 100

_GRAMMAR = Path(__file__).with_name("grammar.lark")
_parser = None
_parser_lock = threading.Lock()

# How the grammar's terminals read in an error message.
_TERMINAL_WORDS = {
    "NAME": "a field name",
    "NUMBER": "a number",
    "STRING": "a quoted string",
    "COMPARE_OP": "a comparison (== != < <= > >=)",
    "ADD_OP": "`+` or `-`",
    "MUL_OP": "`*` or `/`",
    "MINUS": "`-`",
    "LPAR": "`(`",
    "RPAR": "`)`",
    "LSQB": "`[`",
    "RSQB": "`]`",
    "COMMA": "a comma",
    "DIRECTION": "asc or desc",
    "$END": "the end of the policy",
}
_KEYWORDS = {"and", "or", "not", "in", "matches", "supports", "has", "order", "by", "asc", "desc",
             "true", "false"}


def _get_parser():
    global _parser
    if _parser is None:
        with _parser_lock:
            if _parser is None:
                from lark import Lark

                _parser = Lark(
                    _GRAMMAR.read_text(encoding="utf-8"),
                    parser="lalr",
                    propagate_positions=True,
                    maybe_placeholders=False,
                    cache=False,
                )
    return _parser


def parse(text: str) -> s.Policy:
    """Parse policy text into a ``syntax.Policy``; raise ``PolicyError`` on any mistake."""
    if not isinstance(text, str):
        raise PolicyError(f"a policy is text, not {type(text).__name__}", kind="type")
    if len(text) > MAX_LENGTH:
        raise PolicyError(
            f"policy is {len(text):,} characters long; the limit is {MAX_LENGTH:,}",
            kind="limit",
        )
    if not text.strip():
        raise PolicyError("the policy is empty", kind="syntax", text=text, line=1, column=1,
                          hint="write a condition, e.g. `supports chat and healthy`")
    from lark.exceptions import UnexpectedInput, VisitError

    try:
        tree = _get_parser().parse(text)
    except UnexpectedInput as exc:
        raise _syntax_error(exc, text) from None
    _check_depth(tree, text)
    try:
        return _Builder(text).transform(tree)
    except VisitError as exc:
        if isinstance(exc.orig_exc, PolicyError):
            raise exc.orig_exc from None
        raise


def _check_depth(tree, text: str) -> None:
    """Reject deep nesting before anything recursive walks the tree."""
    from lark import Tree

    stack = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            offset = node.meta.start_pos if not node.meta.empty else 0
            raise PolicyError.at(
                f"policy is nested more than {MAX_DEPTH} levels deep", text, offset, kind="limit"
            )
        stack.extend((child, depth + 1) for child in node.children if isinstance(child, Tree))


def _syntax_error(exc, text: str) -> PolicyError:
    from lark.exceptions import UnexpectedCharacters, UnexpectedToken

    offset = getattr(exc, "pos_in_stream", None)
    if offset is None:
        offset = len(text)
    hint = None
    length = 1
    if isinstance(exc, UnexpectedCharacters):
        char = text[offset] if offset < len(text) else ""
        rest = text[offset:]
        message = f"unexpected character {char!r}"
        if rest.startswith(("&&", "||")):
            hint = "use `and` / `or`"
        elif char == "=":
            hint = "compare with `==`"
        elif char == "!":
            hint = "negate with `not`, or compare with `!=`"
        elif char in "\"'":
            message = "unterminated string"
            hint = f"close it with {char}"
        length = 2 if rest[:2] in ("&&", "||") else 1
        if char in "-." and _tag_hint(text, offset):
            hint = _tag_hint(text, offset)
        number = re.match(r"[0-9][0-9_.]*[eE]?[0-9]*[A-Za-z_][A-Za-z0-9_]*", rest)
        if number:
            message = f"{number.group()!r} is not a number"
            length = number.end()
            hint = "write numbers like 0.5, 1e-3, 128_000; the suffixes are k (thousand) " \
                   "and M (million): 32k, 1M"
    elif isinstance(exc, UnexpectedToken) and exc.token.type != "$END":
        token = exc.token
        length = len(str(token))
        message = f"unexpected {str(token)!r}"
        expected = _expected_words(exc.expected)
        if expected:
            message += f"; expected {expected}"
        if token.type == "NAME" and token.lower() in _KEYWORDS:
            hint = f"keywords are lower case: `{token.lower()}`"
        elif token in ("-", ".") and _tag_hint(text, offset):
            hint = _tag_hint(text, offset)
        elif token.type == "COMPARE_OP" and text[:offset].rstrip().endswith("supports"):
            hint = "write `supports TAG`, e.g. `supports tool_use`"
        elif token.type == "COMPARE_OP":
            hint = "comparisons do not chain: write `a < b and b < c`"
        elif text.lstrip().startswith("order by"):
            hint = "a policy starts with a condition: `supports chat order by output_per_mtok`"
        elif token.type == "NAME" and "STRING" in exc.expected and "NAME" not in exc.expected:
            hint = 'a list holds literals: numbers, "strings", true, false'
        elif token.type in ("NAME", "NUMBER", "STRING") and not expected:
            hint = "join conditions with `and` / `or`"
    else:
        expected = _expected_words(getattr(exc, "expected", ()) or ())
        message = "the policy ends too early"
        if expected:
            message += f"; expected {expected}"
        elif text.rstrip().endswith(("and", "or", "not", "(", "<", ">", "=", "+", "-", "*", "/")):
            message += "; a condition or value must follow"
        offset = len(text.rstrip())
    return PolicyError.at(message, text, offset, kind="syntax", length=length, hint=hint)


def _tag_hint(text: str, offset: int) -> str | None:
    """For `supports tool-use`: a tag with other characters than a name's must be quoted."""
    before = re.search(r"\bsupports\s+(\w+)$", text[:offset])
    if before is None:
        return None
    tag = before.group(1) + re.match(r"[^\s()]*", text[offset:]).group()
    return f'quote a tag that is not a plain name: `supports "{tag}"`'


def _expected_words(terminals) -> str:
    """A short list of what could come next, or nothing when the list would not help."""
    words = []
    for name in sorted(terminals):
        word = _TERMINAL_WORDS.get(name) or f"`{name.lstrip('_').lower()}`"
        if word not in words:
            words.append(word)
    if not words or len(words) > 5:
        return ""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _number(token, text: str) -> int | float:
    raw = str(token).replace("_", "")
    scale = 1
    if raw[-1] in "kM":
        scale = 1_000 if raw[-1] == "k" else 1_000_000
        raw = raw[:-1]
    value: int | float
    if raw.isdigit():
        value = int(raw) * scale
    else:
        value = float(raw) * scale
        if value == float("inf"):
            raise PolicyError.at(f"number {token} is too large", text, token.start_pos,
                                 kind="type", length=len(token))
    return value


_ESCAPES = {"\\": "\\", '"': '"', "'": "'", "n": "\n", "t": "\t"}


def _string(token, text: str) -> str:
    """Unquote a string literal: \\ \" \' \n \t are escapes; any other backslash is literal."""
    body = str(token)[1:-1]
    if "\\" not in body:
        return body
    out, i = [], 0
    while i < len(body):
        char = body[i]
        if char == "\\" and i + 1 < len(body) and body[i + 1] in _ESCAPES:
            out.append(_ESCAPES[body[i + 1]])
            i += 2
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _lark_transformer():
    from lark import Transformer, v_args

    @v_args(meta=True)
    class Builder(Transformer):
        """Parse tree -> frozen dataclasses, each carrying its span."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

        def _span(self, meta) -> s.Span | None:
            if meta.empty:
                return None
            return s.Span(meta.line, meta.column, meta.start_pos, meta.end_pos)

        def start(self, meta, children):
            order = children[1] if len(children) > 1 else ()
            return s.Policy(children[0], order)

        def order_clause(self, meta, children):
            return tuple(children)

        def order_key(self, meta, children):
            descending = len(children) > 1 and str(children[1]) == "desc"
            return s.OrderKey(children[0], descending, self._span(meta))

        def or_expr(self, meta, children):
            return s.Or(tuple(children), self._span(meta))

        def and_expr(self, meta, children):
            return s.And(tuple(children), self._span(meta))

        def negation(self, meta, children):
            return s.Not(children[0], self._span(meta))

        def comparison(self, meta, children):
            left, op, right = children
            return s.Compare(str(op), left, right, self._span(meta))

        def membership(self, meta, children):
            return s.In(children[0], children[1], False, self._span(meta))

        def non_membership(self, meta, children):
            return s.In(children[0], children[1], True, self._span(meta))

        def glob_match(self, meta, children):
            operand, token = children
            pattern = s.String(_string(token, self.text), _token_span(token))
            return s.Matches(operand, pattern, self._span(meta))

        def supports(self, meta, children):
            return s.Supports(children[0], self._span(meta))

        def tag(self, meta, children):
            token = children[0]
            return _string(token, self.text) if token.type == "STRING" else str(token)

        def has(self, meta, children):
            return s.Has(str(children[0]), self._span(meta))

        def sum(self, meta, children):
            return self._left_assoc(meta, children)

        def product(self, meta, children):
            return self._left_assoc(meta, children)

        def _left_assoc(self, meta, children):
            node = children[0]
            for op, right in zip(children[1::2], children[2::2]):
                start = node.span
                span = None
                if start is not None and right.span is not None:
                    span = s.Span(start.line, start.column, start.start, right.span.end)
                node = s.Arithmetic(str(op), node, right, span)
            return node

        def negative(self, meta, children):
            return s.Negative(children[0], self._span(meta))

        def negative_number(self, meta, children):
            # Inside a list a negative number is one literal, not an operation.
            return s.Number(-_number(children[0], self.text), self._span(meta))

        def number(self, meta, children):
            return s.Number(_number(children[0], self.text), self._span(meta))

        def string(self, meta, children):
            return s.String(_string(children[0], self.text), self._span(meta))

        def true(self, meta, children):
            return s.Bool(True, self._span(meta))

        def false(self, meta, children):
            return s.Bool(False, self._span(meta))

        def field(self, meta, children):
            return s.Field(str(children[0]), self._span(meta))

        def value_list(self, meta, children):
            return tuple(children)

    return Builder


def _token_span(token) -> s.Span:
    return s.Span(token.line, token.column, token.start_pos, token.end_pos)


class _Builder:
    """Instantiated per parse: the lark Transformer class is made on first use."""

    _cls = None

    def __new__(cls, text: str):
        if cls._cls is None:
            cls._cls = _lark_transformer()
        return cls._cls(text)
