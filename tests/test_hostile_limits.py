"""Bounded work: policy-file size and policy-count limits, libyaml's places, linear check.

A generated or hostile policy file used to take minutes and gigabytes and
then fail with a message about aliases it did not have; a long fallback chain
made ``check`` quadratic. The time itself is measured in the benchmark
(``benchmarks``); here, what bounds it: the limits and their messages, the
C loader giving the same lines and columns as the pure one, and each policy
resolved once per ``check``.
"""

from __future__ import annotations

import pytest
import yaml

from policyeng.engine import Policy
from policyeng.policies.book import load_policies
from policyeng.policies.check import check_book
from policyeng.policies.parsing import parse_policy_file
from policyeng.policies.yamldoc import load_yaml
from policyeng.text import text_width


def small_policies(count: int) -> str:
    return "version: 1\npolicies:\n" + "".join(
        f"  p{i}: {{where: healthy}}\n" for i in range(count)
    )


def test_a_file_over_the_size_limit_is_refused_before_it_is_parsed(cli, write, monkeypatch):
    path = write("big.yaml", small_policies(200))
    monkeypatch.setenv("POLICYENG_MAX_FILE_BYTES", "1000")
    code, out, err = cli("check", path)
    assert code == 2 and out == ""
    assert err == (
        f"policyeng: {path}: the file is over 1,000 bytes, the most a policy file "
        "may hold\nhint: split it, or set POLICYENG_MAX_FILE_BYTES to allow more\n"
    )
    monkeypatch.setenv("POLICYENG_MAX_FILE_BYTES", "100000")
    assert cli("check", path)[0] == 0


def test_the_default_size_limit_is_a_million_bytes(cli, write):
    path = write("big.yaml", small_policies(10) + "# " + "x" * 1_000_000 + "\n")
    code, _, err = cli("check", path)
    assert code == 2 and "the file is over 1,000,000 bytes" in err


def test_a_file_of_too_many_policies_is_refused_at_the_policies_key(cli, write, monkeypatch):
    path = write("many.yaml", small_policies(6))
    monkeypatch.setenv("POLICYENG_MAX_POLICIES", "5")
    code, _, err = cli("check", path)
    assert code == 2
    assert err.splitlines()[0] == (
        f"policyeng: {path}:2:1: the file holds 6 policies, over the limit of 5 per file"
    )
    assert err.splitlines()[-1] == "hint: split it, or set POLICYENG_MAX_POLICIES to allow more"


@pytest.mark.parametrize("value", ["many", "-1", "0", "1e3", "9" * 5000])
def test_an_unreadable_limit_is_a_usage_error(cli, write, monkeypatch, value):
    path = write("p.yaml", small_policies(1))
    monkeypatch.setenv("POLICYENG_MAX_POLICIES", value)
    code, _, err = cli("check", path)
    assert code == 2 and "POLICYENG_MAX_POLICIES=" in err and "expected a whole number" in err


def test_the_values_limit_says_what_the_file_holds_without_blaming_aliases():
    text = "version: 1\nlist:\n" + "  - 1\n" * 100_001
    with pytest.raises(Exception) as raised:
        load_yaml(text, "f.yaml")
    assert raised.value.message == (
        "the file holds more than 100,000 values (each use of an alias counts again)"
    )


def _marks(node, out):
    out.append(
        (
            node.start_mark.index,
            node.start_mark.line,
            node.start_mark.column,
            node.end_mark.index,
            node.end_mark.line,
            node.end_mark.column,
            node.tag,
            node.value if isinstance(node.value, str) else None,
        )
    )
    if isinstance(node.value, list):
        for item in node.value:
            for child in item if isinstance(item, tuple) else (item,):
                _marks(child, out)
    return out


MULTIBYTE = (
    "version: 1  # é 漢字 😀\n"
    "policies:\n"
    "  通义-chat:\n"
    '    description: "😀😀 通义千问 \\u00e9 \\U0001F600"\n'
    "    where: model_name matches '*通义*' and\n"
    "      supports chat  # 😀\n"
    "    order_by: [output_per_mtok, 'context_window desc']\n"
    "  b: {where: 'é😀 == model_name', expect: {category: [ü, \"😀\"]}}\n"
    "  c:\n"
    "    where: |\n"
    "      supports 😀\n"
    "      and healthy\n"
    "    fallback: >-\n"
    "      b\n"
)


