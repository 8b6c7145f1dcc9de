"""1. In-process selection: the compiled policy vs a hand-written floor, jmespath and cel.

Every implementation must pick the same model on every catalog (a different
pick fails the run). Leaves ``ctx.results["selection"]``: the timings per
(catalog, policy) and the loaded catalogs, for the scaling section.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import policyeng
from benchmarks.baselines import POLICIES
from benchmarks.context import BIG, TARGET_SIZE, Context, Target, load_quietly
from benchmarks.tables import fmt_ratio, fmt_time, print_table, progress, ratio, short
from benchmarks.timing import bench, bench_many

HEADERS = [
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


def try_cel(ctx: Context):
    try:
        import celpy

        env = celpy.Environment()
        env.program(env.compile("1 + 1 == 2")).evaluate({})
        return celpy
    except Exception as exc:
        ctx.notes.append(
            f"cel-python unavailable ({type(exc).__name__}: {exc});"
            " `pip install cel-python` to add it; CEL columns skipped"
        )
        return None


def try_jmespath(ctx: Context):
    try:
        import jmespath

        return jmespath
    except Exception as exc:
        ctx.notes.append(
            f"jmespath unavailable ({exc}); `pip install jmespath`; jmespath columns skipped"
        )
        return None


def engine_pick(policy: policyeng.Policy, catalog: Any) -> tuple[str | None, str | None]:
    """(model_name or None, error text or None) of one compiled selection."""
    try:
        return policy.select(catalog).model_name, None
    except Exception as exc:
        return None, f"{type(exc).__name__}: {exc}"


def run(ctx: Context) -> None:
    args = ctx.args
    jm, celpy = try_jmespath(ctx), try_cel(ctx)
    rows: list[list[str]] = []
    notes: list[str] = []
    timings: dict[tuple[str, str], dict[str, float | None]] = {}
    loaded: dict[str, tuple[int, Any]] = {}
    cel_env = celpy.Environment() if celpy else None
    cel_skipped = []

    for case in ctx.synthetic + ctx.real:
        progress(f"selection: loading {case.label}")
        try:
            cat, n_warn = load_quietly(policyeng.load_catalog, case.path)
        except Exception as exc:
            ctx.fail(f"load_catalog({case.path}) raised {type(exc).__name__}: {exc}")
            continue
        entries = cat.entries
        n = len(entries)
        loaded[case.label] = (n, cat)
        if n_warn:
            notes.append(
                f"{case.label}: load_catalog emitted {n_warn} warning(s)"
                " (invalid or duplicate entries skipped)"
            )
        rep = min(args.repeat, 3) if n > BIG else args.repeat
        plain_entries = [dict(e) for e in entries]  # jmespath/cel want plain dicts
        cel_entries = celpy.json_to_cel(plain_entries) if (celpy and n <= args.cel_max) else None

        for pol in POLICIES:
            progress(f"selection: {case.label} {pol.name}")
            t: dict[str, float | None] = {"floor": None, "engine": None, "jmes": None, "cel": None}
            picks: dict[str, str | None] = {"floor": pol.floor(entries)}
            # floor, policyeng and jmespath are timed interleaved (bench_many), so a
            # burst of load on a shared machine hits the three columns alike.
            fns: dict[str, Callable[[], Any]] = {"floor": lambda f=pol.floor, es=entries: f(es)}
            budgets: dict[str, float] = {}

            compiled = policyeng.compile(pol.text)
            name, err = engine_pick(compiled, cat)
            if err and picks["floor"] is not None:
                ctx.fail(
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
            elif picks["floor"] is None:  # nothing matches and the engine says so by raising
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

            if len(set(picks.values())) > 1:
                ctx.fail(
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
        HEADERS,
        rows,
        notes,
    )
    _targets(ctx, timings, loaded)
    ctx.results["selection"] = {"timings": timings, "loaded": loaded}


def _targets(ctx: Context, timings: dict, loaded: dict) -> None:
    """The targets at 10,000 entries (or the nearest synthetic size measured)."""
    syn = [c for c in ctx.synthetic if c.label in loaded]
    if not syn:
        return
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
        ctx.targets.append(
            Target(
                f"compiled selection vs floor, {pol.name} @ {at.synthetic_size:,}",
                fmt_ratio(r),
                "≤ 1.5x",
                None if r is None else r <= 1.5,
                where,
            )
        )
        r = ratio(t["jmes"], t["engine"])
        ctx.targets.append(
            Target(
                f"compiled selection faster than jmespath, {pol.name} @ {at.synthetic_size:,}",
                fmt_ratio(r),
                "≥ 20x",
                None if r is None else r >= 20,
                where,
            )
        )
