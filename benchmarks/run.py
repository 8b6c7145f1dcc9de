#!/usr/bin/env python3
"""policyeng benchmark: ratios measured in one run.

    python benchmarks/run.py            # full run (< 5 minutes on 2 cores)
    python benchmarks/run.py --quick    # 100 and 1,000 entries, ~10 s smoke test
    python benchmarks/run.py --sizes 1000,10000 --repeat 5

Every number printed next to a target is a *ratio* of two things timed in
this same run on this same machine (medians of repeated runs after a
warm-up), so results from different machines can be compared.  Sections:

1. in-process selection: compiled policy vs a hand-written floor, jmespath
   and cel-python, on synthetic and real catalogs -- and all must pick the
   same model (a mismatch is printed loudly and the exit code is 1);
2. parse + check + compile of a ~100-character policy, new text and cached;
3. the whole command as a fresh process: `policyeng select EXPR --catalog FILE`
   (text output, validation memo warm and cold) vs jq and vs json.load, and
   on `--catalog builtin` vs `python -c "import json"`; `policyeng check DIR`;
4. scaling: µs per entry of load_catalog (cold and warm memo) and of
   selection, 100 -> 100,000;
5. peak RSS of load_catalog vs json.load of a 100,000-entry file.

Every subprocess runs with POLICYENG_CATALOG=builtin, POLICYENG_OFFLINE=1,
a POLICYENG_CACHE_DIR of this run's own, and without PYTHONDONTWRITEBYTECODE
(see subprocess_env); nothing touches the network or the user's cache.

Exit codes: 0 done (targets missed are reported, not fatal); 1 a pick
mismatch or an engine error; 2 bad usage.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.baselines import POLICIES  # noqa: E402
from benchmarks.synthetic import DEFAULT_SEED, write_catalog  # noqa: E402

REAL_CATALOG_DIR = REPO.parent / "shared" / "catalogs"
FULL_SIZES = (100, 1_000, 10_000, 100_000)
QUICK_SIZES = (100, 1_000)
TARGET_SIZE = 10_000  # the size the selection and process targets are defined at
BIG = 10_000  # rows above this size use fewer repeats

perf = time.perf_counter


# ---------------------------------------------------------------------------
# timing
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# formatting
# ---------------------------------------------------------------------------


def fmt_time(s: float | None) -> str:
    if s is None:
        return "-"
    us = s * 1e6
    if us < 1000:
        return f"{us:.3g} µs" if us >= 1 else f"{us:.2f} µs"
    if us < 1e6:
        return f"{us / 1000:.3g} ms"
    return f"{us / 1e6:.3g} s"


def fmt_ratio(r: float | None) -> str:
    if r is None:
        return "-"
    return f"{r:.3g}x" if r < 100 else f"{r:.0f}x"


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def print_table(
    title: str, headers: Sequence[str], rows: Sequence[Sequence[str]], notes: Sequence[str] = ()
) -> None:
    print()
    print(title)
    print("=" * len(title))
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    line = "  ".join(h.ljust(widths[i]) for i, h in enumerate(headers))
    print(line.rstrip())
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(c.ljust(widths[i]) for i, c in enumerate(row)).rstrip())
    for n in notes:
        print(f"  note: {n}")
    sys.stdout.flush()


def progress(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def short(name: str | None, width: int = 44) -> str:
    if name is None:
        return "(none)"
    return name if len(name) <= width else name[: width - 1] + "…"


# ---------------------------------------------------------------------------
# bookkeeping
# ---------------------------------------------------------------------------


@dataclass
class Target:
    what: str
    measured: str
    target: str
    ok: bool | None  # None: could not be measured
    where: str = ""


@dataclass
class Run:
    targets: list[Target] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # mismatches and engine errors
    notes: list[str] = field(default_factory=list)

    def fail(self, msg: str) -> None:
        self.failures.append(msg)
        bar = "!" * 78
        print(f"\n{bar}\nMISMATCH / ERROR: {msg}\n{bar}", flush=True)
        print(f"MISMATCH / ERROR: {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# the engine (optional until it exists), jmespath, cel
# ---------------------------------------------------------------------------


def import_engine(run: Run):
    try:
        import policyeng

        policyeng.compile  # noqa: B018 -- the API the benchmark needs
        policyeng.load_catalog  # noqa: B018
        return policyeng
    except Exception as exc:
        run.notes.append(
            f"policyeng not importable ({type(exc).__name__}: {exc}); engine rows skipped"
        )
        return None


class PlainCatalog:
    """Stand-in for policyeng.Catalog when the engine is absent: json.load only."""

    def __init__(self, path: str) -> None:
        with open(path, encoding="utf-8") as f:
            self.entries = json.load(f)


def load_quietly(loader: Callable[[str], Any], path: str) -> tuple[Any, int]:
    """Load a catalog, swallowing its warnings (counted) so they do not mix into the table."""
    buf = io.StringIO()
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stderr(buf):
        warnings.simplefilter("always")
        cat = loader(path)
    n_warn = len(caught) + sum(1 for line in buf.getvalue().splitlines() if line.strip())
    return cat, n_warn


def selection_name(sel: Any) -> str | None:
    if sel is None:
        return None
    return getattr(sel, "model_name", None)


def engine_pick(policy: Any, catalog: Any) -> tuple[str | None, str | None]:
    """(model_name or None, error text or None) of one compiled selection."""
    try:
        return selection_name(policy.select(catalog)), None
    except Exception as exc:
        return None, f"{type(exc).__name__}: {exc}"


def try_cel(run: Run):
    try:
        import celpy

        env = celpy.Environment()
        env.program(env.compile("1 + 1 == 2")).evaluate({})
        return celpy
    except Exception as exc:
        run.notes.append(
            f"cel-python unavailable ({type(exc).__name__}: {exc});"
            " `pip install cel-python` to add it; CEL columns skipped"
        )
        return None


def try_jmespath(run: Run):
    try:
        import jmespath

        return jmespath
    except Exception as exc:
        run.notes.append(
            f"jmespath unavailable ({exc}); `pip install jmespath`; jmespath columns skipped"
        )
        return None


# ---------------------------------------------------------------------------
# the environment of every subprocess
# ---------------------------------------------------------------------------


def subprocess_env(cache_dir: Path) -> dict:
    """The environment of every process the benchmark starts.

    - POLICYENG_CATALOG=builtin and POLICYENG_OFFLINE=1: no run ever touches the
      network (every command also names its --catalog);
    - POLICYENG_CACHE_DIR: the run's own temp dir, so memos never land in (or
      come from) the user's cache; the "cold" rows replace it per run;
    - PYTHONDONTWRITEBYTECODE removed: with it, every fresh process would
      recompile every module it imports from source, which a normal
      installation does not do (warm_bytecode writes the .pyc files once);
    - the repository first on PYTHONPATH, so `python -c "import policyeng"`
      imports the code being measured.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["POLICYENG_CATALOG"] = "builtin"
    env["POLICYENG_OFFLINE"] = "1"
    env["POLICYENG_CACHE_DIR"] = str(cache_dir)
    env["PYTHONPATH"] = str(REPO) + (
        os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""
    )
    return env


