"""The README's examples are run, so the manual cannot drift from the code.

Every ```console block is a series of ``$ command`` lines, each followed by
its exact output (stdout and stderr together); they run in order, in bash, in
a scratch copy of ``policies/`` and ``tests/data/``. Every ```python block
must run without error.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest
from conftest import IMPORTED_FROM, ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def console_examples() -> list[tuple[str, str]]:
    """(command, expected output) for each ``$ `` line of every console block."""
    examples = []
    for block in re.findall(r"```console\n(.*?)```", README, flags=re.S):
        for chunk in re.split(r"^\$ ", block, flags=re.M)[1:]:
            command, _, output = chunk.partition("\n")
            examples.append((command, output))
    return examples


def normalise(text: str) -> str:
    """Catalog digests vary with the builtin snapshot; the rest must match exactly."""
    return re.sub(r"sha256 [0-9a-f]{12}", "sha256 <digest>", text)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    work = tmp_path_factory.mktemp("readme")
    shutil.copytree(ROOT / "policies", work / "policies")
    shutil.copytree(ROOT / "tests" / "data", work / "tests" / "data")
    return work


def test_readme_console_examples_run_as_shown(workdir):
    # The examples run as the README says: with POLICYENG_CATALOG=builtin (see "Sources").
    env = {**os.environ, "PYTHONPATH": IMPORTED_FROM, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1",
           "POLICYENG_CATALOG": "builtin"}
    env.pop("COLUMNS", None)  # piped tables are full width unless COLUMNS is set
    prelude = f'policyeng() {{ "{sys.executable}" -m policyeng "$@"; }}\n'
    for command, expected in console_examples():
        result = subprocess.run(
            ["bash", "-c", prelude + command.replace("python ", f'"{sys.executable}" ', 1)],
            cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, timeout=60, check=False,
        )
        assert normalise(result.stdout) == normalise(expected), command


def test_readme_has_the_key_examples():
    commands = [command for command, _ in console_examples()]
    assert len(commands) >= 10
    assert "policyeng check policies/" in commands
    assert "policyeng check policies/ --catalog catalog.json --locked" in commands


@pytest.mark.parametrize("code", re.findall(r"```python\n(.*?)```", README, flags=re.S))
def test_python_example(code):
    exec(compile(code, "README.md", "exec"), {})


def test_readme_names_the_real_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "pip install '.[test]' && python -m pytest" in README
    assert "-m pytest" in ci and "'.[test]'" in ci
