"""The `explain` command, the no-match report of `select`, and how tables print."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import IMPORTED_FROM

import policyeng
from policyeng.cli import main

SAMPLE = Path(__file__).parent / "data" / "litellm-2026-07-sample.json"
POLICY = "supports tool_use and output_per_mtok < 1 and healthy"
ESC = "\x1b["


def run(*argv: str, env: dict[str, str] | None = None, tty: bool = False):
    """Run ``python -m policyeng`` as a user would; ``tty`` gives it a terminal for stdout."""
    environ = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "NO_COLOR")}
    environ.update({"PYTHONPATH": IMPORTED_FROM, **(env or {})})
    command = [sys.executable, "-m", "policyeng", *argv]
    if not tty:
        done = subprocess.run(command, capture_output=True, text=True, env=environ, check=False)
        return done.returncode, done.stdout, done.stderr
    leader, follower = pty.openpty()
    process = subprocess.Popen(command, stdout=follower, stderr=subprocess.PIPE, env=environ)
    os.close(follower)
    chunks = []
    while True:
        ready, _, _ = select.select([leader], [], [], 10)
        if not ready:
            break
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: the child is done
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    stderr = process.stderr.read().decode()
    process.stderr.close()
    code = process.wait(timeout=10)
    return code, b"".join(chunks).decode().replace("\r\n", "\n"), stderr


# --- explain ------------------------------------------------------------------------------


def test_explain_json_prints_what_policy_explain_returns(capsys):
    code = main(
        [
            "explain",
            POLICY + " order by output_per_mtok",
            "--model",
            "Qwen2.5-72B-Instruct",
            "--json",
        ]
    )
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    expected = policyeng.compile(POLICY + " order by output_per_mtok").explain(
        "builtin", model="Qwen2.5-72B-Instruct"
    )
    assert data == expected
    assert set(data) == {
        "policy",
        "catalog",
        "funnel",
        "passed",
        "pickable",
        "order_by",
        "candidates",
        "pick",
        "model",
    }
    assert set(data["catalog"]) == {"source", "sha256", "fetched_at", "stale", "models"}
    assert set(data["funnel"][0]) == {
        "clause",
        "entered",
        "passed",
        "dropped",
        "dropped_examples",
        "children",
    }
    assert set(data["candidates"][0]) == {
        "rank",
        "model_name",
        "endpoint",
        "category",
        "keys",
        "billing_unit",
        "picked",
    }
    assert data["model"]["status"] == "dropped"
    assert data["model"]["reason"] == "output_per_mtok = 1.2, needs < 1"


def test_explain_text_answers_why_not_in_one_screen(capsys):
    code = main(["explain", POLICY, "--model", "Qwen2.5-72B-Instruct"])
    out = capsys.readouterr().out
    assert code == 0
    lines = out.splitlines()
    assert len(lines) <= 30
    assert lines[-3:] == [
        "why not Qwen2.5-72B-Instruct?",
        "  clause 2 of 3 drops it: output_per_mtok < 1",
        "  output_per_mtok = 1.2, needs < 1",
    ]
    assert "picked  DeepSeek-Coder-V2-Lite-Instruct  /v1/chat/completions" in lines
    assert ESC not in out


def test_explain_shows_a_lower_ranked_model_below_the_top_rows(capsys):
    main(
        [
            "explain",
            POLICY + " order by output_per_mtok",
            "--model",
            "Llama-3.3-70B-Instruct",
            "--top",
            "2",
        ]
    )
    lines = capsys.readouterr().out.splitlines()
    table = lines[lines.index("14 candidates, best first by output_per_mtok") + 1 :]
    assert [line.split()[:2] for line in table[1:5]] == [
        ["*", "Llama-3.1-8B-Instruct"],
        ["2", "Mistral-7B-Instruct-v0.3"],
        ["..."],
        ["13", "Llama-3.3-70B-Instruct"],
    ]
    assert lines[-2:] == [
        "  it passes every clause, but ranks 13 of 14; the pick is Llama-3.1-8B-Instruct.",
        "  output_per_mtok placed 12 models before it: it has 0.88; Llama-3.1-8B-Instruct 0.18, "
        "Mistral-7B-Instruct-v0.3 0.2, gpt-oss-20b 0.22, …",
    ]


def test_explain_unknown_model_is_a_usage_error_with_did_you_mean(capsys):
    assert main(["explain", POLICY, "--model", "llama-3.3-70b-instruct"]) == 2
    assert capsys.readouterr().err == (
        "policyeng: --model: no model named 'llama-3.3-70b-instruct' in catalog builtin "
        "(55 models); did you mean 'Llama-3.3-70B-Instruct'?\n"
    )
    assert main(["explain", POLICY, "--model", "gpt-5"]) == 2
    assert capsys.readouterr().err == (
        "policyeng: --model: no model named 'gpt-5' in catalog builtin (55 models)\n"
        "hint: `policyeng catalog` lists every model_name (names are exact)\n"
    )


def test_explain_of_a_policy_that_resolves_to_nothing_exits_1_and_names_the_clause(capsys):
    assert main(["explain", "supports tool_use and output_per_mtok < 0.01 and healthy"]) == 1
    out = capsys.readouterr().out
    assert "candidates: none passed" in out
    assert out.splitlines()[-1] == (
        "no model is picked: `output_per_mtok < 0.01` dropped the last 22"
    )


def test_explain_reads_any_catalog_source(capsys):
    assert (
        main(
            [
                "explain",
                "supports tool_use and healthy order by output_per_mtok",
                "--catalog",
                str(SAMPLE),
                "--json",
            ]
        )
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert data["catalog"]["models"] == len(json.loads(SAMPLE.read_text()))
    assert data["candidates"][0]["picked"]


# --- select with no match -----------------------------------------------------------------


def test_select_no_match_prints_the_short_funnel_on_stderr_and_exits_1(capsys):
    policy = "supports tool_use and output_per_mtok < 0.01 and healthy"
    assert main(["select", policy]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "policyeng: no model matches the policy in catalog builtin (55 models)\n"
        "  supports tool_use                            55 in     33 dropped     22 left\n"
        "  output_per_mtok < 0.01                       22 in     22 dropped      0 left\n"
        "  healthy                                       0 in      0 dropped      0 left\n"
        "  `output_per_mtok < 0.01` dropped the last 22\n"
        "hint: see each clause's drops and the ranking with: "
        "policyeng explain 'supports tool_use and output_per_mtok < 0.01 and healthy'\n"
    )


# --- tables: colour, width ----------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["catalog"],
        ["select", POLICY + " order by output_per_mtok", "--top", "5"],
        ["explain", POLICY, "--model", "Qwen2.5-72B-Instruct"],
    ],
)
def test_tables_are_plain_text_when_piped_and_coloured_only_on_a_terminal(argv):
    width = {"COLUMNS": "80"}
    code, piped, _ = run(*argv, env=width)
    assert code == 0 and piped and ESC not in piped
    code, coloured, _ = run(*argv, env=width, tty=True)
    assert code == 0 and ESC in coloured
    code, no_color, _ = run(*argv, env={"NO_COLOR": "1", **width}, tty=True)
    assert code == 0 and ESC not in no_color
    # the same text either way, only the paint differs
    assert no_color == piped


def test_piped_tables_keep_whole_names_unless_columns_is_set():
    _, out, _ = run("catalog")
    assert "Llama-4-Maverick-17B-128E-Instruct-FP8" in out
    assert "…" not in out
    widths = {len(line) for line in out.splitlines()}
    assert max(widths) > 60


@pytest.mark.parametrize("width", [70, 80, 100])
def test_tables_fit_columns_and_truncate_names_with_an_ellipsis(width):
    _, out, _ = run("catalog", env={"COLUMNS": str(width)})
    lines = out.splitlines()
    assert width - 8 < max(len(line) for line in lines) <= width
    (row,) = [line for line in lines if " 1048576 " in line]  # Llama-4-Maverick-...
    name, category, endpoint, *numbers = row.split()
    # the endpoint gives way first (the category says it), then the name
    assert endpoint.endswith("…") and "/v1/chat/completions".startswith(endpoint[:-1])
    assert name.endswith("…") == (width < 100)
    assert "Llama-4-Maverick-17B-128E-Instruct-FP8".startswith(name.removesuffix("…"))
    # the numbers are never cut
    assert numbers == ["0.27", "0.85", "1048576", "healthy"]
    assert category == ("multimodal" if width >= 80 else "multimod…")


def test_explain_fits_a_narrow_terminal():
    code, out, _ = run(
        "explain", '(category == "code" or provider == "Qwen") and healthy', env={"COLUMNS": "60"}
    )
    assert code == 0
    table = out.split("\n\n")[1].splitlines()
    assert max(len(line) for line in table) <= 60
    assert table[2].startswith('├─ category == "code"')
    assert table[3].startswith('└─ provider == "Qwen"')


def test_a_plain_select_does_not_import_the_table_code():
    _, _, timings = run("select", "healthy", env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert "policyeng.engine" in timings
    assert "policyeng.cli.tables" not in timings
    assert "policyeng.explain" not in timings
    _, _, timings = run("select", "healthy", "--top", "3", env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert "policyeng.cli.tables" in timings


# --- named policies: the fallback chain ---------------------------------------------------

CHAIN_FILE = """\
version: 1
policies:
  tight:
    where: supports tool_use and output_per_mtok < 0.01
    fallback: [loose, spare]
  loose:
    where: supports tool_use and healthy
    order_by: [output_per_mtok]
  spare:
    where: healthy
  nothing:
    where: category == "rerank"
    fallback: tight-alone
  tight-alone:
    where: output_per_mtok < 0
