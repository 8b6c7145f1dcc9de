#!/usr/bin/env python3
"""Deployment rows: a long-running ``Resolver`` against the one-shot path, in one run.

    python benchmarks/deployments.py            # a 10,000-entry catalog
    python benchmarks/deployments.py --quick    # 1,000 entries, fewer samples (smoke test)

Rows (every ratio divides two things timed in this run, on this machine):

1. ``resolver.select(name)``, memoized, per call: p50 and p99; vs one-shot
   ``book.select(name, catalog=FILE)`` on the same file (median), with the file
   kept in memory and, as before that existed, re-read every call;
2. p99 of ``select`` from 16 threads while the source stalls and the refresh
   thread is stuck in it;
3. requests reaching the source while 100 threads select at once with an
   expired copy: the resolver (one per refresh), and one-shot ``select`` calls;
4. a naive loop of one-shot ``policyeng.select()`` on the default chain with
   no network (host names do not resolve): the first call, then per call;
   vs the same loop with the in-memory catalogs emptied before every call
   (what every call cost before they existed).

Everything served comes from a server on 127.0.0.1 started here; host names
other than loopback fail to resolve inside this process, so nothing reaches
the network. POLICYENG_CACHE_DIR is this run's own temporary directory.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.baselines import P1  # noqa: E402
from benchmarks.synthetic import write_catalog  # noqa: E402

WHERE, ORDER_BY = P1.text.split(" order by ")
POLICY_FILE = f"""\
version: 1
policies:
  chat:
    where: {WHERE}
    order_by: {ORDER_BY}
