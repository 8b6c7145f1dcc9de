"""The decision server: a ``Resolver``'s answers over HTTP, for services not in Python.

``create_app(resolver)`` is an ASGI application (Starlette). It answers from
memory: ``Resolver.select`` does no I/O, so a request costs a dictionary
look-up, a JSON dump and the HTTP framing. The catalog loads in the
background after the socket is open, so ``/readyz`` can tell "not loaded
yet" (503) from "loaded" (200) from "too stale" (503 again).

Every answer is built for a client that trusts nothing and a network that may
see it: request bodies are capped, parsed strictly and checked field by
field; errors are JSON ``{"error": {"kind", "message", ...}}``; no answer
carries the API key, a local path or a traceback (``Redactor``).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from collections.abc import Callable, Iterable
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from typing import Any, TextIO

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from ..errors import CatalogError, Error, NoMatch, PolicyError
from ..language.parser import check_length
from ..text import did_you_mean, quoted, shown_source

log = logging.getLogger("policyeng")

#: Request bodies larger than this get 413 (a policy is at most 10,000 characters).
MAX_BODY = 64 * 1024
#: Candidates listed when a request gives no ``top`` (as ``select --json``).
DEFAULT_TOP = 10
#: The metrics label of a policy sent as text: one label, whatever the text.
EXPRESSION = "<expression>"


class Reject(Exception):
    """A request the server will not answer: the status and the JSON error to send."""

    def __init__(self, status: int, kind: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.error = {"kind": kind, "message": message, **extra}


def create_app(
    resolver: Any,
    *,
    decision_log: TextIO | None = None,
    private: Iterable[str] = (),
    on_fatal: Callable[[str], None] | None = None,
) -> Starlette:
    """The ASGI app answering from ``resolver`` (started here, closed at shutdown).

    ``private``: local paths (policy files, catalog file, lock) that answers must
    not show; ``decision_log``: a text stream getting one JSON line per decision;
    ``on_fatal``: called with the error when no catalog at all can be had (the CLI
    stops then; without it, the error is logged and ``/readyz`` stays 503).
    """
    server = DecisionServer(
        resolver, decision_log, Redactor.for_server(private, resolver), on_fatal
    )

    @asynccontextmanager
    async def lifespan(app: Starlette):
        # A daemon thread, not the loop's executor: a shutdown while the first load still
        # waits on the network must not wait for it.
        loading = threading.Thread(target=server.start, name="policyeng-first-load", daemon=True)
        loading.start()
        try:
            yield
        finally:
            if not loading.is_alive():
                server.close()

    routes = [
        Route("/v1/policies", server.policies, methods=["GET"]),
        Route("/v1/select/{name:path}", server.select_named, methods=["GET"]),
        Route("/v1/select", server.select_posted, methods=["POST"]),
        Route("/v1/report", server.report, methods=["POST"]),
        Route("/healthz", server.healthz, methods=["GET"]),
        Route("/readyz", server.readyz, methods=["GET"]),
        Route("/metrics", server.metrics, methods=["GET"]),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            Reject: server.rejected,
            HTTPException: server.http_error,
            Exception: server.crashed,
        },
    )
    app.state.decisions = server
    return app


class DecisionServer:
    """The routes, the resolver they ask, and what they count."""

    def __init__(
        self,
        resolver: Any,
        decision_log: TextIO | None,
        redactor: Redactor,
        on_fatal: Callable[[str], None] | None = None,
    ) -> None:
        self.resolver = resolver
        self.on_fatal = on_fatal
        self.book = getattr(resolver, "book", None)
        self.names = set(self.book.names) if self.book is not None else set()
        self.redact = redactor
        self.decision_log = decision_log
        self.log_lock = threading.Lock()
        self.loaded = threading.Event()
        self.failed: str | None = None
        self._answers: dict[tuple[int, int], tuple[Any, str]] = {}
        self.registry = CollectorRegistry(auto_describe=True)
        self.selections = Counter(
            "policyeng_selections",
            "Decisions answered, by policy",
            ["policy"],
            registry=self.registry,
        )
        self.changes = Counter(
            "policyeng_pick_changes",
            "Times a policy's pick changed",
            ["policy"],
            registry=self.registry,
        )
        self.registry.register(StatusCollector(self))
        resolver.on_change(self._changed)

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        """Load the first catalog (in a worker thread: the socket is already open)."""
        try:
            self.resolver.start()
        except Exception as exc:  # CatalogError, or anything else: never ready, and said
            self.failed = self.redact(str(exc) if isinstance(exc, Error) else repr(exc))
            if self.on_fatal is not None:
                self.on_fatal(str(exc))
            else:
                log.error("no catalog could be had: %s", exc)
            return
        self.loaded.set()

    def close(self) -> None:
        self.resolver.close()

    def _changed(self, change: Any) -> None:
        self.changes.labels(self._label(change.name)).inc()

    def _label(self, asked: str) -> str:
        return asked if asked in self.names else EXPRESSION

    # --- routes ------------------------------------------------------------------------

    async def policies(self, request: Request) -> Response:
        listed = [
            {"name": p.name, "policy": p.text, "description": p.description}
            for p in (self.book or ())
        ]
        return self.json(200, {"policies": listed})

    async def select_named(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in self.names:
            raise Reject(404, "unknown-policy", self._unknown(name))
        return self.decide(name, _top(request.query_params.get("top")))

    async def select_posted(self, request: Request) -> Response:
        body = _fields(await _read_json(request), required={"policy": str}, optional={"top": int})
        top = body.get("top", DEFAULT_TOP)
        if top is None or top < 0:
            raise Reject(
                400, "request", "field 'top' must be a whole number, 0 or more", field="top"
            )
        return self.decide(body["policy"], top)

    async def report(self, request: Request) -> Response:
        body = _fields(
            await _read_json(request),
            required={"model_name": str, "outcome": str},
            optional={"status": (int, type(None)), "retry_after": (int, float, type(None))},
        )
        if body["outcome"] not in ("success", "failure"):
            raise Reject(
                400, "request", 'field \'outcome\' must be "success" or "failure"', field="outcome"
            )
        status, retry_after = body.get("status"), body.get("retry_after")
        if status is not None and not 100 <= status <= 599:
            raise Reject(
                400, "request", "field 'status' must be an HTTP status, 100 to 599", field="status"
            )
        if retry_after is not None and not 0 <= retry_after <= 86400:
            raise Reject(
                400,
                "request",
                "field 'retry_after' must be seconds, 0 to 86400",
                field="retry_after",
            )
        if body["outcome"] == "success":
            self.resolver.report_success(body["model_name"])
        else:
            self.resolver.report_failure(body["model_name"], status=status, retry_after=retry_after)
        return Response(status_code=204)

    async def healthz(self, request: Request) -> Response:
        return self.json(200, {"status": "ok"})

    async def readyz(self, request: Request) -> Response:
        status = self.status()
        return self.json(200 if status["state"] in ("ready", "stale") else 503, status)

    async def metrics(self, request: Request) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)

    # --- answers -----------------------------------------------------------------------

    def decide(self, asked: str, top: int) -> Response:
        """One decision: the pick as ``select --json`` shows it, plus its id."""
        if not self.loaded.is_set():
            raise Reject(503, "not-ready", self.failed or "the catalog is still loading")
        label = self._label(asked)
        try:
            if asked not in self.names:
                check_length(asked)
            selection = self.resolver.select(asked)
        except NoMatch as exc:
            self.selections.labels(label).inc()
            decision_id = self._log(asked, None, error="no-match")
            raise Reject(422, "no-match", exc.message, decision_id=decision_id) from None
        except PolicyError as exc:
            status = 404 if exc.kind == "unknown-policy" else 400
            raise Reject(
                status, exc.kind, exc.message, line=exc.line, column=exc.column, hint=exc.hint
            ) from None
        except CatalogError as exc:
            raise Reject(503, "catalog", str(exc)) from None
        self.selections.labels(label).inc()
        text = self._answer(selection, top)
        decision_id = self._log(asked, selection)
        body = f'{text[:-1]},"decision_id":"{decision_id}"}}'
        return Response(body, status_code=200, media_type="application/json")

    def _answer(self, selection: Any, top: int) -> str:
        """The answer's JSON text, but its id: kept while the resolver keeps the Selection
        (it does until the catalog or a breaker changes), so a repeated question costs
        no serialising."""
        key = (id(selection), top)
        kept = self._answers.get(key)
        if kept is not None and kept[0] is selection:
            return kept[1]
        data = selection.to_dict(top=top)
        data["catalog"]["source"] = public_source(data["catalog"]["source"])
        data["url"] = selection.url
        data["base_url"] = selection.base_url
        data["degraded"] = selection.degraded
        text = self.redact(json.dumps(data, ensure_ascii=False, separators=(",", ":")))
        if len(self._answers) >= 256:
            self._answers.clear()
        self._answers[key] = (selection, text)
        return text

    def status(self) -> dict[str, Any]:
        """``Resolver.status()`` with public sources; ``starting``/``failed`` before a load."""
        if not self.loaded.is_set():
            return {"state": "failed" if self.failed else "starting", "last_error": self.failed}
        status = dict(self.resolver.status())
        if isinstance(status.get("catalog"), dict):
            status["catalog"] = {
                **status["catalog"],
                "source": public_source(status["catalog"].get("source")),
            }
        return status

    def _log(self, asked: str, selection: Any, error: str | None = None) -> str:
        decision_id = uuid.uuid4().hex
        if self.decision_log is None:
            return decision_id
        line: dict[str, Any] = {
            "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            "decision_id": decision_id,
            "policy": asked,
        }
        if selection is None:
            line.update(model_name=None, error=error)
        else:
            line.update(
                model_name=selection.model_name,
                endpoint=selection.endpoint,
                via=selection.via,
                degraded=bool(selection.degraded),
                stale=selection.catalog["stale"],
                catalog_sha256=selection.catalog["sha256"],
            )
        text = self.redact(json.dumps(line, ensure_ascii=False)) + "\n"
        with self.log_lock:
            self.decision_log.write(text)
            self.decision_log.flush()
        return decision_id

    def _unknown(self, name: str) -> str:
        guess = did_you_mean(name, sorted(self.names))
        return f"no policy named {quoted(name)}" + (guess or "; GET /v1/policies lists them")

    def json(self, status: int, data: Any) -> Response:
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        return Response(self.redact(text), status_code=status, media_type="application/json")

    # --- errors ------------------------------------------------------------------------

    async def rejected(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Reject)
        error = {k: v for k, v in exc.error.items() if v is not None or k in ("line", "column")}
        return self.json(exc.status, {"error": error})

    async def http_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        kind = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http")
        return self.json(exc.status_code, {"error": {"kind": kind, "message": exc.detail}})

    async def crashed(self, request: Request, exc: Exception) -> Response:
        log.error("policyeng serve: %s %s failed", request.method, request.url.path, exc_info=exc)
        return self.json(
            500,
            {"error": {"kind": "internal", "message": "internal error; the server's log has it"}},
        )


class StatusCollector:
    """Metrics read from ``Resolver.status()`` at each scrape, so they are never out of date."""

    def __init__(self, server: DecisionServer) -> None:
        self.server = server

    def describe(self) -> list:
        return []

    def collect(self) -> Iterable:
        status = self.server.status() if self.server.loaded.is_set() else {}
        catalog = status.get("catalog") or {}
        ready = GaugeMetricFamily("policyeng_ready", "1 when /readyz answers 200")
        ready.add_metric([], 1.0 if status.get("state") in ("ready", "stale") else 0.0)
        yield ready
        if not status:
            return
        yield _gauge(
            "policyeng_catalog_age_seconds", "Age of the catalog in use", catalog.get("age_s")
        )
        yield _gauge(
            "policyeng_catalog_models", "Models in the catalog in use", catalog.get("models")
        )
        yield _gauge(
            "policyeng_catalog_stale",
            "1 when the catalog in use is stale",
            1.0 if catalog.get("stale") else 0.0,
        )
        refreshes = CounterMetricFamily(
            "policyeng_catalog_refreshes",
            "Background catalog refreshes, by outcome",
            labels=["outcome"],
        )
        refreshes.add_metric(["success"], status.get("refreshes") or 0)
        refreshes.add_metric(["failure"], status.get("refresh_failures") or 0)
        yield refreshes
        last = _timestamp(status.get("last_refresh_at"))
        if last is not None:
            yield _gauge(
                "policyeng_catalog_last_success_timestamp_seconds",
                "Unix time of the last successful catalog load",
                last,
            )
        yield _gauge(
            "policyeng_breakers_open",
            "Models skipped because their breaker is open",
            len(status.get("open") or ()),
        )


def _gauge(name: str, documentation: str, value: Any) -> GaugeMetricFamily:
    gauge = GaugeMetricFamily(name, documentation)
    gauge.add_metric([], float(value) if isinstance(value, (int, float)) else float("nan"))
    return gauge


def _timestamp(text: Any) -> float | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


# --- requests --------------------------------------------------------------------------


async def _read_json(request: Request) -> Any:
    """The body as JSON: at most ``MAX_BODY`` bytes (declared or streamed), strict JSON."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
        raise Reject(413, "too-large", f"request bodies are limited to {MAX_BODY} bytes")
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                raise Reject(413, "too-large", f"request bodies are limited to {MAX_BODY} bytes")
    except ClientDisconnect:
        raise Reject(400, "request", "the client went away before sending its body") from None
    return parse_json(bytes(body))


