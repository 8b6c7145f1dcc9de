"""Lone surrogates are not text: an entry holding one is skipped, a file holding one refused.

JSON's ``"\\ud800"`` and the raw bytes ED A0 80 both decode to half of a
UTF-16 pair, which no encoding can print: they used to pass validation and
then crash ``select``, ``catalog --json`` and ``check --lock``. A command
line argument that is not UTF-8 arrives the same way (Python decodes argv
with surrogateescape).
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import pytest
from conftest import IMPORTED_FROM

from policyeng.catalog.model import Catalog, parse_catalog
from policyeng.errors import CatalogWarning

pytestmark = pytest.mark.filterwarnings("always::policyeng.errors.CatalogWarning")

GOOD = '{"model_name": "good", "category": "text", "supports": ["chat"]}'
#: Where a string sits in an entry, as JSON text holding a placeholder for the bad string.
PLACES = {
    "model_name": '{{"model_name": {s}, "category": "text", "supports": ["chat"]}}',
    "a tag": '{{"model_name": "m", "category": "text", "supports": ["chat", {s}]}}',
    "description": '{{"model_name": "m", "category": "text", "description": {s}}}',
    "provider": '{{"model_name": "m", "category": "text", "provider": {s}}}',
    "an extra field": '{{"model_name": "m", "category": "text", "notes": {s}}}',
    "an extra key": '{{"model_name": "m", "category": "text", {s}: 1}}',
    "a nested extra key": '{{"model_name": "m", "x": [{{"y": {{{s}: true}}}}]}}',
    "a pricing row": '{{"model_name": "m", "pricing": [{{"unit": {s}}}]}}',
}
#: A lone surrogate as JSON writes it, in both halves and cases, and as raw bytes.
SPELLINGS = {
    "escaped high": b'"bad\\ud800"',
    "escaped low": b'"bad\\uDC00x"',
    "escaped reversed pair": b'"\\udc00\\ud800"',
    "raw bytes": b'"raw\xed\xa0\x80"',
}


def body_with(place: str, spelling: str) -> bytes:
    entry = PLACES[place].replace("{s}", "\0").replace("{{", "{").replace("}}", "}")
    entry = entry.encode().replace(b"\0", SPELLINGS[spelling])
    return b"[" + entry + b", " + GOOD.encode() + b"]"


@pytest.mark.parametrize("spelling", SPELLINGS)
@pytest.mark.parametrize("place", PLACES)
def test_an_entry_holding_a_lone_surrogate_is_skipped_with_a_warning(place, spelling):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        catalog = parse_catalog(body_with(place, spelling), "t.json")
    assert [e["model_name"] for e in catalog] == ["good"]
    [problem] = catalog.skipped
    assert "is not text (a lone surrogate)" in problem.reason
    [warning] = caught
    assert warning.category is CatalogWarning
    str(warning.message).encode("utf-8")  # the warning itself is printable text


def test_a_surrogate_pair_is_text_and_kept():
    catalog = parse_catalog(b'[{"model_name": "smile \\ud83d\\ude00", "category": "text"}]', "t")
    assert [e["model_name"] for e in catalog] == ["smile \U0001f600"]


def test_entries_built_in_memory_are_checked_too():
    with pytest.warns(CatalogWarning):
        catalog = Catalog.from_entries([{"model_name": "bad\ud800"}, {"model_name": "good"}])
    assert [e["model_name"] for e in catalog] == ["good"]


@pytest.mark.parametrize(
    "argv",
    [
        ("select", "supports chat"),
        ("select", "supports chat", "--json"),
        ("select", "supports chat", "--top", "3"),
        ("catalog",),
        ("catalog", "--json"),
        ("catalog", "--info"),
        ("explain", "supports chat"),
    ],
)
@pytest.mark.parametrize("spelling", SPELLINGS)
def test_commands_on_a_catalog_with_surrogates_never_crash(cli, tmp_path, argv, spelling):
    path = tmp_path / "c.json"
    path.write_bytes(body_with("model_name", spelling))
    code, out, err = cli(*argv, "--catalog", str(path))
    assert code == 0 and "Traceback" not in err
    out.encode("utf-8")
    assert "skipped entry [0]" in err


def test_check_and_lock_on_a_catalog_with_surrogates(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.yaml").write_text("version: 1\npolicies:\n  chat: {where: supports chat}\n")
    (tmp_path / "c.json").write_bytes(body_with("model_name", "raw bytes"))
    assert cli("lock", "p.yaml", "--catalog", "c.json")[0] == 0
    code, out, _ = cli("check", "p.yaml", "--locked", "--catalog", "c.json", "--format", "json")
    assert code == 0 and json.loads(out)[0]["model_name"] == "good"


@pytest.mark.parametrize(
    "value, line, column",
    [
        ('    description: "bad\\ud800"\n', 4, 18),
        ('    expect: {model_name_in: ["x\\udc00"]}\n', 4, 30),
        ('    expect: {category: "\\ud800"}\n', 4, 24),
    ],
)
def test_a_policy_file_holding_a_lone_surrogate_is_exit_2_at_its_place(
    cli, write, value, line, column
):
    path = write("p.yaml", "version: 1\npolicies:\n  a:\n" + value + "    where: supports chat\n")
    code, out, err = cli("check", path)
    assert code == 2 and out == ""
    assert err.startswith(f"policyeng: {path}:{line}:{column}: ")
    assert "is not text (it holds a lone surrogate)" in err and "\\u" in err


def test_a_policy_argument_that_is_not_utf8_is_shown_escaped(tmp_path):
    """argv bytes that are not UTF-8 become lone surrogates (surrogateescape)."""
    env = {
        "PYTHONPATH": IMPORTED_FROM,
        "POLICYENG_CATALOG": "builtin",
        "NO_COLOR": "1",
        "POLICYENG_CACHE_DIR": str(tmp_path),
        "PATH": "/usr/bin:/bin",
    }
    for argv in (
        [b"select", b"model_name == '\xff\xfe'"],
        [b"select", b"model_name == '\xff'", b"--json"],
        [b"explain", b"model_name matches '\xed\xa0\x80*'"],
        [b"select", b"supports chat", b"extra\xff"],
    ):
        result = subprocess.run(
            [sys.executable.encode(), b"-m", b"policyeng", *argv],
            capture_output=True,
            env=env,
            timeout=120,
        )
        assert result.returncode in (1, 2), (argv, result.stderr)
        assert b"Traceback" not in result.stderr
        result.stdout.decode("utf-8")
        result.stderr.decode("utf-8")


def test_a_policy_file_with_raw_surrogate_bytes_is_not_utf8_exit_2(cli, tmp_path):
    path = tmp_path / "p.yaml"
    path.write_bytes(
        b"version: 1\npolicies:\n  a:\n    description: raw\xed\xa0\x80\n    where: healthy\n"
    )
    code, out, err = cli("check", str(path))
    assert code == 2 and out == ""
    assert err == f"policyeng: {path}: not UTF-8 text (byte 46)\n"
