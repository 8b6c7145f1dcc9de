"""Shared helpers: write a policy file, run the command line in-process."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from policyeng.cli import main

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def write(tmp_path):
    """``write("name.yaml", text)`` -> the path (text is dedented)."""

    def _write(name: str, text: str) -> str:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return str(path)

    return _write


@pytest.fixture
def cli(capsys, monkeypatch):
    """``cli("check", "policies/")`` -> (exit code, stdout, stderr)."""
    monkeypatch.delenv("POLICYENG_CATALOG", raising=False)
    monkeypatch.delenv("POLICYENG_DEBUG", raising=False)

    def _run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return _run
