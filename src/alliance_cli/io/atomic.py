"""Atomic, private file writes: a file is either the old one or the complete new one.

The content goes to a temporary file in the target's folder (created 0600 by ``mkstemp``,
so it is never readable by others, not even for a moment), is flushed and fsynced, and then
renamed over the target with ``os.replace`` — atomic on POSIX and Windows when both are on
one file system, which the shared folder guarantees. If writing fails, the temporary file
is removed and an existing target is left as it was.

A symbolic link is written through: the regular file it points to is replaced, the link
stays. A target that is not a regular file — a FIFO, a character device such as
``/dev/null`` or a terminal, a socket, or a file reached through ``/proc`` (``/dev/stdout``,
``/dev/fd/3``) — is never replaced (:func:`in_place`): the content is spooled to a private
temporary file, as for stdout, and copied into the target by opening it for writing only
on commit, so a failed or refused run writes nothing to it. A folder is refused at once.

No output ever replaces an SQLite database, nor the ``-wal``, ``-shm`` or ``-journal`` file
beside one (:func:`refuse_database`): that is how the history database, its journal files
and every backup of it are kept safe from a mistyped ``-o``, whatever path leads there (the
same, a relative one, a symbolic or a hard link), without the writer having to know where
the database lives.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import secrets
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, cast

from alliance_cli.errors import InputFileError, Problem, UsageError

PRIVATE = 0o600
_PENDING: set[str] = set()  # temporary files not yet committed or discarded
_SETTLED: set[str] = set()  # FIFOs written into or closed unwritten (absolute paths)
_LINK_HOPS = 40  # as the kernel's ELOOP limit
_SQLITE_MAGIC = (
    b"SQLite format 3\x00",  # a database (and a backup of one)
    b"\x37\x7f\x06\x82",  # a write-ahead log (big-endian magic, either checksum order)
    b"\x37\x7f\x06\x83",
    b"\xd9\xd5\x05\xf9\x20\xa1\x63\xd7",  # a rollback journal
)
_JOURNAL_SUFFIXES = ("-wal", "-shm", "-journal")


def atomic_write(
    path: Path,
    write: Callable[[IO[str]], object],
    *,
    mode: int = PRIVATE,
    encoding: str = "utf-8",
    newline: str = "",
) -> Path:
    """Call ``write(stream)`` on a temporary text file next to ``path``, then move it into
    place with ``mode`` (0600 by default) — or, for a FIFO or device (:func:`in_place`),
    copy it into ``path``. ``newline=""`` leaves line endings to the writer (the csv module
    writes CRLF itself).

    An ``OSError`` (no such folder, no permission, disk full) becomes an
    :class:`~alliance_cli.errors.InputFileError`; any other exception from ``write`` is
    re-raised unchanged. Either way nothing is left behind and ``path`` is untouched.
    """
    pending = PendingFile(path, mode=mode)
    try:
        text = io.TextIOWrapper(
            cast(io.BufferedWriter, pending.stream), encoding=encoding, newline=newline
        )
        write(text)
        text.flush()
        text.detach()  # the pending file closes its own stream
    except OSError as exc:
        pending.discard()
        raise pending.error(exc) from exc
    except BaseException:
        pending.discard()
        raise
    pending.commit()
    return path


def discard_pending() -> None:
    """Remove every temporary file not yet committed or discarded: after an interrupt or a
    termination signal, which may strike before a half-made output is known to anyone who
    could discard it (say, between creating its file and returning it)."""
    for name in list(_PENDING):
        with contextlib.suppress(OSError):
            os.unlink(name)
        _PENDING.discard(name)


def in_place(path: Path) -> bool:
    """Whether ``path`` is written in place rather than replaced: it exists (following
    links) and is not a regular file or a folder — a FIFO, a device, a socket — or it is
    reached through ``/proc`` (``/dev/stdout``, ``/dev/fd/N``: replacing what such a link
    resolves to would miss the descriptor the shell opened). Such a target has no
    neighbours either: no codebook goes next to it."""
    try:
        info = os.stat(path)
    except OSError:
        return False  # missing, or unreachable: writing it will say why
    if stat.S_ISDIR(info.st_mode):
        return False
    return not stat.S_ISREG(info.st_mode) or _through_proc(path)


def codebook_path(output: Path | None, codebook: Path | None = None) -> Path | None:
    """The codebook to write: ``codebook`` when given; else ``<output>.codebook.json`` for a
    file output, none for stdout or a FIFO or device (:func:`in_place`)."""
    if codebook is not None or output is None or in_place(output):
        return codebook
    return output.with_name(output.name + ".codebook.json")


def refuse_database(path: Path) -> None:
    """Refuse ``path`` as an output when writing it would replace an SQLite database — the
    history database or a backup of it, reached by any path or link — or the ``-wal``,
    ``-shm`` or ``-journal`` file of one (these exist only while it is in use, so their
    name is what tells). Decided by the file's first bytes rather than by comparing with the
    history database's path: that also covers every backup wherever it was put, and needs
    no knowledge of where the database is (``batch`` never opens it)."""
    try:
        real = _replaced(path)
    except OSError:
        return  # unwritable for another reason: writing it will say why
    if real is None:
        # Written into, never replaced: a FIFO or device — or a descriptor link such as
        # /dev/stdout that the shell pointed at a file (`1<>history.sqlite3`).
        if _regular(path) and _is_sqlite(path):  # never opened for reading otherwise: a
            raise _database_target(str(path))  # FIFO's open would wait for a writer
        return
    base = real.name
    beside = next((base[: -len(s)] for s in _JOURNAL_SUFFIXES if base.endswith(s)), None)
    if _is_sqlite(real) or (beside and _is_sqlite(real.with_name(beside))):
        raise _database_target(str(path))


def refuse_database_stream(stream: IO[bytes] | IO[str]) -> None:
    """:func:`refuse_database` for a stream (stdout) the shell redirected into a file:
    ``-o - >> history.sqlite3`` must not append to the database either."""
    try:
        fd = stream.fileno()
        regular = stat.S_ISREG(os.fstat(fd).st_mode)
    except (OSError, ValueError, io.UnsupportedOperation):
        return  # not a descriptor (a test's buffer) or a closed one
    if regular and _is_sqlite(Path(f"/dev/fd/{fd}")):  # re-opened for reading, where possible
        raise _database_target("stdout")


def _database_target(where: str) -> UsageError:
    return UsageError(
        Problem(
            "database-target",
            "is an SQLite database (the history database, its journal or a backup); "
            "alliance never writes over one: choose another file",
            where,
        )
    )


def _regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def _is_sqlite(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError:
        return False
    return head.startswith(_SQLITE_MAGIC)


def check_distinct(paths: list[Path], message: str) -> None:
    """Before a command writes several outputs: refuse any that is a database
    (:func:`refuse_database`, so that none is written when one is refused), and one file or
    FIFO for two outputs (a FIFO's reader ends at the first output's end, and the second
    would wait for a reader forever); a device such as ``/dev/null`` may take several."""
    for path in paths:
        refuse_database(path)
    resolved = [p.resolve() for p in paths if not _is_device(p)]
    if len(set(resolved)) != len(resolved):
        raise UsageError(Problem("same-file", message))


def check_writable(path: Path) -> None:
    """Raise what writing ``path`` would raise, before anything is written: a private
    temporary file is made and removed where :class:`PendingFile` would make it (next to
    the file it replaces). A FIFO or device is written into at the end: nothing to try."""
    try:
        real = _replaced(path)
        if real is None:
            return
        fd, tmp = _private_temporary(real.parent, real.name)
    except OSError as exc:
        raise _unwritable(str(path), exc) from exc
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(tmp)
    _PENDING.discard(tmp)


def _unwritable(where: str, exc: OSError) -> InputFileError:
    return InputFileError(
        Problem("file-unwritable", f"cannot write the file: {exc.strerror or exc}", where)
    )


def _is_device(path: Path) -> bool:
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISBLK(mode)


def _through_proc(path: Path) -> bool:
    """Whether ``path`` or a link on the way to its file lies in ``/proc`` or ``/dev/fd``,
    or is ``/dev/stdout`` and the like (on macOS and the BSDs, descriptors without /proc)."""
    hop = os.path.abspath(path)
    for _ in range(_LINK_HOPS):
        folder = os.path.realpath(os.path.dirname(hop))
        if folder in ("/proc", "/dev/fd") or folder.startswith(("/proc/", "/dev/fd/")):
            return True
        if folder == "/dev" and os.path.basename(hop) in ("stdin", "stdout", "stderr"):
            return True
        if not os.path.islink(hop):
            return False
        hop = os.path.join(folder, os.readlink(hop))
    return False


def _replaced(path: Path) -> Path | None:
    """The regular file that writing ``path`` replaces (``path``, or the file its links
    lead to), or None when ``path`` is written in place. Raises ``IsADirectoryError``."""
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    if in_place(path):
        return None
    if not path.is_symlink():
        return path
    _refuse_planted_link(path)
    # Replace the file the link points to (also when dangling: it is created), not the link.
    real = Path(os.path.realpath(path))
    if real.is_symlink():  # realpath stops at a loop of links
        raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), str(path))
    return real


def _refuse_planted_link(link: Path) -> None:
    """Linux's ``protected_symlinks`` rule, which our rename over the link's target would
    bypass: a link in a world-writable sticky folder (such as /tmp) is followed only when it
    belongs to us or to the folder's owner — else another user could plant it there to make
    us replace a file of ours."""
    folder, own = os.stat(link.parent), os.lstat(link)
    shared = folder.st_mode & stat.S_ISVTX and folder.st_mode & stat.S_IWOTH
    if shared and own.st_uid not in (os.geteuid(), folder.st_uid):
        raise PermissionError(
            errno.EACCES,
            "it is a link another user put in a shared folder (like /tmp), and such a link "
            "is not followed",
            str(link),
        )


def close_unwritten(target: Path) -> None:
    """Open a FIFO for writing and close it: its reader (``cat fifo``, the next step of a
    pipeline) gets end-of-file with nothing in it instead of waiting forever. Not when no
    one reads it (that open would block; non-blocking, it fails), nor for a device, nor for
    a FIFO this command has already written into or closed (:func:`fifos_closed`)."""
    key = os.path.abspath(target)
    if key in _SETTLED:
        return
    _SETTLED.add(key)
    with contextlib.suppress(OSError):
        if stat.S_ISFIFO(os.stat(target).st_mode):
            os.close(os.open(target, os.O_WRONLY | os.O_NONBLOCK))


@contextlib.contextmanager
def fifos_closed(*targets: Path | None) -> Iterator[None]:
    """Around a command with output ``targets``: each FIFO among them that the command did
    not write into is closed unwritten at the end, however the command ends (refused, dry
    run, an error before anything was written), so that no reader waits forever."""
    given = [t for t in targets if t is not None]
    _SETTLED.difference_update(os.path.abspath(t) for t in given)
    try:
        yield
    finally:
        for target in given:
            close_unwritten(target)


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


def _private_temporary(folder: Path | None, name: str, suffix: str = "") -> tuple[int, str]:
    """A new private (0600) temporary file ``.<name>.<random>.tmp<suffix>`` in ``folder`` (None: the
    temp folder), opened for writing. Its name is registered as pending *before* it is
    created, so that a signal arriving at any moment leaves nothing behind
    (:func:`discard_pending`); ``tempfile.mkstemp`` would leave a gap between the two."""
    where = str(folder) if folder is not None else tempfile.gettempdir()
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        path = os.path.join(where, f".{name}.{secrets.token_hex(6)}.tmp{suffix}")
        _PENDING.add(path)
        try:
            return os.open(path, flags, PRIVATE), path
        except FileExistsError:
            _PENDING.discard(path)
        except OSError:  # not created; a signal (not an OSError) keeps it pending
            _PENDING.discard(path)
            raise
    raise FileExistsError(errno.EEXIST, "no unused temporary name", where)


@contextlib.contextmanager
def spooled(stream: IO[bytes], name: str = "stdin") -> Iterator[Path]:
    """A private (0600) copy of ``stream`` (stdin, which can be read only once) in the temp
    folder, for reading more than once; removed afterwards, however the block ends (an
    error, or a signal: it is pending until then, see :func:`discard_pending`). The copy's
    name ends in ``name``'s extension, so that it is read in the format ``name`` says."""
    fd, tmp = _private_temporary(None, name, Path(name).suffix)
    try:
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(stream, out, 1 << 20)
        yield Path(tmp)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        _PENDING.discard(tmp)


