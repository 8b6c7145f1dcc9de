"""The `--help` text of every command, pinned so that a change to it is deliberate.

The expected texts live in tests/snapshots/help-<command>.txt. After changing
the command line on purpose (or merging a branch that adds options), rewrite
them and review the diff:

    UPDATE_SNAPSHOTS=1 python -m pytest tests/test_help_snapshots.py
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest

from policyeng.cli import build_parser

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("UPDATE_SNAPSHOTS") == "1"


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    (subparsers,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return {"policyeng": parser, **subparsers.choices}


@pytest.mark.parametrize("command", sorted(_commands()))
def test_help_text_matches_its_snapshot(command, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")  # argparse wraps to the terminal width
    text = _commands()[command].format_help()
    path = SNAPSHOTS / f"help-{command}.txt"
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no snapshot for `{command} --help`; run with UPDATE_SNAPSHOTS=1"
    assert text == path.read_text(encoding="utf-8"), (
        f"`{command} --help` changed; if on purpose, run with UPDATE_SNAPSHOTS=1 and review "
        f"the diff of {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}"
    )


def test_every_snapshot_belongs_to_a_command():
    names = {f"help-{command}.txt" for command in _commands()}
    stale = sorted(p.name for p in SNAPSHOTS.glob("help-*.txt") if p.name not in names)
    if UPDATE:
        for name in stale:
            (SNAPSHOTS / name).unlink()
        stale = []
    assert stale == []
