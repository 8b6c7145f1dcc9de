"""`select --format text|json|env|github`, `--all`, and small JSON by default."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import ROOT
from test_shell_output import HOSTILE, read_github_output

POLICIES = str(ROOT / "policies")
FIELDS = ("MODEL_NAME", "ENDPOINT", "URL", "BASE_URL", "CATALOG_SHA256", "STALE")


def source(text: str, tmp_path) -> dict[str, str]:
    """What ``sh`` holds after ``set -a; . FILE``: the POLICYENG_ variables, exactly."""
    path = tmp_path / "model.env"
    path.write_text(text, encoding="utf-8")
    script = (
        f'set -a; . "{path}"; exec "{sys.executable}" -c "import os, json; '
        "print(json.dumps({k: v for k, v in os.environ.items() "
        "if k.startswith('POLICYENG_')}))\""
    )
    result = subprocess.run(
        ["sh", "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin"},
        timeout=30,
    )
    assert result.returncode == 0 and result.stderr == "", result.stderr
    return json.loads(result.stdout)


def test_json_lists_ten_candidates_unless_top_says(cli):
    code, out, _ = cli("select", "supports chat", "--json")
    assert code == 0 and len(json.loads(out)["candidates"]) == 10
    assert json.loads(cli("select", "supports chat", "--json", "--top", "0")[1])["candidates"] == []
    assert (
        len(
            json.loads(cli("select", "supports chat", "--format", "json", "--top", "3")[1])[
                "candidates"
            ]
        )
        == 3
    )


def test_text_top_zero_prints_only_the_pick(cli):
    code, out, _ = cli("select", "supports chat order by model_name", "--top", "0")
    assert code == 0 and len(out.splitlines()) == 1


def test_env_of_the_builtin_catalog(cli, tmp_path):
    code, out, err = cli("select", "-f", POLICIES, "support-chat", "--format", "env")
    assert code == 0 and err == ""
    values = source(out, tmp_path)
    assert set(values) == {f"POLICYENG_{f}" for f in FIELDS}
    assert values["POLICYENG_ENDPOINT"] == "/v1/chat/completions"
    assert values["POLICYENG_URL"] == "https://tokens.flex.ai/v1/chat/completions"
    assert values["POLICYENG_BASE_URL"] == "https://tokens.flex.ai/v1"
    assert values["POLICYENG_STALE"] == "false"
    assert len(values["POLICYENG_CATALOG_SHA256"]) == 64
    picked = json.loads(cli("select", "-f", POLICIES, "support-chat", "--json")[1])
    assert values["POLICYENG_MODEL_NAME"] == picked["model_name"]


@pytest.mark.parametrize("name", [n for n in HOSTILE if n.strip()])
def test_env_survives_any_model_name(cli, write_catalog, tmp_path, name):
    catalog = write_catalog([{"model_name": name, "category": "text"}])
    code, out, _ = cli("select", "true", "--catalog", str(catalog), "--format", "env")
    assert code == 0
    values = source(out, tmp_path)
    assert values["POLICYENG_MODEL_NAME"] == name
    assert values["POLICYENG_ENDPOINT"] == "/v1/chat/completions"
    assert not (tmp_path / "pwned").exists()


def test_a_catalog_url_gives_its_own_host_to_url_and_base_url(cli, server, tmp_path):
    from catalog_server import reply

    server.script("/api/models", reply(200, [{"model_name": "m", "category": "text"}]))
    code, out, _ = cli("select", "true", "--catalog", server.url(), "--format", "env")
    assert code == 0
    values = source(out, tmp_path)
    root = f"http://127.0.0.1:{server.port}"
    assert values["POLICYENG_URL"] == root + "/v1/chat/completions"
    assert values["POLICYENG_BASE_URL"] == root + "/v1"


def test_github_appends_outputs_and_prints_the_pick(cli, write_catalog, tmp_path, monkeypatch):
    catalog = write_catalog([{"model_name": "two\nlines $(x)", "category": "text"}])
    target = tmp_path / "github_output"
    target.write_text("earlier=kept\n")
    monkeypatch.setenv("GITHUB_OUTPUT", str(target))
    code, out, _ = cli("select", "true", "--catalog", str(catalog), "--format", "github")
    # the log shows the pick on one line, its newline escaped (text.visible)
    assert code == 0 and out == "two\\nlines $(x)  /v1/chat/completions\n"
    outputs = read_github_output(target.read_text())
    assert outputs["earlier"] == "kept"
    assert outputs["model_name"] == "two\nlines $(x)"
    assert outputs["base_url"] == "https://tokens.flex.ai/v1" and outputs["stale"] == "false"
    assert set(outputs) == {
        "earlier",
        "model_name",
        "endpoint",
        "url",
        "base_url",
        "catalog_sha256",
        "stale",
    }


def test_github_without_github_output_exits_2(cli, monkeypatch):
    monkeypatch.delenv("GITHUB_OUTPUT", raising=False)
    code, out, err = cli("select", "healthy", "--format", "github")
    assert code == 2 and out == ""
    assert "GITHUB_OUTPUT is not set" in err and "--format env" in err


def test_all_in_json_is_keyed_by_policy(cli):
    code, out, _ = cli("select", "-f", POLICIES, "--all", "--json", "--top", "1")
    assert code == 0
    data = json.loads(out)
    assert "support-chat" in data and "general-chat" in data
    assert data["support-chat"]["policy"] == "support-chat"
    assert all(len(pick["candidates"]) <= 1 for pick in data.values())


def test_all_in_env_prefixes_each_policy(cli, tmp_path):
    code, out, _ = cli("select", "-f", POLICIES, "--all", "--format", "env")
    assert code == 0
    values = source(out, tmp_path)
    single = source(cli("select", "-f", POLICIES, "support-chat", "--format", "env")[1], tmp_path)
    for field in FIELDS:
        assert values[f"POLICYENG_SUPPORT_CHAT_{field}"] == single[f"POLICYENG_{field}"]
    assert "POLICYENG_GENERAL_CHAT_MODEL_NAME" in values


@pytest.fixture
def partly_matching(write):
    return write(
        "p.yaml",
        """
        version: 1
        policies:
          any-text:
            where: category == "text"
          nothing:
            where: output_per_mtok < 0
    """,
    )


def test_all_with_a_policy_that_matches_nothing(cli, partly_matching, tmp_path, monkeypatch):
    code, out, err = cli("select", "-f", partly_matching, "--all", "--json", "--top", "0")
    assert code == 1
    data = json.loads(out)
    assert data["nothing"] is None and data["any-text"]["model_name"]
    assert "no model matches policy 'nothing'" in err

    code, out, _ = cli("select", "-f", partly_matching, "--all", "--format", "env")
    assert code == 1
    values = source(out, tmp_path)
    assert "POLICYENG_ANY_TEXT_MODEL_NAME" in values
    assert not any(name.startswith("POLICYENG_NOTHING_") for name in values)

    code, out, _ = cli("select", "-f", partly_matching, "--all")
    assert code == 1
    lines = out.splitlines()
    assert lines[1] == "nothing   (no match)" and lines[0].startswith("any-text  ")

    target = tmp_path / "out"
    monkeypatch.setenv("GITHUB_OUTPUT", str(target))
    assert cli("select", "-f", partly_matching, "--all", "--format", "github")[0] == 1
    assert "any_text_model_name" in read_github_output(target.read_text())


def test_policies_whose_variables_would_collide_are_refused(cli, write):
    path = write(
        "c.yaml",
        """
        version: 1
        policies:
          a-b:
            where: healthy
          a_b:
            where: healthy
    """,
    )
    code, out, err = cli("select", "-f", path, "--all", "--format", "env")
    assert code == 2 and out == ""
    assert "'a-b' and 'a_b' would both export POLICYENG_A_B_*" in err


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["healthy", "--json", "--format", "env"], "--json and --format env contradict"),
        (["--all"], "give them with -f"),
        (["-f", POLICIES, "support-chat", "--all"], "drop 'support-chat' or --all"),
        (["healthy", "--format", "env", "--top", "2"], "--top lists candidates"),
        ([], "give a policy (EXPR)"),
    ],
)
def test_options_that_contradict_exit_2(cli, args, says):
    code, out, err = cli("select", *args)
    assert code == 2 and out == "" and says in err
