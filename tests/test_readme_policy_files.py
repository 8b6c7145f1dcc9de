"""The README's policy-file and CI examples, run as written, output compared."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT

SECTION = "## Policy files"


def console_examples() -> list[tuple[str, str]]:
    """(command, expected output) for each ``$ `` line of the console blocks of our sections."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index(SECTION):]
    examples = []
    for block in re.findall(r"```console\n(.*?)```", section, flags=re.S):
        for chunk in re.split(r"^\$ ", block, flags=re.M)[1:]:
            command, _, output = chunk.partition("\n")
            examples.append((command, output))
    return examples


def normalise(text: str) -> str:
    """Catalog digests vary with the builtin snapshot; the rest must match exactly."""
    return re.sub(r"sha256 [0-9a-f]{12}", "sha256 <digest>", text)


def test_readme_section_has_examples():
    commands = [command for command, _ in console_examples()]
    assert "policyeng check policies/" in commands
    assert "policyeng check policies/ --catalog catalog.json --locked" in commands


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    work = tmp_path_factory.mktemp("readme")
    shutil.copytree(ROOT / "policies", work / "policies")
    shutil.copytree(ROOT / "tests" / "data", work / "tests" / "data")
    return work


def test_readme_console_examples_run_as_shown(workdir):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    env.pop("POLICYENG_CATALOG", None)
    prelude = f'policyeng() {{ "{sys.executable}" -m policyeng "$@"; }}\n'
    for command, expected in console_examples():
        result = subprocess.run(
            ["bash", "-c", prelude + command.replace("python ", f'"{sys.executable}" ', 1)],
            cwd=workdir, env=env, capture_output=False, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, timeout=60, check=False,
        )
        assert normalise(result.stdout) == normalise(expected), command
