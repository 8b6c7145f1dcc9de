"""The decision server over real HTTP: every route, status code and error shape."""

from __future__ import annotations

import io
import json
import socket
import threading

import httpx
import pytest
from catalog_server import reply, send
from conftest import ROOT
from prometheus_client.parser import text_string_to_metric_families
from resolver_helpers import CATALOG, wait_until
from resolver_helpers import POLICIES as POLICY_FILE
from serving import RunningApp

from policyeng.runtime.clock import ManualClock
from policyeng.runtime.resolver import Resolver
from policyeng.runtime.server import MAX_BODY, create_app

POLICIES = str(ROOT / "policies")


@pytest.fixture
def serve():
    """``serve(resolver=None, **create_app options)`` -> a running server; stopped after."""
    running = []

    def start(resolver=None, wait=True, **options):
        resolver = resolver or Resolver(POLICIES, catalog="builtin")
        app = RunningApp(create_app(resolver, **options)).__enter__()
        client = httpx.Client(base_url=app.url(""), timeout=10)
        running.append((app, client))
        if wait:
            wait_ready(client)
        return client

    yield start
    for app, client in running:
        client.close()
        app.__exit__(None, None, None)


@pytest.fixture(scope="module")
def shared():
    """One server for the tests that change nothing in it (no reports, no counts)."""
    resolver = Resolver(POLICIES, catalog="builtin")
    with (
        RunningApp(create_app(resolver)) as app,
        httpx.Client(base_url=app.url(""), timeout=10) as client,
    ):
        wait_ready(client)
        yield client


def wait_ready(client: httpx.Client) -> None:
    import time

    deadline = time.monotonic() + 10
    while client.get("/readyz").status_code != 200:
        assert time.monotonic() < deadline, client.get("/readyz").text
        time.sleep(0.02)


def metric(client: httpx.Client, name: str, **labels) -> float | None:
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return None


def test_policies_lists_every_policy_with_its_text_and_description(shared):
    client = shared
    answer = client.get("/v1/policies")
    assert answer.status_code == 200
    listed = {p["name"]: p for p in answer.json()["policies"]}
    assert listed["support-chat"]["policy"].startswith("supports tool_use and output_per_mtok < 1")
    assert listed["support-chat"]["description"].startswith("Cheapest healthy tool-calling")
    assert set(listed["support-chat"]) == {"name", "policy", "description"}


def test_select_by_name_answers_the_select_json_object_with_a_decision_id(shared):
    client = shared
    answer = client.get("/v1/select/support-chat")
    assert answer.status_code == 200
    data = answer.json()
    assert {
        "model_name",
        "endpoint",
        "category",
        "policy",
        "via",
        "candidates",
        "catalog",
        "decision_id",
        "degraded",
        "url",
        "base_url",
    } <= set(data)
    assert data["policy"] == "support-chat" and data["degraded"] is False
    assert data["endpoint"] == "/v1/chat/completions"
    assert data["url"] == "https://tokens.flex.ai/v1/chat/completions"
    assert data["base_url"] == "https://tokens.flex.ai/v1"
    assert len(data["decision_id"]) == 32
    assert len(data["catalog"]["sha256"]) == 64 and data["catalog"]["source"] == "builtin"
    assert 1 <= len(data["candidates"]) <= 10
    assert data["candidates"][0]["model_name"] == data["model_name"]
    again = client.get("/v1/select/support-chat").json()
    assert again["decision_id"] != data["decision_id"]


def test_top_bounds_the_candidates_and_zero_means_none(shared):
    client = shared
    assert client.get("/v1/select/general-chat?top=0").json()["candidates"] == []
    assert len(client.get("/v1/select/general-chat?top=2").json()["candidates"]) == 2
    for bad in ("-1", "two", "1" * 30):
        answer = client.get(f"/v1/select/general-chat?top={bad}")
        assert answer.status_code == 400
        assert answer.json()["error"]["field"] == "top"


def test_an_unknown_policy_name_is_404_with_did_you_mean(shared):
    client = shared
    answer = client.get("/v1/select/support-chatt")
    assert answer.status_code == 404
    assert answer.json() == {
        "error": {
            "kind": "unknown-policy",
            "message": "no policy named 'support-chatt'; did you mean 'support-chat'?",
        }
    }
    far = client.get("/v1/select/zzz").json()["error"]["message"]
    assert far == "no policy named 'zzz'; GET /v1/policies lists them"


