"""6. Deployments: a long-running ``Resolver`` against the one-shot path.

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

Everything served comes from a server on 127.0.0.1 started here; while this
section runs, host names other than loopback fail to resolve in this process,
so nothing reaches the network. A count that is not exactly 1 is a failure of
the run (``ctx.fail``), not a missed target: it is a correctness property.
"""

from __future__ import annotations

import contextlib
import os
import socket
import statistics
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from benchmarks.baselines import P1
from benchmarks.context import TARGET_SIZE, Context, Target
from benchmarks.tables import fmt_time, print_table, progress

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


@contextlib.contextmanager
def no_network() -> Iterator[None]:
    """Host names other than loopback do not resolve in this process (as with no network)."""
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and host not in LOOPBACK:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]
    try:
        yield
    finally:
        socket.getaddrinfo = real  # type: ignore[assignment]


@contextlib.contextmanager
def environment(**values: str | None) -> Iterator[None]:
    """Set (or, with None, remove) environment variables for a while."""
    saved = {name: os.environ.get(name) for name in values}
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


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


def quietly(fn: Callable[[], Any]) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn()


def verdict(ok: bool | None) -> str:
    return "" if ok is None else ("PASS" if ok else "MISS")


def memoized_select(
    ctx: Context,
    rows: list[list[str]],
    policy_file: str,
    catalog: str,
    size: int,
    calls: int,
    repeat: int,
) -> None:
    import policyeng
    from policyeng.catalog import recent

    progress("deployments: memoized resolver.select vs one-shot book.select")
    with policyeng.Resolver(policy_file, catalog=catalog) as resolver:
        resolver.select("chat")
        samples = per_call(lambda: resolver.select("chat"), calls)
    timer = per_call(lambda: None, calls)
    book = policyeng.load_policies(policy_file)
    kept = median_of(lambda: book.select("chat", catalog=catalog), repeat)

    def reread() -> Any:
        recent.forget()
        return book.select("chat", catalog=catalog)

    before = median_of(reread, repeat)
    p50, p99 = percentile(samples, 0.5), percentile(samples, 0.99)
    fast, small = p50 <= 2e-6, p50 / before <= 1e-3
    rows += [
        ["resolver.select(name) p50, memoized", fmt_time(p50), "≤ 2 µs", verdict(fast)],
        ["resolver.select(name) p99", fmt_time(p99), "", ""],
        ["  (a perf_counter_ns pair alone, p50)", fmt_time(percentile(timer, 0.5)), "", ""],
        ["one-shot book.select, file kept in memory", fmt_time(kept), "", ""],
        ["one-shot book.select, file re-read every call (as before)", fmt_time(before), "", ""],
        ["resolver p50 ÷ one-shot as before", f"1/{before / p50:,.0f}", "≤ 1/1000", verdict(small)],
        ["resolver p50 ÷ one-shot, file in memory", f"1/{kept / p50:,.0f}", "", ""],
    ]
    ctx.targets.append(
        Target(f"resolver.select memoized p50, {size:,} entries", fmt_time(p50), "≤ 2 µs", fast)
    )
    ctx.targets.append(
        Target(
            "resolver.select p50 vs one-shot book.select as before",
            f"1/{before / p50:,.0f}",
            "≤ 1/1000",
            small,
        )
    )


def stalled_source(
    ctx: Context, rows: list[list[str]], policy_file: str, body: bytes, calls: int
) -> None:
    import policyeng

    progress("deployments: 16 threads select while the refresh is stuck")
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
                samples.extend(per_call(lambda: resolver.select("chat"), calls))

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
    if not stuck:
        ctx.fail("deployments: the refresh was not stuck while the threads selected")
    p99 = percentile(samples, 0.99)
    ok = p99 <= 1e-3
    rows += [
        [
            f"16 threads, refresh stuck: p50 of {len(samples):,}",
            fmt_time(percentile(samples, 0.5)),
            "",
            "",
        ],
        ["16 threads, refresh stuck: p99", fmt_time(p99), "≤ 1 ms", verdict(ok)],
        ["16 threads, refresh stuck: max", fmt_time(max(samples)), "", ""],
    ]
    ctx.targets.append(
        Target(
            "select p99, 16 threads, refresh stuck in a stalled fetch", fmt_time(p99), "≤ 1 ms", ok
        )
    )


