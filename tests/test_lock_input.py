"""A lock file is hostile input: anything but a lock is exit 2 naming the file and the JSON path.

Never a traceback, never a false drift: a lock that cannot be trusted is not
compared with anything.
"""

from __future__ import annotations

import codecs
import json
import shutil
from pathlib import Path

import pytest
from conftest import DATA

from policyeng.policies import lock as lockmod

PICK = {"model_name": "groq/llama-3.1-8b-instant", "endpoint": "/v1/chat/completions", "via": None}


@pytest.fixture
def project(tmp_path, monkeypatch, cli):
    shutil.copy(DATA / "drift.yaml", tmp_path / "drift.yaml")
    shutil.copy(DATA / "groq-2026-03.json", tmp_path / "catalog.json")
    monkeypatch.chdir(tmp_path)
    assert cli("lock", "drift.yaml", "--catalog", "catalog.json")[0] == 0
    return tmp_path


def good() -> dict:
    return json.loads(Path("policies.lock").read_text())


def v1(**chat) -> str:
    return json.dumps(
        {
            "version": 1,
            "catalog": {"source": "x", "sha256": "y"},
            "policies": {"chat": {**PICK, **chat}},
        }
    )


def v2_with(path: list, value) -> str:
    """The good version 2 lock with one value replaced (``path`` into the JSON)."""
    data = good()
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return json.dumps(data)


LOCKS = {
    "not JSON": (
        lambda: "{",
        "bad.lock:1:2: not valid JSON: Expecting property name enclosed in double quotes",
    ),
    "an array": (
        lambda: "[]",
        "bad.lock: not a policyeng lock file: $ is an array, expected an object",
    ),
    "version 3": (
        lambda: v2_with(["version"], 3),
        "bad.lock: not a policyeng lock file: $.version is 3, expected 1 or 2",
    ),
    "version true": (
        lambda: v2_with(["version"], True),
        "bad.lock: not a policyeng lock file: $.version is true, expected 1 or 2",
    ),
    "version as text": (
        lambda: v2_with(["version"], "2"),
        "bad.lock: not a policyeng lock file: $.version is '2', expected 1 or 2",
    ),
    "no version": (
        lambda: json.dumps({"policies": {}}),
        "bad.lock: not a policyeng lock file: $.version is null, expected 1 or 2",
    ),
    "a number as model_name": (
        lambda: v1(model_name=5),
        "bad.lock: not a policyeng lock file: $.policies.chat.model_name "
        "is a number, expected text",
    ),
    "an empty model_name": (
        lambda: v1(model_name=""),
        "bad.lock: not a policyeng lock file: $.policies.chat.model_name is empty",
    ),
    "a number as endpoint": (
        lambda: v1(endpoint=1.5),
        "bad.lock: not a policyeng lock file: $.policies.chat.endpoint is "
        "a number, expected text or null",
    ),
    "true as via": (
        lambda: v1(via=True),
        "bad.lock: not a policyeng lock file: $.policies.chat.via is true or false, "
        "expected text or null",
    ),
    "a pick that is a list": (
        lambda: v2_with(["policies", "any-chat"], []),
        'bad.lock: not a policyeng lock file: $.policies["any-chat"] is an '
        "array, expected an object",
    ),
    "a number as candidate": (
        lambda: v2_with(["policies", "chat", "candidates"], ["a", 7]),
        "bad.lock: not a policyeng lock file: "
        "$.policies.chat.candidates[1] is a number, expected text",
    ),
    "keys not a list": (
        lambda: v2_with(["policies", "chat", "keys"], {}),
        "bad.lock: not a policyeng lock file: $.policies.chat.keys is an object, expected an array",
    ),
    "a key value that is a list": (
        lambda: v2_with(["policies", "chat", "keys"], [{"key": "k", "value": [1]}]),
        "bad.lock: not a policyeng lock file: $.policies.chat.keys[0].value is an array, "
        "expected a number or text or true or false or null",
    ),
    "version 2 without fields": (
        lambda: json.dumps({**good(), "policies": {"chat": PICK}}),
        "bad.lock: not a policyeng lock file: $.policies.chat.keys is missing",
    ),
    "models as text": (
        lambda: v2_with(["catalog", "models"], "15"),
        "bad.lock: not a policyeng lock file: $.catalog.models is text, expected a number",
    ),
    "models negative": (
        lambda: v2_with(["catalog", "models"], -5),
        "bad.lock: not a policyeng lock file: $.catalog.models is -5, "
        "expected a whole number, 0 or more",
    ),
    "models not whole": (
        lambda: v2_with(["catalog", "models"], 2.5),
        "bad.lock: not a policyeng lock file: $.catalog.models is 2.5, "
        "expected a whole number, 0 or more",
    ),
    "models true": (
        lambda: v2_with(["catalog", "models"], True),
        "bad.lock: not a policyeng lock file: $.catalog.models is true or false, expected a number",
    ),
    "a policy locked twice (a merge)": (
        lambda: v2_with(["policies", "chat", "model_name"], "FIRST").replace(
            '"chat": {', '"chat": {"model_name": "a"}, "chat": {', 1
        ),
        "bad.lock: not a policyeng lock file: $.policies.chat is given more than once "
        "(a merge may have left two entries); keep one, or run `policyeng lock` again",
    ),
    "a key twice, deep inside": (
        lambda: v2_with(["policies", "any-chat", "fields"], {"context_window": 1}).replace(
            '"context_window": 1', '"context_window": 1, "context_window": 2'
        ),
        'bad.lock: not a policyeng lock file: $.policies["any-chat"].fields.context_window '
        "is given more than once (a merge may have left two entries); keep one, "
        "or run `policyeng lock` again",
    ),
    "5,000 digits": (
        lambda: v2_with(["catalog", "models"], 0).replace('"models": 0', '"models": ' + "9" * 5000),
        "bad.lock: not a policyeng lock file: $.catalog.models: 999999999999... is a number of "
        "5000 digits",
    ),
    "NaN": (
        lambda: v2_with(["policies", "chat", "keys"], [{"key": "k", "value": 12345}]).replace(
            "12345", "NaN"
        ),
        "bad.lock: not a policyeng lock file: $.policies.chat.keys[0].value: NaN is not a "
        "finite number",
    ),
    "Infinity": (
        lambda: v1().replace('"version": 1', '"version": -Infinity'),
        "bad.lock: not a policyeng lock file: $.version: -Infinity is not a finite number",
    ),
    "1e400": (
        lambda: v2_with(["policies", "chat", "fields", "output_per_mtok"], 12345).replace(
            "12345", "1e400"
        ),
        "bad.lock: not a policyeng lock file: $.policies.chat.fields.output_per_mtok: 1e400 is "
        "too large for a number",
    ),
    "nested too deeply": (
        lambda: "[" * 100_000,
        "bad.lock: not a policyeng lock file: nested too deeply",
    ),
    "a control character in a name": (
        lambda: v1().replace('"chat"', '"ch\\u001bat"').replace('"via": null', '"via": 3'),
        'bad.lock: not a policyeng lock file: $.policies["ch\\u001bat"].via is a number, '
        "expected text or null",
    ),
}


