"""Policy text -> AST (``ast.Policy``); the only module that knows lark exists.

Building lark's LALR tables from ``grammar.lark`` takes longer than a whole
``policyeng select`` should, so the tables are generated ahead of time with
lark's standalone tool into ``_lark_standalone.py`` (regenerate with
``python -m policyeng.language.generate`` after editing the grammar; a test checks
the two agree). Lark errors become ``PolicyError`` with a caret and a
plain-words list of what could come next. Every ``policyeng select`` parses, so
this module imports only ``re`` and the generated module.
"""

from __future__ import annotations

import re
from _thread import allocate_lock  # threading.Lock itself, without importing threading
from typing import Any

from ..errors import PolicyError
from ..fields import FIELDS
from ..text import close_matches
from . import ast as s

MAX_LENGTH = 10_000
MAX_DEPTH = 100

_parser = None
_parser_lock = allocate_lock()

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
_KEYWORDS = s.KEYWORDS


def _runtime():
    """The generated parser module: lark's runtime and our grammar's tables."""
    from . import _lark_standalone

    return _lark_standalone


def _get_parser():
    """The parser, with the AST built during parsing (no parse tree, no recursion)."""
    global _parser
    if _parser is None:
        with _parser_lock:
            if _parser is None:
                _parser = _runtime().Lark_StandAlone(transformer=_builder())
    return _parser


def check_length(text: str) -> None:
    """Refuse a policy over ``MAX_LENGTH`` characters (``kind="limit"``) before any other check.

    Callers that first look a text up as a policy name call it too, so a
    20,000-character text is refused as too long, not reported as an unknown name.
    """
    if len(text) > MAX_LENGTH:
        raise PolicyError.at(
            f"policy is {len(text):,} characters long; the limit is {MAX_LENGTH:,}",
            text,
            MAX_LENGTH,
            kind="limit",
            hint="the caret marks the first character past it",
        )


def parse(text: str) -> s.Policy:
    """Parse policy text into a ``ast.Policy``; raise ``PolicyError`` on any mistake."""
    if not isinstance(text, str):
        raise PolicyError(f"a policy is text, not {type(text).__name__}", kind="type")
    check_length(text)
    if not re.sub(r"#[^\n]*", "", text).strip():
        raise PolicyError(
            "the policy is empty",
            kind="syntax",
            text=text,
            line=1,
            column=1,
            hint="write a condition, e.g. `supports chat and healthy`",
        )
    try:
        tree = _get_parser().parse(text)
    except _runtime().UnexpectedInput as exc:
        raise _syntax_error(exc, text) from None
    except _LiteralError as exc:
        raise PolicyError.at(
            exc.message, text, exc.start, kind=exc.kind, length=exc.length, hint=exc.hint
        ) from None
    _check_depth(tree, text)
    return tree


def _check_depth(tree: s.Policy, text: str) -> None:
    """Reject deep nesting before anything recursive (checker, compiler) walks the AST."""
    stack = [(tree.where, 1)] + [(key.expr, 1) for key in tree.order_by]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            offset = node.span.start if node.span else 0
            raise PolicyError.at(
                f"policy is nested more than {MAX_DEPTH} levels deep", text, offset, kind="limit"
            )
        stack.extend((child, depth + 1) for child in s.children(node))


