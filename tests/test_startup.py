"""What `policyeng select ... --catalog builtin` imports: the start-up every user pays.

The command must stay light (the benchmark's start-up row compares it with
``python -c 'import json'``), so the modules it loads are pinned here: exactly
these of policyeng's own, and from the standard library only light ones beyond
what ``import json`` loads. A module that drags in files, network, YAML, schema
validation, the parser generator or heavy standard modules (dataclasses,
logging, pickle, hashlib, pathlib, datetime, urllib, shutil...) fails here.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from contextlib import redirect_stdout

import pytest
from conftest import IMPORTED_FROM

from policyeng.cli import COMMANDS, main
from policyeng.cli.common import terminal_columns

PRINT_MODULES = "; import sys; print(json.dumps(sorted(sys.modules)))"

#: policyeng's modules on the path of `select` (and every command module, for argparse).
SELECT_MODULES = {
    "policyeng",
    "policyeng._version",
    "policyeng.errors",
    "policyeng.fields",
    "policyeng.catalog",
    "policyeng.catalog.model",
    "policyeng.catalog.sources",
    "policyeng.catalog.recent",  # each source parsed once per process
    "policyeng.language",
    "policyeng.language.ast",
    "policyeng.language.parser",
    "policyeng.language._lark_standalone",
    "policyeng.language.checker",
    "policyeng.language.codegen",
    "policyeng.engine",
    "policyeng.diagnose",  # the per-unit ranking warning
    "policyeng.text",  # control characters shown escaped in every output
    "policyeng.cli",
    "policyeng.cli.common",
    "policyeng.cli.progress",
    "policyeng.policies",
    "policyeng.policies.formats",  # check's --format choices
} | {command.__name__ for command in COMMANDS}

#: Standard modules `select` may add to what `import json` loads: argparse and what it
#: needs (gettext, locale), what the generated parser needs (typing, copy, weakref),
#: and a few small ones. Anything else is a start-up cost to justify first.
LIGHT_STANDARD_MODULES = {
    "__future__",
    "argparse",
    "collections",
    "contextlib",
    "copy",
    "errno",
    "gc",
    "gettext",
    "importlib",
    "locale",
    "typing",
    "warnings",
    "weakref",
}


def loaded_modules(code: str) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-c", code + PRINT_MODULES],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": IMPORTED_FROM, "PATH": ""},
        check=True,
    )
    return set(json.loads(result.stdout.splitlines()[-1]))


@pytest.fixture(scope="module")
def select_modules() -> set[str]:
    code = (
        "import json; from policyeng.cli import main; "
        "main(['select', 'supports chat', '--catalog', 'builtin'])"
    )
    return loaded_modules(code) - loaded_modules("import json")


def test_select_imports_exactly_these_policyeng_modules(select_modules):
    assert {m for m in select_modules if m.split(".")[0] == "policyeng"} == SELECT_MODULES


def test_select_imports_only_light_standard_modules(select_modules):
    others = {m.split(".")[0] for m in select_modules} - {"policyeng"}
    heavy = {m for m in others if not m.startswith("_")} - LIGHT_STANDARD_MODULES
    assert heavy == set(), f"select imports {sorted(heavy)}"


def test_the_lighter_pieces_still_work_when_used():
    """What the select path no longer imports up front is there when asked for."""
    from policyeng.language import _lark_standalone

    assert _lark_standalone.logger.name == "lark"  # lark's logger, set up on first use
    assert _lark_standalone.logger.level == 50  # CRITICAL, as lark sets it
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["select", "supports chat", "--catalog", "builtin"]) == 0
    assert out.getvalue().strip().endswith("/v1/chat/completions")


@pytest.mark.parametrize("columns", ["", "0", "abc", "33", "200"])
def test_help_is_as_wide_as_shutil_would_say(monkeypatch, columns):
    import shutil

    monkeypatch.setenv("COLUMNS", columns)
    assert terminal_columns() == shutil.get_terminal_size().columns


def test_the_command_line_runs_without_the_cyclic_collector():
    """A one-shot command has no garbage worth collecting; see ``main_exit``."""
    code = (
        "import atexit, gc, sys; from policyeng.cli import main_exit; "
        "atexit.register(lambda: print('collector on:', gc.isenabled())); "
        "sys.argv = ['policyeng', 'select', 'supports chat', '--catalog', 'builtin']; "
        "main_exit()"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": IMPORTED_FROM, "PATH": ""},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "collector on: False"
