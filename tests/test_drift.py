"""Why a pick changed: every drift reason, from real catalog entries, in every report format.

The catalog is the ``groq`` slice of a real price table; ``drift.yaml`` is
locked on it, then one edit at a time breaks the pick the way catalogs do:
a model removed, repriced, gone unhealthy, a cheaper one added, a tie, the
primary policy emptied so its fallback answers.
"""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import DATA

PICK = "groq/llama-3.1-8b-instant"  # 0.08 per million output tokens, 128k context
RUNNER_UP = "groq/gemma-7b-it"  # 0.08 too, but 8k context: second on `context_window desc`


@pytest.fixture
def project(tmp_path, monkeypatch, cli):
    """drift.yaml locked on the groq slice, in a scratch directory (the cwd)."""
    shutil.copy(DATA / "drift.yaml", tmp_path / "drift.yaml")
    shutil.copy(DATA / "groq-2026-03.json", tmp_path / "catalog.json")
    monkeypatch.chdir(tmp_path)
    assert cli("lock", "drift.yaml", "--catalog", "catalog.json")[0] == 0
    return tmp_path


def edit(path: Path, change) -> None:
    """Apply ``change(entries)`` to the catalog file (it returns the new list, or None)."""
    entries = json.loads(path.read_text())
    path.write_text(json.dumps(change(entries) or entries))


def entry(entries: list[dict], name: str) -> dict:
    return next(e for e in entries if e["model_name"] == name)


def removed(entries):
    return [e for e in entries if e["model_name"] != PICK]


def repriced(entries):
    entry(entries, PICK)["output_per_mtok"] = 0.5


def priced_out(entries):
    entry(entries, PICK)["output_per_mtok"] = 1.5


def unhealthy(entries):
    entry(entries, PICK)["health_status"] = "down"


def unknown_category(entries):
    entry(entries, PICK)["category"] = "rerank"


def cheaper_added(entries):
    entries.append(
        {
            **entry(entries, PICK),
            "model_name": "groq/new-cheap",
            "slug": "new-cheap",
            "output_per_mtok": 0.01,
        }
    )


def tie_added(entries):
    entries.append({**entry(entries, PICK), "model_name": "groq/aaa-twin", "slug": "aaa-twin"})


def primary_emptied(entries):
    for e in entries:
        e["supports"] = [t for t in e.get("supports", []) if t != "tool_use"]


