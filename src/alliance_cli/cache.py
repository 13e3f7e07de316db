"""Validated definitions remembered between runs, in the user cache folder.

Reading a definition — YAML with positions, then validation of every field and invariant —
costs a command like ``alliance score`` more than its scoring. A valid one is remembered: a
file per definition, named by a hash of its path, holding the file's identity (path, device,
inode, size, modification and change times), the identity of the code that validated it
(the package version, the size and time of every core module, pydantic's version), then the
pickled result. An entry is used only when all of these are unchanged, so it is never used for a
file that changed (``ctime`` changes with every write, whatever the modification time is set
back to). A missing, damaged, unreadable or foreign entry (not the user's own, or writable by
others) is ignored and replaced. A file changed in the last :data:`RACY_SECONDS` is not
remembered: a change within the same clock tick could keep both times (git's "racily clean").
Entries are written to a private temporary file and renamed into place (0600, in a 0700
folder). Deleting the folder, or any entry, is always safe.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import pickle
import secrets
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

RACY_SECONDS = 2.0
_PRIVATE = 0o600
T = TypeVar("T")


def remembered(path: Path, kind: type[T], build: Callable[[], T]) -> T:
    """What ``build()`` returns for the file at ``path``: remembered from an earlier run
    when neither the file nor the code changed since, else built (and remembered)."""
    before = _identity(path)
    entry = entry_for("definitions", path) if before is not None else None
    if before is None or entry is None:
        return build()
    found = _recall(entry, before[0], kind)
    if found is not None:
        return found
    value = build()
    if before == _identity(path) and not racy(before[1] / 1e9):
        write_private(
            entry,
            before[0].encode() + b"\n" + pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL),
        )
    return value


def racy(changed: float) -> bool:
    """Whether a file last changed at ``changed`` (seconds since the epoch) is too recent to
    be remembered: a change within the same clock tick could keep its times (git's "racily
    clean" rule)."""
    return time.time() - changed < RACY_SECONDS


def entry_for(kind: str, path: Path) -> Path | None:
    """Where what is remembered of the file at ``path`` lives: the user cache folder's
    ``kind`` folder, a file named by a hash of the resolved path (None: no such path)."""
    try:
        from platformdirs import user_cache_dir

        name = hashlib.sha256(str(path.resolve()).encode("utf-8", "surrogateescape")).hexdigest()
    except (OSError, RuntimeError):
        return None
    return Path(user_cache_dir("alliance", appauthor=False)) / kind / name


def read_private(entry: Path) -> bytes | None:
    """The entry's bytes if this user wrote it and no one else may change it; else None
    (only what this user wrote is trusted: unpickled, or taken for a clean check)."""
    try:
        with open(entry, "rb") as file:
            st = os.fstat(file.fileno())
            if hasattr(os, "getuid") and (st.st_uid != os.getuid() or st.st_mode & 0o022):
                return None
            return file.read()
    except OSError:
        return None


def write_private(entry: Path, data: bytes) -> None:
    """Write ``entry`` whole or not at all: a private temporary file (0600, in a 0700
    folder) renamed into place. A cache that cannot be written is no error: the work is
    done again next time. Not an output (:class:`~alliance_cli.io.atomic.Output`): no fsync,
    and a signal in the microseconds between creating and renaming the spare may leave it
    in the cache folder, which is always safe to delete."""
    spare = entry.with_name(f".{entry.name}.{secrets.token_hex(4)}")
    with contextlib.suppress(OSError):
        entry.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(spare, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _PRIVATE)
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
            os.replace(spare, entry)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(spare)


def _identity(path: Path) -> tuple[str, int] | None:
    """The key of a file as it is now, and its newest time (None: it cannot be looked at)."""
    try:
        resolved = path.resolve()
        st = resolved.stat()
    except (OSError, RuntimeError):
        return None
    place = str(resolved).encode("utf-8", "surrogateescape").hex()
    key = (
        f"{_code()} {place} {st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"
    )
    return key, max(st.st_mtime_ns, st.st_ctime_ns)


@functools.cache
def _code() -> str:
    """The identity of the code that validates: the package's ``__init__.py`` (which holds
    its version), every core module's size and time (a source checkout changes them without
    changing the version), pydantic's version and Python's."""
    import pydantic

    digest = hashlib.sha256()
    for found in sorted(os.scandir(Path(__file__).parent), key=lambda e: e.name):
        if found.name.endswith(".py"):
            st = found.stat()
            digest.update(f"{found.name}:{st.st_size}:{st.st_mtime_ns}\n".encode())
            if found.name == "__init__.py":
                digest.update(Path(found.path).read_bytes())
    return f"{pydantic.VERSION}/{sys.implementation.cache_tag}/{digest.hexdigest()[:32]}"


def _recall(entry: Path, key: str, kind: type[T]) -> T | None:
    """The entry's value if it was remembered under ``key`` by this user; else None."""
    data = read_private(entry)
    if data is None:
        return None
    head, _, body = data.partition(b"\n")
    if head != key.encode():
        return None
    try:
        value = pickle.loads(body)
    except Exception:  # a damaged entry, or one of a class that changed: built again
        return None
    return value if isinstance(value, kind) else None
