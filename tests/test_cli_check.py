"""``policyeng check`` and ``select -f``: exit codes and every report format, parsed back."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from conftest import ROOT

from policyeng.catalog.sources import load_builtin
from policyeng.policies.formats import catalog_line

POLICIES = str(ROOT / "policies")
#: The line before the summary: the catalog the report was made against.
BUILTIN_LINE = catalog_line(load_builtin())
FAILING = str(ROOT / "tests" / "data" / "failing.yaml")


def test_example_policies_all_pass_on_builtin(cli):
    code, out, err = cli("check", POLICIES)
    lines = out.splitlines()
    assert code == 0, out + err
    count = len(lines) - 2
    assert lines[-2:] == [
        BUILTIN_LINE,
        f"{count} passed, 0 failed ({count} policies, catalog builtin)",
    ]
    assert all(line.startswith("PASS ") for line in lines[:-2])
    assert count >= 7
    assert any(line.endswith(" via long-context") for line in lines)


def test_failing_example_text_report(cli):
    code, out, err = cli("check", FAILING)
    assert code == 1
    assert err == ""
    assert out.splitlines() == [
        "PASS chat-ok         -> Phi-4-multimodal-instruct (/v1/chat/completions)",
        "FAIL free-reasoning  resolves to no model: `output_per_mtok < 0.01` leaves none of 8",
        "FAIL wrong-endpoint  expected at least 10 candidates, found 5",
        "                     expected endpoint /v1/chat/completions, got /v1/embeddings "
        "(nomic-embed-text-v1.5)",
        BUILTIN_LINE,
        "1 passed, 2 failed (3 policies, catalog builtin)",
    ]


def test_json_format_is_one_object_per_policy(cli):
    code, out, _ = cli("check", FAILING, "--format", "json")
    assert code == 1
    data = json.loads(out)
    assert [(d["policy"], d["status"]) for d in data] == [
        ("chat-ok", "pass"),
        ("free-reasoning", "fail"),
        ("wrong-endpoint", "fail"),
    ]
    ok = data[0]
    assert (ok["model_name"], ok["endpoint"], ok["via"], ok["line"]) == (
        "Phi-4-multimodal-instruct",
        "/v1/chat/completions",
        None,
        6,
    )
    assert ok["catalog"]["source"] == "builtin" and len(ok["catalog"]["sha256"]) == 64
    assert data[1]["model_name"] is None and data[1]["failures"][0].startswith("resolves to")
    assert data[2]["candidates"] == 5 and len(data[2]["failures"]) == 2


def test_junit_format_parses_and_counts(cli):
    code, out, _ = cli("check", FAILING, "--format", "junit")
    assert code == 1
    root = ET.fromstring(out.split("\n", 1)[1])
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("3", "2", "0")
    [suite] = root.findall("testsuite")
    assert (suite.get("tests"), suite.get("failures")) == ("3", "2")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["chat-ok", "free-reasoning", "wrong-endpoint"]
    assert [c.get("line") for c in cases] == ["6", "9", "14"]
    assert cases[0].find("failure") is None
    failure = cases[2].find("failure")
    assert failure.get("message") == "expected at least 10 candidates, found 5"
    assert failure.text.splitlines()[1].startswith("expected endpoint /v1/chat/completions")


def test_junit_counts_across_files(cli):
    code, out, _ = cli("check", POLICIES, FAILING, "--format", "junit")
    root = ET.fromstring(out.split("\n", 1)[1])
    cases = root.findall("testsuite/testcase")
    assert code == 1
    assert root.get("tests") == str(len(cases))
    assert root.get("failures") == "2" == str(len(root.findall("testsuite/testcase/failure")))
    assert len(root.findall("testsuite")) == 9


def test_github_format_annotates_the_policy_line(cli):
    code, out, _ = cli("check", FAILING, "--format", "github")
    assert code == 1
    assert out.splitlines() == [
        f"::error file={FAILING},line=9::policy 'free-reasoning': resolves to no model: "
        "`output_per_mtok < 0.01` leaves none of 8",
        f"::error file={FAILING},line=14::policy 'wrong-endpoint': expected at least 10 "
        "candidates, found 5",
        f"::error file={FAILING},line=14::policy 'wrong-endpoint': expected endpoint "
        "/v1/chat/completions, got /v1/embeddings (nomic-embed-text-v1.5)",
        BUILTIN_LINE,
        "1 passed, 2 failed (3 policies, catalog builtin)",
    ]


def test_typo_in_a_field_name_exits_2_with_file_line_column_and_caret(cli, write):
    path = write(
        "typo.yaml",
        """
        version: 1
        policies:
          chat:
            where: supports chat and healthy
            ordr_by: [output_per_mtok]
    """,
    )
    code, out, err = cli("check", path)
    assert (code, out) == (2, "")
    assert err == (
        f"policyeng: {path}:5:5: policies.chat: unknown key 'ordr_by'; did you mean "
        "'order_by'?\n"
        "      ordr_by: [output_per_mtok]\n"
        "      ^^^^^^^\n"
    )


def test_typo_in_a_policy_field_exits_2_with_a_caret(cli, write):
    path = write(
        "typo.yaml",
        """
        version: 1
        policies:
          chat:
            where: supports chat and outptu_per_mtok < 1
    """,
    )
    code, _, err = cli("check", path)
    assert code == 2
    assert err.splitlines() == [
        f"policyeng: {path}:4:30: unknown field 'outptu_per_mtok'; did you mean 'output_per_mtok'?",
        "      where: supports chat and outptu_per_mtok < 1",
        "                               ^^^^^^^^^^^^^^^",
    ]


def test_github_format_annotates_load_errors_too(cli, write):
    path = write(
        "bad.yaml", "version: 1\npolicies:\n  a: {where: 'healthy and'}\n  b: {where: nope}\n"
    )
    code, out, _ = cli("check", path, "--format", "github")
    assert code == 2
    assert out.splitlines() == [
        f"::error file={path},line=3,col=26::the policy ends too early; a condition or "
        "value must follow",
        f"::error file={path},line=4,col=14::unknown field 'nope'",
    ]


def test_unusable_catalog_exits_3(cli, tmp_path):
    bad = tmp_path / "catalog.json"
    bad.write_text('{"models": []}')
    code, out, err = cli("check", POLICIES, "--catalog", str(bad))
    assert (code, out) == (3, "")
    assert err == (
        f"policyeng: catalog {bad}: expected a JSON array of models "
        "(the /api/models shape), got a JSON object\n"
    )


def test_files_naming_different_catalogs_need_catalog_option(cli, write, tmp_path, monkeypatch):
    monkeypatch.delenv("POLICYENG_CATALOG")  # it would take precedence over `catalog:`
    write("d/a.yaml", "version: 1\ncatalog: builtin\npolicies:\n  a: {where: healthy}\n")
    write(
        "d/b.yaml", f"version: 1\ncatalog: {tmp_path}/c.json\npolicies:\n  b: {{where: healthy}}\n"
    )
    code, _, err = cli("check", str(tmp_path / "d"))
    assert code == 2
    assert "the policy files name different catalogs" in err and "pass --catalog" in err
    code, out, _ = cli("check", str(tmp_path / "d"), "--catalog", "builtin")
    assert code == 0 and out.splitlines()[-1].startswith("2 passed")


def test_select_with_a_policy_file(cli):
    code, out, err = cli("select", "-f", str(ROOT / "policies" / "chat.yaml"), "support-chat")
    assert (code, out, err) == (0, "Llama-3.1-8B-Instruct  /v1/chat/completions\n", "")


def test_select_with_a_policy_file_says_when_a_fallback_was_used(cli):
    code, out, err = cli("select", "-f", POLICIES, "batch-summarizer", "--json")
    data = json.loads(out)
    assert code == 0
    assert (data["policy"], data["via"]) == ("batch-summarizer", "long-context")
    assert err == (
        "policyeng: policy 'batch-summarizer' matched nothing; used its fallback 'long-context'\n"
    )


@pytest.mark.parametrize(
    ("name", "code", "message"),
    [
        ("suport-chat", 2, "no policy named 'suport-chat'; did you mean 'support-chat'?"),
        ("free-reasoning", 1, "no model matches policy 'free-reasoning' in catalog builtin"),
    ],
)
def test_select_with_a_policy_file_errors(cli, name, code, message):
    path = POLICIES if code == 2 else FAILING
    result, out, err = cli("select", "-f", path, name)
    assert (result, out) == (code, "")
    assert message in err.splitlines()[0]


def test_environment_catalog_takes_precedence_over_the_files(cli, write, tmp_path, monkeypatch):
    write(
        "d/a.yaml",
        f"version: 1\ncatalog: {tmp_path}/missing.json\npolicies:\n  a: {{where: healthy}}\n",
    )
    monkeypatch.setenv("POLICYENG_CATALOG", "builtin")
    code, out, _ = cli("check", str(tmp_path / "d"))
    assert code == 0 and "catalog builtin" in out.splitlines()[-1]
    monkeypatch.delenv("POLICYENG_CATALOG")
    code, _, err = cli("check", str(tmp_path / "d"), "--no-fallback")
    assert code == 3 and "missing.json" in err


def test_junit_format_reports_files_that_do_not_load(cli, write):
    bad = write(
        "bad.yaml", "version: 1\npolicies:\n  a: {where: 'healthy and'}\n  b: {where: nope}\n"
    )
    tab = write("tab.yaml", "version: 1\npolicies:\n\ta: {where: healthy}\n")
    code, out, err = cli("check", bad, tab, POLICIES, "--format", "junit")
    assert code == 2 and err.startswith(f"policyeng: {bad}:3:26: ")
    root = ET.fromstring(out)
    assert (root.get("tests"), root.get("errors"), root.get("failures")) == ("2", "2", "0")
    cases = root.findall("./testsuite/testcase")
    assert [(c.get("name"), c.get("file"), c.get("line")) for c in cases] == [
        (bad, bad, "3"),
        (tab, tab, "3"),
    ]
    first, second = (case.find("error") for case in cases)
    assert first.get("message") == (
        f"{bad}:3:26: the policy ends too early; a condition or value must follow"
    )
    assert f"{bad}:4:14: unknown field 'nope'" in first.text.splitlines()
    assert second.get("message").startswith(f"{tab}:3:1: not valid YAML: ")


def test_json_format_reports_each_load_error(cli, write):
    bad = write(
        "bad.yaml", "version: 1\npolicies:\n  a: {where: 'healthy and'}\n  b: {where: nope}\n"
    )
    code, out, _ = cli("check", bad, "--format", "json")
    assert code == 2
    assert json.loads(out) == [
        {
            "file": bad,
            "line": 3,
            "column": 26,
            "status": "error",
            "message": "the policy ends too early; a condition or value must follow",
        },
        {
            "file": bad,
            "line": 4,
            "column": 14,
            "status": "error",
            "message": "unknown field 'nope'",
        },
    ]


def test_json_format_reports_a_missing_file(cli, tmp_path):
    missing = str(tmp_path / "nope.yaml")
    code, out, _ = cli("check", missing, "--format", "json")
    assert code == 2
    assert json.loads(out) == [
        {
            "file": missing,
            "line": None,
            "column": None,
            "status": "error",
            "message": "file not found",
        }
    ]


def test_an_unusable_catalog_still_gives_ci_a_report(cli, tmp_path):
    import xml.etree.ElementTree as ET

    missing = str(tmp_path / "nosuch.json")
    code, out, err = cli("check", str(ROOT / "policies"), "--catalog", missing, "--format", "junit")
    assert code == 3 and "file not found" in err
    suite = ET.fromstring(out).find("testsuite")
    assert suite.get("errors") == "1"
    assert suite.find("testcase/error").get("message").endswith("file not found")
    code, out, _ = cli("check", str(ROOT / "policies"), "--catalog", missing, "--format", "json")
    assert code == 3 and json.loads(out)[0]["status"] == "error"


def test_check_warns_about_values_no_model_has(cli, write, tmp_path):
    path = write(
        "typo.yaml",
        """
        version: 1
        policies:
          chat:
            where: (supports chatt or healthy) and category not in ["txt", "code"]
    """,
    )
    code, out, _ = cli("check", path, "--catalog", "builtin")
    assert code == 0  # a warning, not a failure: the policy still resolves
    assert out.splitlines()[1:3] == [
        "           warning: no model in the catalog supports 'chatt'; did you mean 'chat'?",
        "           warning: no model in the catalog has category 'txt'; did you mean 'text'?",
    ]
    code, out, _ = cli("check", path, "--catalog", "builtin", "--format", "github")
    assert out.splitlines()[0] == (
        f"::warning file={path},line=3::policy 'chat': no model in "
        "the catalog supports 'chatt'; did you mean 'chat'?"
    )
    code, out, _ = cli("check", path, "--catalog", "builtin", "--format", "json")
    assert len(json.loads(out)[0]["warnings"]) == 2
