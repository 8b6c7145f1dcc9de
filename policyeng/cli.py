"""The ``policyeng`` command: parse arguments, call the library, print.

Exit codes (DESIGN §4): 0 done; 1 no match / expectation failed / drift;
2 bad usage or bad policy; 3 catalog unusable. Errors are a few lines on
stderr, never a traceback unless ``POLICYENG_DEBUG=1``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from collections.abc import Sequence
from typing import Any

from .errors import CatalogError, Error, PolicyError

EXIT_OK, EXIT_NO_MATCH, EXIT_USAGE = 0, 1, 2  # 3, catalog unusable: CatalogError.exit_code
DEFAULT_LOCK = "policies.lock"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        _unrecognized(parser, args, extra)
    with warnings.catch_warnings():  # restored on return: main() may run in-process
        warnings.showwarning = _print_warning
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    try:
        code = args.run(args)
        sys.stdout.flush()  # a full disk shows here, not at exit as a traceback
        return code
    except Error as exc:
        if os.environ.get("POLICYENG_DEBUG") == "1":
            raise
        print(f"policyeng: {exc}", file=sys.stderr)
        _flush_or_discard()  # a report printed before the error (check --format json)
        return exc.exit_code
    except BrokenPipeError:
        sys.stderr.close()
        return EXIT_OK
    except OSError as exc:
        # Files the commands read or write are reported as Errors; an OSError with no
        # file name that gets here is stdout refusing the output (ENOSPC, EIO, ...).
        if exc.filename is not None or os.environ.get("POLICYENG_DEBUG") == "1":
            raise
        print(f"policyeng: cannot write output: {exc.strerror or exc}", file=sys.stderr)
        _discard_output()
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def _flush_or_discard() -> None:
    """Flush what a failing command printed; if stdout refuses it, say so once."""
    try:
        sys.stdout.flush()
    except OSError as exc:
        if not isinstance(exc, BrokenPipeError):
            print(f"policyeng: cannot write output: {exc.strerror or exc}", file=sys.stderr)
        _discard_output()


def _discard_output() -> None:
    """Point stdout at the null device, so the exit-time flush cannot fail again."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError):
        pass  # stdout has no descriptor (a test's capture): nothing will flush it


def _print_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"policyeng: warning: {message}", file=sys.stderr)


def _unrecognized(parser: argparse.ArgumentParser, args: argparse.Namespace,
                  extra: list[str]) -> None:
    """Exit 2 on leftover words; for a policy given unquoted, show it quoted."""
    command = next(a for a in parser._actions
                   if isinstance(a, argparse._SubParsersAction)).choices[args.command]
    message = f"unrecognized arguments: {' '.join(extra)}"
    words = not any(w.startswith("-") and w.lstrip("-")[:1].isalpha() for w in extra)
    option = vars(args).get
    policy = option("where") if args.command == "catalog" else (
        None if option("file") else option("expr"))  # with -f, EXPR is a policy's name
    if words and policy is not None:
        again = ["policyeng", args.command, *(["--where"] if args.command == "catalog" else [])]
        message += (f"\nhint: quote the policy: {' '.join(again)} "
                    f"{_shell_quote(' '.join([policy, *extra]))}")
    command.error(message)