def warm_bytecode(engine, env: dict) -> str:
    """Write the .pyc files of policyeng (and of what its CLI imports) once; a line to print."""
    was = os.environ.get("PYTHONDONTWRITEBYTECODE")
    parts = []
    if engine is not None:
        pkg = Path(engine.__file__).parent
        out = subprocess.run(
            [sys.executable, "-m", "compileall", "-q", str(pkg)],
            capture_output=True,
            text=True,
            env=env,
        )
        parts.append(f"compileall {pkg.name}: exit {out.returncode}")
        # Imports outside the package (yaml, platformdirs, filelock, stdlib) get
        # their .pyc written by one run of each command (plus each row's warm-up).
        for code in ("import policyeng.cli", "import json"):
            subprocess.run([sys.executable, "-c", code], capture_output=True, env=env)
    state = (
        f"PYTHONDONTWRITEBYTECODE={was!r} in this environment"
        if was
        else ("PYTHONDONTWRITEBYTECODE not set")
    )
    return (
        f"bytecode: {state}; removed from every subprocess's environment;"
        f" .pyc warmed ({'; '.join(parts) or 'engine absent'})"
    )


def load_average(during_run: bool = False) -> str:
    """The 1/5/15-minute load average, flagged when other work competes for the CPUs.

    At the end of a run the figure includes the benchmark itself (about one
    busy CPU), so it is flagged above half the CPUs plus one; at the start,
    above half the CPUs.
    """
    try:
        one, five, fifteen = os.getloadavg()
    except (AttributeError, OSError):
        return "unknown"
    n = os.cpu_count() or 1
    own = 1.0 if during_run else 0.0
    busy = "  << HIGH: other work shares the CPUs, timings are noisy" if one > 0.5 * n + own else ""
    self_note = ", this run included" if during_run else ""
    return f"{one:.2f} {five:.2f} {fifteen:.2f} (1/5/15 min, {n} CPUs{self_note}){busy}"


# ---------------------------------------------------------------------------
# section 1 + the selection half of section 4
# ---------------------------------------------------------------------------


@dataclass
class CatalogCase:
    label: str
    path: str
    synthetic_size: int | None  # None for a real catalog


def section_selection(run: Run, args, engine, cases: list[CatalogCase], jm, celpy) -> dict:
    """Section 1; returns the timings and the loaded catalogs for the later sections."""
    headers = [
        "catalog",
        "entries",
        "policy",
        "floor",
        "policyeng",
        "peng/floor",
        "jmespath",
        "jmes/peng",
        "cel",
        "cel/peng",
        "pick (all agree)",
    ]
    rows: list[list[str]] = []
    notes: list[str] = []
    timings: dict[tuple[str, str], dict[str, float | None]] = {}
    loaded: dict[str, tuple[int, Any]] = {}
    cel_env = celpy.Environment() if celpy else None
    cel_skipped = []

    for case in cases:
        progress(f"selection: loading {case.label}")
        loader = engine.load_catalog if engine else PlainCatalog
        try:
            cat, n_warn = load_quietly(loader, case.path)
        except Exception as exc:
            run.fail(f"load_catalog({case.path}) raised {type(exc).__name__}: {exc}")
            continue
        entries = cat.entries
        n = len(entries)
        loaded[case.label] = (n, cat)
        if n_warn:
            notes.append(
                f"{case.label}: load_catalog emitted {n_warn} warning(s)"
                " (invalid or duplicate entries skipped)"
            )
        big = n > BIG
        rep = min(args.repeat, 3) if big else args.repeat
        plain_entries = [dict(e) for e in entries]  # jmespath/cel want plain dicts
        cel_entries = celpy.json_to_cel(plain_entries) if (celpy and n <= args.cel_max) else None

        for pol in POLICIES:
            progress(f"selection: {case.label} {pol.name}")
            t: dict[str, float | None] = {
                "floor": None,
                "engine": None,
                "jmes": None,
                "cel": None,
            }
            picks: dict[str, str | None] = {}

            picks["floor"] = pol.floor(entries)
            # floor, policyeng and jmespath are timed interleaved (bench_many), so a
            # burst of load on a shared machine hits the three columns alike.
            fns: dict[str, Callable[[], Any]] = {"floor": lambda f=pol.floor, es=entries: f(es)}
            budgets: dict[str, float] = {}

            if engine:
                try:
                    compiled = engine.compile(pol.text)
                except Exception as exc:
                    run.fail(f"policyeng.compile({pol.name}) raised {type(exc).__name__}: {exc}")
                    compiled = None
                if compiled is not None:
                    name, err = engine_pick(compiled, cat)
                    if err and picks["floor"] is not None:
                        run.fail(
                            f"{case.label} {pol.name}: policyeng select raised {err}"
                            f" (floor picks {picks['floor']})"
                        )
                    elif err:
                        notes.append(
                            f"{case.label} {pol.name}: nothing matches;"
                            f" policyeng raised {err.split(':')[0]}"
                        )
                    picks["policyeng"] = name
                    if err is None:
                        fns["engine"] = lambda p=compiled, c=cat: p.select(c)
                    elif (
                        picks["floor"] is None
                    ):  # nothing matches and the engine says so by raising
                        fns["engine"] = lambda p=compiled, c=cat: engine_pick(p, c)

            if jm:
                expr = jm.compile(pol.jmespath)
                picks["jmespath"] = expr.search(plain_entries)
                fns["jmes"] = lambda x=expr, es=plain_entries: x.search(es)
                budgets["jmes"] = 20
            t.update(bench_many(fns, rep, budgets=budgets))

            if cel_entries is not None:
                prog = cel_env.program(
                    cel_env.compile(f"entries.filter(e, {pol.cel_filter}).map(e, e.model_name)")
                )
                by_name = {e["model_name"]: e for e in plain_entries}
                activation = {"entries": cel_entries}

                def cel_select(prog=prog, by_name=by_name, activation=activation, pol=pol):
                    cands = [by_name[str(m)] for m in prog.evaluate(activation)]
                    return min(cands, key=pol.rank_key)["model_name"] if cands else None

                picks["cel"] = cel_select()
                t["cel"] = bench(cel_select, min(rep, 3), budget=10)
            elif celpy and pol is POLICIES[0]:
                cel_skipped.append(case.label)

            distinct = {v for v in picks.values()}
            if len(distinct) > 1:
                run.fail(
                    f"{case.label} {pol.name}: picks differ: "
                    + ", ".join(f"{k}={v!r}" for k, v in picks.items())
                )
                pick_cell = "MISMATCH " + "; ".join(f"{k}={short(v, 30)}" for k, v in picks.items())
            else:
                pick_cell = short(picks["floor"])

            timings[(case.label, pol.name)] = t
            rows.append(
                [
                    case.label,
                    f"{n:,}",
                    pol.name,
                    fmt_time(t["floor"]),
                    fmt_time(t["engine"]),
                    fmt_ratio(ratio(t["engine"], t["floor"])),
                    fmt_time(t["jmes"]),
                    fmt_ratio(ratio(t["jmes"], t["engine"])),
                    fmt_time(t["cel"]),
                    fmt_ratio(ratio(t["cel"], t["engine"])),
                    pick_cell,
                ]
            )

    if cel_skipped:
        notes.append(
            f"cel-python (~1 ms/entry) runs only on catalogs of ≤ {args.cel_max:,} entries"
            f" (--cel-max); skipped on: {', '.join(cel_skipped)}"
        )
    notes.append(
        "floor = list comprehension + min, same semantics;"
        " targets (at 10,000): peng/floor ≤ 1.5x, jmes/peng ≥ 20x"
    )
    notes.append(
        "cel: CEL filter (entries.filter) + the floor's ranking key in Python (CEL cannot sort)"
    )
    print_table(
        "1. In-process selection (catalog already loaded; median per selection)",
        headers,
        rows,
        notes,
    )

    # Targets at 10,000 entries (or the nearest synthetic size measured).
    syn = [c for c in cases if c.synthetic_size is not None and c.label in loaded]
    if syn and engine:
        at = min(
            syn,
            key=lambda c: (
                abs(math.log10(c.synthetic_size) - math.log10(TARGET_SIZE)),
                -c.synthetic_size,
            ),
        )
        where = (
            ""
            if at.synthetic_size == TARGET_SIZE
            else f"measured at {at.synthetic_size:,}, target is for 10,000"
        )
        for pol in POLICIES:
            t = timings.get((at.label, pol.name))
            if not t:
                continue
            r = ratio(t["engine"], t["floor"])
            run.targets.append(
                Target(
                    f"compiled selection vs floor, {pol.name} @ {at.synthetic_size:,}",
                    fmt_ratio(r),
                    "≤ 1.5x",
                    None if r is None else r <= 1.5,
                    where,
                )
            )
            r = ratio(t["jmes"], t["engine"])
            run.targets.append(
                Target(
                    f"compiled selection faster than jmespath, {pol.name} @ {at.synthetic_size:,}",
                    fmt_ratio(r),
                    "≥ 20x",
                    None if r is None else r >= 20,
                    where,
                )
            )
    return {"timings": timings, "loaded": loaded}


