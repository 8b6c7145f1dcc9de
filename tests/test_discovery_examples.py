"""The provider's documented jq filters, rewritten as policies, agree with plain Python.

From the model discovery page: all tool-calling models, all vision-capable
models, and the names and prices of embedding models.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import policyeng
from policyeng.catalog.sources import BUILTIN_PATH

DATA = Path(__file__).parent / "data"
CATALOGS = [Path(BUILTIN_PATH), DATA / "openrouter.json", DATA / "litellm-2026-07-sample.json"]

# jq '[.[] | select(.supports | index("TAG"))]'  ->  policy 'supports TAG'
EXAMPLES = {
    "tool_use": "supports tool_use",
    "vision": "supports vision",
    "embeddings": "supports embeddings",
}


def jq_equivalent(raw: list[dict], tag: str) -> list[str]:
    return [e["model_name"] for e in raw if tag in (e.get("supports") or [])]


@pytest.mark.parametrize("path", CATALOGS, ids=lambda p: p.name)
@pytest.mark.parametrize("tag", EXAMPLES)
def test_documented_filter_as_a_policy_matches_plain_python(path, tag):
    raw = json.loads(path.read_text())
    catalog = policyeng.load_catalog(path)
    assert len(catalog) == len(raw)
    names = [e["model_name"] for e in policyeng.compile(EXAMPLES[tag]).filter(catalog)]
    assert names == jq_equivalent(raw, tag)


def test_embedding_names_and_prices_as_a_policy():
    # jq '[.[] | select(.supports | index("embeddings")) | {model_name, input_per_mtok}]'
    path = DATA / "litellm-2026-07-sample.json"
    raw = json.loads(path.read_text())
    expected = [
        {"model_name": e["model_name"], "input_per_mtok": e.get("input_per_mtok")}
        for e in raw
        if "embeddings" in (e.get("supports") or [])
    ]
    assert expected, "the sample must hold embedding models"
    found = [
        {"model_name": e["model_name"], "input_per_mtok": e.get("input_per_mtok")}
        for e in policyeng.compile("supports embeddings").filter(policyeng.load_catalog(path))
    ]
    assert found == expected


def test_cheapest_embedding_model_matches_a_hand_written_min():
    path = DATA / "litellm-2026-07-sample.json"
    raw = json.loads(path.read_text())
    pickable = [
        e
        for e in raw
        if "embeddings" in (e.get("supports") or [])
        and e.get("category") == "embedding"
        and e.get("input_per_mtok") is not None
    ]
    best = min(pickable, key=lambda e: (e["input_per_mtok"], e["model_name"]))
    selection = policyeng.select("supports embeddings order by input_per_mtok", str(path))
    assert selection.model_name == best["model_name"]
    assert selection.endpoint == "/v1/embeddings"
