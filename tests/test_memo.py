"""Validation remembered by body digest: reused for the same body, redone for another."""

from __future__ import annotations

import pytest

import policyeng
from policyeng import CatalogWarning
from policyeng.catalog import load_catalog

ENTRIES = [
    {"model_name": "a", "category": "text"},
    {"model_name": "bad", "input_per_mtok": -1},
    {"model_name": "a", "category": "code"},
    {"model_name": "b", "category": "text"},
]


def load_quietly(path):
    with pytest.warns(CatalogWarning) as record:
        catalog = load_catalog(path)
    return catalog, [str(w.message) for w in record]


def test_a_remembered_body_skips_validation_and_keeps_its_warnings(write_catalog, monkeypatch):
    path = write_catalog(ENTRIES)
    first, first_warnings = load_quietly(path)

    def must_not_run(data):
        raise AssertionError("validated again")

    monkeypatch.setattr("policyeng.catalog.validation.validate_entries", must_not_run)
    again, again_warnings = load_quietly(path)
    assert [e["model_name"] for e in again] == [e["model_name"] for e in first] == ["a", "b"]
    assert again.get("a")["category"] == "text" and again.get("a")["endpoint"]
    assert again.skipped == first.skipped and again_warnings == first_warnings
    assert len(first_warnings) == 2


def test_a_changed_body_is_validated_afresh(write_catalog):
    path = write_catalog(ENTRIES)
    load_quietly(path)
    write_catalog([{"model_name": "c", "context_window": 1.5}, {"model_name": "d"}])
    catalog, messages = load_quietly(path)
    assert [e["model_name"] for e in catalog] == ["d"]
    assert "'c': context_window: 1.5 is not of type" in messages[0]


def test_an_unwritable_memo_only_costs_time(write_catalog, monkeypatch, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    monkeypatch.setenv("POLICYENG_CACHE_DIR", str(blocker))
    path = write_catalog([{"model_name": "ok", "category": "text"}])
    for _ in range(2):  # the second load finds no memo and validates again
        assert policyeng.select("true", load_catalog(path)).model_name == "ok"
    assert blocker.read_text() == "" and blocker.is_file()
    assert not list(tmp_path.glob("*.tmp"))  # no temporary file left behind


def test_a_damaged_memo_is_ignored(write_catalog, tmp_path, monkeypatch):
    monkeypatch.setenv("POLICYENG_CACHE_DIR", str(tmp_path / "cache"))
    path = write_catalog(ENTRIES)
    load_quietly(path)
    memos = list((tmp_path / "cache").glob("*.validated"))
    assert len(memos) == 1
    memos[0].write_text("{not json")
    catalog, messages = load_quietly(path)
    assert [e["model_name"] for e in catalog] == ["a", "b"] and len(messages) == 2
