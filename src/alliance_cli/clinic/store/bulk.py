"""Stored administrations read in bulk, for scoring many at once (``export``): one query for
the administrations and one per questionnaire for their answers, laid out as one matrix per
questionnaire — never a Python object per answer."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from alliance_cli.clinic.store import Administration, Store


def _selection(store: Store, client: str | None) -> tuple[str, tuple[object, ...]]:
    """The SQL condition on ``administrations a`` for every final one, or one client's."""
    if client is None:
        return "a.status = 'final'", ()
    return "a.status = 'final' AND a.client_id = ?", (store.client_id(client, create=False),)


def final_administrations(store: Store, client: str | None = None) -> list[Administration]:
    """Every final administration (drafts and voided ones left out), or one client's, without
    its answers (see :func:`answer_matrix`)."""
    where, args = _selection(store, client)
    rows = store.db.execute(
        "SELECT a.id, c.code, a.questionnaire_id, a.questionnaire_version, a.content_hash,"
        " a.session, a.administered_at, a.respondent, a.clinician, a.modality, a.note,"
        " a.status, a.replaces, a.created_at"
        " FROM administrations a JOIN clients c ON c.id = a.client_id"
        f" WHERE {where} ORDER BY a.id",
        args,
    )
    return [Administration(*row) for row in rows]


def answer_matrix(
    store: Store,
    administrations: Sequence[Administration],
    item_ids: Sequence[str],
    client: str | None = None,
) -> npt.NDArray[np.float64]:
    """The stored values of ``administrations`` (rows; read with the same ``client``) ×
    ``item_ids`` (columns): NaN for a blank answer or an item the administration does not
    have (as :meth:`~alliance_cli.clinic.store.Administration.values` reads one)."""
    where, args = _selection(store, client)
    x = np.full((len(administrations), len(item_ids)), math.nan)
    row = {a.id: r for r, a in enumerate(administrations)}
    column = {item: j for j, item in enumerate(item_ids)}
    for qid in sorted({a.questionnaire_id for a in administrations}):
        cursor = store.db.execute(
            "SELECT n.administration_id, n.item, n.value FROM answers n"
            " JOIN administrations a ON a.id = n.administration_id"
            f" WHERE {where} AND a.questionnaire_id = ? AND n.value IS NOT NULL",
            (*args, qid),
        )
        for admin_id, item, value in cursor:
            r, j = row.get(admin_id), column.get(item)
            if r is not None and j is not None:
                x[r, j] = value
    return x