@pytest.mark.parametrize("case", LOCKS)
def test_a_bad_lock_is_exit_2_with_the_json_path(cli, project, case):
    content, message = LOCKS[case]
    Path("bad.lock").write_text(content(), encoding="utf-8")
    code, out, err = cli("check", "drift.yaml", "--catalog", "catalog.json", "--lock", "bad.lock")
    assert (code, out) == (2, "")
    assert err.splitlines()[0] == f"policyeng: {message}"
    assert "Traceback" not in err


def test_bytes_that_are_not_utf8(cli, project):
    Path("bad.lock").write_bytes(b'{"version": 1, "policies": {"\xff": {}}}')
    code, out, err = cli("check", "drift.yaml", "--catalog", "catalog.json", "--lock", "bad.lock")
    assert (code, out, err) == (2, "", "policyeng: bad.lock: not UTF-8 text (byte 29)\n")


def test_a_byte_order_mark_is_accepted_as_in_catalogs_and_policy_files(cli, project):
    Path("bom.lock").write_bytes(codecs.BOM_UTF8 + Path("policies.lock").read_bytes())
    code, out, err = cli("check", "drift.yaml", "--catalog", "catalog.json", "--lock", "bom.lock")
    assert (code, err) == (0, ""), out


def test_a_huge_lock_is_refused_before_it_is_parsed(cli, project, monkeypatch):
    monkeypatch.setattr(lockmod, "MAX_LOCK_BYTES", 1000)
    Path("big.lock").write_text(" " * 1001 + "{}")
    code, out, err = cli("check", "drift.yaml", "--catalog", "catalog.json", "--lock", "big.lock")
    assert (code, out) == (2, "")
    assert err == "policyeng: big.lock: not a policyeng lock file: larger than 1,000 bytes\n"


def test_a_good_lock_reads_back_as_written(project):
    assert lockmod.read_lock("policies.lock") == good()
