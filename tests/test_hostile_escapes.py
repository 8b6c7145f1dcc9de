"""Catalog text never drives the terminal: every output shows control characters escaped.

A model name (or any string of an entry) may hold escape sequences that set the
terminal's title or clear its screen, a newline that fakes an output line,
C1 controls, or bidirectional overrides. Each is built here at run time and
pushed through every human-readable output (select, --top, catalog, --info,
explain, check and its drift table, lock, warnings and errors) and the JSON
ones, which must stay JSON that reads back to the same text.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select as io_select
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import IMPORTED_FROM
from hypothesis import given, settings
from hypothesis import strategies as st

from policyeng.cli import tables
from policyeng.text import visible

#: Skipped entries warn: shown on stderr (through the CLI), not raised as test errors.
pytestmark = pytest.mark.filterwarnings("always::policyeng.errors.CatalogWarning")

#: What a terminal acts on: C0 controls, DEL, C1 controls, line/paragraph separators,
#: bidirectional embeddings, overrides and isolates. Built from the code points here,
#: not taken from the code under test.
CONTROLS = (
    [chr(c) for c in range(0x00, 0x20)]
    + [chr(c) for c in range(0x7F, 0xA0)]
    + ["\u2028", "\u2029"]
    + [chr(c) for c in range(0x202A, 0x202F)]
    + [chr(c) for c in range(0x2066, 0x206A)]
)
#: A title change, a screen clear, a C1 CSI, a bidi override, a fake second line.
ATTACK = "\x1b]0;PWNED\x07\x1b[2J\x9b31m\u202eevil\r\nFAKE"
#: Every control character at once, so one run covers them all.
EVERYTHING = "all" + "".join(CONTROLS)


def raw_controls(text: str, allowed: str = "\n") -> list[str]:
    """The control characters in ``text`` other than the ones its format needs."""
    return sorted({repr(c) for c in text if c in CONTROLS and c not in allowed})


def assert_shown_not_obeyed(text: str) -> None:
    assert raw_controls(text) == [], text


@pytest.fixture
def hostile_catalog(write_catalog):
    """Two hostile models that are picked, one entry skipped for a hostile reason."""
    return write_catalog(
        [
            {
                "model_name": ATTACK,
                "category": "text",
                "supports": ["chat"],
                "provider": ATTACK,
                "description": ATTACK,
                "health_status": ATTACK,
                "output_per_mtok": 0.5,
            },
            {
                "model_name": EVERYTHING,
                "category": EVERYTHING,
                "supports": ["chat", EVERYTHING],
                "output_per_mtok": 0.7,
            },
            {"model_name": "skipped" + ATTACK, "context_window": ATTACK},
        ]
    )


def test_visible_writes_json_escapes_and_keeps_printable_text():
    assert visible("a\x1bb") == "a\\u001bb"
    assert visible("\n\r\t") == "\\n\\r\\t"
    assert visible("\x9b\u202e\u2028\x7f") == "\\u009b\\u202e\\u2028\\u007f"
    assert visible("\ud800") == "\\ud800"
    assert visible("été 漢字 😀 back\\slash") == "été 漢字 😀 back\\slash"
    assert visible("one\ntwo\x1b", keep="\n") == "one\ntwo\\u001b"
    for char in CONTROLS:
        assert json.loads(f'"{visible(char)}"') == char  # the escapes are JSON's


TEXT_COMMANDS = [
    ("select", "supports chat order by output_per_mtok"),
    ("select", "supports chat order by output_per_mtok", "--top", "5"),
    ("select", "supports chat and provider == 'x'"),  # no match: the funnel on stderr
    ("catalog",),
    ("catalog", "--where", "supports chat order by provider"),
    ("catalog", "--info"),
    ("explain", "supports chat order by provider, health_status"),
    ("explain", "supports chat and output_per_mtok > 0.6", "--model", ATTACK),
    ("explain", "supports chat", "--model", EVERYTHING),
    ("select", "supports chat", "--strict"),  # the strict error lists the skipped entry
]


@pytest.mark.parametrize("argv", TEXT_COMMANDS, ids=lambda a: " ".join(a)[:60])
def test_text_output_shows_control_characters_escaped(cli, hostile_catalog, argv):
    code, out, err = cli(*argv, "--catalog", str(hostile_catalog))
    assert code in (0, 1, 3)
    assert out or err
    assert_shown_not_obeyed(out)
    assert_shown_not_obeyed(err)
    assert "PWNED" in out + err or (argv[0] == "catalog" and "--where" in argv)


def test_select_prints_the_escaped_name_on_one_line(cli, hostile_catalog):
    code, out, _ = cli(
        "select", "supports chat order by output_per_mtok", "--catalog", str(hostile_catalog)
    )
    assert code == 0
    assert out == visible(ATTACK) + "  /v1/chat/completions\n"
    assert "\\u001b]0;PWNED\\u0007\\u001b[2J\\u009b31m\\u202eevil\\r\\nFAKE" in out


def test_tables_stay_aligned_with_escaped_names(cli, hostile_catalog):
    code, out, _ = cli("catalog", "--catalog", str(hostile_catalog))
    lines = out.splitlines()
    assert code == 0 and len(lines) == 3  # header + two models: no faked line
    second_column = lines[0].index("category")
    assert all(line[second_column - 2 : second_column] == "  " for line in lines)
    assert any(line[second_column - 3] != " " for line in lines[1:])  # the longest name ends


JSON_COMMANDS = [
    ("select", "supports chat order by output_per_mtok", "--json"),
    ("catalog", "--json"),
    ("catalog", "--info", "--json"),
    ("explain", "supports chat", "--json", "--model", ATTACK),
]


@pytest.mark.parametrize("argv", JSON_COMMANDS, ids=lambda a: " ".join(a)[:60])
def test_json_output_escapes_controls_and_reads_back_the_same_text(cli, hostile_catalog, argv):
    code, out, err = cli(*argv, "--catalog", str(hostile_catalog))
    assert code == 0
    assert_shown_not_obeyed(out)
    assert_shown_not_obeyed(err)
    if argv[:2] == ("catalog", "--info"):  # the skipped entry's reason, as text
        assert "PWNED" in json.loads(out)["skipped"][0]
        return
    assert json.dumps(ATTACK) in json.dumps(json.loads(out))  # read back: the same text


@pytest.fixture
def hostile_project(tmp_path, write_catalog, monkeypatch):
    """A policy file whose pick is a hostile model, locked; then the catalog changes."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "policies.yaml").write_text(
        "version: 1\npolicies:\n  chat:\n    where: supports chat order by output_per_mtok\n"
        "    expect: {model_name_in: [plain]}\n",
        encoding="utf-8",
    )
    before = write_catalog(
        [{"model_name": ATTACK, "category": "text", "supports": ["chat"]}], "before.json"
    )
    after = write_catalog(
        [{"model_name": EVERYTHING, "category": "text", "supports": ["chat"]}], "after.json"
    )
    return before, after


