"""Prices that are not per token: validated pricing rows and the fields derived from them."""

from __future__ import annotations

import json

import pytest
from conftest import DATA, ROOT

import policyeng
from policyeng import CatalogWarning
from policyeng.catalog import Catalog, load_catalog
from policyeng.catalog.model import usd_prices
from policyeng.fields import price_per_unit


def test_a_malformed_pricing_row_skips_its_entry_with_a_warning_naming_the_row(write_catalog):
    image = {"billing_unit": "image", "unit_price_usd": 0.003, "currency": "USD"}
    path = write_catalog(
        [
            {"model_name": "good", "category": "image", "pricing": [image]},
            {"model_name": "negative", "pricing": [image, {**image, "unit_price_usd": -0.01}]},
            {"model_name": "text-price", "pricing": [{**image, "unit_price_usd": "0.003"}]},
            {"model_name": "no-unit", "pricing": [{**image, "billing_unit": ""}]},
            {"model_name": "currency", "pricing": [{**image, "currency": 840}]},
            {"model_name": "row", "pricing": [image, image, "image"]},
            {"model_name": "huge", "pricing": [{**image, "unit_price_usd": 10**20}]},
            {"model_name": "cached", "pricing": [{"cached_input_per_mtok": -1}]},
        ]
    )
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


@pytest.mark.parametrize(
    "field", ["unit_price_usd", "input_per_mtok", "output_per_mtok", "cached_input_per_mtok"]
)
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


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([], {}),
        (
            [
                {"billing_unit": "image", "unit_price_usd": 0.04},
                {"billing_unit": "image", "unit_price_usd": 0.018},
            ],
            {"unit_price": 0.018, "billing_unit": "image"},
        ),
        # other currencies are ignored, whatever their price; "usd" in any case is USD
        (
            [
                {"billing_unit": "image", "unit_price_usd": 0.001, "currency": "EUR"},
                {"billing_unit": "image", "unit_price_usd": 0.05, "currency": "Usd"},
            ],
            {"unit_price": 0.05, "billing_unit": "image"},
        ),
        ([{"billing_unit": "image", "unit_price_usd": 0.001, "currency": "EUR"}], {}),
        # a price without a unit (or a unit without a price) gives nothing
        ([{"unit_price_usd": 0.001}, {"billing_unit": "minute", "unit_price_usd": None}], {}),
        # equal prices: the unit first in code-point order, whatever the rows' order
        (
            [
                {"billing_unit": "second of output", "unit_price_usd": 0.0001},
                {"billing_unit": "second of audio", "unit_price_usd": 0.0001},
            ],
            {"unit_price": 0.0001, "billing_unit": "second of audio"},
        ),
        (
            [
                {"billing_unit": "image", "unit_price_usd": 0},
                {"billing_unit": "image", "unit_price_usd": 0.02, "cached_input_per_mtok": 0.5},
                {"cached_input_per_mtok": 0.25},
                {"currency": "GBP", "cached_input_per_mtok": 0.01},
            ],
            {"unit_price": 0, "billing_unit": "image", "cached_input_per_mtok": 0.25},
        ),
    ],
)
def test_usd_prices(rows, expected):
    assert usd_prices(rows) == expected
    assert usd_prices(list(reversed(rows))) == expected


def test_derived_prices_replace_what_an_entry_carries_under_their_names():
    catalog = Catalog.from_entries(
        [
            {
                "model_name": "a",
                "unit_price": "cheap",
                "billing_unit": 3,
                "cached_input_per_mtok": -1,
            },
            {
                "model_name": "b",
                "unit_price": 9,
                "pricing": [{"billing_unit": "image", "unit_price_usd": 0.5}],
            },
        ]
    )
    a, b = catalog.entries
    assert not {"unit_price", "billing_unit", "cached_input_per_mtok"} & set(a)
    assert (b["unit_price"], b["billing_unit"]) == (0.5, "image")


def test_builtin_media_models_carry_unit_prices():
    catalog = load_catalog("builtin")
    priced = {
        e["model_name"]: (e["unit_price"], e["billing_unit"]) for e in catalog if "unit_price" in e
    }
    assert priced["FLUX.1-schnell"] == (0.003, "image")
    assert priced["whisper-large-v3-turbo"] == (0.0006, "minute")
    assert {e.get("category") for e in catalog if e["model_name"] in priced} == {
        "image",
        "audio",
        "video",
    }
    assert all(
        e.get("category") in ("image", "audio", "video")
        for e in catalog
        if e["model_name"] in priced
    )


