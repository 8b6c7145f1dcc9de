"""Prices that are not per token: validated pricing rows and the fields derived from them."""

from __future__ import annotations

import json

import pytest
from conftest import DATA

import policyeng
from policyeng import CatalogWarning
from policyeng.catalog import Catalog, load_catalog
from policyeng.catalog.model import usd_prices


def test_a_malformed_pricing_row_skips_its_entry_with_a_warning_naming_the_row(write_catalog):
    image = {"billing_unit": "image", "unit_price_usd": 0.003, "currency": "USD"}
    path = write_catalog([
        {"model_name": "good", "category": "image", "pricing": [image]},
        {"model_name": "negative", "pricing": [image, {**image, "unit_price_usd": -0.01}]},
        {"model_name": "text-price", "pricing": [{**image, "unit_price_usd": "0.003"}]},
        {"model_name": "no-unit", "pricing": [{**image, "billing_unit": ""}]},
        {"model_name": "currency", "pricing": [{**image, "currency": 840}]},
        {"model_name": "row", "pricing": [image, image, "image"]},
        {"model_name": "huge", "pricing": [{**image, "unit_price_usd": 10**20}]},
        {"model_name": "cached", "pricing": [{"cached_input_per_mtok": -1}]},
    ])
    with pytest.warns(CatalogWarning) as record:
        catalog = load_catalog(path)
    assert [e["model_name"] for e in catalog] == ["good"]
    reasons = [str(w.message).split(": ", 2)[2] for w in record]
    assert reasons == [
        "pricing[1].unit_price_usd: -0.01 is less than the minimum of 0",
        "pricing[0].unit_price_usd: '0.003' is not of type 'number', 'null'",
        "pricing[0].billing_unit: '' should be non-empty",
        "pricing[0].currency: 840 is not of type 'string', 'null'",
        "pricing[2]: 'image' is not of type 'object'",
        f"pricing[0].unit_price_usd: {10**20} is greater than the maximum of 1000000000000.0",
        "pricing[0].cached_input_per_mtok: -1 is less than the minimum of 0",
    ]
    assert str(record[0].message).startswith(f"catalog {path}: skipped entry [1] 'negative': ")


@pytest.mark.parametrize("field", ["unit_price_usd", "input_per_mtok", "output_per_mtok",
                                   "cached_input_per_mtok"])
def test_nan_in_a_pricing_row_skips_the_entry(write_catalog, field):
    row = {"billing_unit": "image", "unit_price_usd": 0.003, "currency": "USD", field: "NAN"}
    text = json.dumps([{"model_name": "a"}, {"model_name": "b", "pricing": [{}, row]}])
    path = write_catalog(text.replace('"NAN"', "NaN"))
    with pytest.warns(CatalogWarning, match=rf"'b': pricing\[1\]\.{field}: NaN is not a finite"):
        catalog = load_catalog(path)
    assert [e["model_name"] for e in catalog] == ["a"]


def test_strict_names_the_row_too(write_catalog):
    path = write_catalog([{"model_name": "a", "pricing": [{"unit_price_usd": -1}]}])
    with pytest.raises(policyeng.CatalogError, match=r"pricing\[0\]\.unit_price_usd"):
        load_catalog(path, strict=True)


@pytest.mark.parametrize(("rows", "expected"), [
    ([], {}),
    ([{"billing_unit": "image", "unit_price_usd": 0.04}, {"billing_unit": "image",
                                                          "unit_price_usd": 0.018}],
     {"unit_price": 0.018, "billing_unit": "image"}),
    # other currencies are ignored, whatever their price; "usd" in any case is USD
    ([{"billing_unit": "image", "unit_price_usd": 0.001, "currency": "EUR"},
      {"billing_unit": "image", "unit_price_usd": 0.05, "currency": "Usd"}],
     {"unit_price": 0.05, "billing_unit": "image"}),
    ([{"billing_unit": "image", "unit_price_usd": 0.001, "currency": "EUR"}], {}),
    # a price without a unit (or a unit without a price) gives nothing
    ([{"unit_price_usd": 0.001}, {"billing_unit": "minute", "unit_price_usd": None}], {}),
    # equal prices: the unit first in code-point order, whatever the rows' order
    ([{"billing_unit": "second of output", "unit_price_usd": 0.0001},
      {"billing_unit": "second of audio", "unit_price_usd": 0.0001}],
     {"unit_price": 0.0001, "billing_unit": "second of audio"}),
    ([{"billing_unit": "image", "unit_price_usd": 0},
      {"billing_unit": "image", "unit_price_usd": 0.02, "cached_input_per_mtok": 0.5},
      {"cached_input_per_mtok": 0.25}, {"currency": "GBP", "cached_input_per_mtok": 0.01}],
     {"unit_price": 0, "billing_unit": "image", "cached_input_per_mtok": 0.25}),
])
def test_usd_prices(rows, expected):
    assert usd_prices(rows) == expected
    assert usd_prices(list(reversed(rows))) == expected


def test_derived_prices_replace_what_an_entry_carries_under_their_names():
    catalog = Catalog.from_entries([
        {"model_name": "a", "unit_price": "cheap", "billing_unit": 3, "cached_input_per_mtok": -1},
        {"model_name": "b", "unit_price": 9, "pricing": [{"billing_unit": "image",
                                                          "unit_price_usd": 0.5}]},
    ])
    a, b = catalog.entries
    assert not {"unit_price", "billing_unit", "cached_input_per_mtok"} & set(a)
    assert (b["unit_price"], b["billing_unit"]) == (0.5, "image")


def test_builtin_media_models_carry_unit_prices():
    catalog = load_catalog("builtin")
    priced = {e["model_name"]: (e["unit_price"], e["billing_unit"])
              for e in catalog if "unit_price" in e}
    assert priced["FLUX.1-schnell"] == (0.003, "image")
    assert priced["whisper-large-v3-turbo"] == (0.0006, "minute")
    assert {e.get("category") for e in catalog if e["model_name"] in priced} == {
        "image", "audio", "video"}
    assert all(e.get("category") in ("image", "audio", "video") for e in catalog
               if e["model_name"] in priced)


def test_real_catalog_rows_validate_and_give_the_from_price():
    catalog = load_catalog(str(DATA / "litellm-2026-07-media.json"))
    assert catalog.skipped == [] and len(catalog) == 27
    assert {e["billing_unit"] for e in catalog} == {
        "image", "character", "second of audio", "second of output"}
    pick = policyeng.compile('category == "image" and healthy order by unit_price').select(catalog)
    assert (pick.model_name, pick.entry["unit_price"]) == ("stability/remove-background", 0.005)
    # two rows of equal price: the unit first in code-point order
    tie = catalog.get("bedrock/*/1-month-commitment/cohere.command-text-v14")
    assert (tie["unit_price"], tie["billing_unit"]) == (0.011, "second of audio")
