"""Looking after the history database file: check it, back it up, restore a backup, and
find (and purge) a deleted client in the backups.

What a backup holds: a complete copy of the database at the moment it was made — every
client, answer, note and audit row then present. Backups go next to the database as
``<name>.<label>-<UTC time>.bak`` (``files.backups`` lists them): ``vN`` before a schema
migration, ``manual`` by ``alliance db backup``, ``before-restore`` for the database a
restore replaced. No backup is made before ``delete-client``: it would keep exactly what
the clinician asked to erase. Instead ``delete-client`` names the backups that still hold
the client and purges them on request (``store/erase.py``). A backup written elsewhere
with ``db backup -o`` is the user's to look after.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from alliance_cli.clinic.store import files
from alliance_cli.clinic.store.codes import case_clashes
from alliance_cli.clinic.store.migrations import CASE_INSENSITIVE_CODES, LATEST
from alliance_cli.errors import InputFileError, Problem, StoreError, UsageError
from alliance_cli.io.atomic import Output


def copy_database(
    source: sqlite3.Connection, target: Path | IO[bytes], spool: Path | None = None
) -> Path | IO[bytes]:
    """A consistent copy of ``source`` at ``target`` (0600, atomic, one self-contained file
    in rollback-journal mode; a stream such as stdout gets the finished file's bytes,
    spooled in the folder ``spool``: the database's own, never the shared temp folder).
    SQLite's online backup in one step reads one snapshot, so a process writing meanwhile
    neither blocks it nor tears it."""
    with Output(target, spool=spool) as output:  # committed, or discarded on any exception
        try:
            with contextlib.closing(sqlite3.connect(output.tmp, isolation_level=None)) as copy:
                source.backup(copy)
                copy.execute("PRAGMA journal_mode = DELETE")
        except sqlite3.DatabaseError as exc:
            where = str(target) if isinstance(target, Path) else "stdout"
            raise StoreError(Problem("backup", f"cannot copy the database: {exc}", where)) from exc
    return target


def backup(path: Path, target: Path | IO[bytes] | None = None) -> Path | IO[bytes]:
    """``alliance db backup``: copy the database at ``path`` to ``target``, a file or a
    stream (default: a new ``<name>.manual-<time>.bak`` next to it)."""
    _require_database(path)
    target = target or files.backup_name(path, "manual")
    try:
        with contextlib.closing(files.open_for_reading(path)) as db:
            files.check_intact(db, str(path))
            # A database this user may only read keeps its folder closed: then the temp folder.
            spool = path.parent if files.writable(path) else None
            return copy_database(db, target, spool=spool)
    except sqlite3.DatabaseError as exc:
        raise files.failure(str(path), exc) from exc


def _require_database(path: Path) -> None:
    """The database must be there, and be a file (a folder or device is never opened)."""
    if not files.exists(path):
        raise files.missing(path)
    files.require_file(path)


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
    _require_database(path)
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


def describe(path: Path, *, current: bool = False) -> str:
    """``3 clients, 41 administrations, written 2026-12-07 13:49``. A ``current`` database
    may be in use (read with its -wal) or damaged: what cannot be read is said, not raised."""
    try:
        opened = files.open_for_reading(path) if current else files.open_read_only(path)
        with contextlib.closing(opened) as db:
            if current:
                found = [r[0] for r in db.execute("PRAGMA quick_check(1)")]
                if found != ["ok"]:
                    raise sqlite3.DatabaseError(found[0].split("\n")[-1])
            clients = db.execute("SELECT COUNT(*) FROM clients").fetchone()[0]
            admins = db.execute("SELECT COUNT(*) FROM administrations").fetchone()[0]
        written = files.made(path)
    except (sqlite3.DatabaseError, OSError) as exc:
        return f"the current database cannot be read ({exc})"
    return f"{clients} clients, {admins} administrations, written {written}"


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
            try:
                files.check_schema(db, version, LATEST, where)
            except StoreError as exc:  # its hint is for a database in use, not for a backup
                raise StoreError(
                    Problem(
                        "restore",
                        f"{exc.problems[0].message}: not an alliance backup this alliance can "
                        "restore; nothing restored, the history database is unchanged",
                        where,
                    ),
                    hint=exc.hint if "newer alliance" in exc.hint else "",
                ) from None
            if version == 0:
                raise StoreError(
                    Problem("restore", "is an empty database; nothing restored", where)
                )
    except sqlite3.DatabaseError as exc:
        # The header said SQLite: what stops SQLite reading it is damage.
        raise StoreError(
            Problem("restore", f"fails the integrity check ({exc}); nothing restored", where)
        ) from exc


RESTORE_WAIT_S = 2.0
"""How long a restore waits for other alliance commands to let the database go."""


def restore(path: Path, source: Path) -> Restored:
    """Replace the database at ``path`` by the verified ``source``: the copy is made next
    to the database first; then, holding an exclusive lock on the current database (while
    other alliance commands have it open, the restore is refused as busy: they would write
    on into the replaced file) and with its log folded into it, it is kept aside as a
    ``before-restore`` backup (with its -wal, when too damaged to fold in) and the copy is
    renamed into place in one step."""
    verify(source)
    present = files.exists(path)
    if present and os.path.samefile(path, source):
        raise UsageError(
            Problem(
                "restore", "is the history database itself; give a backup to restore", str(source)
            )
        )
    if present:
        files.require_file(path)
        if not files.writable(path):
            raise files.read_only(str(path))
    else:
        files.prepare_file(path)  # its folder, 0700
        path.unlink()
    staged = files.backup_name(path, "restoring")
    with contextlib.closing(files.open_read_only(source)) as db:
        copy_database(db, staged)
    try:
        with _held(path) if present else contextlib.nullcontext():
            aside = _swap(path, staged) if present else None
            if not present:
                os.replace(staged, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            staged.unlink()
        if isinstance(exc, OSError):
            raise StoreError(
                Problem("restore", f"cannot replace the database: {exc}", str(path))
            ) from exc
        raise
    return Restored(path, source, aside)


def _swap(path: Path, staged: Path) -> Path:
    """Keep the database aside (a hard link) with its log, and rename ``staged`` into its
    place; on failure the log goes back and the database stays as it was."""
    aside = files.backup_name(path, "before-restore")
    os.link(path, aside)
    # A stale log must never be replayed into the restored file: it goes with the database
    # it belongs to.
    wal, aside_wal = Path(f"{path}-wal"), Path(f"{aside}-wal")
    moved = wal.exists()
    try:
        if moved:
            os.replace(wal, aside_wal)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{path}-shm")
        os.replace(staged, path)
    except OSError:
        with contextlib.suppress(OSError):
            if moved:
                os.replace(aside_wal, wal)
            aside.unlink()
        raise
    return aside


@contextlib.contextmanager
def _held(path: Path) -> Iterator[None]:
    """The current database locked for the swap, with no other connection open and its
    log folded into the file. In WAL mode every open connection, even an idle one, holds a
    shared lock: an exclusive lock (``locking_mode = EXCLUSIVE``) therefore also refuses a
    command waiting at a prompt, which would otherwise write on into the replaced file, or
    on closing delete the restored database's -wal by name. Switching the file to
    rollback mode folds every frame in and removes its -wal. A database too damaged to
    lock is replaced as it is (nothing can write to it); its -wal goes aside with it."""
    db = sqlite3.connect(path, timeout=RESTORE_WAIT_S, isolation_level=None)
    try:
        try:
            db.execute("PRAGMA locking_mode = EXCLUSIVE")
            db.execute("BEGIN EXCLUSIVE")
            db.execute("COMMIT")  # the lock stays: exclusive locking mode
            mode = db.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
            db.execute("BEGIN EXCLUSIVE")
        except sqlite3.DatabaseError as exc:
            if _is_busy(exc):
                raise _busy(path) from exc
        else:
            if mode != "delete":
                raise _busy(path)
        yield
    finally:
        db.close()


def _is_busy(exc: sqlite3.DatabaseError) -> bool:
    return getattr(exc, "sqlite_errorname", "") in ("SQLITE_BUSY", "SQLITE_LOCKED")


def _busy(path: Path) -> StoreError:
    return StoreError(
        Problem(
            "database-busy",
            "the history database is busy: close other alliance commands first; nothing restored",
            str(path),
        )
    )
