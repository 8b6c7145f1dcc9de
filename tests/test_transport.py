"""TLS verification and proxies from the environment, against local servers only."""

from __future__ import annotations

import ssl

import pytest
import trustme
from catalog_server import ScriptedServer, reply

from policyeng.catalog import load_catalog
from policyeng.catalog.http import FetchSettings
from policyeng.errors import CatalogError

CATALOG = [{"model_name": "tls-chat", "category": "text", "supports": ["chat"]}]
FAST = FetchSettings(connect_timeout=1, read_timeout=1, retries=2, backoff=0.01)


@pytest.fixture
def tls_server():
    """An https server on 127.0.0.1 whose certificate comes from a throwaway CA."""
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    running = ScriptedServer().start(tls=context)
    running.ca = ca
    yield running
    running.stop()


def test_an_untrusted_certificate_is_refused_without_retries(tls_server):
    tls_server.script("/api/models", reply(200, CATALOG))
    url = tls_server.url(scheme="https")
    with pytest.raises(CatalogError) as raised:
        load_catalog(url, settings=FAST)
    assert str(raised.value).startswith(
        f"catalog {url}: TLS certificate not trusted: [SSL: CERTIFICATE_VERIFY_FAILED]"
    )
    assert str(raised.value).endswith("; no cached copy")
    assert tls_server.requests == []


def test_a_certificate_from_a_ca_in_ssl_cert_file_is_accepted(tls_server, monkeypatch, tmp_path):
    bundle = tmp_path / "ca.pem"
    tls_server.ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    tls_server.script("/api/models", reply(200, CATALOG))
    catalog = load_catalog(tls_server.url(scheme="https"), settings=FAST)
    assert [e["model_name"] for e in catalog] == ["tls-chat"]


def test_a_proxy_from_the_environment_is_used(server, monkeypatch):
    # The "proxy" is a local server: it receives the absolute URL; catalog.invalid is never
    # resolved by the client.
    target = "http://catalog.invalid/api/models"
    server.script(target, reply(200, CATALOG))
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{server.port}")
    monkeypatch.delenv("NO_PROXY")
    catalog = load_catalog(target, settings=FAST)
    assert [e["model_name"] for e in catalog] == ["tls-chat"]
    assert [r.path for r in server.requests] == [target]