class _Parser(argparse.ArgumentParser):
    """Options are never abbreviated: `--stric` must not quietly mean `--strict`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="policyeng",
        description="Pick an LLM from a provider's model catalog with a declarative policy.",
        epilog="Exit codes: 0 done, 1 no match, 2 bad usage or policy, 3 catalog unusable.",
    )
    parser.add_argument("--version", action="version", version=f"policyeng {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    select = commands.add_parser(
        "select", help="pick one model for a policy",
        description="Evaluate a policy against the catalog and print the model it picks.",
    )
    select.add_argument("expr", metavar="EXPR", help='the policy, e.g. "supports chat and healthy"')
    select.add_argument("-f", "--file", metavar="FILE",
                        help="a policy file (or directory); EXPR is then a policy NAME in it")
    _catalog_options(select)
    select.add_argument("--json", action="store_true", help="print the selection as JSON")
    select.add_argument("--top", type=_positive, metavar="N",
                        help="also list the N best candidates")
    select.set_defaults(run=run_select)

    catalog = commands.add_parser(
        "catalog", help="list catalog entries",
        description="List the catalog's models (those passing --where), in model_name order "
                    "or as the --where policy's `order by` ranks them.",
    )
    catalog.add_argument("--where", metavar="EXPR", help="only entries passing this policy")
    _catalog_options(catalog)
    catalog.add_argument("--json", action="store_true", help="print the entries as JSON")
    catalog.add_argument("--refresh", action="store_true",
                         help="fetch the catalog now, whatever the cache's age; fail if it cannot")
    catalog.add_argument("--info", action="store_true",
                         help="print where the catalog came from, its age, size and sha256")
    catalog.set_defaults(run=run_catalog)

    explain = commands.add_parser(
        "explain", help="show why a policy picks its model, or why not another",
        description="Show the funnel (how many models each clause of the policy dropped), "
        "the ranked candidates with their ranking keys, and the pick. With --model, say "
        "why that model was not picked. With -f, also the fallback chain.",
    )
    explain.add_argument("expr", metavar="EXPR",
                         help='the policy, e.g. "supports chat and healthy"')
    explain.add_argument("-f", "--file", metavar="FILE",
                         help="a policy file (or directory); EXPR is then a policy NAME in it")
    explain.add_argument("--model", metavar="MODEL_NAME",
                         help="explain why this model was (not) picked")
    _catalog_options(explain)
    explain.add_argument("--top", type=_positive, metavar="N", default=10,
                         help="list the N best candidates (default: 10)")
    explain.add_argument("--json", action="store_true",
                         help="print the explanation as JSON (what policy.explain() returns)")
    explain.set_defaults(run=run_explain)
    _policy_file_commands(commands)
    return parser


def _policy_file_commands(commands) -> None:
    check = commands.add_parser(
        "check", help="resolve every policy of policy files and check its expectations",
        description="Load policy files, resolve every policy (fallbacks included), check each "
                    "`expect`, and with --locked compare each pick with the lock file.",
        epilog="Exit codes: 0 all pass, 1 a policy fails or drifted, 2 bad policy file, "
               "3 catalog unusable.",
    )
    check.add_argument("paths", nargs="+", metavar="FILE_OR_DIR")
    _catalog_options(check)
    check.add_argument("--format", choices=("text", "json", "junit", "github"), default="text")
    check.add_argument("--locked", action="store_true",
                       help="also fail when a pick differs from the lock file")
    check.add_argument("--lock", metavar="PATH",
                       help="the lock file (default: ./policies.lock); implies --locked")
    check.set_defaults(run=run_check)

    lock = commands.add_parser(
        "lock", help="record the model each policy picks",
        description="Resolve every policy and write the picks and the catalog's sha256 to a "
                    "lock file, for `policyeng check --locked`.",
    )
    lock.add_argument("paths", nargs="+", metavar="FILE_OR_DIR")
    _catalog_options(lock)
    lock.add_argument("-o", "--output", metavar="PATH", default=DEFAULT_LOCK,
                      help="where to write the lock, - for stdout (default: ./policies.lock)")
    lock.set_defaults(run=run_lock)


def _catalog_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--catalog", metavar="SRC", default=None,
                        help="builtin, a JSON file or an http(s) URL (default: $POLICYENG_CATALOG,"
                             " else the live URL, its cache, then builtin)")
    parser.add_argument("--strict", action="store_true",
                        help="fail on any invalid catalog entry instead of skipping it")
    parser.add_argument("--offline", action="store_true",
                        help="never touch the network: a URL is served from its cache")
    parser.add_argument("--no-fallback", action="store_true",
                        help="exit 3 if the source is unreachable or invalid (no cache or builtin)")
    parser.add_argument("--live", action="store_true",
                        help="also read GET /v1/models (key: $FLEXAI_API_KEY) to know `live`")
    parser.add_argument("--max-age", type=_seconds, metavar="SECONDS", default=None,
                        help="use a cached catalog younger than this without asking (default 600)")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError("must be a finite number of seconds, 0 or more")
    return value


def _version() -> str:
    from . import __version__

    return __version__


def _load(args: argparse.Namespace, default: str | None = None):
    """The catalog the options name; ``default`` is a policy file's ``catalog:``."""
    from .catalog import load_catalog
    from .progress import TerminalProgress

    option = vars(args).get
    return load_catalog(option("catalog"), strict=option("strict", False),
                        live=option("live", False), offline=True if option("offline") else None,
                        fallback=not option("no_fallback", False),
                        refresh=option("refresh", False), max_age=option("max_age"),
                        default=default, progress=TerminalProgress.for_terminal())


