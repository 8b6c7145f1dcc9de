"""A virtualenv holding only policyeng and its runtime dependencies, for the start-up row.

A developer's interpreter starts slower than a user's (a large site-packages,
``.pth`` start-up hooks), which inflates ``python -c "import json"`` and
flatters every ratio against it. The start-up target is therefore measured
with the interpreter of a virtualenv where ``pip install REPO`` put policyeng
and its dependencies and nothing else. It is made once and reused while the
package is unchanged: the digest of ``pyproject.toml`` and of the package's
files is kept inside it; changed sources are reinstalled (``--no-deps``),
changed dependencies rebuild it from scratch.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

STAMP = "policyeng-bench.stamp"


def _digest(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for path in paths:
        h.update(str(path).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def digests(repo: Path) -> tuple[str, str]:
    """(digest of the dependencies, digest of the sources) of the package in ``repo``."""
    sources = sorted(
        p
        for folder in ("policyeng", "schemas")
        for p in (repo / folder).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )
    return _digest([repo / "pyproject.toml"]), _digest(sources)


def bin_dir(venv: Path) -> Path:
    return venv / ("Scripts" if os.name == "nt" else "bin")


def ensure(venv: Path, repo: Path) -> str:
    """Make ``venv`` hold exactly the current policyeng; say what it took.

    Raises ``RuntimeError`` (with pip's last words) when it cannot: no network
    for the dependencies, no ``venv`` module.
    """
    deps, sources = digests(repo)
    stamp = venv / STAMP
    old = stamp.read_text(encoding="utf-8").split() if stamp.is_file() else []
    python = bin_dir(venv) / "python"
    if old == [deps, sources] and python.exists():
        return "reused"
    if old[:1] == [deps] and python.exists():
        _run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-deps",
                "--force-reinstall",
                str(repo),
            ]
        )
        done = "reinstalled (sources changed)"
    else:
        shutil.rmtree(venv, ignore_errors=True)
        _run([sys.executable, "-m", "venv", str(venv)])
        _run([str(python), "-m", "pip", "install", "--quiet", str(repo)])
        done = "created"
    stamp.write_text(f"{deps} {sources}\n", encoding="utf-8")
    return done


def _run(cmd: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PIP_USER")}
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        last = (out.stderr.strip() or out.stdout.strip()).splitlines()[-3:]
        raise RuntimeError(f"`{' '.join(cmd[:4])} ...` exited {out.returncode}: {' '.join(last)}")
