"""``policyeng serve FILE_OR_DIR...``: the decision server (needs ``policyeng[serve]``).

Imports nothing heavy until it runs: every command's parser is built on each start-up.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from ..errors import CatalogError, UsageError
from .common import EXIT_OK, seconds

if TYPE_CHECKING:
    import socket

DEFAULT_PORT = 8787
#: Addresses that listen on every interface: allowed, but said out loud.
WILDCARDS = ("0.0.0.0", "::", "")


def add_parser(commands) -> None:
    serve = commands.add_parser(
        "serve",
        help="answer selections over HTTP (needs policyeng[serve])",
        description="Load policy files and answer GET /v1/select/NAME (and POST /v1/select, "
        "/v1/policies, /v1/report, /healthz, /readyz, /metrics) over HTTP from a "
        "catalog refreshed in the background. Needs the serve extra: "
        "pip install 'policyeng[serve]'.",
        epilog="SIGTERM finishes the requests in flight, then exits 0.",
    )
    serve.add_argument(
        "paths", nargs="+", metavar="FILE_OR_DIR", help="policy files, or directories of them"
    )
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1; 0.0.0.0 or :: listens on every interface)",
    )
    serve.add_argument(
        "--port",
        type=_port,
        default=DEFAULT_PORT,
        help=f"port to listen on (default: {DEFAULT_PORT}; 0: any free port)",
    )
    serve.add_argument(
        "--catalog",
        metavar="SRC",
        default=None,
        help="builtin, a JSON file or an http(s) URL (default: "
        "$POLICYENG_CATALOG, else the live URL, its cache, then builtin)",
    )
    serve.add_argument(
        "--live",
        action="store_true",
        help="also read GET /v1/models (key: $FLEXAI_API_KEY) to know `live`",
    )
    serve.add_argument(
        "--refresh",
        type=_interval,
        metavar="S",
        default=300.0,
        help="seconds between background catalog refreshes (default: 300)",
    )
    serve.add_argument(
        "--max-stale",
        type=seconds,
        metavar="S",
        default=None,
        help="answer 503 once the catalog is older than S seconds "
        "(default: answer from a stale catalog, flagged)",
    )
    serve.add_argument(
        "--lock",
        metavar="PATH",
        help="a lock file: each policy keeps its locked model while it passes",
    )
    serve.add_argument(
        "--decision-log",
        metavar="FILE",
        help="append one JSON line per decision to FILE (- for stderr)",
    )
    serve.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        import prometheus_client  # noqa: F401
        import starlette  # noqa: F401
        import uvicorn
    except ImportError as exc:
        raise UsageError(
            f"policyeng serve needs the serve extra ({exc.name} is missing):\n"
            "  pip install 'policyeng[serve]'"
        ) from None
    import gc
    import signal

    gc.enable()  # a server runs for long: collect cycles (the command line turns it off)

    from ..runtime.resolver import Resolver
    from ..runtime.server import create_app

    resolver = Resolver(
        args.paths,
        catalog=args.catalog,
        refresh=args.refresh,
        max_stale=args.max_stale,
        lock=args.lock,
        live=args.live,
    )
    if args.host in WILDCARDS:
        print(
            f"policyeng: warning: listening on every interface ({args.host or '*'}); "
            "anyone who reaches this machine can ask it",
            file=sys.stderr,
        )
    listener = _listen(args.host, args.port)
    log = _decision_log(args.decision_log)
    failed: list[str] = []

    def no_catalog(message: str) -> None:  # the first load found none at all: stop, exit 3
        print(f"policyeng: {message}", file=sys.stderr, flush=True)
        failed.append(message)
        server.should_exit = True  # bound below, before the app can start loading

    private = [*args.paths, *(p for p in (args.catalog, args.lock, args.decision_log) if p)]
    app = create_app(resolver, decision_log=log, private=private, on_fatal=no_catalog)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=30,
            server_header=False,
        )
    )
    host, port = listener.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    print(f"policyeng: serving on http://{shown}:{port}", file=sys.stderr, flush=True)
    # uvicorn drains the requests in flight on SIGTERM, then raises the signal again for
    # whoever handled it before: a handler that does nothing makes that an exit 0.
    signal.signal(signal.SIGTERM, lambda *_: None)
    try:
        server.run(sockets=[listener])
    finally:
        if log is not None and log is not sys.stderr:
            log.close()
    return CatalogError.exit_code if failed else EXIT_OK


def _listen(host: str, port: int) -> socket.socket:
    import socket

    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        listener = socket.socket(family, kind, proto)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
        listener.listen(2048)
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return listener


def _decision_log(path: str | None):
    if path is None:
        return None
    if path == "-":
        return sys.stderr
    try:
        return open(path, "a", encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--decision-log {path}: {exc.strerror or exc}") from None


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"expected a port number, 0 to 65535, got {text!r}")
    return int(text)


def _interval(text: str) -> float:
    value = seconds(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be more than 0 seconds")
    return value
