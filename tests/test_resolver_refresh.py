"""The refresh thread against a real server on 127.0.0.1: conditional requests, faults,
back-off and Retry-After (on a ManualClock), stale flags, max_stale, concurrency."""

from __future__ import annotations

import threading
import time

import pytest
from catalog_server import held, reply, truncated, with_etag
from resolver_helpers import CATALOG, POLICIES, body, model, wait_until

from policyeng import CatalogError, CatalogWarning, FetchSettings, Resolver
from policyeng.runtime.clock import ManualClock

CATALOG_B = [
    model("b", 2),
    model("c", 3),
    model("e", 1, supports=("embeddings",), category="embedding"),
]


@pytest.fixture
def policies(write):
    return write("policies/main.yaml", POLICIES)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def resolver_for(server, policies, clock, **kwargs) -> Resolver:
    kwargs.setdefault("refresh", 60)
    return Resolver(policies, catalog=server.url(), clock=clock, jitter=lambda: 1.0, **kwargs)


def failures(resolver: Resolver) -> int:
    return resolver.status()["refresh_failures"]


def test_refresh_is_a_conditional_request_and_a_304_keeps_the_catalog(server, policies, clock):
    server.script("/api/models", with_etag(CATALOG, '"v1"'))
    with resolver_for(server, policies, clock) as resolver:
        sha = resolver.status()["catalog"]["sha256"]
        status = resolver.refresh()
    hits = server.hits("/api/models")
    assert len(hits) == 2
    assert hits[1].headers["if-none-match"] == '"v1"'
    assert status["state"] == "ready" and status["refreshes"] == 1
    assert status["catalog"]["sha256"] == sha


def test_the_thread_refreshes_every_interval(server, policies, clock):
    server.script("/api/models", reply(200, CATALOG), reply(200, CATALOG_B))
    with resolver_for(server, policies, clock) as resolver:
        assert resolver.select("chat").model_name == "a"
        assert resolver.next_refresh_in == pytest.approx(60)
        clock.advance(59)
        clock.advance(1)
        wait_until(lambda: resolver.status()["refreshes"] == 1)
        assert resolver.select("chat").model_name == "b"
        assert resolver.next_refresh_in == pytest.approx(60)
    assert len(server.hits("/api/models")) == 2


def test_refresh_intervals_are_jittered_by_ten_percent(server, policies, clock):
    server.script("/api/models", reply(200, CATALOG))
    factors = iter([1.1, 0.9])
    with Resolver(
        policies, catalog=server.url(), clock=clock, refresh=100, jitter=lambda: next(factors)
    ) as resolver:
        assert resolver.next_refresh_in == pytest.approx(110)
        resolver.refresh()
        assert resolver.next_refresh_in == pytest.approx(90)


def test_failures_back_off_exponentially_up_to_refresh(server, policies, clock):
    server.script("/api/models", reply(200, CATALOG), reply(500, b"down"))
    with resolver_for(server, policies, clock, refresh=10) as resolver:
        clock.advance(10)
        delays = []
        for count in range(1, 7):
            wait_until(lambda count=count: failures(resolver) == count)
            delays.append(resolver.next_refresh_in)
            clock.advance(delays[-1])
        selection = resolver.select("chat")
        status = resolver.status()
    assert delays == [1, 2, 4, 8, 10, 10]
    assert (selection.model_name, selection.stale) == ("a", True)
    # every view of the selection says so, as select --json and the server show it
    assert selection.catalog["stale"] is True and selection.to_dict()["catalog"]["stale"] is True
    assert status["state"] == "stale" and status["catalog"]["stale"] is True
    assert status["last_error"].startswith("catalog http://127.0.0.1:")
    assert "HTTP 500" in status["last_error"]


def test_retry_after_is_honoured(server, policies, clock):
    server.script(
        "/api/models", reply(200, CATALOG), reply(429, b"slow down", {"Retry-After": "120"})
    )
    with resolver_for(server, policies, clock) as resolver:
        status = resolver.refresh()
        assert status["refresh_failures"] == 1
        assert resolver.next_refresh_in == pytest.approx(120)
        clock.advance(119)
        assert len(server.hits("/api/models")) == 2  # nothing sent before the time is up
        clock.advance(1)
        wait_until(lambda: failures(resolver) == 2)


