"""Properties of the compiled evaluator over generated catalogs and policies."""

from __future__ import annotations

import itertools
import random
import warnings

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import (
    catalogs,
    conditions,
    policies,
    reference_pick,
    reference_rank,
    reference_valid,
)

import policyeng
from policyeng.catalog import Catalog
from policyeng.language import ast as s

settings.register_profile(
    "policyeng", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("policyeng")


def compiled(tree: s.Policy) -> policyeng.Policy:
    return policyeng.compile(s.policy_to_text(tree))


def names(entries) -> list[str]:
    return [e["model_name"] for e in entries]


def selected(policy: policyeng.Policy, catalog: Catalog) -> set[str]:
    return set(names(policy.filter(catalog)))


def where(condition: s.Node) -> policyeng.Policy:
    return policyeng.compile(s.to_text(condition))


@given(policies)
def test_printing_then_parsing_gives_the_same_tree(tree):
    from policyeng.language.parser import parse

    assert parse(s.policy_to_text(tree)) == tree


@given(policies, catalogs(malformed=True))
def test_compiled_evaluator_agrees_with_the_reference_interpreter(tree, raw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", policyeng.CatalogWarning)
        catalog = Catalog.from_entries(raw)
    assert names(catalog.entries) == names(e for e in raw if reference_valid(e))
    assert len(caught) == len(raw) - len(catalog.entries)
    policy = compiled(tree)
    assert names(policy.rank(catalog)) == names(reference_rank(tree, catalog.entries))
    expected = reference_pick(tree, catalog.entries)
    if expected is None:
        try:
            policy.select(catalog)
        except policyeng.NoMatch:
            return
        raise AssertionError("select found a model the reference did not")
    assert policy.select(catalog).model_name == expected


@given(conditions, conditions, catalogs())
def test_de_morgan(a, b, raw):
    catalog = Catalog.from_entries(raw)
    assert selected(where(s.Not(s.And((a, b)))), catalog) == selected(
        where(s.Or((s.Not(a), s.Not(b)))), catalog
    )
    assert selected(where(s.Not(s.Or((a, b)))), catalog) == selected(
        where(s.And((s.Not(a), s.Not(b)))), catalog
    )


@given(conditions, catalogs())
def test_double_negation_is_identity(a, raw):
    catalog = Catalog.from_entries(raw)
    assert selected(where(s.Not(s.Not(a))), catalog) == selected(where(a), catalog)


@given(conditions, conditions, catalogs())
def test_and_or_are_commutative(a, b, raw):
    catalog = Catalog.from_entries(raw)
    assert selected(where(s.And((a, b))), catalog) == selected(where(s.And((b, a))), catalog)
    assert selected(where(s.Or((a, b))), catalog) == selected(where(s.Or((b, a))), catalog)


@given(conditions, catalogs())
def test_excluded_middle(a, raw):
    catalog = Catalog.from_entries(raw)
    assert selected(where(s.And((a, s.Not(a)))), catalog) == set()
    assert selected(where(s.Or((a, s.Not(a)))), catalog) == set(names(catalog.entries))


@given(conditions, conditions, catalogs())
def test_adding_a_conjunct_never_grows_the_result(a, b, raw):
    catalog = Catalog.from_entries(raw)
    assert selected(where(s.And((a, b))), catalog) <= selected(where(a), catalog)


@given(policies, catalogs(min_size=1))
def test_ranked_output_is_sorted_with_missing_keys_last(tree, raw):
    from policyeng.language.codegen import compile_value

    catalog = Catalog.from_entries(raw)
    ranked = compiled(tree).rank(catalog)
    keys = [compile_value(k.expr) for k in tree.order_by]
    for first, second in itertools.pairwise(ranked):
        for key, order in zip(keys, tree.order_by):
            a, b = key(first), key(second)
            if a is None or b is None:
                assert b is None, "a missing key ranked before a present one"
                if a is None:
                    continue
                break
            if a != b:
                assert (a > b) if order.descending else (a < b)
                break
        else:
            assert first["model_name"] < second["model_name"]


@given(policies, catalogs(min_size=1), st.randoms(use_true_random=False))
def test_the_pick_does_not_depend_on_catalog_order(tree, raw, rng: random.Random):
    policy = compiled(tree)
    shuffled = list(raw)
    rng.shuffle(shuffled)
    results = []
    for entries in (raw, shuffled):
        try:
            results.append(policy.select(Catalog.from_entries(entries)).model_name)
        except policyeng.NoMatch:
            results.append(None)
    assert results[0] == results[1]


@given(st.text(max_size=200))
def test_arbitrary_text_raises_only_policy_error(text):
    try:
        policyeng.compile(text)
    except policyeng.PolicyError as exc:
        assert str(exc)  # renders without failing
        assert exc.kind in {"syntax", "unknown-field", "type", "limit"}


@given(st.text(alphabet="()notand x<1[]\"'-+*/.,#\n", max_size=300))
def test_policy_shaped_noise_raises_only_policy_error(text):
    try:
        policyeng.compile(text)
    except policyeng.PolicyError as exc:
        assert str(exc)
