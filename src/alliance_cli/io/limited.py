"""Bounded reads of small inputs read whole (definitions, answers): an input larger than its
limit, or one that never ends (``/dev/zero``, ``yes |``), is refused by its size after at most
``limit + 1`` bytes, never read into memory; a FIFO is never waited for when only regular
files may be read."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from alliance_cli.errors import InputFileError, Problem


def read_limited(
    source: Path | BinaryIO, limit: int, what: str, name: str, *, regular_only: bool = False
) -> bytes:
    """At most ``limit`` bytes of a path or a binary stream, or :class:`InputFileError`.

    With ``regular_only`` a path that is not a regular file (a FIFO, a device such as
    ``/dev/zero``, a socket; links are followed) is refused without reading or blocking.
    ``OSError`` from opening a path (missing, no permission) is left to the caller."""
    if not isinstance(source, Path):
        return _bounded(source.read, limit, what, name)
    # O_NONBLOCK: opening a FIFO without a writer would otherwise wait forever.
    fd = os.open(source, os.O_RDONLY | (os.O_NONBLOCK if regular_only else 0))
    try:
        info = os.fstat(fd)
        if regular_only and not stat.S_ISREG(info.st_mode):
            kind = "a folder" if stat.S_ISDIR(info.st_mode) else "a FIFO, device or socket"
            message = f"not a regular file ({kind}); {what} is read only from regular files"
            raise InputFileError(Problem("not-regular", message, name))
        if stat.S_ISREG(info.st_mode) and info.st_size > limit:
            raise _too_large(what, name, limit)
        return _bounded(lambda n: os.read(fd, n), limit, what, name)
    finally:
        os.close(fd)


def _bounded(read: Callable[[int], bytes], limit: int, what: str, name: str) -> bytes:
    parts: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = read(min(1 << 20, limit + 1 - size))
        if not chunk:
            return b"".join(parts)
        parts.append(chunk)
        size += len(chunk)
    raise _too_large(what, name, limit)


def _too_large(what: str, name: str, limit: int) -> InputFileError:
    return InputFileError(
        Problem("too-large", f"larger than the limit of {limit:,} bytes for {what}; not read", name)
    )