@pytest.mark.parametrize(
    "bad",
    [
        reply(500, b"oops"),
        reply(503, b""),
        reply(200, b'{"data": []}'),
        reply(200, b"[]"),
        reply(200, b"<html>maintenance</html>"),
        truncated(body(CATALOG_B)[:40], declared=len(body(CATALOG_B))),
    ],
    ids=["500", "503", "object", "empty-array", "html", "truncated"],
)
def test_a_bad_refresh_never_replaces_the_last_good_catalog(server, policies, clock, bad):
    server.script("/api/models", reply(200, CATALOG), bad)
    with resolver_for(server, policies, clock) as resolver:
        sha = resolver.status()["catalog"]["sha256"]
        status = resolver.refresh()
        assert status["catalog"]["sha256"] == sha
        assert status["state"] == "stale" and status["refresh_failures"] == 1
        assert resolver.select("chat").model_name == "a"


def test_flapping_source_fires_one_change_per_real_change(server, policies, clock):
    server.script(
        "/api/models",
        reply(200, CATALOG),
        reply(500, b""),
        reply(200, CATALOG_B),
        reply(500, b""),
        reply(200, CATALOG_B),
    )
    with resolver_for(server, policies, clock) as resolver:
        changes = []
        resolver.on_change(changes.append)
        for _ in range(4):
            resolver.refresh()
        assert resolver.select("chat").model_name == "b"
    assert [(c.name, c.old, c.new, c.reason) for c in changes] == [("chat", "a", "b", "removed")]


def test_a_raising_callback_is_logged_and_the_thread_goes_on(server, policies, clock, caplog):
    server.script("/api/models", reply(200, CATALOG), reply(200, CATALOG_B), reply(200, CATALOG))
    with resolver_for(server, policies, clock) as resolver:
        seen = []

        def broken(change):
            raise RuntimeError("callback bug")

        resolver.on_change(broken)
        resolver.on_change(seen.append)
        clock.advance(60)
        wait_until(lambda: resolver.status()["refreshes"] == 1)
        clock.advance(60)
        wait_until(lambda: resolver.status()["refreshes"] == 2)
        assert resolver._thread.is_alive()
    assert [(c.old, c.new) for c in seen] == [("a", "b"), ("b", "a")]
    assert "an on_change callback raised (ignored)" in caplog.text
    assert "RuntimeError: callback bug" in caplog.text


def test_max_stale_fails_closed_and_recovers(server, policies, clock):
    server.script("/api/models", reply(200, CATALOG), reply(500, b""))
    with resolver_for(server, policies, clock, max_stale=100) as resolver:
        clock.advance(60)
        wait_until(lambda: failures(resolver) == 1)
        assert resolver.select("chat").stale is True
        resolver.refresh()  # fails again; the deadline still counts from the last success
        clock.advance(39)  # past the back-off: the thread tries (and fails) once more
        wait_until(lambda: failures(resolver) == 3)
        assert resolver.select("chat").model_name == "a"
        clock.advance(1.5)
        with pytest.raises(CatalogError, match=r"could not be refreshed for over 100 s"):
            resolver.select("chat")
        assert resolver.status()["state"] == "failed"
        server.script("/api/models", reply(200, CATALOG))
        resolver.refresh()
        assert resolver.status()["state"] == "ready"
        assert resolver.select("chat").stale is False


def test_start_falls_back_stale_then_the_thread_recovers(server, policies, clock, monkeypatch):
    monkeypatch.setenv("POLICYENG_CATALOG", server.url())
    server.script("/api/models", reply(500, b""), reply(200, CATALOG))
    resolver = Resolver(
        policies, clock=clock, jitter=lambda: 1.0, settings=FetchSettings(retries=0)
    )
    with pytest.warns(CatalogWarning, match="using builtin"):
        resolver.start()
    with resolver:
        assert resolver.status()["state"] == "stale"
        assert resolver.status()["catalog"]["source"] == "builtin"
        assert resolver.next_refresh_in == pytest.approx(1)
        clock.advance(1)
        wait_until(lambda: resolver.status()["refreshes"] == 1)
        status = resolver.status()
        assert status["state"] == "ready"
        assert status["catalog"]["source"] == server.url()
        assert resolver.select("chat").model_name == "a"