"""


@pytest.fixture
def policy_file(tmp_path):
    path = tmp_path / "policies.yaml"
    path.write_text(CHAIN_FILE)
    return path


def test_explain_named_policy_shows_which_fallback_resolved_and_why_earlier_ones_did_not(
    policy_file, capsys
):
    assert (
        main(
            [
                "explain",
                "-f",
                str(policy_file),
                "tight",
                "--model",
                "Qwen2.5-72B-Instruct",
                "--top",
                "2",
            ]
        )
        == 0
    )
    lines = capsys.readouterr().out.splitlines()
    assert lines[:6] == [
        f"chain    tight -> loose -> spare ({policy_file}:3)",
        "  tight  no match: `output_per_mtok < 0.01` dropped the last 22",
        "         Qwen2.5-72B-Instruct: clause 2 drops it: output_per_mtok = 1.2, needs < 0.01",
        "  loose  resolved: Llama-3.1-8B-Instruct; the report below is for this policy",
        "  spare  not needed",
        "",
    ]
    assert lines[6] == "policy   loose: supports tool_use and healthy order by output_per_mtok"
    assert lines[-2:] == [
        "  it passes every clause, but ranks 16 of 19; the pick is Llama-3.1-8B-Instruct.",
        "  output_per_mtok placed 15 models before it: it has 1.2; Llama-3.1-8B-Instruct 0.18, "
        "Mistral-7B-Instruct-v0.3 0.2, gpt-oss-20b 0.22, …",
    ]


def test_explain_named_json_agrees_with_the_book(policy_file, capsys):
    assert main(["explain", "-f", str(policy_file), "tight", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    book = policyeng.load_policies(str(policy_file))
    selection = book.select("tight", "builtin")
    assert (data["name"], data["via"], data["pick"]) == ("tight", "loose", selection.model_name)
    assert selection.via == "loose"
    assert [(c["name"], c["tried"], c["resolved"], c["pick"]) for c in data["chain"]] == [
        ("tight", True, False, None),
        ("loose", True, True, selection.model_name),
        ("spare", False, False, None),
    ]
    assert (
        data["chain"][0]["funnel"]
        == policyeng.compile("supports tool_use and output_per_mtok < 0.01").explain("builtin")[
            "funnel"
        ]
    )
    assert data["policy"] == "supports tool_use and healthy order by output_per_mtok"
    assert data == book.explain("tight", "builtin")


def test_explain_named_policy_when_no_fallback_resolves_exits_1(policy_file, capsys):
    # the sample of a real catalog has one `rerank` model: it passes, but has no endpoint
    assert main(["explain", "-f", str(policy_file), "nothing", "--catalog", str(SAMPLE)]) == 1
    models = len(json.loads(SAMPLE.read_text()))
    lines = capsys.readouterr().out.splitlines()
    assert lines[:5] == [
        f"chain    nothing -> tight-alone ({policy_file}:11)",
        "  nothing      no match: 1 passed, but none has an endpoint (unknown category: rerank)",
        f"  tight-alone  no match: `output_per_mtok < 0` dropped the last {models}",
        "  no policy in the chain resolved; the report below is for nothing",
        "",
    ]
    assert (
        lines[-1] == "no model is picked: 1 passed, but none has an endpoint "
        "(unknown category: rerank)"
    )


def test_explain_unknown_policy_name_is_a_usage_error(policy_file, capsys):
    assert main(["explain", "-f", str(policy_file), "tigth"]) == 2
    assert capsys.readouterr().err == (
        f"policyeng: {policy_file}: no policy named 'tigth'; did you mean 'tight'?\n"
    )


def test_select_named_no_match_hint_points_at_explain_with_the_file(policy_file, capsys):
    assert main(["select", "-f", str(policy_file), "tight-alone"]) == 1
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == (
        "hint: see each clause's drops and the ranking with: "
        f"policyeng explain -f {policy_file} tight-alone"
    )


def test_explain_shows_missing_key_values_as_such(capsys):
    assert (
        main(
            [
                "explain",
                'category == "audio" order by output_per_mtok desc, context_window',
                "--model",
                "Kokoro-82M",
            ]
        )
        == 0
    )
    lines = capsys.readouterr().out.splitlines()
    (row,) = [line for line in lines if line.startswith("5  Kokoro-82M")]
    assert row.split()[-2:] == ["(missing)", "512"]
    assert lines[-1] == (
        "  output_per_mtok desc placed 4 models before it: it has no value, and missing values "
        "rank last; whisper-large-v3 0, whisper-large-v3-turbo 0, Dia-1.6B 0, …"
    )