# ---------------------------------------------------------------------------
# section 2: compile
# ---------------------------------------------------------------------------

# A typical ~100-character policy; "32k" is replaced by a fresh literal for the uncached rows.
COMPILE_TEXT = (
    "supports tool_use and healthy and context_window >= 32k and output_per_mtok < 2"
    " order by input_per_mtok"
)


def find_uncached(engine) -> tuple[Callable[[str], Any] | None, str]:
    """The engine's own uncached compile, if it exposes one (for an info row)."""
    import importlib

    for modname in ("policyeng", "policyeng.engine", "policyeng.language.codegen"):
        try:
            mod = importlib.import_module(modname)
        except Exception:
            continue
        for attr in ("compile_uncached", "_compile_uncached"):
            fn = getattr(mod, attr, None)
            if callable(fn):
                return fn, f"{modname}.{attr}"
    wrapped = getattr(engine.compile, "__wrapped__", None)  # functools.lru_cache
    if callable(wrapped):
        return wrapped, "policyeng.compile.__wrapped__"
    return None, ""


def section_compile(run: Run, args, engine, cli_env: dict) -> None:
    headers = ["what", "median", "target", ""]
    rows: list[list[str]] = []
    notes = [
        f"policy ({len(COMPILE_TEXT)} chars): {COMPILE_TEXT}",
        "new text = the public policyeng.compile on a text never seen before"
        " (a different numeric literal each call)",
    ]
    if engine is None:
        print_table(
            "2. Parse + check + compile", headers, [["policyeng not importable", "-", "-", ""]]
        )
        return
    progress("compile")
    counter = iter(range(1, 10**9))

    def new_text() -> str:
        return COMPILE_TEXT.replace("32k", str(32_000 + next(counter)))

    try:
        engine.compile(COMPILE_TEXT)
        engine.compile(new_text())
    except Exception as exc:
        run.fail(f"policyeng.compile raised {type(exc).__name__}: {exc}")
        return

    # Fresh texts, prepared outside the timed region; one text per call.
    batch = 50
    samples = []
    for _ in range(max(3, args.repeat)):
        texts = [new_text() for _ in range(batch)]
        t = perf()
        for s in texts:
            engine.compile(s)
        samples.append((perf() - t) / batch)
    uncached = statistics.median(samples)
    ok = uncached <= 200e-6
    rows.append(
        ["compile, first time (new text)", fmt_time(uncached), "≤ 200 µs", "PASS" if ok else "MISS"]
    )
    run.targets.append(
        Target("compile uncached (new ~100-char text)", fmt_time(uncached), "≤ 200 µs", ok)
    )

    fn, fn_name = find_uncached(engine)
    if fn is not None:
        try:
            fn(COMPILE_TEXT)
            t_int = bench(lambda: fn(COMPILE_TEXT), args.repeat)
            rows.append([f"internal uncached path {fn_name}", fmt_time(t_int), "(info)", ""])
        except Exception as exc:
            notes.append(f"{fn_name}(text) raised {type(exc).__name__}: {exc}; not timed")

    cached = bench(lambda: engine.compile(COMPILE_TEXT), args.repeat)
    ok = cached <= 5e-6
    rows.append(
        ["compile, cached (same text again)", fmt_time(cached), "≤ 5 µs", "PASS" if ok else "MISS"]
    )
    run.targets.append(Target("compile cached (same text)", fmt_time(cached), "≤ 5 µs", ok))

    # Cold: a fresh interpreter, import + the first compile (builds the parser).
    code = (
        "import time, sys; t0 = time.perf_counter(); import policyeng; t1 = time.perf_counter();"
        " policyeng.compile(sys.argv[1]); t2 = time.perf_counter(); print(t1 - t0, t2 - t1)"
    )
    imp, first = [], []
    for _ in range(3 if args.quick else 5):
        out = subprocess.run(
            [sys.executable, "-c", code, COMPILE_TEXT], capture_output=True, text=True, env=cli_env
        )
        if out.returncode != 0:
            notes.append(f"cold compile subprocess failed: {out.stderr.strip().splitlines()[-1:]}")
            break
        a, b = out.stdout.split()
        imp.append(float(a))
        first.append(float(b))
    if imp:
        rows.append(
            ["fresh process: import policyeng", fmt_time(statistics.median(imp)), "(info)", ""]
        )
        rows.append(
            [
                "fresh process: first compile (parser build)",
                fmt_time(statistics.median(first)),
                "(info)",
                "",
            ]
        )
    print_table("2. Parse + check + compile (median per compile)", headers, rows, notes)


