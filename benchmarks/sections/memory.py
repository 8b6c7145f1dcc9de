"""5. Memory: peak RSS of loading the largest catalog, vs json.load of the same file."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

from benchmarks.context import Context, Target
from benchmarks.tables import fmt_ratio, print_table, progress, ratio

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


def run(ctx: Context) -> None:
    tmp, env = ctx.tmp, ctx.env
    syn = ctx.synthetic
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
    imp = peak_rss_kb(MEM_IMPORT, case.path, env)
    cold_env = dict(env)
    cold_env["POLICYENG_CACHE_DIR"] = tempfile.mkdtemp(prefix="mem-cold-", dir=tmp)
    eng = peak_rss_kb(MEM_ENGINE, case.path, cold_env)  # validates every entry
    warm = peak_rss_kb(MEM_ENGINE, case.path, env)  # the run's cache dir: memo hit
    if eng is None:
        ctx.fail("load_catalog in the memory subprocess failed")
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
        ctx.targets.append(
            Target(
                f"peak RSS of load_catalog vs json.load @ {n:,}",
                fmt_ratio(r),
                "≤ 3x",
                ok,
                where,
            )
        )
    print_table("5. Memory: peak RSS of loading the largest catalog", headers, rows, notes)
