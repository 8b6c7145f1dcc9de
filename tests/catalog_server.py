"""A real HTTP server on 127.0.0.1 that plays scripted replies, faults included.

Each path has a queue of replies; the last one repeats. A reply is a function
of the request handler, so a test can stall, truncate, trickle or redirect.
Every request is recorded (path and headers) for the test to inspect.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class Request:
    path: str
    headers: dict[str, str]


@dataclass
class ScriptedServer:
    """Start with ``start()``; ``url(path)``; ``script(path, *replies)``; ``stop()``."""

    routes: dict[str, list[Reply]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    bytes_sent: int = 0

    def start(self, tls: ssl.SSLContext | None = None) -> ScriptedServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # http.server calls it so
                server.requests.append(
                    Request(self.path, {k.lower(): v for k, v in self.headers.items()})
                )
                replies = server.routes.get(self.path)
                if not replies:
                    send(self, 404, b"not found")
                    return
                reply = replies.pop(0) if len(replies) > 1 else replies[0]
                try:
                    reply(self)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.httpd.block_on_close = False
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    def url(self, path: str = "/api/models", scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def script(self, path: str, *replies: Reply) -> None:
        self.routes[path] = list(replies)

    def hits(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]


def send(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> None:
    handler.send_response(status)
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    if status != 304:
        handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    if status != 304:
        handler.wfile.write(body)


def reply(
    status: int = 200, body: bytes | Any = b"", headers: dict[str, str] | None = None
) -> Reply:
    """A plain reply; a non-bytes body is sent as JSON."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return lambda h: send(h, status, data, headers)


def with_etag(body: Any, etag: str, last_modified: str | None = None) -> Reply:
    """200 with validators, or 304 when the request's If-None-Match matches."""
    data = json.dumps(body).encode()
    headers = {"ETag": etag, **({"Last-Modified": last_modified} if last_modified else {})}

    def run(h: BaseHTTPRequestHandler) -> None:
        if h.headers.get("If-None-Match") == etag:
            send(h, 304, headers=headers)
        else:
            send(h, 200, data, headers)

    return run


def stall(server: ScriptedServer, seconds: float = 10.0) -> Reply:
    """Accept the request and say nothing until the test ends (or ``seconds`` pass)."""
    return lambda h: server.stopping.wait(seconds)


def trickle(server: ScriptedServer, interval: float = 0.05) -> Reply:
    """Headers, then one byte per ``interval``, forever: no read timeout ever fires."""

    def run(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.end_headers()
        h.wfile.write(b"[")
        while not server.stopping.wait(interval):
            h.wfile.write(b" ")
            h.wfile.flush()

    return run


def truncated(body: bytes, declared: int) -> Reply:
    """Promise ``declared`` bytes, send ``body``, hang up."""

    def run(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", str(declared))
        h.end_headers()
        h.wfile.write(body)
        h.wfile.flush()
        h.close_connection = True

    return run


def endless(server: ScriptedServer, total: int, declare: bool = False) -> Reply:
    """A body of ``total`` bytes in 64 KiB chunks, counted in ``server.bytes_sent``."""

    def run(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        if declare:
            h.send_header("Content-Length", str(total))
        h.end_headers()
        chunk = b" " * 65536
        while server.bytes_sent < total and not server.stopping.is_set():
            h.wfile.write(chunk)
            server.bytes_sent += len(chunk)

    return run


def redirect(location: str, status: int = 302) -> Reply:
    return lambda h: send(h, status, b"", {"Location": location})


def slowly(body: Any, seconds: float, pieces: int = 10) -> Reply:
    """A JSON body sent in ``pieces`` over ``seconds``: a long but healthy fetch."""
    data = json.dumps(body).encode()

    def run(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        step = -(-len(data) // pieces)
        for start in range(0, len(data), step):
            h.wfile.write(data[start : start + step])
            time.sleep(seconds / pieces)

    return run


def held(release: threading.Event, then: Reply | None = None) -> Reply:
    """Accept the request and say nothing until ``release`` is set; then ``then`` (or hang up).

    A stall the test ends when it chooses (``stall`` ends with the server).
    """

    def run(h: BaseHTTPRequestHandler) -> None:
        release.wait(60)
        if then is not None:
            then(h)

    return run
