"""The deployment benchmark runs (small), and its counted rows hold.

Timings are not asserted (they belong to the benchmark's report); the request
counts are exact, so they are.
"""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import IMPORTED_FROM, ROOT


def test_deployment_benchmark_smoke_run():
    env = {**os.environ, "PYTHONPATH": IMPORTED_FROM}
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "deployments.py"), "--quick", "--size", "200"],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    lines = result.stdout.splitlines()
    counted = [line for line in lines if line.startswith("  ") and "requests" in line]
    assert len(counted) == 2, result.stdout
    assert all(line.rstrip().endswith("PASS") for line in counted), result.stdout
    assert any("the refresh was still stuck while they ran" in line and "True" in line
               for line in lines), result.stdout
