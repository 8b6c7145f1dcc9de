"""Numbers of 5,000 digits, in every kind of input: a clean error or a skipped entry.

Python refuses to turn more than 4,300 digits into an int (a ValueError, which
used to escape as a traceback), and no double holds a number past about
1.8e308. Each input kind that turns text into a number is tried: a catalog
entry, the live model list, an HTTP header, a policy literal, a policy file's
values, the COLUMNS variable.
"""

from __future__ import annotations

import json
import warnings

import pytest
from catalog_server import reply

from policyeng.catalog import load_catalog
from policyeng.catalog.http import FetchSettings
from policyeng.catalog.model import parse_catalog
from policyeng.errors import CatalogError, CatalogWarning, PolicyError
from policyeng.language.parser import parse

pytestmark = pytest.mark.filterwarnings("always::policyeng.errors.CatalogWarning")

LONG = "9" * 5000
FAST = FetchSettings(connect_timeout=0.5, read_timeout=0.3, retries=0, deadline=3.0)


def skipped_reasons(body: bytes) -> tuple[list[str], list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        catalog = parse_catalog(body, "t.json")
    assert all(w.category is CatalogWarning for w in caught)
    return [e["model_name"] for e in catalog], [s.reason for s in catalog.skipped]


@pytest.mark.parametrize(
    "number", [LONG, "-" + LONG, LONG + ".5", "1" + "0" * 400, "1e5000", "-1e5000"]
)
@pytest.mark.parametrize(
    "field", ["context_window", "max_output", "input_per_mtok", "output_per_mtok", "an_extra_field"]
)
def test_a_catalog_number_too_large_skips_its_entry(field, number):
    body = (
        f'[{{"model_name": "bad", "category": "text", "{field}": {number}}},'
        f' {{"model_name": "good", "category": "text"}}]'
    ).encode()
    kept, reasons = skipped_reasons(body)
    assert kept == ["good"]
    assert len(reasons) == 1 and reasons[0].startswith(field)
    assert reasons[0].endswith("not a finite number (Infinity, or too large: past about 1.8e308)")


def test_a_long_number_deep_in_an_extra_field_skips_its_entry():
    body = f'[{{"model_name": "bad", "x": {{"y": [1, {{"z": {LONG}}}]}}}}]'.encode()
    with pytest.raises(CatalogError, match="no valid model entries"):
        parse_catalog(body, "t.json", require="holds")
    assert skipped_reasons(body)[1] == [
        "x.y[1].z: not a finite number (Infinity, or too large: past about 1.8e308)"
    ]


def test_a_catalog_of_only_long_numbers_is_exit_3(cli, write_catalog):
    path = write_catalog(f'[{{"model_name": "a", "context_window": {LONG}}}]')
    code, out, err = cli("select", "supports chat", "--catalog", str(path))
    assert code == 3 and out == ""
    assert "holds no valid model entries (1 invalid)" in err and "Traceback" not in err


def test_a_whole_number_that_fits_is_kept_exactly():
    kept, _ = skipped_reasons(b'[{"model_name": "a", "context_window": 1000000000000000}]')
    assert kept == ["a"]


@pytest.mark.parametrize(
    "literal",
    [
        LONG,
        "-" + LONG,
        LONG + ".5",
        LONG + "k",
        "1" + "0" * 309,
        "1e309",
        "2e308",
        "179769313486231580793728971405303415079"
        "934132710037826936173778980444968292764750946649017977587207"
        "096330286416692887910946555547851940402630657488671505820681"
        "908902000708383676273854845817711531764475730270069855571366"
        "959622842914819860834936475292719074168444365510704342711559"
        "699508093042880177904174497792k",
    ],
)
def test_a_policy_literal_too_large_is_a_policy_error_with_a_caret(literal):
    text = f"output_per_mtok < {literal}"
    with pytest.raises(PolicyError) as raised:
        parse(text)
    error = raised.value
    assert error.kind == "type" and error.column == len("output_per_mtok < ") + (
        2 if literal.startswith("-") else 1
    )
    assert error.message == "this number is too large (a number is at most about 1.8e308)"
    assert str(error).splitlines()[2].lstrip().startswith("^")


def test_a_literal_of_many_leading_zeros_is_its_value():
    assert parse("context_window < " + "0" * 6000 + "12").where.right.value == 12


def test_a_policy_literal_too_large_on_the_command_line_is_exit_2(cli):
    code, out, err = cli("select", f"output_per_mtok < {LONG}")
    assert code == 2 and out == ""
    assert err.startswith("policyeng: <policy>:1:19: this number is too large")
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "where, line, column",
    [
        ("version: {n}\npolicies:\n  a: {{where: healthy}}\n", 1, 10),
        (
            "version: 1\npolicies:\n  a:\n    where: healthy\n"
            "    expect: {{min_candidates: {n}}}\n",
            5,
            30,
        ),
        (
            "version: 1\npolicies:\n  a:\n    where: healthy\n    expect:\n"
            "      max_output_per_mtok: {n}\n",
            6,
            28,
        ),
        (
            "version: 1\npolicies:\n  a:\n    where: healthy\n"
            "    expect: {{min_candidates: -{n}}}\n",
            5,
            30,
        ),
        (
            "version: 1\npolicies:\n  a:\n    where: healthy\n"
            "    expect: {{min_candidates: 1.0e+999}}\n",
            5,
            30,
        ),
        ("version: 1\npolicies:\n  a:\n    where: 'output_per_mtok < {n}'\n", 4, 31),
    ],
)
def test_a_policy_file_number_too_large_is_exit_2_at_its_place(cli, write, where, line, column):
    path = write("p.yaml", where.format(n=LONG))
    code, out, err = cli("check", path)
    assert code == 2 and out == ""
    assert err.startswith(f"policyeng: {path}:{line}:{column}: "), err[:200]
    assert "too large" in err.splitlines()[0] and "Traceback" not in err


