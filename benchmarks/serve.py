"""The decision server's cost: GET /v1/select/NAME over HTTP vs the same select in-process.

    pip install -e '.[serve]'
    python benchmarks/serve.py                  # 5,000 requests per row, ~15 s
    python benchmarks/serve.py --requests 50    # the smoke run of the tests

One ``policyeng serve policies/ --catalog builtin`` process (one worker, as
deployed) answers; this process is the client. Rows:

- in-process: ``Resolver.select(NAME)`` (what a Python service calls), and
  ``select`` + ``to_dict(top=10)`` + ``json.dumps`` (the same answer as text);
- HTTP, one keep-alive connection: one request at a time, each timed alone
  (median, p99) on a raw socket (a minimal client, so the client's own cost
  stays small); requests/s is requests over the wall time;
- HTTP, 4 connections: 4 client threads, each on its own keep-alive
  connection, to see whether the one worker keeps up when requests overlap.

The ratio HTTP median / in-process median is the price of the HTTP hop.
Every answer's ``model_name`` must be the in-process pick, else exit 1.
Targets (PASS/MISS, not failures): p50 <= 1 ms on loopback, >= 2,000
requests/s for one worker.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
POLICIES = REPO / "policies"
perf = time.perf_counter


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000, help="per row (default 5,000)")
    parser.add_argument("--policy", default="support-chat", help="the policy NAME asked for")
    args = parser.parse_args(argv)
    os.environ["POLICYENG_CATALOG"] = "builtin"
    os.environ["POLICYENG_OFFLINE"] = "1"

    from policyeng.runtime.resolver import Resolver

    with Resolver(str(POLICIES), catalog="builtin") as resolver:
        pick = resolver.select(args.policy).model_name
        inproc = time_calls(lambda: resolver.select(args.policy), args.requests)
        as_text = time_calls(
            lambda: json.dumps(resolver.select(args.policy).to_dict(top=10)), args.requests
        )

    server = start_server()
    try:
        port = int(server.base.rsplit(":", 1)[1])
        request = (f"GET /v1/select/{args.policy} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").encode()
        wrong: list[str] = []
        with Connection(port) as conn:
            for _ in range(min(200, args.requests)):  # warm-up: memo, code paths, sockets
                conn.ask(request)
            latencies, wall = one_connection(conn, request, args.requests, pick, wrong)
        parallel_wall, parallel_count = many_connections(
            port, request, args.requests, 4, pick, wrong
        )
    finally:
        server.stop()

    p50, p99 = statistics.median(latencies), quantile(latencies, 0.99)
    rps_one = len(latencies) / wall
    rps_many = parallel_count / parallel_wall
    print(
        f"policyeng serve benchmark — python {sys.version.split()[0]}, {os.cpu_count()} CPU(s),"
        f" {args.requests:,} requests per row, policy {args.policy!r}, catalog builtin"
    )
    print(
        f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; uvicorn's HTTP "
        f"parser: {http_parser()}"
    )
    rows = [
        ("in-process Resolver.select", fmt(statistics.median(inproc)), "", ""),
        ("in-process select + to_dict + json.dumps", fmt(statistics.median(as_text)), "", ""),
        ("HTTP GET, 1 keep-alive connection", fmt(p50), fmt(p99), f"{rps_one:,.0f}"),
        ("HTTP GET, 4 keep-alive connections", "", "", f"{rps_many:,.0f}"),
    ]
    print(f"\n{'row':<42}  {'median':>9}  {'p99':>9}  {'req/s':>7}")
    for row in rows:
        print(f"{row[0]:<42}  {row[1]:>9}  {row[2]:>9}  {row[3]:>7}")
    print(
        f"\nHTTP overhead: median HTTP / median in-process select = "
        f"{p50 / statistics.median(inproc):,.0f}x, / select+to_dict+dumps = "
        f"{p50 / statistics.median(as_text):,.1f}x"
    )
    verdicts = [
        ("p50 latency", fmt(p50), "<= 1 ms", p50 <= 1e-3),
        (
            "requests/s, one worker",
            f"{max(rps_one, rps_many):,.0f}",
            ">= 2,000",
            max(rps_one, rps_many) >= 2000,
        ),
    ]
    for what, measured, wanted, ok in verdicts:
        print(f"target {what}: {measured} (wanted {wanted}) {'PASS' if ok else 'MISS'}")
    if wrong:
        print(
            f"FAILED: {len(wrong)} answer(s) differ from the in-process pick {pick!r}: {wrong[:3]}"
        )
        return 1
    print(f"every answer picked {pick!r}, as in-process")
    return 0


def time_calls(call, count: int) -> list[float]:
    for _ in range(min(200, count)):
        call()
    samples = []
    for _ in range(count):
        start = perf()
        call()
        samples.append(perf() - start)
    return samples


def one_connection(
    conn: Connection, request: bytes, count: int, pick: str, wrong: list[str]
) -> tuple[list[float], float]:
    latencies = []
    began = perf()
    for _ in range(count):
        start = perf()
        body = conn.ask(request)
        latencies.append(perf() - start)
        check(body, pick, wrong)
    return latencies, perf() - began


def many_connections(
    port: int, request: bytes, count: int, threads: int, pick: str, wrong: list[str]
) -> tuple[float, int]:
    each = max(1, count // threads)
    connections = [Connection(port) for _ in range(threads)]
    for conn in connections:
        conn.ask(request)
    barrier = threading.Barrier(threads + 1)

    def work(conn: Connection) -> None:
        barrier.wait()
        for _ in range(each):
            check(conn.ask(request), pick, wrong)

    workers = [threading.Thread(target=work, args=(c,)) for c in connections]
    for worker in workers:
        worker.start()
    barrier.wait()
    began = perf()
    for worker in workers:
        worker.join()
    wall = perf() - began
    for conn in connections:
        conn.close()
    return wall, each * threads


def check(body: bytes, pick: str, wrong: list[str]) -> None:
    name = json.loads(body).get("model_name")
    if name != pick:
        wrong.append(str(name))


class Connection:
    """A keep-alive HTTP/1.1 connection that reads exactly one Content-Length body."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.sock.close()

    def ask(self, request: bytes) -> bytes:
        self.sock.sendall(request)
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self._recv()
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"unexpected answer: {head[:80]!r}")
        length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))
        while len(rest) < length:
            rest += self._recv()
        self.buffer = rest[length:]
        return rest[:length]

    def _recv(self) -> bytes:
        chunk = self.sock.recv(262144)
        if not chunk:
            raise RuntimeError("the server closed the connection")
        return chunk


