"""docs/serving.md: its curl session runs against a real server, its Kubernetes example
names command lines the CLI accepts and probes the server has."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys

import httpx
import pytest
import yaml
from conftest import ROOT
from serving import ServeProcess

from policyeng.cli import build_parser

PAGE = ROOT / "docs" / "serving.md"
TEXT = PAGE.read_text(encoding="utf-8")


def session() -> list[tuple[str, str]]:
    """(command, expected output) of each ``$ `` line of the ``shell-session`` blocks."""
    steps = []
    for block in re.findall(r"```shell-session\n(.*?)```", TEXT, flags=re.S):
        for chunk in re.split(r"^\$ ", block, flags=re.M)[1:]:
            command, _, output = chunk.partition("\n")
            steps.append((command, output))
    return steps


def normalise(text: str) -> str:
    """What differs from run to run: ids, the catalog's age, times; digests, port."""
    text = re.sub(r"\b[0-9a-f]{64}\b", "<sha256>", text)
    text = re.sub(r"\b[0-9a-f]{32}\b", "<id>", text)
    text = re.sub(r'"age_s": ?[0-9.]+', '"age_s": <age>', text)
    return re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(\+00:00|Z)", "<time>", text)


def test_the_curl_session_runs_as_shown(tmp_path):
    steps = session()
    assert len(steps) >= 8
    shutil.copytree(ROOT / "policies", tmp_path / "policies")
    server = ServeProcess(
        "policies/", "--catalog", "builtin", "--decision-log", "decisions.jsonl", cwd=tmp_path
    )
    try:
        httpx.get(server.url("/readyz"), timeout=10)
        for command, expected in steps:
            command = command.replace("http://127.0.0.1:8787", server.base)
            command = command.replace("python ", f'"{sys.executable}" ', 1)
            result = subprocess.run(
                ["bash", "-c", command],
                cwd=tmp_path,
                text=True,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                timeout=60,
                env={**os.environ, "NO_PROXY": "127.0.0.1"},
            )
            assert normalise(result.stdout) == normalise(expected), command
    finally:
        code, err = server.terminate()
    assert code == 0, err
    logged = [
        json.loads(line)
        for line in (tmp_path / "decisions.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    answered = [step for step in steps if '"decision_id"' in step[1]]
    assert len(logged) == len(answered) + 1  # and the one piped into python -c
    assert {line["policy"] for line in logged} == {
        "support-chat",
        "supports embeddings and healthy order by input_per_mtok",
    }


def kubernetes_containers() -> list[dict]:
    (pod,) = [
        doc
        for block in re.findall(r"```yaml\n(.*?)```", TEXT, flags=re.S)
        for doc in yaml.safe_load_all(block)
        if isinstance(doc, dict) and doc.get("kind") == "Pod"
    ]
    return pod["spec"]["initContainers"] + pod["spec"]["containers"]


def policyeng_words(container: dict) -> list[str] | None:
    """The policyeng command line a container runs (through ``sh -c`` or the image's
    ENTRYPOINT), without a shell redirection; None if it runs something else."""
    if container.get("command", [None])[:2] == ["sh", "-c"]:
        words = shlex.split(container["command"][2])
        words = words[: words.index(">")] if ">" in words else words
        return words[1:] if words[0] == "policyeng" else None
    if container["image"].startswith("policyeng") and "command" not in container:
        return container["args"]
    return None


def test_the_kubernetes_example_runs_command_lines_the_cli_accepts():
    parsed = {
        c["name"]: build_parser().parse_args(words)
        for c in kubernetes_containers()
        if (words := policyeng_words(c)) is not None
    }
    assert parsed["pick-model"].command == "select"
    assert parsed["pick-model"].format == "env" and parsed["pick-model"].expr == "support-chat"
    assert parsed["policyeng"].command == "serve" and parsed["policyeng"].port == 8787
    sidecar = next(c for c in kubernetes_containers() if c["name"] == "policyeng")
    assert sidecar["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": 8787}
    assert sidecar["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": 8787}


@pytest.mark.parametrize(
    "route",
    [
        "/v1/policies",
        "/v1/select/{name}?top=N",
        "/v1/select",
        "/v1/report",
        "/healthz",
        "/readyz",
        "/metrics",
    ],
)
def test_every_route_is_documented(route):
    assert f"`GET {route}`" in TEXT or f"`POST {route}`" in TEXT