def test_lock_summary_and_check_drift_table_show_controls_escaped(cli, hostile_project):
    before, after = hostile_project
    policies = Path("policies.yaml").read_text(encoding="utf-8")
    Path("policies.yaml").write_text(policies.split("    expect:")[0], encoding="utf-8")
    code, out, err = cli("lock", "policies.yaml", "--catalog", str(before))  # lock: no failures
    assert code == 0 and "PWNED" in out
    assert_shown_not_obeyed(out)
    assert_shown_not_obeyed(err)
    Path("policies.yaml").write_text(policies, encoding="utf-8")
    for form in ("text", "junit", "github", "json", "sarif", "tap"):
        code, out, err = cli(
            "check", "policies.yaml", "--locked", "--catalog", str(after), "--format", form
        )
        assert code == 1, (form, out, err)
        assert_shown_not_obeyed(out)
        assert_shown_not_obeyed(err)
    code, out, _ = cli("check", "policies.yaml", "--locked", "--catalog", str(after))
    assert "drift against policies.lock" in out and "\\u001b]0;PWNED" in out
    assert "all\\u0000\\u0001" in out  # the new pick, in the drift table and the failure


def test_argparse_error_on_stderr_is_escaped(capsys):
    from policyeng.cli import main

    with pytest.raises(SystemExit):
        main(["select", "supports", "chat", "\x1b[2J\x1b]0;PWNED\x07"])
    err = capsys.readouterr().err
    assert "PWNED" in err
    assert_shown_not_obeyed(err)