def parse_json(body: bytes) -> Any:
    """Strict JSON: UTF-8, no NaN or Infinity, no 5,000-digit numbers, bounded nesting."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Reject(400, "request", "the body is not UTF-8 text") from None
    try:
        return json.loads(
            text,
            object_pairs_hook=_object,
            parse_constant=_no_constant,
            parse_int=_bounded_int,
            parse_float=_finite_float,
        )
    except json.JSONDecodeError as exc:
        raise Reject(
            400, "request", f"the body is not JSON: {exc.msg}", line=exc.lineno, column=exc.colno
        ) from None
    except RecursionError:
        raise Reject(400, "request", "the body's JSON is nested too deeply") from None
    except ValueError as exc:
        raise Reject(400, "request", f"the body's JSON has {exc}") from None


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object whose keys are all different: JSON would silently keep the last of two."""
    data = dict(pairs)
    if len(data) < len(pairs):
        keys = [key for key, _ in pairs]
        twice = next(key for i, key in enumerate(keys) if key in keys[:i])
        raise Reject(
            400, "request", f"the body gives field {quoted(twice)} more than once", field=twice[:40]
        )
    return data


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name}, which JSON does not allow")


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > 18:
        raise ValueError(f"a number with {len(text)} digits")
    return int(text)


def _finite_float(text: str) -> float:
    if len(text) > 40:
        raise ValueError(f"a number {len(text)} characters long")
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"a number too large ({text})")
    return value


