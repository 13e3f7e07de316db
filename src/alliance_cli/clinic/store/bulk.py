"""Stored administrations read in bulk, for scoring many at once (``export``, ``history``,
``report``): counted first (:func:`tallies`), then read a part at a time — one query for the
administrations and one for their answers, laid out as one matrix per questionnaire, never a
Python object per answer."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from alliance_cli.clinic.store import Administration, Selection, Store, select
from alliance_cli.clinic.store.select import Tally

__all__ = ["Tally", "administrations", "answer_matrix", "final", "tallies"]


def final(store: Store, client: str | None = None) -> Selection:
    """Every final administration (drafts and voided ones left out), or one client's."""
    if client is None:
        return Selection()
    return Selection(client_ids=[store.client_id(client, create=False)])


def tallies(store: Store, selection: Selection) -> list[Tally]:
    return select.tallies(store.db, selection)


def administrations(store: Store, selection: Selection) -> list[Administration]:
    """The administrations ``selection`` names, by id, without their answers (see
    :func:`answer_matrix`)."""
    return select.read(store.db, selection, answers=False, by_session=False)


def answer_matrix(
    store: Store, administrations: Sequence[Administration], item_ids: Sequence[str]
) -> npt.NDArray[np.float64]:
    """:func:`~alliance_cli.clinic.store.select.answer_matrix` of the store."""
    return select.answer_matrix(store.db, administrations, item_ids)
