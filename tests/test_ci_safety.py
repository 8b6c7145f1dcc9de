"""CI that a fallback cannot fool: lock and check --locked refuse a catalog they fell back to.

The default chain answers an unreachable source with ``builtin`` or a stale
cached copy, which is right for a deployment and wrong for a lock: locking the
bundled sample's models, or reporting every policy as drifted, would both be
false. Plain ``check`` still falls back, and says so in every format.
"""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from catalog_server import reply
from conftest import DATA


@pytest.fixture
def unreachable(server, monkeypatch, tmp_path):
    """The default source is a URL that refuses connections; no cached copy; cwd is scratch."""
    url = server.url()
    server.stop()
    monkeypatch.setenv("POLICYENG_CATALOG", url)
    monkeypatch.setenv("POLICYENG_CACHE_DIR", str(tmp_path / "cache"))
    shutil.copy(DATA / "drift.yaml", tmp_path / "drift.yaml")
    monkeypatch.chdir(tmp_path)
    return url


def test_check_locked_refuses_a_fallback_catalog_with_exit_3(cli, unreachable):
    Path("policies.lock").write_text(
        json.dumps(
            {
                "version": 1,
                "policies": {
                    "chat": {
                        "model_name": "groq/llama-3.1-8b-instant",
                        "endpoint": "/v1/chat/completions",
                        "via": None,
                    }
                },
            }
        )
    )
    code, out, err = cli("check", "drift.yaml", "--locked")
    assert (code, out) == (3, "")
    lines = err.splitlines()
    assert lines[0].startswith(f"policyeng: catalog {unreachable}: cannot connect")
    assert lines[-1] == (
        "hint: lock and check --locked compare against the catalog named, never "
        "a fallback (builtin or a stale cached copy); make the source reachable "
        "or name another with --catalog"
    )
    assert "drift" not in err


def test_lock_refuses_a_fallback_catalog_and_writes_nothing(cli, unreachable):
    code, out, err = cli("lock", "drift.yaml")
    assert (code, out) == (3, "")
    assert err.startswith(f"policyeng: catalog {unreachable}: cannot connect")
    assert not Path("policies.lock").exists()


def test_lock_refuses_a_stale_cached_copy(cli, server, monkeypatch, tmp_path):
    monkeypatch.setenv("POLICYENG_CATALOG", server.url())
    monkeypatch.setenv("POLICYENG_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    shutil.copy(DATA / "drift.yaml", "drift.yaml")
    server.script("/api/models", reply(200, json.loads((DATA / "groq-2026-03.json").read_text())))
    assert cli("lock", "drift.yaml")[0] == 0  # fetched now: fine
    server.script("/api/models", reply(503, b"down"))
    code, _, err = cli("lock", "drift.yaml", "--max-age", "0")
    assert code == 3 and "503" in err and "never a fallback" in err
    code, _, err = cli("check", "drift.yaml", "--locked", "--max-age", "0")
    assert code == 3 and "never a fallback" in err
    # Plain check still answers from the stale copy, and every report says it is stale.
    code, out, err = cli("check", "drift.yaml", "--max-age", "0", "--format", "json")
    assert code == 0 and "using the cached copy" in err
    reports = json.loads(out)
    assert {r["catalog"]["stale"] for r in reports} == {True}
    assert reports[0]["catalog"]["warnings"][0].startswith(f"catalog {server.url()}: HTTP 503")


def test_github_format_carries_the_fallback_warning_as_an_annotation(cli, unreachable):
    code, out, err = cli("check", "drift.yaml", "--format", "github")
    assert code == 0  # plain check still answers, from builtin, and says so
    lines = out.splitlines()
    assert lines[0].startswith(f"::warning title=catalog::catalog {unreachable}: cannot connect")
    assert "using builtin (snapshot of 2026-11-20" in lines[0]
    assert lines[-2].startswith("catalog builtin: sha256 ") and lines[-2].endswith(
        ", stale, 55 models"
    )
    assert "policyeng: warning: catalog" in err  # still on stderr, as for every command


def test_skipped_entries_become_github_warnings(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    entries = json.loads((DATA / "groq-2026-03.json").read_text())
    entries.append({"model_name": 42})
    Path("catalog.json").write_text(json.dumps(entries))
    shutil.copy(DATA / "drift.yaml", "drift.yaml")
    code, out, _ = cli("check", "drift.yaml", "--catalog", "catalog.json", "--format", "github")
    assert code == 0
    [warning] = [line for line in out.splitlines() if line.startswith("::warning")]
    assert warning == (
        "::warning title=catalog::catalog catalog.json: skipped entry [14]: "
        "model_name: 42 is not of type 'string'"
    )


def test_every_machine_format_carries_the_catalog_and_its_warnings(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    entries = json.loads((DATA / "groq-2026-03.json").read_text())
    Path("catalog.json").write_text(json.dumps([*entries, {"model_name": 42}]))
    shutil.copy(DATA / "drift.yaml", "drift.yaml")
    skipped = "catalog catalog.json: skipped entry [14]: model_name: 42 is not of type 'string'"
    _, out, _ = cli("check", "drift.yaml", "--catalog", "catalog.json", "--format", "tap")
    assert f"# warning: {skipped}" in out.splitlines()
    _, out, _ = cli("check", "drift.yaml", "--catalog", "catalog.json", "--format", "sarif")
    [run] = json.loads(out)["runs"]
    assert run["invocations"][0]["toolExecutionNotifications"] == [
        {"level": "warning", "message": {"text": skipped}}
    ]
    assert set(run["properties"]["catalog"]) == {
        "source",
        "sha256",
        "fetched_at",
        "stale",
        "models",
    }
    _, out, _ = cli("check", "drift.yaml", "--catalog", "catalog.json", "--format", "junit")
    properties = ET.fromstring(out.split("\n", 1)[1]).iter("property")
    assert [p.get("value") for p in properties if p.get("name") == "catalog.warning"] == [skipped]
