"""``policyeng check FILE_OR_DIR...``: every policy resolves and meets its ``expect``."""

from __future__ import annotations

import argparse
import os
import warnings

from ..errors import CatalogError, CatalogWarning, PolicyError
from .common import (
    DEFAULT_LOCK,
    EXIT_NO_MATCH,
    EXIT_OK,
    add_catalog_options,
    load_catalog_for_book,
)


def add_parser(commands) -> None:
    from ..policies.formats import NAMES

    check = commands.add_parser(
        "check",
        help="resolve every policy of policy files and check its expectations",
        description="Load policy files, resolve every policy (fallbacks included), check each "
        "`expect`, and with --locked compare each pick with the lock file.",
        epilog="Exit codes: 0 all pass, 1 a policy fails or drifted, 2 bad policy file, "
        "3 catalog unusable.",
    )
    check.add_argument("paths", nargs="+", metavar="FILE_OR_DIR")
    add_catalog_options(check)
    check.add_argument("--format", choices=NAMES, default="text")
    check.add_argument(
        "--locked",
        action="store_true",
        help="also fail when a pick differs from the lock file, with the reason; "
        "never against a fallback catalog (exit 3)",
    )
    check.add_argument(
        "--lock", metavar="PATH", help="the lock file (default: ./policies.lock); implies --locked"
    )
    check.set_defaults(run=run)


def load_book(args: argparse.Namespace):
    """The policy files named; a file that does not load still gets a CI report."""
    from ..policies.book import load_policies

    try:
        return load_policies(*args.paths)
    except PolicyError as exc:
        _report_load_error(args, exc)
        raise


def _report_load_error(args: argparse.Namespace, error: PolicyError) -> None:
    form = getattr(args, "format", "text")
    if os.environ.get("POLICYENG_DEBUG") == "1":
        return
    from ..policies import formats

    shown = formats.get(form).render_load_errors(error)
    if shown is not None:
        print(shown)


def run(args: argparse.Namespace) -> int:
    from ..policies import formats
    from ..policies.check import check_book

    book = load_book(args)
    locked = bool(args.locked or args.lock)
    try:
        catalog, notes = load_catalog_noting(args, book, pinned=locked)
    except CatalogError as exc:  # CI still gets a report it can read
        _report_load_error(
            args, PolicyError(exc.message, kind="catalog", source=exc.source or "catalog")
        )
        raise
    reports = check_book(book, catalog)
    lock_path = args.lock or DEFAULT_LOCK
    if locked:
        from ..policies.lock import apply_lock, read_lock

        reports = apply_lock(reports, read_lock(lock_path), lock_path, book, catalog)
    print(formats.get(args.format).render(reports, catalog, lock_path, notes=notes))
    return EXIT_OK if all(r.passed for r in reports) else EXIT_NO_MATCH


#: Why ``lock`` and ``check --locked`` refuse a fallback copy of the catalog.
PINNED = (
    "lock and check --locked compare against the catalog named, never a fallback "
    "(builtin or a stale cached copy); make the source reachable or name another "
    "with --catalog"
)


def load_catalog_noting(args: argparse.Namespace, book, *, pinned: bool):
    """The catalog for the book and the warnings its loading gave (fall-backs, skipped entries).

    The warnings still go to stderr as for every command; they are returned too,
    so a CI report (``--format github``) can carry them. ``pinned`` (``lock``,
    ``check --locked``): an unreachable source is an error (exit 3), never
    answered by ``builtin`` or a stale cache, which would lock or report the
    wrong models.
    """
    if pinned:
        args.no_fallback = True
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CatalogWarning)
        try:
            catalog = load_catalog_for_book(args, list(book))
        except CatalogError as exc:
            if pinned and not exc.hint:
                exc.hint = PINNED
            raise
        finally:
            shown = list(caught)
    for warning in shown:  # replayed after recording, through the command's own printer
        warnings.showwarning(warning.message, warning.category, warning.filename, warning.lineno)
    return catalog, [str(w.message) for w in shown if issubclass(w.category, CatalogWarning)]
