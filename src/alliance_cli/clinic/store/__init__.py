"""The history database: one SQLite file of administrations with their item-level answers.

Scores are never stored: they are recomputed from the answers by the engine, so a corrected
definition rescores the past (each administration keeps the questionnaire id, version and
content hash it was given under, so a changed key is visible). Every write is one
transaction (``BEGIN IMMEDIATE``); WAL and a busy timeout let several ``alliance`` processes
write at once. Corrections never overwrite: an administration is voided with an audit row.

Privacy: the folder is created 0700 and the database 0600 (SQLite gives its -wal and -shm
files the database's mode); deleted rows are overwritten (``secure_delete``).

Safety (``store/files.py``): the file is checked for damage on open, opened read-only when
this user cannot write it, and every ``sqlite3.DatabaseError`` becomes one
:class:`StoreError` (exit 7) — in the constructor, and in ``__exit__`` for everything done
inside ``with Store(...)``. Backups, checks and restores: ``store/maintenance.py``.
"""

from __future__ import annotations

import getpass
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from alliance_cli.clinic.store import checked, files
from alliance_cli.clinic.store.codes import (
    CLASH_HINT,
    CODE_PATTERN,
    ClientCodes,
    case_clashes,
    check_code,
    mint_code,
)
from alliance_cli.clinic.store.files import BUSY_TIMEOUT_MS, default_path
from alliance_cli.clinic.store.migrations import LATEST, MIGRATIONS
from alliance_cli.clinic.store.records import (
    Administration,
    Answer,
    ClientSummary,
    NewAdministration,
)
from alliance_cli.errors import Problem, StoreError, UsageError
from alliance_cli.options import MODALITIES

__all__ = [
    "BUSY_TIMEOUT_MS",
    "CODE_PATTERN",
    "Administration",
    "Answer",
    "ClientSummary",
    "NewAdministration",
    "check_code",
    "default_path",
    "mint_code",
]

CHECKPOINT_WAIT_MS = 2_000


