"""What every command shares: the catalog options, loading what they name, printing JSON.

Exit codes, for every command: 0 done; 1 a policy resolved to nothing, a
``check`` expectation failed or a pick drifted; 2 bad usage, policy or file;
3 the catalog is unusable (``CatalogError.exit_code``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
from collections.abc import Iterator
from typing import IO, Any

from ..text import is_terminal, visible

EXIT_OK, EXIT_NO_MATCH, EXIT_USAGE = 0, 1, 2
DEFAULT_LOCK = "policies.lock"


def add_catalog_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--catalog",
        metavar="SRC",
        default=None,
        help="builtin, a JSON file or an http(s) URL (default: $POLICYENG_CATALOG,"
        " else the live URL, its cache, then builtin)",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="fail on any invalid catalog entry instead of skipping it",
    )
    parser.add_argument(
        "--offline",
        action="store_true",
        help="never touch the network: a URL is served from its cache",
    )
    parser.add_argument(
        "--no-fallback",
        action="store_true",
        help="exit 3 if the source is unreachable or invalid (no cache or builtin)",
    )
    parser.add_argument(
        "--live",
        action="store_true",
        help="also read GET /v1/models (key: $FLEXAI_API_KEY) to know `live`",
    )
    parser.add_argument(
        "--max-age",
        type=seconds,
        metavar="SECONDS",
        default=None,
        help="use a cached catalog younger than this without asking (default 600)",
    )


def positive(text: str) -> int:
    """An argparse type: a whole number, 1 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def seconds(text: str) -> float:
    """An argparse type: a finite number of seconds, 0 or more."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError("must be a finite number of seconds, 0 or more")
    return value


def load_catalog_for(args: argparse.Namespace, default: str | None = None):
    """The catalog the options name; ``default`` is a policy file's ``catalog:``."""
    from ..catalog.sources import load_catalog
    from .progress import TerminalProgress

    option = vars(args).get
    return load_catalog(
        option("catalog"),
        strict=option("strict", False),
        live=option("live", False),
        offline=True if option("offline") else None,
        fallback=not option("no_fallback", False),
        refresh=option("refresh", False),
        max_age=option("max_age"),
        default=default,
        progress=TerminalProgress.for_terminal(),
    )


def load_catalog_for_book(args: argparse.Namespace, policies):
    """--catalog, else $POLICYENG_CATALOG, else the one `catalog:` the files name, else
    the default chain."""
    from ..policies.book import named_catalog

    if args.catalog or os.environ.get("POLICYENG_CATALOG"):
        return load_catalog_for(args)
    return load_catalog_for(args, default=named_catalog(list(policies)))


def print_json(data: Any) -> None:
    """Indented JSON, non-ASCII text as it is, but nothing a terminal would act on.

    ``json`` escapes C0 controls only; ``visible`` escapes the rest (DEL, C1,
    bidirectional overrides, lone surrogates) with JSON's own ``\\u`` escapes, which
    can only occur inside strings, so the output stays the same JSON value.
    """
    text = json.dumps(data, indent=2, ensure_ascii=False)
    sys.stdout.write(visible(text, keep="\n") + "\n")


def use_colour(stream: IO[str]) -> bool:
    """Colour when writing to a terminal, unless ``NO_COLOR`` is set to anything."""
    return not os.environ.get("NO_COLOR", "") and is_terminal(stream)


#: The only escape sequences policyeng writes itself: SGR colours (``tables.Style``).
_COLOUR = re.compile(r"(\x1b\[[0-9;]*m)")


class VisibleStream:
    """A text stream that escapes what a terminal would act on, whoever printed it.

    The renderers escape the values they show (``text.visible``); this is the
    net under them, so that a message nobody thought of (an argparse error
    echoing an argument, a future renderer) cannot write an escape sequence
    either. Newlines pass (and on stderr carriage returns, which the progress
    meter redraws with); colour codes pass only where policyeng colours its
    output (a terminal, no ``NO_COLOR``).
    """

    def __init__(self, stream: IO[str], keep: str = "\n") -> None:
        self._stream = stream
        self._keep = keep
        self._colour = use_colour(stream)

    def write(self, text: str) -> int:
        keep = self._keep
        if self._colour and "\x1b" in text:
            parts = _COLOUR.split(text)
            text = "".join(p if i % 2 else visible(p, keep=keep) for i, p in enumerate(parts))
        else:
            text = visible(text, keep=keep)
        return self._stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def exact_output(stream: IO[str]) -> IO[str]:
    """The stream under a ``VisibleStream``, unless it is a terminal.

    For output that is data whose exact bytes matter (``select --format env``,
    sourced by a shell): written as it is into a file or a pipe, and still shown
    escaped when it would reach a terminal.
    """
    inner = getattr(stream, "_stream", None)
    if inner is None or is_terminal(stream):
        return stream
    return inner


@contextlib.contextmanager
def visible_output() -> Iterator[None]:
    """stdout and stderr as ``VisibleStream``s for the duration of a command."""
    saved = sys.stdout, sys.stderr
    sys.stdout = VisibleStream(sys.stdout)
    sys.stderr = VisibleStream(sys.stderr, keep="\n\r")
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


def terminal_columns() -> int:
    """What ``shutil.get_terminal_size().columns`` says: $COLUMNS, the terminal, or 80."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0 and sys.__stdout__ is not None:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (ValueError, OSError):
            columns = 0
    return columns or 80


def shell_quote(text: str) -> str:
    import shlex

    return shlex.quote(text)
