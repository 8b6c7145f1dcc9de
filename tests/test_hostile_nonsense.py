"""Accepted nonsense is refused: NaN is no bound, infinity no count, true no number.

Every file kind where a number belongs gets NaN, the infinities and booleans:
a catalog entry (the entry is skipped with its reason), a policy file (exit 2
at the file, line and column), the policy text (a type error with a caret).
And any JSON value at all as a catalog entry ends as a kept valid entry, a
skipped one, or a clean CatalogError: never a traceback.
"""

from __future__ import annotations

import json
import math
import sys
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import policyeng
from policyeng.catalog.model import parse_catalog
from policyeng.cli import tables
from policyeng.errors import CatalogError, CatalogWarning, PolicyError

pytestmark = pytest.mark.filterwarnings("always::policyeng.errors.CatalogWarning")

NUMBER_FIELDS = ["context_window", "max_output", "input_per_mtok", "output_per_mtok"]


def load(body: bytes):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        catalog = parse_catalog(body, "t.json")
    assert all(w.category is CatalogWarning for w in caught)
    return catalog


@pytest.mark.parametrize(
    "value", ["NaN", "Infinity", "-Infinity", "true", "false", "1e400", '"12"', "[1]", "{}"]
)
@pytest.mark.parametrize("field", NUMBER_FIELDS)
def test_a_catalog_number_field_holding_nonsense_skips_the_entry(field, value):
    body = f'[{{"model_name": "bad", "{field}": {value}}}, {{"model_name": "good"}}]'
    catalog = load(body.encode())
    assert [e["model_name"] for e in catalog] == ["good"]
    [problem] = catalog.skipped
    assert problem.reason.startswith(field + ":"), problem.reason


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_nan_and_infinities_anywhere_in_an_entry_skip_it(value):
    body = f'[{{"model_name": "bad", "extra": {{"list": [0, {value}]}}}}, {{"model_name": "ok"}}]'
    catalog = load(body.encode())
    assert [e["model_name"] for e in catalog] == ["ok"]
    assert catalog.skipped[0].reason.startswith("extra.list[1]: ")


def test_catalog_json_output_never_holds_nan_or_infinity(cli, write_catalog):
    path = write_catalog(
        '[{"model_name": "a", "x": NaN}, {"model_name": "b", "y": -Infinity},'
        ' {"model_name": "c", "z": 1.5}]'
    )
    code, out, err = cli("catalog", "--json", "--catalog", str(path))
    assert code == 0 and [e["model_name"] for e in json.loads(out)] == ["c"]
    assert "NaN" not in out and "Infinity" not in out
    assert err.count("skipped entry") == 2


@pytest.mark.parametrize(
    "value, message",
    [
        (".nan", "`.nan` (not a number) is not a value a policy file accepts"),
        (".NaN", "`.nan` (not a number) is not a value a policy file accepts"),
        (".inf", ".inf is too large"),
        ("-.inf", "-.inf is too large"),
        ("true", "expected a number, got true"),
        ("false", "expected a number, got false"),
        ("'0.5'", "expected a number, got text '0.5'"),
    ],
)
def test_max_output_per_mtok_must_be_a_finite_number(cli, write, value, message):
    path = write(
        "p.yaml",
        "version: 1\npolicies:\n  a:\n    where: supports chat\n"
        f"    expect: {{max_output_per_mtok: {value}}}\n",
    )
    code, out, err = cli("check", path)
    assert code == 2 and out == ""
    assert err.startswith(f"policyeng: {path}:5:35: ")
    assert message in err.splitlines()[0]


@pytest.mark.parametrize(
    "value, message",
    [
        ("true", "expected a whole number, got true"),
        ("false", "expected a whole number, got false"),
        (".nan", "`.nan` (not a number)"),
        (".inf", ".inf is too large"),
        ("2.5", "expected a whole number, got the number 2.5"),
        ("0", "must be at least 1"),
    ],
)
def test_min_candidates_must_be_a_whole_number(cli, write, value, message):
    path = write(
        "p.yaml",
        "version: 1\npolicies:\n  a:\n    where: supports chat\n"
        f"    expect: {{min_candidates: {value}}}\n",
    )
    code, _, err = cli("check", path)
    assert code == 2 and err.startswith(f"policyeng: {path}:5:30: ")
    assert message in err.splitlines()[0]


@pytest.mark.parametrize("value", ["true", ".nan", ".inf", "-.inf"])
def test_version_must_be_exactly_1(cli, write, value):
    path = write("p.yaml", f"version: {value}\npolicies:\n  a: {{where: healthy}}\n")
    code, _, err = cli("check", path)
    assert code == 2 and err.startswith(f"policyeng: {path}:1:10: ")


@pytest.mark.parametrize(
    "text",
    [
        "output_per_mtok < true",
        "output_per_mtok < nan",
        "output_per_mtok < inf",
        "context_window == false",
        "output_per_mtok < 1e999",
        "-1e400 < output_per_mtok",
    ],
)
def test_policy_text_has_no_nan_infinity_or_boolean_numbers(text):
    with pytest.raises(PolicyError) as raised:
        policyeng.compile(text)
    assert raised.value.column is not None


# --- any JSON value as a catalog entry ----------------------------------------------------------

#: Any character at all, lone surrogates included (JSON escapes them as \udXXX).
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=12)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats()
    | ANY_TEXT
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4),
    max_leaves=20,
)
FIELD_NAMES = (
    st.sampled_from(
        [
            "model_name",
            "category",
            "supports",
            "pricing",
            "provider",
            "health_status",
            *NUMBER_FIELDS,
        ]
    )
    | ANY_TEXT
)
ENTRY_LIKE = st.dictionaries(FIELD_NAMES, JSON_VALUES, max_size=6).map(
    lambda d: {"model_name": "m", **d}
)


def _dumps(value) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entries=st.lists(ENTRY_LIKE | JSON_VALUES, max_size=5), raw=st.booleans())
def test_any_json_as_catalog_entries_is_kept_valid_skipped_or_a_catalog_error(entries, raw):
    body = _dumps(entries) if not raw else _dumps(entries).replace(b"\\ud800", b"\xed\xa0\x80")
    try:
        catalog = load(body)
    except CatalogError as exc:
        str(exc).encode("utf-8")
        return
    assert len(catalog.entries) + len(catalog.skipped) == len(entries)
    for entry in catalog:
        assert isinstance(entry["model_name"], str) and entry["model_name"].strip()
        json.dumps(entry, allow_nan=False).encode("utf-8")  # printable JSON, no NaN
        for name in NUMBER_FIELDS:
            number = entry.get(name)
            assert number is None or (
                not isinstance(number, bool) and math.isfinite(number) and number >= 0
            )
    style = tables.Style(sys.stdout, colour=False, width=None)
    lines = tables.table(
        ["model_name", "category"],
        [[e["model_name"], tables.value_cell(e.get("category"))] for e in catalog],
        style,
    )
    "\n".join(lines).encode("utf-8")


@settings(max_examples=200, deadline=None)
@given(top=JSON_VALUES)
def test_any_json_document_as_a_catalog_is_a_catalog_or_a_catalog_error(top):
    try:
        load(_dumps(top))
    except CatalogError:
        pass
