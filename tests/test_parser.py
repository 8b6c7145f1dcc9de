"""Text -> AST: precedence, literals, positions, and syntax errors with carets."""

from __future__ import annotations

from pathlib import Path

import pytest

import policyeng
from policyeng import PolicyError
from policyeng.language import ast as s
from policyeng.language.parser import MAX_DEPTH, MAX_LENGTH, parse

ROOT = Path(__file__).resolve().parent.parent


def where(text: str) -> s.Node:
    return parse(text).where


def test_or_binds_looser_than_and_and_not_binds_tightest():
    tree = where("healthy or supports chat and not has slug")
    assert tree == s.Or((s.Field("healthy"), s.And((s.Supports("chat"), s.Not(s.Has("slug"))))))


def test_arithmetic_is_left_associative_with_usual_precedence():
    tree = where("a - b - c * d / e > 0")
    left = s.Arithmetic(
        "-",
        s.Arithmetic("-", s.Field("a"), s.Field("b")),
        s.Arithmetic("/", s.Arithmetic("*", s.Field("c"), s.Field("d")), s.Field("e")),
    )
    assert tree == s.Compare(">", left, s.Number(0))


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ("0.5", 0.5),
        ("1e-3", 0.001),
        ("128_000", 128000),
        ("32k", 32000),
        ("1M", 1000000),
        ("1.5k", 1500.0),
        (".25", 0.25),
        ("2E3", 2000.0),
    ],
)
def test_number_literals(literal, value):
    number = where(f"x < {literal}").right
    assert number == s.Number(value) and type(number.value) is type(value)


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ('"a b"', "a b"),
        ("'it\\'s'", "it's"),
        ('"say \\"hi\\""', 'say "hi"'),
        ('"C:\\\\x"', "C:\\x"),
        ('"\\d"', "\\d"),
        ('"tab\\t"', "tab\t"),
    ],
)
def test_string_literals_and_escapes(literal, value):
    assert where(f"x == {literal}").right == s.String(value)


def test_supports_takes_a_bare_or_quoted_tag():
    assert where("supports tool_use") == s.Supports("tool_use")
    assert where('supports "text-to-speech"') == s.Supports("text-to-speech")


def test_in_not_in_and_negative_list_items():
    assert where('category not in ["text", "code",]') == s.In(
        s.Field("category"), (s.String("text"), s.String("code")), negated=True
    )
    assert where("x in [-1, 2]").values == (s.Number(-1), s.Number(2))


def test_order_by_keys_with_directions():
    policy = parse(
        "healthy order by healthy desc, 3 * input_per_mtok + output_per_mtok, model_name asc"
    )
    assert [k.descending for k in policy.order_by] == [True, False, False]
    assert policy.order_by[0].expr == s.Field("healthy")


def test_positions_are_kept_and_ignored_by_equality():
    tree = where("healthy and\n  output_per_mtok < 1")
    second = tree.operands[1]
    assert (second.span.line, second.span.column) == (2, 3)
    assert tree == where("healthy and output_per_mtok<1")


def test_nodes_are_values_hashed_and_printed_without_their_position():
    first, second = where("(x + 1) > 2"), where("x+1 > 2")
    assert first.left.span != second.left.span  # the parentheses widen the span
    assert first == second and hash(first) == hash(second)
    assert len({first, second, where("x + 1 > 3")}) == 2
    assert s.Number(1) != s.String("1")
    assert repr(first) == (
        "Compare(op='>', left=Arithmetic(op='+', left=Field(name='x'), "
        "right=Number(value=1)), right=Number(value=2))"
    )
    assert s.In(s.Field("x"), (s.Number(1),), span=None) == s.In(s.Field("x"), (s.Number(1),))


def test_nodes_are_immutable_and_replace_makes_a_changed_copy():
    node = where("healthy")
    with pytest.raises(AttributeError):
        node.name = "live"
    moved = s.replace(node, span=s.Span(2, 1, 5, 12))
    assert moved == node and moved.span.line == 2 and node.span.line == 1
    assert s.replace(node, name="live") == s.Field("live")