def test_post_select_answers_an_expression(shared):
    client = shared
    answer = client.post(
        "/v1/select", json={"policy": "supports chat order by model_name", "top": 1}
    )
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert data["policy"] == "supports chat order by model_name"
    assert len(data["candidates"]) == 1 and len(data["decision_id"]) == 32
    named = client.post("/v1/select", json={"policy": "support-chat"})
    assert named.status_code == 200 and named.json()["policy"] == "support-chat"
    typo = client.post("/v1/select", json={"policy": "support-chatt"})
    assert typo.status_code == 404
    assert "did you mean 'support-chat'?" in typo.json()["error"]["message"]


def test_a_bad_expression_is_400_with_kind_message_line_and_column(shared):
    client = shared
    answer = client.post("/v1/select", json={"policy": "supports chat and\n  output_per_mtok <"})
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["kind"] == "syntax" and error["line"] == 2 and error["column"] >= 3
    assert error["message"]
    unknown = client.post("/v1/select", json={"policy": "supprts chat"}).json()["error"]
    assert unknown["line"] == 1 and unknown["column"] == 1


def test_policy_text_over_the_language_limit_is_rejected_like_on_the_command_line(shared):
    client = shared
    long = client.post("/v1/select", json={"policy": "healthy and " * 1000 + "healthy"})
    assert long.status_code == 400 and long.json()["error"]["kind"] == "limit"
    deep = client.post("/v1/select", json={"policy": "not " * 150 + "healthy"})
    assert deep.status_code == 400 and deep.json()["error"]["kind"] == "limit"


def test_a_long_policy_name_is_a_limit_error_not_an_unknown_name_echoed_whole(shared):
    client = shared
    answer = client.post("/v1/select", json={"policy": "x" * 20_000})
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["kind"] == "limit"
    assert error["message"] == "policy is 20,000 characters long; the limit is 10,000"
    assert len(answer.text) < 500


def test_error_messages_echo_only_a_short_escaped_prefix_of_user_text(shared):
    client = shared
    named = client.get("/v1/select/" + "y" * 5000 + "%1b")
    assert named.status_code == 404
    message = named.json()["error"]["message"]
    assert message.startswith("no policy named '" + "y" * 40 + "'... (5,001 characters)")
    assert len(named.text) < 500 and "\x1b" not in named.text
    name = "z" * 9000 + "\u001b"
    unknown = client.post("/v1/select", content=f'{{"{name}": 1}}'.encode())
    assert unknown.status_code == 400 and len(unknown.text) < 500
    twice = client.post("/v1/select", content=f'{{"{name}": 1, "{name}": 2}}'.encode())
    assert twice.status_code == 400 and len(twice.text) < 500


@pytest.mark.parametrize("policy", ["a" * 9000 + " > 1", "provider == " + "Q" * 9000])
def test_an_unknown_field_is_named_by_a_short_prefix(shared, policy):
    answer = shared.post("/v1/select", json={"policy": policy})
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["kind"] == "unknown-field"
    assert "'... (9,000 characters)" in error["message"]
    assert len(answer.text) < 600


def test_no_match_is_422_naming_the_funnel(shared):
    client = shared
    answer = client.post("/v1/select", json={"policy": "output_per_mtok < 0"})
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["kind"] == "no-match" and "no model matches" in error["message"]
    assert len(error["decision_id"]) == 32


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        (b"{", None, "not JSON"),
        (b"[1]", None, "must be a JSON object, not an array"),
        (b'{"policy": 1}', "policy", "field 'policy' must be a string, not a number"),
        (b'{"policy": "healthy", "top": true}', "top", "must be a whole number, not true/false"),
        (b'{"policy": "healthy", "top": -1}', "top", "0 or more"),
        (b'{"policy": "healthy", "top": 1.5}', "top", "must be a whole number, not a number"),
        (b'{"policy": "healthy", "top": NaN}', None, "NaN"),
        (b'{"policy": "healthy", "top": 1' + b"0" * 5000 + b"}", None, "5001 digits"),
        (b'{"policy": "healthy", "top": 1e999}', None, "too large"),
        (b"[" * 100_00 + b"]" * 100_00, None, "nested too deeply"),
        (b'{"polcy": "healthy"}', "polcy", "unknown field 'polcy'"),
        (b"{}", "policy", "field 'policy' is required"),
        (b'{"policy": "\xff"}', None, "not UTF-8"),
        (
            b'{"policy": "healthy", "policy": "supports embeddings"}',
            "policy",
            "the body gives field 'policy' more than once",
        ),
        (b'{"x": {"a": 1, "a": 2}}', "a", "field 'a' more than once"),
    ],
)
def test_malformed_or_mistyped_bodies_are_400_naming_the_field(shared, body, field, says):
    client = shared
    answer = client.post("/v1/select", content=body)
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert says in error["message"]
    assert error.get("field") == field


