"""The drift classifier agrees with a recomputation from first principles, for random edits.

A real catalog slice (the ``groq`` entries of a price table) is edited at
random the ways catalogs change: models removed, repriced, gone unhealthy,
recategorised, stripped of a tag, new ones added. For each edit the reason
``classify_drift`` gives is checked against what the edited catalog says on
its own: ``removed`` iff the locked name is absent, ``outranked`` iff the
locked model still passes and ranks below the new pick on a key, and so on.
"""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from policyeng.catalog.model import Catalog
from policyeng.diagnose import classify_drift, resolution
from policyeng.policies.book import load_policies
from policyeng.policies.lock import chain_of

DATA = Path(__file__).resolve().parent.parent / "data"
ENTRIES = json.loads((DATA / "groq-2026-03.json").read_text())
NAMES = [e["model_name"] for e in ENTRIES]
BOOK = load_policies(DATA / "drift.yaml")
OLD = Catalog.from_entries(ENTRIES)

prices = st.one_of(
    st.none(), st.sampled_from([0.0, 0.08, 0.3, 0.5]), st.floats(0, 2, allow_nan=False)
)
edits = st.one_of(
    st.tuples(st.just("remove"), st.sampled_from(NAMES)),
    st.tuples(st.just("price"), st.sampled_from(NAMES), prices),
    st.tuples(
        st.just("health"), st.sampled_from(NAMES), st.sampled_from(["healthy", "degraded", "down"])
    ),
    st.tuples(
        st.just("category"),
        st.sampled_from(NAMES),
        st.sampled_from(["text", "code", "rerank", "audio"]),
    ),
    st.tuples(st.just("untag"), st.sampled_from(NAMES), st.sampled_from(["tool_use", "chat"])),
    st.tuples(
        st.just("add"),
        st.sampled_from(["groq/aaa", "groq/zzz", "groq/m"]),
        prices,
        st.sampled_from([8192, 128000, 262144]),
    ),
)


def edited(changes: list[tuple]) -> Catalog:
    entries = [dict(e, supports=list(e.get("supports", []))) for e in ENTRIES]
    for change in changes:
        kind, name = change[0], change[1]
        found = [e for e in entries if e["model_name"] == name]
        if kind == "remove":
            entries = [e for e in entries if e["model_name"] != name]
        elif kind == "add" and not found:
            entries.append(
                {
                    "model_name": name,
                    "category": "text",
                    "health_status": "healthy",
                    "supports": ["chat", "tool_use"],
                    "output_per_mtok": change[2],
                    "context_window": change[3],
                }
            )
        for entry in found:
            if kind == "price":
                entry["output_per_mtok"] = change[2]
            elif kind == "health":
                entry["health_status"] = change[2]
            elif kind == "category":
                entry["category"] = change[2]
            elif kind == "untag":
                entry["supports"] = [t for t in entry["supports"] if t != change[2]]
    return Catalog.from_entries([{k: v for k, v in e.items() if v is not None} for e in entries])


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["chat", "any-chat"]), st.lists(edits, min_size=1, max_size=6))
def test_the_reason_matches_an_independent_recomputation(name, changes):
    chain = chain_of(BOOK, name)
    locked = resolution(chain, OLD)
    new = edited(changes)
    now = resolution(chain, new)
    drift = classify_drift(locked, chain, new)
    same = now is not None and all(now[k] == locked[k] for k in ("model_name", "endpoint", "via"))
    assert (drift is None) == same
    if drift is None:
        return
    reason = drift["reason"]
    model = locked["model_name"]
    entry = new.get(model)
    then = dict(chain)[locked["via"] or name]
    via_moved = now is not None and now["via"] != locked["via"]
    assert (reason == "fallback") == via_moved
    if via_moved:
        return
    assert (reason == "removed") == (entry is None)
    if entry is None:
        return
    assert (reason == "fails") == (not then.matches(entry))
    if reason == "fails":
        assert not then.clause_tests[drift["detail"]["clause"] - 1](entry)
        assert all(test(entry) for test in then.clause_tests[: drift["detail"]["clause"] - 1])
        return
    assert (reason == "no-endpoint") == ("endpoint" not in entry)
    if reason == "no-endpoint":
        return
    if model == now["model_name"]:  # the same model, through another endpoint now
        assert reason == "endpoint" and entry["endpoint"] != locked["endpoint"]
        return
    assert reason in ("outranked", "tie-break")
    ranked = [e["model_name"] for e in then.rank(new) if "endpoint" in e]
    assert ranked[0] == now["model_name"]
    assert ranked.index(model) > 0  # it still passes, but ranks below the new pick
    winner = new.get(now["model_name"])
    keys_equal = all(value(winner) == value(entry) for value in then.key_values)
    assert (reason == "tie-break") == keys_equal
    if reason == "outranked":
        assert drift["detail"]["winner"]["value"] != drift["detail"]["locked_value"]
    assert drift["detail"]["winner"]["was_candidate"] == (now["model_name"] in locked["candidates"])
