"""Stored administrations read in bulk, for scoring many at once (``export``): one query for
the administrations and one for their answers, laid out as one matrix per questionnaire —
never a Python object per answer."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from alliance_cli.clinic.store import Administration, Selection, Store, select


def final_administrations(store: Store, client: str | None = None) -> list[Administration]:
    """Every final administration (drafts and voided ones left out), or one client's, by id,
    without its answers (see :func:`answer_matrix`)."""
    if client is None:
        chosen = Selection()
    else:
        chosen = Selection(client_ids=[store.client_id(client, create=False)])
    return select.read(store.db, chosen, answers=False, by_session=False)


def answer_matrix(
    store: Store, administrations: Sequence[Administration], item_ids: Sequence[str]
) -> npt.NDArray[np.float64]:
    """:func:`~alliance_cli.clinic.store.select.answer_matrix` of the store."""
    return select.answer_matrix(store.db, administrations, item_ids)
