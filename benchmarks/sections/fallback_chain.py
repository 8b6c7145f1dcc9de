"""3c. `policyeng check` on a long fallback chain, vs `select -f` of its first policy.

Both load and compile every policy and walk the whole chain once; `check`
resolves every policy of the chain, so it is linear only if each policy's
result is reused along the chain (it once took 37 s against 0.5 s).
"""

from __future__ import annotations

from benchmarks.context import Context, Target
from benchmarks.tables import fmt_ratio, fmt_time, print_table, progress, ratio
from benchmarks.timing import ProcSpec, bench_procs


def fallback_chain_file(length: int) -> str:
    """A policy file whose policies fall back along one chain; only the last one matches."""
    lines = ["version: 1", "policies:"]
    for i in range(length - 1):
        lines += [
            f"  p{i}:",
            f"    where: model_name == 'no-such-model-{i}'",
            f"    fallback: p{i + 1}",
        ]
    lines += [f"  p{length - 1}:", "    where: supports chat"]
    return "\n".join(lines) + "\n"


def run(ctx: Context) -> None:
    length = 200 if ctx.args.quick else 1_000
    path = ctx.tmp / "fallback-chain.yaml"
    path.write_text(fallback_chain_file(length), encoding="utf-8")
    progress(f"process: check on a {length:,}-long fallback chain")
    cli, env = ctx.cli, ctx.env
    specs = {
        "select": ProcSpec([*cli, "select", "-f", str(path), "p0", "--catalog", "builtin"], env),
        "check": ProcSpec([*cli, "check", str(path), "--catalog", "builtin"], env),
    }
    repeat = min(ctx.args.proc_repeat, 3)
    measured = bench_procs(specs, repeat)
    select, check = measured["select"], measured["check"]
    for name, res in (("select -f", select), ("check", check)):
        if res.returncode != 0:
            ctx.fail(
                f"policyeng {name} on the fallback chain exited {res.returncode}:"
                f" {(res.stdout + res.stderr).strip()[-300:]}"
            )
            return
    r = ratio(check.seconds, select.seconds)
    ok = r is not None and r <= 5.0
    rows = [
        [
            f"policyeng select -f CHAIN p0 ({length:,} policies)",
            fmt_time(select.seconds),
            "",
            "(base)",
            "",
        ],
        [
            f"policyeng check CHAIN ({length:,} policies)",
            fmt_time(check.seconds),
            fmt_ratio(r),
            "≤ 5x",
            "PASS" if ok else "MISS",
        ],
    ]
    ctx.targets.append(
        Target(
            f"`check` on a {length:,}-long fallback chain vs `select -f`",
            fmt_ratio(r),
            "≤ 5x",
            ok,
            "linear in the chain",
        )
    )
    notes = [
        f"CHAIN: {length:,} policies, each falling back to the next; only the last"
        " matches; the ratio divides check by select -f (interleaved)",
        f"median wall time of a fresh process, {repeat} runs after 1 warm-up",
    ]
    print_table(
        "3c. check on a long fallback chain, as a fresh process",
        ["what", "median", "÷ select -f", "target", ""],
        rows,
        notes,
    )