# ---------------------------------------------------------------------------
# section 3: whole command as a fresh process
# ---------------------------------------------------------------------------

# Twenty of these are generated for the `policyeng check DIR` row, in the format
# of the repository's policies/*.yaml (schema comment, descriptions, fallbacks, expect).
POLICY_FILE_TEMPLATE = """\
# yaml-language-server: $schema=../schemas/policy.schema.json
# generated by benchmarks/run.py (team {i})
version: 1
policies:
  chat-{i}:
    description: Cheapest healthy tool-calling chat model under ${price} per million output tokens
    where: supports tool_use and output_per_mtok < {price} and healthy
    order_by: [output_per_mtok, context_window desc]
    fallback: general-{i}
    expect:
      endpoint: /v1/chat/completions
  long-context-{i}:
    description: Text or code with at least {ctx}k tokens of context, no vision
    where: category in ["text", "code"] and context_window >= {ctx}k and not supports vision
    order_by: [3 * input_per_mtok + output_per_mtok, model_name]
    fallback: [general-{i}]
    expect:
      endpoint: /v1/chat/completions
  embed-{i}:
    description: Cheapest healthy embedding model
    where: supports embeddings and healthy
    order_by: [input_per_mtok]
    expect:
      endpoint: /v1/embeddings
      category: embedding
  general-{i}:
    description: Any healthy chat model, cheapest output first
    where: supports chat and healthy
    order_by: [output_per_mtok, model_name]
    expect:
      min_candidates: 2
      endpoint: /v1/chat/completions
"""


def cli_command(env: dict) -> list[str]:
    """The installed console script of this interpreter's environment, else `python -m policyeng`.

    The script beside sys.executable is preferred to whatever `policyeng` is first
    on PATH: a version-manager shim (pyenv) would add its own start-up to every run.
    """
    beside = Path(sys.executable).parent / ("policyeng.exe" if os.name == "nt" else "policyeng")
    if beside.is_file() and os.access(beside, os.X_OK):
        return [str(beside)]
    return [sys.executable, "-m", "policyeng"]


def script_interpreter(cli: list[str]) -> str | None:
    """The interpreter named on the console script's `#!` line (None for `python -m`)."""
    if len(cli) != 1:
        return None
    try:
        with open(cli[0], "rb") as f:
            first = f.readline().decode("utf-8", "replace").strip()
    except OSError:
        return None
    return first[2:].split()[0] if first.startswith("#!") and first[2:].split() else None


def first_word(res: ProcResult) -> str | None:
    """The pick of `policyeng select`'s text output: the first word of stdout (None on exit 1)."""
    if res.returncode != 0:
        return None
    words = res.stdout.split()
    return words[0] if words else None


