"""What every section is given: the run's options, catalogs and environment, and where
its verdicts go.

A section is a module of ``benchmarks/sections`` with ``run(ctx: Context)``:
it prints its own table, appends ``Target``s to ``ctx.targets``, reports a
different pick or an engine error with ``ctx.fail`` (the run then exits 1),
and may leave results for a later section in ``ctx.results``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import subprocess
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.timing import ProcResult

REPO = Path(__file__).resolve().parent.parent
REAL_CATALOG_DIR = REPO.parent / "shared" / "catalogs"
TARGET_SIZE = 10_000  # the size the selection and process targets are defined at
BIG = 10_000  # rows above this size use fewer repeats


@dataclass
class Target:
    what: str
    measured: str
    target: str
    ok: bool | None  # None: could not be measured
    where: str = ""


@dataclass
class CatalogCase:
    label: str
    path: str
    synthetic_size: int | None  # None for a real catalog


@dataclass
class Context:
    args: argparse.Namespace
    tmp: Path  # this run's temporary directory (removed at the end)
    env: dict[str, str]  # the environment of every subprocess (see subprocess_env)
    synthetic: list[CatalogCase]
    real: list[CatalogCase]
    cli: list[str]  # the `policyeng` command: the console script beside sys.executable
    targets: list[Target] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # mismatches and engine errors
    notes: list[str] = field(default_factory=list)  # printed under the targets table
    results: dict[str, Any] = field(default_factory=dict)  # one section's data for another

    def fail(self, msg: str) -> None:
        self.failures.append(msg)
        bar = "!" * 78
        print(f"\n{bar}\nMISMATCH / ERROR: {msg}\n{bar}", flush=True)
        print(f"MISMATCH / ERROR: {msg}", file=sys.stderr, flush=True)


def subprocess_env(cache_dir: Path) -> dict[str, str]:
    """The environment of every process the benchmark starts.

    - POLICYENG_CATALOG=builtin and POLICYENG_OFFLINE=1: no run ever touches the
      network (every command also names its --catalog);
    - POLICYENG_CACHE_DIR: the run's own temp dir, so memos never land in (or
      come from) the user's cache; the "cold" rows replace it per run;
    - PYTHONDONTWRITEBYTECODE removed: with it, every fresh process would
      recompile every module it imports from source, which a normal
      installation does not do (warm_bytecode writes the .pyc files once);
    - the repository first on PYTHONPATH, so `python -c "import policyeng"`
      imports the code being measured.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["POLICYENG_CATALOG"] = "builtin"
    env["POLICYENG_OFFLINE"] = "1"
    env["POLICYENG_CACHE_DIR"] = str(cache_dir)
    env["PYTHONPATH"] = str(REPO) + (
        os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""
    )
    return env


def warm_bytecode(env: dict[str, str]) -> str:
    """Write the .pyc files of policyeng (and of what its CLI imports) once; a line to print."""
    import policyeng

    was = os.environ.get("PYTHONDONTWRITEBYTECODE")
    pkg = Path(policyeng.__file__).parent
    out = subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(pkg)],
        capture_output=True,
        text=True,
        env=env,
    )
    # Imports outside the package (yaml, platformdirs, filelock, stdlib) get
    # their .pyc written by one run of each command (plus each row's warm-up).
    for code in ("import policyeng.cli", "import json"):
        subprocess.run([sys.executable, "-c", code], capture_output=True, env=env)
    state = (
        f"PYTHONDONTWRITEBYTECODE={was!r} in this environment"
        if was
        else ("PYTHONDONTWRITEBYTECODE not set")
    )
    return (
        f"bytecode: {state}; removed from every subprocess's environment;"
        f" .pyc warmed (compileall {pkg.name}: exit {out.returncode})"
    )


def load_average(during_run: bool = False) -> str:
    """The 1/5/15-minute load average, flagged when other work competes for the CPUs.

    At the end of a run the figure includes the benchmark itself (about one
    busy CPU), so it is flagged above half the CPUs plus one; at the start,
    above half the CPUs.
    """
    try:
        one, five, fifteen = os.getloadavg()
    except (AttributeError, OSError):
        return "unknown"
    n = os.cpu_count() or 1
    own = 1.0 if during_run else 0.0
    busy = "  << HIGH: other work shares the CPUs, timings are noisy" if one > 0.5 * n + own else ""
    self_note = ", this run included" if during_run else ""
    return f"{one:.2f} {five:.2f} {fifteen:.2f} (1/5/15 min, {n} CPUs{self_note}){busy}"


def cli_command() -> list[str]:
    """The installed console script of this interpreter's environment, else `python -m policyeng`.

    The script beside sys.executable is preferred to whatever `policyeng` is first
    on PATH: a version-manager shim (pyenv) would add its own start-up to every run.
    """
    beside = Path(sys.executable).parent / ("policyeng.exe" if os.name == "nt" else "policyeng")
    if beside.is_file() and os.access(beside, os.X_OK):
        return [str(beside)]
    return [sys.executable, "-m", "policyeng"]


def script_interpreter(cli: list[str]) -> str | None:
    """The interpreter named on the console script's `#!` line (None for `python -m`)."""
    if len(cli) != 1:
        return None
    try:
        with open(cli[0], "rb") as f:
            first = f.readline().decode("utf-8", "replace").strip()
    except OSError:
        return None
    return first[2:].split()[0] if first.startswith("#!") and first[2:].split() else None


def first_word(res: ProcResult) -> str | None:
    """The pick of `policyeng select`'s text output: the first word of stdout (None on exit 1)."""
    if res.returncode != 0:
        return None
    words = res.stdout.split()
    return words[0] if words else None


def load_quietly(loader: Callable[[str], Any], path: str) -> tuple[Any, int]:
    """Load a catalog, swallowing its warnings (counted) so they do not mix into the table."""
    buf = io.StringIO()
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stderr(buf):
        warnings.simplefilter("always")
        cat = loader(path)
    n_warn = len(caught) + sum(1 for line in buf.getvalue().splitlines() if line.strip())
    return cat, n_warn
