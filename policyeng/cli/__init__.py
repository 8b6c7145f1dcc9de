"""The ``policyeng`` command: parse arguments, call the library, print.

One module per command (``select``, ``explain``, ``catalog``, ``check``,
``lock``, ``diff``, ``serve``), each with ``add_parser(commands)`` and
``run(args)``; this module only assembles them and turns errors into exit
codes. Errors are a few lines on stderr, never a traceback unless
``POLICYENG_DEBUG=1``.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import warnings
from collections.abc import Sequence
from typing import Any

from .._version import __version__
from ..errors import Error
from ..text import visible
from . import catalog, check, diff, explain, lock, select, serve
from .common import EXIT_OK, EXIT_USAGE, shell_quote, terminal_columns, visible_output

#: The commands, in the order ``--help`` lists them.
COMMANDS = (select, catalog, explain, check, lock, diff, serve)


def main(argv: Sequence[str] | None = None) -> int:
    with visible_output():  # nothing printed may drive the terminal (text.visible)
        parser = build_parser()
        args, extra = parser.parse_known_args(argv)
        if extra:
            _unrecognized(args, extra)
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
    # one line each: a newline in a model name must not start a line of its own
    print(f"policyeng: warning: {visible(str(message))}", file=sys.stderr)


def _unrecognized(args: argparse.Namespace, extra: list[str]) -> None:
    """Exit 2 on leftover words; for a policy given unquoted, show it quoted."""
    message = f"unrecognized arguments: {' '.join(extra)}"
    words = not any(w.startswith("-") and w.lstrip("-")[:1].isalpha() for w in extra)
    option = vars(args).get
    policy = (
        option("where")
        if args.command == "catalog"
        else (None if option("file") else option("expr"))
    )  # with -f, EXPR is a policy's name
    if words and policy is not None:
        again = ["policyeng", args.command, *(["--where"] if args.command == "catalog" else [])]
        message += (
            f"\nhint: quote the policy: {' '.join(again)} {shell_quote(' '.join([policy, *extra]))}"
        )
    args.command_parser.error(message)


class _Parser(argparse.ArgumentParser):
    """Options are never abbreviated: `--stric` must not quietly mean `--strict`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)


class _Formatter(argparse.HelpFormatter):
    """argparse's help layout, as wide as the terminal, found without ``shutil``.

    argparse makes a formatter for every option it adds (to check its metavar),
    and the default one asks ``shutil`` for the width: importing shutil (and the
    bz2, lzma and zlib modules it loads) cost every run more than argparse itself.
    """

    def __init__(self, prog: str, **kwargs: Any) -> None:
        kwargs.setdefault("width", terminal_columns() - 2)  # argparse's own margin
        super().__init__(prog, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: each command module adds its own sub-parser."""
    parser = _Parser(
        prog="policyeng",
        description="Pick an LLM from a provider's model catalog with a declarative policy.",
        epilog="Exit codes: 0 done, 1 no match, 2 bad usage or policy, 3 catalog unusable.",
    )
    parser.add_argument("--version", action="version", version=f"policyeng {__version__}")
    # prog given, or argparse formats a usage line on every run to derive it.
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, prog=parser.prog
    )
    for command in COMMANDS:
        command.add_parser(commands)
    for sub in commands.choices.values():
        sub.set_defaults(command_parser=sub)
    return parser


def main_exit() -> None:
    """Console-script entry point (``python -m policyeng`` too).

    One command runs, then the process ends and its memory goes with it, so the
    cyclic garbage collector is off: its passes over the objects a run builds in
    bursts (the parser's tables, the catalog) found nothing to free and cost a
    `select` as much as its parse, and the interpreter's exit-time collections
    are skipped too (``gc.freeze``). A command that runs for long turns it back
    on (``serve``).
    """
    gc.disable()
    code = main()
    gc.freeze()
    sys.exit(code)
