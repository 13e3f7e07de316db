"""Drafts: an administration still being given, saved answer by answer.

A draft is an ``administrations`` row with status ``draft`` (schema 1 allows it) plus the
answers given so far, one ``answers`` row per item decided (a skip is a ``missing`` row; an
item not reached yet has no row). ``Store.history``, ``Store.clients`` and the next-session
count never see drafts. Every function here is one transaction, so an interview killed at
any moment leaves every answer it had acknowledged. :func:`submit` turns the *same* row
final with an audit row ``record``, so nothing is lost or recorded twice.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from alliance_cli.clinic.store import (
    Administration,
    Answer,
    NewAdministration,
    Selection,
    Store,
    check_code,
    check_modality,
    os_user,
)
from alliance_cli.errors import Problem, StoreError


def find(
    store: Store, client: str, questionnaire_id: str, respondent: str
) -> Administration | None:
    """The newest draft of a questionnaire for a client (any case) and respondent, if any."""
    stored = store.find_client(client)
    if stored is None:
        return None
    found = store.select_administrations(
        Selection(("draft",), code=stored, questionnaire_id=questionnaire_id, respondent=respondent)
    )
    return max(found, key=lambda a: a.id) if found else None


def start(store: Store, new: NewAdministration, position: int, first: Answer) -> Administration:
    """Create a draft together with its first answer (one transaction); ``new.answers`` is
    ignored. The session defaults to the client's next one. The client must be registered,
    or ``new.new_client`` registers it now (with the first answer, so an interview left
    before any answer registers nothing)."""
    check_code(new.client)
    check_modality(new.modality)
    with store.transaction():
        client_id = store.registered_id(new.client, new_client=new.new_client)
        session = new.session or store.next_session(client_id, new.questionnaire_id, new.respondent)
        draft_id = store.insert_administration(client_id, new, session, "draft")
        _put(store, draft_id, position, first)
    return store.administration(draft_id)


def put(store: Store, draft_id: int, position: int, answer: Answer) -> None:
    """Save (or replace) one answer of a draft."""
    with store.transaction():
        _draft_row(store, draft_id)
        _put(store, draft_id, position, answer)


def amend(
    store: Store,
    draft_id: int,
    *,
    session: int | None = None,
    administered_at: str | None = None,
    clinician: str | None = None,
    modality: str | None = None,
    note: str | None = None,
) -> Administration:
    """Replace the session details that are given (``None`` keeps the draft's own)."""
    check_modality(modality)
    changes = {
        "session": session,
        "administered_at": administered_at,
        "clinician": clinician,
        "modality": modality,
        "note": note,
    }
    given = {column: value for column, value in changes.items() if value is not None}
    with store.transaction() as db:
        _draft_row(store, draft_id)
        if given:
            # Column names come from the fixed mapping above, never from the caller.
            assignments = ", ".join(f"{column} = ?" for column in given)
            db.execute(
                f"UPDATE administrations SET {assignments} WHERE id = ?",
                (*given.values(), draft_id),
            )
    return store.administration(draft_id)


def discard(store: Store, draft_id: int, actor: str | None = None) -> None:
    """Delete a draft and its answers, keeping an audit row that it happened (no answers)."""
    with store.transaction() as db:
        row = _draft_row(store, draft_id)
        db.execute("DELETE FROM administrations WHERE id = ?", (draft_id,))
        store.audit_row(
            actor or os_user(),
            "discard-draft",
            row["client_id"],
            None,  # the row is gone; the audit keeps which draft it was in its text
            f"draft #{draft_id} ({row['questionnaire_id']}, session {row['session']}) discarded",
        )


def submit(
    store: Store,
    draft_id: int,
    item_ids: Sequence[str],
    questionnaire_version: str,
    content_hash: str,
    actor: str | None = None,
) -> Administration:
    """Turn a draft into a final administration, in place: items without an answer row are
    stored as missing, the definition it was completed under is recorded, and an audit row
    ``record`` is written."""
    with store.transaction() as db:
        row = _draft_row(store, draft_id)
        store.check_session_free(
            row["client_id"],
            row["questionnaire_id"],
            row["respondent"],
            row["session"],
            except_id=draft_id,
        )
        db.executemany(
            "INSERT OR IGNORE INTO answers (administration_id, position, item, value, state)"
            " VALUES (?, ?, ?, NULL, 'missing')",
            [(draft_id, n, item) for n, item in enumerate(item_ids)],
        )
        db.execute(
            "UPDATE administrations SET status = 'final', questionnaire_version = ?,"
            " content_hash = ? WHERE id = ?",
            (questionnaire_version, content_hash, draft_id),
        )
        store.audit_row(actor or os_user(), "record", row["client_id"], draft_id, None)
    return store.administration(draft_id)


def _put(store: Store, draft_id: int, position: int, answer: Answer) -> None:
    store.db.execute(
        "INSERT INTO answers (administration_id, position, item, value, state)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (administration_id, item) DO UPDATE SET"
        " position = excluded.position, value = excluded.value, state = excluded.state",
        (draft_id, position, answer.item, answer.value, answer.state),
    )


def _draft_row(store: Store, draft_id: int) -> sqlite3.Row:
    row = store.db.execute(
        "SELECT id, client_id, questionnaire_id, respondent, session, status FROM administrations"
        " WHERE id = ?",
        (draft_id,),
    ).fetchone()
    if row is None or row["status"] != "draft":
        raise StoreError(
            Problem(
                "not-a-draft",
                f"administration #{draft_id} is no longer a draft (it was submitted or "
                "discarded, perhaps from another terminal)",
            )
        )
    return row  # type: ignore[no-any-return]
