"""URL sources against a real server on 127.0.0.1: cache, revalidation, faults, live list."""

from __future__ import annotations

import hashlib
import json
import time

import pytest
from catalog_server import (
    endless,
    redirect,
    reply,
    stall,
    trickle,
    truncated,
    with_etag,
)

import policyeng
from policyeng.catalog import load_catalog
from policyeng.catalog.http import FetchSettings
from policyeng.catalog.response_cache import CatalogCache
from policyeng.errors import CatalogError, CatalogWarning, PolicyError, UsageError


def entry(name: str, price: float, **extra) -> dict:
    return {
        "model_name": name,
        "category": "text",
        "supports": ["chat", "tool_use"],
        "input_per_mtok": price,
        "output_per_mtok": price,
        "health_status": "healthy",
        **extra,
    }


CATALOG_A = [entry("alpha-chat", 0.5), entry("beta-chat", 0.2)]
CATALOG_B = [entry("gamma-chat", 0.1), entry("alpha-chat", 0.5)]
BODY_A = json.dumps(CATALOG_A).encode()

#: Tiny timeouts and back-offs: every fault below resolves in well under a second.
FAST = FetchSettings(
    connect_timeout=0.5,
    read_timeout=0.3,
    retries=2,
    backoff=0.01,
    backoff_max=0.02,
    retry_after_max=0.05,
    deadline=3.0,
)


def load(url: str, **options):
    options.setdefault("settings", FAST)
    return load_catalog(url, **options)


def cached_sha(url: str) -> str | None:
    entry = CatalogCache().read(url)
    return entry.sha256 if entry else None


def prime_cache(server, url):
    """A good catalog fetched once, then stale (max_age=0 in the calls that follow)."""
    server.script("/api/models", reply(200, CATALOG_A))
    load(url)
    return hashlib.sha256(BODY_A).hexdigest()


# --- the cache and conditional requests -------------------------------------------------------


def test_etag_then_304_reuses_the_cached_body(server):
    server.script(
        "/api/models", with_etag(CATALOG_A, '"v1"', last_modified="Tue, 24 Nov 2026 10:00:00 GMT")
    )
    first = load(server.url())
    assert first.origin == "network (HTTP 200)"
    assert [e["model_name"] for e in first] == ["alpha-chat", "beta-chat"]
    before = CatalogCache().read(server.url())
    second = load(server.url(), max_age=0)
    assert second.origin == "cache (revalidated: 304)"
    assert second.sha256 == first.sha256 == hashlib.sha256(BODY_A).hexdigest()
    assert CatalogCache().read(server.url()).fetched_at > before.fetched_at  # confirmed now
    assert (before.etag, before.body) == ('"v1"', BODY_A)
    assert not second.stale
    revalidation = server.hits("/api/models")[1]
    assert revalidation.headers["if-none-match"] == '"v1"'
    assert revalidation.headers["if-modified-since"] == "Tue, 24 Nov 2026 10:00:00 GMT"
    assert "if-none-match" not in server.hits("/api/models")[0].headers


def test_fresh_cache_answers_without_a_request(server):
    server.script("/api/models", reply(200, CATALOG_A))
    load(server.url())
    again = load(server.url(), max_age=600)
    assert again.origin == "cache (fresh)"
    assert len(server.hits("/api/models")) == 1


def test_refresh_fetches_even_when_the_cache_is_fresh(server):
    server.script("/api/models", reply(200, CATALOG_A), reply(200, CATALOG_B))
    load(server.url())
    refreshed = load(server.url(), refresh=True)
    assert refreshed.origin == "network (HTTP 200)"
    assert [e["model_name"] for e in refreshed] == ["gamma-chat", "alpha-chat"]
    assert cached_sha(server.url()) == refreshed.sha256


def test_a_new_200_replaces_the_cache(server):
    server.script("/api/models", reply(200, CATALOG_A), reply(200, CATALOG_B))
    load(server.url())
    load(server.url(), max_age=0)
    assert CatalogCache().read(server.url()).body == json.dumps(CATALOG_B).encode()


def test_offline_serves_a_named_url_from_its_cache_without_a_request(server):
    server.script("/api/models", reply(200, CATALOG_A))
    load(server.url())
    with pytest.warns(CatalogWarning) as caught:
        catalog = load(server.url(), offline=True, max_age=0)
    assert catalog.stale and catalog.origin == "cache (offline)"
    assert len(server.hits("/api/models")) == 1
    assert str(caught[0].message).startswith(
        f"catalog {server.url()}: offline; using the cached copy fetched "
    )


