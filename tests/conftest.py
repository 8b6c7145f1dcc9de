"""Test-wide guards and shared fixtures.

No test reaches the network or the user's real cache: ``POLICYENG_CATALOG=builtin``
makes every ``policyeng`` run without ``--catalog`` (in-process, or a subprocess,
which inherits the environment) answer from ``builtin`` without trying the
live URL, and a socket guard fails any in-process connection to an address
other than loopback. The CLI runs as a subprocess (``run_cli``) or in-process
(``cli``).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import policyeng
from policyeng.cli import main

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@pytest.fixture(autouse=True)
def _isolated_catalog_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory) -> None:
    monkeypatch.setenv("POLICYENG_CATALOG", "builtin")
    monkeypatch.setenv("POLICYENG_CACHE_DIR", str(tmp_path_factory.mktemp("policyeng-cache")))
    for name in (
        "POLICYENG_OFFLINE",
        "FLEXAI_API_KEY",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    from policyeng.catalog import recent

    recent.forget()  # catalogs kept in memory by an earlier test are not this test's


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


#: How an age reads in a fall-back warning ("12 s", "3 min", "5 days"), whatever the clock.
AGE = r"\d+ (s|min|h|h \d+ min|days)"

# Subprocesses import policyeng from where these tests do: the installed
# package under CI (which runs from a fresh virtualenv), the source tree otherwise.
IMPORTED_FROM = str(Path(policyeng.__file__).resolve().parent.parent)


def run_cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m policyeng ARGS`` in a fresh process, as a user would."""
    full_env = {**os.environ, "PYTHONPATH": IMPORTED_FROM, "NO_COLOR": "1", "COLUMNS": "120"}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "policyeng", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd or ROOT,
        input=stdin,
        timeout=120,
    )


@pytest.fixture
def write_catalog(tmp_path):
    """Write entries (or raw text) to a catalog file and return its path."""

    def write(entries, name: str = "catalog.json") -> Path:
        path = tmp_path / name
        path.write_text(entries if isinstance(entries, str) else json.dumps(entries))
        return path

    return write


@pytest.fixture
def write(tmp_path):
    """``write("name.yaml", text)`` -> the path (text is dedented)."""

    def _write(name: str, text: str) -> str:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return str(path)

    return _write


@pytest.fixture
def cli(capsys, monkeypatch):
    """``cli("check", "policies/")`` -> (exit code, stdout, stderr), run in-process."""
    monkeypatch.delenv("POLICYENG_DEBUG", raising=False)

    def _run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return _run
