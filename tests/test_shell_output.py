"""`--format env` output survives `sh` whatever a model name holds; `--format github` too."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policyeng.cli.shell import append_github_output, env_names, env_text, github_text
from policyeng.errors import CatalogError, UsageError

HOSTILE = [
    "plain-model",
    "it's",
    "'",
    "''",
    '"quoted"',
    "$(touch pwned)",
    "`touch pwned`",
    "${HOME}",
    "$HOME",
    "a b  c",
    "line one\nline two",
    "trailing newline\n",
    "\n",
    "tab\there",
    "bell\x07 escape\x1b[31m red",
    "back\\slash\\",
    "semi; touch pwned",
    "&& touch pwned",
    "|",
    "!event",
    "*",
    "~",
    "#comment",
    "=",
    "crlf\r\nend",
    "cr\ronly",
    "\u00e9t\u00e9 \u6f22\u5b57 \U0001f600",
    "",
    "-n",
    "x'\"'\"y",
]


def sourced(text: str, tmp_path) -> dict[str, str]:
    """Source ``text`` in ``sh`` (exporting), and read back the POLICYENG_ variables."""
    path = tmp_path / "model.env"
    path.write_text(text, encoding="utf-8")
    script = (
        f'set -a; . "{path}"; set +a; exec "{sys.executable}" -c '
        '"import os, json; print(json.dumps({k: v for k, v in os.environ.items() '
        "if k.startswith('POLICYENG_')}))\""
    )
    result = subprocess.run(
        ["sh", "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=30,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert not (tmp_path / "pwned").exists()
    return json.loads(result.stdout)


def test_hostile_values_come_out_of_sh_exactly(tmp_path):
    values = {f"POLICYENG_V{i}": value for i, value in enumerate(HOSTILE)}
    assert sourced(env_text(values.items()), tmp_path) == values


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.text(st.characters(exclude_characters="\0", codec="utf-8")), min_size=1, max_size=5)
)
def test_any_text_comes_out_of_sh_exactly(tmp_path_factory, texts):
    values = {f"POLICYENG_T{i}": text for i, text in enumerate(texts)}
    assert sourced(env_text(values.items()), tmp_path_factory.mktemp("env")) == values


def test_a_nul_character_cannot_be_a_shell_value():
    with pytest.raises(CatalogError, match="NUL"):
        env_text([("POLICYENG_MODEL_NAME", "a\0b")])


def test_names_with_a_policy_keep_the_policyeng_head_and_are_valid_shell_names():
    values = dict.fromkeys(
        ("model_name", "endpoint", "url", "base_url", "catalog_sha256", "stale"), "v"
    )
    names = [name for name, _ in env_names(values, "4o-chat.v2")]
    assert names[0] == "POLICYENG_4O_CHAT_V2_MODEL_NAME"
    assert all(re.fullmatch(r"[A-Z_][A-Z0-9_]*", name) for name in names)
    assert [n for n, _ in env_names(values)][-1] == "POLICYENG_STALE"


def read_github_output(text: str) -> dict[str, str]:
    """What the Actions runner reads: ``name=value`` or ``name<<DELIM`` ... ``DELIM``.

    The runner reads lines as .NET's ReadLine does: \\r, \\n and \\r\\n all end one.
    """
    lines = re.split(r"\r\n|\r|\n", text)
    outputs, index = {}, 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line:
            continue
        equals, heredoc = line.find("="), line.find("<<")
        if equals >= 0 and (heredoc < 0 or equals < heredoc):
            outputs[line[:equals]] = line[equals + 1 :]
            continue
        name, delimiter = line[:heredoc], line[heredoc + 2 :]
        body = []
        while lines[index] != delimiter:
            body.append(lines[index])
            index += 1
        index += 1
        outputs[name] = "\n".join(body)
    return outputs


def test_github_outputs_read_back_as_written():
    values = {f"v{i}": value for i, value in enumerate(HOSTILE) if "\r" not in value}
    assert read_github_output(github_text(values.items())) == values
    multi = github_text([("model_name", "one\ntwo")])
    assert re.fullmatch(r"model_name<<(\S+)\none\ntwo\n\1\n", multi)


def test_a_value_with_a_carriage_return_cannot_break_out_of_its_output():
    text = github_text([("model_name", "x\rinjected=1"), ("endpoint", "/v1/chat")])
    outputs = read_github_output(text)
    assert outputs == {"model_name": "x\ninjected=1", "endpoint": "/v1/chat"}


def test_the_delimiter_never_occurs_in_the_value(monkeypatch):
    import policyeng.cli.shell as shell

    tokens = iter(["aaaa", "bbbb"])
    monkeypatch.setattr(shell.secrets, "token_hex", lambda n: next(tokens))
    text = github_text([("model_name", "POLICYENG_EOF_aaaa\nsecond")])
    assert text.startswith("model_name<<POLICYENG_EOF_bbbb\n")


def test_github_output_needs_the_variable(tmp_path):
    with pytest.raises(UsageError, match="GITHUB_OUTPUT is not set"):
        append_github_output("model_name=x\n", {})
    target = tmp_path / "out"
    target.write_text("earlier=1\n")
    append_github_output("model_name=x\n", {"GITHUB_OUTPUT": str(target)})
    assert target.read_text() == "earlier=1\nmodel_name=x\n"