def _fields(body: Any, *, required: dict[str, Any], optional: dict[str, Any]) -> dict[str, Any]:
    """The body as an object with exactly these fields of these types (bool is no number)."""
    if not isinstance(body, dict):
        raise Reject(400, "request", f"the body must be a JSON object, not {_json_type(body)}")
    for name in body:
        if name not in required and name not in optional:
            known = ", ".join(repr(n) for n in [*required, *optional])
            raise Reject(
                400, "request", f"unknown field {quoted(name)} (fields: {known})", field=name[:40]
            )
    for name in required:
        if name not in body:
            raise Reject(400, "request", f"field {name!r} is required", field=name)
    for name, value in body.items():
        types = {**required, **optional}[name]
        wanted = types if isinstance(types, tuple) else (types,)
        if isinstance(value, bool) or not isinstance(value, wanted):
            names = " or ".join(_TYPE_NAMES[t] for t in wanted)
            raise Reject(
                400,
                "request",
                f"field {name!r} must be {names}, not {_json_type(value)}",
                field=name,
            )
    return body


_TYPE_NAMES = {str: "a string", int: "a whole number", float: "a number", type(None): "null"}


def _json_type(value: Any) -> str:
    for types, name in (
        (bool, "true/false"),
        (str, "a string"),
        ((int, float), "a number"),
        (list, "an array"),
        (dict, "an object"),
        (type(None), "null"),
    ):
        if isinstance(value, types):
            return name
    return type(value).__name__