def run_select(args: argparse.Namespace) -> int:
    from .engine import compile
    from .errors import NoMatch

    try:
        if args.file:
            selection = _select_named(args)
        else:
            selection = compile(args.expr).select(_load(args))
    except NoMatch as exc:
        again = " ".join(_shell_quote(word) for word in [
            "policyeng", "explain", *(["-f", args.file] if args.file else []), args.expr,
            *(["--catalog", args.catalog] if args.catalog else [])])
        print(f"policyeng: {exc}\nhint: see each clause's drops and the ranking with: {again}",
              file=sys.stderr)
        return EXIT_NO_MATCH
    if args.json:
        _print_json(selection.to_dict(top=args.top))
        return EXIT_OK
    print(f"{selection.model_name}  {selection.endpoint}")
    if args.top:
        _print_candidates(selection, args.top)
    return EXIT_OK


def _select_named(args: argparse.Namespace):
    from .policyfile import load_policies

    book = load_policies(args.file)
    selection = book.select(args.expr, _load_for_book(args, [book[args.expr]]))
    if selection.via:
        print(f"policyeng: policy {args.expr!r} matched nothing; used its fallback "
              f"{selection.via!r}", file=sys.stderr)
    return selection


def _load_for_book(args: argparse.Namespace, policies):
    """--catalog, else $POLICYENG_CATALOG, else the one `catalog:` the files name, else
    the default chain."""
    from .policyfile import named_catalog

    if args.catalog or os.environ.get("POLICYENG_CATALOG"):
        return _load(args)
    return _load(args, default=named_catalog(list(policies)))


def _load_book(args: argparse.Namespace):
    from .errors import PolicyError
    from .policyfile import load_policies

    try:
        return load_policies(*args.paths)
    except PolicyError as exc:
        form = getattr(args, "format", "text")
        if form != "text" and os.environ.get("POLICYENG_DEBUG") != "1":
            from . import report  # a CI report even when a file does not load

            print(report.LOAD_ERRORS[form](exc))
        raise


def run_check(args: argparse.Namespace) -> int:
    from . import report
    from .policyfile import check_book

    book = _load_book(args)
    try:
        catalog = _load_for_book(args, list(book))
    except CatalogError as exc:
        if args.format != "text":  # CI still gets a report it can read
            problem = PolicyError(exc.message, kind="catalog", source=exc.source or "catalog")
            print(report.LOAD_ERRORS[args.format](problem))
        raise
    reports = check_book(book, catalog)
    lock_path = args.lock or DEFAULT_LOCK
    if args.locked or args.lock:
        from .lock import apply_lock, read_lock

        reports = apply_lock(reports, read_lock(lock_path), lock_path)
    if args.format == "text":
        print(report.text(reports, catalog, lock_path))
    else:
        print({"json": report.as_json, "junit": report.junit,
               "github": report.github}[args.format](reports, catalog))
    return EXIT_OK if all(r.passed for r in reports) else EXIT_NO_MATCH


def run_lock(args: argparse.Namespace) -> int:
    from .lock import describe, lock_data, write_lock
    from .policyfile import check_book

    book = _load_book(args)
    catalog = _load_for_book(args, list(book))
    reports = check_book(book, catalog)
    write_lock(args.output, lock_data(reports, catalog))
    said = sys.stderr if args.output == "-" else sys.stdout  # `-o -`: stdout is the lock
    width = max(len(r.name) for r in reports)
    for r in reports:
        print(f"{r.name:<{width}}  {describe(r.pick)}", file=said)
    where = "stdout" if args.output == "-" else args.output
    print(f"locked {len(reports)} polic{'y' if len(reports) == 1 else 'ies'} in {where} "
          f"(catalog {catalog.source}, sha256 {catalog.sha256[:12]}...)", file=said)
    return EXIT_OK


def _print_candidates(selection, top: int) -> None:
    from . import render
    from .explain import candidates, key_text

    policy = selection.compiled
    rows = candidates(policy, selection.candidates[:top], selection.entry)
    keys = [key_text(policy, k) for k in policy.tree.order_by]
    print()
    print("\n".join(render.ranking_table(rows, keys, render.Style(sys.stdout))))


def _shell_quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