def test_a_policy_with_control_characters_is_shown_escaped_under_its_caret(cli):
    code, _, err = cli("select", "model_name == '\x1b[2J' and nonsense")
    assert code == 2
    assert_shown_not_obeyed(err)
    caret_line, source_line = err.splitlines()[2], err.splitlines()[1]
    assert source_line.index("nonsense") == caret_line.index("^")


def _run_on_a_terminal(argv: list[str]) -> str:
    """Run policyeng with stdout and stderr on a pseudo-terminal; everything it wrote."""
    main_fd, terminal_fd = pty.openpty()
    env = {**os.environ, "PYTHONPATH": IMPORTED_FROM, "COLUMNS": "200"}
    env.pop("NO_COLOR", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "policyeng", *argv],
        stdout=terminal_fd,
        stderr=terminal_fd,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    os.close(terminal_fd)
    chunks = []
    while True:
        ready, _, _ = io_select.select([main_fd], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(main_fd, 65536)
        except OSError:  # the terminal closed: the process is done
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=60)
    os.close(main_fd)
    return b"".join(chunks).decode("utf-8")


@pytest.mark.parametrize(
    "argv",
    [
        ["select", "supports chat order by output_per_mtok", "--top", "3"],
        ["explain", "supports chat", "--model", ATTACK],
        ["catalog"],
    ],
    ids=lambda a: a[0],
)
def test_on_a_real_terminal_only_policyeng_colours_get_through(hostile_catalog, argv):
    shown = _run_on_a_terminal([*argv, "--catalog", str(hostile_catalog)])
    assert "PWNED" in shown
    colours = re.findall(r"\x1b\[[0-9;]*m", shown)
    assert colours, "a terminal gets colour"
    assert set(colours) <= {
        "\x1b[0m",
        "\x1b[1m",
        "\x1b[2m",
        "\x1b[32;1m",
        "\x1b[36m",
        "\x1b[31m",
        "\x1b[32m",
        "\x1b[33m",
        "\x1b[36;1m",
        "\x1b[31;1m",
    }
    assert "\x1b[2J" not in shown and "\x1b]0;" not in shown
    assert raw_controls(re.sub(r"\x1b\[[0-9;]*m", "", shown), allowed="\r\n") == []


@settings(max_examples=150, deadline=None)
@given(
    names=st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=5),
    colour=st.booleans(),
    width=st.sampled_from([None, 40, 200]),
)
def test_rendered_tables_never_hold_a_raw_control_character(names, colour, width):
    style = tables.Style(sys.stdout, colour=colour, width=width)
    rows = [[name, (name, "cyan"), "/v1/x", tables.value_cell(name)] for name in names]
    lines = tables.table(
        ["model_name", "styled", "endpoint", "value"], rows, style, shrink=((0, 1),)
    )
    for line in lines:
        plain = re.sub(r"\x1b\[[0-9;]*m", "", line) if colour else line
        assert raw_controls(plain, allowed="") == [], line
        assert not any("\ud800" <= c <= "\udfff" for c in plain)  # lone surrogates too


def test_a_warning_naming_a_hostile_model_stays_on_one_line(cli, write_catalog):
    """The per-unit ranking warning names candidates as they are: one line all the same."""
    path = write_catalog(
        [
            {
                "model_name": "img\nFAKE LINE\x1b[2J",
                "category": "image",
                "pricing": [{"billing_unit": "image", "unit_price_usd": 0.01, "currency": "USD"}],
            }
        ]
    )
    code, out, err = cli(
        "select", "category == 'image' order by output_per_mtok", "--catalog", str(path)
    )
    assert code == 0 and out.startswith("img\\nFAKE LINE\\u001b[2J  ")
    [warning] = err.splitlines()
    assert warning.startswith("policyeng: warning: ") and "img\\nFAKE LINE" in warning
    assert_shown_not_obeyed(err)
