"""The README's examples are run, so the manual cannot drift from the code.

Every ```console block is a series of ``$ policyeng ...`` commands, each
followed by its exact output (stdout and stderr together); every ```python
block must run without error.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from conftest import ROOT, run_cli

README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```(console|python)\n(.*?)```", README, flags=re.DOTALL)


def _console_examples():
    for kind, body in BLOCKS:
        if kind != "console":
            continue
        command, output = None, []
        for line in body.splitlines():
            if line.startswith("$ "):
                if command:
                    yield pytest.param(command, "\n".join(output), id=command[:60])
                command, output = line[2:], []
            else:
                output.append(line)
        if command:
            yield pytest.param(command, "\n".join(output), id=command[:60])


@pytest.mark.parametrize(("command", "expected"), list(_console_examples()))
def test_console_example(command, expected, tmp_path):
    words = shlex.split(command)
    assert words[0] == "policyeng", "README console examples run policyeng only"
    result = run_cli(*words[1:], cwd=ROOT)
    assert (result.stdout + result.stderr).rstrip("\n") == expected


@pytest.mark.parametrize("code", [b for k, b in BLOCKS if k == "python"])
def test_python_example(code):
    exec(compile(code, "README.md", "exec"), {})


def test_readme_has_examples():
    assert len(list(_console_examples())) >= 5


def test_readme_names_the_real_test_command():
    ci = (Path(ROOT) / ".ci" / "run").read_text()
    assert "pip install '.[test]' && python -m pytest" in README
    assert "-m pytest" in ci and "'.[test]'" in ci
