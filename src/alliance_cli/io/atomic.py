"""Atomic, private file writes: a file is either the old one or the complete new one.

The content goes to a temporary file in the target's folder (created 0600 by ``mkstemp``,
so it is never readable by others, not even for a moment), is flushed and fsynced, and then
renamed over the target with ``os.replace`` — atomic on POSIX and Windows when both are on
one file system, which the shared folder guarantees. If writing fails, the temporary file
is removed and an existing target is left as it was.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

from ..errors import InputFileError, Problem

PRIVATE = 0o600


def atomic_write(
    path: Path,
    write: Callable[[IO[str]], object],
    *,
    mode: int = PRIVATE,
    encoding: str = "utf-8",
    newline: str = "",
) -> Path:
    """Call ``write(stream)`` on a temporary text file next to ``path``, then move it into
    place with ``mode`` (0600 by default). ``newline=""`` leaves line endings to the writer
    (the csv module writes CRLF itself).

    An ``OSError`` (no such folder, no permission, disk full) becomes an
    :class:`~alliance_cli.errors.InputFileError`; any other exception from ``write`` is
    re-raised unchanged. Either way nothing is left behind and ``path`` is untouched.
    """
    folder = path.parent
    tmp_name: str | None = None
    try:
        fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding=encoding, newline=newline) as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, path)
        tmp_name = None
        _sync_folder(folder)
    except OSError as exc:
        raise InputFileError(
            Problem("file-unwritable", f"cannot write the file: {exc.strerror or exc}", str(path))
        ) from exc
    finally:
        if tmp_name is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)
    return path


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX; Windows has no directory handles to sync)."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on a directory; the rename has happened
    finally:
        os.close(fd)


class PendingFile:
    """A file written in pieces that appears only when complete: the bytes go to a private
    temporary file (0600) next to ``path`` — or, for a stream such as stdout, in the temp
    folder — and :meth:`commit` moves it into place (or copies it to the stream), while
    :meth:`discard` removes it and leaves the target as it was. So a run that stops half
    way, or finds bad cells after writing some rows, never leaves a partial output."""

    def __init__(self, target: Path | IO[bytes], *, mode: int = PRIVATE) -> None:
        self.target = target
        self.mode = mode
        folder = target.parent if isinstance(target, Path) else None
        name = target.name if isinstance(target, Path) else "stdout"
        try:
            fd, self.tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
        except OSError as exc:
            raise self._error(exc) from exc
        self.stream: IO[bytes] = os.fdopen(fd, "wb")
        self.done = False

    def _error(self, exc: OSError) -> InputFileError:
        where = str(self.target) if isinstance(self.target, Path) else "stdout"
        return InputFileError(
            Problem("file-unwritable", f"cannot write the file: {exc.strerror or exc}", where)
        )

    def write(self, data: bytes) -> None:
        try:
            self.stream.write(data)
        except OSError as exc:
            self.discard()
            raise self._error(exc) from exc

    def commit(self) -> None:
        try:
            self.stream.flush()
            os.fsync(self.stream.fileno())
            self.stream.close()
            if isinstance(self.target, Path):
                os.chmod(self.tmp, self.mode)
                os.replace(self.tmp, self.target)
                _sync_folder(self.target.parent)
            else:
                with open(self.tmp, "rb") as spooled:
                    while block := spooled.read(1 << 20):
                        self.target.write(block)
                self.target.flush()
                os.unlink(self.tmp)
            self.done = True
        except OSError as exc:
            self.discard()
            raise self._error(exc) from exc

    def discard(self) -> None:
        if self.done:
            return
        self.done = True
        with contextlib.suppress(OSError):
            self.stream.close()
        with contextlib.suppress(OSError):
            os.unlink(self.tmp)
