"""policy.explain(): the funnel's counts, the ranking, and "why not this model"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import policyeng
from policyeng.catalog import Catalog
from policyeng.diagnose import funnel

DATA = Path(__file__).parent / "data"
SAMPLE = DATA / "litellm-2026-07-sample.json"  # every 10th entry of a real catalog


# --- the funnel, against counts computed here by hand --------------------------------------


def _supports(tag):
    return lambda e: tag in (e.get("supports") or [])


def _price_at_least_5(e):
    return e.get("output_per_mtok") is not None and e["output_per_mtok"] >= 5


def _reasoning_or_openai(e):
    return e.get("category") == "reasoning" or e.get("provider") == "openai"


def _healthy(e):
    return e.get("health_status") == "healthy"


def _counts(test, entries):
    passed = [e for e in entries if test(e)]
    dropped = [e for e in entries if not test(e)]
    return passed, {
        "entered": len(entries),
        "passed": len(passed),
        "dropped": len(dropped),
        "dropped_examples": [e["model_name"] for e in dropped[:3]],
    }


def _numbers(step):
    keys = ("entered", "passed", "dropped", "dropped_examples")
    return {k: step[k] for k in keys}


def test_funnel_counts_match_counts_computed_independently_on_a_real_catalog():
    raw = json.loads(SAMPLE.read_text())
    policy = policyeng.compile(
        'supports tool_use and (category == "reasoning" or provider == "openai") '
        "and not (output_per_mtok >= 5) and healthy"
    )
    data = policy.explain(policyeng.load_catalog(str(SAMPLE)))

    entries = raw
    expected = []
    for test in (
        _supports("tool_use"),
        _reasoning_or_openai,
        lambda e: not _price_at_least_5(e),
        _healthy,
    ):
        entered = entries
        entries, numbers = _counts(test, entered)
        expected.append((entered, numbers))
    assert [_numbers(s) for s in data["funnel"]] == [n for _, n in expected]
    assert [s["clause"] for s in data["funnel"]] == [
        "supports tool_use",
        '(category == "reasoning" or provider == "openai")',
        "not (output_per_mtok >= 5)",
        "healthy",
    ]
    # every real clause drops something here, so the counts are not trivially equal
    assert all(s["dropped"] > 0 for s in data["funnel"])

    # under `or`, each alternative is counted over the models that reached the `or`
    or_step = data["funnel"][1]
    reached = expected[1][0]
    assert [_numbers(c) for c in or_step["children"]] == [
        _counts(lambda e: e.get("category") == "reasoning", reached)[1],
        _counts(lambda e: e.get("provider") == "openai", reached)[1],
    ]
    assert [c["clause"] for c in or_step["children"]] == [
        'category == "reasoning"',
        'provider == "openai"',
    ]
    # a `not` of a single comparison is a leaf: its own line says it all
    assert data["funnel"][2]["children"] == []
    assert data["passed"] == len(entries)
    assert data["pickable"] == sum(1 for e in entries if e["category"] != "rerank")


def test_funnel_tree_under_not_counts_each_part_of_the_inner_and():
    raw = json.loads(SAMPLE.read_text())
    policy = policyeng.compile("has output_per_mtok and not (healthy and supports tool_use)")
    (first, second) = policy.explain(policyeng.load_catalog(str(SAMPLE)))["funnel"]
    reached, _ = _counts(lambda e: e.get("output_per_mtok") is not None, raw)
    assert (
        _numbers(second)
        == _counts(lambda e: not (_healthy(e) and _supports("tool_use")(e)), reached)[1]
    )
    (inner,) = second["children"]
    assert inner["clause"] == "(healthy and supports tool_use)"
    assert (
        _numbers(inner) == _counts(lambda e: _healthy(e) and _supports("tool_use")(e), reached)[1]
    )
    # inside the inner `and`, a funnel again: the second part sees what the first kept
    healthy_ones, healthy_numbers = _counts(_healthy, reached)
    assert [_numbers(c) for c in inner["children"]] == [
        healthy_numbers,
        _counts(_supports("tool_use"), healthy_ones)[1],
    ]
    assert first["children"] == []


def test_top_level_funnel_agrees_with_the_no_match_funnel():
    policy = policyeng.compile("supports tool_use and output_per_mtok < 0.01 and healthy")
    catalog = policyeng.load_catalog("builtin")
    data = policy.explain(catalog)
    expected = funnel(policy, catalog)
    assert [{k: s[k] for k in expected[0]} for s in data["funnel"]] == expected
    assert data["pick"] is None and data["candidates"] == []


# --- candidates and keys --------------------------------------------------------------------


def entries(*specs):
    """Small in-memory catalog entries: (name, fields)."""
    base = {"category": "text", "supports": ["chat", "tool_use"], "health_status": "healthy"}
    return Catalog.from_entries([{**base, "model_name": name, **fields} for name, fields in specs])


CATALOG = entries(
    ("cheap", {"input_per_mtok": 0.1, "output_per_mtok": 0.2, "context_window": 32_000}),
    (
        "pricey",
        {
            "input_per_mtok": 1.0,
            "output_per_mtok": 1.2,
            "context_window": 128_000,
            "provider": "Qwen",
        },
    ),
    ("no-price", {"input_per_mtok": 0.1, "context_window": 8_000}),
    ("null-price", {"input_per_mtok": None, "output_per_mtok": None}),
    ("chat-only", {"supports": ["chat", "streaming"], "output_per_mtok": 0.1}),
    ("sick", {"health_status": "degraded", "output_per_mtok": 0.1}),
    ("picture", {"category": "image", "output_per_mtok": 0.0, "max_output": 1}),
    ("reranker", {"category": "rerank", "output_per_mtok": 0.0}),
    ("also-cheap", {"input_per_mtok": 0.3, "output_per_mtok": 0.2, "context_window": 64_000}),
)


def test_candidates_carry_rank_keys_missing_values_and_the_pick():
    policy = policyeng.compile("supports chat order by output_per_mtok, context_window desc")
    data = policy.explain(CATALOG)
    assert data["order_by"] == ["output_per_mtok", "context_window desc"]
    rows = [(c["rank"], c["model_name"], c["keys"], c["picked"]) for c in data["candidates"]]
    assert rows == [
        (1, "picture", [0.0, None], True),
        (2, "reranker", [0.0, None], False),
        (3, "chat-only", [0.1, None], False),
        (4, "sick", [0.1, None], False),
        (5, "also-cheap", [0.2, 64_000], False),
        (6, "cheap", [0.2, 32_000], False),
        (7, "pricey", [1.2, 128_000], False),
        (8, "no-price", [None, 8_000], False),
        (9, "null-price", [None, None], False),
    ]
    assert data["candidates"][1]["endpoint"] is None
    assert data["pick"] == "picture"


# --- why not ------------------------------------------------------------------------------


def why(policy: str, model: str) -> dict:
    return policyeng.compile(policy).explain(CATALOG, model=model)["model"]


@pytest.mark.parametrize(
    ("policy", "model", "clause", "reason", "values"),
    [
        (
            "supports chat and supports tool_use",
            "chat-only",
            "supports tool_use",
            "supports = [chat, streaming], needs tool_use",
            {"supports": ["chat", "streaming"]},
        ),
        (
            "output_per_mtok < 1",
            "pricey",
            "output_per_mtok < 1",
            "output_per_mtok = 1.2, needs < 1",
            {"output_per_mtok": 1.2},
        ),
        (
            "output_per_mtok < 1",
            "no-price",
            "output_per_mtok < 1",
            "output_per_mtok is missing, so output_per_mtok < 1 is false",
            {"output_per_mtok": None},
        ),
        (
            "output_per_mtok < 1",
            "null-price",
            "output_per_mtok < 1",
            "output_per_mtok is missing, so output_per_mtok < 1 is false",
            {"output_per_mtok": None},
        ),
        (
            'category in ["text", "code"]',
            "picture",
            'category in ["text", "code"]',
            'category = "image", needs in ["text", "code"]',
            {"category": "image"},
        ),
        (
            'provider not in ["Qwen"]',
            "pricey",
            'provider not in ["Qwen"]',
            'provider = "Qwen", needs not in ["Qwen"]',
            {"provider": "Qwen"},
        ),
        (
            'model_name matches "ch*"',
            "pricey",
            'model_name matches "ch*"',
            'model_name = "pricey", needs matches "ch*"',
            {"model_name": "pricey"},
        ),
        (
            'provider matches "q*"',
            "cheap",
            'provider matches "q*"',
            'provider is missing, so provider matches "q*" is false',
            {"provider": None},
        ),
        (
            "has max_output",
            "cheap",
            "has max_output",
            "max_output is missing (absent or null), needs has max_output",
            {"max_output": None},
        ),
        (
            "healthy",
            "sick",
            "healthy",
            'health_status = "degraded", needs "healthy"',
            {"healthy": False, "health_status": "degraded"},
        ),
        (
            "3 * input_per_mtok + output_per_mtok < 2",
            "pricey",
            "3 * input_per_mtok + output_per_mtok < 2",
            "3 * input_per_mtok + output_per_mtok = 4.2 (input_per_mtok = 1; "
            "output_per_mtok = 1.2), needs < 2",
            {"input_per_mtok": 1.0, "output_per_mtok": 1.2},
        ),
        (
            "input_per_mtok >= output_per_mtok",
            "cheap",
            "input_per_mtok >= output_per_mtok",
            "input_per_mtok = 0.1; output_per_mtok = 0.2, needs input_per_mtok >= output_per_mtok",
            {"input_per_mtok": 0.1, "output_per_mtok": 0.2},
        ),
        (
            'not (provider == "Qwen")',
            "pricey",
            'not (provider == "Qwen")',
            'provider = "Qwen", so (provider == "Qwen") holds and `not` drops it',
            {"provider": "Qwen"},
        ),
    ],
)
def test_why_not_names_the_failing_predicate_and_the_models_values(
    policy, model, clause, reason, values
):
    answer = why(policy, model)
    assert answer["status"] == "dropped"
    assert (answer["failed"], answer["reason"], answer["values"]) == (clause, reason, values)


def test_why_not_reports_the_first_failing_top_level_clause_in_order():
    answer = why("supports chat and healthy and output_per_mtok < 1 and has max_output", "sick")
    assert (answer["clause_index"], answer["clauses"], answer["clause"]) == (2, 4, "healthy")


def test_why_not_under_or_lists_every_alternative():
    answer = why('healthy and (provider == "Qwen" or output_per_mtok < 0.15)', "cheap")
    assert answer["clause"] == '(provider == "Qwen" or output_per_mtok < 0.15)'
    assert [(a["clause"], a["reason"]) for a in answer["alternatives"]] == [
        ('provider == "Qwen"', 'provider is missing, so provider == "Qwen" is false'),
        ("output_per_mtok < 0.15", "output_per_mtok = 0.2, needs < 0.15"),
    ]


def test_why_not_inside_a_nested_and_points_at_the_part_that_fails():
    answer = why('supports chat and (healthy and provider == "Qwen" or has max_output)', "sick")
    assert answer["alternatives"][0]["failed"] == "healthy"
    assert answer["alternatives"][1]["reason"] == (
        "max_output is missing (absent or null), needs has max_output"
    )


def test_why_not_for_a_model_that_passed_but_ranked_lower_names_the_deciding_key():
    answer = why(
        "supports tool_use and healthy order by output_per_mtok, context_window desc", "cheap"
    )
    assert (answer["status"], answer["rank"], answer["of"], answer["pick"]) == (
        "ranked",
        4,
        7,
        "picture",
    )
    assert answer["keys"] == [0.2, 32_000]
    assert [(g["key"], g["count"], g["value"], g["examples"]) for g in answer["ahead_by"]] == [
        (
            "output_per_mtok",
            2,
            0.2,
            [{"model_name": "picture", "value": 0.0}, {"model_name": "reranker", "value": 0.0}],
        ),
        ("context_window desc", 1, 32_000, [{"model_name": "also-cheap", "value": 64_000}]),
    ]
    # the reranker ties with the pick on output_per_mtok: same key, not the tie-break
    assert why("supports tool_use order by output_per_mtok", "reranker")["status"] == "no-endpoint"


def test_why_not_for_a_model_beaten_only_by_the_name_tie_break():
    answer = why("supports tool_use and healthy", "cheap")
    assert answer["status"] == "ranked"
    (group,) = answer["ahead_by"]
    assert (group["key"], group["tie_break"], group["count"]) == (
        "model_name (the final tie-break)",
        True,
        1,
    )
    assert group["examples"] == [{"model_name": "also-cheap", "value": "also-cheap"}]


def test_why_not_for_the_pick_and_for_a_model_without_endpoint():
    assert why("supports tool_use order by output_per_mtok", "picture")["status"] == "picked"
    answer = why('category == "rerank"', "reranker")
    assert answer["status"] == "no-endpoint"
    assert answer["reason"] == (
        'it passes every clause, but its category "rerank" has no known endpoint, '
        "so it is never picked"
    )


def test_unknown_model_gets_did_you_mean():
    answer = why("healthy", "Cheap")
    assert answer == {"model_name": "Cheap", "status": "unknown", "did_you_mean": ["cheap"]}
    assert why("healthy", "rerankr")["did_you_mean"] == ["reranker"]
    assert why("healthy", "zzzz")["did_you_mean"] == []


def test_explain_is_plain_json_data():
    data = policyeng.compile("supports tool_use order by output_per_mtok").explain(
        CATALOG, model="pricey"
    )
    assert json.loads(json.dumps(data, allow_nan=False)) == data


@pytest.mark.parametrize(
    "text",
    [
        "supports tool_use and healthy order by output_per_mtok",
        'category in ["text", "code"] and context_window >= 32k '
        "order by 3 * input_per_mtok + output_per_mtok, model_name",
        'not (provider == "openai") and has output_per_mtok order by output_per_mtok desc',
        'category == "rerank" or supports embeddings order by healthy desc, input_per_mtok',
        'model_name matches "*gpt*" and (output_per_mtok < 2 or not healthy)',
    ],
)
def test_explain_agrees_with_filter_rank_and_select(text):
    policy = policyeng.compile(text)
    catalog = policyeng.load_catalog(str(SAMPLE))
    data = policy.explain(catalog)
    ranked = policy.rank(catalog)
    assert [c["model_name"] for c in data["candidates"]] == [e["model_name"] for e in ranked]
    assert data["funnel"][-1]["passed"] == data["passed"] == len(policy.filter(catalog))
    assert data["pick"] == policy.select(catalog).model_name
    # and every model's why-not agrees with its fate
    for entry in catalog:
        answer = policy.explain(catalog, model=entry["model_name"])["model"]
        if policy.matches(entry):
            assert answer["status"] in ("picked", "ranked", "no-endpoint")
            assert ranked[answer["rank"] - 1] is entry
            if answer["status"] == "ranked":
                assert sum(g["count"] for g in answer["ahead_by"]) == answer["rank"] - 1
        else:
            assert answer["status"] == "dropped" and answer["reason"]


def test_clauses_read_as_written_parentheses_included():
    policy = policyeng.compile(
        "healthy and not (output_per_mtok >= 5) and (input_per_mtok + output_per_mtok) * 2 < 3 "
        'and 1 < (context_window / 1k) and model_name matches "(x*" and (has slug or healthy)'
    )
    assert [s["clause"] for s in policy.explain(CATALOG)["funnel"]] == [
        "healthy",
        "not (output_per_mtok >= 5)",
        "(input_per_mtok + output_per_mtok) * 2 < 3",
        "1 < (context_window / 1k)",
        'model_name matches "(x*"',
        "(has slug or healthy)",
    ]
