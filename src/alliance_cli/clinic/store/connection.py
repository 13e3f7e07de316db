"""The history database's connection: opening the file safely, upgrading its schema through
the numbered migrations, write transactions and online backups — nothing about what it
holds (that is :class:`~alliance_cli.clinic.store.Store`).

Safety (``store/files.py``): the file is checked for damage on open, opened read-only when
this user cannot write it, and every ``sqlite3.DatabaseError`` becomes one
:class:`StoreError` (exit 7) — in the constructor, and in ``__exit__`` for everything done
inside ``with Store(...)``. Privacy: the folder is created 0700 and the database 0600;
deleted rows are overwritten (``secure_delete``).
"""

from __future__ import annotations

import getpass
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Self

from alliance_cli.clinic.store import checked, files
from alliance_cli.clinic.store.codes import CLASH_HINT, case_clashes
from alliance_cli.clinic.store.files import BUSY_TIMEOUT_MS
from alliance_cli.clinic.store.migrations import LATEST, MIGRATIONS
from alliance_cli.errors import Problem, StoreError


def now() -> str:
    """The time a row is written, as stored (UTC, seconds)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def os_user() -> str:
    """Who is at the keyboard, for the audit trail when no actor is given."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


class Connection:
    """An open history database at ``path`` (``":memory:"`` for a throw-away one), created
    when it does not exist, unless ``create`` is False (commands that only read: a mistyped
    path is refused rather than shown as an empty history), and migrated to :data:`LATEST`."""

    def __init__(self, path: Path | str, *, create: bool = True) -> None:
        self.path = str(path)
        self.notices: list[str] = []
        """What the caller should tell the user (a file made private); the CLI prints them."""
        self.read_only = False
        """The file or its folder is not writable for this user: reading works, writing
        raises the read-only :class:`StoreError`."""
        memory = self.path == ":memory:"
        self._fresh = create and not memory and not files.exists(Path(self.path))
        """Created by this use: removed again if the command fails before storing a client."""
        try:
            if memory:
                self.db = sqlite3.connect(self.path, isolation_level=None)
            else:
                self.db, self.read_only = files.connect(
                    Path(self.path), self.notices, create=create
                )
        except sqlite3.DatabaseError as exc:
            raise files.failure(self.path, exc) from exc
        try:
            self.db.row_factory = sqlite3.Row
            self.db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self.db.execute("PRAGMA foreign_keys = ON")
            self.db.execute("PRAGMA secure_delete = ON")
            if not memory:
                checked.check_intact_once(self.db, Path(self.path))
                if not self.read_only:
                    self.db.execute("PRAGMA journal_mode = WAL")
            self._migrate()
        except BaseException as exc:
            self.db.close()
            if isinstance(exc, sqlite3.DatabaseError) and files.from_the_file(exc):
                raise files.failure(self.path, exc) from exc
            raise

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> None:
        failed = exc is not None and not (isinstance(exc, SystemExit) and not exc.code)
        remove = failed and self._fresh and self._holds_no_client()
        self.close()
        if remove:  # a refused first record leaves no empty database behind
            files.remove(Path(self.path))
        # The one place where an SQLite failure met while using the store (a damaged page
        # read late, a text that no longer decodes) becomes the user's message.
        if isinstance(exc, sqlite3.DatabaseError) and files.from_the_file(exc):
            raise files.failure(self.path, exc) from exc

    def _holds_no_client(self) -> bool:
        try:
            return self.db.execute("SELECT 1 FROM clients LIMIT 1").fetchone() is None
        except sqlite3.Error:
            return False

    def require_writable(self) -> None:
        """Raise the read-only :class:`StoreError` now, before work that ends in a write
        (an interview) is begun rather than when it is saved."""
        if self.read_only:
            raise files.read_only(self.path)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once (no lock upgrade dead-ends under load)."""
        self.require_writable()
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Reads that all see one state of the database (a read transaction): what other
        processes write meanwhile is not seen, so a count and the rows read later agree."""
        self.db.execute("BEGIN")
        try:
            yield
        finally:
            if self.db.in_transaction:
                self.db.execute("COMMIT")

    def schema_version(self) -> int:
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        version = self.schema_version()
        files.check_schema(self.db, version, LATEST, self.path)
        if version == LATEST:
            return
        if self.read_only:
            raise StoreError(
                Problem(
                    "read-only",
                    f"the history database is read-only and has schema version {version}; "
                    f"this alliance needs to upgrade it to {LATEST} first",
                    self.path,
                ),
                hint="run any alliance command once as a user who may write it",
            )
        if version > 0 and self.path != ":memory:":
            self.backup(files.backup_name(Path(self.path), f"v{version}"))
        with self.transaction():
            # Another process may have migrated while we waited for the lock.
            for number in range(self.schema_version(), LATEST):
                for statement in MIGRATIONS[number]:
                    self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version = {number + 1}")
        clashes = case_clashes(self.db)
        if clashes:  # said once, when codes became case-insensitive; `db check` says it too
            self.notices.append(
                "client codes are case-insensitive now, but these differ only in case and "
                f"were kept apart: {'; '.join(clashes)} ({CLASH_HINT})"
            )

    def backup(self, target: Path) -> Path:
        """A consistent copy of the database (mode 0600), made with SQLite's online backup
        while other processes may be writing; written atomically, never over a database
        (:func:`~alliance_cli.io.targets.refuse_database`). See ``store/maintenance.py``."""
        from alliance_cli.clinic.store.maintenance import copy_database

        copy_database(self.db, target)
        return target