class PendingFile:
    """A file written in pieces that appears only when complete: the bytes go to a private
    temporary file (0600) next to ``path`` — or, for a stream such as stdout or a FIFO or
    device (:func:`in_place`), in ``spool`` or else the temp folder (a copy of private data
    belongs in a private folder) — and :meth:`commit` moves it into place
    (or copies it to the stream, FIFO or device), while :meth:`discard` removes it and
    leaves the target as it was. So a run that stops half way, or finds bad cells after
    writing some rows, never leaves a partial output."""

    def __init__(
        self, target: Path | IO[bytes], *, mode: int = PRIVATE, spool: Path | None = None
    ) -> None:
        self.target = target
        self.mode = mode
        self.replaces: Path | None = None
        """The regular file that :meth:`commit` replaces; None: the content is copied out."""
        try:
            if isinstance(target, Path):
                refuse_database(target)
                self.replaces = _replaced(target)
            else:
                refuse_database_stream(target)
            folder = self.replaces.parent if self.replaces is not None else spool
            name = target.name if isinstance(target, Path) else "stdout"
            fd, self.tmp = _private_temporary(folder, name)
        except OSError as exc:
            raise self.error(exc) from exc
        self.stream: IO[bytes] = os.fdopen(fd, "wb")
        self.done = False

    def error(self, exc: OSError) -> InputFileError:
        """``exc`` as the user error naming the target."""
        return _unwritable(str(self.target) if isinstance(self.target, Path) else "stdout", exc)

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
                    _SETTLED.add(os.path.abspath(self.target))
                else:
                    self._copy_to(self.target)
                    self.target.flush()
                os.unlink(self.tmp)
            self.done = True
            _PENDING.discard(self.tmp)
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
        with contextlib.suppress(OSError):
            os.unlink(self.tmp)
        _PENDING.discard(self.tmp)
        if isinstance(self.target, Path) and self.replaces is None:
            close_unwritten(self.target)
