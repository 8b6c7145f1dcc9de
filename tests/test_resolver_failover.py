"""Failover in the resolver: breakers skip models, fallbacks take over, everything open
degrades rather than failing; sticky picks from a lock; one change event per change."""

from __future__ import annotations

import json
import logging

import pytest
from resolver_helpers import CATALOG, POLICIES, model

from policyeng import Resolver
from policyeng.runtime.clock import ManualClock


@pytest.fixture
def policies(write):
    return write("policies/main.yaml", POLICIES)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def resolver(policies, write_catalog, clock):
    with Resolver(
        policies, catalog=str(write_catalog(CATALOG)), clock=clock, cooldown=30, allowed_fails=3
    ) as running:
        yield running


def pick(resolver: Resolver, name: str = "chat") -> tuple[str, str | None, bool]:
    selection = resolver.select(name)
    return selection.model_name, selection.via, selection.degraded


def test_open_breakers_walk_the_candidates_then_the_fallbacks_then_degrade(resolver):
    changes = []
    resolver.on_change(changes.append)
    assert pick(resolver) == ("a", None, False)
    resolver.report_failure("a", status=429)
    assert pick(resolver) == ("b", None, False)
    resolver.report_failure("b", status=401)
    assert pick(resolver) == ("c", None, False)
    resolver.report_failure("c", status=404)
    assert pick(resolver) == ("e", "backup", False)
    resolver.report_failure("e", status=403)
    assert pick(resolver) == ("a", None, True)  # every candidate open: the best, degraded
    assert pick(resolver, "backup") == ("e", None, True)
    assert [(c.old, c.new, c.reason) for c in changes if c.name == "chat"] == [
        ("a", "b", "breaker"),
        ("b", "c", "breaker"),
        ("c", "e", "breaker"),
        ("e", "a", "breaker"),
    ]
    assert [m["model_name"] for m in resolver.status()["open"]] == ["a", "b", "c", "e"]


def test_a_breaker_closes_after_the_cooldown(resolver, clock):
    changes = []
    resolver.on_change(changes.append)
    resolver.report_failure("a", status=429)
    assert pick(resolver) == ("b", None, False)
    clock.advance(29)
    assert pick(resolver) == ("b", None, False)
    clock.advance(1)
    assert pick(resolver) == ("a", None, False)
    assert resolver.status()["open"] == []
    assert [(c.old, c.new, c.reason) for c in changes] == [
        ("a", "b", "breaker"),
        ("b", "a", "breaker"),
    ]


def test_retry_after_sets_how_long_the_model_is_skipped(resolver, clock):
    resolver.report_failure("a", status=503, retry_after=5)
    assert pick(resolver)[0] == "b"
    clock.advance(5)
    assert pick(resolver)[0] == "a"


def test_counted_failures_open_past_allowed_fails(resolver):
    for _ in range(3):
        resolver.report_failure("a", status=502)
        assert pick(resolver)[0] == "a"
    resolver.report_failure("a")  # no status: a timeout or a refused connection
    assert pick(resolver)[0] == "b"


def test_the_requests_own_fault_does_not_count(resolver):
    for _ in range(10):
        resolver.report_failure("a", status=400)
    assert pick(resolver)[0] == "a"


def test_a_success_closes_the_breaker(resolver):
    resolver.report_failure("a", status=429)
    resolver.report_success("a")
    assert pick(resolver)[0] == "a"


def test_an_unknown_model_is_ignored_with_a_debug_log(resolver, caplog):
    with caplog.at_level(logging.DEBUG, logger="policyeng"):
        resolver.report_failure("no-such-model", status=500)
        resolver.report_failure(None)  # type: ignore[arg-type]
    assert "report_failure('no-such-model'): not a model of the catalog; ignored" in caplog.text
    assert resolver.status()["open"] == []


def test_expressions_fail_over_too(resolver):
    expression = "supports chat order by output_per_mtok"
    resolver.report_failure("a", status=429)
    assert resolver.select(expression).model_name == "b"


