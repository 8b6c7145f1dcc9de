"""`matches` globs: the same answers as the reference interpreter, in bounded time.

A glob written as one regular expression (``*`` as ``.*``) backtracks
exponentially on patterns such as ``*?*?*?*?*#``: one policy from a pull
request, or one request to the decision server, could stall evaluation for
minutes. The matcher splits a pattern at its stars; these tests hold it to the
reference interpreter and run the patterns that used to stall.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from properties.strategies import _glob

from policyeng.language.codegen import Glob

GLOBS = st.text(st.sampled_from("ab?*\n."), max_size=10)
TEXTS = st.text(st.sampled_from("abc\n."), max_size=14)


@settings(max_examples=2000, deadline=None)
@given(pattern=GLOBS, text=TEXTS)
def test_the_matcher_agrees_with_the_reference_interpreter(pattern, text):
    assert Glob(pattern)(text.casefold()) == _glob(pattern, text)


@pytest.mark.parametrize(
    "pattern, text, expected",
    [
        ("*", "", True),
        ("", "", True),
        ("", "a", False),
        ("?", "", False),
        ("a*a", "a", False),  # the head and the tail may not overlap
        ("a*a", "aa", True),
        ("*ab*ab*", "abab", True),
        ("*ab*ab*", "aba", False),
        ("qwen*-?b*", "qwen2.5-7b-instruct", True),
        ("a.b", "axb", False),  # regular-expression characters are literal
        ("a\nb", "a\nb", True),
    ],
)
def test_edge_cases(pattern, text, expected):
    assert Glob(pattern)(text) is expected
    assert _glob(pattern, text) is expected


@pytest.mark.parametrize(
    "pattern, text",
    [
        ("*?" * 30 + "*#", "x" * 2_000),
        ("*a" * 50 + "*b", "a" * 10_000),
        ("*" + "?" * 500 + "*#", "y" * 10_000),
    ],
)
def test_patterns_that_backtracked_exponentially_answer(pattern, text):
    # With `.*` regular expressions each of these ran for longer than any CI job.
    assert Glob(pattern)(text) is False
    assert Glob(pattern)(text + "#" if pattern.endswith("#") else text + "b") is True
