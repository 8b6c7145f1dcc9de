"""Files policyeng reads and writes, safely whatever the path turns out to be.

Reading: a path named on the command line or in a policy file may be a FIFO
(which blocks the reader until a writer comes), a device such as /dev/zero
(which never ends) or an enormous file; ``read_regular_file`` refuses the first
two without blocking and never reads past its limit. Writing: the cache, the
validation memo and the lock file are replaced atomically (a temporary file
beside the target, flushed, renamed over it), so a reader sees the old content
or the new, never half, and no temporary file is left behind.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path


class NotRegularFile(OSError):
    """The path is a FIFO, a device or a socket, not a file to read."""


class FileTooLarge(OSError):
    """The file holds more bytes than the reader allows."""


def read_regular_file(path: str | os.PathLike[str], limit: int) -> bytes:
    """The bytes of a regular file, refused past ``limit`` bytes.

    Raises ``FileNotFoundError``, ``IsADirectoryError``, ``NotRegularFile``,
    ``FileTooLarge`` or another ``OSError``; each caller words them for its file.
    """
    # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below.
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with open(descriptor, "rb") as handle:
        mode = os.fstat(handle.fileno()).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, "is a directory", os.fspath(path))
        if not stat.S_ISREG(mode):
            raise NotRegularFile(errno.EINVAL, "not a regular file", os.fspath(path))
        body = handle.read(limit + 1)  # never more, whatever the file is
    if len(body) > limit:
        raise FileTooLarge(errno.EFBIG, f"larger than {limit:,} bytes", os.fspath(path))
    return body


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
