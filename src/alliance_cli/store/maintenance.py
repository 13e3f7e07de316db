"""Looking after the history database file: check it, back it up, restore a backup, and
find (and purge) a deleted client in the backups.

What a backup holds: a complete copy of the database at the moment it was made — every
client, answer, note and audit row then present. Backups go next to the database as
``<name>.<label>-<UTC time>.bak`` (``files.backups`` lists them): ``vN`` before a schema
migration, ``manual`` by ``alliance db backup``, ``before-restore`` for the database a
restore replaced. No backup is made before ``delete-client``: it would keep exactly what
the clinician asked to erase. Instead ``delete-client`` names the backups that still hold
the client and purges them on request (:func:`purge_client`). A backup written elsewhere
with ``db backup -o`` is the user's to look after.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

from ..errors import InputFileError, Problem, StoreError, UsageError
from ..io.atomic import PendingFile
from . import files
from .codes import case_clashes
from .migrations import CASE_INSENSITIVE_CODES, LATEST

if TYPE_CHECKING:
    from . import Store


def copy_database(source: sqlite3.Connection, target: Path | IO[bytes]) -> Path | IO[bytes]:
    """A consistent copy of ``source`` at ``target`` (0600, atomic, one self-contained file
    in rollback-journal mode; a stream such as stdout gets the finished file's bytes).
    SQLite's online backup in one step reads one snapshot, so a process writing meanwhile
    neither blocks it nor tears it."""
    pending = PendingFile(target)
    try:
        with contextlib.closing(sqlite3.connect(pending.tmp, isolation_level=None)) as copy:
            source.backup(copy)
            copy.execute("PRAGMA journal_mode = DELETE")
    except sqlite3.DatabaseError as exc:
        pending.discard()
        where = str(target) if isinstance(target, Path) else "stdout"
        raise StoreError(Problem("backup", f"cannot copy the database: {exc}", where)) from exc
    except BaseException:
        pending.discard()
        raise
    pending.commit()
    return target


def backup(path: Path, target: Path | IO[bytes] | None = None) -> Path | IO[bytes]:
    """``alliance db backup``: copy the database at ``path`` to ``target``, a file or a
    stream (default: a new ``<name>.manual-<time>.bak`` next to it)."""
    if not files.exists(path):
        raise _missing(path)
    target = target or files.backup_name(path, "manual")
    with contextlib.closing(files.open_for_reading(path)) as db:
        files.check_intact(db, str(path))
        return copy_database(db, target)


@dataclass(frozen=True)
class Backup:
    file: Path
    made: str
    size: int


@dataclass
class CheckReport:
    """``alliance db check``: what is wrong (``problems`` empty: nothing)."""

    database: Path
    schema_version: int | None = None
    known_version: int = LATEST
    integrity: list[str] = field(default_factory=list)
    foreign_keys: list[str] = field(default_factory=list)
    backups: list[Backup] = field(default_factory=list)
    code_clashes: list[str] = field(default_factory=list)
    """Stored client codes that differ only in case (``"C-ABC, c-abc"``): not damage, but
    such a code cannot be used until all but one get a new code."""
    problems: list[str] = field(default_factory=list)
    """What is wrong with the file itself (damage, an unknown schema)."""

    def to_dict(self) -> dict[str, object]:
        return {
            "database": str(self.database),
            "ok": not self.problems and not self.code_clashes,
            "schema_version": self.schema_version,
            "known_version": self.known_version,
            "integrity": self.integrity,
            "foreign_keys": self.foreign_keys,
            "backups": [
                {"file": str(b.file), "made": b.made, "size": b.size} for b in self.backups
            ],
            "code_clashes": self.code_clashes,
            "problems": self.problems,
        }


def check(path: Path) -> CheckReport:
    """Integrity and foreign-key checks, schema version and the backups next to the file.
    A damaged file is reported, not raised: this is how one looks at it."""
    if not files.exists(path):
        raise _missing(path)
    report = CheckReport(
        path, backups=[Backup(b, files.made(b), b.stat().st_size) for b in files.backups(path)]
    )
    try:
        with contextlib.closing(files.open_for_reading(path)) as db:
            try:
                report.integrity = [r[0] for r in db.execute("PRAGMA integrity_check(20)")]
            except sqlite3.DatabaseError as exc:
                report.integrity = [str(exc)]  # too damaged for the check to finish
            report.schema_version = int(db.execute("PRAGMA user_version").fetchone()[0])
            report.foreign_keys = [
                f"{r[0]} row {r[1]} refers to a missing {r[2]} row"
                for r in db.execute("PRAGMA foreign_key_check")
            ]
            files.check_schema(db, report.schema_version, LATEST, str(path))
            if report.schema_version >= CASE_INSENSITIVE_CODES:
                report.code_clashes = case_clashes(db)
    except sqlite3.DatabaseError as exc:
        unreadable = f"cannot be read: {exc}"
    except StoreError as exc:
        unreadable = exc.problems[0].message
    else:
        unreadable = ""
    if unreadable and report.integrity in ([], ["ok"]):
        report.problems.append(unreadable)
    elif report.integrity != ["ok"]:
        report.problems.append("integrity check failed: " + "; ".join(report.integrity[:3]))
    if report.foreign_keys:
        report.problems.append(f"{len(report.foreign_keys)} rows refer to missing rows")
    return report


@dataclass(frozen=True)
class Restored:
    database: Path
    source: Path
    kept_aside: Path | None
    """The database the restore replaced, now a backup (None: there was none)."""


def describe(path: Path) -> str:
    """``3 clients, 41 administrations, made 2026-12-07 13:49`` for a verified file."""
    with contextlib.closing(files.open_read_only(path)) as db:
        clients = db.execute("SELECT COUNT(*) FROM clients").fetchone()[0]
        admins = db.execute("SELECT COUNT(*) FROM administrations").fetchone()[0]
    return f"{clients} clients, {admins} administrations, written {files.made(path)}"


def verify(source: Path) -> None:
    """Refuse a file to restore unless it is an SQLite file passing the integrity check and
    an alliance schema of a version this alliance knows."""
    where = str(source)
    try:
        with open(source, "rb") as f:
            head = f.read(16)
    except OSError as exc:
        raise InputFileError(
            Problem("restore", f"cannot read the file: {exc.strerror}; nothing restored", where)
        ) from exc
    if head != b"SQLite format 3\x00":
        raise StoreError(Problem("restore", "is not an SQLite database; nothing restored", where))
    try:
        with contextlib.closing(files.open_read_only(source)) as db:
            found = [r[0] for r in db.execute("PRAGMA integrity_check(3)")]
            if found != ["ok"]:
                raise StoreError(
                    Problem(
                        "restore",
                        f"fails the integrity check ({found[0]}); nothing restored",
                        where,
                    )
                )
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            files.check_schema(db, version, LATEST, where)
            if version == 0:
                raise StoreError(
                    Problem("restore", "is an empty database; nothing restored", where)
                )
    except sqlite3.DatabaseError as exc:
        # The header said SQLite: what stops SQLite reading it is damage.
        raise StoreError(
            Problem("restore", f"fails the integrity check ({exc}); nothing restored", where)
        ) from exc


def restore(path: Path, source: Path) -> Restored:
    """Replace the database at ``path`` by the verified ``source``: the copy is made next
    to the database first, the current database is kept aside as a ``before-restore``
    backup (with its -wal), and the copy is renamed into place in one step. Other alliance
    processes should be closed (one that keeps the old file open keeps writing to it)."""
    verify(source)
    present = files.exists(path)
    if present and os.path.samefile(path, source):
        raise UsageError(
            Problem(
                "restore", "is the history database itself; give a backup to restore", str(source)
            )
        )
    if present and not path.is_file():
        raise StoreError(Problem("database", "is not a file: give the database file", str(path)))
    if present and not files.writable(path):
        raise files.read_only(str(path))
    if not present:
        files.prepare_file(path)  # its folder, 0700
        path.unlink()
    staged = files.backup_name(path, "restoring")
    with contextlib.closing(files.open_read_only(source)) as db:
        copy_database(db, staged)
    aside = None
    try:
        if present:
            _checkpoint(path)
            aside = files.backup_name(path, "before-restore")
            os.link(path, aside)
            # A stale log must never be replayed into the restored file: it goes with the
            # database it belongs to.
            if Path(f"{path}-wal").exists():
                os.replace(f"{path}-wal", f"{aside}-wal")
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{path}-shm")
        os.replace(staged, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            staged.unlink()
        raise StoreError(
            Problem("restore", f"cannot replace the database: {exc}", str(path))
        ) from exc
    return Restored(path, source, aside)


def _checkpoint(path: Path) -> None:
    """Fold the write-ahead log into the file so that the file alone is the database (a
    damaged one may refuse: its -wal is then kept aside with it)."""
    with (
        contextlib.suppress(sqlite3.DatabaseError),
        contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db,
    ):
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


@dataclass(frozen=True)
class InBackups:
    holding: list[Path]
    """Backups next to the database that still hold the client."""
    unreadable: list[Path]
    """Backups that could not be opened to look (damaged, or not SQLite)."""


def backups_holding(path: Path, code: str) -> InBackups:
    """Open every backup next to the database read-only and look for ``code`` (client codes
    are case-insensitive)."""
    holding, unreadable = [], []
    for file in files.backups(path):
        try:
            with contextlib.closing(files.open_read_only(file)) as db:
                row = db.execute(
                    "SELECT 1 FROM clients WHERE code = ? COLLATE NOCASE", (code,)
                ).fetchone()
        except sqlite3.DatabaseError:
            unreadable.append(file)
            continue
        if row is not None:
            holding.append(file)
    return InBackups(holding, unreadable)


def purge_client(path: Path, code: str) -> list[Path]:
    """Remove the client from every backup that holds them, for good: rows deleted with
    ``secure_delete`` and the file rebuilt (``VACUUM``), so that neither the code nor an
    answer or note remains in its bytes. Returns the backups changed."""
    purged = []
    for file in backups_holding(path, code).holding:
        try:
            with contextlib.closing(sqlite3.connect(file, isolation_level=None)) as db:
                db.execute("PRAGMA journal_mode = DELETE")
                db.execute("PRAGMA secure_delete = ON")
                db.execute("PRAGMA foreign_keys = ON")
                db.execute("DELETE FROM clients WHERE code = ? COLLATE NOCASE", (code,))
                db.execute("VACUUM")
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                Problem("purge", f"cannot remove the client from this backup: {exc}", str(file))
            ) from exc
        purged.append(file)
    return purged


def _missing(path: Path) -> StoreError:
    return StoreError(Problem("no-database", "there is no history database here", str(path)))


@dataclass(frozen=True)
class Erased:
    administrations: int | None
    """How many administrations left the database (None: the client was not in it)."""
    holding: list[Path]
    """Backups that still hold the client."""
    purged: list[Path]
    """Backups the client was removed from."""
    unreadable: list[Path]


def erase_client(store: Store, code: str, *, purge_backups: bool = False) -> Erased:
    """``delete-client``: remove the client from the database and say which backups next
    to it still hold them; with ``purge_backups`` remove them from those too (also when the
    database no longer holds the client: a second run that purges)."""
    path = Path(store.path)
    found = InBackups([], []) if store.path == ":memory:" else backups_holding(path, code)
    try:
        store.client_id(code, create=False)
        in_database = True
    except StoreError:
        if not (purge_backups and found.holding):
            raise
        in_database = False
    count = store.delete_client(code) if in_database else None
    purged = purge_client(path, code) if purge_backups else []
    holding = [b for b in found.holding if b not in purged]
    return Erased(count, holding, purged, found.unreadable)
