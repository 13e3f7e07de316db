"""The damage check on open, paid once per change of the file.

``PRAGMA quick_check`` reads the whole database (0.14 s at 100,000 administrations), so a
command that reads one client's history would cost as much as the whole file. A clean check
is remembered — in the user cache folder, a file per database named by a hash of its path,
holding nothing but the file's device, inode, size and modification time and those of its
``-wal`` — and the check runs again as soon as any of these differ: after every write by any
process. A file modified in the last :data:`RACY_SECONDS` is not remembered (git's "racily
clean" rule: a change within the same clock tick could keep the same modification time).
``alliance db check`` always runs the full integrity check.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import time
from pathlib import Path

from alliance_cli.clinic.store import files

RACY_SECONDS = 2.0


def check_intact_once(db: sqlite3.Connection, path: Path) -> None:
    """:func:`files.check_intact`, unless this file is unchanged since a clean check."""
    marker = _marker(path)
    seen = _identity(path)
    if seen is not None and marker is not None:
        with contextlib.suppress(OSError, UnicodeDecodeError):
            if marker.read_text(encoding="ascii") == seen:
                return
    files.check_intact(db, str(path))
    if seen is None or marker is None or seen != _identity(path) or _racy(path):
        return
    with contextlib.suppress(OSError):  # a read-only cache folder: checked every time
        marker.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        spare = marker.with_name(f".{marker.name}.{os.getpid()}")
        fd = os.open(spare, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(seen)
        os.replace(spare, marker)


def _identity(path: Path) -> str | None:
    parts = []
    for file in (path, Path(f"{path}-wal")):
        try:
            st = file.stat()
        except FileNotFoundError:
            parts.append("-")
            continue
        except OSError:
            return None
        # An empty -wal (made by opening a WAL database, removed by closing it) holds nothing.
        empty_wal = file != path and st.st_size == 0
        parts.append("-" if empty_wal else f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}")
    return " ".join(parts)


def _racy(path: Path) -> bool:
    newest = 0.0
    for file in (path, Path(f"{path}-wal")):
        with contextlib.suppress(OSError):
            st = file.stat()
            if file == path or st.st_size:  # an empty -wal holds nothing (see _identity)
                newest = max(newest, st.st_mtime)
    return time.time() - newest < RACY_SECONDS


def _marker(path: Path) -> Path | None:
    try:
        from platformdirs import user_cache_dir

        name = hashlib.sha256(str(path.resolve()).encode("utf-8", "surrogateescape")).hexdigest()
    except (OSError, RuntimeError):
        return None
    return Path(user_cache_dir("alliance", appauthor=False)) / "checked" / name
