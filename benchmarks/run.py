#!/usr/bin/env python3
"""policyeng benchmark: ratios measured in one run.

    python benchmarks/run.py            # full run (< 5 minutes on 2 cores)
    python benchmarks/run.py --quick    # 100 and 1,000 entries, ~10 s smoke test
    python benchmarks/run.py --sizes 1000,10000 --repeat 5

Every number printed next to a target is a *ratio* of two things timed in
this same run on this same machine (medians of repeated runs after a
warm-up), so results from different machines can be compared. This driver
prepares the catalogs and the environment, runs every section of
``benchmarks/sections`` in order (each prints its own table), then prints
the targets. Timing helpers live in ``timing``, printing in ``tables``.

Every subprocess runs with POLICYENG_CATALOG=builtin, POLICYENG_OFFLINE=1,
a POLICYENG_CACHE_DIR of this run's own, and without PYTHONDONTWRITEBYTECODE
(see context.subprocess_env); nothing touches the network or the user's
cache, except creating the clean virtualenv of the start-up row (pip).

Exit codes: 0 done (targets missed are reported, not fatal); 1 a pick
mismatch or an engine error; 2 bad usage.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import policyeng  # noqa: E402
from benchmarks.context import (  # noqa: E402
    REAL_CATALOG_DIR,
    CatalogCase,
    Context,
    cli_command,
    load_average,
    subprocess_env,
    warm_bytecode,
)
from benchmarks.sections import SECTIONS  # noqa: E402
from benchmarks.synthetic import DEFAULT_SEED, write_catalog  # noqa: E402
from benchmarks.tables import print_table, progress  # noqa: E402
from benchmarks.timing import perf  # noqa: E402

FULL_SIZES = (100, 1_000, 10_000, 100_000)
QUICK_SIZES = (100, 1_000)
#: Where the start-up row's clean virtualenv is made once and reused: one per checkout,
#: so that two checkouts benchmarked at once do not reinstall each other's sources.
DEFAULT_CLEAN_VENV = Path(tempfile.gettempdir()) / (
    "policyeng-bench-venv-" + hashlib.sha256(str(REPO).encode()).hexdigest()[:10]
)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python benchmarks/run.py", description=__doc__.split("\n\n")[0]
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="sizes 100 and 1,000 only, few repeats, no clean venv (~10 s smoke test)",
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
    p.add_argument(
        "--clean-venv",
        metavar="DIR",
        help="the virtualenv the start-up target runs in, made (pip install of this"
        f" repository) or reused there (default {DEFAULT_CLEAN_VENV}; --quick:"
        " none unless given)",
    )
    p.add_argument(
        "--no-clean-venv",
        action="store_true",
        help="skip the start-up target's clean virtualenv (it needs pip's index)",
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
    if args.no_clean_venv:
        args.clean_venv = None
    elif args.clean_venv is None and not args.quick:
        args.clean_venv = str(DEFAULT_CLEAN_VENV)
    return args


def real_catalogs(args: argparse.Namespace, notes: list[str]) -> list[CatalogCase]:
    if args.quick or args.no_real:
        notes.append("real catalogs skipped (--quick / --no-real)")
        return []
    if not REAL_CATALOG_DIR.is_dir():
        notes.append(f"real catalogs skipped: {REAL_CATALOG_DIR} not found")
        return []
    real = [CatalogCase(p.stem, str(p), None) for p in sorted(REAL_CATALOG_DIR.glob("*.json"))]
    if not real:
        notes.append(f"real catalogs skipped: no *.json in {REAL_CATALOG_DIR}")
    return real


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = perf()
    print(
        f"policyeng benchmark — python {sys.version.split()[0]}, {os.cpu_count()} CPU(s), "
        f"sizes {', '.join(f'{s:,}' for s in args.sizes)}, repeat {args.repeat}"
        f"{' (quick)' if args.quick else ''}, seed {args.seed}"
    )
    print(f"policyeng from {Path(policyeng.__file__).parent}")
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
        print(warm_bytecode(env))
        synthetic = []
        for n in args.sizes:
            progress(f"generating {n:,}-entry catalog")
            path = tmp / f"synthetic-{n}.json"
            write_catalog(path, n, args.seed)
            synthetic.append(CatalogCase(f"synthetic-{n}", str(path), n))
        notes: list[str] = []
        ctx = Context(
            args, tmp, env, synthetic, real_catalogs(args, notes), cli_command(), notes=notes
        )
        for section in SECTIONS:
            section.run(ctx)

    rows = [
        [
            t.what,
            t.measured,
            t.target,
            "n/a" if t.ok is None else ("PASS" if t.ok else "MISS"),
            t.where,
        ]
        for t in ctx.targets
    ]
    print_table(
        "Targets",
        ["target", "measured", "wanted", "", "where"],
        rows or [["(none measured)", "", "", "", ""]],
        ctx.notes,
    )
    missed = [t for t in ctx.targets if t.ok is False]
    print(
        f"\n{len(ctx.targets) - len(missed)} of {len(ctx.targets)} targets met; "
        f"{len(ctx.failures)} mismatch/error(s); {perf() - started:.1f} s;"
        f" load average at end: {load_average(during_run=True)}"
    )
    if ctx.failures:
        print("\nFAILED — picks differ or the engine errored:")
        for f in ctx.failures:
            print(f"  - {f}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