CASES = {
    "removed": (removed, RUNNER_UP, "removed", f"{PICK} is no longer in the catalog"),
    "repriced": (
        repriced,
        RUNNER_UP,
        "outranked",
        f"{RUNNER_UP} ranks ahead on output_per_mtok: 0.08 against 0.5 for {PICK}; "
        f"{PICK}'s output_per_mtok moved from 0.08 to 0.5",
    ),
    "priced-out": (
        priced_out,
        RUNNER_UP,
        "fails",
        f"{PICK} fails clause 2 `output_per_mtok < 1`: output_per_mtok was 0.08, now 1.5",
    ),
    "unhealthy": (
        unhealthy,
        RUNNER_UP,
        "fails",
        f'{PICK} fails clause 3 `healthy`: health_status was "healthy", now "down"; '
        "healthy was true, now false",
    ),
    "no-endpoint": (
        unknown_category,
        RUNNER_UP,
        "no-endpoint",
        f'{PICK} has no endpoint now: its category was "text", now "rerank"',
    ),
    "cheaper": (
        cheaper_added,
        "groq/new-cheap",
        "outranked",
        f"groq/new-cheap ranks ahead on output_per_mtok: 0.01 against 0.08 for {PICK}; "
        "groq/new-cheap was not a candidate then",
    ),
    "tie": (
        tie_added,
        "groq/aaa-twin",
        "tie-break",
        f"groq/aaa-twin ties with {PICK} on output_per_mtok = 0.08, context_window desc = "
        "128000 and comes first by model_name; groq/aaa-twin was not a candidate then",
    ),
    "fallback": (
        primary_emptied,
        RUNNER_UP,
        "fallback",
        "chat matches nothing now (groq/llama-3.1-8b-instant fails clause 1 "
        '`supports tool_use`: supports was ["chat", "streaming", "tool_use"], '
        'now ["chat", "streaming"]); any-chat resolved',
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_each_reason_in_text_and_json(cli, project, case):
    change, now, reason, text = CASES[case]
    edit(project / "catalog.json", change)
    code, out, err = cli("check", "drift.yaml", "--catalog", "catalog.json", "--locked")
    assert code == 1, out + err
    lines = out.splitlines()
    fail = next(i for i, line in enumerate(lines) if line.startswith("FAIL chat "))
    assert lines[fail + 1].strip() == f"{reason}: {text}"
    row = lines[lines.index("drift against policies.lock:") + 2].split()
    assert (row[0], row[-1]) == ("chat", reason)
    code, out, _ = cli(
        "check", "drift.yaml", "--catalog", "catalog.json", "--locked", "--format", "json"
    )
    chat = next(r for r in json.loads(out) if r["policy"] == "chat")
    assert chat["drift"]["reason"] == reason and chat["drift"]["text"] == text
    assert chat["drift"]["locked"]["model_name"] == PICK
    assert chat["drift"]["now"]["model_name"] == now
    assert chat["drift"]["limited"] is None


def test_values_then_and_now_are_plain_data(cli, project):
    edit(project / "catalog.json", priced_out)
    _, out, _ = cli(
        "check", "drift.yaml", "--catalog", "catalog.json", "--locked", "--format", "json"
    )
    drift = next(r for r in json.loads(out) if r["policy"] == "chat")["drift"]
    assert drift["detail"] == {
        "clause": 2,
        "clause_text": "output_per_mtok < 1",
        "values": {"output_per_mtok": {"then": 0.08, "now": 1.5}},
    }


def test_an_outranking_winner_reports_the_deciding_key_and_both_values(cli, project):
    edit(project / "catalog.json", cheaper_added)
    _, out, _ = cli(
        "check", "drift.yaml", "--catalog", "catalog.json", "--locked", "--format", "json"
    )
    detail = next(r for r in json.loads(out) if r["policy"] == "chat")["drift"]["detail"]
    assert detail == {
        "key": "output_per_mtok",
        "winner": {
            "model_name": "groq/new-cheap",
            "value": 0.01,
            "new": None,
            "was_candidate": False,
        },
        "locked_value": 0.08,
        "moved": [],
    }


@pytest.fixture
def tied(project):
    edit(project / "catalog.json", tie_added)
    return project


TIE_TEXT = CASES["tie"][3]


def test_junit_failure_carries_the_reason(cli, tied):
    _, out, _ = cli(
        "check", "drift.yaml", "--catalog", "catalog.json", "--locked", "--format", "junit"
    )
    root = ET.fromstring(out.split("\n", 1)[1])
    case = next(c for c in root.iter("testcase") if c.get("name") == "chat")
    failure = case.find("failure")
    assert failure.get("message").endswith(f"(tie-break: {TIE_TEXT})")
    properties = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert properties["catalog.source"] == "catalog.json"
    assert len(properties["catalog.sha256"]) == 64
    assert properties["catalog.stale"] == "false"
    assert properties["catalog.models"] == "15"
    assert properties["catalog.fetched_at"].startswith("20")


def test_github_annotation_carries_the_reason(cli, tied):
    _, out, _ = cli(
        "check", "drift.yaml", "--catalog", "catalog.json", "--locked", "--format", "github"
    )
    [line] = [x for x in out.splitlines() if "policy 'chat'" in x]
    assert line.startswith(
        "::error file=drift.yaml,line=4::policy 'chat': drifted from "
        "policies.lock: locked groq/llama-3.1-8b-instant, now groq/aaa-twin"
    )
    assert line.endswith(f"(tie-break: {TIE_TEXT})")
    assert out.splitlines()[-2].startswith("catalog catalog.json: sha256 ")


def test_tap_diagnostics_carry_the_reason(cli, tied):
    code, out, _ = cli(
        "check", "drift.yaml", "--catalog", "catalog.json", "--locked", "--format", "tap"
    )
    assert code == 1
    lines = out.splitlines()
    assert lines[:3] == ["TAP version 14", "1..2", "not ok 1 - chat"]
    block = lines[lines.index("  ---") : lines.index("  ...") + 1]
    import yaml

    data = yaml.safe_load("\n".join(line[2:] for line in block[1:-1]))
    assert data["severity"] == "fail"
    assert data["data"]["drift"]["reason"] == "tie-break"
    assert data["data"]["drift"]["text"] == TIE_TEXT
    assert data["data"]["line"] == 4
    assert lines[lines.index("  ...") + 1] == "not ok 2 - any-chat"  # the twin ties there too
    catalog = json.loads(lines[-2].removeprefix("# catalog: "))
    assert set(catalog) == {"source", "sha256", "fetched_at", "stale", "models"}
    assert lines[-1] == "# 0 passed, 2 failed (2 policies, catalog catalog.json)"


def test_sarif_result_has_a_rule_per_reason_and_the_policy_location(cli, tied):
    _, out, _ = cli(
        "check", "drift.yaml", "--catalog", "catalog.json", "--locked", "--format", "sarif"
    )
    log = json.loads(out)
    [run] = log["runs"]
    result, other = run["results"]
    assert other["properties"]["policy"] == "any-chat" and other["ruleId"] == "drift/tie-break"
    assert result["ruleId"] == "drift/tie-break"
    assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == "drift/tie-break"
    assert result["message"]["text"].endswith(f"(tie-break: {TIE_TEXT})")
    assert result["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "drift.yaml"},
        "region": {"startLine": 4, "startColumn": 3},
    }
    assert result["properties"]["drift"]["reason"] == "tie-break"
    assert run["properties"]["catalog"]["source"] == "catalog.json"


def test_a_version_1_lock_still_works_and_says_what_it_cannot_tell(cli, project):
    lock = json.loads(Path("policies.lock").read_text())
    lock = {
        "version": 1,
        "catalog": {k: lock["catalog"][k] for k in ("source", "sha256")},
        "policies": {
            n: {k: p[k] for k in ("model_name", "endpoint", "via")}
            for n, p in lock["policies"].items()
        },
    }
    Path("policies.lock").write_text(json.dumps(lock))
    assert cli("check", "drift.yaml", "--catalog", "catalog.json", "--locked")[0] == 0
    edit(project / "catalog.json", priced_out)
    code, out, _ = cli(
        "check", "drift.yaml", "--catalog", "catalog.json", "--locked", "--format", "json"
    )
    drift = next(r for r in json.loads(out) if r["policy"] == "chat")["drift"]
    assert code == 1 and drift["reason"] == "fails"
    assert drift["text"] == (
        f"{PICK} fails clause 2 `output_per_mtok < 1`: output_per_mtok is now 1.5"
    )
    assert "version 1 lock" in drift["limited"]


SARIF_SCHEMA = json.loads(
    (Path(__file__).parent / "schemas" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8")
)


def sarif_errors(text: str) -> list[str]:
    from jsonschema import Draft4Validator

    validator = Draft4Validator(SARIF_SCHEMA, format_checker=Draft4Validator.FORMAT_CHECKER)
    errors = validator.iter_errors(json.loads(text))
    return [f"{list(e.absolute_path)}: {e.message}" for e in errors]


@pytest.mark.parametrize("case", ["tie", "fallback", "removed"])
def test_sarif_is_valid_against_the_published_schema(cli, project, case):
    edit(project / "catalog.json", CASES[case][0])
    Path("extra.yaml").write_text("version: 1\npolicies:\n  none: {where: 'supports nothing'}\n")
    code, out, _ = cli(
        "check",
        "drift.yaml",
        "extra.yaml",
        "--catalog",
        "catalog.json",
        "--locked",
        "--format",
        "sarif",
    )
    assert code == 1
    assert sarif_errors(out) == []
    rules = {r["ruleId"] for r in json.loads(out)["runs"][0]["results"]}
    assert {f"drift/{CASES[case][2]}", "unresolved", "not-locked"} <= rules


def test_sarif_for_a_file_that_does_not_load_is_valid_and_points_at_the_mistake(cli, project):
    Path("typo.yaml").write_text("version: 1\npolicies:\n  x: {where: 'supports chat and'}\n")
    code, out, _ = cli("check", "typo.yaml", "--format", "sarif")
    assert code == 2
    assert sarif_errors(out) == []
    [result] = json.loads(out)["runs"][0]["results"]
    assert result["ruleId"] == "load"
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "typo.yaml"
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 3


def test_tap_for_a_file_that_does_not_load(cli, project):
    Path("typo.yaml").write_text("version: 1\npolicies:\n  x: {where: 'supports chat and'}\n")
    code, out, _ = cli("check", "typo.yaml", "--format", "tap")
    assert code == 2
    lines = out.splitlines()
    assert lines[:3] == ["TAP version 14", "1..1", lines[2]]
    assert lines[2].startswith("not ok 1 - typo.yaml:3:")
