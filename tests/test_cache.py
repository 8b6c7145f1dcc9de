"""The on-disk catalog cache: its file, damage, unwritable places, concurrent refreshes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from catalog_server import with_etag
from conftest import IMPORTED_FROM

from policyeng.catalog.response_cache import CatalogCache, cache_dir
from policyeng.errors import CatalogWarning

URL = "https://models.example/api/models"


def test_cache_dir_follows_policyeng_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("POLICYENG_CACHE_DIR", str(tmp_path / "here"))
    assert cache_dir() == tmp_path / "here"


def test_cache_dir_defaults_to_the_user_cache_directory_xdg_on_linux(monkeypatch, tmp_path):
    monkeypatch.delenv("POLICYENG_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_dir() == tmp_path / "policyeng" / "catalogs"


def test_an_entry_round_trips_with_its_validators(tmp_path):
    cache = CatalogCache(tmp_path)
    written = cache.write(URL, b"[1]", etag='"e"', last_modified="Tue, 24 Nov 2026 10:00:00 GMT")
    read = cache.read(URL)
    assert read == written
    assert read.validators() == {
        "If-None-Match": '"e"',
        "If-Modified-Since": "Tue, 24 Nov 2026 10:00:00 GMT",
    }
    path = cache.path_for(URL)
    assert path.name.startswith("models.example-") and path.suffix == ".catalog"
    meta = json.loads(path.read_bytes().partition(b"\n")[0])
    assert meta["url"] == URL and meta["size"] == 3


def test_urls_never_share_an_entry(tmp_path):
    cache = CatalogCache(tmp_path)
    assert cache.path_for(URL) != cache.path_for(URL + "?v=2")


def test_a_damaged_entry_is_ignored_with_a_warning(tmp_path):
    cache = CatalogCache(tmp_path)
    cache.write(URL, b"[1, 2, 3]")
    path = cache.path_for(URL)
    path.write_bytes(path.read_bytes()[:-2])
    with pytest.warns(CatalogWarning, match=r"cached catalog .* is damaged; ignored"):
        assert cache.read(URL) is None


def test_an_unwritable_cache_warns_and_the_load_goes_on(server, monkeypatch, tmp_path):
    from catalog_server import reply

    from policyeng.catalog import load_catalog

    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("POLICYENG_CACHE_DIR", str(blocker / "cache"))
    server.script("/api/models", reply(200, [{"model_name": "m", "category": "text"}]))
    with pytest.warns(CatalogWarning) as caught:
        catalog = load_catalog(server.url())
    assert [e["model_name"] for e in catalog] == ["m"]
    [warning] = caught
    assert str(warning.message) == (
        f"cannot write the catalog cache {CatalogCache().path_for(server.url())}: "
        "Not a directory (kept in memory instead)"
    )


def test_a_304_does_not_undo_a_concurrent_refresh(tmp_path):
    cache = CatalogCache(tmp_path)
    old = cache.write(URL, b"[1]", etag='"1"')
    cache.write(URL, b"[2]", etag='"2"')  # another process stored a newer body meanwhile
    cache.confirm(old)
    assert cache.read(URL).body == b"[2]"


REFRESHER = """
import sys, warnings
from policyeng.catalog import load_catalog
from policyeng.catalog.http import FetchSettings
settings = FetchSettings(retries=0, connect_timeout=2, read_timeout=2)
for _ in range(int(sys.argv[2])):
    load_catalog(sys.argv[1], max_age=0, settings=settings)
"""


def test_concurrent_refreshes_never_corrupt_the_cache(server, tmp_path):
    bodies = [
        [{"model_name": f"model-{i}-{j}", "category": "text"} for j in range(300)] for i in range(2)
    ]
    # The server flips between two catalogs, so the processes keep replacing each other's entry.
    server.script("/api/models", *[with_etag(bodies[i % 2], f'"{i % 2}"') for i in range(200)])
    env = {**os.environ, "PYTHONPATH": IMPORTED_FROM, "POLICYENG_CACHE_DIR": str(tmp_path)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", REFRESHER, server.url(), "25"],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    errors = [w.communicate(timeout=120)[1] for w in workers]
    assert [w.returncode for w in workers] == [0, 0, 0], errors
    assert errors == ["", "", ""]  # no process saw a damaged entry or a failed write
    entry = CatalogCache(tmp_path).read(server.url())  # sha256 checked on read
    assert json.loads(entry.body) in bodies
    assert entry.etag == f'"{bodies.index(json.loads(entry.body))}"'
    kept = [p.name for p in tmp_path.iterdir() if not p.name.endswith((".lock", ".validated"))]
    assert sorted(kept) == [
        CatalogCache(tmp_path).path_for(server.url()).name
    ]  # no temporary file left behind
    assert len(server.hits("/api/models")) == 75
