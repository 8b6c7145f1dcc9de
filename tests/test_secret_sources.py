"""A catalog URL's password and query token are used, never shown.

The catalog is served on 127.0.0.1 and reached through a URL carrying
``user:password@`` and ``?token=...``: every command's output (each format), the
lock it writes, warnings, errors and ``Resolver.status()`` show the masked form,
while the request itself still carries the credentials and the token.
"""

from __future__ import annotations

import base64
import json

import pytest
from catalog_server import reply, with_etag
from conftest import run_cli
from resolver_helpers import CATALOG, POLICIES

from policyeng import CatalogError, Resolver
from policyeng.runtime.clock import ManualClock
from policyeng.text import shown_source

PASSWORD = "hunter2-pw"
TOKEN = "tok-abc123"
SECRETS = (PASSWORD, TOKEN)
PATH = f"/api/models?token={TOKEN}&region=eu"
POLICY = """\
version: 1
policies:
  chat:
    where: supports chat
    order_by: [output_per_mtok]
    expect:
      min_candidates: 1
"""


def secret_url(server, path: str = PATH) -> str:
    return f"http://alice:{PASSWORD}@127.0.0.1:{server.port}{path}"


def shows_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, text


@pytest.fixture
def url(server):
    server.script(PATH, with_etag(CATALOG, '"v1"'))
    return secret_url(server)


@pytest.fixture
def policy(write):
    return write("policies/chat.yaml", POLICY)


@pytest.mark.parametrize(
    ("source", "shown"),
    [
        ("http://u:p@h:8/a?token=t&x=1&flag", "http://***@h:8/a?token=***&x=***&flag"),
        ("https://key@h/a?empty=#frag", "https://***@h/a?empty="),
        ("https://h/a", "https://h/a"),
        ("http://[::1/a?t=1", "http://[::1/a?t=***"),  # malformed: masked, no error
        ("ftp://u:p@h/x", "ftp://***@h/x"),
        ("builtin", "builtin"),
        ("/tmp/a@b?c=d.json", "/tmp/a@b?c=d.json"),  # a path is shown as it is
    ],
)
def test_the_shown_form_masks_credentials_and_query_values(source, shown):
    assert shown_source(source) == shown
    assert shown_source(shown) == shown  # applying it again changes nothing


def test_the_request_still_carries_the_credentials_and_the_token(cli, server, url):
    code, out, err = cli("select", "supports chat", "--catalog", url, "--json")
    assert code == 0, err
    (hit,) = server.hits(PATH)
    assert hit.headers["authorization"] == "Basic " + base64.b64encode(
        f"alice:{PASSWORD}".encode()
    ).decode("ascii")
    source = json.loads(out)["catalog"]["source"]
    assert source == f"http://***@127.0.0.1:{server.port}/api/models?token=***&region=***"
    shows_no_secret(out, err)


def test_select_and_catalog_show_no_secret(cli, url):
    for argv in (
        ("select", "supports chat", "--catalog", url),
        ("select", "supports chat", "--catalog", url, "--json"),
        ("select", 'model_name == "none-such"', "--catalog", url),
        ("catalog", "--catalog", url),
        ("catalog", "--info", "--catalog", url),
        ("catalog", "--info", "--json", "--catalog", url),
        ("explain", "supports chat", "--catalog", url),
        ("explain", "supports chat", "--catalog", url, "--json"),
    ):
        code, out, err = cli(*argv)
        assert code in (0, 1), err
        shows_no_secret(out, err)
        if "--info" in argv or 'model_name == "none-such"' in argv or "--json" in argv:
            assert "***@127.0.0.1" in out + err, argv  # the source is shown, masked


def test_the_cache_is_keyed_by_the_real_url_and_revalidated(cli, server, url):
    assert cli("select", "supports chat", "--catalog", url)[0] == 0
    code, out, err = cli("catalog", "--info", "--json", "--refresh", "--catalog", url)
    assert code == 0, err
    info = json.loads(out)
    assert info["origin"] == "cache (revalidated: 304)"
    assert server.hits(PATH)[1].headers["if-none-match"] == '"v1"'
    shows_no_secret(out, err, info["cache"])


@pytest.mark.parametrize("fmt", ["text", "json", "junit", "github", "sarif", "tap"])
def test_check_shows_no_secret_in_any_format(cli, url, policy, fmt):
    code, out, err = cli("check", policy, "--catalog", url, "--format", fmt)
    assert code == 0, out + err
    assert "***" in out, out
    shows_no_secret(out, err)


def test_the_lock_records_the_shown_source_and_still_verifies(cli, server, url, policy, tmp_path):
    code, out, err = cli("lock", policy, "--catalog", url, "-o", "-")
    assert code == 0, err
    shows_no_secret(out, err)
    assert json.loads(out)["catalog"]["source"] == shown_source(url)
    lock = tmp_path / "policies.lock"
    assert cli("lock", policy, "--catalog", url, "-o", str(lock))[0] == 0
    shows_no_secret(lock.read_text())
    code, out, err = cli("check", policy, "--catalog", url, "--locked", "--lock", str(lock))
    assert code == 0, out + err
    shows_no_secret(out, err)


def test_diff_shows_no_secret(cli, server, url, policy):
    other = f"/api/other?token={TOKEN}"
    server.script(other, reply(200, CATALOG[:-1]))
    for extra in ((), ("--json",), ("-f", policy)):
        code, out, err = cli("diff", url, secret_url(server, other), *extra)
        assert code == 0, err
        shows_no_secret(out, err)
        if "--json" in extra:
            assert json.loads(out)["old"]["source"] == shown_source(url)


def test_a_failing_fetch_names_the_source_masked(cli, server, policy):
    server.script(PATH, reply(500, b"down"))
    bad_port = f"http://alice:{PASSWORD}@127.0.0.1:99999/x?token={TOKEN}"
    for argv in (
        ("select", "supports chat", "--catalog", secret_url(server)),
        ("check", policy, "--catalog", secret_url(server), "--format", "json"),
        ("select", "supports chat", "--catalog", bad_port),
    ):
        code, out, err = cli(*argv)
        assert code == 3, out + err
        assert "***@127.0.0.1" in out + err
        shows_no_secret(out, err)
    with pytest.raises(CatalogError) as caught:
        from policyeng import load_catalog

        load_catalog(secret_url(server), fallback=False)
    shows_no_secret(str(caught.value), caught.value.source or "")


def test_falling_back_to_the_cached_copy_warns_without_the_secret(server):
    server.script(PATH, reply(200, CATALOG), reply(500, b"down"))
    url = secret_url(server)
    assert run_cli("select", "supports chat", "--catalog", url).returncode == 0
    done = run_cli("select", "supports chat", "--catalog", url, "--max-age", "0")
    assert done.returncode == 0, done.stderr
    assert f"catalog {shown_source(url)}: HTTP 500" in done.stderr
    assert "using the cached copy" in done.stderr
    shows_no_secret(done.stdout, done.stderr)


def test_resolver_status_and_errors_show_no_secret(server, write):
    policies = write("policies/main.yaml", POLICIES)
    server.script(PATH, reply(200, CATALOG), reply(500, b"down"))
    with Resolver(policies, catalog=secret_url(server), clock=ManualClock()) as resolver:
        ready = resolver.status()
        assert ready["catalog"]["source"] == shown_source(secret_url(server))
        failed = resolver.refresh()
        shown = repr(resolver)
    assert failed["refresh_failures"] == 1 and failed["last_error"]
    assert shown.startswith("<Resolver 'http://***@127.0.0.1:")
    shows_no_secret(json.dumps(ready), json.dumps(failed), shown)
