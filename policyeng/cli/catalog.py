"""``policyeng catalog``: list the catalog's models, or where the catalog came from."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..text import visible
from .common import EXIT_NO_MATCH, EXIT_OK, add_catalog_options, load_catalog_for, print_json


def add_parser(commands) -> None:
    catalog = commands.add_parser(
        "catalog",
        help="list catalog entries",
        description="List the catalog's models (those passing --where), in model_name order "
        "or as the --where policy's `order by` ranks them.",
    )
    catalog.add_argument("--where", metavar="EXPR", help="only entries passing this policy")
    add_catalog_options(catalog)
    catalog.add_argument("--json", action="store_true", help="print the entries as JSON")
    catalog.add_argument(
        "--refresh",
        action="store_true",
        help="fetch the catalog now, whatever the cache's age; fail if it cannot",
    )
    catalog.add_argument(
        "--info",
        action="store_true",
        help="print where the catalog came from, its age, size and sha256",
    )
    catalog.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    catalog = load_catalog_for(args)
    if args.info:
        return _print_catalog_info(catalog, args.json)
    entries = _listed(args.where, catalog)
    # Exit 1 when --where lets nothing through, as every command does on no match,
    # so a script can tell "nothing matched" from "here is the list".
    code = EXIT_NO_MATCH if args.where and not entries else EXIT_OK
    if args.json:
        print_json(entries)
        return code
    print("\n".join(_table_lines(entries, sys.stdout)))
    print(
        visible(f"{len(entries)} of {len(catalog)} models, catalog {catalog.source}"),
        file=sys.stderr,
    )
    return code


def _table_lines(entries: list[dict[str, Any]], stream) -> list[str]:
    """One row per model; a ``unit price`` column when a listed model is billed per unit.

    That column gives way when the output is too narrow for it, or when it
    would cut the model names shorter than they are without it; ``--json``
    or a wider terminal shows it.
    """
    from ..text import text_width
    from . import tables

    health = {"healthy": "green", "degraded": "yellow", "down": "red"}
    style = tables.Style(stream)

    def lines(with_price: bool, style: tables.Style) -> list[str]:
        headers = [
            "model_name",
            "category",
            "endpoint",
            "input",
            "output",
            *(["unit price"] if with_price else []),
            "context",
            "health",
        ]
        rows = [
            [
                e["model_name"],
                tables.value_cell(e.get("category")),
                e.get("endpoint") or ("(none)", "yellow"),
                tables.value_cell(e.get("input_per_mtok")),
                tables.value_cell(e.get("output_per_mtok")),
                *(
                    [tables.price_cell(e.get("unit_price"), e.get("billing_unit"))]
                    if with_price
                    else []
                ),
                tables.value_cell(e.get("context_window")),
                (
                    e.get("health_status") or "(missing)",
                    health.get(e.get("health_status") or "", "dim"),
                ),
            ]
            for e in entries
        ]
        return tables.table(
            headers, rows, style, right=tuple(range(3, len(headers) - 1)), shrink=((2,), (0,), (1,))
        )

    with_price = any("unit_price" in e for e in entries)
    if with_price and style.width is not None:
        plain = tables.Style(stream, colour=False, width=style.width)
        priced, unpriced = lines(True, plain), lines(False, plain)
        name_width = [table[0].index("category") for table in (priced, unpriced)]
        with_price = max(map(text_width, priced)) <= style.width and name_width[0] >= name_width[1]
    return lines(with_price, style)


def _listed(where: str | None, catalog) -> list[dict[str, Any]]:
    """What `catalog` lists: the entries passing --where, ranked by its `order by` if it has
    one, else in model_name order; an empty list names values no model has."""
    by_name = lambda entry: entry["model_name"]  # noqa: E731
    if not where:
        return sorted(catalog.entries, key=by_name)
    from ..diagnose import unknown_value
    from ..engine import compile
    from ..language import ast as syntax

    policy = compile(where)
    entries = (
        policy.rank(catalog)
        if policy.tree.order_by
        else sorted(policy.filter(catalog), key=by_name)
    )
    if not entries:
        for clause in syntax.conjuncts(policy.tree):
            hint = unknown_value(clause, catalog.entries)
            if hint:
                print(f"policyeng: {hint}", file=sys.stderr)
    return entries


def _print_catalog_info(catalog, as_json: bool) -> int:
    """``catalog --info``: where the catalog came from, how old it is, what it holds."""
    from ..catalog.sources import is_url
    from ..catalog.times import age_of, describe_age

    cache = None
    if is_url(catalog.source):
        from ..catalog.response_cache import CatalogCache

        cache = str(CatalogCache().path_for(catalog.location))
    age = age_of(catalog.fetched_at)
    info = {
        **catalog.info(),
        "origin": catalog.origin,
        "age_seconds": int(age),
        "entries": len(catalog),
        "skipped": [str(s) for s in catalog.skipped],
        "live_known": catalog.live_known,
        "cache": cache,
    }
    if as_json:
        print_json(info)
        return EXIT_OK
    rows = [
        ["source", catalog.source],
        ["origin", catalog.origin],
        [
            "fetched_at",
            f"{catalog.fetched_at} ({describe_age(age)} ago)" if catalog.fetched_at else "unknown",
        ],
        ["stale", "yes" if catalog.stale else "no"],
        ["entries", str(len(catalog))],
        ["skipped", str(len(catalog.skipped))],
        ["sha256", catalog.sha256],
    ]
    if cache:
        rows.append(["cache", cache])
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(visible(f"{name.ljust(width)}  {value}"))
        if name == "skipped":
            for problem in catalog.skipped:
                print(visible(f"{''.ljust(width)}    {problem}"))
    return EXIT_OK
