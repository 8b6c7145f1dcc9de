"""Fields and types: errors at compile time, with carets and "did you mean"."""

from __future__ import annotations

import pytest

import policyeng
from policyeng import PolicyError


def error_of(text: str) -> PolicyError:
    with pytest.raises(PolicyError) as info:
        policyeng.compile(text)
    return info.value


def test_unknown_field_suggests_the_closest_name_with_a_caret():
    error = error_of("supports tool_use and output_per_mtk < 1 and healthy")
    assert error.kind == "unknown-field"
    assert str(error) == (
        "<policy>:1:23: unknown field 'output_per_mtk'; did you mean 'output_per_mtok'?\n"
        "  supports tool_use and output_per_mtk < 1 and healthy\n"
        "                        ^^^^^^^^^^^^^^"
    )


def test_unknown_field_without_a_close_name_lists_the_fields():
    error = error_of("wibble > 3")
    assert str(error).splitlines()[0] == "<policy>:1:1: unknown field 'wibble'"
    assert "hint: fields: billing_unit, cached_input_per_mtok, category, context_window," in str(
        error
    )


def test_unknown_field_in_an_order_key_points_into_the_ranking():
    error = error_of("healthy\norder by imput_per_mtok")
    assert (error.line, error.column) == (2, 10)
    assert "did you mean 'input_per_mtok'?" in str(error)


def test_text_compared_with_less_than_is_a_type_error():
    error = error_of('category < "text"')
    assert str(error) == (
        "<policy>:1:1: `<` needs numbers, but these are strings\n"
        '  category < "text"\n'
        "  ^^^^^^^^^^^^^^^^^\n"
        "hint: text and booleans compare with == and != only"
    )


def test_number_compared_with_text_is_a_type_error():
    assert str(error_of('context_window == "128k"')).splitlines()[0] == (
        "<policy>:1:1: cannot compare a number with a string"
    )


def test_matches_on_a_number_is_a_type_error():
    assert str(error_of('context_window matches "1*"')).splitlines()[0] == (
        "<policy>:1:1: `matches` works on text, but this is a number"
    )


def test_a_bare_number_field_is_not_a_condition():
    error = error_of("healthy and max_output")
    assert str(error).splitlines()[0] == (
        "<policy>:1:13: expected a condition around `and`, but this is a number"
    )
    assert error.hint == "compare it, e.g. `max_output > 0`"


def test_list_items_must_match_the_field_type():
    error = error_of('context_window in [8192, "32k"]')
    assert (error.column, error.kind) == (26, "type")


def test_live_policy_needs_the_live_list():
    policy = policyeng.compile("live and healthy")
    with pytest.raises(PolicyError) as info:
        policy.select("builtin")
    assert info.value.kind == "live"
    assert "without the live list" in str(info.value)


def test_compiled_policies_are_cached_by_text():
    assert policyeng.compile("supports chat and healthy") is policyeng.compile(
        "supports chat and healthy"
    )


def test_a_constant_ranking_key_is_an_error():
    error = error_of('supports chat order by "output_per_mtok"')
    assert str(error).splitlines()[0] == (
        "<policy>:1:24: this ranking key is the same for every model"
    )
    assert error.hint == "to rank by the field, drop the quotes: `output_per_mtok`"
    assert error_of("healthy order by 2 * 3").kind == "type"


def test_an_unquoted_text_compared_with_a_text_field_gets_a_quoting_hint():
    error = error_of("provider == Qwen")
    assert error.kind == "unknown-field" and error.column == 13
    assert error.hint == 'to compare with the text Qwen, quote it: "Qwen"'


def test_a_policy_must_be_text():
    assert error_of(["supports chat"]).kind == "type"
    assert str(error_of(123)) == "a policy is text, not int"


def test_a_comparison_that_reads_no_field_is_an_error():
    error = error_of('"provider" == "Qwen"')
    assert (error.kind, error.message) == ("type", "this comparison is the same for every model")
    assert error.hint == "to compare the field, drop the quotes: `provider`"
    assert error_of("healthy and 3 == 3").column == 13


def test_division_by_a_literal_zero_is_an_error_with_the_caret_under_it():
    error = error_of("output_per_mtok / 0 < 1")
    assert error.kind == "type"
    assert str(error).splitlines()[:3] == [
        "<policy>:1:17: division by 0: the value would be missing for every model",
        "  output_per_mtok / 0 < 1",
        "                  ^^^",
    ]
    assert error.hint and "other than 0" in error.hint
    assert error_of("healthy order by (input_per_mtok) / (-0.0)").column == 35
    assert policyeng.compile("output_per_mtok / 2 < 1") is not None
    assert policyeng.compile("output_per_mtok / context_window < 1") is not None
