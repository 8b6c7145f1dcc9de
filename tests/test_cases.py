"""Data-driven language cases (tests/cases/*.json), in the jmespath compliance form.

Each file holds ``given`` (catalog entries) and ``cases``: a ``policy`` with
either ``result`` (ranked model names, endpoint or not), optionally ``pick``
(the selected model, null for no match), or ``error`` (the PolicyError kind).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import policyeng
from policyeng.catalog import Catalog

CASES_DIR = Path(__file__).parent / "cases"


def _cases():
    for path in sorted(CASES_DIR.glob("*.json")):
        suite = json.loads(path.read_text())
        for number, case in enumerate(suite["cases"]):
            yield pytest.param(suite["given"], case, id=f"{path.stem}-{number}-{case['policy']}")


@pytest.mark.parametrize(("given", "case"), list(_cases()))
def test_case(given, case):
    if "error" in case:
        with pytest.raises(policyeng.PolicyError) as info:
            policyeng.compile(case["policy"])
        assert info.value.kind == case["error"], str(info.value)
        return
    catalog = Catalog.from_entries(given)
    policy = policyeng.compile(case["policy"])
    assert [e["model_name"] for e in policy.rank(catalog)] == case["result"]
    if "pick" in case:
        if case["pick"] is None:
            with pytest.raises(policyeng.NoMatch):
                policy.select(catalog)
        else:
            assert policy.select(catalog).model_name == case["pick"]
