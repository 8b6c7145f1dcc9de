"""The benchmark runs at a tiny size, and every implementation picks the same model.

Only a smoke run: timings are not asserted here (they belong to the benchmark's
own ratios); a different pick between policyeng and the hand-written floor,
jmespath or jq makes the benchmark exit non-zero, and that is asserted.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

from conftest import IMPORTED_FROM, ROOT

sys.path.append(str(ROOT))  # benchmarks/ (not installed); policyeng stays the installed one

from benchmarks import clean_venv
from benchmarks.sections import SECTIONS


def test_benchmark_smoke_run_agrees_on_every_pick():
    env = {**os.environ, "PYTHONPATH": IMPORTED_FROM}
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--sizes", "100"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    summary = result.stdout.strip().splitlines()[-1]
    assert "0 mismatch/error(s)" in summary
    assert "compiled selection vs floor, P1" in result.stdout
    # the deployment section's request counts are exact (a wrong one fails the run above)
    assert re.search(
        r"requests per refresh, 100 concurrent resolver\.select +1 +exactly 1 +PASS", result.stdout
    )
    for title in (
        "1. In-process selection",
        "2. Parse + check + compile",
        "3a. Whole command",
        "3b. Start-up",
        "3c. check on a long fallback chain",
        "4. Scaling",
        "5. Memory",
        "6. deployments",
        "Targets",
    ):
        assert f"\n{title}" in result.stdout, title


def test_every_section_is_a_module_with_run():
    assert len(SECTIONS) == len(set(SECTIONS)) == 8
    assert all(callable(section.run) for section in SECTIONS)


def test_the_clean_virtualenv_is_reused_while_the_package_is_unchanged(tmp_path):
    venv = tmp_path / "venv"
    python = clean_venv.bin_dir(venv) / "python"
    python.parent.mkdir(parents=True)
    python.write_text("")
    deps, sources = clean_venv.digests(ROOT)
    (venv / clean_venv.STAMP).write_text(f"{deps} {sources}\n")
    assert clean_venv.ensure(venv, ROOT) == "reused"
    assert clean_venv.digests(ROOT) == (deps, sources)  # stable: no clock, no order
