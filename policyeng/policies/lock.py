"""``policies.lock``: which model each policy picked, so CI notices when that changes.

A catalog moves under a deployment (prices change, models come and go) and a
policy that still *resolves* may quietly start picking another model. ``lock``
records every pick with the catalog's sha256; ``check --locked`` re-resolves and
fails on any difference, showing the locked and the current pick side by side.

Format (DESIGN §4)::

    {"version": 1, "catalog": {"source": ..., "sha256": ...},
     "policies": {NAME: {"model_name": ..., "endpoint": ..., "via": ...}}}
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

from ..catalog.model import Catalog
from ..errors import NoMatch, PolicyError
from ..files import replace_file
from .check import PolicyReport

LOCK_VERSION = 1


def lock_data(reports: list[PolicyReport], catalog: Catalog) -> dict[str, Any]:
    """The lock for resolved policies (a policy that resolves to nothing cannot be locked)."""
    unresolved = [r.name for r in reports if r.selection is None]
    if unresolved:
        raise NoMatch(
            "cannot lock: " + ", ".join(repr(n) for n in unresolved)
            + f" resolve{'s' if len(unresolved) == 1 else ''} to no model in catalog "
            f"{catalog.source}; run `policyeng check` to see why"
        )
    return {
        "version": LOCK_VERSION,
        "catalog": {"source": catalog.source, "sha256": catalog.sha256},
        "policies": {r.name: r.pick for r in sorted(reports, key=lambda r: r.name)},
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
    body = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
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
        raise PolicyError(f"cannot write the lock file: this path is {kind}; "
                          "name a new file or an existing lock file", kind="lock", source=source)
    return stat.S_IMODE(status.st_mode)


_KINDS = {stat.S_IFDIR: "a directory", stat.S_IFCHR: "a character device",
          stat.S_IFBLK: "a block device", stat.S_IFIFO: "a FIFO (named pipe)",
          stat.S_IFSOCK: "a socket"}


def _cannot_write(exc: OSError, source: str) -> PolicyError:
    return PolicyError(f"cannot write the lock file: {exc.strerror or exc}", kind="lock",
                       source=source)


def read_lock(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and sanity-check a lock file; a missing or malformed lock is a usage error."""
    source = os.fspath(path)
    try:
        if Path(source).exists() and not Path(source).is_file():
            raise PolicyError("not a regular file", kind="lock", source=source)
        text = Path(source).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyError("lock file not found; create it with `policyeng lock`",
                          kind="lock", source=source) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"cannot read the lock file: {exc}", kind="lock",
                          source=source) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PolicyError(f"not valid JSON: {exc.msg}", kind="lock", text=text,
                          line=exc.lineno, column=exc.colno, source=source) from None
    except RecursionError:
        raise PolicyError("not a policyeng lock file: nested too deeply", kind="lock",
                          source=source) from None
    problem = _shape_problem(data)
    if problem:
        raise PolicyError(f"not a policyeng lock file: {problem}", kind="lock", source=source)
    return data


def _shape_problem(data: Any) -> str | None:
    if not isinstance(data, dict):
        return "expected a JSON object"
    if data.get("version") != LOCK_VERSION:
        return f"version is {data.get('version')!r}, expected {LOCK_VERSION}"
    if not isinstance(data.get("policies"), dict):
        return "'policies' must be an object"
    for name, pick in data["policies"].items():
        if not isinstance(pick, dict) or not isinstance(pick.get("model_name"), str):
            return f"policies.{name} must be an object with a model_name"
    return None


def describe(pick: dict[str, Any] | None, short: bool = False) -> str:
    """``model (endpoint) via other`` - how a pick reads in a report (``short``: no endpoint)."""
    if pick is None:
        return "(no model)"
    text = pick["model_name"] if short else f"{pick['model_name']} ({pick.get('endpoint')})"
    return text + (f" via {pick['via']}" if pick.get("via") else "")


def apply_lock(reports: list[PolicyReport], lock: dict[str, Any], lock_path: str,
               ) -> list[PolicyReport]:
    """Compare each report's pick with the lock; drifts become failures.

    Returns the reports plus one for each locked policy no longer defined, so a
    lock that no longer matches the files fails too.
    """
    locked = lock["policies"]
    for report in reports:
        if report.name not in locked:
            report.failures.append(f"not in {lock_path}; run `policyeng lock` to add it")
            continue
        report.locked = _pick(locked[report.name])
        if report.pick != report.locked:
            same_endpoint = report.pick is not None and (
                report.pick["endpoint"] == report.locked["endpoint"])
            was, now = (describe(report.locked, same_endpoint),
                        describe(report.pick, same_endpoint))
            report.failures.append(f"drifted from {lock_path}: locked {was}, now {now}")
    names = {r.name for r in reports}
    orphans = [
        PolicyReport(name, lock_path, 1, locked=_pick(pick),
                     failures=[f"locked in {lock_path} but no longer defined; "
                               "run `policyeng lock` to drop it"])
        for name, pick in locked.items() if name not in names
    ]
    return reports + orphans


def _pick(data: dict[str, Any]) -> dict[str, Any]:
    return {"model_name": data.get("model_name"), "endpoint": data.get("endpoint"),
            "via": data.get("via")}


def drifted(reports: list[PolicyReport]) -> list[PolicyReport]:
    """Reports whose pick differs from a locked one (for the side-by-side table)."""
    # A policy only in the lock was never tried: it is listed as undefined, not drifted.
    return [r for r in reports if r.locked is not None and r.tried and r.pick != r.locked]
