"""The command line over the source chain, end to end: real processes, a real local server.

Each run is a subprocess (as a user or a CI job runs it), so the warning
lines asserted here are exactly what lands on stderr.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys

import pytest
from catalog_server import reply, slowly, with_etag
from conftest import AGE, IMPORTED_FROM

from policyeng.cli.progress import TerminalProgress

CATALOG = [
    {
        "model_name": "cheap-chat",
        "category": "text",
        "supports": ["chat"],
        "output_per_mtok": 0.1,
        "health_status": "healthy",
    },
    {
        "model_name": "dear-chat",
        "category": "text",
        "supports": ["chat"],
        "output_per_mtok": 9.0,
        "health_status": "healthy",
    },
]
ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00"


def run(*args: str, **env: str | None) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": IMPORTED_FROM}
    for name, value in env.items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    return subprocess.run(
        [sys.executable, "-m", "policyeng", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_no_network_still_answers_from_builtin_and_says_so_in_one_line():
    done = run("select", "supports chat", POLICYENG_CATALOG=None, POLICYENG_OFFLINE="1")
    assert done.returncode == 0
    assert done.stdout == "Codestral-22B-v0.1  /v1/chat/completions\n"
    assert re.fullmatch(
        r"policyeng: warning: catalog https://tokens\.flex\.ai/api/models: offline, and no "
        rf"cached copy; using builtin \(snapshot of 2026-11-20, {AGE} old\)\n",
        done.stderr,
    )


def test_the_fallback_chain_end_to_end(server, tmp_path):
    url = server.url()
    env = {"POLICYENG_CATALOG": url, "POLICYENG_CACHE_DIR": str(tmp_path)}
    policy = "supports chat order by output_per_mtok"

    server.script("/api/models", reply(200, CATALOG))
    live = run("select", policy, "--json", **env)
    assert (live.returncode, live.stderr) == (0, "")
    assert json.loads(live.stdout)["catalog"]["stale"] is False

    server.script("/api/models", reply(503, b"down for maintenance"))
    cached = run("select", policy, "--json", "--max-age", "0", **env)
    assert cached.returncode == 0
    assert re.fullmatch(
        rf"policyeng: warning: catalog {re.escape(url)}: HTTP 503 Service Unavailable "
        rf"\(3 attempts\); using the cached copy fetched {ISO} \({AGE} old\)\n",
        cached.stderr,
    )
    answer = json.loads(cached.stdout)
    assert answer["model_name"] == "cheap-chat"
    assert answer["catalog"]["source"] == url and answer["catalog"]["stale"] is True

    strict = run("select", policy, "--max-age", "0", "--no-fallback", **env)
    assert (strict.returncode, strict.stdout) == (3, "")
    assert strict.stderr == (
        f"policyeng: catalog {url}: HTTP 503 Service Unavailable (3 attempts)\n"
    )

    for entry in tmp_path.iterdir():
        entry.unlink()
    fallen = run("select", policy, "--json", **env)
    assert fallen.returncode == 0
    assert re.fullmatch(
        rf"policyeng: warning: catalog {re.escape(url)}: HTTP 503 Service Unavailable "
        rf"\(3 attempts\); no cached copy; using builtin \(snapshot of 2026-11-20, "
        rf"{AGE} old\)\n",
        fallen.stderr,
    )
    assert json.loads(fallen.stdout)["catalog"]["source"] == "builtin"


def test_an_unreachable_named_url_without_cache_exits_3(server):
    url = server.url()
    server.stop()
    done = run("select", "supports chat", "--catalog", url)
    assert (done.returncode, done.stdout) == (3, "")
    assert re.fullmatch(
        rf"policyeng: catalog {re.escape(url)}: cannot connect: .* \(3 attempts\); "
        r"no cached copy\n",
        done.stderr,
    )


def test_refresh_uses_a_conditional_request_and_info_reports_it(server):
    server.script("/api/models", with_etag(CATALOG, '"rev-7"'))
    first = run("catalog", "--catalog", server.url(), "--info")
    assert first.returncode == 0 and first.stderr == ""
    refreshed = run("catalog", "--catalog", server.url(), "--refresh", "--info")
    assert refreshed.returncode == 0
    assert server.hits("/api/models")[1].headers["if-none-match"] == '"rev-7"'
    lines = refreshed.stdout.splitlines()
    assert lines[0] == f"source      {server.url()}"
    assert lines[1] == "origin      cache (revalidated: 304)"
    assert re.fullmatch(rf"fetched_at  {ISO} \(\d+ s ago\)", lines[2])
    assert lines[3:6] == ["stale       no", "entries     2", "skipped     0"]
    assert re.fullmatch(r"sha256      [0-9a-f]{64}", lines[6])
    assert re.fullmatch(r"cache       .*/127\.0\.0\.1_\d+-[0-9a-f]{16}\.catalog", lines[7])


def test_info_json_lists_skipped_entries(server):
    server.script("/api/models", reply(200, [*CATALOG, {"model_name": ""}]))
    done = run("catalog", "--catalog", server.url(), "--info", "--json")
    info = json.loads(done.stdout)
    assert info["entries"] == 2
    assert info["skipped"] == ["entry [2]: model_name: '' should be non-empty"]
    assert info["origin"] == "network (HTTP 200)"
    assert set(info) == {
        "source",
        "sha256",
        "fetched_at",
        "stale",
        "origin",
        "age_seconds",
        "entries",
        "skipped",
        "live_known",
        "cache",
    }


def test_a_failed_refresh_is_an_error_even_with_a_cache(server):
    server.script("/api/models", reply(200, CATALOG))
    assert run("catalog", "--catalog", server.url()).returncode == 0
    server.script("/api/models", reply(200, b"<html>maintenance</html>"))
    done = run("catalog", "--catalog", server.url(), "--refresh")
    assert done.returncode == 3
    assert done.stderr == (
        f"policyeng: catalog {server.url()}: invalid JSON at line 1, column 1: Expecting value\n"
        "hint: the response is HTML, not JSON: a login page, a proxy's error page, "
        "or the wrong URL?\n"
    )


@pytest.mark.parametrize(
    ("body", "hinted"),
    [
        (b"\r\n  <!doctype html><html><body>Sign in</body></html>", True),
        (b"\xef\xbb\xbf<html>", True),
        (b"Service Unavailable", False),
        (b'[{"model_name": "x"', False),
    ],
)
def test_an_html_page_where_the_catalog_should_be_gets_a_hint(server, body, hinted):
    server.script("/api/models", reply(200, body))
    done = run("catalog", "--catalog", server.url())
    assert done.returncode == 3
    assert done.stderr.startswith(f"policyeng: catalog {server.url()}: invalid JSON at line ")
    assert ("hint: the response is HTML, not JSON" in done.stderr) is hinted


def test_offline_refresh_is_a_usage_error():
    done = run("catalog", "--offline", "--refresh")
    assert done.returncode == 2
    assert done.stderr == (
        "policyeng: --refresh needs the network, but offline mode is on "
        "(--offline or POLICYENG_OFFLINE)\n"
    )


def test_max_age_must_be_seconds():
    done = run("select", "supports chat", "--max-age", "soon")
    assert done.returncode == 2
    assert "argument --max-age: expected a number of seconds, got 'soon'" in done.stderr


LIVE = {"object": "list", "data": [{"id": "dear-chat", "object": "model", "category": "text"}]}


def test_select_live_joins_the_live_list_and_never_shows_the_key(server):
    server.script("/api/models", reply(200, CATALOG))
    server.script("/v1/models", reply(200, LIVE))
    done = run(
        "select",
        "live and supports chat",
        "--catalog",
        server.url(),
        "--live",
        "--json",
        FLEXAI_API_KEY="sk-never-print-me",
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["model_name"] == "dear-chat"
    assert answer["candidates"][0]["live"] is True
    assert "sk-never-print-me" not in done.stdout + done.stderr


def test_select_live_with_a_refused_key_exits_3_without_printing_it(server):
    server.script("/api/models", reply(200, CATALOG))
    server.script("/v1/models", reply(401, b'{"error": "bad key sk-never-print-me"}'))
    done = run(
        "select", "live", "--catalog", server.url(), "--live", FLEXAI_API_KEY="sk-never-print-me"
    )
    assert done.returncode == 3
    assert done.stderr == (
        f"policyeng: catalog {server.url('/v1/models')}: HTTP 401 Unauthorized: the key in "
        "FLEXAI_API_KEY was refused (wrong or expired?)\n"
    )


def test_live_without_the_live_list_is_a_policy_error():
    done = run("select", "live and supports chat")
    assert done.returncode == 2
    assert "this policy uses `live`, but the catalog was loaded without the live list" in (
        done.stderr
    )


def test_a_long_fetch_draws_no_progress_when_piped(server):
    server.script("/api/models", slowly(CATALOG, seconds=0.8))
    done = run("select", "supports chat", "--catalog", server.url())
    assert (done.returncode, done.stderr) == (0, "")


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_drawn_on_a_terminal_and_erased():
    terminal = FakeTerminal()
    progress = TerminalProgress(terminal, delay=0, interval=0)
    progress.update("https://models.example/api/models", 3 * 1024 * 1024, 6 * 1024 * 1024)
    progress.close()
    drawn = "policyeng: fetching https://models.example/api/models  3.0 MiB / 6.0 MiB"
    assert terminal.getvalue() == f"\r{drawn}\r{' ' * len(drawn)}\r"
    assert TerminalProgress.for_terminal(FakeTerminal()) is not None
    assert TerminalProgress.for_terminal(io.StringIO()) is None


def test_refresh_needs_a_url_source():
    result = run("catalog", "--refresh", "--catalog", "builtin")
    assert result.returncode == 2
    assert result.stderr == (
        "policyeng: --refresh fetches a URL source, and builtin is not one "
        "(builtin and files are read as they are)\n"
    )
