"""``policies.lock``: which model each policy picked and why, so CI notices and explains a change.

A catalog moves under a deployment (prices change, models come and go) and a
policy that still *resolves* may quietly start picking another model. ``lock``
records every pick with what made it the pick; ``check --locked`` re-resolves,
fails on any difference and says why (``diagnose.classify_drift``).

Format, version 2 (version 1 locks, without ``keys``/``fields``/``candidates``
and with only ``source`` and ``sha256`` for the catalog, are still read)::

    {"version": 2,
     "catalog": {"source": ..., "sha256": ..., "fetched_at": ... | null, "models": N},
     "policies": {NAME: {"model_name": ..., "endpoint": ..., "via": NAME | null,
                         "keys": [{"key": "output_per_mtok", "value": 0.2}, ...],
                         "fields": {FIELD: VALUE, ...},
                         "candidates": [MODEL_NAME, ...]}}}

Written for review in a pull request: keys sorted, two-space indent, one
block per policy, candidate names sorted (a change in the ranking alone moves
no line), numbers as the catalog gave them in Python's shortest round-trip
form (``0.15``, ``1e-06``; a whole number stays ``128000`` or ``2.0`` as the
catalog wrote it), text as UTF-8, not ``\\u`` escapes.

A lock is read as hostile input: anything but a lock of a known version, with
the right types everywhere, is a ``PolicyError`` (exit 2) naming the file and
the JSON path at fault, never a false drift.
"""

from __future__ import annotations

import json
import math
import os
import stat
import sys
from pathlib import Path
from typing import Any, cast

from ..catalog.model import Catalog
from ..diagnose import classify_drift, resolution
from ..errors import NoMatch, PolicyError
from ..files import FileTooLarge, NotRegularFile, read_regular_file, replace_file
from ..text import plural
from .book import PolicyBook
from .check import Failure, PolicyReport

LOCK_VERSION = 2
READABLE_VERSIONS = (1, 2)
#: A lock larger than this is refused before it is read (a real one is far smaller).
MAX_LOCK_BYTES = 64 * 1024 * 1024


def chain_of(book: PolicyBook, name: str) -> list[tuple[str, Any]]:
    """``[(name, compiled policy), ...]``: a policy and its fallbacks, in the order tried."""
    return [(current, book[current].compiled) for current in book.chain(name)]


def lock_data(reports: list[PolicyReport], catalog: Catalog, book: PolicyBook) -> dict[str, Any]:
    """The lock for policies that all pass ``check``; a failing one cannot be locked.

    Locking a pick that fails its own ``expect`` (or no pick at all) would make
    the lock the baseline CI compares against, so ``NoMatch`` (exit 1) lists
    every failure instead and nothing is written.
    """
    failing = [r for r in reports if not r.passed]
    if failing:
        lines = [
            f"cannot lock: {len(failing)} of {plural(len(reports), 'policy', 'policies')} "
            f"fail{'s' if len(failing) == 1 else ''} "
            f"in catalog {catalog.source}; nothing written"
        ]
        for report in failing:
            lines.extend(f"  {report.name}: {reason}" for reason in report.failures)
        lines.append(
            "fix them (or their expect), then lock again; `policyeng check` shows the full report"
        )
        raise NoMatch("\n".join(lines))
    return {
        "version": LOCK_VERSION,
        "catalog": {
            "source": catalog.source,
            "sha256": catalog.sha256,
            "fetched_at": catalog.fetched_at,
            "models": len(catalog),
        },
        "policies": {
            r.name: resolution(chain_of(book, r.name), catalog)
            for r in sorted(reports, key=lambda r: r.name)
        },
    }