def section_process(run: Run, args, engine, cases: list[CatalogCase], tmp: Path, env: dict) -> None:
    """Section 3: the whole command, as a fresh process, vs jq and vs the interpreter."""
    headers = ["what", "entries", "policy", "median", "÷ jq", "÷ json.load", "target", ""]
    rows: list[list[str]] = []
    notes: list[str] = []
    cli = cli_command(env)
    notes.append(f"policyeng command: {' '.join(cli)}")
    have_jq = shutil.which("jq") is not None
    if not have_jq:
        notes.append("jq not on PATH: jq rows and the jq target skipped")
    probe = subprocess.run([*cli, "--help"], capture_output=True, text=True, env=env)
    cli_ok = probe.returncode == 0
    if not cli_ok:
        notes.append(
            f"`{' '.join(cli)} --help` exited {probe.returncode}: policyeng process rows skipped "
            f"({(probe.stderr.strip().splitlines() or [''])[-1][:120]})"
        )
    proc_rep = args.proc_repeat
    warm_dir = env["POLICYENG_CACHE_DIR"]
    cold_root = tmp / "cold-caches"
    cold_root.mkdir(exist_ok=True)

    def cold_env() -> dict:
        """A fresh, empty POLICYENG_CACHE_DIR: nothing remembered, every run validates."""
        e = dict(env)
        e["POLICYENG_CACHE_DIR"] = tempfile.mkdtemp(prefix="c-", dir=cold_root)
        return e

    json_floor_code = "import json, sys; json.load(open(sys.argv[1], encoding='utf-8'))"
    sizes = [c for c in cases if c.synthetic_size in (1_000, 10_000)]
    if not sizes:
        notes.append("no 1,000 or 10,000 synthetic size in --sizes: per-file rows skipped")
    policies = POLICIES if not args.quick else POLICIES[:1]
    jq_times: dict[tuple[str, str], float] = {}
    for case in sizes:
        n_label = f"{case.synthetic_size:,}"
        with open(case.path, encoding="utf-8") as f:
            raw = json.load(f)
        floor_json = bench_proc(
            [sys.executable, "-c", json_floor_code, case.path], proc_rep, env=env
        )
        rows.append(
            [
                "python -c 'json.load(FILE)'",
                n_label,
                "-",
                fmt_time(floor_json.seconds),
                "",
                "",
                "(floor)",
                "",
            ]
        )
        is_target = case.synthetic_size == TARGET_SIZE or (args.quick and case is sizes[-1])
        where_size = (
            ""
            if case.synthetic_size == TARGET_SIZE
            else f"measured at {n_label}, target is for 10,000; "
        )
        for pol in policies:
            progress(f"process: {case.label} {pol.name}")
            expected = pol.floor(raw)
            cmd = [*cli, "select", pol.text, "--catalog", case.path]
            specs: dict[str, ProcSpec] = {}
            if have_jq:
                specs["jq"] = ProcSpec(["jq", "-c", pol.jq, case.path], env)
            if cli_ok:
                specs["warm"] = ProcSpec(cmd, env)
                specs["cold"] = ProcSpec(cmd, env_for_run=cold_env)
            measured = bench_procs(specs, proc_rep)
            jq_res = measured.get("jq")
            if jq_res is not None:
                try:
                    jq_pick = json.loads(jq_res.stdout) if jq_res.returncode == 0 else None
                except ValueError:
                    jq_pick = f"<unreadable: {jq_res.stdout[:60]!r}>"
                if jq_res.returncode != 0:
                    jq_pick = f"<jq exit {jq_res.returncode}>"
                if jq_pick != expected:
                    run.fail(
                        f"{case.label} {pol.name}: jq picks {jq_pick!r}, floor picks {expected!r}"
                    )
                jq_times[(case.label, pol.name)] = jq_res.seconds
                rows.append(
                    [
                        f"jq -c '{pol.name} filter | sort_by | .[0].model_name'",
                        n_label,
                        pol.name,
                        fmt_time(jq_res.seconds),
                        "",
                        "",
                        "",
                        "",
                    ]
                )
            if not cli_ok:
                continue
            results: dict[str, ProcResult] = {}
            for variant in ("warm", "cold"):
                res = measured[variant]
                if res.returncode not in (0, 1):
                    run.fail(
                        f"policyeng select {pol.name} --catalog {case.label} ({variant})"
                        f" exited {res.returncode}: {res.stderr.strip()[:300]}"
                    )
                    break
                got = first_word(res)
                if got != expected:
                    run.fail(
                        f"{case.label} {pol.name} ({variant}): `policyeng select` picks {got!r},"
                        f" floor picks {expected!r}"
                    )
                results[variant] = res
            if len(results) < 2:
                continue
            warm, cold = results["warm"], results["cold"]
            r_warm = ratio(warm.seconds, jq_res.seconds) if jq_res else None
            r_cold = ratio(cold.seconds, jq_res.seconds) if jq_res else None
            verdict = ""
            if is_target and r_warm is not None:
                verdict = "PASS" if r_warm <= 1.0 else "MISS"
                run.targets.append(
                    Target(
                        f"`policyeng select` process (warm memo) vs jq, {pol.name} @ {n_label}",
                        fmt_ratio(r_warm),
                        "≤ 1x jq",
                        r_warm <= 1.0,
                        f"{where_size}cold (validates every run): {fmt_ratio(r_cold)}",
                    )
                )
            rows.append(
                [
                    f"policyeng select {pol.name} --catalog FILE, warm",
                    n_label,
                    pol.name,
                    fmt_time(warm.seconds),
                    fmt_ratio(r_warm),
                    fmt_ratio(ratio(warm.seconds, floor_json.seconds)),
                    "≤ 1x jq" if is_target else "",
                    verdict,
                ]
            )
            rows.append(
                [
                    f"policyeng select {pol.name} --catalog FILE, cold",
                    n_label,
                    pol.name,
                    fmt_time(cold.seconds),
                    fmt_ratio(r_cold),
                    fmt_ratio(ratio(cold.seconds, floor_json.seconds)),
                    "(info)" if is_target else "",
                    "",
                ]
            )
        # One information row: the JSON output of the best candidate (not jq's job).
        if cli_ok and case is sizes[-1]:
            pol = policies[0]
            progress(f"process: {case.label} {pol.name} --json --top 1")
            res = bench_proc(
                [*cli, "select", pol.text, "--catalog", case.path, "--json", "--top", "1"],
                proc_rep,
                env=env,
            )
            expected = pol.floor(raw)
            try:
                got = json.loads(res.stdout)["model_name"] if res.returncode == 0 else None
            except (ValueError, KeyError, TypeError) as exc:
                got = f"<unreadable --json output: {exc}>"
            if res.returncode not in (0, 1) or got != expected:
                run.fail(
                    f"{case.label} {pol.name} --json --top 1: exit {res.returncode},"
                    f" picks {got!r}, floor picks {expected!r} {res.stderr.strip()[:200]}"
                )
            else:
                jq_s = jq_times.get((case.label, pol.name))
                rows.append(
                    [
                        f"policyeng select {pol.name} --catalog FILE --json --top 1, warm",
                        n_label,
                        pol.name,
                        fmt_time(res.seconds),
                        fmt_ratio(ratio(res.seconds, jq_s)),
                        fmt_ratio(ratio(res.seconds, floor_json.seconds)),
                        "(info)",
                        "",
                    ]
                )
    memos = sorted(Path(warm_dir).glob("*.validated"))
    notes.append(
        f"warm = one POLICYENG_CACHE_DIR reused by every run: after the warm-up run the"
        f" validation memo (*.validated) is hit ({len(memos)} memo file(s) in it now);"
        " cold = a fresh empty POLICYENG_CACHE_DIR per run: every run validates every entry"
        " and writes the memo"
    )
    notes.append(
        "text output (`MODEL  ENDPOINT`): its first word is checked against the floor's pick;"
        " the --json row prints the selection as indented JSON (information only)"
    )
    notes.append(
        f"median wall time of a fresh process, {proc_rep} runs after 1 warm-up, the jq, warm"
        " and cold runs of a row group interleaved; every subprocess:"
        " POLICYENG_CATALOG=builtin, POLICYENG_OFFLINE=1, PYTHONDONTWRITEBYTECODE unset"
    )
    print_table("3a. Whole command on a catalog file, as a fresh process", headers, rows, notes)
    section_startup(run, args, engine, cli, cli_ok, tmp, env)


