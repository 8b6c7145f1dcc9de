"""The decision-server benchmark runs (50 requests a row), and every answer is the
in-process pick. Timings are not asserted: they belong to the benchmark's report."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import IMPORTED_FROM, ROOT


def test_serve_benchmark_smoke_run_answers_the_in_process_pick():
    env = {**os.environ, "PYTHONPATH": IMPORTED_FROM}
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "serve.py"), "--requests", "50"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "HTTP GET, 1 keep-alive connection" in result.stdout
    assert result.stdout.strip().splitlines()[-1].startswith("every answer picked ")
