"""The public surface is deliberate: these names (what they import: test_startup.py)."""

from __future__ import annotations

import policyeng

PUBLIC = {
    "Catalog",
    "CatalogError",
    "CatalogWarning",
    "Error",
    "FetchSettings",
    "NoMatch",
    "Policy",
    "PolicyBook",
    "PolicyError",
    "PolicyFileError",
    "Resolver",
    "Selection",
    "compile",
    "load_catalog",
    "load_policies",
    "select",
}


def test_exported_members():
    assert set(policyeng.__all__) == PUBLIC
    assert all(getattr(policyeng, name) for name in PUBLIC)


def test_wrong_argument_types_get_a_clear_type_error():
    import pytest

    policy = policyeng.compile("healthy")
    catalog = policyeng.load_catalog("builtin")
    cases = [
        (
            lambda: policy.select(123),
            "a catalog is a Catalog, a source (builtin, a path, a URL) "
            "or a list of entries, not int",
        ),
        (
            lambda: policyeng.load_catalog(123),
            "a catalog source is builtin, a path or a URL (str or os.PathLike), not int",
        ),
        (lambda: policy.explain(catalog, model=5), "model is a model_name (str), not int"),
    ]
    for call, message in cases:
        with pytest.raises(TypeError) as info:
            call()
        assert str(info.value) == message
