"""``policyeng select EXPR | -f FILE NAME``: the one model a policy picks."""

from __future__ import annotations

import argparse
import sys

from .common import (
    EXIT_NO_MATCH,
    EXIT_OK,
    add_catalog_options,
    load_catalog_for,
    load_catalog_for_book,
    positive,
    print_json,
    shell_quote,
)


def add_parser(commands) -> None:
    select = commands.add_parser(
        "select", help="pick one model for a policy",
        description="Evaluate a policy against the catalog and print the model it picks.",
    )
    select.add_argument("expr", metavar="EXPR", help='the policy, e.g. "supports chat and healthy"')
    select.add_argument("-f", "--file", metavar="FILE",
                        help="a policy file (or directory); EXPR is then a policy NAME in it")
    add_catalog_options(select)
    select.add_argument("--json", action="store_true", help="print the selection as JSON")
    select.add_argument("--top", type=positive, metavar="N",
                        help="also list the N best candidates")
    select.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..engine import compile
    from ..errors import NoMatch

    try:
        if args.file:
            selection = _select_named(args)
        else:
            selection = compile(args.expr).select(load_catalog_for(args))
    except NoMatch as exc:
        again = " ".join(shell_quote(word) for word in [
            "policyeng", "explain", *(["-f", args.file] if args.file else []), args.expr,
            *(["--catalog", args.catalog] if args.catalog else [])])
        print(f"policyeng: {exc}\nhint: see each clause's drops and the ranking with: {again}",
              file=sys.stderr)
        return EXIT_NO_MATCH
    if args.json:
        print_json(selection.to_dict(top=args.top))
        return EXIT_OK
    print(f"{selection.model_name}  {selection.endpoint}")
    if args.top:
        _print_candidates(selection, args.top)
    return EXIT_OK


def _select_named(args: argparse.Namespace):
    from ..policies.book import load_policies

    book = load_policies(args.file)
    selection = book.select(args.expr, load_catalog_for_book(args, [book[args.expr]]))
    if selection.via:
        print(f"policyeng: policy {args.expr!r} matched nothing; used its fallback "
              f"{selection.via!r}", file=sys.stderr)
    return selection


def _print_candidates(selection, top: int) -> None:
    from ..explain import candidates, key_text
    from . import tables

    policy = selection.compiled
    rows = candidates(policy, selection.candidates[:top], selection.entry)
    keys = [key_text(policy, k) for k in policy.tree.order_by]
    print()
    print("\n".join(tables.ranking_table(rows, keys, tables.Style(sys.stdout))))

