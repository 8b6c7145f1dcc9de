"""The decision server, run for real by the tests: uvicorn on 127.0.0.1, an ephemeral port.

``RunningApp(app)`` serves an ASGI app from a thread of the test process (quick
to start, and the test can reach into the app); the CLI tests run
``policyeng serve`` as a subprocess instead (``ServeProcess``), for signals and
exit codes.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import uvicorn
from conftest import IMPORTED_FROM, ROOT


class RunningApp:
    """``with RunningApp(app) as running: httpx.get(running.url("/healthz"))``."""

    def __init__(self, app) -> None:
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(128)
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.listener]}, daemon=True
        )

    def __enter__(self) -> RunningApp:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "server did not start"
            time.sleep(0.01)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(15)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}{path}"


class ServeProcess:
    """``policyeng serve ARGS --port 0`` in a subprocess; ``url`` once it listens."""

    def __init__(self, *args: str, env: dict[str, str] | None = None, cwd=None) -> None:
        full_env = {**os.environ, "PYTHONPATH": IMPORTED_FROM, **(env or {})}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "policyeng", "serve", *args, "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=full_env,
            cwd=cwd or ROOT,
        )
        self.lines: list[str] = []
        line = self.process.stderr.readline()
        while line and "serving on" not in line:
            self.lines.append(line)
            line = self.process.stderr.readline()
        self.lines.append(line)
        found = re.search(r"http://\S+", line)
        assert found, f"policyeng serve did not start: {''.join(self.lines)}"
        self.base = found.group(0)

    def url(self, path: str) -> str:
        return self.base + path

    def terminate(self, timeout: float = 20) -> tuple[int, str]:
        """SIGTERM, then the exit code and the rest of stderr."""
        self.process.send_signal(signal.SIGTERM)
        _, err = self.process.communicate(timeout=timeout)
        return self.process.returncode, "".join(self.lines) + err

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()