def _syntax_error(exc, text: str) -> PolicyError:
    runtime = _runtime()
    UnexpectedCharacters, UnexpectedToken = runtime.UnexpectedCharacters, runtime.UnexpectedToken

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
        elif char in "\u201c\u201d\u2018\u2019":
            hint = "use straight quotes: \" or '"
        elif char in "\u2264\u2265\u2260":
            hint = "write <=, >= or !="
        length = 2 if rest[:2] in ("&&", "||") else 1
        if char in "-." and _tag_hint(text, offset):
            hint = _tag_hint(text, offset)
        number = re.match(r"[0-9][0-9_.]*[eE]?[0-9]*[A-Za-z_][A-Za-z0-9_]*", rest)
        glued = re.match(r"([0-9][0-9_.]*)(and|or|order)", rest)
        if glued:
            message = f"unexpected {glued.group()!r}"
            length = glued.end()
            hint = f"a space is missing: `{glued.group(1)} {glued.group(2)}`"
        elif number:
            message = f"{number.group()!r} is not a number"
            length = number.end()
            hint = (
                "write numbers like 0.5, 1e-3, 128_000; the suffixes are k (thousand) "
                "and M (million): 32k, 1M"
            )
        elif char == "." and text[:offset][-1:].isdigit():
            hint = "a number needs digits after the point: 1.0"
    elif isinstance(exc, UnexpectedToken) and exc.token.type != "$END":
        token = exc.token
        length = len(str(token))
        message = f"unexpected {str(token)!r}"
        expected = _expected_words(exc.expected)
        if expected:
            message += f"; expected {expected}"
        misspelt = _misspelt_keyword(text, token)
        if misspelt is not None:
            offset, length, hint = misspelt
            word = text[offset : offset + length]
            message = f"unexpected {word!r}" + (f"; expected {expected}" if expected else "")
        elif token in ("-", ".") and _tag_hint(text, offset):
            hint = _tag_hint(text, offset)
        elif token.type == "COMPARE_OP" and text[:offset].rstrip().endswith("supports"):
            hint = "write `supports TAG`, e.g. `supports tool_use`"
        elif token.type == "COMPARE_OP" and text[offset - 1 : offset + 1] == "<>":
            offset, length, hint = offset - 1, 2, "write `!=` for not equal"
            message = "unexpected '<>'"
        elif token.type == "COMPARE_OP":
            hint = "comparisons do not chain: write `a < b and b < c`"
        elif text.lstrip().startswith("order by"):
            hint = "a policy starts with a condition: `supports chat order by output_per_mtok`"
        elif token.type == "NAME" and "STRING" in exc.expected and "NAME" not in exc.expected:
            hint = 'a list holds literals: numbers, "strings", true, false'
        elif token.type in ("NAME", "NUMBER", "STRING") and re.search(
            r"\border\s+by\b", text[:offset]
        ):
            hint = "`order by` takes ranking keys separated by commas, and ends the policy"
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


def _misspelt_keyword(text: str, token) -> tuple[int, int, str] | None:
    """A keyword typed wrong (`AND`, `andhealthy`, `orr`, `descending`, `suports`).

    The word at fault is the unexpected one, or the word just before it (which
    the parser took for a field name): return its offset, length and a hint.
    """

    candidates = []
    if token.type == "NAME":
        candidates.append((token.start_pos, str(token)))
    before = re.search(r"([A-Za-z_][A-Za-z0-9_]*)\s*$", text[: token.start_pos])
    if before is not None:
        candidates.append((before.start(1), before.group(1)))
    doubled = re.search(r"\b(and|or)\s+(and|or)\s*$", text[: token.start_pos])
    if doubled is not None:
        return (
            doubled.start(2),
            len(doubled.group(2)),
            f"`{doubled.group(1)}` and `{doubled.group(2)}` in a row: drop one",
        )
    for offset, word in candidates:
        if word.lower() in _KEYWORDS and word != word.lower():
            return offset, len(word), f"keywords are lower case: `{word.lower()}`"
        if word in FIELDS or word in _KEYWORDS:
            continue
        for keyword in sorted(_KEYWORDS, key=len, reverse=True):
            rest = word[len(keyword) :]
            if word.startswith(keyword) and (rest in FIELDS or rest in _KEYWORDS):
                return offset, len(word), f"a space is missing: `{keyword} {rest}`"
            if word.startswith(keyword) and len(keyword) >= 3:
                return offset, len(word), f"did you mean `{keyword}`?"
        close = close_matches(word.lower(), _KEYWORDS, cutoff=0.75)
        if close:
            return offset, len(word), f"did you mean `{close[0]}`?"
    return None


def _tag_hint(text: str, offset: int) -> str | None:
    """For `supports tool-use`: a tag with other characters than a name's must be quoted."""
    before = re.search(r"\bsupports\s+(\w+)$", text[:offset])
    if before is None:
        return None
    rest = re.match(r"[^\s()]*", text[offset:])
    tag = before.group(1) + (rest.group() if rest else "")
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


