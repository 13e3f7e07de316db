"""Where alliance may write: the decisions about an output's target, made before anything
is written (:mod:`alliance_cli.io.atomic` writes; this module only looks).

A symbolic link is written through: the regular file it points to is replaced, the link
stays — unless it is a link another user planted in a shared sticky folder such as /tmp.
A target that is not a regular file — a FIFO, a character device such as ``/dev/null`` or
a terminal, a socket, or a file reached through ``/proc`` (``/dev/stdout``, ``/dev/fd/3``) —
is never replaced (:func:`in_place`): it is written into, on commit only. A folder is
refused at once.

No output ever replaces an SQLite database, nor the ``-wal``, ``-shm`` or ``-journal`` file
beside one (:func:`refuse_database`): that is how the history database, its journal files
and every backup of it are kept safe from a mistyped ``-o``, whatever path leads there (the
same, a relative one, a symbolic or a hard link), without the writer having to know where
the database lives.
"""

from __future__ import annotations

import errno
import io
import os
import stat
from pathlib import Path
from typing import IO

from alliance_cli.errors import InputFileError, Problem, UsageError

_LINK_HOPS = 40  # as the kernel's ELOOP limit
_SQLITE_MAGIC = (
    b"SQLite format 3\x00",  # a database (and a backup of one)
    b"\x37\x7f\x06\x82",  # a write-ahead log (big-endian magic, either checksum order)
    b"\x37\x7f\x06\x83",
    b"\xd9\xd5\x05\xf9\x20\xa1\x63\xd7",  # a rollback journal
)
_JOURNAL_SUFFIXES = ("-wal", "-shm", "-journal")


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
        real = replaced(path)
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


def unwritable(where: str, exc: OSError) -> InputFileError:
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


def replaced(path: Path) -> Path | None:
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
