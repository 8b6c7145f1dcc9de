"""One HTTP GET that a deployment can afford: bounded in time, size and retries.

Everything a fetch may do is fixed by a ``FetchSettings`` value passed down
(no global state), so tests run the same code with millisecond timeouts.

Rules, and why:

- Connect and read timeouts, and an overall ``deadline`` (30 s by default)
  that covers retries, back-off, a slow trickle of bytes and even a hung name
  lookup: a stalled provider or network never hangs a deployment or a CI job.
- Retries, with exponential back-off and jitter, on a refused or broken
  connection, on 5xx and on 429 (``Retry-After`` honoured up to a cap).
  Timeouts are *not* retried: a host that did not answer within the timeout
  rarely answers a moment later, and on a machine without network a retried
  connect timeout would multiply the wait before the fall-back.
- The body is streamed and cut off past ``max_bytes`` (32 MiB), so a huge or
  endless response is never held in memory.
- TLS verification is always on; proxies and CA bundles come from the
  environment (``HTTPS_PROXY``, ``NO_PROXY``, ``SSL_CERT_FILE``), as httpx
  reads them.
- Redirects are followed here, not by httpx, so that the bearer key goes only
  to the origin (scheme, host, port) it was meant for, never to the target of
  a redirect elsewhere, and never over plain http off this machine.

httpx is imported inside ``get`` only: ``policyeng select`` on ``builtin``
never pays for it.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urljoin, urlsplit

from .._version import __version__
from ..errors import CatalogError
from ..text import plural

if TYPE_CHECKING:
    import httpx

MiB = 1024 * 1024
REDIRECTS = frozenset({301, 302, 303, 307, 308})
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
#: how long past ``deadline`` the caller waits for the fetch thread before giving up on it
DEADLINE_GRACE = 0.5


@dataclass(frozen=True)
class FetchSettings:
    """Timeouts (seconds), retry policy and size cap for one fetch."""

    connect_timeout: float = 3.0
    read_timeout: float = 10.0
    #: retries after the first attempt (so at most ``retries + 1`` requests)
    retries: int = 2
    #: first back-off; doubled on each retry, capped, then jittered to 50-100%
    backoff: float = 0.25
    backoff_max: float = 4.0
    #: longest ``Retry-After`` honoured; a longer one is cut to this
    retry_after_max: float = 10.0
    #: the whole fetch, retries and back-off included, gives up after this
    deadline: float = 30.0
    max_bytes: int = 32 * MiB
    max_redirects: int = 5


class Progress(Protocol):
    """Told about a body as it streams in (the CLI draws a line on a terminal)."""

    def update(self, url: str, received: int, total: int | None) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Fetched:
    """A final response: 2xx, 304 or 4xx (5xx and 429 are retried, then raised)."""

    url: str
    status: int
    reason: str
    headers: Mapping[str, str]
    body: bytes


DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the default port made explicit."""
    parts = urlsplit(url)
    port = parts.port or DEFAULT_PORTS.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


def origin_url(url: str) -> str:
    """``scheme://host[:port]`` of a URL (default port left out): where its endpoints live.

    Endpoints are absolute paths (``/v1/chat/completions``, ``/v1/models``) on
    the host that serves the catalog, whatever the catalog's own path.
    """
    scheme, host, port = origin(url)
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != DEFAULT_PORTS.get(scheme):
        netloc = f"{netloc}:{port}"
    return f"{scheme}://{netloc}"


def get(url: str, *, settings: FetchSettings, **options: Any) -> Fetched:
    """GET ``url`` within ``settings``; raise ``CatalogError`` (source ``url``) if it cannot.

    Options: ``headers``, ``bearer`` (sent as ``Authorization: Bearer ...`` to
    ``url``'s origin only), ``progress``, and ``sleep``/``clock``/``jitter`` for
    tests. The work runs in a daemon thread so that ``deadline`` bounds even
    what no socket timeout covers (a name lookup that hangs, in a resolver the
    process cannot interrupt): past it, the caller gets its error and the
    thread is left to finish on its own.
    """
    outcome: list[tuple[Fetched | None, BaseException | None]] = []

    def work() -> None:
        try:
            outcome.append((_get(url, settings=settings, **options), None))
        except BaseException as exc:  # handed to the caller's thread below
            outcome.append((None, exc))

    worker = threading.Thread(target=work, name="policyeng-fetch", daemon=True)
    worker.start()
    worker.join(settings.deadline + DEADLINE_GRACE)
    if not outcome:
        raise CatalogError(
            f"no answer within the {settings.deadline:g} s fetch deadline "
            "(stuck resolving the host name or connecting)",
            source=url,
        )
    fetched, error = outcome[0]
    if error is not None:
        raise error
    assert fetched is not None
    return fetched


