"""Safe, located YAML: plain data only, aliases bounded, positions kept."""

from __future__ import annotations

import pytest

from policyeng import PolicyError
from policyeng.policies.yamldoc import format_path, load_yaml


def error_of(text: str) -> PolicyError:
    with pytest.raises(PolicyError) as caught:
        load_yaml(text, "f.yaml")
    return caught.value


def test_builds_plain_data_and_keeps_keys_as_written():
    doc = load_yaml("on: yes\n1: 2.5\nwhen: 2024-01-01\nnothing: ~\nlist: [a, 'b']\n", "f.yaml")
    # Keys stay text (YAML 1.1 would make `on` a boolean); values get their plain types.
    assert doc.data == {
        "on": True,
        "1": 2.5,
        "when": "2024-01-01",
        "nothing": None,
        "list": ["a", "b"],
    }
    assert doc.line_of(("list",)) == 5
    assert doc.values[("list", 1)].start_mark.column == 10


def test_format_path():
    assert format_path(("policies", "support-chat", "order_by", 1)) == (
        "policies.support-chat.order_by[1]"
    )
    assert format_path(()) == "(top level)"


def test_recursive_alias_is_an_error_not_a_hang():
    error = error_of("policies: &a\n  x: *a\n")
    assert (error.line, error.column, error.message) == (
        1,
        11,
        "an alias refers to a value that contains it",
    )


def test_alias_expansion_is_bounded():
    text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for level in "bcdefg":
        previous = chr(ord(level) - 1)
        text += f"{level}: &{level} [{', '.join([f'*{previous}'] * 10)}]\n"
    assert error_of(text).message == (
        "the file holds more than 100,000 values (each use of an alias counts again)"
    )


def test_merge_keys_and_complex_keys_are_refused():
    error = error_of("base: &b {where: healthy}\nx:\n  <<: *b\n  ? [a]\n  : 1\n")
    assert [(e.line, e.message) for e in error.errors] == [
        (3, "merge keys (<<) are not supported in a policy file; write the keys out"),
        (4, "a key in x must be a plain name, not a list"),
    ]


@pytest.mark.parametrize(
    ("line", "offset", "expected"),
    [
        ("k: plain text here", 6, (1, 10)),
        ('k: "quoted \\"x\\" here"', 10, (1, 17)),
        ("k: 'it''s here'", 5, (1, 11)),
        ("k: |\n  first\n   second", 8, (3, 5)),
        ("k: >-\n  folded\n  line two", 9, (3, 5)),
    ],
    ids=["plain", "double", "single", "literal", "folded"],
)
def test_scalar_place_maps_value_offsets_into_the_file(line, offset, expected):
    doc = load_yaml(line + "\n", "f.yaml")
    assert doc.scalar_place(("k",), offset) == expected


def test_scalar_place_falls_back_to_the_scalar_start_when_escapes_change_text():
    doc = load_yaml('x: 1\nk: "a\\tb\\u00e9 c"\n', "f.yaml")
    assert doc.data["k"] == "a\tbé c"
    assert doc.scalar_place(("k",), 4) == (2, 4)
