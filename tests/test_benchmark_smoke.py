"""The benchmark runs at a tiny size, and every implementation picks the same model.

Only a smoke run: timings are not asserted here (they belong to the benchmark's
own ratios); a different pick between policyeng and the hand-written floor,
jmespath or jq makes the benchmark exit non-zero, and that is asserted.
"""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import IMPORTED_FROM, ROOT


def test_benchmark_smoke_run_agrees_on_every_pick():
    env = {**os.environ, "PYTHONPATH": IMPORTED_FROM}
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--sizes", "100"],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    summary = result.stdout.strip().splitlines()[-1]
    assert "0 mismatch/error(s)" in summary
    assert "compiled selection vs floor, P1" in result.stdout
