"""``policyeng lock`` and ``check --locked``: picks recorded, drift caught, writes atomic."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest
from conftest import ROOT

from policyeng.errors import PolicyError
from policyeng.policies import lock as lockmod

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


def test_lock_writes_version_2_with_what_made_each_pick(cli, project):
    code, out, err = cli("lock", "policies/chat.yaml", "--catalog", "catalog.json")
    assert (code, err) == (0, "")
    text = (project / "policies.lock").read_text()
    data = json.loads(text)
    sha = data["catalog"]["sha256"]
    assert data["version"] == 2
    assert data["catalog"] == {
        "source": "catalog.json",
        "sha256": sha,
        "models": 55,
        "fetched_at": data["catalog"]["fetched_at"],
    }
    assert data["catalog"]["fetched_at"].startswith("20")
    support = data["policies"]["support-chat"]
    assert {k: support[k] for k in ("model_name", "endpoint", "via")} == {
        "model_name": "Llama-3.1-8B-Instruct",
        "endpoint": "/v1/chat/completions",
        "via": None,
    }
    assert support["keys"] == [
        {"key": "output_per_mtok", "value": 0.18},
        {"key": "context_window desc", "value": 131072},
    ]
    assert support["fields"] == {
        "category": "text",
        "context_window": 131072,
        "health_status": "healthy",
        "healthy": True,
        "output_per_mtok": 0.18,
        "supports": support["fields"]["supports"],
    }
    assert "tool_use" in support["fields"]["supports"]
    assert support["candidates"] == sorted(support["candidates"])
    assert "Llama-3.1-8B-Instruct" in support["candidates"] and len(support["candidates"]) >= 2
    general = data["policies"]["general-chat"]
    assert general["model_name"] == "Phi-4-multimodal-instruct"
    assert general["keys"][1] == {"key": "model_name", "value": "Phi-4-multimodal-instruct"}
    # Diff-friendly: sorted keys, two-space blocks, one policy per block, UTF-8 as is.
    assert text == json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert text.index('"general-chat"') < text.index('"support-chat"')
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
    assert (
        "FAIL support-chat              drifted from policies.lock: locked "
        "Llama-3.1-8B-Instruct, now Mistral-7B-Instruct-v0.3"
    ) in lines
    table = lines[lines.index("drift against policies.lock:") + 1 : -2]
    assert table[0].split() == ["policy", "locked", "now", "reason"]
    assert table[1].split() == [
        "support-chat",
        "Llama-3.1-8B-Instruct",
        "(/v1/chat/completions)",
        "Mistral-7B-Instruct-v0.3",
        "(/v1/chat/completions)",
        "outranked",
    ]
    assert lines[-1] == "13 passed, 3 failed (16 policies, catalog catalog.json)"


def test_policy_that_no_longer_resolves_is_drift(cli, project):
    assert cli("lock", "policies/embeddings.yaml", "--catalog", "catalog.json")[0] == 0
    entries = json.loads((project / "catalog.json").read_text())
    kept = [e for e in entries if "embeddings" not in (e.get("supports") or [])]
    (project / "catalog.json").write_text(json.dumps(kept))
    code, out, _ = cli(
        "check",
        "policies/embeddings.yaml",
        "--catalog",
        "catalog.json",
        "--locked",
        "--format",
        "json",
    )
    assert code == 1
    report = {d["policy"]: d for d in json.loads(out)}["cheapest-embeddings"]
    assert report["locked"]["model_name"] == "nomic-embed-text-v1.5"
    assert report["model_name"] is None
    assert report["failures"][-1] == (
        "drifted from policies.lock: locked nomic-embed-text-v1.5 (/v1/embeddings), "
        "now (no model) (removed: nomic-embed-text-v1.5 is no longer in the catalog)"
    )
    assert report["drift"]["reason"] == "removed"


def test_new_and_removed_policies_fail_until_relocked(cli, project):
    assert cli("lock", "policies/", "--catalog", "catalog.json")[0] == 0
    (project / "policies" / "images.yaml").unlink()
    (project / "policies" / "extra.yaml").write_text(
        "version: 1\npolicies:\n  extra-chat: {where: supports chat}\n"
    )
    code, out, _ = cli("check", "policies/", "--catalog", "catalog.json", "--locked")
    assert code == 1
    width = len("long-document-embeddings")
    assert (
        f"FAIL {'extra-chat':<{width}}  not in policies.lock; run `policyeng lock` to add it"
        in out.splitlines()
    )
    assert (
        f"FAIL {'image-generation':<{width}}  locked in policies.lock but no longer defined; "
        "run `policyeng lock` to drop it" in out.splitlines()
    )
    assert cli("lock", "policies/", "--catalog", "catalog.json")[0] == 0
    assert cli("check", "policies/", "--catalog", "catalog.json", "--locked")[0] == 0


def test_locked_reads_another_lock_path(cli, project):
    code, _, err = cli("lock", "policies/audio.yaml", "-o", "locks/audio.lock")  # no such dir
    assert (code, err) == (
        2,
        "policyeng: locks/audio.lock: cannot write the lock file: No such file or directory\n",
    )
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
    assert err == (
        "policyeng: policies.lock: not a policyeng lock file: $.policies is an array, "
        "expected an object\n"
    )


def test_lock_refuses_a_policy_that_resolves_to_nothing(cli, project):
    shutil.copy(ROOT / "tests" / "data" / "failing.yaml", "failing.yaml")
    code, out, err = cli("lock", "failing.yaml")
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        "policyeng: cannot lock: 2 of 3 policies fail in catalog builtin; nothing written",
        "  free-reasoning: resolves to no model: `output_per_mtok < 0.01` leaves none of 8",
        "  wrong-endpoint: expected at least 10 candidates, found 5",
        "  wrong-endpoint: expected endpoint /v1/chat/completions, got /v1/embeddings "
        "(nomic-embed-text-v1.5)",
        "fix them (or their expect), then lock again; `policyeng check` shows the full report",
    ]
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
    assert sorted(p.name for p in project.iterdir()) == [
        "catalog.json",
        "policies",
        "policies.lock",
    ]


def test_lock_with_policy_file_catalog_key_relative_to_the_file(cli, project, monkeypatch):
    monkeypatch.delenv("POLICYENG_CATALOG")  # it would take precedence over `catalog:`
    (project / "config").mkdir()
    (project / "catalog.json").rename(project / "config" / "catalog.json")
    (project / "config" / "pinned.yaml").write_text(
        "version: 1\ncatalog: catalog.json\npolicies:\n"
        "  chat: {where: supports tool_use and healthy, order_by: [output_per_mtok]}\n"
    )
    assert cli("lock", "config/pinned.yaml")[0] == 0
    lock = json.loads(Path("policies.lock").read_text())
    assert lock["catalog"]["source"] == os.path.join("config", "catalog.json")


def test_lock_output_that_is_a_directory_is_refused_in_one_line(cli, project):
    (project / "out").mkdir()
    code, out, err = cli("lock", "policies/chat.yaml", "-o", "out")
    assert (code, out) == (2, "")
    assert err == (
        "policyeng: out: cannot write the lock file: this path is a directory; "
        "name a new file or an existing lock file\n"
    )
    assert list((project / "out").iterdir()) == []


def test_lock_output_that_is_a_fifo_is_refused_not_replaced(cli, project):
    os.mkfifo(project / "pipe")
    code, _, err = cli("lock", "policies/chat.yaml", "-o", "pipe")
    assert code == 2
    assert err == (
        "policyeng: pipe: cannot write the lock file: this path is a FIFO (named "
        "pipe); name a new file or an existing lock file\n"
    )
    assert (project / "pipe").is_fifo()


def test_lock_output_that_is_a_device_is_refused_not_replaced(project, monkeypatch):
    # Pretend the target is a character device (like /dev/full) without touching /dev.
    (project / "full").write_text("untouched")
    real_stat = Path.stat

    def device_stat(self, *args, **kwargs):
        result = real_stat(self, *args, **kwargs)
        if self.name == "full":
            return os.stat_result((stat.S_IFCHR | 0o666, *tuple(result)[1:]))
        return result

    monkeypatch.setattr(Path, "stat", device_stat)
    with pytest.raises(PolicyError) as caught:
        lockmod.write_lock("full", {"version": 1, "policies": {}})
    assert str(caught.value) == (
        "full: cannot write the lock file: this path is a character "
        "device; name a new file or an existing lock file"
    )
    assert (project / "full").read_text() == "untouched"


def test_lock_output_through_a_symlink_writes_its_target_and_keeps_the_link(cli, project):
    (project / "locks").mkdir()
    (project / "locks" / "real.lock").write_text("old")
    (project / "link.lock").symlink_to("locks/real.lock")
    assert cli("lock", "policies/chat.yaml", "-o", "link.lock")[0] == 0
    assert (project / "link.lock").is_symlink()
    assert os.readlink(project / "link.lock") == "locks/real.lock"
    written = json.loads((project / "locks" / "real.lock").read_text())
    assert sorted(written["policies"]) == ["general-chat", "support-chat"]
    assert sorted(p.name for p in (project / "locks").iterdir()) == ["real.lock"]


def test_lock_output_dash_writes_the_lock_to_stdout(cli, project):
    code, out, err = cli("lock", "policies/chat.yaml", "-o", "-")
    assert code == 0
    assert sorted(json.loads(out)["policies"]) == ["general-chat", "support-chat"]
    assert err.splitlines()[-1].startswith("locked 2 policies in stdout (catalog builtin, ")
    assert not (project / "-").exists() and not (project / "policies.lock").exists()


def test_new_lock_file_gets_ordinary_permissions(project):
    old = os.umask(0o022)
    try:
        lockmod.write_lock("policies.lock", {"version": 1, "policies": {}})
    finally:
        os.umask(old)
    assert stat.S_IMODE((project / "policies.lock").stat().st_mode) == 0o644


def test_replaced_lock_file_keeps_its_permissions(project):
    (project / "policies.lock").write_text("{}")
    (project / "policies.lock").chmod(0o640)
    lockmod.write_lock("policies.lock", {"version": 1, "policies": {}})
    assert stat.S_IMODE((project / "policies.lock").stat().st_mode) == 0o640


def test_lock_path_alone_implies_locked(cli, project):
    assert cli("lock", "policies/", "--catalog", "catalog.json", "-o", "saved.lock")[0] == 0
    set_price(project / "catalog.json", "Mistral-7B-Instruct-v0.3", output_per_mtok=0.1)
    code, out, _ = cli("check", "policies/", "--catalog", "catalog.json", "--lock", "saved.lock")
    assert code == 1 and "drift against saved.lock:" in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[" * 100_000, "not a policyeng lock file: nested too deeply"),
    ],
)
def test_a_malformed_lock_file_is_exit_2(cli, project, content, message):
    Path("bad.lock").write_text(content)
    code, _, err = cli("check", "policies/", "--catalog", "catalog.json", "--lock", "bad.lock")
    assert code == 2 and err == f"policyeng: bad.lock: {message}\n"


def test_a_lock_path_that_is_a_fifo_is_refused(cli, project):
    os.mkfifo("pipe.lock")
    code, _, err = cli("check", "policies/", "--catalog", "catalog.json", "--lock", "pipe.lock")
    assert code == 2 and err == "policyeng: pipe.lock: not a regular file\n"