def test_a_live_list_with_a_long_number_is_a_catalog_error(server, monkeypatch):
    monkeypatch.setenv("FLEXAI_API_KEY", "sk-test")
    server.script("/api/models", reply(200, [{"model_name": "a", "category": "text"}]))
    body = ('{"object": "list", "data": [{"id": "a", "created": ' + LONG + "}]}").encode()
    server.script("/v1/models", reply(200, body))
    with pytest.raises(CatalogError, match="not JSON"):
        load_catalog(server.url(), live=True, settings=FAST)


def test_a_content_length_of_5000_digits_is_over_the_size_limit(server):
    def huge_length(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", LONG)
        handler.end_headers()
        handler.wfile.write(b"[]")

    server.script("/api/models", huge_length)
    with pytest.raises(CatalogError) as raised:
        load_catalog(server.url(), settings=FAST, fallback=False)
    assert "Traceback" not in str(raised.value)


def test_a_huge_columns_variable_is_ignored(cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", LONG)
    code, out, _ = cli("catalog")
    assert code == 0 and out.startswith("model_name")


def test_json_output_of_a_catalog_with_big_but_finite_numbers_is_json(cli, write_catalog):
    path = write_catalog('[{"model_name": "a", "extra": ' + "9" * 300 + ', "f": 1e300}]')
    code, out, _ = cli("catalog", "--json", "--catalog", str(path))
    assert code == 0 and json.loads(out)[0]["extra"] == int("9" * 300)


@pytest.mark.parametrize(
    "argv",
    [
        ("select", "supports chat", "--top", LONG),
        ("explain", "supports chat", "--top", LONG),
        ("select", "supports chat", "--max-age", LONG + "e99"),
    ],
)
def test_a_5000_digit_option_is_a_usage_error(capsys, argv):
    from policyeng.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "error: argument --" in err and "Traceback" not in err