def write_lock(path: str | os.PathLike[str], data: dict[str, Any]) -> None:
    """Write the lock atomically: a temporary file beside it, then a rename.

    An interrupted run leaves the old lock (or none), never half a file. ``-``
    writes to stdout. A symlink is written through (the rename happens beside
    its target, so the link stays); a path that exists and is not a regular
    file (a directory, a device, a FIFO) is refused, never replaced. A new lock
    gets the permissions of any new file (0666 minus the umask); a replaced
    lock keeps its own.
    """
    body = json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    if os.fspath(path) == "-":
        sys.stdout.write(body)
        return
    source = os.fspath(path)
    target = Path(os.path.realpath(source))
    mode = _lock_mode(target, source)
    try:
        replace_file(target, body.encode(), mode=mode)
    except OSError as exc:
        raise _cannot_write(exc, source) from None


def _lock_mode(target: Path, source: str) -> int:
    """The mode to write with; refuses a target that is there but not a regular file."""
    try:
        status = target.stat()
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
    except OSError as exc:
        raise _cannot_write(exc, source) from None
    if not stat.S_ISREG(status.st_mode):
        kind = _KINDS.get(stat.S_IFMT(status.st_mode), "not a regular file")
        raise PolicyError(
            f"cannot write the lock file: this path is {kind}; "
            "name a new file or an existing lock file",
            kind="lock",
            source=source,
        )
    return stat.S_IMODE(status.st_mode)


_KINDS = {
    stat.S_IFDIR: "a directory",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFSOCK: "a socket",
}


def _cannot_write(exc: OSError, source: str) -> PolicyError:
    return PolicyError(
        f"cannot write the lock file: {exc.strerror or exc}", kind="lock", source=source
    )


# --- reading -------------------------------------------------------------------------------------


class _Unreadable:
    """A number JSON can spell but a lock cannot hold (NaN, 1e400, 5,000 digits).

    The parser hands one back instead of raising, so the shape check can name
    the JSON path where it stands.
    """

    def __init__(self, text: str, why: str) -> None:
        self.text, self.why = text, why


def _constant(text: str) -> _Unreadable:
    return _Unreadable(text, "is not a finite number")


def _float(text: str) -> float | _Unreadable:
    value = float(text)
    return value if math.isfinite(value) else _Unreadable(text, "is too large for a number")


def _int(text: str) -> int | _Unreadable:
    if len(text.lstrip("-")) > 30:  # no count, price or context in a lock comes close
        return _Unreadable(text, f"is a number of {len(text.lstrip('-'))} digits")
    return int(text)


class _Duplicated(dict[str, Any]):
    """An object that gave one key twice (as a merge can leave a lock); JSON keeps the last.

    The parser hands one back instead of raising, so the shape check can name
    the JSON path of the duplicate rather than silently trusting one of them.
    """

    duplicate: str


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data = dict(pairs)
    if len(data) == len(pairs):
        return data
    duplicated = _Duplicated(data)
    keys = [key for key, _ in pairs]
    duplicated.duplicate = next(key for i, key in enumerate(keys) if key in keys[:i])
    return duplicated


