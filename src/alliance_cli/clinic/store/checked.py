"""The damage check on open, paid once per change of the file.

``PRAGMA quick_check`` reads the whole database (0.14 s at 100,000 administrations), so a
command that reads one client's history would cost as much as the whole file. A clean check
is remembered — in the user cache folder, a file per database named by a hash of its path,
holding nothing but the file's device, inode, size and modification time and those of its
``-wal`` — and the check runs again as soon as any of these differ: after every write by any
process. A file modified in the last :data:`~alliance_cli.cache.RACY_SECONDS` is not
remembered (:func:`~alliance_cli.cache.racy`, the rule remembered definitions follow too).
``alliance db check`` always runs the full integrity check.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from alliance_cli.cache import entry_for, racy, read_private, write_private
from alliance_cli.clinic.store import files


def check_intact_once(db: sqlite3.Connection, path: Path) -> None:
    """:func:`files.check_intact`, unless this file is unchanged since a clean check."""
    marker = entry_for("checked", path)
    seen = _identity(path)
    if seen is not None and marker is not None and read_private(marker) == seen.encode("ascii"):
        return
    files.check_intact(db, str(path))
    if seen is None or marker is None or seen != _identity(path) or _racy(path):
        return
    write_private(marker, seen.encode("ascii"))  # a read-only cache folder: checked every time


def _stats(path: Path) -> list[os.stat_result | None] | None:
    """The file's and its -wal's status (None for a missing or empty -wal: an empty one is
    made by opening a WAL database and removed by closing it, and holds nothing); None when
    either cannot be read."""
    found: list[os.stat_result | None] = []
    for file in (path, Path(f"{path}-wal")):
        try:
            st = file.stat()
        except FileNotFoundError:
            found.append(None)
            continue
        except OSError:
            return None
        found.append(None if file != path and st.st_size == 0 else st)
    return found


def _identity(path: Path) -> str | None:
    stats = _stats(path)
    if stats is None:
        return None
    return " ".join(
        "-" if st is None else f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"
        for st in stats
    )


def _racy(path: Path) -> bool:
    stats = _stats(path) or []
    return racy(max((st.st_mtime for st in stats if st is not None), default=0.0))