def section_startup(
    run: Run, args, engine, cli: list[str], cli_ok: bool, tmp: Path, env: dict
) -> None:
    """Section 3b: start-up on the builtin catalog, vs the same interpreter doing `import json`."""
    headers = ["what", "median", "÷ import json", "target", ""]
    rows: list[list[str]] = []
    notes: list[str] = []
    proc_rep = args.proc_repeat
    progress("process: builtin")
    interp = script_interpreter(cli)
    same = interp is None or os.path.realpath(interp) == os.path.realpath(sys.executable)
    notes.append(
        f"interpreter: {sys.executable}"
        + ("" if interp is None else f"; the console script's #! is {interp}")
        + ("" if same else " (NOT the same interpreter: the ratio compares different pythons)")
    )
    pol = POLICIES[0]
    specs = {
        "json": ProcSpec([sys.executable, "-c", "import json"], env),
        "peng": ProcSpec([sys.executable, "-c", "import policyeng"], env),
    }
    if cli_ok:
        specs["select"] = ProcSpec([*cli, "select", pol.text, "--catalog", "builtin"], env)
    measured = bench_procs(specs, proc_rep)
    imp_json, imp_peng = measured["json"], measured["peng"]
    rows.append(["python -c 'import json'", fmt_time(imp_json.seconds), "", "(floor)", ""])
    if imp_peng.returncode != 0:
        notes.append(f"python -c 'import policyeng' exited {imp_peng.returncode}")
    else:
        rows.append(
            [
                "python -c 'import policyeng'",
                fmt_time(imp_peng.seconds),
                fmt_ratio(ratio(imp_peng.seconds, imp_json.seconds)),
                "(info)",
                "",
            ]
        )
    if not cli_ok:
        print_table("3b. Start-up: builtin catalog, as a fresh process", headers, rows, notes)
        return
    expected = None
    if engine is not None:
        try:
            cat, _ = load_quietly(engine.load_catalog, "builtin")
            expected = pol.floor(cat.entries)
        except Exception as exc:
            run.fail(f"load_catalog('builtin') raised {type(exc).__name__}: {exc}")
    res = measured["select"]
    got = first_word(res)
    if res.returncode not in (0, 1):
        run.fail(
            f"policyeng select P1 --catalog builtin exited {res.returncode}:"
            f" {res.stderr.strip()[:300]}"
        )
    else:
        if engine is not None and got != expected:
            run.fail(f"builtin P1: `policyeng select` picks {got!r}, floor picks {expected!r}")
        r = ratio(res.seconds, imp_json.seconds)
        ok = r is not None and r <= 2.0
        rows.append(
            [
                f"policyeng select {pol.name} --catalog builtin",
                fmt_time(res.seconds),
                fmt_ratio(r),
                "≤ 2x",
                "PASS" if ok else "MISS",
            ]
        )
        run.targets.append(
            Target(
                "`policyeng select` on builtin vs python -c 'import json'",
                fmt_ratio(r),
                "≤ 2x",
                ok,
                "same interpreter" if same else "different interpreters",
            )
        )

    # policyeng check DIR: 20 generated policy files (4 policies each) on builtin.
    has_check = (
        subprocess.run(
            [*cli, "check", "--help"], capture_output=True, text=True, env=env
        ).returncode
        == 0
    )
    if not has_check:
        notes.append("`policyeng check` not available: check row skipped")
    else:
        pdir = tmp / "policies"
        pdir.mkdir(exist_ok=True)
        for i in range(20):
            (pdir / f"team-{i:02d}.yaml").write_text(
                POLICY_FILE_TEMPLATE.format(i=i, price=round(0.5 + i * 0.25, 2), ctx=8 + 4 * i),
                encoding="utf-8",
            )
        progress("process: check")
        res = bench_proc([*cli, "check", str(pdir), "--catalog", "builtin"], proc_rep, env=env)
        if res.returncode != 0:
            run.fail(
                f"policyeng check DIR --catalog builtin exited {res.returncode}:"
                f" {(res.stdout + res.stderr).strip()[-400:]}"
            )
        rows.append(
            [
                f"policyeng check DIR --catalog builtin (20 files, exit {res.returncode})",
                fmt_time(res.seconds),
                fmt_ratio(ratio(res.seconds, imp_json.seconds)),
                "(info)",
                "",
            ]
        )
        notes.append(
            "check DIR: 20 generated files like policies/*.yaml, 4 policies each"
            " (fallbacks, expect); all 80 must pass (exit 0)"
        )
    if has_check:
        section_fallback_chain(run, args, cli, tmp, env, rows, notes)
    notes.append(
        f"median wall time of a fresh process, {proc_rep} runs after 1 warm-up;"
        " the first three rows interleaved"
    )
    print_table("3b. Start-up: builtin catalog, as a fresh process", headers, rows, notes)


def fallback_chain_file(length: int) -> str:
    """A policy file whose policies fall back along one chain; only the last one matches."""
    lines = ["version: 1", "policies:"]
    for i in range(length - 1):
        lines += [f"  p{i}:", f"    where: model_name == 'no-such-model-{i}'",
                  f"    fallback: p{i + 1}"]
    lines += [f"  p{length - 1}:", "    where: supports chat"]
    return "\n".join(lines) + "\n"


def section_fallback_chain(
    run: Run, args, cli: list[str], tmp: Path, env: dict, rows: list[list[str]], notes: list[str]
) -> None:
    """`check` on a long fallback chain, vs `select -f` of its first policy (the whole chain).

    Both load and compile every policy and walk the whole chain once; `check`
    resolves every policy of the chain, so it is linear only if each policy's
    result is reused along the chain (it once took 37 s against 0.5 s).
    """
    length = 200 if args.quick else 1_000
    path = tmp / "fallback-chain.yaml"
    path.write_text(fallback_chain_file(length), encoding="utf-8")
    progress(f"process: check on a {length:,}-long fallback chain")
    specs = {
        "select": ProcSpec([*cli, "select", "-f", str(path), "p0", "--catalog", "builtin"], env),
        "check": ProcSpec([*cli, "check", str(path), "--catalog", "builtin"], env),
    }
    measured = bench_procs(specs, min(args.proc_repeat, 3))
    select, check = measured["select"], measured["check"]
    for name, res in (("select -f", select), ("check", check)):
        if res.returncode != 0:
            run.fail(f"policyeng {name} on the fallback chain exited {res.returncode}:"
                     f" {(res.stdout + res.stderr).strip()[-300:]}")
            return
    r = ratio(check.seconds, select.seconds)
    ok = r is not None and r <= 5.0
    rows.append([f"policyeng select -f CHAIN p0 ({length:,} policies)", fmt_time(select.seconds),
                 "", "(base)", ""])
    rows.append([f"policyeng check CHAIN ({length:,} policies)", fmt_time(check.seconds),
                 fmt_ratio(r) + " select", "≤ 5x", "PASS" if ok else "MISS"])
    run.targets.append(Target(f"`check` on a {length:,}-long fallback chain vs `select -f`",
                              fmt_ratio(r), "≤ 5x", ok, "linear in the chain"))
    notes.append(f"CHAIN: {length:,} policies, each falling back to the next; only the last"
                 " matches; the ratio divides check by select -f (interleaved)")


# ---------------------------------------------------------------------------
# section 4: scaling
# ---------------------------------------------------------------------------


def bench_cold_load(engine, path: str, repeat: int, cold_root: Path, budget: float) -> float:
    """Median seconds of load_catalog(path) with a fresh, empty POLICYENG_CACHE_DIR per call.

    The dir is made and pointed at outside the timed region; the call validates
    every entry and writes the memo, as the first load of a file does.
    """
    saved = os.environ.get("POLICYENG_CACHE_DIR")
    samples: list[float] = []
    spent = 0.0
    try:
        for i in range(repeat + 1):  # the first call is the warm-up
            os.environ["POLICYENG_CACHE_DIR"] = tempfile.mkdtemp(prefix="c-", dir=cold_root)
            t = perf()
            load_quietly(engine.load_catalog, path)
            dt = perf() - t
            spent += dt
            if i:
                samples.append(dt)
                if spent > budget:
                    break
    finally:
        if saved is None:
            os.environ.pop("POLICYENG_CACHE_DIR", None)
        else:
            os.environ["POLICYENG_CACHE_DIR"] = saved
    return statistics.median(samples)


