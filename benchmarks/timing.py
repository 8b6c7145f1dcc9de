"""How the benchmark times things: medians of repeated, interleaved samples.

In-process calls (``bench``, ``bench_many``) and fresh processes
(``bench_proc``, ``bench_procs``). Things whose times are divided by each
other are timed interleaved, so drifting load on a shared machine hits both
sides alike; every figure is the median of its samples after a warm-up.
"""

from __future__ import annotations

import math
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

perf = time.perf_counter


def bench(
    fn: Callable[[], Any],
    repeat: int,
    *,
    warmup: int = 1,
    min_sample: float = 0.002,
    budget: float | None = None,
) -> float:
    """Median seconds per call of `fn` over `repeat` samples, after `warmup` calls.

    Calls too fast for the clock are batched so each sample lasts at least
    `min_sample` seconds; `budget` (seconds) lowers the repeat count of slow
    calls so one row cannot eat the whole run.
    """
    t0 = perf()
    for _ in range(max(1, warmup)):
        fn()
    single = (perf() - t0) / max(1, warmup)
    number = 1 if single >= min_sample else max(1, math.ceil(min_sample / max(single, 1e-7)))
    if budget is not None and single * number * repeat > budget:
        repeat = max(1, int(budget / max(single * number, 1e-9)))
    samples = []
    for _ in range(repeat):
        t = perf()
        for _ in range(number):
            fn()
        samples.append((perf() - t) / number)
    return statistics.median(samples)


def bench_many(
    fns: dict[str, Callable[[], Any]],
    repeat: int,
    *,
    min_sample: float = 0.002,
    budgets: dict[str, float] | None = None,
) -> dict[str, float]:
    """`bench` of several functions, interleaved: median seconds per call of each.

    Each is warmed up and calibrated (batched to `min_sample`, its repeat count
    lowered to fit its `budgets` entry) on its own; then rounds take one sample
    of every function in a rotating order, so drifting load on a shared machine
    hits all of them alike and their ratios stay meaningful. Each sample follows
    one untimed call of the same function: the function timed just before it
    (jmespath touches far more memory) would otherwise have evicted its data
    from the CPU caches, which a tight loop of `bench` never does.
    """
    budgets = budgets or {}
    number: dict[str, int] = {}
    reps: dict[str, int] = {}
    for k, fn in fns.items():
        t0 = perf()
        fn()
        single = perf() - t0
        number[k] = 1 if single >= min_sample else math.ceil(min_sample / max(single, 1e-7))
        r = repeat
        b = budgets.get(k)
        if b is not None and single * number[k] * repeat > b:
            r = max(1, int(b / max(single * number[k], 1e-9)))
        reps[k] = r
    names = list(fns)
    samples: dict[str, list[float]] = {k: [] for k in names}
    for i in range(max(reps.values(), default=0)):
        for j in range(len(names)):
            k = names[(i + j) % len(names)]
            if i >= reps[k]:
                continue
            fn, n = fns[k], number[k]
            fn()  # untimed: brings this function's data back into the CPU caches
            t = perf()
            for _ in range(n):
                fn()
            samples[k].append((perf() - t) / n)
    return {k: statistics.median(v) for k, v in samples.items()}


@dataclass
class ProcResult:
    seconds: float
    returncode: int
    stdout: str
    stderr: str


def bench_proc(
    cmd: Sequence[str],
    repeat: int,
    *,
    env: dict | None = None,
    env_for_run: Callable[[], dict] | None = None,
    warmup: int = 1,
    cwd: str | None = None,
) -> ProcResult:
    """Median wall time of a fresh process running `cmd` (after `warmup` runs).

    `env_for_run`, when given, is called before every run (warm-up included),
    outside the timed region, for that run's environment (e.g. a fresh cache dir).
    """
    last = None
    for _ in range(max(1, warmup)):
        e = env_for_run() if env_for_run else env
        last = subprocess.run(cmd, capture_output=True, text=True, env=e, cwd=cwd)
    samples = []
    for _ in range(repeat):
        e = env_for_run() if env_for_run else env
        t = perf()
        last = subprocess.run(cmd, capture_output=True, text=True, env=e, cwd=cwd)
        samples.append(perf() - t)
    assert last is not None
    return ProcResult(statistics.median(samples), last.returncode, last.stdout, last.stderr)


@dataclass
class ProcSpec:
    cmd: Sequence[str]
    env: dict | None = None
    env_for_run: Callable[[], dict] | None = None


def bench_procs(specs: dict[str, ProcSpec], repeat: int) -> dict[str, ProcResult]:
    """`bench_proc` of several commands, interleaved: one warm-up each, then
    `repeat` rounds that run every command once (in a rotating order).

    On a shared machine the load drifts over seconds; interleaving puts the
    commands whose times are divided by each other under the same drift.
    """
    names = list(specs)
    last: dict[str, subprocess.CompletedProcess] = {}
    samples: dict[str, list[float]] = {k: [] for k in names}

    def once(k: str) -> float:
        spec = specs[k]
        e = spec.env_for_run() if spec.env_for_run else spec.env
        t = perf()
        last[k] = subprocess.run(spec.cmd, capture_output=True, text=True, env=e)
        return perf() - t

    for k in names:
        once(k)
    for r in range(repeat):
        for j in range(len(names)):
            k = names[(r + j) % len(names)]
            samples[k].append(once(k))
    return {
        k: ProcResult(
            statistics.median(samples[k]), last[k].returncode, last[k].stdout, last[k].stderr
        )
        for k in names
    }
