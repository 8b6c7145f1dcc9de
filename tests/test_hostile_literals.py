"""A number literal denotes its exact decimal value: a suffix never rounds twice.

``4.095k`` used to be ``float("4.095") * 1000`` = 4094.9999999999995, so
``context_window <= 4.095k`` dropped a model whose context_window is 4095.
A literal is now the double nearest its decimal value, as if the digits were
written out: ``4.095k`` is ``4095``, ``0.00018k`` is ``0.18``.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

import policyeng
from policyeng.catalog.model import Catalog
from policyeng.language.parser import parse


def literal(text: str):
    return parse(f"context_window < {text}").where.right.value


@given(whole=st.integers(0, 10**6), thousandths=st.integers(0, 999))
def test_every_n_nnn_k_equals_the_number_written_out(whole, thousandths):
    suffixed = literal(f"{whole}.{thousandths:03d}k")
    assert suffixed == literal(f"{whole}{thousandths:03d}") == whole * 1000 + thousandths


@given(whole=st.integers(0, 10**4), millionths=st.integers(0, 999_999))
def test_every_n_nnnnnn_m_equals_the_number_written_out(whole, millionths):
    suffixed = literal(f"{whole}.{millionths:06d}M")
    assert suffixed == literal(f"{whole}{millionths:06d}") == whole * 1_000_000 + millionths


@given(
    digits=st.text("0123456789", min_size=1, max_size=25),
    point=st.integers(0, 25),
    suffix=st.sampled_from(["k", "M"]),
)
def test_any_suffixed_decimal_is_its_exact_value_rounded_once(digits, point, suffix):
    point = min(point, len(digits))
    text = digits[:point] + "." + digits[point:] if point < len(digits) else digits
    if text.startswith("."):
        text = "0" + text
    exact = Decimal(text) * (1000 if suffix == "k" else 1_000_000)
    # a whole number stays an exact int; a decimal is the double nearest its value
    assert literal(text + suffix) == (int(exact) if "." not in text else float(exact))


@pytest.mark.parametrize(
    "text, value",
    [
        ("4.095k", 4095),
        ("8.191k", 8191),
        ("0.00018k", 0.18),
        ("1.5M", 1_500_000),
        ("0.000001M", 1),
        ("1_000.5k", 1_000_500),
        (".5k", 500),
        ("2.0000001M", 2_000_000.1),
    ],
)
def test_the_examples_that_used_to_be_wrong(text, value):
    assert literal(text) == value


def test_suffixed_literals_select_the_models_they_name():
    catalog = Catalog.from_entries(
        [
            {
                "model_name": "a",
                "category": "text",
                "context_window": 4095,
                "max_output": 8191,
                "output_per_mtok": 0.18,
            },
            {
                "model_name": "b",
                "category": "text",
                "context_window": 4096,
                "max_output": 8192,
                "output_per_mtok": 0.19,
            },
        ]
    )
    names = lambda policy: [e["model_name"] for e in policyeng.compile(policy).filter(catalog)]  # noqa: E731
    assert names("context_window <= 4.095k") == ["a"]
    assert names("max_output in [8.191k]") == ["a"]
    assert names("output_per_mtok == 0.00018k") == ["a"]
    assert names("context_window == 0.004096M") == ["b"]


def test_a_literal_keeps_its_kind_whole_or_not():
    assert type(literal("32k")) is int and type(literal("4.095k")) is float
    assert type(literal("128_000")) is int and type(literal("1e3")) is float