"""
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class Source:
    """A catalog served on 127.0.0.1 that counts requests and can be told to stall."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.requests = 0
        self.release = threading.Event()
        self.release.set()
        source = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # http.server's name
                source.requests += 1
                source.release.wait(120)
                self.send_response(200)
                self.send_header("Content-Length", str(len(source.body)))
                self.end_headers()
                self.wfile.write(source.body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/api/models"

    def stop(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def no_network() -> None:
    """Host names other than loopback do not resolve in this process (as with no network)."""
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and host not in LOOPBACK:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def per_call(fn: Callable[[], Any], calls: int) -> list[float]:
    """Seconds per call, each call timed alone (the timer's own cost included)."""
    clock = time.perf_counter_ns
    samples = []
    for _ in range(calls):
        start = clock()
        fn()
        samples.append((clock() - start) / 1e9)
    return samples


def median_of(fn: Callable[[], Any], repeat: int) -> float:
    fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def show(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.2f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def row(name: str, value: str, target: str = "", ok: bool | None = None) -> None:
    verdict = "" if ok is None else ("PASS" if ok else "MISS")
    print(f"  {name:<62} {value:>14}  {target:<18} {verdict}")


def quietly(fn: Callable[[], Any]) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn()


def memoized_select(policy_file: str, catalog: str, calls: int, repeat: int) -> None:
    import policyeng
    from policyeng.catalog import recent

    print("1. resolver.select(name), memoized, vs one-shot book.select on the same file")
    with policyeng.Resolver(policy_file, catalog=catalog) as resolver:
        resolver.select("chat")
        samples = per_call(lambda: resolver.select("chat"), calls)
    timer = per_call(lambda: None, calls)
    book = policyeng.load_policies(policy_file)
    one_shot = median_of(lambda: book.select("chat", catalog=catalog), repeat)

    def reread() -> Any:
        recent.forget()
        return book.select("chat", catalog=catalog)

    as_before = median_of(reread, repeat)
    p50, p99 = percentile(samples, 0.5), percentile(samples, 0.99)
    row("resolver.select p50 (per call, timer included)", show(p50), "<= 2 µs", p50 <= 2e-6)
    row("resolver.select p99", show(p99))
    row("timer alone p50 (perf_counter_ns pair)", show(percentile(timer, 0.5)))
    row("one-shot book.select, file kept in memory (median)", show(one_shot))
    row("one-shot book.select, file re-read each call (as before)", show(as_before))
    ratio = p50 / as_before
    row("resolver p50 / one-shot book.select as before", f"1/{1 / ratio:,.0f}", "<= 1/1000",
        ratio <= 1e-3)
    row("resolver p50 / one-shot book.select with the file in memory",
        f"1/{one_shot / p50:,.0f}")


def stalled_source(policy_file: str, body: bytes, calls: int) -> None:
    import policyeng

    print("2. select from 16 threads while the refresh thread is stuck in a stalled fetch")
    source = Source(body)
    settings = policyeng.FetchSettings(retries=0, read_timeout=120, deadline=120)
    try:
        with policyeng.Resolver(policy_file, catalog=source.url, settings=settings) as resolver:
            resolver.select("chat")
            source.release.clear()
            refresher = threading.Thread(target=resolver.refresh)
            refresher.start()
            while source.requests < 2:
                time.sleep(0.001)
            samples: list[float] = []
            barrier = threading.Barrier(16)

            def work() -> None:
                barrier.wait()
                mine = per_call(lambda: resolver.select("chat"), calls)
                samples.extend(mine)

            threads = [threading.Thread(target=work) for _ in range(16)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            stuck = refresher.is_alive()
            source.release.set()
            refresher.join()
    finally:
        source.stop()
    p99 = percentile(samples, 0.99)
    row(f"p50 over {len(samples):,} selects", show(percentile(samples, 0.5)))
    row("p99", show(p99), "<= 1 ms", p99 <= 1e-3)
    row("max", show(max(samples)))
    row("the refresh was still stuck while they ran", str(stuck))


def concurrent_expired(policy_file: str, body: bytes) -> None:
    import policyeng
    from policyeng.catalog import recent
    from policyeng.catalog.response_cache import CatalogCache
    from policyeng.runtime.clock import ManualClock

    print("3. requests reaching the source: 100 threads select at once, the copy expired")
    source = Source(body)
    try:
        clock = ManualClock()
        with policyeng.Resolver(policy_file, catalog=source.url, clock=clock, refresh=60,
                                jitter=lambda: 1.0) as resolver:
            before = source.requests
            barrier = threading.Barrier(101)

            def select() -> None:
                barrier.wait()
                resolver.select("chat")

            threads = [threading.Thread(target=select) for _ in range(100)]
            for thread in threads:
                thread.start()
            clock.advance(120)  # past the refresh time: the thread refreshes once
            barrier.wait()
            for thread in threads:
                thread.join()
            while resolver.status()["refreshes"] < 1:
                time.sleep(0.001)
            during = source.requests - before
        row("resolver: requests per refresh", str(during), "exactly 1", during == 1)

        recent.forget()
        CatalogCache().write(source.url, body, fetched_at=time.time() - 3600)
        before = source.requests
        barrier = threading.Barrier(100)

        def one_shot() -> None:
            barrier.wait()
            quietly(lambda: policyeng.select(P1.text, catalog=source.url))

        threads = [threading.Thread(target=one_shot) for _ in range(100)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        row("one-shot policyeng.select x 100 threads: requests", str(source.requests - before),
            "1", source.requests - before == 1)
    finally:
        source.stop()


def naive_loop(calls: int, repeat: int) -> None:
    import policyeng
    from policyeng.catalog import recent

    print("4. a naive loop of one-shot policyeng.select(), default chain, no network")
    os.environ.pop("POLICYENG_CATALOG", None)
    os.environ.pop("POLICYENG_OFFLINE", None)
    recent.forget()
    start = time.perf_counter()
    quietly(lambda: policyeng.select(P1.text))
    first_call = time.perf_counter() - start
    samples = per_call(lambda: quietly(lambda: policyeng.select(P1.text)), calls)

    def as_before() -> Any:
        recent.forget()
        return quietly(lambda: policyeng.select(P1.text))

    before = median_of(as_before, repeat)
    per = statistics.median(samples)
    row("first call (tries the network, falls back to builtin)", show(first_call))
    row(f"each call after the first (median of {calls:,})", show(per), "<= 1 ms", per <= 1e-3)
    row("each call, in-memory catalogs emptied first (as before)", show(before))
    row("as before / now", f"{before / per:,.0f}x")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="1,000 entries and fewer samples (a smoke test)")
    parser.add_argument("--size", type=int, default=None,
                        help="entries in the synthetic catalog (default 10,000)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    size = args.size or (1_000 if args.quick else 10_000)
    calls = 20_000 if args.quick else 200_000
    repeat = 5 if args.quick else 20
    with tempfile.TemporaryDirectory(prefix="policyeng-bench-") as tmp:
        os.environ["POLICYENG_CACHE_DIR"] = str(Path(tmp) / "cache")
        no_network()
        catalog = write_catalog(Path(tmp) / f"catalog-{size}.json", size)
        policy_file = Path(tmp) / "policies.yaml"
        policy_file.write_text(POLICY_FILE, encoding="utf-8")
        body = Path(catalog).read_bytes()
        json.loads(body)
        print(f"policyeng deployment benchmark: {size:,} entries, Python "
              f"{sys.version.split()[0]}, {os.cpu_count()} CPUs")
        memoized_select(str(policy_file), catalog, calls, repeat)
        stalled_source(str(policy_file), body, calls // 20)
        concurrent_expired(str(policy_file), body)
        naive_loop(calls // 20, repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