def test_offline_without_a_cache_is_an_error_for_a_named_url(server):
    with pytest.raises(CatalogError) as raised:
        load(server.url(), offline=True)
    assert str(raised.value) == f"catalog {server.url()}: offline, and no cached copy"
    assert server.requests == []


def test_offline_refuses_refresh_and_live(server):
    with pytest.raises(UsageError, match=r"^--refresh needs the network"):
        load(server.url(), offline=True, refresh=True)
    with pytest.raises(UsageError, match=r"^--live needs the network"):
        load(server.url(), offline=True, live=True)


# --- retries -----------------------------------------------------------------------------------


def test_500_twice_then_200_succeeds_on_the_third_attempt(server):
    server.script("/api/models", reply(500, b"oops"), reply(500, b"oops"), reply(200, CATALOG_A))
    catalog = load(server.url())
    assert catalog.origin == "network (HTTP 200)"
    assert len(server.hits("/api/models")) == 3


def test_retries_are_bounded(server):
    server.script("/api/models", reply(503, b"busy"))
    with pytest.raises(CatalogError) as raised:
        load(server.url())
    assert str(raised.value) == (
        f"catalog {server.url()}: HTTP 503 Service Unavailable (3 attempts); no cached copy"
    )
    assert len(server.hits("/api/models")) == 3


def test_429_with_retry_after_is_retried(server):
    server.script(
        "/api/models", reply(429, b"slow down", {"Retry-After": "0"}), reply(200, CATALOG_A)
    )
    assert load(server.url()).origin == "network (HTTP 200)"
    assert len(server.hits("/api/models")) == 2


def test_a_404_is_not_retried(server):
    with pytest.raises(CatalogError, match=r"HTTP 404 Not Found; no cached copy$"):
        load(server.url("/nowhere"))
    assert len(server.requests) == 1


def test_connection_refused_is_retried_then_reported(server):
    url = server.url()
    server.stop()
    with pytest.raises(CatalogError) as raised:
        load(url)
    assert str(raised.value).startswith(f"catalog {url}: cannot connect: ")
    assert str(raised.value).endswith("(3 attempts); no cached copy")


# --- stalls, truncation, size ------------------------------------------------------------------


def test_a_stalled_server_times_out_within_the_bound(server):
    server.script("/api/models", stall(server))
    started = time.monotonic()
    with pytest.raises(CatalogError) as raised:
        load(server.url())
    elapsed = time.monotonic() - started
    assert str(raised.value) == (
        f"catalog {server.url()}: no data for 0.3 s (read timeout); no cached copy"
    )
    assert elapsed < 1.5  # one read timeout: timeouts are not retried
    assert len(server.hits("/api/models")) == 1


def test_a_trickling_server_is_cut_off_at_the_deadline(server):
    server.script("/api/models", trickle(server, interval=0.02))
    settings = FetchSettings(read_timeout=0.3, retries=0, deadline=0.5)
    started = time.monotonic()
    with pytest.raises(CatalogError, match=r"gave up after 0\.5 s with \d+ bytes received"):
        load(server.url(), settings=settings)
    assert time.monotonic() - started < 1.5


def test_a_truncated_body_is_retried_then_reported_and_not_cached(server):
    server.script("/api/models", truncated(BODY_A[:10], declared=len(BODY_A)))
    with pytest.raises(CatalogError) as raised:
        load(server.url())
    assert str(raised.value) == (
        f"catalog {server.url()}: connection broken: peer closed connection without sending "
        f"complete message body (received 10 bytes, expected {len(BODY_A)}) (3 attempts); "
        "no cached copy"
    )
    assert CatalogCache().read(server.url()) is None


def test_an_oversized_body_is_cut_off_while_streaming(server):
    server.script("/api/models", endless(server, total=64 * 1024 * 1024))
    settings = FetchSettings(max_bytes=1024 * 1024, retries=0)
    with pytest.raises(CatalogError) as raised:
        load(server.url(), settings=settings)
    assert str(raised.value) == (
        f"catalog {server.url()}: response is over the 1.0 MiB limit; cut off; no cached copy"
    )
    time.sleep(0.2)
    assert server.bytes_sent < 32 * 1024 * 1024  # the client hung up long before the end


def test_a_declared_oversized_body_is_refused_before_reading(server):
    server.script("/api/models", endless(server, total=8 * 1024 * 1024, declare=True))
    settings = FetchSettings(max_bytes=1024 * 1024, retries=0)
    with pytest.raises(CatalogError, match=r"response is 8\.0 MiB, over the 1\.0 MiB limit"):
        load(server.url(), settings=settings)


