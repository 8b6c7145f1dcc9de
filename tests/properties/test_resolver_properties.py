"""The resolver picks what the policy picks over the catalog minus the open models."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import catalogs, policies

import policyeng
from policyeng.catalog import Catalog
from policyeng.language import ast as s

settings.register_profile(
    "policyeng", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("policyeng")


def expected(text: str, raw: list[dict], open_models: set[str]) -> tuple[str, bool] | None:
    """compile(...).select() without the open models; else the degraded pick; else None."""
    policy = policyeng.compile(text)
    remaining = [entry for entry in raw if entry["model_name"] not in open_models]
    for entries, degraded in ((remaining, False), (raw, True)):
        try:
            return policy.select(Catalog.from_entries(entries)).model_name, degraded
        except policyeng.NoMatch:
            continue
    return None


@given(policies, catalogs(), st.data())
def test_the_pick_skips_open_breakers_and_degrades_when_none_remain(tree, raw, data):
    text = s.policy_to_text(tree)
    names = [entry["model_name"] for entry in raw]
    open_models = data.draw(st.sets(st.sampled_from(names)) if names else st.just(set()))
    with policyeng.Resolver(None, catalog=Catalog.from_entries(raw)) as resolver:
        for name in open_models:
            resolver.report_failure(name, status=429)
        want = expected(text, raw, open_models)
        try:
            selection = resolver.select(text)
        except policyeng.NoMatch:
            assert want is None
            return
        assert (selection.model_name, selection.degraded) == want
