"""``policyeng select EXPR | -f FILE NAME | -f FILE --all``: the model a policy picks.

``--format`` says who reads the answer: a person (``text``), a program
(``json``), a shell (``env``, to ``source``) or a GitHub Actions step
(``github``, appended to ``$GITHUB_OUTPUT``).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..errors import UsageError
from ..text import shown_source, visible
from .common import (
    EXIT_NO_MATCH,
    EXIT_OK,
    add_catalog_options,
    exact_output,
    load_catalog_for,
    load_catalog_for_book,
    print_json,
    shell_quote,
)

#: Candidates ``--format json`` lists when --top is not given: enough to see the
#: runners-up, small whatever the catalog's size.
DEFAULT_JSON_TOP = 10
FORMATS = ("text", "json", "env", "github")


def add_parser(commands) -> None:
    select = commands.add_parser(
        "select",
        help="pick one model for a policy",
        description="Evaluate a policy against the catalog and print the model it picks.",
        epilog="--format env prints POLICYENG_MODEL_NAME, POLICYENG_ENDPOINT, POLICYENG_URL, "
        "POLICYENG_BASE_URL, POLICYENG_CATALOG_SHA256 and POLICYENG_STALE, quoted for "
        "`. FILE` in sh (with --all: POLICYENG_<POLICY>_MODEL_NAME, ...); --format "
        "github appends model_name, endpoint, ... to $GITHUB_OUTPUT. With --all, a "
        "policy that resolves to nothing is null (json) or left out, and the exit code "
        "is 1.",
    )
    select.add_argument(
        "expr", metavar="EXPR", nargs="?", help='the policy, e.g. "supports chat and healthy"'
    )
    select.add_argument(
        "-f",
        "--file",
        metavar="FILE",
        help="a policy file (or directory); EXPR is then a policy NAME in it",
    )
    select.add_argument(
        "--all", action="store_true", help="with -f: answer every policy of the files at once"
    )
    add_catalog_options(select)
    select.add_argument(
        "--format",
        choices=FORMATS,
        default=None,
        help="text (default), json, env (for sh) or github ($GITHUB_OUTPUT)",
    )
    select.add_argument("--json", action="store_true", help="the same as --format json")
    select.add_argument(
        "--top",
        type=count,
        metavar="N",
        help="list the N best candidates (text: none unless given; json: "
        f"{DEFAULT_JSON_TOP}; 0: none)",
    )
    select.set_defaults(run=run)


def count(text: str) -> int:
    """An argparse type: a whole number, 0 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _form(args: argparse.Namespace) -> str:
    """The output format, after checking the options agree with each other."""
    if args.json and args.format not in (None, "json"):
        raise UsageError(f"--json and --format {args.format} contradict each other")
    form = "json" if args.json else args.format or "text"
    if args.top is not None and form in ("env", "github"):
        raise UsageError(f"--top lists candidates, which --format {form} does not print")
    if args.all:
        if not args.file:
            raise UsageError("--all answers every policy of policy files: give them with -f")
        if args.expr is not None:
            raise UsageError(f"--all answers every policy; drop {args.expr!r} or --all")
    elif args.expr is None:
        raise UsageError("give a policy (EXPR), or -f FILE NAME, or -f FILE --all")
    return form


def run(args: argparse.Namespace) -> int:
    form = _form(args)
    if args.all:
        return _run_all(args, form)
    from ..engine import compile
    from ..errors import NoMatch

    try:
        if args.file:
            selection = _select_named(args)
        else:
            selection = compile(args.expr).select(load_catalog_for(args))
    except NoMatch as exc:
        again = " ".join(
            shell_quote(word)
            for word in [
                "policyeng",
                "explain",
                *(["-f", args.file] if args.file else []),
                args.expr,
                *(["--catalog", shown_source(args.catalog)] if args.catalog else []),
            ]
        )
        print(
            f"policyeng: {exc}\nhint: see each clause's drops and the ranking with: {again}",
            file=sys.stderr,
        )
        return EXIT_NO_MATCH
    _warn_per_unit(selection)
    if form == "json":
        print_json(selection.to_dict(top=_top(args)))
    elif form in ("env", "github"):
        _print_shell(form, [(None, selection)])
    else:
        print(visible(f"{selection.model_name}  {selection.endpoint}"))
        if args.top:
            _print_candidates(selection, args.top)
    return EXIT_OK