def section_scaling(run: Run, args, engine, cases: list[CatalogCase], sel: dict, tmp: Path) -> None:
    syn = sorted(
        (c for c in cases if c.synthetic_size is not None and c.label in sel["loaded"]),
        key=lambda c: c.synthetic_size,
    )
    headers = [
        "entries",
        "json.load",
        "load, cold",
        "cold/json",
        "load, warm",
        "warm/json",
        "select P1",
        "select P2",
        "select P3",
        "floor P1",
    ]
    rows: list[list[str]] = []
    per: dict[str, list[float]] = {
        "json": [],
        "load": [],
        "warm": [],
        "P1": [],
        "P2": [],
        "P3": [],
        "floorP1": [],
    }
    for case in syn:
        n = case.synthetic_size
        progress(f"scaling: load {case.label}")

        def jload(path=case.path):
            with open(path, encoding="utf-8") as f:
                return json.load(f)

        rep = min(args.repeat, 3) if n > BIG else args.repeat
        t_json = bench(jload, rep, budget=15)
        t_load = t_warm = None
        if engine:
            cold_root = tmp / "cold-loads"
            cold_root.mkdir(exist_ok=True)
            t_load = bench_cold_load(engine, case.path, rep, cold_root, budget=30)
            # Warm: the run's own cache dir, which holds this body's memo after the warm-up.
            t_warm = bench(lambda p=case.path: load_quietly(engine.load_catalog, p), rep, budget=30)
            shutil.rmtree(cold_root, ignore_errors=True)
        cells = [
            f"{n:,}",
            f"{t_json / n * 1e6:.3g} µs",
            "-" if t_load is None else f"{t_load / n * 1e6:.3g} µs",
            fmt_ratio(ratio(t_load, t_json)),
            "-" if t_warm is None else f"{t_warm / n * 1e6:.3g} µs",
            fmt_ratio(ratio(t_warm, t_json)),
        ]
        per["json"].append(t_json / n)
        if t_load is not None:
            per["load"].append(t_load / n)
        if t_warm is not None:
            per["warm"].append(t_warm / n)
        for pol in POLICIES:
            t = sel["timings"].get((case.label, pol.name), {}).get("engine")
            cells.append("-" if t is None else f"{t / n * 1e6:.3g} µs")
            if t is not None:
                per[pol.name].append(t / n)
        tf = sel["timings"].get((case.label, "P1"), {}).get("floor")
        cells.append("-" if tf is None else f"{tf / n * 1e6:.3g} µs")
        if tf is not None:
            per["floorP1"].append(tf / n)
        rows.append(cells)

    def flat(key: str) -> str:
        v = per[key]
        return fmt_ratio(v[-1] / v[0]) if len(v) >= 2 and v[0] else "-"

    if len(syn) >= 2:
        rows.append(
            [
                "largest/smallest",
                flat("json"),
                flat("load"),
                "",
                flat("warm"),
                "",
                flat("P1"),
                flat("P2"),
                flat("P3"),
                flat("floorP1"),
            ]
        )
    print_table(
        "4. Scaling: time per entry (should be flat)",
        headers,
        rows,
        [
            "load, cold = load_catalog(FILE) with a fresh empty POLICYENG_CACHE_DIR per call:"
            " read + sha256 + JSON parse + validation of every entry + derived fields"
            " + writing the *.validated memo (a file's first load)",
            "load, warm = the same call when the memo of this body is already on disk"
            " (validation skipped; parse, sha256 and derived fields remain)",
            "select = compiled Policy.select on the loaded catalog",
            "growth the floor column shares too is the machine's memory hierarchy"
            " (100,000 dicts do not fit in cache), not the engine;"
            " json.load also slows per entry at 100,000 (cyclic GC passes)",
        ],
    )


# ---------------------------------------------------------------------------
# section 5: memory
# ---------------------------------------------------------------------------

MEM_BASE = "import resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
MEM_JSON = (
    "import resource, json, sys\nwith open(sys.argv[1], encoding='utf-8') as f: d = json.load(f)\n"
    "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
)
MEM_IMPORT = "import resource, policyeng; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
MEM_ENGINE = (
    "import resource, sys, policyeng\n"
    "c = policyeng.load_catalog(sys.argv[1])\nassert len(c.entries) > 0\n"
    "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
)


# Linux keeps ru_maxrss across fork and exec, so a child started straight
# from this (large) process would report *our* peak.  A small launcher
# process starts each measured child instead; the child then reports its own
# resource.getrusage(RUSAGE_SELF).ru_maxrss, floored at the launcher's ~10 MiB.
MEM_LAUNCHER = (
    "import subprocess, sys\n"
    "r = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "sys.stdout.write(r.stdout); sys.stderr.write(r.stderr); sys.exit(r.returncode)"
)


def peak_rss_kb(code: str, path: str, env: dict) -> int | None:
    out = subprocess.run(
        [sys.executable, "-c", MEM_LAUNCHER, sys.executable, "-c", code, path],
        capture_output=True,
        text=True,
        env=env,
    )
    if out.returncode != 0:
        progress(f"memory subprocess failed: {out.stderr.strip()[-300:]}")
        return None
    return int(out.stdout.strip().splitlines()[-1])


