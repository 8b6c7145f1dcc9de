"""A fallback-free policy in a file selects exactly what its compiled text selects."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

import policyeng
from policyeng.policies.parsing import parse_policy_file

ATOMS = [
    "healthy",
    "supports chat",
    "supports tool_use",
    "not (supports vision)",
    "output_per_mtok < 1",
    "input_per_mtok <= 0.5",
    "has output_per_mtok",
    "context_window >= 32k",
    'category in ["text", "code"]',
    "category != 'embedding'",
    'model_name matches "m-*"',
    "3 * input_per_mtok + output_per_mtok < 2",
    "provider == 'acme' or healthy",
]
KEYS = [
    "output_per_mtok",
    "input_per_mtok desc",
    "context_window desc",
    "3 * input_per_mtok + output_per_mtok",
    "healthy desc",
    "provider",
    "model_name desc",
    "supports tool_use desc",
]
price = st.one_of(st.none(), st.sampled_from([0, 0.05, 0.2, 0.5, 1, 2.5]))
entries = st.lists(
    st.fixed_dictionaries(
        {
            "model_name": st.text("abcm-", min_size=1, max_size=4),
            "category": st.sampled_from(["text", "code", "vision", "embedding", "rerank"]),
            "supports": st.lists(st.sampled_from(["chat", "tool_use", "vision"]), unique=True),
            "health_status": st.sampled_from(["healthy", "degraded"]),
            "provider": st.sampled_from(["acme", "zeta"]),
            "input_per_mtok": price,
            "output_per_mtok": price,
            "context_window": st.sampled_from([4096, 32000, 128000]),
        }
    ),
    max_size=8,
    unique_by=lambda e: e["model_name"],
)


def as_yaml_scalar(text: str, style: str) -> str:
    if style == "plain":
        return text
    if style == "double":
        return json.dumps(text)
    if style == "single":
        return "'" + text.replace("'", "''") + "'"
    return "|\n      " + text


def outcome(select):
    try:
        selection = select()
    except policyeng.NoMatch:
        return None
    return selection.model_name, [e["model_name"] for e in selection.candidates]


@settings(max_examples=150, deadline=None)
@given(
    atoms=st.lists(st.sampled_from(ATOMS), min_size=1, max_size=3),
    keys=st.lists(st.sampled_from(KEYS), max_size=3),
    style=st.sampled_from(["plain", "double", "single", "block"]),
    data=entries,
)
def test_book_select_equals_compiled_policy_select(atoms, keys, style, data):
    where = " and ".join(f"({a})" if " or " in a else a for a in atoms)
    lines = ["version: 1", "policies:", "  p:", f"    where: {as_yaml_scalar(where, style)}"]
    if keys:
        lines.append("    order_by: " + json.dumps(keys))
    book = policyeng.PolicyBook(parse_policy_file("\n".join(lines) + "\n"))
    catalog = policyeng.Catalog.from_entries(data)
    text = where + (" order by " + ", ".join(keys) if keys else "")
    expected = outcome(lambda: policyeng.compile(text).select(catalog))
    assert outcome(lambda: book.select("p", catalog)) == expected
    if expected is not None:
        selection = book.select("p", catalog)
        assert (selection.policy, selection.via) == ("p", None)
