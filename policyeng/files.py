"""Files policyeng writes: replaced atomically, so a reader sees the old content or the new.

The cache, the validation memo and the lock file all need it: write a
temporary file beside the target, flush it to disk, rename it over the target
(atomic on POSIX and Windows), and never leave the temporary file behind.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def replace_file(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """Atomically make ``path`` hold ``data``; raises ``OSError`` with nothing changed."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        if mode is not None:
            os.fchmod(handle, mode)
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