def _warn_per_unit(selection, about: str = "") -> None:
    """Ranking image, video or audio models by a token price they do not have: say so."""
    from ..diagnose import per_unit_ranking

    trap = per_unit_ranking(selection.compiled, selection.catalog_ref)
    if trap:
        print(f"policyeng: warning: {visible(about + trap)}", file=sys.stderr)


def _top(args: argparse.Namespace) -> int:
    return DEFAULT_JSON_TOP if args.top is None else args.top


def _select_named(args: argparse.Namespace):
    from ..policies.book import load_policies

    book = load_policies(args.file)
    selection = book.select(args.expr, load_catalog_for_book(args, [book[args.expr]]))
    if selection.via:
        print(
            f"policyeng: policy {args.expr!r} matched nothing; used its fallback {selection.via!r}",
            file=sys.stderr,
        )
    return selection


def _run_all(args: argparse.Namespace, form: str) -> int:
    """Every policy of the files: the ones that resolve are printed, the others said on
    stderr (and ``null`` in JSON), and any of those makes the exit code 1."""
    from ..errors import NoMatch
    from ..policies.book import load_policies

    book = load_policies(args.file)
    catalog = load_catalog_for_book(args, list(book))
    picks: dict[str, Any] = {}  # a Selection, or None for a policy that resolved to nothing
    outcomes: dict = {}  # each policy's own result, reused along fallback chains
    for name in book.names:
        try:
            picks[name] = book.select(name, catalog, outcomes=outcomes)
        except NoMatch as exc:
            print(f"policyeng: {exc}", file=sys.stderr)
            picks[name] = None
        else:
            _warn_per_unit(picks[name], f"policy {name!r}: ")
    if form == "json":
        print_json({name: s and s.to_dict(top=_top(args)) for name, s in picks.items()})
    elif form in ("env", "github"):
        _check_prefixes(book.names)
        _print_shell(form, [(name, s) for name, s in picks.items() if s is not None])
    else:
        width = max(len(name) for name in picks)
        models = max((len(s.model_name) for s in picks.values() if s is not None), default=0)
        for name, s in picks.items():
            if s is None:
                print(visible(f"{name:<{width}}  (no match)"))
                continue
            via = f"  (via {s.via})" if s.via else ""
            print(visible(f"{name:<{width}}  {s.model_name:<{models}}  {s.endpoint}{via}"))
    return EXIT_NO_MATCH if None in picks.values() else EXIT_OK


def _check_prefixes(names: list[str]) -> None:
    """Two policies whose variable names would collide (``a-b`` and ``a_b``) are refused."""
    from .shell import policy_prefix

    seen: dict[str, str] = {}
    for name in names:
        other = seen.setdefault(policy_prefix(name), name)
        if other != name:
            raise UsageError(
                f"policies {other!r} and {name!r} would both export "
                f"POLICYENG_{policy_prefix(name)}_*; rename one"
            )


def _print_shell(form: str, picks) -> None:
    from .shell import (
        append_github_output,
        env_names,
        env_text,
        github_names,
        github_text,
        pick_values,
    )

    if form == "env":  # sourced by a shell: the exact values, unless shown on a terminal
        exact_output(sys.stdout).write(
            "".join(env_text(env_names(pick_values(s), name)) for name, s in picks)
        )
        return
    append_github_output(
        "".join(github_text(github_names(pick_values(s), name)) for name, s in picks)
    )
    for name, s in picks:  # and for the step's log, what was picked
        print(visible(f"{name + '  ' if name else ''}{s.model_name}  {s.endpoint}"))


def _print_candidates(selection, top: int) -> None:
    from ..explain import candidates, key_text
    from . import tables

    policy = selection.compiled
    rows = candidates(policy, selection.candidates[:top], selection.entry)
    keys = [key_text(policy, k) for k in policy.tree.order_by]
    print()
    print("\n".join(tables.ranking_table(rows, keys, tables.Style(sys.stdout))))
