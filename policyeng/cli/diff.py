"""``policyeng diff OLD_SRC NEW_SRC``: what changed between two catalogs, and what it does to picks.

Models added, removed and changed field by field, a summary line of counts,
and with ``-f`` each policy's pick before and after with the reason it moved
(``diagnose.classify_drift``, the same words as ``check --locked``).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..text import plural
from .common import EXIT_NO_MATCH, EXIT_OK, print_json, seconds

#: What the text report lists of the models: all changes, those the picks involve, or none.
MODEL_LISTS = ("all", "picks", "none")


def add_parser(commands) -> None:
    diff = commands.add_parser(
        "diff",
        help="compare two catalogs, and what the change does to policies",
        description="List the models added, removed and changed (field by field) from OLD_SRC "
        "to NEW_SRC, and with -f each policy's pick before and after with the "
        "reason it changed. Sources are builtin, a JSON file or an http(s) URL; an "
        "unusable one is an error (exit 3), never a fallback copy.",
        epilog="Exit codes: 0 done (1 with --exit-code when a pick changed, or without -f when "
        "any model changed), 2 bad usage or policy file, 3 a catalog unusable.",
    )
    diff.add_argument("old", metavar="OLD_SRC")
    diff.add_argument("new", metavar="NEW_SRC")
    diff.add_argument(
        "-f",
        "--file",
        dest="paths",
        action="append",
        metavar="FILE_OR_DIR",
        help="policy files (or directories of them) whose picks to compare; repeat for more",
    )
    diff.add_argument("--json", action="store_true", help="print the comparison as JSON")
    diff.add_argument(
        "--exit-code",
        action="store_true",
        help="exit 1 when a pick changed (without -f: when any model changed)",
    )
    diff.add_argument(
        "--models",
        choices=MODEL_LISTS,
        default=None,
        help="which model changes the text lists: all (the default without -f), "
        "picks (those the picks involve; the default with -f) or none",
    )
    diff.add_argument(
        "--strict",
        action="store_true",
        help="fail on any invalid catalog entry instead of skipping it",
    )
    diff.add_argument(
        "--offline",
        action="store_true",
        help="never touch the network: a URL is served from its cache",
    )
    diff.add_argument(
        "--max-age",
        type=seconds,
        metavar="SECONDS",
        default=None,
        help="use a cached copy of a URL younger than this without asking (default 600)",
    )
    diff.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..catalog.compare import compare_catalogs

    book = None
    if args.paths:
        from ..policies.book import load_policies

        book = load_policies(*args.paths)
    old, new = _load(args, args.old), _load(args, args.new)
    report = compare_catalogs(old, new)
    report = {
        "old": _info(old),
        "new": _info(new),
        **report,
        "picks": _picks(book, old, new) if book is not None else None,
    }
    changed_picks = sum(1 for p in report["picks"] or () if p["changed"])
    report["counts"]["picks"] = None if book is None else len(report["picks"])
    report["counts"]["picks_changed"] = None if book is None else changed_picks
    if args.json:
        print_json(report)
    else:
        _print_text(report, args.models or ("picks" if book is not None else "all"))
    if not args.exit_code:
        return EXIT_OK
    counts = report["counts"]
    changed = (
        changed_picks
        if book is not None
        else (counts["added"] + counts["removed"] + counts["changed"])
    )
    return EXIT_NO_MATCH if changed else EXIT_OK


def _load(args: argparse.Namespace, source: str):
    from ..catalog.sources import load_catalog

    # Named sources only, and no fallback: a diff against builtin or a stale copy
    # would report changes that did not happen.
    return load_catalog(
        source,
        strict=args.strict,
        offline=True if args.offline else None,
        fallback=False,
        max_age=args.max_age,
    )


def _info(catalog) -> dict[str, Any]:
    return {**catalog.info(), "models": len(catalog)}


def _picks(book, old, new) -> list[dict[str, Any]]:
    """Each policy's pick in both catalogs, with the classifier's reason when it moved."""
    from ..diagnose import classify_drift, resolution, same_pick
    from ..policies.lock import chain_of

    picks = []
    for policy in book:
        chain = chain_of(book, policy.name)
        before, after = resolution(chain, old), resolution(chain, new)
        drift = None
        if before is not None:
            drift = classify_drift(before, chain, new, old_catalog=old, now=after)
        picks.append(
            {
                "policy": policy.name,
                "file": policy.file,
                "line": policy.line,
                "before": _brief(before),
                "after": _brief(after),
                "changed": not same_pick(before, after),
                "drift": drift,
            }
        )
    return picks


def _brief(pick: dict[str, Any] | None) -> dict[str, Any] | None:
    if pick is None:
        return None
    return {"model_name": pick["model_name"], "endpoint": pick["endpoint"], "via": pick["via"]}


# --- text ---------------------------------------------------------------------------------------


def _print_text(report: dict[str, Any], models: str) -> None:
    from ..policies.lock import describe
    from ..text import visible
    from . import tables

    style = tables.Style(sys.stdout)
    lines = []
    listed = _model_rows(report, _involved(report) if models == "picks" else None)
    if models != "none" and listed:
        lines.append(f"models ({report['old']['source']} -> {report['new']['source']}):")
        lines.extend(tables.table(["", "model_name", "change"], listed, style, indent=2))
    if report["picks"]:
        changed = [p for p in report["picks"] if p["changed"]]
        if changed:
            if lines:
                lines.append("")
            lines.append("picks:")
            rows = [
                [
                    p["policy"],
                    describe(p["before"]),
                    describe(p["after"]),
                    p["drift"]["reason"] if p["drift"] else "resolves now",
                ]
                for p in changed
            ]
            lines.extend(
                tables.table(["policy", "before", "after", "reason"], rows, style, indent=2)
            )
            lines.extend(
                f"  {p['policy']}: {p['drift']['reason']}: {p['drift']['text']}"
                for p in changed
                if p["drift"]
            )
    lines.append(_summary(report))
    print("\n".join(visible(line) for line in lines))


def _involved(report: dict[str, Any]) -> set[str]:
    """Every model a changed pick names, before or after."""
    names: set[str] = set()
    for pick in report["picks"] or ():
        if pick["changed"]:
            names.update(p["model_name"] for p in (pick["before"], pick["after"]) if p)
    return names


def _model_rows(report: dict[str, Any], only: set[str] | None) -> list[list[Any]]:
    def wanted(name: str) -> bool:
        return only is None or name in only

    rows: list[list[Any]] = []
    rows += [
        [("+", "green"), e["model_name"], _added(e)]
        for e in report["added"]
        if wanted(e["model_name"])
    ]
    rows += [
        [("-", "red"), e["model_name"], "removed"]
        for e in report["removed"]
        if wanted(e["model_name"])
    ]
    rows += [
        [("~", "yellow"), c["model_name"], "; ".join(_change(x) for x in c["changes"])]
        for c in report["changed"]
        if wanted(c["model_name"])
    ]
    return rows


def _added(entry: dict[str, Any]) -> str:
    from ..diagnose import show_value

    shown = [
        f"{field} {show_value(entry.get(field))}"
        for field in (
            "category",
            "input_per_mtok",
            "output_per_mtok",
            "context_window",
            "health_status",
        )
        if entry.get(field) is not None
    ]
    return ", ".join(shown) or "added"


def _change(change: dict[str, Any]) -> str:
    """``output_per_mtok 0.5 -> 0.6``, ``supports +vision -chat``, ``pricing [...] -> [...]``."""
    from ..diagnose import show_value

    field, before, after = change["field"], change["before"], change["after"]
    if field == "supports" and isinstance(before, list) and isinstance(after, list):
        gained = [f"+{t}" for t in after if t not in before]
        lost = [f"-{t}" for t in before if t not in after]
        return f"supports {' '.join(gained + lost) or 'reordered'}"
    if field == "pricing":
        return f"pricing {_rows(before)} -> {_rows(after)}"
    return f"{field} {show_value(before)} -> {show_value(after)}"


def _rows(rows: Any) -> str:
    """Pricing rows as ``[0.06 USD/image]``; anything unexpected as compact JSON."""
    if not isinstance(rows, list):
        return "missing" if rows is None else json.dumps(rows)
    shown = []
    for row in rows:
        if isinstance(row, dict) and {"unit_price_usd", "billing_unit"} <= row.keys():
            shown.append(
                f"{row['unit_price_usd']} {row.get('currency', 'USD')}/{row['billing_unit']}"
            )
        else:
            shown.append(json.dumps(row, ensure_ascii=False, separators=(",", ":")))
    return "[" + ", ".join(shown) + "]"


def _summary(report: dict[str, Any]) -> str:
    """``3 models added, 1 removed, 5 changed, 40 unchanged; 2 of 8 picks changed``."""
    counts = report["counts"]
    picks = counts["picks"]
    if not (counts["added"] or counts["removed"] or counts["changed"] or counts["picks_changed"]):
        return "no changes" + (f" ({plural(picks, 'pick')} the same)" if picks else "")
    text = (
        f"{plural(counts['added'], 'model')} added, {counts['removed']} removed, "
        f"{counts['changed']} changed, {counts['unchanged']} unchanged"
    )
    if picks is not None:
        text += f"; {counts['picks_changed']} of {plural(picks, 'pick')} changed"
    return text