# --- bad bodies never replace a good cache -----------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'[{"model_name": "x"', "invalid JSON at line 1, column 20: Expecting ',' delimiter"),
        (
            b'{"data": []}',
            "expected a JSON array of models (the /api/models shape), got a JSON object",
        ),
        (
            b'[{"model_name": ""}, {"supports": "chat"}]',
            "response holds no valid model entries (2 invalid)",
        ),
        (b"[]", "response holds no models"),
    ],
    ids=["invalid-json", "json-object", "no-valid-entry", "empty-array"],
)
def test_a_bad_body_falls_back_to_the_good_cache(server, body, reason):
    good = prime_cache(server, server.url())
    server.script("/api/models", reply(200, body))
    with pytest.warns(CatalogWarning) as caught:
        catalog = load(server.url(), max_age=0)
    assert catalog.stale and catalog.origin == "cache (stale)"
    assert catalog.sha256 == good == cached_sha(server.url())
    [warning] = caught
    assert str(warning.message).startswith(
        f"catalog {server.url()}: {reason}; using the cached copy fetched "
    )
    assert str(warning.message).endswith(" s old)")


def test_no_fallback_makes_a_bad_body_an_error_and_keeps_the_cache(server):
    good = prime_cache(server, server.url())
    server.script("/api/models", reply(200, b"not json"))
    with pytest.raises(CatalogError, match=r"invalid JSON at line 1, column 1"):
        load(server.url(), max_age=0, fallback=False)
    assert cached_sha(server.url()) == good


def test_skipped_entries_of_a_fresh_response_warn_once_each(server):
    server.script("/api/models", reply(200, [*CATALOG_A, {"model_name": 3}]))
    with pytest.warns(CatalogWarning) as caught:
        catalog = load(server.url())
    assert [str(w.message) for w in caught] == [
        f"catalog {server.url()}: skipped entry [2]: model_name: 3 is not of type 'string'"
    ]
    assert len(catalog) == 2


# --- redirects and the key ---------------------------------------------------------------------


def test_a_redirect_is_followed_for_the_catalog(server, other_server):
    other_server.script("/api/models", reply(200, CATALOG_A))
    server.script("/api/models", redirect(other_server.url()))
    catalog = load(server.url())
    assert [e["model_name"] for e in catalog] == ["alpha-chat", "beta-chat"]
    assert catalog.source == server.url()


def test_the_key_never_follows_a_redirect_to_another_port(server, other_server, monkeypatch):
    monkeypatch.setenv("FLEXAI_API_KEY", "sk-test-secret")
    server.script("/api/models", reply(200, CATALOG_A))
    server.script("/v1/models", redirect(other_server.url("/v1/models")))
    other_server.script("/v1/models", reply(200, {"object": "list", "data": []}))
    load(server.url(), live=True)
    [asked] = server.hits("/v1/models")
    [redirected] = other_server.hits("/v1/models")
    assert asked.headers["authorization"] == "Bearer sk-test-secret"
    assert "authorization" not in redirected.headers


def test_the_key_is_never_sent_over_plain_http_off_this_machine():
    from policyeng.catalog.http import get

    with pytest.raises(CatalogError) as raised:
        get("http://models.example/v1/models", settings=FAST, bearer="sk-test-secret")
    assert str(raised.value) == (
        "catalog http://models.example/v1/models: refusing to send FLEXAI_API_KEY over plain http"
    )


# --- the live list -----------------------------------------------------------------------------

LIVE = {"object": "list", "data": [{"id": "beta-chat", "object": "model", "category": "text"}]}


def test_live_list_with_a_key_sets_live_on_every_entry(server, monkeypatch):
    monkeypatch.setenv("FLEXAI_API_KEY", "sk-test-secret")
    server.script("/api/models", reply(200, CATALOG_A))
    server.script("/v1/models", reply(200, LIVE))
    catalog = load(server.url(), live=True)
    assert catalog.live_known
    assert {e["model_name"]: e["live"] for e in catalog} == {"alpha-chat": False, "beta-chat": True}
    assert policyeng.select("live and supports chat", catalog).model_name == "beta-chat"
    assert server.hits("/v1/models")[0].headers["authorization"] == "Bearer sk-test-secret"


def test_live_list_without_a_key_sends_no_authorization(server):
    server.script("/api/models", reply(200, CATALOG_A))
    server.script("/v1/models", reply(200, LIVE))
    catalog = load(server.url(), live=True)
    assert catalog.get("beta-chat")["live"] is True
    assert "authorization" not in server.hits("/v1/models")[0].headers


