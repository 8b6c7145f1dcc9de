"""The compiled validator on the hot path accepts exactly what jsonschema accepts."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from policyeng.catalog.validation import _fast_validator, _first_error, _validator

FIELDS = [
    "model_name",
    "slug",
    "category",
    "context_window",
    "max_output",
    "input_per_mtok",
    "output_per_mtok",
    "supports",
    "pricing",
    "health_status",
    "extra",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10**16),
    st.sampled_from([0.0, 1.0, 2.5, -0.5]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=3),
)
ROW_FIELDS = [
    "billing_unit",
    "unit_price_usd",
    "currency",
    "resolution_tier",
    "quality_tier",
    "effective_at",
    "input_per_mtok",
    "output_per_mtok",
    "cached_input_per_mtok",
    "x",
]
values = st.one_of(
    scalars,
    st.lists(scalars, max_size=2),
    st.dictionaries(st.text(max_size=2), scalars, max_size=2),
)
#: pricing rows: mostly the right keys, with any scalar (NaN, -0.5, 10**16, "", true, ...)
rows = st.one_of(st.dictionaries(st.sampled_from(ROW_FIELDS), scalars, max_size=4), scalars)
entries = st.one_of(
    st.dictionaries(st.sampled_from(FIELDS), values),
    st.fixed_dictionaries(
        {"model_name": st.text(min_size=1, max_size=5)}, optional={f: values for f in FIELDS[1:]}
    ),
    st.fixed_dictionaries({"model_name": st.just("m"), "pricing": st.lists(rows, max_size=3)}),
    values,
)


@given(entries)
def test_fast_validator_agrees_with_jsonschema(entry):
    assert _fast_validator()(entry) == (_first_error(_validator(), entry) is None)


def test_fast_validator_agrees_on_the_bundled_and_test_catalogs():
    data = Path(__file__).parent.parent / "data"
    for path in data.glob("*.json"):
        for entry in json.loads(path.read_text()):
            assert _fast_validator()(entry) == (_first_error(_validator(), entry) is None)
