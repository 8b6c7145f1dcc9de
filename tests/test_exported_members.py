"""The public surface is deliberate: these names, and no heavy import behind them."""

from __future__ import annotations

import subprocess
import sys

from conftest import IMPORTED_FROM

import policyeng

PUBLIC = {
    "Catalog", "CatalogError", "CatalogWarning", "Error",
    "FetchSettings", "NoMatch", "Policy", "PolicyBook",
    "PolicyError", "PolicyFileError", "Resolver", "Selection", "compile", "load_catalog",
    "load_policies",
    "select",
}


def test_exported_members():
    assert set(policyeng.__all__) == PUBLIC
    assert all(getattr(policyeng, name) for name in PUBLIC)


def test_select_imports_no_file_network_or_table_code():
    code = (
        "import sys; from policyeng.cli import main; main(['select', 'healthy', "
        "'--catalog', 'builtin']); print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('yaml', 'httpx', 'platformdirs', 'filelock', 'jsonschema', 'lark', 'difflib') or m in "
        "('policyeng.policies.book', 'policyeng.cli.tables', 'policyeng.explain')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={"PYTHONPATH": IMPORTED_FROM, "PATH": ""}, check=True)
    assert result.stdout.splitlines()[-1] == "[]"


def test_wrong_argument_types_get_a_clear_type_error():
    import pytest

    policy = policyeng.compile("healthy")
    catalog = policyeng.load_catalog("builtin")
    cases = [
        (lambda: policy.select(123), "a catalog is a Catalog, a source (builtin, a path, a URL) "
                                     "or a list of entries, not int"),
        (lambda: policyeng.load_catalog(123), "a catalog source is builtin, a path or a URL "
                                              "(str or os.PathLike), not int"),
        (lambda: policy.explain(catalog, model=5), "model is a model_name (str), not int"),
    ]
    for call, message in cases:
        with pytest.raises(TypeError) as info:
            call()
        assert str(info.value) == message