class ServerProcess:
    def __init__(self, process: subprocess.Popen, base: str) -> None:
        self.process, self.base = process, base

    def stop(self) -> None:
        self.process.terminate()
        self.process.communicate(timeout=30)


def start_server() -> ServerProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "policyeng",
            "serve",
            str(POLICIES),
            "--catalog",
            "builtin",
            "--port",
            "0",
        ],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    line = process.stderr.readline()
    while line and "serving on" not in line:
        line = process.stderr.readline()
    found = re.search(r"http://\S+", line)
    if not found:
        process.kill()
        raise SystemExit(f"policyeng serve did not start: {line!r}")
    threading.Thread(target=process.stderr.read, daemon=True).start()  # keep draining
    base = found.group(0)
    port = int(base.rsplit(":", 1)[1])
    deadline = time.monotonic() + 30
    while True:
        try:
            with Connection(port) as conn:
                conn.ask(b"GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            return ServerProcess(process, base)
        except (OSError, RuntimeError):
            if time.monotonic() > deadline:
                process.kill()
                raise SystemExit("policyeng serve never became ready") from None
            time.sleep(0.05)


def http_parser() -> str:
    """What uvicorn's ``http="auto"`` picks: httptools when it is installed, else h11."""
    try:
        import httptools  # noqa: F401
    except ImportError:
        return "h11"
    return "httptools"


def quantile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def fmt(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:,.1f} µs"
    return f"{seconds * 1e3:,.2f} ms"


if __name__ == "__main__":
    sys.exit(main())
