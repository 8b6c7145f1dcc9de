"""Catalog loading: validation, skipped entries, duplicates, derived fields, errors."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

import policyeng
from policyeng import CatalogError, CatalogWarning
from policyeng.catalog import Catalog, load_catalog
from policyeng.catalog.sources import BUILTIN_PATH


def test_builtin_snapshot_is_valid_and_covers_every_category():
    catalog = load_catalog("builtin")
    assert catalog.skipped == []
    categories = {e.get("category") for e in catalog}
    assert categories >= {
        "text",
        "code",
        "reasoning",
        "multimodal",
        "vision",
        "embedding",
        "image",
        "audio",
        "video",
    }
    endpoints = {e["endpoint"] for e in catalog if e.get("category") == "audio"}
    assert endpoints == {"/v1/audio/speech", "/v1/audio/transcriptions"}
    assert catalog.fetched_at == "2026-11-20"
    assert {e["health_status"] for e in catalog} >= {"healthy", "degraded", "down"}


def test_sha256_is_of_the_body(write_catalog):
    path = write_catalog([{"model_name": "a", "category": "text"}])
    assert load_catalog(path).sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_invalid_entries_are_skipped_with_one_warning_each(write_catalog):
    path = write_catalog(
        [
            {"model_name": "good", "category": "text"},
            {"model_name": "neg", "input_per_mtok": -1},
            {"model_name": ""},
            {"category": "text"},
            "not an object",
            {"model_name": "tags", "supports": "chat"},
            {"model_name": "good", "category": "code"},
        ]
    )
    with pytest.warns(CatalogWarning) as record:
        catalog = load_catalog(path)
    assert [e["model_name"] for e in catalog] == ["good"]
    assert catalog.get("good")["category"] == "text"  # the first of a duplicate is kept
    messages = [str(w.message) for w in record]
    assert messages == [
        f"catalog {path}: skipped entry [1] 'neg': input_per_mtok: "
        "-1 is less than the minimum of 0",
        f"catalog {path}: skipped entry [2]: model_name: '' should be non-empty",
        f"catalog {path}: skipped entry [3]: 'model_name' is a required property",
        f"catalog {path}: skipped entry [4]: 'not an object' is not of type 'object'",
        f"catalog {path}: skipped entry [5] 'tags': supports: "
        "'chat' is not of type 'array', 'null'",
        f"catalog {path}: skipped entry [6] 'good': duplicate model_name; kept entry [0]",
    ]


def test_strict_turns_skipped_entries_into_an_error(write_catalog):
    path = write_catalog([{"model_name": "a"}, {"model_name": "b", "context_window": 1.5}])
    with pytest.raises(CatalogError) as info:
        load_catalog(path, strict=True)
    assert str(info.value) == (
        f"catalog {path}: 1 invalid entry (strict mode):\n"
        "  entry [1] 'b': context_window: 1.5 is not of type 'integer', 'null'\n"
        "hint: fix the source, or drop --strict (strict=False) to skip them with a warning"
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            '{"data": []}',
            "expected a JSON array of models (the /api/models shape), got a JSON object",
        ),
        ("[1, 2", "invalid JSON at line 1, column 6: Expecting ',' delimiter"),
        ('"models"', "expected a JSON array of models (the /api/models shape), got a str"),
    ],
)
def test_a_body_that_is_not_a_catalog_is_an_error(write_catalog, body, message):
    path = write_catalog(body)
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    assert str(info.value) == f"catalog {path}: {message}"


def test_missing_file_is_a_catalog_error(tmp_path):
    with pytest.raises(CatalogError, match="file not found"):
        load_catalog(tmp_path / "nope.json")


def test_non_finite_numbers_are_rejected(write_catalog):
    path = write_catalog('[{"model_name": "nan", "input_per_mtok": NaN}, {"model_name": "ok"}]')
    with pytest.warns(CatalogWarning, match="entry \\[0\\] 'nan': input_per_mtok"):
        catalog = load_catalog(path)
    assert [e["model_name"] for e in catalog] == ["ok"]


def test_null_fields_stay_missing_and_unknown_fields_are_kept(write_catalog):
    path = write_catalog([{"model_name": "a", "output_per_mtok": None, "extra": {"x": 1}}])
    entry = load_catalog(path).get("a")
    assert entry["output_per_mtok"] is None and entry["extra"] == {"x": 1}
    assert "endpoint" not in entry and entry["healthy"] is False


def test_unknown_category_is_kept_but_never_picked():
    catalog = Catalog.from_entries(
        [
            {"model_name": "a-rerank", "category": "rerank", "health_status": "healthy"},
            {"model_name": "b-chat", "category": "text", "health_status": "healthy"},
        ]
    )
    policy = policyeng.compile("healthy")
    assert [e["model_name"] for e in policy.rank(catalog)] == ["a-rerank", "b-chat"]
    assert policy.select(catalog).model_name == "b-chat"


def test_from_entries_does_not_modify_the_callers_dicts():
    raw = [{"model_name": "a", "category": "text"}]
    Catalog.from_entries(raw)
    assert raw == [{"model_name": "a", "category": "text"}]


def test_selection_carries_the_catalog_provenance():
    selection = policyeng.select("supports chat and healthy")
    assert selection.catalog["source"] == "builtin"
    assert len(selection.catalog["sha256"]) == 64
    assert selection.catalog["stale"] is False
    assert json.loads(json.dumps(selection.to_dict()))["model_name"] == selection.model_name


def test_no_match_explains_when_matches_have_no_endpoint():
    catalog = Catalog.from_entries(
        [{"model_name": "r", "category": "rerank"}, {"model_name": "t", "category": "text"}]
    )
    with pytest.raises(policyeng.NoMatch) as info:
        policyeng.compile('category == "rerank"').select(catalog)
    assert str(info.value).splitlines()[-1] == (
        "  1 matched, but none has an endpoint (unknown category: rerank)"
    )
    assert info.value.exit_code == 1


def test_builtin_digest_names_a_body_that_validates_entry_by_entry():
    """load_catalog("builtin") trusts the recorded digest; this test is what earns it."""
    from policyeng.catalog.sources import BUILTIN_META_PATH
    from policyeng.catalog.validation import validate_entries

    body = Path(BUILTIN_PATH).read_bytes()
    meta = json.loads(Path(BUILTIN_META_PATH).read_text())
    assert meta["sha256"] == hashlib.sha256(body).hexdigest(), (
        "builtin.json changed: update sha256 in builtin.meta.json after checking it validates"
    )
    entries, skipped = validate_entries(json.loads(body))
    assert skipped == [] and len(entries) == len(load_catalog("builtin"))


def test_a_changed_snapshot_is_validated_again(tmp_path):
    from policyeng.catalog.model import parse_catalog

    body = json.dumps([{"model_name": "bad", "input_per_mtok": -1}]).encode()
    with pytest.warns(CatalogWarning, match="'bad': input_per_mtok"):
        catalog = parse_catalog(body, "builtin", validated_sha256="0" * 64)
    assert len(catalog) == 0


def test_a_dict_is_not_a_catalog():
    with pytest.raises(TypeError, match="not dict; for one entry pass \\[entry\\]"):
        policyeng.compile("healthy").filter({"model_name": "a"})


@pytest.mark.parametrize(
    ("policy", "line"),
    [
        ("supports chatt", "no model in the catalog supports 'chatt'; did you mean 'chat'?"),
        (
            'healthy and category == "txt"',
            "no model in the catalog has category 'txt'; did you mean 'text'?",
        ),
        (
            'provider in ["qwen", "meta"]',
            "no model in the catalog has provider 'qwen'; did you mean 'Qwen'?",
        ),
    ],
)
def test_no_match_names_a_value_no_model_has(policy, line):
    catalog = Catalog.from_entries(
        [
            {
                "model_name": "a",
                "category": "text",
                "supports": ["chat"],
                "provider": "Qwen",
                "health_status": "healthy",
            },
        ]
    )
    with pytest.raises(policyeng.NoMatch) as info:
        policyeng.compile(policy).select(catalog)
    assert str(info.value).splitlines()[-1] == f"  {line}"


def test_no_match_does_not_blame_a_value_some_model_has():
    catalog = Catalog.from_entries(
        [
            {"model_name": "a", "category": "text", "supports": ["chat"]},
            {"model_name": "b", "category": "code"},
        ]
    )
    with pytest.raises(policyeng.NoMatch) as info:
        policyeng.compile('category == "code" and supports chat').select(catalog)
    assert "no model in the catalog" not in str(info.value)


def test_a_catalog_repr_is_short():
    catalog = load_catalog("builtin")
    assert repr(catalog) == (
        f"<Catalog 'builtin': {len(catalog)} entries, 0 skipped, sha256 {catalog.sha256[:12]}>"
    )


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("http://[::1", "not a valid URL: Invalid IPv6 URL"),
        ("http://h:99999/x", "not a valid URL: Port out of range 0-65535"),
        ("https:///models.json", "not a valid URL: no host"),
    ],
)
def test_a_malformed_url_is_a_catalog_error(source, message):
    with pytest.raises(CatalogError) as info:
        load_catalog(source)
    assert info.value.message == message


def test_a_deeply_nested_body_is_a_catalog_error(write_catalog):
    path = write_catalog("[" * 100_000)
    with pytest.raises(CatalogError, match="nested too deeply"):
        load_catalog(path)