def _top(text: str | None) -> int:
    if text is None:
        return DEFAULT_TOP
    if not text.isdigit() or len(text) > 9:
        raise Reject(
            400, "request", "query parameter 'top' must be a whole number, 0 or more", field="top"
        )
    return int(text)


# --- what answers must not show --------------------------------------------------------


def public_source(source: Any) -> Any:
    """A catalog source as an answer may show it: no local path, no credentials."""
    if not isinstance(source, str) or source in ("builtin", "<memory>"):
        return source
    if source.startswith(("http://", "https://")):
        return shown_source(source)
    return os.path.basename(source.rstrip("/\\")) or "file"


class Redactor:
    """Replaces secrets and local paths in answer text (the last line of defence)."""

    def __init__(self, replacements: Iterable[tuple[str, str]]) -> None:
        # Longest first, so a file's path goes before its directory's.
        self.replacements = sorted(
            {(s, r) for s, r in replacements if len(s) >= 4 and s != r},
            key=lambda pair: -len(pair[0]),
        )

    @classmethod
    def for_server(cls, private: Iterable[str], resolver: Any) -> Redactor:
        pairs: list[tuple[str, str]] = []
        key = os.environ.get("FLEXAI_API_KEY")
        if key:
            pairs.append((key, "<redacted>"))
        source = getattr(resolver, "source", None)
        for path in [*private, *([source] if isinstance(source, str) else [])]:
            if path.startswith(("http://", "https://")):
                pairs.append((path, public_source(path)))
                continue
            full = os.path.abspath(path)
            for form in {path, full, os.path.dirname(full)}:
                if form not in ("", "/", os.sep):
                    pairs.append((form, os.path.basename(form.rstrip("/\\")) or "file"))
        # Answers are JSON: a path with a quote or a backslash appears escaped there.
        pairs += [(json.dumps(s)[1:-1], json.dumps(r)[1:-1]) for s, r in pairs]
        return cls(pairs)

    def __call__(self, text: str) -> str:
        for secret, replacement in self.replacements:
            if secret in text:
                text = text.replace(secret, replacement)
        return text
