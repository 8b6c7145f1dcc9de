"""The public surface is deliberate: these names, and no heavy import behind them."""

from __future__ import annotations

import subprocess
import sys

from conftest import IMPORTED_FROM

import policyeng

PUBLIC = {
    "Catalog", "CatalogError", "CatalogWarning", "Error", "NoMatch", "Policy", "PolicyBook",
    "PolicyError", "PolicyFileError", "Selection", "compile", "load_catalog", "load_policies",
    "select",
}


def test_exported_members():
    assert set(policyeng.__all__) == PUBLIC
    assert all(getattr(policyeng, name) for name in PUBLIC)


def test_select_imports_no_file_network_or_table_code():
    code = (
        "import sys; from policyeng.cli import main; main(['select', 'healthy', "
        "'--catalog', 'builtin']); print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('yaml', 'httpx', 'platformdirs', 'filelock', 'jsonschema', 'lark') or m in "
        "('policyeng.policyfile', 'policyeng.render', 'policyeng.explain')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={"PYTHONPATH": IMPORTED_FROM, "PATH": ""}, check=True)
    assert result.stdout.splitlines()[-1] == "[]"