def test_comments_are_ignored():
    assert where("healthy # only healthy ones\n and supports chat") == where(
        "healthy and supports chat"
    )


ERRORS = [
    (
        "supports tool_use and",
        "<policy>:1:22: the policy ends too early; a condition or value must follow",
    ),
    ("a = 1", "<policy>:1:3: unexpected character '='"),
    ("x < 1 AND y", "<policy>:1:7: unexpected 'AND'"),
    ('a == "abc', "<policy>:1:6: unterminated string"),
    ("a < b < c", "<policy>:1:7: unexpected '<'"),
    ("", "<policy>:1:1: the policy is empty"),
]


@pytest.mark.parametrize(("text", "first_line"), ERRORS)
def test_syntax_errors_name_line_and_column(text, first_line):
    with pytest.raises(PolicyError) as info:
        parse(text)
    assert str(info.value).splitlines()[0] == first_line
    assert info.value.kind == "syntax"


def test_syntax_error_shows_the_line_and_a_caret_and_a_hint():
    with pytest.raises(PolicyError) as info:
        parse("healthy && supports chat")
    assert str(info.value) == (
        "<policy>:1:9: unexpected character '&'\n"
        "  healthy && supports chat\n"
        "          ^^\n"
        "hint: use `and` / `or`"
    )


def test_error_on_a_later_line_points_there():
    with pytest.raises(PolicyError) as info:
        parse("healthy and\n  supports chat and\n  x <")
    assert (info.value.line, info.value.column) == (3, 6)
    assert "  x <" in str(info.value)


def test_too_long_policy_is_rejected():
    text = "healthy or " * 909 + "healthy"
    with pytest.raises(PolicyError, match="10,006 characters long; the limit is 10,000") as info:
        parse(text)
    assert info.value.kind == "limit"
    assert (info.value.line, info.value.column) == (1, MAX_LENGTH + 1)
    assert str(info.value).splitlines()[2].strip() == "^"


@pytest.mark.parametrize(
    "text",
    [
        "not " * (MAX_DEPTH + 1) + "healthy",
        "(" * 150 + "x < " + "-" * 200 + "1" + ")" * 150,
        "".join("(healthy and " for _ in range(MAX_DEPTH + 1)) + "healthy" + ")" * (MAX_DEPTH + 1),
    ],
)
def test_deep_nesting_is_a_clear_error_not_a_recursion_error(text):
    with pytest.raises(PolicyError, match="nested more than 100 levels") as info:
        parse(text)
    assert info.value.kind == "limit"


def test_nesting_up_to_the_limit_is_fine():
    depth = MAX_DEPTH - 5
    tree = parse("not " * depth + "healthy").where
    for _ in range(depth):
        tree = tree.operand
    assert tree == s.Field("healthy")


def test_generated_parser_matches_the_grammar():
    """``_lark_standalone.py`` must be regenerated whenever grammar.lark changes."""
    from policyeng.language import _lark_standalone
    from policyeng.language.generate import grammar_digest

    assert _lark_standalone.GRAMMAR_SHA256 == grammar_digest(), (
        "grammar.lark changed: run `python -m policyeng.language.generate`"
    )


