"""tables.py: widths, ellipses, colour decisions."""

from __future__ import annotations

import io

import pytest

from policyeng.cli import tables


class FakeTerminal(io.StringIO):
    def __init__(self, tty: bool, encoding: str = "utf-8") -> None:
        super().__init__()
        self._tty, self._encoding = tty, encoding

    def isatty(self) -> bool:
        return self._tty

    @property
    def encoding(self) -> str:
        return self._encoding


@pytest.mark.parametrize(
    ("tty", "no_color", "colour"),
    [(True, None, True), (True, "1", False), (True, "", True), (False, None, False)],
)
def test_colour_only_on_a_terminal_without_no_color(monkeypatch, tty, no_color, colour):
    monkeypatch.delenv("NO_COLOR", raising=False)
    if no_color is not None:
        monkeypatch.setenv("NO_COLOR", no_color)
    style = tables.Style(FakeTerminal(tty))
    assert style.colour is colour
    assert (style("x", "red") == "\x1b[31mx\x1b[0m") is colour


def test_width_is_the_terminal_else_columns_else_unlimited(monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    assert tables.output_width(FakeTerminal(False)) is None
    monkeypatch.setenv("COLUMNS", "77")
    assert tables.output_width(FakeTerminal(False)) == 77
    assert tables.output_width(FakeTerminal(True)) == 77  # shutil honours COLUMNS too
    monkeypatch.setenv("COLUMNS", "wide")
    assert tables.output_width(FakeTerminal(False)) is None


def test_truncate_counts_terminal_columns_and_ends_in_an_ellipsis():
    assert tables.truncate("Llama-3.3-70B-Instruct", 10) == "Llama-3.3…"
    assert tables.truncate("short", 10) == "short"
    assert tables.text_width("通义千问-Max") == 12
    assert tables.truncate("通义千问-Max", 6) == "通义…"
    assert tables.text_width(tables.truncate("通义千问-Max", 6)) <= 6
    assert tables.truncate("abcdef", 4, "...") == "a..."


def test_table_aligns_and_shrinks_named_columns_only():
    style = tables.Style(FakeTerminal(False), colour=False, width=30)
    lines = tables.table(
        ["name", "n"],
        [["a-very-long-model-name-indeed", "12345"], ["b", "7"]],
        style,
        right=(1,),
        shrink=((0,),),
    )
    assert lines == [
        "name" + " " * 19 + "      n",
        "a-very-long-model-name…  12345",
        "b" + " " * 22 + "      7",
    ]
    assert {len(line) for line in lines} == {30}


def test_ascii_terminals_get_ascii_ellipsis_and_tree():
    style = tables.Style(FakeTerminal(False, encoding="ascii"), colour=False, width=None)
    assert style.ellipsis == "..."
    steps = [
        {
            "clause": "(a or b)",
            "entered": 2,
            "passed": 1,
            "dropped": 1,
            "dropped_examples": ["x"],
            "children": [
                {
                    "clause": "a",
                    "entered": 2,
                    "passed": 0,
                    "dropped": 2,
                    "dropped_examples": ["x", "y"],
                    "children": [],
                },
                {
                    "clause": "b",
                    "entered": 2,
                    "passed": 1,
                    "dropped": 1,
                    "dropped_examples": ["x"],
                    "children": [],
                },
            ],
        }
    ]
    lines = tables.funnel_lines(steps, style, title="funnel")
    assert [line.split()[0] for line in lines[1:4]] == ["(a", "|-", "`-"]
    "\n".join(lines).encode("ascii")
