"""The history database's records: storing, correcting and reading administrations with
their item-level answers, and the clients they belong to.

Scores are never stored: they are recomputed from the answers by the engine, so a corrected
definition rescores the past (each administration keeps the questionnaire id, version and
content hash it was given under, so a changed key is visible). Every write is one
transaction (``BEGIN IMMEDIATE``); WAL and a busy timeout let several ``alliance`` processes
write at once. Corrections never overwrite: an administration is voided with an audit row.
Opening, migrating and backing up: :mod:`.connection`; which records to read: :mod:`.select`.
"""

from __future__ import annotations

import sqlite3

from alliance_cli.clinic.store import select
from alliance_cli.clinic.store.codes import ClientCodes, check_code, mint_code
from alliance_cli.clinic.store.connection import Connection, now, os_user
from alliance_cli.clinic.store.files import BUSY_TIMEOUT_MS
from alliance_cli.clinic.store.records import (
    Administration,
    ClientSummary,
    NewAdministration,
)
from alliance_cli.clinic.store.select import EVERY_STATUS, FINAL, Selection
from alliance_cli.errors import Problem, StoreError, UsageError
from alliance_cli.options import MODALITIES

CHECKPOINT_WAIT_MS = 2_000


def check_modality(modality: str | None) -> None:
    if modality is not None and modality not in MODALITIES:
        raise UsageError(
            Problem("modality", f'modality "{modality}" is not one of ' + ", ".join(MODALITIES))
        )


class Store(Connection, ClientCodes):
    """A history database (see :class:`~.connection.Connection` for opening it) and the
    records in it."""

    # -- writing --------------------------------------------------------------------------

    def save(self, new: NewAdministration) -> Administration:
        """Store one administration with its answers and an audit row, in one transaction.

        The client must be registered (``new.new_client`` registers it in the same
        transaction). A re-entry (``new.replaces``) voids the record it corrects; its audit
        row names the fields that differ (never their content)."""
        check_code(new.client)
        check_modality(new.modality)
        actor = new.actor or os_user()
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
            self._void(admin_id, reason, actor or os_user())
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
                actor or os_user(), "delete-client", None, None, f"{count} administrations removed"
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
        rows = self.select_administrations(Selection(EVERY_STATUS, ids=[admin_id]))
        if not rows:
            raise StoreError(Problem("no-administration", f"no administration #{admin_id}"))
        return rows[0]

    def history(
        self,
        code: str,
        questionnaire_id: str | None = None,
        *,
        include_void: bool = False,
        answers: bool = True,
    ) -> list[Administration]:
        """A client's administrations, oldest session first (drafts never count); without
        their answers when ``answers`` is False (scored in bulk: :mod:`.bulk`)."""
        return self.select_administrations(
            Selection(
                ("final", "void") if include_void else FINAL,
                client_ids=[self.client_id(code, create=False)],
                questionnaire_id=questionnaire_id,
            ),
            answers=answers,
        )

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
            "INSERT INTO clients (code, created_at) VALUES (?, ?)", (check_code(code), now())
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
                now(),
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
            (now(), actor, action, client_id, admin_id, reason),
        )

    def select_administrations(
        self, selection: Selection, *, answers: bool = True
    ) -> list[Administration]:
        """The administrations ``selection`` names, by session then id, with their answers
        unless ``answers`` is False."""
        return select.read(self.db, selection, answers=answers)
