"""The pre-commit hook definition points at a real command that works on policies/."""

from __future__ import annotations

import re
import shlex

import yaml
from conftest import ROOT


def hooks() -> list[dict]:
    return yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())


def console_scripts() -> dict[str, str]:
    """``[project.scripts]`` of pyproject.toml (read by hand: tomllib is 3.11+)."""
    text = (ROOT / "pyproject.toml").read_text()
    section = text.split("[project.scripts]", 1)[1].split("\n[", 1)[0]
    return dict(re.findall(r'^(\S+)\s*=\s*"([^"]+)"', section, flags=re.M))


def test_hooks_have_the_fields_pre_commit_requires():
    for hook in hooks():
        assert {"id", "name", "entry", "language"} <= set(hook)
        assert hook["language"] == "python"
        assert hook["pass_filenames"] is False
        re.compile(hook["files"])
    assert re.search(hooks()[0]["files"], "policies/chat.yaml")
    assert not re.search(hooks()[0]["files"], "README.md")


def test_hook_entry_is_the_installed_console_script():
    scripts = console_scripts()
    for hook in hooks():
        program, *_ = shlex.split(hook["entry"])
        assert program in scripts
        assert scripts[program] == "policyeng.cli:main_exit"


def test_hook_command_passes_on_the_example_policies(cli, monkeypatch, tmp_path):
    hook = hooks()[0]
    _, *argv = shlex.split(hook["entry"])
    monkeypatch.chdir(ROOT)
    code, out, _ = cli(*argv, *hook["args"])
    assert code == 0
    assert re.fullmatch(
        r"\d+ passed, 0 failed \(\d+ policies, catalog builtin\)", out.splitlines()[-1]
    )


def test_locked_hook_runs_check_locked(cli, monkeypatch, tmp_path):
    hook = hooks()[1]
    _, *argv = shlex.split(hook["entry"])
    assert argv == ["check", "--locked"]
    monkeypatch.chdir(tmp_path)
    policies = str(ROOT / "policies")
    assert cli("lock", policies)[0] == 0
    assert cli(*argv, policies)[0] == 0


def test_policy_schema_is_a_valid_2020_12_schema():
    import json

    from jsonschema import Draft202012Validator

    schema = json.loads((ROOT / "schemas" / "policy.schema.json").read_text())
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    for path in sorted((ROOT / "policies").glob("*.yaml")):
        first = path.read_text().splitlines()[0]
        assert first == "# yaml-language-server: $schema=../schemas/policy.schema.json", path