def test_bodies_over_64_kib_are_413_declared_or_streamed(shared):
    client = shared
    big = json.dumps({"policy": "x" * MAX_BODY}).encode()
    declared = client.post("/v1/select", content=big)
    assert declared.status_code == 413
    assert declared.json()["error"]["kind"] == "too-large"

    def chunks():
        for start in range(0, len(big), 4096):
            yield big[start : start + 4096]

    streamed = client.post("/v1/select", content=chunks())  # chunked: no Content-Length
    assert streamed.status_code == 413
    assert client.post("/v1/report", content=big).status_code == 413


def test_report_failure_opens_the_breaker_and_the_next_pick_comes_back(serve):
    client = serve()
    first = client.get("/v1/select/general-chat").json()
    answer = client.post(
        "/v1/report",
        json={
            "model_name": first["model_name"],
            "outcome": "failure",
            "status": 429,
            "retry_after": 60,
        },
    )
    assert answer.status_code == 204 and answer.content == b""
    second = client.get("/v1/select/general-chat").json()
    assert second["model_name"] == first["candidates"][1]["model_name"]
    assert metric(client, "policyeng_breakers_open") == 1
    wait_until(lambda: metric(client, "policyeng_pick_changes_total", policy="general-chat") == 1)
    client.post("/v1/report", json={"model_name": first["model_name"], "outcome": "success"})
    assert client.get("/v1/select/general-chat").json()["model_name"] == first["model_name"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"model_name": "m", "outcome": "maybe"}, "outcome"),
        ({"model_name": "m", "outcome": "failure", "status": 1000}, "status"),
        ({"model_name": "m", "outcome": "failure", "status": "429"}, "status"),
        ({"model_name": "m", "outcome": "failure", "retry_after": -1}, "retry_after"),
        ({"outcome": "failure"}, "model_name"),
    ],
)
def test_report_checks_every_field(shared, body, field):
    answer = shared.post("/v1/report", json=body)
    assert answer.status_code == 400
    assert answer.json()["error"]["field"] == field


def test_health_readiness_and_unknown_routes(shared):
    client = shared
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["state"] == "ready" and ready.json()["catalog"]["models"] > 0
    missing = client.get("/v2/nothing")
    assert missing.status_code == 404 and missing.json()["error"]["kind"] == "not-found"
    wrong = client.delete("/v1/policies")
    assert wrong.status_code == 405 and wrong.json()["error"]["kind"] == "method-not-allowed"


def test_metrics_count_selections_per_policy(serve):
    client = serve()
    families = {f.name for f in text_string_to_metric_families(client.get("/metrics").text)}
    assert {
        "policyeng_catalog_age_seconds",
        "policyeng_catalog_models",
        "policyeng_catalog_refreshes",
        "policyeng_breakers_open",
        "policyeng_ready",
    } <= families
    before = metric(client, "policyeng_selections_total", policy="support-chat") or 0
    client.get("/v1/select/support-chat")
    client.get("/v1/select/support-chat")
    client.post("/v1/select", json={"policy": "healthy"})
    assert metric(client, "policyeng_selections_total", policy="support-chat") == before + 2
    assert metric(client, "policyeng_selections_total", policy="<expression>") == 1
    assert metric(client, "policyeng_catalog_models") > 10


def test_the_decision_log_has_one_json_line_per_decision(serve):
    log = io.StringIO()
    client = serve(decision_log=log)
    ids = [
        client.get("/v1/select/support-chat").json()["decision_id"],
        client.post("/v1/select", json={"policy": "output_per_mtok < 0"}).json()["error"][
            "decision_id"
        ],
    ]
    client.post("/v1/select", json={"policy": "bad bad"})  # not a decision: a bad request
    lines = [json.loads(line) for line in log.getvalue().splitlines()]
    assert [line["decision_id"] for line in lines] == ids
    assert lines[0]["policy"] == "support-chat" and lines[0]["model_name"]
    assert len(lines[0]["catalog_sha256"]) == 64
    assert lines[1]["model_name"] is None and lines[1]["error"] == "no-match"


def test_a_crash_is_a_generic_500_without_traceback_path_or_key(serve, monkeypatch, tmp_path):
    monkeypatch.setenv("FLEXAI_API_KEY", "sk-very-secret-key")
    resolver = Resolver(POLICIES, catalog="builtin")

    def explode(name):
        raise RuntimeError(f"{tmp_path}/secret.json sk-very-secret-key")

    client = serve(resolver)
    resolver.select = explode
    answer = client.get("/v1/select/support-chat")
    assert answer.status_code == 500
    assert answer.json() == {
        "error": {"kind": "internal", "message": "internal error; the server's log has it"}
    }


