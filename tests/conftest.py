"""Shared fixtures: the CLI as a subprocess or in-process, and files written to tmp."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from policyeng.cli import main

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
            stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m policyeng ARGS`` in a fresh process, as a user would."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1", "COLUMNS": "120"}
    full_env.pop("POLICYENG_CATALOG", None)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "policyeng", *args],
        capture_output=True, text=True, env=full_env, cwd=cwd or ROOT, input=stdin, timeout=120,
    )


@pytest.fixture
def write_catalog(tmp_path):
    """Write entries (or raw text) to a catalog file and return its path."""

    def write(entries, name: str = "catalog.json") -> Path:
        path = tmp_path / name
        path.write_text(entries if isinstance(entries, str) else json.dumps(entries))
        return path

    return write


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
    """``cli("check", "policies/")`` -> (exit code, stdout, stderr), run in-process."""
    monkeypatch.delenv("POLICYENG_CATALOG", raising=False)
    monkeypatch.delenv("POLICYENG_DEBUG", raising=False)

    def _run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return _run