def run_catalog(args: argparse.Namespace) -> int:
    catalog = _load(args)
    if args.info:
        return _print_catalog_info(catalog, args.json)
    entries = _listed(args.where, catalog)
    if args.json:
        _print_json(entries)
        return EXIT_OK
    from . import render

    headers = ["model_name", "category", "endpoint", "input", "output", "context", "health"]
    health = {"healthy": "green", "degraded": "yellow", "down": "red"}
    rows = [
        [e["model_name"], render.value_cell(e.get("category")),
         e.get("endpoint") or ("(none)", "yellow"),
         render.value_cell(e.get("input_per_mtok")), render.value_cell(e.get("output_per_mtok")),
         render.value_cell(e.get("context_window")),
         (e.get("health_status") or "(missing)", health.get(e.get("health_status"), "dim"))]
        for e in entries
    ]
    print("\n".join(render.table(headers, rows, render.Style(sys.stdout), right=(3, 4, 5),
                                  shrink=((2,), (0,), (1,)))))
    print(f"{len(entries)} of {len(catalog)} models, catalog {catalog.source}", file=sys.stderr)
    return EXIT_OK


def _listed(where: str | None, catalog) -> list[dict[str, Any]]:
    """What `catalog` lists: the entries passing --where, ranked by its `order by` if it has
    one, else in model_name order; an empty list names values no model has."""
    by_name = lambda entry: entry["model_name"]  # noqa: E731
    if not where:
        return sorted(catalog.entries, key=by_name)
    from . import syntax
    from .engine import compile, unknown_value

    policy = compile(where)
    entries = policy.rank(catalog) if policy.tree.order_by else sorted(policy.filter(catalog),
                                                                        key=by_name)
    if not entries:
        for clause in syntax.conjuncts(policy.tree):
            hint = unknown_value(clause, catalog.entries)
            if hint:
                print(f"policyeng: {hint}", file=sys.stderr)
    return entries


def _print_catalog_info(catalog, as_json: bool) -> int:
    """``catalog --info``: where the catalog came from, how old it is, what it holds."""
    from .catalog import age_of, describe_age, is_url

    cache = None
    if is_url(catalog.source):
        from .cache import CatalogCache

        cache = str(CatalogCache().path_for(catalog.source))
    age = age_of(catalog.fetched_at)
    info = {**catalog.info(), "origin": catalog.origin, "age_seconds": int(age),
            "entries": len(catalog), "skipped": [str(s) for s in catalog.skipped],
            "live_known": catalog.live_known, "cache": cache}
    if as_json:
        _print_json(info)
        return EXIT_OK
    rows = [["source", catalog.source], ["origin", catalog.origin],
            ["fetched_at", f"{catalog.fetched_at} ({describe_age(age)} ago)"
                           if catalog.fetched_at else "unknown"],
            ["stale", "yes" if catalog.stale else "no"], ["entries", str(len(catalog))],
            ["skipped", str(len(catalog.skipped))], ["sha256", catalog.sha256]]
    if cache:
        rows.append(["cache", cache])
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"{name.ljust(width)}  {value}")
        if name == "skipped":
            for problem in catalog.skipped:
                print(f"{''.ljust(width)}    {problem}")
    return EXIT_OK


def run_explain(args: argparse.Namespace) -> int:
    from .engine import compile

    if args.file:
        from .policyfile import load_policies

        book = load_policies(args.file)
        data = book.explain(args.expr, _load_for_book(args, [book[args.expr]]), args.model)
    else:
        data = compile(args.expr).explain(_load(args), model=args.model)
    why = data["model"]
    if why is not None and why["status"] == "unknown":
        raise Error(_unknown_model(why, data["catalog"]))
    if args.json:
        _print_json(data)
    else:
        from . import render

        print("\n".join(render.explain_lines(data, render.Style(sys.stdout), top=args.top)))
    return EXIT_OK if data["pick"] is not None else EXIT_NO_MATCH


def _unknown_model(why: dict[str, Any], catalog: dict[str, Any]) -> str:
    models = f"{catalog['models']} model{'' if catalog['models'] == 1 else 's'}"
    message = (f"--model: no model named {why['model_name']!r} in catalog {catalog['source']} "
               f"({models})")
    close = why["did_you_mean"]
    if close:
        return message + "; did you mean " + " or ".join(repr(n) for n in close) + "?"
    return message + "\nhint: `policyeng catalog` lists every model_name (names are exact)"


def _print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def main_exit() -> None:
    """Console-script entry point."""
    sys.exit(main())