class _LiteralError(Exception):
    """A bad literal, raised while parsing; ``parse`` adds the text and renders it."""

    def __init__(self, message: str, token, kind: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message, self.kind, self.hint = message, kind, hint
        self.start, self.length = token.start_pos, len(token)


#: Digits a whole-number literal may have: any longer is beyond a double (about 1.8e308).
_LONGEST_WHOLE = 308


def _number(token) -> int | float:
    """A number literal's exact decimal value, rounded to a double once (``4.095k`` is 4095).

    ``float("4.095") * 1000`` rounds twice and gives 4094.9999999999995; a
    suffix moves the decimal point in the digits instead, and ``float`` reads
    the result once. A value no double can hold is an error here, so that
    evaluation never meets an overflow.
    """
    raw = str(token).replace("_", "")
    whole_number = raw.rstrip("kM").isdigit()  # `1.5k` stays a float, as it was written
    if raw[-1] in "kM":
        whole, _, fraction = raw[:-1].partition(".")
        shift = 3 if raw[-1] == "k" else 6
        fraction = fraction.ljust(shift, "0")
        raw = f"{whole}{fraction[:shift]}" + (f".{fraction[shift:]}" if fraction[shift:] else "")
    if raw.isdigit() and len(raw.lstrip("0")) > _LONGEST_WHOLE:
        value = float("inf")  # int() would refuse past 4,300 digits; no double holds it
    elif whole_number:
        return int(raw.lstrip("0") or "0")
    else:
        value = float(raw)
    if value == float("inf"):
        raise _LiteralError(
            "this number is too large (a number is at most about 1.8e308)", token, "type"
        )
    return value


_ESCAPES = {"\\": "\\", '"': '"', "'": "'", "n": "\n", "t": "\t"}


def _string(token) -> str:
    """Unquote a string literal: \\\\ \\" \\' \\n \\t are escapes, other backslashes literal."""
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


def _span(first, last) -> s.Span:
    """The span from the start of one child (token or node) to the end of another."""
    start = first if isinstance(first, s.Span) else getattr(first, "span", None) or first
    end = last if isinstance(last, s.Span) else getattr(last, "span", None) or last
    if isinstance(start, s.Span):
        line, column, offset = start.line, start.column, start.start
    else:
        line, column, offset = start.line, start.column, start.start_pos
    return s.Span(line, column, offset, end.end if isinstance(end, s.Span) else end.end_pos)


class _Items(tuple):
    """The literals of a ``[...]`` list, with the list's span."""

    span: s.Span


def _builder():
    """Callbacks run by the LALR parser at each reduction: parse tree -> AST nodes."""
    Transformer: Any = _runtime().Transformer

    class Builder(Transformer):
        def start(self, children):
            order = children[1] if len(children) > 1 else ()
            return s.Policy(children[0], order)

        def order_clause(self, children):
            return tuple(children)

        def order_key(self, children):
            descending = len(children) > 1 and str(children[1]) == "desc"
            return s.OrderKey(children[0], descending, _span(children[0], children[-1]))

        def or_expr(self, children):
            return s.Or(tuple(children), _span(children[0], children[-1]))

        def and_expr(self, children):
            return s.And(tuple(children), _span(children[0], children[-1]))

        def negation(self, children):
            return s.Not(children[1], _span(children[0], children[1]))

        def comparison(self, children):
            left, op, right = children
            return s.Compare(str(op), left, right, _span(left, right))

        def membership(self, children):
            return s.In(children[0], tuple(children[-1]), False, _span(children[0], children[-1]))

        def non_membership(self, children):
            return s.In(children[0], tuple(children[-1]), True, _span(children[0], children[-1]))

        def glob_match(self, children):
            operand, token = children
            pattern = s.String(_string(token), _span(token, token))
            return s.Matches(operand, pattern, _span(operand, token))

        def supports(self, children):
            keyword, token = children
            tag = _string(token) if token.type == "STRING" else str(token)
            return s.Supports(tag, _span(keyword, token))

        def has(self, children):
            return s.Has(str(children[1]), _span(children[0], children[1]))

        def sum(self, children):
            return self._left_assoc(children)

        def product(self, children):
            return self._left_assoc(children)

        def _left_assoc(self, children):
            node = children[0]
            for op, right in zip(children[1::2], children[2::2]):
                node = s.Arithmetic(str(op), node, right, _span(node, right))
            return node

        def negative(self, children):
            return s.Negative(children[1], _span(children[0], children[1]))

        def negative_number(self, children):
            # Inside a list a negative number is one literal, not an operation.
            return s.Number(-_number(children[1]), _span(children[0], children[1]))

        def number(self, children):
            return s.Number(_number(children[0]), _span(children[0], children[0]))

        def string(self, children):
            return s.String(_string(children[0]), _span(children[0], children[0]))

        def true(self, children):
            return s.Bool(True, _span(children[0], children[0]))

        def false(self, children):
            return s.Bool(False, _span(children[0], children[0]))

        def field(self, children):
            return s.Field(str(children[0]), _span(children[0], children[0]))

        def group(self, children):
            lpar, node, rpar = children
            return s.replace(node, span=_span(lpar, rpar))

        def value_list(self, children):
            items = _Items(children[1:-1])
            items.span = _span(children[0], children[-1])
            return items

    return Builder()