def read_lock(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check a lock file (version 1 or 2); anything else is a ``PolicyError``.

    A UTF-8 byte order mark is accepted, as in catalogs and policy files. The
    error names the file and, for a wrong value, its JSON path
    (``$.policies["support-chat"].model_name``).
    """
    source = os.fspath(path)
    body = _read_bytes(source)
    try:
        data = json.loads(
            body,
            object_pairs_hook=_object,
            parse_constant=_constant,
            parse_float=_float,
            parse_int=_int,
        )
    except UnicodeDecodeError as exc:
        raise _bad(f"not UTF-8 text (byte {exc.start})", source) from None
    except json.JSONDecodeError as exc:
        text = body.decode("utf-8-sig", errors="replace")
        raise PolicyError(
            f"not valid JSON: {exc.msg}",
            kind="lock",
            text=text,
            line=exc.lineno,
            column=exc.colno,
            source=source,
        ) from None
    except RecursionError:
        raise _bad("not a policyeng lock file: nested too deeply", source) from None
    except ValueError as exc:  # anything else the parser refuses
        raise _bad(f"not valid JSON: {exc}", source) from None
    problem = _unreadable_number(data) or _shape_problem(data)
    if problem:
        raise _bad(f"not a policyeng lock file: {problem}", source)
    return data


def _read_bytes(source: str) -> bytes:
    try:
        return read_regular_file(source, MAX_LOCK_BYTES)
    except FileNotFoundError:
        raise _bad("lock file not found; create it with `policyeng lock`", source) from None
    except (IsADirectoryError, NotRegularFile):
        raise _bad("not a regular file", source) from None
    except FileTooLarge:
        raise _bad(
            f"not a policyeng lock file: larger than {MAX_LOCK_BYTES:,} bytes", source
        ) from None
    except OSError as exc:
        raise _bad(f"cannot read the lock file: {exc.strerror or exc}", source) from None


def _bad(message: str, source: str) -> PolicyError:
    return PolicyError(message, kind="lock", source=source)


def _path(parent: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    if key.isidentifier():
        return f"{parent}.{key}"
    return f"{parent}[{json.dumps(key, ensure_ascii=True)}]"


def _unreadable_number(data: Any) -> str | None:
    """The first NaN, infinite or overlong number or duplicated key anywhere, with its path.

    Walked iteratively, so a deeply nested lock cannot exhaust the stack.
    """
    stack: list[tuple[str, Any]] = [("$", data)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, _Unreadable):
            shown = value.text if len(value.text) <= 20 else value.text[:12] + "..."
            return f"{where}: {shown} {value.why}"
        if isinstance(value, _Duplicated):
            return (
                f"{_path(where, value.duplicate)} is given more than once "
                "(a merge may have left two entries); keep one, or run `policyeng lock` again"
            )
        if isinstance(value, dict):
            stack.extend((_path(where, k), v) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend((_path(where, i), v) for i, v in reversed(list(enumerate(value))))
    return None


_JSON_TYPES = (
    (bool, "true or false"),
    (str, "text"),
    (int, "a number"),
    (float, "a number"),
    (list, "an array"),
    (dict, "an object"),
    (type(None), "null"),
)


def _kind(value: Any) -> str:
    return next(name for t, name in _JSON_TYPES if isinstance(value, t))


def _expect(value: Any, where: str, *kinds: str) -> str | None:
    """``where is a number, expected text`` unless ``value`` is one of ``kinds``."""
    kind = _kind(value)
    if kind in kinds:
        return None
    return f"{where} is {kind}, expected {' or '.join(kinds)}"


def _shape_problem(data: Any) -> str | None:
    """The first wrong value of a lock, with its JSON path (None for a good lock)."""
    problem = _expect(data, "$", "an object")
    if problem:
        return problem
    version = data.get("version")
    if (
        isinstance(version, bool)
        or not isinstance(version, int)
        or version not in READABLE_VERSIONS
    ):
        shown = json.dumps(version) if not isinstance(version, str) else repr(version)
        return f"$.version is {shown}, expected {' or '.join(str(v) for v in READABLE_VERSIONS)}"
    catalog = data.get("catalog", {})
    problem = _expect(catalog, "$.catalog", "an object")
    if problem:
        return problem
    required = ("source", "sha256") if version >= 2 else ()
    for key, kinds in (
        ("source", ("text",)),
        ("sha256", ("text",)),
        ("fetched_at", ("text", "null")),
        ("models", ("a number",)),
    ):
        if key not in catalog:
            if key in required:
                return f"$.catalog.{key} is missing"
            continue
        problem = _expect(catalog[key], f"$.catalog.{key}", *kinds)
        if problem:
            return problem
    models = catalog.get("models", 0)
    if not isinstance(models, int) or models < 0:
        return f"$.catalog.models is {json.dumps(models)}, expected a whole number, 0 or more"
    policies = data.get("policies")
    problem = _expect(policies, "$.policies", "an object")
    if problem:
        return problem
    for name, pick in policies.items():
        problem = _pick_problem(pick, _path("$.policies", name), version)
        if problem:
            return problem
    return None


def _pick_problem(pick: Any, where: str, version: int) -> str | None:
    problem = _expect(pick, where, "an object")
    if problem:
        return problem
    if "model_name" not in pick:
        return f"{where}.model_name is missing"
    checks: list[tuple[str, tuple[str, ...]]] = [
        ("model_name", ("text",)),
        ("endpoint", ("text", "null")),
        ("via", ("text", "null")),
    ]
    if version >= 2:
        checks += [
            ("keys", ("an array",)),
            ("fields", ("an object",)),
            ("candidates", ("an array",)),
        ]
    for key, kinds in checks:
        if key not in pick:
            if version >= 2 and key not in ("endpoint", "via"):
                return f"{where}.{key} is missing"
            continue
        problem = _expect(pick[key], f"{where}.{key}", *kinds)
        if problem:
            return problem
    if not pick["model_name"]:
        return f"{where}.model_name is empty"
    if version < 2:
        return None
    for index, key in enumerate(pick["keys"]):
        at = _path(f"{where}.keys", index)
        problem = _expect(key, at, "an object") or _expect(key.get("key"), f"{at}.key", "text")
        if problem:
            return problem
        problem = _expect(
            key.get("value"), f"{at}.value", "a number", "text", "true or false", "null"
        )
        if problem:
            return problem
    for index, candidate in enumerate(pick["candidates"]):
        problem = _expect(candidate, _path(f"{where}.candidates", index), "text")
        if problem:
            return problem
    return None


# --- comparing -----------------------------------------------------------------------------------


def describe(pick: dict[str, Any] | None, short: bool = False) -> str:
    """``model (endpoint) via other`` - how a pick reads in a report (``short``: no endpoint)."""
    if pick is None:
        return "(no model)"
    text = pick["model_name"] if short else f"{pick['model_name']} ({pick.get('endpoint')})"
    return text + (f" via {pick['via']}" if pick.get("via") else "")


class DriftFailure(Failure):
    """A drift as a failure: ``brief`` (locked X, now Y) plus the reason, in one line."""

    brief: str
    drift: dict[str, Any]

    def __new__(cls, brief: str, drift: dict[str, Any]) -> DriftFailure:
        text = f"{brief} ({drift['reason']}: {drift['text']})"
        failure = cast(DriftFailure, super().__new__(cls, text, "drift"))
        failure.brief, failure.drift = brief, drift
        return failure


def apply_lock(
    reports: list[PolicyReport],
    lock: dict[str, Any],
    lock_path: str,
    book: PolicyBook,
    catalog: Catalog,
) -> list[PolicyReport]:
    """Compare each report's pick with the lock; a drift is a failure, with its reason.

    Returns the reports plus one for each locked policy no longer defined, so a
    lock that no longer matches the files fails too.
    """
    locked = lock["policies"]
    for report in reports:
        if report.name not in locked:
            report.failures.append(
                Failure(f"not in {lock_path}; run `policyeng lock` to add it", "not-locked")
            )
            continue
        entry = locked[report.name]
        report.locked = _pick(entry)
        drift = classify_drift(entry, chain_of(book, report.name), catalog)
        if drift is None:
            continue
        report.drift = drift
        same_endpoint = report.pick is not None and (
            report.pick["endpoint"] == report.locked["endpoint"]
        )
        was, now = (describe(report.locked, same_endpoint), describe(report.pick, same_endpoint))
        report.failures.append(
            DriftFailure(f"drifted from {lock_path}: locked {was}, now {now}", drift)
        )
    names = {r.name for r in reports}
    orphans = [
        PolicyReport(
            name,
            lock_path,
            1,
            locked=_pick(pick),
            failures=[
                Failure(
                    f"locked in {lock_path} but no longer defined; run `policyeng lock` to drop it",
                    "not-defined",
                )
            ],
        )
        for name, pick in locked.items()
        if name not in names
    ]
    return reports + orphans


def _pick(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "model_name": data.get("model_name"),
        "endpoint": data.get("endpoint"),
        "via": data.get("via"),
    }


def drifted(reports: list[PolicyReport]) -> list[PolicyReport]:
    """Reports whose pick differs from a locked one (for the side-by-side table)."""
    return [r for r in reports if r.drift is not None]
