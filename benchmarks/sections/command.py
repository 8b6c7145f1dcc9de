"""3a. The whole command on a catalog file, as a fresh process, vs jq and vs json.load.

`policyeng select EXPR --catalog FILE` at 1,000 and 10,000 entries, its text
output's first word checked against the floor's pick; "warm" reuses the run's
cache dir (the validation memo is hit), "cold" gives every run a fresh one.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

from benchmarks.baselines import POLICIES
from benchmarks.context import TARGET_SIZE, Context, Target, first_word
from benchmarks.tables import fmt_ratio, fmt_time, print_table, progress, ratio
from benchmarks.timing import ProcResult, ProcSpec, bench_proc, bench_procs


def run(ctx: Context) -> None:
    args, tmp, env, cli = ctx.args, ctx.tmp, ctx.env, ctx.cli
    headers = ["what", "entries", "policy", "median", "÷ jq", "÷ json.load", "target", ""]
    rows: list[list[str]] = []
    notes: list[str] = []
    notes.append(f"policyeng command: {' '.join(cli)}")
    have_jq = shutil.which("jq") is not None
    if not have_jq:
        notes.append("jq not on PATH: jq rows and the jq target skipped")
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
    sizes = [c for c in ctx.synthetic if c.synthetic_size in (1_000, 10_000)]
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
                    ctx.fail(
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
            results: dict[str, ProcResult] = {}
            for variant in ("warm", "cold"):
                res = measured[variant]
                if res.returncode not in (0, 1):
                    ctx.fail(
                        f"policyeng select {pol.name} --catalog {case.label} ({variant})"
                        f" exited {res.returncode}: {res.stderr.strip()[:300]}"
                    )
                    break
                got = first_word(res)
                if got != expected:
                    ctx.fail(
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
                ctx.targets.append(
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
        if case is sizes[-1]:
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
                ctx.fail(
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
