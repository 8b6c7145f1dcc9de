"""The transport's retry schedule: exponential back-off with jitter, Retry-After, the deadline.

The sleeps are recorded instead of slept, so the schedule is asserted exactly.
"""

from __future__ import annotations

import pytest
from catalog_server import reply

from policyeng.catalog.http import FetchSettings, _retry_after, get
from policyeng.errors import CatalogError

SETTINGS = FetchSettings(
    retries=4, backoff=0.5, backoff_max=3.0, retry_after_max=10.0, deadline=60.0
)


def fetch(url: str, settings: FetchSettings = SETTINGS, jitter: float = 1.0):
    waits: list[float] = []
    try:
        response = get(url, settings=settings, sleep=waits.append, jitter=lambda: jitter)
    except CatalogError as exc:
        return exc, waits
    return response, waits


def test_back_off_doubles_and_is_capped(server):
    server.script("/api/models", reply(503))
    error, waits = fetch(server.url())
    assert waits == [0.5, 1.0, 2.0, 3.0]
    assert str(error) == f"catalog {server.url()}: HTTP 503 Service Unavailable (5 attempts)"


def test_jitter_shortens_each_wait_to_between_half_and_all_of_it(server):
    server.script("/api/models", reply(500), reply(500), reply(200, []))
    response, waits = fetch(server.url(), jitter=0.0)
    assert response.status == 200
    assert waits == [0.25, 0.5]


def test_retry_after_seconds_is_honoured(server):
    server.script("/api/models", reply(429, b"", {"Retry-After": "7"}), reply(200, []))
    response, waits = fetch(server.url())
    assert (response.status, waits) == (200, [7.0])


def test_retry_after_is_capped(server):
    server.script("/api/models", reply(429, b"", {"Retry-After": "3600"}), reply(200, []))
    _, waits = fetch(server.url())
    assert waits == [10.0]


def test_a_wait_past_the_deadline_gives_up_at_once(server):
    server.script("/api/models", reply(429, b"", {"Retry-After": "9"}))
    error, waits = fetch(server.url(), FetchSettings(deadline=5.0))
    assert waits == []
    assert str(error).startswith(
        f"catalog {server.url()}: HTTP 429 Too Many Requests; gave up after "
    )
    assert str(error).endswith(" s (the fetch deadline is 5 s)")


def test_too_many_redirects_is_an_error(server):
    from catalog_server import redirect

    server.script("/api/models", redirect("/api/models"))
    error, _ = fetch(server.url(), FetchSettings(max_redirects=2))
    assert str(error) == f"catalog {server.url()}: more than 2 redirects"
    assert len(server.requests) == 3


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("120", 120.0), (None, None), ("soon", None), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)],
)
def test_retry_after_forms(header, seconds):
    assert _retry_after(header) == seconds


def test_a_hanging_name_lookup_is_cut_off_at_the_deadline(monkeypatch):
    import socket
    import threading
    import time

    released = threading.Event()

    def hanging_getaddrinfo(*args, **kwargs):
        released.wait(10)
        raise OSError("lookup released by the test")

    monkeypatch.setattr(socket, "getaddrinfo", hanging_getaddrinfo)
    started = time.monotonic()
    try:
        with pytest.raises(CatalogError) as raised:
            get(
                "http://catalog.invalid/api/models", settings=FetchSettings(deadline=0.3, retries=0)
            )  # no retry after release
    finally:
        released.set()
    assert time.monotonic() - started < 1.5
    assert str(raised.value) == (
        "catalog http://catalog.invalid/api/models: no answer within the 0.3 s fetch deadline "
        "(stuck resolving the host name or connecting)"
    )
