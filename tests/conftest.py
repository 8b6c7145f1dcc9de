"""Shared fixtures: the CLI as a subprocess, and catalogs written to tmp files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

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