def test_real_catalog_rows_validate_and_give_the_from_price():
    catalog = load_catalog(str(DATA / "litellm-2026-07-media.json"))
    assert catalog.skipped == [] and len(catalog) == 27
    assert {e["billing_unit"] for e in catalog} == {
        "image",
        "character",
        "second of audio",
        "second of output",
    }
    pick = policyeng.compile('category == "image" and healthy order by unit_price').select(catalog)
    assert (pick.model_name, pick.entry["unit_price"]) == ("stability/remove-background", 0.005)
    # two rows of equal price: the unit first in code-point order
    tie = catalog.get("bedrock/*/1-month-commitment/cohere.command-text-v14")
    assert (tie["unit_price"], tie["billing_unit"]) == (0.011, "second of audio")


# --- showing them -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("price", "unit", "shown"),
    [
        (0.003, "image", "$0.003/image"),
        (8e-07, "character", "$0.0000008/character"),
        (3.333e-05, "second of audio", "$0.00003333 per second of audio"),
        (0, "image", "$0/image"),
        (2.0, "minute", "$2/minute"),
    ],
)
def test_a_unit_price_is_shown_with_its_unit_in_plain_decimals(price, unit, shown):
    assert price_per_unit(price, unit) == shown


def test_select_top_shows_unit_prices_with_their_unit(cli):
    code, out, err = cli(
        "select", 'category == "image" and healthy order by unit_price', "--top", "2"
    )
    assert code == 0 and err == ""
    assert out.splitlines() == [
        "FLUX.1-schnell  /v1/images/generations",
        "",
        "#  model_name      endpoint                  unit_price",
        "*  FLUX.1-schnell  /v1/images/generations  $0.003/image",
        "2  Qwen-Image      /v1/images/generations   $0.02/image",
    ]


def test_explain_reports_the_unit_and_the_values_it_read(cli):
    code, out, _ = cli(
        "explain",
        "supports audio_transcription and unit_price < 0.001",
        "--model",
        "whisper-large-v3",
        "--json",
    )
    data = json.loads(out)
    assert code == 0 and data["pick"] == "whisper-large-v3-turbo"
    assert data["candidates"][0]["billing_unit"] == "minute"
    assert data["model"]["values"] == {"unit_price": 0.0015}
    assert data["model"]["reason"] == "unit_price = $0.0015/minute, needs < 0.001"


