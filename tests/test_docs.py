"""The README's and the manual's examples are run, so the docs cannot drift from the code.

Every ```console block is a series of ``$ command`` lines, each followed by
its exact output (stdout and stderr together); a page's blocks run in order,
in bash, in a scratch copy of ``policies/`` and ``tests/data/`` of its own.
Every ```python block must run without error, in such a copy too. Code that
needs a service or a client the tests do not have (an OpenAI SDK, a web
framework) is fenced as ```py: shown, not run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import IMPORTED_FROM, ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def page_name(page: Path) -> str:
    return str(page.relative_to(ROOT))


def console_examples(page: Path) -> list[tuple[str, str]]:
    """(command, expected output) for each ``$ `` line of every console block of a page."""
    examples = []
    text = page.read_text(encoding="utf-8")
    for block in re.findall(r"```console\n(.*?)```", text, flags=re.S):
        for chunk in re.split(r"^\$ ", block, flags=re.M)[1:]:
            command, _, output = chunk.partition("\n")
            examples.append((command, output))
    return examples


def python_examples() -> list[tuple[str, str]]:
    return [
        (page_name(page), code)
        for page in PAGES
        for code in re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.S)
    ]


def normalise(text: str) -> str:
    """Catalog digests (whole or cut to 12) vary with the builtin snapshot, and a catalog
    file's fetch time with the run; the rest must match exactly."""
    text = re.sub(r"\b[0-9a-f]{64}\b", "<sha256>", text)
    # a catalog file's fetch time is its modification time, the moment the example ran
    text = re.sub(r"fetched \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", "fetched <time>", text)
    return re.sub(r"sha256 [0-9a-f]{12}", "sha256 <digest>", text)


def scratch(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "policies", tmp_path / "policies")
    shutil.copytree(ROOT / "tests" / "data", tmp_path / "tests" / "data")
    return tmp_path


@pytest.mark.parametrize("page", [p for p in PAGES if console_examples(p)], ids=page_name)
def test_console_examples_run_as_shown(page, tmp_path):
    # The examples run as the docs say: with POLICYENG_CATALOG=builtin (see the catalog page).
    work = scratch(tmp_path)
    env = {
        **os.environ,
        "PYTHONPATH": IMPORTED_FROM,
        "PYTHONUNBUFFERED": "1",
        "NO_COLOR": "1",
        "POLICYENG_CATALOG": "builtin",
        "POLICYENG_CACHE_DIR": str(tmp_path / "cache"),
    }
    env.pop("COLUMNS", None)  # piped tables are full width unless COLUMNS is set
    prelude = f'policyeng() {{ "{sys.executable}" -m policyeng "$@"; }}\n'
    for command, expected in console_examples(page):
        result = subprocess.run(
            ["bash", "-c", prelude + command.replace("python ", f'"{sys.executable}" ', 1)],
            cwd=work,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=60,
            check=False,
        )
        assert normalise(result.stdout) == normalise(expected), f"{page_name(page)}: {command}"


def test_the_docs_have_the_key_examples():
    commands = [command for page in PAGES for command, _ in console_examples(page)]
    assert len(commands) >= 20
    assert "policyeng check policies/" in commands
    assert "policyeng check policies/ --catalog catalog.json --locked" in commands


@pytest.mark.parametrize(
    ("page", "code"), python_examples(), ids=[page for page, _ in python_examples()]
)
def test_python_example(page, code, tmp_path, monkeypatch):
    monkeypatch.chdir(scratch(tmp_path))
    exec(compile(code, page, "exec"), {})


def test_readme_names_the_real_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text()
    assert "pip install '.[test]' && python -m pytest" in readme
    assert "-m pytest" in ci and "'.[test]'" in ci


def test_the_readme_stays_a_short_front_door_and_every_page_is_indexed():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.encode()) <= 10_000
    index = (ROOT / "docs" / "README.md").read_text(encoding="utf-8")
    for page in sorted((ROOT / "docs").glob("*.md")):
        if page.name != "README.md":
            assert f"({page.name})" in index, f"docs/README.md does not link {page.name}"