def test_401_without_a_key_says_the_key_is_missing(server):
    server.script("/api/models", reply(200, CATALOG_A))
    server.script("/v1/models", reply(401, b"unauthorized"))
    with pytest.raises(CatalogError) as raised:
        load(server.url(), live=True)
    assert str(raised.value) == (
        f"catalog {server.url('/v1/models')}: HTTP 401 Unauthorized: FLEXAI_API_KEY is not set"
    )


def test_401_with_a_key_says_it_was_refused_without_printing_it(server, monkeypatch):
    monkeypatch.setenv("FLEXAI_API_KEY", "sk-test-secret")
    server.script("/api/models", reply(200, CATALOG_A))
    server.script("/v1/models", reply(401, b"unauthorized"))
    with pytest.raises(CatalogError) as raised:
        load(server.url(), live=True)
    assert str(raised.value) == (
        f"catalog {server.url('/v1/models')}: HTTP 401 Unauthorized: the key in FLEXAI_API_KEY "
        "was refused (wrong or expired?)"
    )


def test_a_live_list_in_the_wrong_shape_is_an_error(server):
    server.script("/api/models", reply(200, CATALOG_A))
    server.script("/v1/models", reply(200, [{"id": "beta-chat"}]))
    with pytest.raises(CatalogError, match=r'expected the OpenAI list shape \{"object": "list"'):
        load(server.url(), live=True)


def test_a_policy_using_live_without_the_live_list_is_an_error(server):
    server.script("/api/models", reply(200, CATALOG_A))
    with pytest.raises(PolicyError, match="loaded without the live list"):
        policyeng.select("live", load(server.url()))


def test_the_key_is_never_written_to_the_cache(server, monkeypatch, tmp_path):
    monkeypatch.setenv("POLICYENG_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("FLEXAI_API_KEY", "sk-test-secret")
    server.script("/api/models", reply(200, CATALOG_A))
    server.script("/v1/models", reply(200, LIVE))
    load(server.url(), live=True)
    files = [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert any(p.suffix == ".catalog" for p in files)
    assert all(b"sk-test-secret" not in p.read_bytes() for p in files)


# --- the default chain -------------------------------------------------------------------------


def test_default_chain_reads_policyeng_catalog_then_falls_back_to_builtin(server, monkeypatch):
    url = server.url()
    server.stop()
    monkeypatch.setenv("POLICYENG_CATALOG", url)
    with pytest.warns(CatalogWarning) as caught:
        catalog = load_catalog(settings=FAST)
    assert catalog.source == "builtin" and catalog.stale
    assert catalog.origin == "builtin (fallback)"
    [warning] = caught
    assert "; no cached copy; using builtin (snapshot of 2026-11-20, " in str(warning.message)


def test_default_chain_uses_the_policy_file_source_when_the_env_is_unset(server, monkeypatch):
    monkeypatch.delenv("POLICYENG_CATALOG")
    server.script("/api/models", reply(200, CATALOG_A))
    catalog = load_catalog(default=server.url(), settings=FAST)
    assert catalog.source == server.url()


def test_default_chain_offline_never_touches_the_network(monkeypatch):
    monkeypatch.delenv("POLICYENG_CATALOG")
    monkeypatch.setenv("POLICYENG_OFFLINE", "1")
    with pytest.warns(CatalogWarning) as caught:
        catalog = load_catalog()
    assert catalog.source == "builtin"
    assert str(caught[0].message).startswith(
        "catalog https://tokens.flex.ai/api/models: offline, and no cached copy; "
        "using builtin (snapshot of 2026-11-20, "
    )


def test_no_fallback_in_the_default_chain_is_an_error(server, monkeypatch):
    url = server.url()
    server.stop()
    monkeypatch.setenv("POLICYENG_CATALOG", url)
    with pytest.raises(CatalogError, match=r"cannot connect: .* \(3 attempts\); no cached copy$"):
        load_catalog(settings=FAST, fallback=False)


def test_selection_catalog_tells_source_sha_time_and_staleness(server):
    server.script("/api/models", reply(200, CATALOG_A))
    selection = policyeng.select("supports chat order by output_per_mtok", load(server.url()))
    info = selection.catalog
    assert info["source"] == server.url()
    assert info["sha256"] == hashlib.sha256(BODY_A).hexdigest()
    assert info["fetched_at"].endswith("+00:00")
    assert info["stale"] is False
    assert selection.model_name == "beta-chat"
