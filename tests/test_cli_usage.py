"""Usage mistakes: an unquoted policy gets a quoted suggestion; options are never abbreviated."""

from __future__ import annotations

import pytest
from conftest import ROOT, run_cli


@pytest.mark.parametrize(
    ("argv", "leftover", "again"),
    [
        (
            ["select", "supports", "chat", "and", "healthy"],
            "chat and healthy",
            "policyeng select 'supports chat and healthy'",
        ),
        (
            ["explain", "supports", "chat", "--top", "3", "and", "healthy"],
            "chat and healthy",
            "policyeng explain 'supports chat and healthy'",
        ),
        (
            ["catalog", "--where", "supports", "chat"],
            "chat",
            "policyeng catalog --where 'supports chat'",
        ),
        (
            ["select", "supports", "chat", "and", "input_per_mtok", ">", "-1"],
            "chat and input_per_mtok > -1",
            "policyeng select 'supports chat and input_per_mtok > -1'",
        ),
    ],
    ids=["select", "explain", "catalog-where", "negative-number"],
)
def test_an_unquoted_policy_is_shown_quoted(argv, leftover, again):
    done = run_cli(*argv)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith(f"usage: policyeng {argv[0]} ")
    assert done.stderr.endswith(
        f"policyeng {argv[0]}: error: unrecognized arguments: {leftover}\n"
        f"hint: quote the policy: {again}\n"
    )


def test_leftover_words_after_a_policy_name_get_no_quoting_hint():
    done = run_cli("select", "-f", "policies", "general-chat", "extra")
    assert done.returncode == 2
    assert done.stderr.endswith("policyeng select: error: unrecognized arguments: extra\n")


@pytest.mark.parametrize(
    ("argv", "leftover"),
    [
        (["select", "--stric", "supports chat"], "--stric"),
        (["catalog", "--js"], "--js"),
        (["lock", str(ROOT / "policies"), "--out", "x.lock"], "--out x.lock"),
    ],
)
def test_options_are_never_abbreviated(argv, leftover, tmp_path):
    done = run_cli(*argv, cwd=tmp_path)  # were `--out` taken for `--output`: x.lock lands here
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.endswith(f"policyeng {argv[0]}: error: unrecognized arguments: {leftover}\n")