def concurrent_expired(ctx: Context, rows: list[list[str]], policy_file: str, body: bytes) -> None:
    import policyeng
    from policyeng.catalog import recent
    from policyeng.catalog.response_cache import CatalogCache
    from policyeng.runtime.clock import ManualClock

    progress("deployments: requests reaching the source, 100 concurrent selects")
    source = Source(body)
    try:
        clock = ManualClock()
        with policyeng.Resolver(
            policy_file, catalog=source.url, clock=clock, refresh=60, jitter=lambda: 1.0
        ) as resolver:
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
            by_resolver = source.requests - before

        recent.forget()
        CatalogCache().write(source.url, body, fetched_at=time.time() - 3600)  # expired
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
        by_one_shot = source.requests - before
    finally:
        source.stop()
    for who, count in (("resolver", by_resolver), ("one-shot select", by_one_shot)):
        if count != 1:
            ctx.fail(
                f"deployments: {count} requests reached the source from 100 concurrent "
                f"{who} calls with an expired copy; exactly 1 expected"
            )
    rows += [
        [
            "requests per refresh, 100 concurrent resolver.select",
            str(by_resolver),
            "exactly 1",
            verdict(by_resolver == 1),
        ],
        [
            "requests, 100 concurrent one-shot policyeng.select",
            str(by_one_shot),
            "exactly 1",
            verdict(by_one_shot == 1),
        ],
    ]


def naive_loop(ctx: Context, rows: list[list[str]], calls: int, repeat: int) -> None:
    import policyeng
    from policyeng.catalog import recent

    progress("deployments: a naive loop of one-shot policyeng.select, no network")
    with environment(POLICYENG_CATALOG=None):
        recent.forget()
        start = time.perf_counter()
        quietly(lambda: policyeng.select(P1.text))
        first_call = time.perf_counter() - start
        samples = per_call(lambda: quietly(lambda: policyeng.select(P1.text)), calls)

        def as_before() -> Any:
            recent.forget()
            return quietly(lambda: policyeng.select(P1.text))

        before = median_of(as_before, min(repeat, 5))  # ~0.6 s a call
    each = statistics.median(samples)
    ok = each <= 1e-3
    rows += [
        ["naive loop, default chain, no network: first call", fmt_time(first_call), "", ""],
        [
            f"  each call after the first (median of {calls:,})",
            fmt_time(each),
            "≤ 1 ms",
            verdict(ok),
        ],
        ["  each call with the memory emptied first (as before)", fmt_time(before), "", ""],
    ]
    ctx.targets.append(
        Target(
            "one-shot policyeng.select loop, default chain, no network",
            fmt_time(each),
            "≤ 1 ms per call",
            ok,
            "after the first",
        )
    )


def run(ctx: Context) -> None:
    sizes = [case for case in ctx.synthetic if case.synthetic_size]
    case = next((c for c in sizes if c.synthetic_size == TARGET_SIZE), None) or max(
        sizes, key=lambda c: c.synthetic_size or 0
    )
    size = case.synthetic_size or 0
    calls = 20_000 if ctx.args.quick else 200_000
    repeat = 5 if ctx.args.quick else 20
    policy_file = ctx.tmp / "deployments.yaml"
    policy_file.write_text(POLICY_FILE, encoding="utf-8")
    body = Path(case.path).read_bytes()
    rows: list[list[str]] = []
    # Online, but with no network: the rows need URL sources (served on 127.0.0.1).
    with (
        no_network(),
        environment(POLICYENG_CACHE_DIR=str(ctx.tmp / "deployments-cache"), POLICYENG_OFFLINE=None),
    ):
        memoized_select(ctx, rows, str(policy_file), case.path, size, calls, repeat)
        stalled_source(ctx, rows, str(policy_file), body, calls // 20)
        concurrent_expired(ctx, rows, str(policy_file), body)
        naive_loop(ctx, rows, calls // 20, repeat)
    print_table(
        f"6. deployments: a long-running Resolver vs one-shot calls ({size:,} entries)",
        ["what", "measured", "target", ""],
        rows,
        [
            "resolver rows: each call timed alone with perf_counter_ns (its ~0.08 µs included)",
            "every source is a server on 127.0.0.1; other host names do "
            "not resolve during this section",
        ],
    )