def test_libyaml_places_every_node_as_the_pure_loader_does():
    assert getattr(yaml, "CSafeLoader", None) is not None, "PyYAML is built with libyaml here"
    fast = _marks(yaml.compose(MULTIBYTE, Loader=yaml.CSafeLoader), [])
    pure = _marks(yaml.compose(MULTIBYTE, Loader=yaml.SafeLoader), [])
    assert fast == pure


@pytest.mark.parametrize("with_libyaml", [True, False])
def test_an_error_after_wide_text_points_at_the_same_column_either_way(monkeypatch, with_libyaml):
    if not with_libyaml:
        monkeypatch.delattr(yaml, "CSafeLoader")
    text = (
        "version: 1\npolicies:\n  a:\n    description: 通义千问 😀\n"
        "    where: \"'通义😀' == model_name and nonsense\"\n"
    )
    with pytest.raises(Exception) as raised:
        parse_policy_file(text, "p.yaml")
    error = raised.value
    assert (error.line, error.column, error.message) == (5, 37, "unknown field 'nonsense'")
    shown, caret = str(error).splitlines()[1:3]
    assert caret.index("^") == text_width(shown[: shown.index("nonsense")])  # wide: 2 cells


def test_a_yaml_error_is_worded_by_the_pure_loader(cli, write):
    path = write("bad.yaml", "version: 1\npolicies:\n  a:\n    where: healthy\n   b: 1\n")
    code, _, err = cli("check", path)
    assert code == 2 and "hint: check the indentation of this line" in err


def test_deep_nesting_is_a_clean_error(cli, write):
    path = write("deep.yaml", "version: 1\npolicies: " + "[" * 5000 + "]" * 5000 + "\n")
    code, _, err = cli("check", path)
    assert code == 2 and "Traceback" not in err and err.startswith(f"policyeng: {path}")


def test_a_byte_order_mark_is_accepted_and_columns_stay_right(cli, tmp_path):
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbfversion: 1\npolicies:\n  a: {where: healthy and nonsense}\n")
    code, _, err = cli("check", str(path))
    assert code == 2 and err.startswith(f"policyeng: {path}:3:26: unknown field 'nonsense'")
    path.write_bytes(b"\xef\xbb\xbfversion: 1\npolicies:\n  a: {where: supports chat}\n")
    assert cli("check", str(path))[0] == 0
    assert parse_policy_file("\ufeffversion: 1\npolicies:\n  a: {where: healthy}\n")["a"]


def test_a_byte_order_mark_is_accepted_in_a_catalog(cli, tmp_path):
    path = tmp_path / "bom.json"
    path.write_bytes(b'\xef\xbb\xbf[{"model_name": "m", "category": "text"}]')
    code, out, _ = cli("select", "true", "--catalog", str(path))
    assert code == 0 and out == "m  /v1/chat/completions\n"


@pytest.fixture
def chain_of_60(write, monkeypatch):
    """A 60-long fallback chain (only the last policy matches), and a count of selections."""
    lines = ["version: 1", "policies:"]
    for i in range(59):
        lines += [f"  p{i}:", f"    where: model_name == 'none-{i}'", f"    fallback: p{i + 1}"]
    lines += ["  p59:", "    where: supports chat"]
    path = write("chain.yaml", "\n".join(lines) + "\n")
    calls: dict[str, int] = {}
    real_select = Policy.select

    def counting_select(self, catalog=None, *, name=None):
        calls[name] = calls.get(name, 0) + 1
        return real_select(self, catalog, name=name)

    monkeypatch.setattr(Policy, "select", counting_select)
    return path, calls


def test_select_all_resolves_each_policy_of_a_fallback_chain_once(cli, chain_of_60):
    path, calls = chain_of_60
    code, out, _ = cli("select", "-f", path, "--all")
    assert code == 0 and len(out.splitlines()) == 60
    assert calls == {f"p{i}": 1 for i in range(60)}


def test_check_resolves_each_policy_of_a_fallback_chain_once(chain_of_60):
    """Linear, not quadratic: every policy of a 60-long chain is selected exactly once."""
    path, calls = chain_of_60
    book = load_policies(path)
    reports = check_book(book, "builtin")
    assert all(r.passed for r in reports) and len(reports) == 60
    assert calls == {f"p{i}": 1 for i in range(60)}
    assert reports[0].tried == [f"p{i}" for i in range(60)]
    assert reports[0].selection.via == "p59" and reports[0].selection.policy == "p0"
    assert reports[59].selection.via is None and reports[59].selection.policy == "p59"
