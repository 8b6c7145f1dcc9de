"""`matches` compares by Unicode case folding; text ordering is by code point.

``re.IGNORECASE`` made ``"straße"`` miss ``"STRASSE"`` while ``"İ"`` matched
``"i"``; ``matches`` now folds both the pattern and the value with
``str.casefold()``, and the reference interpreter of the property tests agrees.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from properties.strategies import _glob

import policyeng
from policyeng.catalog.model import Catalog


def matching(pattern: str, names: list[str]) -> list[str]:
    catalog = Catalog.from_entries([{"model_name": n, "category": "text"} for n in names])
    policy = policyeng.compile(f"model_name matches {pattern!r}")
    return [e["model_name"] for e in policy.filter(catalog)]


@pytest.mark.parametrize(
    "pattern, name, matches",
    [
        ("straße", "STRASSE", True),
        ("STRASSE", "straße", True),
        ("*SS*", "Maße-7B", True),
        ("ΣΑΣ", "σας", True),  # final sigma folds to sigma
        ("ǅ*", "ǆemal", True),  # title case folds too
        ("ﬁne-*", "FINE-tuned", True),  # a ligature folds to its letters
        ("İ", "i", False),  # İ folds to i + combining dot: not a plain i
        ("i", "I", True),
        ("qwen-?b", "QWEN-7B", True),
    ],
)
def test_matches_folds_case_on_both_sides(pattern, name, matches):
    assert matching(pattern, [name]) == ([name] if matches else [])


#: Letters whose folding differs from lower(): sharp s, the sigmas, dotted I, the
#: dz digraphs, the fi ligature; plus the wildcards.
FOLDING = st.text(st.sampled_from("aAßSs\u03c3\u03c2\u03a3İiIǅǆǄﬁFé*?-"), max_size=8)


@settings(max_examples=300, deadline=None)
@given(pattern=FOLDING, name=FOLDING.filter(lambda n: n.strip() != ""))
def test_the_engine_and_the_reference_interpreter_agree_on_folding(pattern, name):
    assert (matching(pattern, [name]) == [name]) == _glob(pattern, name)


def test_text_ordering_is_by_code_point():
    catalog = Catalog.from_entries(
        [
            {"model_name": f"m{i}", "category": "text", "provider": p}
            for i, p in enumerate(["b", "B", "é", "Z", "a", "É"])
        ]
    )
    ranked = policyeng.compile("true order by provider").rank(catalog)
    assert [e["provider"] for e in ranked] == ["B", "Z", "a", "b", "É", "é"]
