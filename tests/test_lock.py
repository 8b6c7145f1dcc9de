"""``policyeng lock`` and ``check --locked``: picks recorded, drift caught, writes atomic."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import ROOT

from policyeng import lock as lockmod

BUILTIN = ROOT / "policyeng" / "data" / "builtin.json"


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A deployment directory: a copy of policies/ and of the builtin catalog, as cwd."""
    shutil.copytree(ROOT / "policies", tmp_path / "policies")
    shutil.copy(BUILTIN, tmp_path / "catalog.json")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def set_price(path: Path, model_name: str, **prices) -> None:
    entries = json.loads(path.read_text())
    for entry in entries:
        if entry["model_name"] == model_name:
            entry.update(prices)
    path.write_text(json.dumps(entries))


def test_lock_writes_the_design_format(cli, project):
    code, out, err = cli("lock", "policies/chat.yaml", "--catalog", "catalog.json")
    assert (code, err) == (0, "")
    data = json.loads((project / "policies.lock").read_text())
    sha = data["catalog"]["sha256"]
    assert data == {
        "version": 1,
        "catalog": {"source": "catalog.json", "sha256": sha},
        "policies": {
            "general-chat": {"model_name": "Phi-4-multimodal-instruct",
                             "endpoint": "/v1/chat/completions", "via": None},
            "support-chat": {"model_name": "Llama-3.1-8B-Instruct",
                             "endpoint": "/v1/chat/completions", "via": None},
        },
    }
    assert out.splitlines()[-1] == (
        f"locked 2 policies in policies.lock (catalog catalog.json, sha256 {sha[:12]}...)"
    )


def test_lock_then_check_locked_passes_then_fails_after_a_price_change(cli, project):
    assert cli("lock", "policies/", "--catalog", "catalog.json")[0] == 0
    code, out, _ = cli("check", "policies/", "--catalog", "catalog.json", "--locked")
    assert code == 0, out
    # Mistral-7B becomes the cheapest tool-calling chat model: support-chat drifts.
    set_price(project / "catalog.json", "Mistral-7B-Instruct-v0.3", output_per_mtok=0.1)
    code, out, _ = cli("check", "policies/", "--catalog", "catalog.json", "--locked")
    assert code == 1
    lines = out.splitlines()
    assert ("FAIL support-chat              drifted from policies.lock: locked "
            "Llama-3.1-8B-Instruct, now Mistral-7B-Instruct-v0.3") in lines
    table = lines[lines.index("drift against policies.lock:") + 1:-1]
    assert table[0].split() == ["policy", "locked", "now"]
    assert table[1].split() == ["support-chat", "Llama-3.1-8B-Instruct", "(/v1/chat/completions)",
                                "Mistral-7B-Instruct-v0.3", "(/v1/chat/completions)"]
    assert lines[-1] == "9 passed, 3 failed (12 policies, catalog catalog.json)"


def test_policy_that_no_longer_resolves_is_drift(cli, project):
    assert cli("lock", "policies/embeddings.yaml", "--catalog", "catalog.json")[0] == 0
    entries = json.loads((project / "catalog.json").read_text())
    kept = [e for e in entries if "embeddings" not in (e.get("supports") or [])]
    (project / "catalog.json").write_text(json.dumps(kept))
    code, out, _ = cli("check", "policies/embeddings.yaml", "--catalog", "catalog.json",
                       "--locked", "--format", "json")
    assert code == 1
    report = {d["policy"]: d for d in json.loads(out)}["cheapest-embeddings"]
    assert report["locked"]["model_name"] == "nomic-embed-text-v1.5"
    assert report["model_name"] is None
    assert report["failures"][-1] == (
        "drifted from policies.lock: locked nomic-embed-text-v1.5 (/v1/embeddings), "
        "now (no model)"
    )


def test_new_and_removed_policies_fail_until_relocked(cli, project):
    assert cli("lock", "policies/", "--catalog", "catalog.json")[0] == 0
    (project / "policies" / "images.yaml").unlink()
    (project / "policies" / "extra.yaml").write_text(
        "version: 1\npolicies:\n  extra-chat: {where: supports chat}\n")
    code, out, _ = cli("check", "policies/", "--catalog", "catalog.json", "--locked")
    assert code == 1
    width = len("long-document-embeddings")
    assert (f"FAIL {'extra-chat':<{width}}  not in policies.lock; run `policyeng lock` to add it"
            in out.splitlines())
    assert (f"FAIL {'image-generation':<{width}}  locked in policies.lock but no longer defined; "
            "run `policyeng lock` to drop it" in out.splitlines())
    assert cli("lock", "policies/", "--catalog", "catalog.json")[0] == 0
    assert cli("check", "policies/", "--catalog", "catalog.json", "--locked")[0] == 0


def test_locked_reads_another_lock_path(cli, project):
    code, _, err = cli("lock", "policies/audio.yaml", "-o", "locks/audio.lock")  # no such dir
    assert (code, err) == (2, "policyeng: locks/audio.lock: cannot write the lock file: "
                              "No such file or directory\n")
    (project / "locks").mkdir()
    assert cli("lock", "policies/audio.yaml", "-o", "locks/audio.lock")[0] == 0
    assert cli("check", "policies/audio.yaml", "--locked", "--lock", "locks/audio.lock")[0] == 0


def test_missing_or_malformed_lock_is_a_usage_error(cli, project):
    code, out, err = cli("check", "policies/", "--locked")
    assert (code, out) == (2, "")
    assert err == "policyeng: policies.lock: lock file not found; create it with `policyeng lock`\n"
    Path("policies.lock").write_text('{"version": 1, "policies": []}')
    code, _, err = cli("check", "policies/", "--locked")
    assert code == 2
    assert err == ("policyeng: policies.lock: not a policyeng lock file: 'policies' must be an "
                   "object\n")


def test_lock_refuses_a_policy_that_resolves_to_nothing(cli, project):
    shutil.copy(ROOT / "tests" / "data" / "failing.yaml", "failing.yaml")
    code, out, err = cli("lock", "failing.yaml")
    assert (code, out) == (1, "")
    assert err == ("policyeng: cannot lock: 'free-reasoning' resolves to no model in catalog "
                   "builtin; run `policyeng check` to see why\n")
    assert not Path("policies.lock").exists()


def test_lock_write_is_atomic(project, monkeypatch):
    lockmod.write_lock("policies.lock", {"version": 1, "policies": {}})
    before = Path("policies.lock").read_text()

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        lockmod.write_lock("policies.lock", {"version": 1, "policies": {"x": {}}})
    assert Path("policies.lock").read_text() == before
    assert sorted(p.name for p in project.iterdir()) == ["catalog.json", "policies",
                                                          "policies.lock"]


def test_lock_with_policy_file_catalog_key_relative_to_the_file(cli, project, monkeypatch):
    monkeypatch.delenv("POLICYENG_CATALOG")  # it would take precedence over `catalog:`
    (project / "config").mkdir()
    (project / "catalog.json").rename(project / "config" / "catalog.json")
    (project / "config" / "pinned.yaml").write_text(
        "version: 1\ncatalog: catalog.json\npolicies:\n"
        "  chat: {where: supports tool_use and healthy, order_by: [output_per_mtok]}\n")
    assert cli("lock", "config/pinned.yaml")[0] == 0
    lock = json.loads(Path("policies.lock").read_text())
    assert lock["catalog"]["source"] == os.path.join("config", "catalog.json")
