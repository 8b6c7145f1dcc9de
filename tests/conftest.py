"""Test-wide guards: no test reaches the network or the user's real cache.

``POLICYENG_CATALOG=builtin`` makes every ``policyeng select`` without
``--catalog`` (in-process or a subprocess, which inherits the environment)
answer from ``builtin`` without trying the live URL, and a socket guard fails
any in-process connection to an address other than loopback.
"""

from __future__ import annotations

import socket

import pytest

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@pytest.fixture(autouse=True)
def _isolated_catalog_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory) -> None:
    monkeypatch.setenv("POLICYENG_CATALOG", "builtin")
    monkeypatch.setenv("POLICYENG_CACHE_DIR", str(tmp_path_factory.mktemp("policyeng-cache")))
    for name in ("POLICYENG_OFFLINE", "FLEXAI_API_KEY", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY",
                 "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect

    def getaddrinfo(host, *args, **kwargs):
        if host not in LOOPBACK and host is not None:
            raise AssertionError(f"test tried to resolve {host!r}: only loopback is allowed")
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(self, address):
        host = address[0] if isinstance(address, tuple) else None
        if host is not None and host not in LOOPBACK:
            raise AssertionError(f"test tried to connect to {host!r}: only loopback is allowed")
        return real_connect(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)


@pytest.fixture
def server():
    """A scripted HTTP server on 127.0.0.1, stopped after the test."""
    from catalog_server import ScriptedServer

    running = ScriptedServer().start()
    yield running
    running.stop()


@pytest.fixture
def other_server():
    """A second server on another port (a redirect target that must not see the key)."""
    from catalog_server import ScriptedServer

    running = ScriptedServer().start()
    yield running
    running.stop()
