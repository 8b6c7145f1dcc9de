"""The manual's transcripts on the real catalog snapshots, run and compared line by line.

The two snapshots are in ``tests/data`` (about 1.3 MB each). The blocks are
fenced ``text`` and marked ``<!-- transcript: NAME -->``: they print catalog
fetch times (a file's modification time) and take seconds each, so they run
here, once, rather than in the docs' own runner. Run with
``UPDATE_TRANSCRIPTS=1`` to rewrite a block after an intended change.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest
from conftest import IMPORTED_FROM, ROOT
from test_docs import normalise

PAGE = ROOT / "docs" / "ci.md"
DATA = ROOT / "tests" / "data"
BLOCK = re.compile(r"(<!-- transcript: ([\w-]+) -->\n```text\n)(.*?)(```)", re.S)
UPDATE = os.environ.get("UPDATE_TRANSCRIPTS") == "1"


def transcripts() -> dict[str, str]:
    return {m.group(2): m.group(3) for m in BLOCK.finditer(PAGE.read_text(encoding="utf-8"))}


def run(block: str, work) -> str:
    """Each ``$ command`` of the block, in order, followed by what it printed."""
    env = {
        **os.environ,
        "PYTHONPATH": IMPORTED_FROM,
        "NO_COLOR": "1",
        "POLICYENG_CATALOG": "builtin",
        "POLICYENG_CACHE_DIR": str(work / "cache"),
    }
    env.pop("COLUMNS", None)
    prelude = f'policyeng() {{ "{sys.executable}" -m policyeng "$@"; }}\n'
    shown = []
    for line in block.splitlines():
        if line.startswith("$ "):
            done = subprocess.run(
                ["bash", "-c", prelude + line[2:]],
                cwd=work / "repo",
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=120,
                check=False,
            )
            shown.append(line + "\n" + done.stdout)
    return "".join(shown)


@pytest.mark.parametrize("name", ["real-drift", "real-diff"])
def test_transcript_on_the_real_catalogs(name, tmp_path):
    (tmp_path / "repo").mkdir()
    shutil.copytree(ROOT / "policies", tmp_path / "repo" / "policies")
    (tmp_path / "repo" / "tests").mkdir()
    (tmp_path / "repo" / "tests" / "data").symlink_to(DATA)
    expected = transcripts()[name]
    actual = run(expected, tmp_path)
    if UPDATE and actual != expected:
        text = PAGE.read_text(encoding="utf-8")
        text = BLOCK.sub(
            lambda m: m.group(0) if m.group(2) != name else m.group(1) + actual + m.group(4), text
        )
        PAGE.write_text(text, encoding="utf-8")
    assert normalise(actual) == normalise(expected)


def test_every_drift_of_the_real_transcript_states_its_cause():
    block = transcripts()["real-drift"]
    fails = [i for i, line in enumerate(block.splitlines()) if line.startswith("FAIL ")]
    lines = block.splitlines()
    assert len(fails) == 2
    causes = [lines[i + 1].split()[0] for i in fails]
    assert causes == ["tie-break:", "removed:"]