def _get(
    url: str,
    *,
    settings: FetchSettings,
    headers: Mapping[str, str] | None = None,
    bearer: str | None = None,
    progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    jitter: Callable[[], float] = random.random,
) -> Fetched:
    """``get`` itself: the attempts, the back-off between them, the deadline."""
    import httpx  # only when a URL is fetched

    start = clock()
    deadline = start + settings.deadline
    request_headers = {"User-Agent": f"policyeng/{__version__}", "Accept": "application/json"}
    request_headers.update(headers or {})
    key_origin = origin(url)
    if bearer and key_origin[0] == "http" and key_origin[1] not in LOOPBACK_HOSTS:
        raise CatalogError("refusing to send FLEXAI_API_KEY over plain http", source=url)
    attempt = 0
    with httpx.Client(follow_redirects=False, trust_env=True) as client:
        while True:
            remaining = deadline - clock()
            timeout = httpx.Timeout(
                connect=max(0.001, min(settings.connect_timeout, remaining)),
                read=max(0.001, min(settings.read_timeout, remaining)),
                write=max(0.001, min(settings.read_timeout, remaining)),
                pool=max(0.001, min(settings.connect_timeout, remaining)),
            )
            try:
                fetched = _follow(
                    client,
                    url,
                    request_headers,
                    bearer,
                    key_origin,
                    timeout,
                    settings,
                    deadline,
                    clock,
                    progress,
                )
            except _Retryable as exc:
                failure, wait = exc.reason, exc.retry_after
            else:
                return fetched
            finally:
                if progress is not None:
                    progress.close()
            attempt += 1
            if attempt > settings.retries:
                tries = plural(attempt, "attempt")
                raise CatalogError(f"{failure} ({tries})", source=url, retry_after=wait)
            if wait is None:
                step = min(settings.backoff_max, settings.backoff * 2 ** (attempt - 1))
                wait = step * (0.5 + 0.5 * jitter())
            else:
                wait = min(wait, settings.retry_after_max)
            if clock() + wait > deadline:
                raise CatalogError(
                    f"{failure}; gave up after {clock() - start:.1f} s "
                    f"(the fetch deadline is {settings.deadline:g} s)",
                    source=url,
                )
            sleep(wait)


class _Retryable(Exception):
    """A failure worth another attempt (connection trouble, 5xx, 429)."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def _follow(
    client: httpx.Client,
    url: str,
    headers: dict[str, str],
    bearer: str | None,
    key_origin: tuple,
    timeout: httpx.Timeout,
    settings: FetchSettings,
    deadline: float,
    clock: Callable[[], float],
    progress: Progress | None,
) -> Fetched:
    """One attempt: the request and any redirects, the key only where it belongs."""
    import httpx

    for _ in range(settings.max_redirects + 1):
        sent = dict(headers)
        if bearer and origin(url) == key_origin:
            sent["Authorization"] = f"Bearer {bearer}"
        try:
            with client.stream("GET", url, headers=sent, timeout=timeout) as response:
                status = response.status_code
                if status in REDIRECTS and "location" in response.headers:
                    url = urljoin(url, response.headers["location"])
                    continue
                if status == 429 or status >= 500:
                    raise _Retryable(
                        f"HTTP {status} {response.reason_phrase}".rstrip(),
                        _retry_after(response.headers.get("retry-after")),
                    )
                body = _read_body(response, url, settings, deadline, clock, progress)
                return Fetched(
                    str(response.url), status, response.reason_phrase, response.headers, body
                )
        except httpx.ConnectTimeout:
            raise CatalogError(
                f"no connection within {timeout.connect:g} s (connect timeout)", source=url
            ) from None
        except httpx.ReadTimeout:
            raise CatalogError(
                f"no data for {timeout.read:g} s (read timeout)", source=url
            ) from None
        except httpx.TimeoutException as exc:
            raise CatalogError(f"timed out: {exc}", source=url) from None
        except httpx.ConnectError as exc:
            reason = f"cannot connect: {exc}"
            if "CERTIFICATE_VERIFY_FAILED" in str(exc):
                raise CatalogError(f"TLS certificate not trusted: {exc}", source=url) from None
            raise _Retryable(reason) from None
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            raise _Retryable(f"connection broken: {exc}") from None
        except httpx.HTTPError as exc:
            raise CatalogError(f"request failed: {exc}", source=url) from None
        except (httpx.InvalidURL, UnicodeError) as exc:  # also a redirect's Location
            raise CatalogError(f"not a valid URL: {exc}", source=url) from None
    raise CatalogError(f"more than {settings.max_redirects} redirects", source=url)


def _read_body(
    response: httpx.Response,
    url: str,
    settings: FetchSettings,
    deadline: float,
    clock: Callable[[], float],
    progress: Progress | None,
) -> bytes:
    """Stream the body, never holding more than ``max_bytes`` of it."""
    limit = settings.max_bytes
    declared = response.headers.get("content-length")
    total = None
    if declared and declared.isascii() and declared.isdigit():
        # 5,000 digits would not even convert (int's digit limit), and is over any limit
        total = int(declared) if len(declared) <= 18 else limit + 1
    if total is not None and total > limit:
        raise CatalogError(f"response is {_size(total)}, over the {_size(limit)} limit", source=url)
    body = bytearray()
    for chunk in response.iter_bytes():  # as received: a trickle must meet the deadline
        body += chunk
        if len(body) > limit:
            raise CatalogError(f"response is over the {_size(limit)} limit; cut off", source=url)
        if clock() > deadline:
            raise CatalogError(
                f"gave up after {settings.deadline:g} s with {_size(len(body))} received "
                "(the fetch deadline)",
                source=url,
            )
        if progress is not None:
            progress.update(url, len(body), total)
    return bytes(body)


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _size(n: int) -> str:
    return f"{n / MiB:.1f} MiB" if n >= MiB else f"{n} bytes"