def lock_file(write, picks: dict[str, str]) -> str:
    data = {
        "version": 1,
        "catalog": {"source": "x", "sha256": "0" * 64},
        "policies": {
            name: {"model_name": m, "endpoint": "/v1/chat/completions", "via": None}
            for name, m in picks.items()
        },
    }
    return write("policies.lock", json.dumps(data))


def test_a_locked_pick_is_kept_while_valid_and_released_with_a_change(
    policies, write, write_catalog
):
    path = write_catalog(CATALOG)
    lock = lock_file(write, {"chat": "b"})
    with Resolver(policies, catalog=str(path), lock=lock) as resolver:
        changes = []
        resolver.on_change(changes.append)
        assert pick(resolver) == ("b", None, False)  # a is cheaper, but b is locked
        resolver.report_failure("b", status=429)
        assert pick(resolver) == ("a", None, False)
        resolver.report_success("b")
        assert pick(resolver) == ("b", None, False)  # sticky again
        path.write_text(json.dumps([model("a", 1), model("b", 2, health="down")]))
        resolver.refresh()
        assert pick(resolver) == ("a", None, False)
        path.write_text(json.dumps([model("a", 1)]))
        resolver.refresh()
    assert [(c.old, c.new, c.reason) for c in changes if c.name == "chat"] == [
        ("b", "a", "breaker"),
        ("a", "b", "breaker"),
        ("b", "a", "fails"),
    ]


def test_a_lock_not_honoured_at_start_is_a_change(policies, write, write_catalog):
    lock = lock_file(write, {"chat": "gone"})
    resolver = Resolver(policies, catalog=str(write_catalog(CATALOG)), lock=lock)
    changes = []
    resolver.on_change(changes.append)
    with resolver:
        assert pick(resolver)[0] == "a"
    assert [(c.name, c.old, c.new, c.reason) for c in changes] == [("chat", "gone", "a", "removed")]


def test_change_reasons_for_catalog_changes(policies, write_catalog):
    path = write_catalog(CATALOG)
    with Resolver(policies, catalog=str(path)) as resolver:
        changes = []
        resolver.on_change(changes.append)
        resolver.select("chat")
        steps = [
            [
                model("a", 5),
                model("b", 2),
                model("e", 1, supports=("embeddings",), category="embedding"),
            ],  # outranked
            [
                model("a", 2),
                model("b", 2),
                model("e", 1, supports=("embeddings",), category="embedding"),
            ],  # tie-break
            [
                model("a", 2, health="down"),
                model("e", 1, supports=("embeddings",), category="embedding"),
            ],  # fallback: a fails
        ]
        for entries in steps:
            path.write_text(json.dumps(entries))
            resolver.refresh()
    assert [(c.old, c.new, c.reason) for c in changes] == [
        ("a", "b", "outranked"),
        ("b", "a", "tie-break"),
        ("a", "e", "fallback"),
    ]
    assert (
        changes[0].detail == "b ranks ahead on output_per_mtok: 2 against 5 for a; a's "
        "output_per_mtok moved from 1 to 5"
    )
    assert changes[1].detail.startswith("a ties with b on output_per_mtok = 2")
    assert changes[2].detail.startswith("chat matches nothing now (a fails clause 2 `healthy`")


def test_log_records_show_a_hostile_model_name_escaped(policies, write_catalog, clock, caplog):
    hostile = "a\x1b]0;PWNED\x07\x1b[2J\nforged log line"
    catalog = [model(hostile, 1), *CATALOG[1:]]
    with Resolver(policies, catalog=str(write_catalog(catalog)), clock=clock) as resolver:
        assert resolver.select("chat").model_name == hostile
        with caplog.at_level(logging.INFO, logger="policyeng"):
            resolver.report_failure(hostile, status=429)
            assert resolver.select("chat").model_name == "b"
            resolver.report_success(hostile)
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) >= 3  # skipped, pick changed (twice), used again
    assert any("\\u001b]0;PWNED" in m for m in messages)
    assert not any("\x1b" in m or "\n" in m or "\x07" in m for m in messages)