def check_modality(modality: str | None) -> None:
    if modality is not None and modality not in MODALITIES:
        raise UsageError(
            Problem("modality", f'modality "{modality}" is not one of ' + ", ".join(MODALITIES))
        )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Store(ClientCodes):
    """A history database at ``path`` (``":memory:"`` for a throw-away one), created when
    it does not exist, unless ``create`` is False (commands that only read: a mistyped path
    is refused rather than shown as an empty history)."""

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

    def __enter__(self) -> Store:
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

    # -- schema ---------------------------------------------------------------------------

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

    # -- writing --------------------------------------------------------------------------

    def save(self, new: NewAdministration) -> Administration:
        """Store one administration with its answers and an audit row, in one transaction.

        The client must be registered (``new.new_client`` registers it in the same
        transaction). A re-entry (``new.replaces``) voids the record it corrects; its audit
        row names the fields that differ (never their content)."""
        check_code(new.client)
        check_modality(new.modality)
        actor = new.actor or _os_user()
        with self.transaction() as db:
            client_id = self.registered_id(new.client, new_client=new.new_client)
            session = new.session
            reason = None
            if new.replaces is not None:
                replaced = self._replaceable(new.replaces, client_id, new)
                session = session or int(replaced["session"])
                reason = f"re-entry of #{new.replaces}; " + self._changes(replaced, new, session)
                self._void(new.replaces, f"replaced by a re-entry for session {session}", actor)
            session = session or self.next_session(client_id, new.questionnaire_id, new.respondent)
            self.check_session_free(client_id, new.questionnaire_id, new.respondent, session)
            admin_id = self.insert_administration(client_id, new, session, "final")
            db.executemany(
                "INSERT INTO answers (administration_id, position, item, value, state) "
                "VALUES (?, ?, ?, ?, ?)",
                [(admin_id, n, a.item, a.value, a.state) for n, a in enumerate(new.answers)],
            )
            self.audit_row(actor, "record", client_id, admin_id, reason)
        return self.administration(admin_id)

    def void(self, admin_id: int, reason: str, actor: str | None = None) -> Administration:
        """Mark an administration void (it stays, with an audit row saying who, when, why)."""
        if not reason.strip():
            raise UsageError(Problem("reason", "a reason is required to void an administration"))
        with self.transaction():
            self._void(admin_id, reason, actor or _os_user())
        return self.administration(admin_id)

    def _void(self, admin_id: int, reason: str, actor: str) -> None:
        row = self.db.execute(
            "SELECT client_id, status FROM administrations WHERE id = ?", (admin_id,)
        ).fetchone()
        if row is None:
            raise StoreError(Problem("no-administration", f"no administration #{admin_id}"))
        if row["status"] == "void":
            raise StoreError(Problem("already-void", f"administration #{admin_id} is already void"))
        self.db.execute("UPDATE administrations SET status = 'void' WHERE id = ?", (admin_id,))
        self.audit_row(actor, "void", row["client_id"], admin_id, reason)

    def new_client(self, code: str | None = None) -> str:
        """Register a client code (a random one when none is given); returns it as stored."""
        with self.transaction():
            for _ in range(20):
                candidate = check_code(code) if code else mint_code()
                if self._client_row(candidate) is not None:
                    if code:
                        raise StoreError(
                            Problem("client-exists", f"client {candidate} exists already")
                        )
                    continue
                self.client_id(candidate, create=True)
                return candidate
        raise StoreError(Problem("client-code", "could not mint an unused client code"))

    def delete_client(self, code: str, actor: str | None = None) -> int:
        """Remove a client and everything about them; returns how many administrations went.

        ``secure_delete`` overwrites the freed pages and the WAL is checkpointed and
        truncated, so the data is gone from the file (backups made before are not touched).
        While another connection reads, the log cannot be truncated: the old pages stay in
        the -wal until it closes, which a notice says (:attr:`notices`).
        """
        with self.transaction():
            client_id = self.client_id(code, create=False)
            count = self.db.execute(
                "SELECT COUNT(*) FROM administrations WHERE client_id = ?", (client_id,)
            ).fetchone()[0]
            self.db.execute("DELETE FROM clients WHERE id = ?", (client_id,))
            # The audit keeps that a deletion happened, never whose.
            self.audit_row(
                actor or _os_user(), "delete-client", None, None, f"{count} administrations removed"
            )
        # A reader makes TRUNCATE wait for it: a short wait, then say what remains.
        self.db.execute(f"PRAGMA busy_timeout = {CHECKPOINT_WAIT_MS}")
        busy = self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        self.db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if busy:
            self.notices.append(
                "another alliance command has the database open: the deleted data may "
                f"linger in {self.path}-wal until other alliance commands close"
            )
        return int(count)

    # -- reading --------------------------------------------------------------------------

    def administration(self, admin_id: int) -> Administration:
        rows = self.select_administrations("a.id = ?", (admin_id,))
        if not rows:
            raise StoreError(Problem("no-administration", f"no administration #{admin_id}"))
        return rows[0]

    def history(
        self, code: str, questionnaire_id: str | None = None, *, include_void: bool = False
    ) -> list[Administration]:
        """A client's administrations, oldest session first (drafts never count)."""
        client_id = self.client_id(code, create=False)
        where = "a.client_id = ? AND a.status " + (
            "IN ('final', 'void')" if include_void else "= 'final'"
        )
        args: list[object] = [client_id]
        if questionnaire_id is not None:
            where += " AND a.questionnaire_id = ?"
            args.append(questionnaire_id)
        return self.select_administrations(where, tuple(args))

    def clients(self) -> list[ClientSummary]:
        rows = self.db.execute(
            "SELECT c.code, COUNT(a.id) AS n, MIN(a.administered_at) AS first,"
            " MAX(a.administered_at) AS last, GROUP_CONCAT(DISTINCT a.questionnaire_id) AS qs"
            " FROM clients c LEFT JOIN administrations a"
            " ON a.client_id = c.id AND a.status = 'final'"
            " GROUP BY c.id ORDER BY c.code"
        ).fetchall()
        return [
            ClientSummary(
                r["code"],
                int(r["n"]),
                sorted((r["qs"] or "").split(",")) if r["qs"] else [],
                r["first"],
                r["last"],
            )
            for r in rows
        ]

    def audit(self) -> list[dict[str, object]]:
        return [dict(r) for r in self.db.execute("SELECT * FROM audit ORDER BY id")]

    def count(self, status: str = "final") -> int:
        return int(
            self.db.execute(
                "SELECT COUNT(*) FROM administrations WHERE status = ?", (status,)
            ).fetchone()[0]
        )

    # -- internals ------------------------------------------------------------------------

    def registered_id(self, code: str, *, new_client: bool = False) -> int:
        """The id of the client :meth:`resolve_client` files ``code`` under, registering a
        new client now; inside a transaction."""
        self.resolve_client(code, new_client=new_client)
        return self.client_id(code, create=new_client)

    def client_id(self, code: str, *, create: bool) -> int:
        """The id of the client ``code`` (any case) stands for; with ``create``, an unknown
        code is registered in its canonical form (callers decide when that is allowed)."""
        row = self._client_row(code)
        if row is not None:
            return int(row["id"])
        if not create:
            close = self.closest_clients(code)
            guess = f"did you mean {' or '.join(close)}? " if close else ""
            raise StoreError(
                Problem("no-client", f"no client {check_code(code)} in {self.path}"),
                hint=guess + "`alliance clients` lists the codes",
            )
        cur = self.db.execute(
            "INSERT INTO clients (code, created_at) VALUES (?, ?)", (check_code(code), _now())
        )
        return int(cur.lastrowid or 0)

    def insert_administration(
        self, client_id: int, new: NewAdministration, session: int, status: str
    ) -> int:
        """The administration row itself (answers and audit are the caller's); inside a
        transaction. Shared by :meth:`save` and drafts (``store/drafts.py``)."""
        cur = self.db.execute(
            "INSERT INTO administrations (client_id, questionnaire_id, questionnaire_version,"
            " content_hash, session, administered_at, respondent, clinician, modality, note,"
            " status, replaces, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                client_id,
                new.questionnaire_id,
                new.questionnaire_version,
                new.content_hash,
                session,
                new.administered_at,
                new.respondent,
                new.clinician,
                new.modality,
                new.note,
                status,
                new.replaces,
                _now(),
            ),
        )
        return int(cur.lastrowid or 0)

    def _replaceable(self, admin_id: int, client_id: int, new: NewAdministration) -> sqlite3.Row:
        """The administration a re-entry replaces; it must be the same client's final record
        of the same questionnaire and respondent."""
        row = self.db.execute("SELECT * FROM administrations WHERE id = ?", (admin_id,)).fetchone()
        if row is None:
            raise StoreError(Problem("no-administration", f"no administration #{admin_id}"))
        if (row["client_id"], row["questionnaire_id"], row["respondent"]) != (
            client_id,
            new.questionnaire_id,
            new.respondent,
        ):
            raise StoreError(
                Problem(
                    "replace-mismatch",
                    f"administration #{admin_id} is not this client's "
                    f"{new.questionnaire_id} ({new.respondent}); a re-entry replaces the same "
                    "client's record of the same questionnaire",
                )
            )
        if row["status"] != "final":
            raise StoreError(
                Problem(
                    "already-void",
                    f"administration #{admin_id} is {row['status']}, not a final record",
                )
            )
        return row  # type: ignore[no-any-return]

    def _changes(self, old: sqlite3.Row, new: NewAdministration, session: int) -> str:
        """Which facts of a re-entry differ from the record it replaces, by name only (the
        audit trail never holds answers or note text)."""
        answers = [
            (a["item"], a["value"], a["state"])
            for a in self.db.execute(
                "SELECT item, value, state FROM answers WHERE administration_id = ? ORDER BY"
                " position",
                (old["id"],),
            )
        ]
        facts = {
            "answers": (answers, [(a.item, a.value, a.state) for a in new.answers]),
            "date": (old["administered_at"], new.administered_at),
            "session": (old["session"], session),
            "clinician": (old["clinician"], new.clinician),
            "modality": (old["modality"], new.modality),
            "note": (old["note"], new.note),
            "definition": (old["content_hash"], new.content_hash),
        }
        changed = [name for name, (before, after) in facts.items() if before != after]
        return "changed: " + ", ".join(changed) if changed else "nothing changed"

    def check_session_free(
        self,
        client_id: int,
        questionnaire_id: str,
        respondent: str,
        session: int,
        *,
        except_id: int | None = None,
    ) -> None:
        """One final administration per client, questionnaire, respondent and session."""
        row = self.db.execute(
            "SELECT id FROM administrations WHERE client_id = ? AND questionnaire_id = ? AND"
            " respondent = ? AND session = ? AND status = 'final' AND id IS NOT ?",
            (client_id, questionnaire_id, respondent, session, except_id),
        ).fetchone()
        if row is not None:
            raise StoreError(
                Problem(
                    "session-taken",
                    f"session {session} of {questionnaire_id} ({respondent}) is "
                    f"already recorded as administration #{row['id']}",
                ),
                # Named with its command: `administer` records too, and has no --replaces.
                hint=f"to correct it, re-enter with alliance score … --replaces {row['id']}; "
                "or give another --session",
            )

    def next_session(self, client_id: int, questionnaire_id: str, respondent: str) -> int:
        row = self.db.execute(
            "SELECT MAX(session) FROM administrations WHERE client_id = ? AND"
            " questionnaire_id = ? AND respondent = ? AND status = 'final'",
            (client_id, questionnaire_id, respondent),
        ).fetchone()
        return int(row[0] or 0) + 1

    def audit_row(
        self,
        actor: str,
        action: str,
        client_id: int | None,
        admin_id: int | None,
        reason: str | None,
    ) -> None:
        self.db.execute(
            "INSERT INTO audit (at, actor, action, client_id, administration_id, reason)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (_now(), actor, action, client_id, admin_id, reason),
        )

    def select_administrations(self, where: str, args: tuple[object, ...]) -> list[Administration]:
        rows = self.db.execute(
            "SELECT a.*, c.code AS client FROM administrations a JOIN clients c"
            f" ON c.id = a.client_id WHERE {where} ORDER BY a.session, a.id",
            args,
        ).fetchall()
        answers: dict[int, list[Answer]] = {}
        ids = [r["id"] for r in rows]
        for chunk in range(0, len(ids), 500):
            part = ids[chunk : chunk + 500]
            marks = ",".join("?" * len(part))
            for a in self.db.execute(
                f"SELECT * FROM answers WHERE administration_id IN ({marks})"
                " ORDER BY administration_id, position",
                part,
            ):
                answers.setdefault(a["administration_id"], []).append(
                    Answer(a["item"], a["value"], a["state"])
                )
        return [
            Administration(
                id=r["id"],
                client=r["client"],
                questionnaire_id=r["questionnaire_id"],
                questionnaire_version=r["questionnaire_version"],
                content_hash=r["content_hash"],
                session=r["session"],
                administered_at=r["administered_at"],
                respondent=r["respondent"],
                clinician=r["clinician"],
                modality=r["modality"],
                note=r["note"],
                status=r["status"],
                replaces=r["replaces"],
                created_at=r["created_at"],
                answers=answers.get(r["id"], []),
            )
            for r in rows
        ]


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
