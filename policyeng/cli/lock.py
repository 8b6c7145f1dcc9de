"""``policyeng lock FILE_OR_DIR...``: record each policy's pick in ``policies.lock``."""

from __future__ import annotations

import argparse
import sys

from ..text import plural, visible
from .check import load_book, load_catalog_noting
from .common import DEFAULT_LOCK, EXIT_OK, add_catalog_options


def add_parser(commands) -> None:
    lock = commands.add_parser(
        "lock",
        help="record the model each policy picks",
        description="Resolve every policy and write each pick, what made it the pick (its "
        "ranking values, the values the policy reads, the candidates) and the "
        "catalog's sha256 to a lock file, for `policyeng check --locked`. Refuses "
        "(exit 1, nothing written) when a policy fails its expect; never locks "
        "against a fallback catalog (exit 3).",
    )
    lock.add_argument("paths", nargs="+", metavar="FILE_OR_DIR")
    add_catalog_options(lock)
    lock.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        default=DEFAULT_LOCK,
        help="where to write the lock, - for stdout (default: ./policies.lock)",
    )
    lock.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..policies.check import check_book
    from ..policies.lock import describe, lock_data, write_lock

    book = load_book(args)
    catalog, _ = load_catalog_noting(args, book, pinned=True)
    reports = check_book(book, catalog)
    write_lock(args.output, lock_data(reports, catalog, book))
    said = sys.stderr if args.output == "-" else sys.stdout  # `-o -`: stdout is the lock
    width = max(len(r.name) for r in reports)
    for r in reports:
        print(visible(f"{r.name:<{width}}  {describe(r.pick)}"), file=said)
    where = "stdout" if args.output == "-" else args.output
    print(
        visible(
            f"locked {plural(len(reports), 'policy', 'policies')} in {where} "
            f"(catalog {catalog.source}, sha256 {catalog.sha256[:12]}...)"
        ),
        file=said,
    )
    return EXIT_OK
