"""One-shot loads keep each source's catalog in memory: a naive loop of selects pays
microseconds, never a re-parse or a network timeout per call."""

from __future__ import annotations

import json
import time
import warnings

import pytest
from catalog_server import reply, with_etag
from resolver_helpers import CATALOG, model

import policyeng
from policyeng import CatalogError, CatalogWarning, FetchSettings
from policyeng.catalog import load_catalog, recent
from policyeng.catalog.response_cache import CatalogCache

QUICK = FetchSettings(retries=0)


@pytest.fixture
def clock(monkeypatch):
    """recent.now, moved by hand: ``clock.now += 60``."""

    class Clock:
        now = time.time() + 1  # a second ahead of the disk cache's clock

    monkeypatch.setattr(recent, "now", lambda: Clock.now)
    return Clock


def test_builtin_is_parsed_once_and_each_caller_gets_its_own_catalog():
    first, second = load_catalog("builtin"), load_catalog("builtin")
    assert first is not second and first.entries is second.entries
    second.stale = True
    assert load_catalog("builtin").stale is False


def test_a_file_is_parsed_again_only_when_it_changes(write_catalog):
    path = write_catalog(CATALOG)
    first, again = load_catalog(str(path)), load_catalog(str(path))
    assert first.entries is again.entries
    path.write_text(json.dumps([model("z", 0)]))
    assert [e["model_name"] for e in load_catalog(str(path))] == ["z"]


def test_skipped_entries_are_warned_on_every_load(write_catalog):
    path = write_catalog([*CATALOG, {"model_name": 5}])
    for _ in range(2):
        with pytest.warns(CatalogWarning, match=r"skipped entry \[4\]"):
            load_catalog(str(path))


def test_a_url_is_answered_from_memory_while_fresh(server):
    server.script("/api/models", reply(200, CATALOG))
    load_catalog(server.url())
    CatalogCache().path_for(server.url()).unlink()  # not even the disk is read again
    for _ in range(20):
        assert len(load_catalog(server.url())) == 4
    assert len(server.hits("/api/models")) == 1


def test_a_failed_fetch_is_not_retried_during_its_back_off(server, clock):
    server.script("/api/models", reply(500, b""), reply(200, CATALOG))
    for _ in range(10):
        with pytest.raises(CatalogError, match=r"HTTP 500 .*; no cached copy"):
            load_catalog(server.url(), settings=QUICK)
    assert len(server.hits("/api/models")) == 1
    clock.now += recent.FIRST_BACKOFF
    assert len(load_catalog(server.url(), settings=QUICK)) == 4
    assert len(server.hits("/api/models")) == 2


def test_the_back_off_doubles_and_honours_retry_after(server, clock):
    server.script("/api/models", reply(503, b"", {"Retry-After": "120"}))
    for expected_hits, wait in [(1, 119), (1, 1), (2, 0)]:
        with pytest.raises(CatalogError):
            load_catalog(server.url(), settings=QUICK)
        assert len(server.hits("/api/models")) == expected_hits
        clock.now += wait
    server.script("/api/models", reply(500, b""))
    clock.now += 120
    for wait, expected_hits in [(0, 3), (19, 3), (1, 4)]:  # the third in a row waits 20 s
        clock.now += wait
        with pytest.raises(CatalogError):
            load_catalog(server.url(), settings=QUICK)
        assert len(server.hits("/api/models")) == expected_hits


def test_during_the_back_off_the_stale_copy_is_served_with_its_warning(server, clock):
    server.script("/api/models", reply(200, CATALOG), reply(500, b""))
    load_catalog(server.url())
    for _ in range(3):
        with pytest.warns(CatalogWarning, match="HTTP 500.*using the cached copy fetched"):
            catalog = load_catalog(server.url(), settings=QUICK, max_age=0)
        assert catalog.stale is True and len(catalog) == 4
    assert len(server.hits("/api/models")) == 2
    with pytest.raises(CatalogError, match="HTTP 500"):
        load_catalog(server.url(), settings=QUICK, fallback=False)


def test_a_naive_loop_on_the_default_chain_tries_the_network_once(server, monkeypatch):
    monkeypatch.setenv("POLICYENG_CATALOG", server.url())
    server.script("/api/models", reply(500, b""))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        picks = {policyeng.select("supports chat").model_name for _ in range(50)}
    assert len(picks) == 1
    assert len(server.hits("/api/models")) == 3  # the first call and its two retries only
    assert all("using builtin" in str(w.message) for w in caught)


def test_refresh_always_fetches_and_refills_the_memory(server):
    server.script("/api/models", reply(200, CATALOG), reply(200, [model("z", 0)]))
    load_catalog(server.url())
    assert [e["model_name"] for e in load_catalog(server.url(), refresh=True)] == ["z"]
    assert [e["model_name"] for e in load_catalog(server.url())] == ["z"]
    assert len(server.hits("/api/models")) == 2


def test_an_unwritable_cache_warns_once_and_keeps_the_copy_in_memory(server, monkeypatch, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("POLICYENG_CACHE_DIR", str(blocker / "cache"))
    server.script("/api/models", with_etag(CATALOG, '"v1"'))
    with pytest.warns(CatalogWarning, match=r"cannot write the catalog cache .*kept in memory"):
        load_catalog(server.url())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no second warning
        for _ in range(3):
            assert len(load_catalog(server.url(), max_age=0)) == 4
    hits = server.hits("/api/models")
    assert len(hits) == 4
    assert all(hit.headers.get("if-none-match") == '"v1"' for hit in hits[1:])


def test_the_live_flag_never_leaks_into_shared_entries():
    catalog = load_catalog("builtin")
    from policyeng.catalog.model import apply_live

    apply_live(catalog, {catalog.entries[0]["model_name"]})
    assert catalog.entries[0]["live"] is True
    assert "live" not in load_catalog("builtin").entries[0]


def run_in_threads(count: int, work) -> list:
    import threading

    results: list = []
    barrier = threading.Barrier(count)

    def run() -> None:
        barrier.wait()
        try:
            results.append(work())
        except Exception as exc:
            results.append(exc)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_sixteen_threads_on_a_failing_url_make_one_request(server):
    server.script("/api/models", reply(500, b""))
    results = run_in_threads(16, lambda: load_catalog(server.url(), settings=QUICK))
    assert all(isinstance(r, CatalogError) and "HTTP 500" in str(r) for r in results)
    assert len(server.hits("/api/models")) == 1


def test_sixteen_threads_with_an_expired_copy_make_one_request(server):
    server.script("/api/models", reply(200, CATALOG))
    CatalogCache().write(server.url(), json.dumps(CATALOG).encode(), fetched_at=time.time() - 3600)
    results = run_in_threads(16, lambda: len(load_catalog(server.url())))
    assert results == [4] * 16
    assert len(server.hits("/api/models")) == 1
