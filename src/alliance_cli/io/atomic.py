"""The one output object (:class:`Output`): a file is either the old one or the complete new
one, private from its first byte.

The content goes to a temporary file in the target's folder (created 0600, so it is never
readable by others, not even for a moment), is flushed and fsynced, and then renamed over
the target with ``os.replace`` — atomic on POSIX and Windows when both are on one file
system, which the shared folder guarantees. If writing fails, the temporary file is removed
and an existing target is left as it was. A FIFO, a device or a stream (stdout) is never
replaced: the content is spooled to a private temporary file and copied into the target on
commit only, so a failed or refused run writes nothing to it. Which targets may be written,
and how, is decided in :mod:`alliance_cli.io.targets`; the run's registry of temporary files,
which a signal cannot outrun, is :class:`~alliance_cli.io.outputs.Outputs`.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, cast

from alliance_cli.errors import InputFileError
from alliance_cli.io.outputs import Outputs
from alliance_cli.io.targets import refuse_database, refuse_database_stream, replaced, unwritable

PRIVATE = 0o600


class Output:
    """A file written in pieces that appears only when complete: the bytes go to a private
    temporary file (0600) next to ``target`` — or, for a stream such as stdout or a FIFO or
    device (:func:`~alliance_cli.io.targets.in_place`), in ``spool`` or else the temp folder
    (a copy of private data belongs in a private folder) — and :meth:`commit` moves it into
    place (or copies it to the stream, FIFO or device), while :meth:`discard` removes it and
    leaves the target as it was. So a run that stops half way, or finds bad cells after
    writing some rows, never leaves a partial output. As a context manager: committed when
    the block ends normally, discarded when it raises.

    Refused at once (:class:`~alliance_cli.errors.UsageError` or
    :class:`~alliance_cli.errors.InputFileError`): an SQLite database as the target, a
    folder, a loop of links, a link planted in a shared folder, an unwritable folder."""

    def __init__(
        self, target: Path | IO[bytes], *, mode: int = PRIVATE, spool: Path | None = None
    ) -> None:
        self.target = target
        self.mode = mode
        self.run = Outputs.current()
        self.replaces: Path | None = None
        """The regular file that :meth:`commit` replaces; None: the content is copied out."""
        try:
            if isinstance(target, Path):
                refuse_database(target)
                self.replaces = replaced(target)
            else:
                refuse_database_stream(target)
            folder = self.replaces.parent if self.replaces is not None else spool
            name = target.name if isinstance(target, Path) else "stdout"
            fd, self.tmp = _private_temporary(folder, name, run=self.run)
        except OSError as exc:
            raise self.error(exc) from exc
        self.stream: IO[bytes] = os.fdopen(fd, "wb")
        self.done = False

    def __enter__(self) -> Output:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if kind is None:
            self.commit()
        else:
            self.discard()

    def error(self, exc: OSError) -> InputFileError:
        """``exc`` as the user error naming the target."""
        return unwritable(str(self.target) if isinstance(self.target, Path) else "stdout", exc)

    def write(self, data: bytes) -> None:
        try:
            self.stream.write(data)
        except OSError as exc:
            self.discard()
            raise self.error(exc) from exc

    def commit(self) -> None:
        try:
            self.stream.flush()
            if self.replaces is not None:
                os.fsync(self.stream.fileno())
                self.stream.close()
                os.chmod(self.tmp, self.mode)
                os.replace(self.tmp, self.replaces)
                _sync_folder(self.replaces.parent)
            else:
                self.stream.close()
                if isinstance(self.target, Path):
                    # No O_CREAT: a FIFO or device that vanished meanwhile is an error, not a
                    # new world-readable file. O_APPEND keeps what `>>` put before /dev/stdout.
                    flags = os.O_WRONLY | os.O_APPEND | getattr(os, "O_NOCTTY", 0)
                    with os.fdopen(os.open(self.target, flags), "wb") as out:
                        self._copy_to(out)
                    if self.run is not None:
                        self.run.settled.add(os.path.abspath(self.target))
                else:
                    self._copy_to(self.target)
                    self.target.flush()
                os.unlink(self.tmp)
            self.done = True
            if self.run is not None:
                self.run.pending.discard(self.tmp)
        except BrokenPipeError:  # the reader left (`| head`): nothing to report, as for a print
            self.discard()
            raise
        except OSError as exc:
            self.discard()
            raise self.error(exc) from exc

    def _copy_to(self, out: IO[bytes]) -> None:
        with open(self.tmp, "rb") as spooled:
            shutil.copyfileobj(spooled, out, 1 << 20)

    def discard(self) -> None:
        if self.done:
            return
        self.done = True
        with contextlib.suppress(OSError):
            self.stream.close()
        _remove(self.tmp, self.run)
        if isinstance(self.target, Path) and self.replaces is None:
            (self.run or Outputs()).close_unwritten(self.target)


def atomic_write(
    target: Path | IO[bytes],
    write: Callable[[IO[str]], object],
    *,
    mode: int = PRIVATE,
    encoding: str = "utf-8",
    newline: str = "",
    spool: Path | None = None,
) -> Path | IO[bytes]:
    """Call ``write(stream)`` on the text stream of an :class:`Output` to ``target`` (a path,
    or a byte stream such as stdout's) and commit it with ``mode`` (0600 by default).
    ``newline=""`` leaves line endings to the writer (the csv module writes CRLF itself).
    ``spool``: where the content waits when the target is a stream, FIFO or device (see
    :class:`Output`; clinical data belongs beside its database, not in the shared temp folder).

    An ``OSError`` (no such folder, no permission, disk full) becomes an
    :class:`~alliance_cli.errors.InputFileError`; any other exception from ``write`` is
    re-raised unchanged. Either way nothing is left behind and ``target`` is untouched.
    """
    with Output(target, mode=mode, spool=spool) as output:
        text = io.TextIOWrapper(
            cast(io.BufferedWriter, output.stream), encoding=encoding, newline=newline
        )
        try:
            write(text)
            text.flush()
        except OSError as exc:
            raise output.error(exc) from exc
        text.detach()  # the output closes its own stream
    return target


def check_writable(path: Path) -> None:
    """Raise what writing ``path`` would raise, before anything is written: a private
    temporary file is made and removed where :class:`Output` would make it (next to the
    file it replaces). A FIFO or device is written into at the end: nothing to try."""
    run = Outputs.current()
    try:
        real = replaced(path)
        if real is None:
            return
        fd, tmp = _private_temporary(real.parent, real.name, run=run)
    except OSError as exc:
        raise unwritable(str(path), exc) from exc
    os.close(fd)
    _remove(tmp, run)


@contextlib.contextmanager
def spooled(stream: IO[bytes], name: str = "stdin") -> Iterator[Path]:
    """A private (0600) copy of ``stream`` (stdin, which can be read only once) in the temp
    folder, for reading more than once; removed afterwards, however the block ends (an
    error, or a signal: it is pending in the run's :class:`Outputs` until then). The copy's
    name ends in ``name``'s extension, so that it is read in the format ``name`` says."""
    run = Outputs.current()
    fd, tmp = _private_temporary(None, name, Path(name).suffix, run=run)
    try:
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(stream, out, 1 << 20)
        yield Path(tmp)
    finally:
        _remove(tmp, run)


def _private_temporary(
    folder: Path | None, name: str, suffix: str = "", *, run: Outputs | None
) -> tuple[int, str]:
    """A new private (0600) temporary file ``.<name>.<random>.tmp<suffix>`` in ``folder``
    (None: the temp folder), opened for writing. Its name is registered as pending in the
    run's :class:`Outputs` *before* it is created, so that a signal arriving at any moment
    leaves nothing behind; ``tempfile.mkstemp`` would leave a gap between the two."""
    where = str(folder) if folder is not None else tempfile.gettempdir()
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    pending = run.pending if run is not None else set()
    for _ in range(100):
        path = os.path.join(where, f".{name}.{secrets.token_hex(6)}.tmp{suffix}")
        pending.add(path)
        try:
            return os.open(path, flags, PRIVATE), path
        except FileExistsError:
            pending.discard(path)
        except OSError:  # not created; a signal (not an OSError) keeps it pending
            pending.discard(path)
            raise
    raise FileExistsError(errno.EEXIST, "no unused temporary name", where)


def _remove(tmp: str, run: Outputs | None) -> None:
    with contextlib.suppress(OSError):
        os.unlink(tmp)
    if run is not None:
        run.pending.discard(tmp)


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
