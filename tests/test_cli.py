"""The policyeng command, run as a subprocess the way users and CI run it."""

from __future__ import annotations

import json

from conftest import run_cli

POLICY = "supports tool_use and output_per_mtok < 1 and healthy"


def test_select_json_prints_a_model_and_its_endpoint():
    result = run_cli("select", POLICY, "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["endpoint"] == "/v1/chat/completions"
    assert data["policy"] == POLICY and data["via"] is None
    assert data["catalog"]["source"] == "builtin" and data["catalog"]["stale"] is False
    names = [c["model_name"] for c in data["candidates"]]
    assert data["model_name"] == names[0] and names == sorted(names)
    assert set(data) == {
        "model_name",
        "endpoint",
        "category",
        "policy",
        "via",
        "candidates",
        "catalog",
    }


def test_select_text_prints_name_and_endpoint():
    result = run_cli("select", POLICY + " order by output_per_mtok")
    assert result.returncode == 0
    assert result.stdout.split() == ["Llama-3.1-8B-Instruct", "/v1/chat/completions"]
    assert result.stderr == ""


def test_select_top_lists_candidates_with_key_values():
    result = run_cli("select", POLICY + " order by output_per_mtok", "--top", "3")
    lines = result.stdout.splitlines()
    assert lines[2].split() == ["#", "model_name", "endpoint", "output_per_mtok"]
    assert lines[3].split() == ["*", "Llama-3.1-8B-Instruct", "/v1/chat/completions", "0.18"]
    assert len(lines) == 6


def test_mistyped_field_exits_2_with_a_caret_and_no_traceback():
    result = run_cli("select", "supports tool_use and output_per_mtk < 1")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        "policyeng: <policy>:1:23: unknown field 'output_per_mtk'; did you mean "
        "'output_per_mtok'?\n"
        "  supports tool_use and output_per_mtk < 1\n"
        "                        ^^^^^^^^^^^^^^\n"
    )


def test_no_match_exits_1_and_says_which_clause_emptied_the_set():
    result = run_cli("select", "supports tool_use and output_per_mtok < 0.01 and healthy")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0] == "policyeng: no model matches the policy in catalog builtin (55 models)"
    assert lines[2].split()[:3] == ["output_per_mtok", "<", "0.01"]
    assert lines[2].split()[-2:] == ["0", "left"]
    assert "Traceback" not in result.stderr


def test_missing_catalog_file_exits_3(tmp_path):
    result = run_cli("select", "healthy", "--catalog", str(tmp_path / "nope.json"))
    assert result.returncode == 3
    assert result.stderr == (
        f"policyeng: catalog {tmp_path / 'nope.json'}: file not found\n"
        "hint: a catalog source is `builtin`, a path to a JSON file, or an http(s):// URL\n"
    )


def test_catalog_that_is_an_object_exits_3(write_catalog):
    path = write_catalog('{"object": "list", "data": []}')
    result = run_cli("catalog", "--catalog", str(path))
    assert result.returncode == 3
    assert "expected a JSON array of models" in result.stderr


def test_skipped_entries_warn_once_each_and_strict_fails(write_catalog):
    path = write_catalog(
        [{"model_name": "ok", "category": "text"}, {"model_name": "bad", "context_window": -5}]
    )
    result = run_cli("select", "true", "--catalog", str(path))
    assert result.returncode == 0 and result.stdout.split()[0] == "ok"
    assert result.stderr == (
        f"policyeng: warning: catalog {path}: skipped entry [1] 'bad': context_window: "
        "-5 is less than the minimum of 0\n"
    )
    strict = run_cli("select", "true", "--catalog", str(path), "--strict")
    assert strict.returncode == 3 and "1 invalid entry (strict mode)" in strict.stderr


def test_usage_errors_exit_2():
    assert run_cli("select").returncode == 2
    assert run_cli("frobnicate").returncode == 2
    assert run_cli("select", "healthy", "--top", "-1").returncode == 2


def test_catalog_json_lists_entries_in_model_name_order_with_endpoints():
    result = run_cli("catalog", "--where", 'category == "audio"', "--json")
    entries = json.loads(result.stdout)
    names = [e["model_name"] for e in entries]
    assert names == sorted(names) and len(names) >= 4
    assert {e["endpoint"] for e in entries} == {"/v1/audio/speech", "/v1/audio/transcriptions"}


def test_catalog_source_from_the_environment(write_catalog):
    path = write_catalog([{"model_name": "only-one", "category": "text"}])
    result = run_cli("select", "true", env={"POLICYENG_CATALOG": str(path)})
    assert result.stdout.split()[0] == "only-one"


def test_debug_shows_a_traceback():
    result = run_cli("select", "nope", env={"POLICYENG_DEBUG": "1"})
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_catalog_where_ranks_when_the_policy_says_order_by():
    result = run_cli(
        "catalog", "--where", "supports embeddings order by input_per_mtok desc", "--json"
    )
    prices = [e["input_per_mtok"] for e in json.loads(result.stdout)]
    assert prices == sorted(prices, reverse=True) and len(prices) >= 3


def test_catalog_where_matching_nothing_exits_1_also_with_json():
    result = run_cli("catalog", "--where", "output_per_mtok < 0", "--json")
    assert (result.returncode, json.loads(result.stdout)) == (1, [])
    assert run_cli("catalog", "--where", "supports chat").returncode == 0
    assert run_cli("catalog").returncode == 0


def test_catalog_where_names_a_value_no_model_has():
    result = run_cli("catalog", "--where", "supports chatt")
    assert result.returncode == 1
    assert "0 of 55 models, catalog builtin" in result.stderr.splitlines()
    assert "policyeng: no model in the catalog supports 'chatt'; did you mean 'chat'?" in (
        result.stderr.splitlines()
    )