def test_answers_never_show_a_local_path_or_the_api_key(serve, monkeypatch, tmp_path):
    key = "sk-another-secret-key"
    monkeypatch.setenv("FLEXAI_API_KEY", key)
    catalog = tmp_path / "private" / "catalog.json"
    catalog.parent.mkdir()
    catalog.write_bytes((ROOT / "policyeng" / "data" / "builtin.json").read_bytes())
    resolver = Resolver(POLICIES, catalog=str(catalog))
    client = serve(resolver, private=[POLICIES, str(catalog)])
    texts = [
        client.get(path).text
        for path in (
            "/v1/policies",
            "/v1/select/support-chat",
            "/readyz",
            "/metrics",
            "/v1/select/nope",
        )
    ]
    texts.append(client.post("/v1/select", json={"policy": "output_per_mtok < 0"}).text)
    for text in texts:
        assert str(tmp_path) not in text and key not in text and str(ROOT) not in text
    assert client.get("/v1/select/support-chat").json()["catalog"]["source"] == "catalog.json"


def test_a_request_on_a_raw_socket_gets_an_answer(shared):
    client = shared
    host, port = client.base_url.host, client.base_url.port
    with socket.create_connection((host, port), timeout=5) as raw:
        raw.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := raw.recv(4096):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200")


# --- readiness over the life of the catalog -------------------------------------------


def test_readiness_before_and_after_the_first_load(serve, server):
    gate = threading.Event()
    catalog = (ROOT / "policyeng" / "data" / "builtin.json").read_bytes()

    def held_then_sent(handler):
        gate.wait(20)
        send(handler, 200, catalog)

    server.script("/api/models", held_then_sent)
    client = serve(Resolver(POLICIES, catalog=server.url()), wait=False)
    try:
        wait_until(lambda: server.hits("/api/models"))  # the first load is under way
        loading = client.get("/readyz")
        assert loading.status_code == 503
        assert loading.json() == {"state": "starting", "last_error": None}
        assert client.get("/healthz").status_code == 200
        early = client.get("/v1/select/support-chat")
        assert early.status_code == 503 and early.json()["error"]["kind"] == "not-ready"
        assert metric(client, "policyeng_ready") == 0
    finally:
        gate.set()
    wait_ready(client)
    ready = client.get("/readyz").json()
    assert ready["state"] == "ready" and ready["catalog"]["stale"] is False
    assert ready["catalog"]["source"] == f"http://127.0.0.1:{server.port}/api/models"
    assert client.get("/v1/select/support-chat").status_code == 200
    assert metric(client, "policyeng_ready") == 1


def test_readiness_fails_past_max_stale_when_the_catalog_source_goes_down(serve, server, write):
    server.script("/api/models", reply(200, CATALOG))
    clock = ManualClock()
    resolver = Resolver(
        write("p.yaml", POLICY_FILE), catalog=server.url(), refresh=60, max_stale=120, clock=clock
    )
    client = serve(resolver)
    assert client.get("/readyz").json()["state"] == "ready"
    assert client.get("/v1/select/chat").json()["model_name"] == "a"
    assert metric(client, "policyeng_catalog_refreshes_total", outcome="failure") == 0
    server.stop()  # the source goes down

    # The next refresh (60 s, jittered +-10 %) fails: the last good catalog stays, flagged.
    clock.advance(70)
    wait_until(lambda: metric(client, "policyeng_catalog_refreshes_total", outcome="failure") == 1)
    stale = client.get("/readyz")
    assert stale.status_code == 200 and stale.json()["state"] == "stale"
    assert stale.json()["last_error"]
    assert client.get("/v1/select/chat").json()["catalog"]["stale"] is True
    assert metric(client, "policyeng_catalog_stale") == 1

    clock.advance(120)  # past max_stale: not ready, and no answers from so old a catalog
    failed = client.get("/readyz")
    assert failed.status_code == 503 and failed.json()["state"] == "failed"
    assert failed.json()["catalog"]["age_s"] >= 190
    refused = client.get("/v1/select/chat")
    assert refused.status_code == 503 and refused.json()["error"]["kind"] == "catalog"
    assert metric(client, "policyeng_ready") == 0
    assert metric(client, "policyeng_catalog_age_seconds") >= 190
