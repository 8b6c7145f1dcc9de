"""``policyeng diff``: models added, removed and changed field by field; picks and their reasons."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from catalog_server import reply
from conftest import DATA

from policyeng.catalog.compare import compare_catalogs, entry_changes
from policyeng.catalog.model import Catalog

GROQ = DATA / "groq-2026-03.json"
PICK = "groq/llama-3.1-8b-instant"


@pytest.fixture
def catalogs(tmp_path, monkeypatch):
    """old.json (the groq slice) and new.json (edited), in a scratch cwd with drift.yaml."""
    monkeypatch.chdir(tmp_path)
    shutil.copy(GROQ, "old.json")
    shutil.copy(DATA / "drift.yaml", "drift.yaml")
    entries = json.loads(GROQ.read_text())
    by_name = {e["model_name"]: e for e in entries}
    by_name[PICK]["output_per_mtok"] = 0.5  # repriced: the pick changes
    by_name["groq/gemma-7b-it"]["supports"] = ["chat", "streaming", "tool_use", "vision"]
    by_name["groq/playai-tts"]["pricing"][0]["unit_price_usd"] = 6e-05
    by_name["groq/qwen/qwen3-32b"]["health_status"] = "healthy"
    entries = [e for e in entries if e["model_name"] != "groq/whisper-large-v3"]
    entries.append(
        {
            "model_name": "groq/new-model",
            "category": "text",
            "supports": ["chat"],
            "input_per_mtok": 0.05,
            "output_per_mtok": 0.1,
            "health_status": "healthy",
            "context_window": 32768,
        }
    )
    Path("new.json").write_text(json.dumps(entries))
    return tmp_path


def test_identical_sources_say_no_changes(cli, catalogs):
    shutil.copy("old.json", "same.json")
    assert cli("diff", "old.json", "same.json") == (0, "no changes\n", "")
    assert cli("diff", "old.json", "same.json", "-f", "drift.yaml", "--exit-code") == (
        0,
        "no changes (2 picks the same)\n",
        "",
    )


def test_models_added_removed_and_changed_field_by_field(cli, catalogs):
    code, out, err = cli("diff", "old.json", "new.json")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "models (old.json -> new.json):",
        "     model_name                 change",
        '  +  groq/new-model             category "text", input_per_mtok 0.05, '
        'output_per_mtok 0.1, context_window 32768, health_status "healthy"',
        "  -  groq/whisper-large-v3      removed",
        "  ~  groq/gemma-7b-it           supports +vision",
        "  ~  groq/llama-3.1-8b-instant  output_per_mtok 0.08 -> 0.5",
        "  ~  groq/playai-tts            pricing [5e-05 USD/character] -> [6e-05 USD/character]",
        '  ~  groq/qwen/qwen3-32b        health_status "degraded" -> "healthy"',
        "1 model added, 1 removed, 4 changed, 9 unchanged",
    ]


def test_picks_before_and_after_with_their_reason(cli, catalogs):
    code, out, _ = cli("diff", "old.json", "new.json", "-f", "drift.yaml", "--exit-code")
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == "models (old.json -> new.json):"
    assert [line.split()[1] for line in lines[2:4]] == ["groq/gemma-7b-it", PICK]
    picks = lines.index("picks:")
    assert lines[picks + 1].split() == ["policy", "before", "after", "reason"]
    assert lines[picks + 2].split()[0::2] == [
        "chat",
        "(/v1/chat/completions)",
        "(/v1/chat/completions)",
    ]
    assert lines[picks + 2].split()[-1] == "outranked"
    assert (
        f"  chat: outranked: groq/gemma-7b-it ranks ahead on output_per_mtok: 0.08 against "
        f"0.5 for {PICK}; {PICK}'s output_per_mtok moved from 0.08 to 0.5"
    ) in lines
    assert lines[-1] == "1 model added, 1 removed, 4 changed, 9 unchanged; 1 of 2 picks changed"


def test_json_is_the_whole_comparison(cli, catalogs):
    code, out, _ = cli("diff", "old.json", "new.json", "-f", "drift.yaml", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["counts"] == {
        "added": 1,
        "removed": 1,
        "changed": 4,
        "unchanged": 9,
        "picks": 2,
        "picks_changed": 1,
    }
    assert [e["model_name"] for e in data["added"]] == ["groq/new-model"]
    assert [e["model_name"] for e in data["removed"]] == ["groq/whisper-large-v3"]
    changed = {c["model_name"]: c["changes"] for c in data["changed"]}
    assert changed[PICK] == [{"field": "output_per_mtok", "before": 0.08, "after": 0.5}]
    assert data["old"]["source"] == "old.json" and data["new"]["models"] == 14
    chat = next(p for p in data["picks"] if p["policy"] == "chat")
    assert chat["before"]["model_name"] == PICK and chat["after"]["model_name"] == (
        "groq/gemma-7b-it"
    )
    assert chat["drift"]["reason"] == "outranked"
    assert chat["drift"]["detail"]["winner"]["new"] is False
    any_chat = next(p for p in data["picks"] if p["policy"] == "any-chat")
    assert (any_chat["changed"], any_chat["drift"]) == (False, None)
    assert (
        any_chat["before"]
        == any_chat["after"]
        == {"model_name": "groq/gemma-7b-it", "endpoint": "/v1/chat/completions", "via": None}
    )


def test_a_new_winner_is_new_to_the_catalog(cli, catalogs):
    entries = json.loads(GROQ.read_text())
    entries.append({**entries[1], "model_name": "groq/cheaper", "output_per_mtok": 0.01})
    Path("new.json").write_text(json.dumps(entries))
    _, out, _ = cli("diff", "old.json", "new.json", "-f", "drift.yaml", "--json")
    chat = next(p for p in json.loads(out)["picks"] if p["policy"] == "chat")
    assert chat["drift"]["detail"]["winner"] == {
        "model_name": "groq/cheaper",
        "value": 0.01,
        "new": True,
        "was_candidate": False,
    }
    assert chat["drift"]["text"].endswith("; groq/cheaper is new to the catalog")


def test_models_picks_lists_only_what_the_picks_involve(cli, catalogs):
    _, out, _ = cli("diff", "old.json", "new.json", "-f", "drift.yaml", "--models", "none")
    assert out.splitlines()[0] == "picks:"
    _, out, _ = cli("diff", "old.json", "new.json", "--models", "picks")
    assert out == "1 model added, 1 removed, 4 changed, 9 unchanged\n"


def test_exit_code_without_policies_is_any_model_change(cli, catalogs):
    assert cli("diff", "old.json", "new.json", "--exit-code")[0] == 1


def test_a_file_against_a_url_and_an_unreachable_url(cli, catalogs, server, other_server):
    server.script("/api/models", reply(200, json.loads(GROQ.read_text())))
    code, out, _ = cli("diff", "old.json", server.url(), "--exit-code")
    assert (code, out) == (0, "no changes\n")
    url = other_server.url()
    other_server.stop()
    code, out, err = cli("diff", "old.json", url)
    assert (code, out) == (3, "")
    assert err.startswith(f"policyeng: catalog {url}: cannot connect")


def test_a_missing_file_is_exit_3(cli, catalogs):
    code, _, err = cli("diff", "old.json", "nope.json")
    assert code == 3 and "nope.json: file not found" in err


def test_null_and_absent_are_the_same_missing_value():
    assert entry_changes({"model_name": "a", "max_output": None}, {"model_name": "a"}) == []
    old = Catalog.from_entries([{"model_name": "a", "category": "text"}])
    new = Catalog.from_entries([{"model_name": "a", "category": "audio"}])
    [change] = compare_catalogs(old, new)["changed"]
    assert change["changes"] == [
        {"field": "category", "before": "text", "after": "audio"},
        {"field": "endpoint", "before": "/v1/chat/completions", "after": "/v1/audio/speech"},
    ]