def section_memory(run: Run, args, engine, cases: list[CatalogCase], tmp: Path, env: dict) -> None:
    syn = [c for c in cases if c.synthetic_size is not None]
    headers = ["what", "entries", "peak RSS", "ratio", "target", ""]
    if not syn:
        return
    case = max(syn, key=lambda c: c.synthetic_size)
    n = case.synthetic_size
    progress(f"memory: {case.label}")
    base = peak_rss_kb(MEM_BASE, case.path, env)
    js = peak_rss_kb(MEM_JSON, case.path, env)
    rows = [
        ["python (nothing loaded)", "-", f"{base / 1024:.1f} MiB" if base else "-", "", "", ""],
        ["json.load(FILE)", f"{n:,}", f"{js / 1024:.1f} MiB" if js else "-", "", "(floor)", ""],
    ]
    notes = [
        f"peak RSS (ru_maxrss) of a fresh process;"
        f" file size {os.path.getsize(case.path) / 1e6:.1f} MB"
    ]
    if n != 100_000:
        notes.append(f"measured at {n:,} entries; the target is for 100,000")
    if engine:
        imp = peak_rss_kb(MEM_IMPORT, case.path, env)
        cold_env = dict(env)
        cold_env["POLICYENG_CACHE_DIR"] = tempfile.mkdtemp(prefix="mem-cold-", dir=tmp)
        eng = peak_rss_kb(MEM_ENGINE, case.path, cold_env)  # validates every entry
        warm = peak_rss_kb(MEM_ENGINE, case.path, env)  # the run's cache dir: memo hit
        if eng is None:
            run.fail("load_catalog in the memory subprocess failed")
        else:
            r = ratio(eng, js)
            ok = r is not None and r <= 3.0
            if imp:
                rows.append(
                    ["import policyeng (nothing loaded)", "-", f"{imp / 1024:.1f} MiB", "", "", ""]
                )
            rows.append(
                [
                    "policyeng.load_catalog(FILE), cold",
                    f"{n:,}",
                    f"{eng / 1024:.1f} MiB",
                    fmt_ratio(r),
                    "≤ 3x",
                    "PASS" if ok else "MISS",
                ]
            )
            if warm:
                rows.append(
                    [
                        "policyeng.load_catalog(FILE), warm",
                        f"{n:,}",
                        f"{warm / 1024:.1f} MiB",
                        fmt_ratio(ratio(warm, js)),
                        "(info)",
                        "",
                    ]
                )
            notes.append(
                "cold = a fresh empty POLICYENG_CACHE_DIR (every entry validated);"
                " warm = the validation memo of this file already on disk"
            )
            if imp and base and js:
                notes.append(
                    "above each process's own start-up: "
                    f"load_catalog (cold) {(eng - imp) / 1024:.1f} MiB"
                    f" vs json.load {(js - base) / 1024:.1f} MiB "
                    f"= {fmt_ratio(ratio(eng - imp, js - base))}"
                )
            where = "cold (validates)" + (
                "" if n == 100_000 else f"; measured at {n:,}, target is for 100,000"
            )
            if warm:
                where += f"; warm (memo hit): {fmt_ratio(ratio(warm, js))}"
            run.targets.append(
                Target(
                    f"peak RSS of load_catalog vs json.load @ {n:,}",
                    fmt_ratio(r),
                    "≤ 3x",
                    ok,
                    where,
                )
            )
    print_table("5. Memory: peak RSS of loading the largest catalog", headers, rows, notes)


# ---------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python benchmarks/run.py", description=__doc__.split("\n\n")[0]
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="sizes 100 and 1,000 only, few repeats (~10 s smoke test)",
    )
    p.add_argument(
        "--sizes", help="comma-separated synthetic catalog sizes (default 100,1000,10000,100000)"
    )
    p.add_argument(
        "--repeat",
        type=int,
        help="timed samples per row (default 7, --quick 3; rows over 10,000 entries use at most 3)",
    )
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed of the synthetic catalogs")
    p.add_argument(
        "--cel-max", type=int, help="largest catalog cel-python runs on (default 1000, --quick 100)"
    )
    p.add_argument(
        "--no-real", action="store_true", help="skip the real catalogs in ../shared/catalogs"
    )
    args = p.parse_args(argv)
    if args.sizes:
        try:
            args.sizes = sorted(
                {
                    int(s.replace("_", "").replace(",", ""))
                    for s in args.sizes.split(",")
                    if s.strip()
                }
            )
        except ValueError:
            p.error("--sizes wants comma-separated integers, e.g. 100,1000")
        if not args.sizes or min(args.sizes) < 1:
            p.error("--sizes must be positive")
    else:
        args.sizes = list(QUICK_SIZES if args.quick else FULL_SIZES)
    if args.repeat is None:
        args.repeat = 3 if args.quick else 7
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    if args.cel_max is None:
        args.cel_max = 100 if args.quick else 1_000
    args.proc_repeat = max(1, min(args.repeat, 3 if args.quick else 9))
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    run = Run()
    started = perf()
    engine = import_engine(run)
    jm = try_jmespath(run)
    celpy = try_cel(run)

    print(
        f"policyeng benchmark — python {sys.version.split()[0]}, {os.cpu_count()} CPU(s), "
        f"sizes {', '.join(f'{s:,}' for s in args.sizes)}, repeat {args.repeat}"
        f"{' (quick)' if args.quick else ''}, seed {args.seed}"
    )
    if engine is not None:
        print(f"policyeng from {Path(engine.__file__).parent}")
    print(f"load average at start: {load_average()}")

    with tempfile.TemporaryDirectory(prefix="policyeng-bench-") as tmpname:
        tmp = Path(tmpname)
        # Every catalog memo this run writes goes to its own temp dir (never the
        # user's cache), in this process and in every subprocess.
        warm_cache = tmp / "cache"
        warm_cache.mkdir()
        os.environ["POLICYENG_CACHE_DIR"] = str(warm_cache)
        os.environ["POLICYENG_CATALOG"] = "builtin"
        os.environ["POLICYENG_OFFLINE"] = "1"
        env = subprocess_env(warm_cache)
        print(warm_bytecode(engine, env))
        cases: list[CatalogCase] = []
        for n in args.sizes:
            progress(f"generating {n:,}-entry catalog")
            path = tmp / f"synthetic-{n}.json"
            write_catalog(path, n, args.seed)
            cases.append(CatalogCase(f"synthetic-{n}", str(path), n))
        real: list[CatalogCase] = []
        if args.quick or args.no_real:
            run.notes.append("real catalogs skipped (--quick / --no-real)")
        elif not REAL_CATALOG_DIR.is_dir():
            run.notes.append(f"real catalogs skipped: {REAL_CATALOG_DIR} not found")
        else:
            for path in sorted(REAL_CATALOG_DIR.glob("*.json")):
                real.append(CatalogCase(path.stem, str(path), None))
            if not real:
                run.notes.append(f"real catalogs skipped: no *.json in {REAL_CATALOG_DIR}")

        sel = section_selection(run, args, engine, cases + real, jm, celpy)
        section_compile(run, args, engine, env)
        section_process(run, args, engine, cases, tmp, env)
        section_scaling(run, args, engine, cases, sel, tmp)
        section_memory(run, args, engine, cases, tmp, env)

    rows = []
    for t in run.targets:
        verdict = "n/a" if t.ok is None else ("PASS" if t.ok else "MISS")
        rows.append([t.what, t.measured, t.target, verdict, t.where])
    print_table(
        "Targets",
        ["target", "measured", "wanted", "", "where"],
        rows or [["(none measured)", "", "", "", ""]],
        run.notes,
    )
    missed = [t for t in run.targets if t.ok is False]
    print(
        f"\n{len(run.targets) - len(missed)} of {len(run.targets)} targets met; "
        f"{len(run.failures)} mismatch/error(s); {perf() - started:.1f} s;"
        f" load average at end: {load_average(during_run=True)}"
    )
    if run.failures:
        print("\nFAILED — picks differ or the engine errored:")
        for f in run.failures:
            print(f"  - {f}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
