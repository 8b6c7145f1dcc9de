"""``policyeng explain EXPR | -f FILE NAME``: the funnel, the ranking, why not a model."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..errors import Error
from ..text import plural
from .common import (
    EXIT_NO_MATCH,
    EXIT_OK,
    add_catalog_options,
    load_catalog_for,
    load_catalog_for_book,
    positive,
    print_json,
)


def add_parser(commands) -> None:
    explain = commands.add_parser(
        "explain",
        help="show why a policy picks its model, or why not another",
        description="Show the funnel (how many models each clause of the policy dropped), "
        "the ranked candidates with their ranking keys, and the pick. With --model, say "
        "why that model was not picked. With -f, also the fallback chain.",
    )
    explain.add_argument(
        "expr", metavar="EXPR", help='the policy, e.g. "supports chat and healthy"'
    )
    explain.add_argument(
        "-f",
        "--file",
        metavar="FILE",
        help="a policy file (or directory); EXPR is then a policy NAME in it",
    )
    explain.add_argument(
        "--model", metavar="MODEL_NAME", help="explain why this model was (not) picked"
    )
    add_catalog_options(explain)
    explain.add_argument(
        "--top",
        type=positive,
        metavar="N",
        default=10,
        help="list the N best candidates (default: 10)",
    )
    explain.add_argument(
        "--json",
        action="store_true",
        help="print the explanation as JSON (what policy.explain() returns)",
    )
    explain.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..engine import compile

    if args.file:
        from ..policies.book import load_policies

        book = load_policies(args.file)
        data = book.explain(args.expr, load_catalog_for_book(args, [book[args.expr]]), args.model)
    else:
        data = compile(args.expr).explain(load_catalog_for(args), model=args.model)
    why = data["model"]
    if why is not None and why["status"] == "unknown":
        raise Error(_unknown_model(why, data["catalog"]))
    if args.json:
        print_json(data)
    else:
        from . import tables

        print("\n".join(tables.explain_lines(data, tables.Style(sys.stdout), top=args.top)))
    return EXIT_OK if data["pick"] is not None else EXIT_NO_MATCH


def _unknown_model(why: dict[str, Any], catalog: dict[str, Any]) -> str:
    models = plural(catalog["models"], "model")
    message = (
        f"--model: no model named {why['model_name']!r} in catalog {catalog['source']} ({models})"
    )
    close = why["did_you_mean"]
    if close:
        return message + "; did you mean " + " or ".join(repr(n) for n in close) + "?"
    return message + "\nhint: `policyeng catalog` lists every model_name (names are exact)"