def test_regenerating_the_parser_gives_the_vendored_file():
    """The vendored parser is what the pinned lark generates from grammar.lark.

    lark numbers LALR states while iterating over sets, so two runs write
    their tables differently: the code must match line for line, and the
    tables must parse every policy of the compliance cases to the same tree.
    """
    import json
    import re

    from lark import Lark

    from policyeng.language import _lark_standalone
    from policyeng.language.generate import GRAMMAR_PATH, STANDALONE_PATH, generate_standalone

    tables = re.compile(r"^(DATA|MEMO) = \(\n\{[^\n]*\}\n\)$", re.MULTILINE)
    fresh = tables.sub(r"\1 = ...", generate_standalone())
    vendored = tables.sub(r"\1 = ...", STANDALONE_PATH.read_text(encoding="utf-8"))
    assert fresh.count("= ...") == 2 and fresh == vendored

    lark = Lark(
        GRAMMAR_PATH.read_text(encoding="utf-8"),
        parser="lalr",
        lexer="contextual",
        maybe_placeholders=False,
    )
    standalone = _lark_standalone.Lark_StandAlone()
    texts = [
        case["policy"]
        for path in sorted((ROOT / "tests" / "cases").glob("*.json"))
        for case in json.loads(path.read_text(encoding="utf-8"))["cases"]
    ]
    assert len(texts) > 50
    for text in texts:
        try:
            expected = lark.parse(text).pretty()
        except Exception:
            expected = None
        try:
            got = standalone.parse(text).pretty()
        except Exception:
            got = None
        assert got == expected, text


def test_a_parenthesised_node_spans_its_parentheses():
    text = "healthy and (input_per_mtok + output_per_mtok) * 2 < 3"
    clause = parse(text).where.operands[1]
    assert text[clause.span.start : clause.span.end] == "(input_per_mtok + output_per_mtok) * 2 < 3"
    grouped = clause.left.left
    assert text[grouped.span.start : grouped.span.end] == "(input_per_mtok + output_per_mtok)"


@pytest.mark.parametrize(
    ("text", "word", "hint"),
    [
        ("supports chat andhealthy", "andhealthy", "a space is missing: `and healthy`"),
        ("supports chat orderby input_per_mtok", "orderby", "a space is missing: `order by`"),
        ("healthy orr supports chat", "orr", "did you mean `or`?"),
        ("suports chat", "suports", "did you mean `supports`?"),
        ("NOT healthy", "NOT", "keywords are lower case: `not`"),
        ("healthy order by input_per_mtok dsc", "dsc", "did you mean `desc`?"),
        ("healthy order by input_per_mtok descending", "descending", "did you mean `desc`?"),
        ("supports chat and and healthy", "and", "`and` and `and` in a row: drop one"),
        ('provider <> "x"', "<>", "write `!=` for not equal"),
        (
            "healthy order by output_per_mtok limit 3",
            "limit",
            "`order by` takes ranking keys separated by commas, and ends the policy",
        ),
        ("output_per_mtok<1andhealthy", "1and", "a space is missing: `1 and`"),
        ("output_per_mtok < 1.", ".", "a number needs digits after the point: 1.0"),
    ],
)
def test_a_slip_is_pointed_at_with_a_hint(text, word, hint):
    with pytest.raises(PolicyError) as info:
        parse(text)
    error = info.value
    assert text[error.column - 1 : error.column - 1 + error.length] == word
    assert error.hint == hint


def test_keywords_are_whole_words():
    """`andhealthy` is never read as `and healthy`, nor `nothing` as `not hing`."""
    with pytest.raises(PolicyError):
        parse("supports chat andhealthy")
    assert parse("has slug or healthy") == parse("has slug or  healthy")


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("provider == \u201cQwen\u201d", "use straight quotes: \" or '"),
        ("output_per_mtok \u2264 1", "write <=, >= or !="),
    ],
)
def test_typographic_characters_get_a_hint(text, hint):
    with pytest.raises(PolicyError) as info:
        parse(text)
    assert info.value.hint == hint


def test_a_policy_of_only_comments_is_empty():
    with pytest.raises(PolicyError, match="the policy is empty"):
        parse("# cheapest first\n  # nothing else")


def test_caret_counts_wide_characters_as_two_cells():
    with pytest.raises(PolicyError) as info:
        policyeng.compile('provider == "\u65e5\u672c\u8a9e" and contxt > 1')
    line, caret = str(info.value).splitlines()[1:3]
    assert caret == "  " + " " * (len('provider == "" and ') + 6) + "^" * len("contxt")
    assert line.startswith("  provider")