def test_catalog_lists_unit_prices_when_a_listed_model_has_one(cli, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    code, out, _ = cli("catalog", "--where", 'category == "video"')
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == [
        "model_name",
        "category",
        "endpoint",
        "input",
        "output",
        "unit",
        "price",
        "context",
        "health",
    ]
    assert lines[1].split()[5] == "$0.02/second"
    _, out, _ = cli("catalog", "--where", 'category == "text"')
    assert "unit price" not in out.splitlines()[0]


def test_catalog_json_carries_the_derived_prices(cli):
    _, out, _ = cli("catalog", "--where", 'model_name == "Kokoro-82M"', "--json")
    (entry,) = json.loads(out)
    assert (entry["unit_price"], entry["billing_unit"]) == (8e-07, "character")


# --- the trap: a token price for models billed per unit --------------------------------------

TRAP = "supports image_generation and healthy order by output_per_mtok"


def test_select_warns_when_a_ranking_reads_a_token_price_the_candidates_lack(cli):
    code, out, err = cli("select", TRAP)
    assert code == 0 and out == "FLUX.1-dev  /v1/images/generations\n"  # the dearer one
    assert err == (
        "policyeng: warning: order by output_per_mtok: all 4 candidates are billed per unit and "
        "have no such price (FLUX.1-schnell $0.003/image, Qwen-Image $0.02/image, FLUX.1-dev "
        "$0.025/image, ...); hint: order by unit_price ranks them by what they cost\n"
    )
    code, out, err = cli("select", TRAP.replace("output_per_mtok", "unit_price"))
    assert out == "FLUX.1-schnell  /v1/images/generations\n" and err == ""


@pytest.mark.parametrize(
    "policy",
    [
        "supports chat and healthy order by output_per_mtok",
        "supports chat order by input_per_mtok + output_per_mtok, unit_price",
        'category == "image" order by unit_price',
        'category == "image" and output_per_mtok < 1',  # a filter, not a ranking
    ],
)
def test_no_warning_on_token_priced_policies_or_without_a_token_ranking(cli, policy):
    code, _, err = cli("select", policy)
    assert code == 0 and err == ""


def test_the_warning_counts_only_candidates_without_the_token_price_read():
    from policyeng.diagnose import per_unit_ranking

    catalog = Catalog.from_entries(
        [
            {
                "model_name": "per-token",
                "category": "image",
                "input_per_mtok": 5,
                "output_per_mtok": 30,
                "pricing": [{"billing_unit": "image", "unit_price_usd": 0.04}],
            },
            {
                "model_name": "per-image",
                "category": "image",
                "input_per_mtok": 5,
                "pricing": [{"billing_unit": "image", "unit_price_usd": 0.01}],
            },
            {"model_name": "chat", "category": "text", "output_per_mtok": 0},
        ]
    )
    warning = per_unit_ranking(policyeng.compile("true order by output_per_mtok"), catalog)
    assert warning is not None
    assert warning.startswith("order by output_per_mtok: 1 of the 3 candidates is billed")
    assert per_unit_ranking(policyeng.compile("true order by input_per_mtok"), catalog) is None


def test_check_warns_about_the_trap_and_still_passes(cli, write):
    path = write(
        "media.yaml",
        """
        version: 1
        policies:
          images:
            where: supports image_generation and healthy
            order_by: [output_per_mtok]
          cheap-images:
            where: supports image_generation and healthy
            order_by: [unit_price]
        """,
    )
    code, out, _ = cli("check", path)
    assert code == 0
    assert out.splitlines()[:3] == [
        "PASS images        -> FLUX.1-dev (/v1/images/generations)",
        "                   warning: order by output_per_mtok: all 4 candidates are billed per "
        "unit and have no such price (FLUX.1-schnell $0.003/image, Qwen-Image $0.02/image, "
        "FLUX.1-dev $0.025/image, ...); hint: order by unit_price ranks them by what they cost",
        "PASS cheap-images  -> FLUX.1-schnell (/v1/images/generations)",
    ]
    code, out, _ = cli("check", path, "--format", "json")
    assert [len(report["warnings"]) for report in json.loads(out)] == [1, 0]


def test_the_trap_on_the_real_catalog(cli):
    code, out, err = cli(
        "select",
        'category == "image" and healthy order by output_per_mtok',
        "--catalog",
        str(DATA / "litellm-2026-07-media.json"),
    )
    # the one image model with token prices wins: the dearest per image ($0.134)
    assert code == 0 and out == "gemini-3-pro-image  /v1/images/generations\n"
    assert "warning: order by output_per_mtok: 11 of the 12 candidates are billed per unit" in err
    _, out, _ = cli(
        "select",
        'category == "image" and healthy order by unit_price',
        "--catalog",
        str(DATA / "litellm-2026-07-media.json"),
    )
    assert out == "stability/remove-background  /v1/images/generations\n"


def test_a_unit_no_model_has_gets_a_did_you_mean(cli, write):
    code, _, err = cli("select", 'billing_unit == "minit"')
    assert code == 1
    assert "no model in the catalog has billing_unit 'minit'; did you mean 'minute'?" in err
    path = write(
        "stt.yaml",
        """
        version: 1
        policies:
          stt:
            where: supports audio_transcription and (billing_unit == "minit" or true)
        """,
    )
    code, out, _ = cli("check", path)
    assert code == 0
    assert (
        "warning: no model in the catalog has billing_unit 'minit'; did you mean 'minute'?" in out
    )


@pytest.mark.parametrize(
    ("name", "model"),
    [
        ("cheapest-image", "FLUX.1-schnell"),
        ("cheapest-transcription", "whisper-large-v3-turbo"),
        ("cheapest-speech", "Kokoro-82M"),
        ("cheapest-video", "Wan2.2-T2V-A14B"),
    ],
)
def test_the_example_policies_pick_the_cheapest_per_unit(cli, name, model):
    code, out, err = cli("select", "-f", str(ROOT / "policies" / "media-prices.yaml"), name)
    assert code == 0 and err == ""
    assert out.split()[0] == model


def test_select_all_names_the_policy_it_warns_about(cli, write):
    path = write(
        "media.yaml",
        """
        version: 1
        policies:
          images:
            where: supports image_generation and healthy
            order_by: [output_per_mtok]
          chat:
            where: supports chat and healthy
            order_by: [output_per_mtok]
        """,
    )
    code, out, err = cli("select", "-f", path, "--all")
    assert code == 0 and out.splitlines()[0].split()[:2] == ["images", "FLUX.1-dev"]
    assert err.startswith("policyeng: warning: policy 'images': order by output_per_mtok: all 4 ")
    assert err.count("\n") == 1
