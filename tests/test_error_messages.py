"""Errors as a new user meets them: what is wrong, where, and what to do next."""

from __future__ import annotations

import pytest
from conftest import run_cli


@pytest.mark.parametrize(
    ("policy", "stderr"),
    [
        (
            "context_window > 32K",
            "policyeng: <policy>:1:18: '32K' is not a number\n"
            "  context_window > 32K\n"
            "                   ^^^\n"
            "hint: write numbers like 0.5, 1e-3, 128_000; the suffixes are k (thousand) and "
            "M (million): 32k, 1M\n",
        ),
        (
            "supports tool-use and healthy",
            "policyeng: <policy>:1:14: unexpected '-'\n"
            "  supports tool-use and healthy\n"
            "               ^\n"
            'hint: quote a tag that is not a plain name: `supports "tool-use"`\n',
        ),
        (
            "(supports text.v2)",
            "policyeng: <policy>:1:15: unexpected character '.'\n"
            "  (supports text.v2)\n"
            "                ^\n"
            'hint: quote a tag that is not a plain name: `supports "text.v2"`\n',
        ),
    ],
)
def test_policy_mistakes_get_a_caret_and_a_hint(policy, stderr):
    result = run_cli("select", policy)
    assert (result.returncode, result.stdout, result.stderr) == (2, "", stderr)


def test_a_source_that_is_no_catalog_says_which_sources_work(tmp_path):
    hint = "hint: a catalog source is `builtin`, a path to a JSON file, or an http(s):// URL\n"
    result = run_cli("select", "healthy", "--catalog", "ftp://example.com/models")
    assert (result.returncode, result.stderr) == (
        3,
        "policyeng: catalog ftp://example.com/models: cannot fetch ftp:// URLs\n" + hint,
    )
    result = run_cli("catalog", "--catalog", str(tmp_path))
    assert (result.returncode, result.stderr) == (
        3,
        f"policyeng: catalog {tmp_path}: is a directory, not a JSON file\n" + hint,
    )


def test_no_match_hint_repeats_the_catalog_so_the_command_can_be_pasted(write_catalog):
    path = write_catalog([{"model_name": "only", "category": "text", "health_status": "down"}])
    result = run_cli("select", "healthy", "--catalog", str(path))
    assert result.returncode == 1
    assert result.stderr == (
        f"policyeng: no model matches the policy in catalog {path} (1 model)\n"
        "  healthy                                       1 in      1 dropped      0 left\n"
        "  `healthy` dropped the last 1\n"
        "hint: see each clause's drops and the ranking with: "
        f"policyeng explain healthy --catalog {path}\n"
    )
    again = run_cli("explain", "healthy", "--catalog", str(path), "--model", "only")
    assert again.returncode == 1
    assert again.stdout.splitlines()[-3:] == [
        "why not only?",
        "  clause 1 of 1 drops it: healthy",
        '  health_status = "down", needs "healthy"',
    ]