def test_a_stalled_source_never_delays_select_and_refreshes_never_overlap(server, policies, clock):
    release = threading.Event()
    server.script("/api/models", reply(200, CATALOG), held(release, reply(200, CATALOG_B)))
    resolver = resolver_for(
        server, policies, clock, settings=FetchSettings(retries=0, read_timeout=30, deadline=30)
    )
    with resolver:
        clock.advance(60)
        wait_until(lambda: len(server.hits("/api/models")) == 2)  # the thread is stuck
        answers = []

        def select_many() -> None:
            answers.extend(resolver.select("chat").model_name for _ in range(200))

        threads = [threading.Thread(target=select_many) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        assert answers == ["a"] * 3200  # all answered while the fetch hangs
        waiter = threading.Thread(target=resolver.refresh)
        waiter.start()  # waits for the stuck refresh instead of starting another
        release.set()
        waiter.join(10)
        assert not waiter.is_alive()
        assert resolver.select("chat").model_name == "b"
    assert len(server.hits("/api/models")) == 2


def test_one_request_per_refresh_however_many_select(server, policies, clock):
    server.script("/api/models", reply(200, CATALOG))
    with resolver_for(server, policies, clock) as resolver:
        clock.advance(120)  # the copy is past its refresh time
        barrier = threading.Barrier(100)

        def select() -> None:
            barrier.wait()
            resolver.select("chat")

        threads = [threading.Thread(target=select) for _ in range(100)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wait_until(lambda: resolver.status()["refreshes"] == 1)
    assert len(server.hits("/api/models")) == 2  # the first load, and one refresh


def test_sixteen_threads_hammer_select_during_flapping_refreshes(server, policies, clock):
    faults = [
        reply(500, b""),
        truncated(body(CATALOG)[:30], declared=len(body(CATALOG))),
        reply(200, b"[]"),
    ]
    script = [reply(200, CATALOG)]
    for round_ in range(6):
        script += [reply(200, CATALOG_B), faults[round_ % 3], reply(200, CATALOG)]
    server.script("/api/models", *script)
    valid = {"a", "b"}  # chat's pick in each catalog served
    with resolver_for(server, policies, clock) as resolver:
        stop = threading.Event()
        answers: set[str] = set()
        errors: list[BaseException] = []

        def hammer() -> None:
            try:
                while not stop.is_set():
                    answers.add(resolver.select("chat").model_name)
                    answers.add(resolver.select("backup").model_name)
                    time.sleep(0.0002)  # leave the refreshing threads some of the GIL
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=hammer) for _ in range(16)]
        for thread in threads:
            thread.start()
        for _ in range(18):
            resolver.refresh()
        stop.set()
        for thread in threads:
            thread.join()
        status = resolver.status()
    assert not errors
    assert answers <= valid | {"e"} and {"a", "b", "e"} <= answers
    assert status["refreshes"] == 12 and status["refresh_failures"] == 6


def test_close_does_not_wait_for_a_stalled_fetch_and_drops_its_result(server, policies, clock):
    release = threading.Event()
    server.script("/api/models", reply(200, CATALOG), held(release, reply(200, CATALOG_B)))
    resolver = resolver_for(
        server, policies, clock, settings=FetchSettings(retries=0, read_timeout=30, deadline=30)
    )
    resolver.start()
    clock.advance(60)
    wait_until(lambda: len(server.hits("/api/models")) == 2)
    thread = resolver._thread
    resolver.close()  # returns although the fetch is still held by the server
    assert thread.is_alive() and not release.is_set()
    release.set()
    wait_until(lambda: not thread.is_alive())
    status = resolver.status()
    assert status["refreshes"] == 0 and status["catalog"]["models"] == 4


def test_invalid_entries_in_a_refresh_are_skipped_and_logged(server, policies, clock, caplog):
    server.script(
        "/api/models",
        reply(200, CATALOG),
        reply(200, [*CATALOG_B, {"model_name": "bad", "output_per_mtok": -1}]),
    )
    with resolver_for(server, policies, clock) as resolver:
        status = resolver.refresh()  # warnings are errors in this test suite: none is raised
        assert status["refreshes"] == 1 and status["catalog"]["models"] == 3
        assert resolver.select("chat").model_name == "b"
    assert "skipped 1 invalid entry: entry [3] 'bad': output_per_mtok" in caplog.text
