"""Which administrations to read, as a typed selector, and reading them: one query for the
rows, one for their answers (if wanted). Every reader of administrations — the store's
lookups, drafts, norms, the bulk scoring of ``export`` and the histories — goes through
:func:`read`, so the row query has one home and no caller writes SQL conditions."""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from alliance_cli.clinic.store.records import Administration, Answer

FINAL = ("final",)
EVERY_STATUS = ("final", "void", "draft")

_COLUMNS = (
    "a.id, c.code, a.questionnaire_id, a.questionnaire_version, a.content_hash, a.session,"
    " a.administered_at, a.respondent, a.clinician, a.modality, a.note, a.status, a.replaces,"
    " a.created_at"
)


def _listed(values: Sequence[object]) -> str:
    """Many values as one parameter (``IN (SELECT value FROM json_each(?))``): no limit on
    how many, and the same SQL text for one or a million."""
    return json.dumps(list(values))


@dataclass(frozen=True)
class Selection:
    """Administrations that meet every condition given: their status is one of
    ``statuses`` (final ones unless said), and — when given — their id is one of ``ids``,
    their client one of ``client_ids`` (row ids) or has the stored ``code``, their
    questionnaire id and respondent those given."""

    statuses: tuple[str, ...] = FINAL
    ids: Sequence[int] | None = None
    client_ids: Sequence[int] | None = None
    code: str | None = None
    questionnaire_id: str | None = None
    respondent: str | None = None

    def where(self) -> tuple[str, tuple[object, ...]]:
        """The SQL condition on ``administrations a`` joined to ``clients c``, and its
        parameters (the only place the selection becomes SQL)."""
        terms = [f"a.status IN ({', '.join('?' * len(self.statuses))})"]
        args: list[object] = list(self.statuses)
        for column, many in (("a.id", self.ids), ("a.client_id", self.client_ids)):
            if many is not None:
                terms.append(f"{column} IN (SELECT value FROM json_each(?))")
                args.append(_listed([int(v) for v in many]))
        for column, one in (
            ("c.code", self.code),
            ("a.questionnaire_id", self.questionnaire_id),
            ("a.respondent", self.respondent),
        ):
            if one is not None:
                terms.append(f"{column} = ?")
                args.append(one)
        return " AND ".join(terms), tuple(args)


def read(
    db: sqlite3.Connection, selection: Selection, *, answers: bool = True, by_session: bool = True
) -> list[Administration]:
    """The administrations ``selection`` names, ordered by session then id (by id alone
    without ``by_session``), with their answers in item order unless ``answers`` is False
    (bulk readers take them as a matrix: :func:`answer_matrix`)."""
    where, args = selection.where()
    order = "a.session, a.id" if by_session else "a.id"
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM administrations a JOIN clients c ON c.id = a.client_id"
        f" WHERE {where} ORDER BY {order}",
        args,
    ).fetchall()
    found = [Administration(*row) for row in rows]
    if not answers or not found:
        return found
    given: dict[int, list[Answer]] = {a.id: a.answers for a in found}
    for admin_id, item, value, state in db.execute(
        "SELECT administration_id, item, value, state FROM answers"
        " WHERE administration_id IN (SELECT value FROM json_each(?))"
        " ORDER BY administration_id, position",
        (_listed(list(given)),),
    ):
        given[admin_id].append(Answer(item, value, state))
    return found


def answer_matrix(
    db: sqlite3.Connection, administrations: Sequence[Administration], item_ids: Sequence[str]
) -> npt.NDArray[np.float64]:
    """The stored values of ``administrations`` (rows) × ``item_ids`` (columns), read in one
    query: NaN for a blank answer or an item the administration does not have (as
    :meth:`~alliance_cli.clinic.store.Administration.values` reads one)."""
    x = np.full((len(administrations), len(item_ids)), math.nan)
    row = {a.id: r for r, a in enumerate(administrations)}
    column = {item: j for j, item in enumerate(item_ids)}
    cursor = db.execute(
        "SELECT administration_id, item, value FROM answers"
        " WHERE administration_id IN (SELECT value FROM json_each(?)) AND value IS NOT NULL",
        (_listed(list(row)),),
    )
    for admin_id, item, value in cursor:
        j = column.get(item)
        if j is not None:
            x[row[admin_id], j] = value
    return x


@dataclass(frozen=True)
class Tally:
    """How many administrations of ``selection`` one client has of one questionnaire,
    respondent and recorded definition, and the day of the first of them."""

    client_id: int
    client: str
    questionnaire_id: str
    respondent: str
    questionnaire_version: str
    content_hash: str
    administrations: int
    first_day: str
    """``YYYY-MM-DD``."""


def tallies(db: sqlite3.Connection, selection: Selection) -> list[Tally]:
    """The administrations ``selection`` names, counted (one query, no answers): what an
    export needs to plan its parts before it reads them."""
    where, args = selection.where()
    rows = db.execute(
        "SELECT a.client_id, c.code, a.questionnaire_id, a.respondent,"
        " a.questionnaire_version, a.content_hash, COUNT(*),"
        " MIN(substr(a.administered_at, 1, 10))"
        " FROM administrations a JOIN clients c ON c.id = a.client_id"
        f" WHERE {where} GROUP BY a.client_id, a.questionnaire_id, a.respondent,"
        " a.questionnaire_version, a.content_hash",
        args,
    )
    return [Tally(*row) for row in rows]
