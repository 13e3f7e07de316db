"""``--center``: each client's mean score per scale, accumulated chunk by chunk.

A batch with ``--center CLIENT`` reads its inputs twice (:mod:`alliance_cli.batchrun`): the
first pass adds every chunk's scores to a :class:`PersonMeans`, the second writes each chunk
with the person means and within-client deviations
(:func:`alliance_cli.batchtable.add_centre`). What is held grows with the clients, not the
rows.

The sums are those of pandas' grouped mean (``groupby(...).mean()``: Kahan-compensated
summation in row order, then sum / count), carried from one chunk to the next, so that a
streamed run writes exactly the numbers a whole table gives, whatever the chunk size.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from . import scoring
from .batchtable import round10
from .model import Questionnaire


def centre_scores(qs: Sequence[Questionnaire], scores: dict[str, scoring.Scores]) -> Any:
    """The scores centring takes — every scale's rounded score, as the output writes it —
    as a rows × scales matrix (questionnaires, then their scales, in order)."""
    columns = [round10(scores[q.id].scales[sid].score) for q in qs for sid in q.scales]
    rows = len(columns[0]) if columns else 0
    return np.column_stack(columns) if columns else np.empty((rows, 0))


class PersonMeans:
    """Per client and scale, the count of scores and their compensated sum, added in row
    order. ``width`` is the number of scales (:func:`centre_scores`)."""

    def __init__(self, width: int) -> None:
        self.width = width
        self._codes: dict[str, int] = {}
        self._sum = np.zeros((0, width))
        self._comp = np.zeros((0, width))
        self._n = np.zeros((0, width), dtype=np.int64)

    def __len__(self) -> int:
        """The clients seen."""
        return len(self._codes)

    def add(self, clients: Any, scores: Any) -> None:
        """Add the rows of one chunk: ``clients`` (None where blank: not counted) and their
        ``scores`` (rows × width, NaN where withheld: not counted)."""
        codes = self._lookup(clients, grow=True)
        rows = np.flatnonzero(codes >= 0)
        if not len(rows):
            return
        # A client's rows must be added one after another; rows of different clients are
        # independent. So the chunk goes in rounds: each client's first row, then each
        # client's second row, … (a round holds a client at most once).
        order = rows[np.argsort(codes[rows], kind="stable")]
        grouped = codes[order]
        starts = np.flatnonzero(np.diff(grouped, prepend=-1))
        occurrence = np.arange(len(order)) - np.repeat(starts, np.diff([*starts, len(order)]))
        by_round = order[np.argsort(occurrence, kind="stable")]
        bounds = np.searchsorted(np.sort(occurrence), np.arange(occurrence.max() + 2))
        for lo, hi in pairwise(bounds.tolist()):
            at = by_round[lo:hi]
            self._kahan(codes[at], np.asarray(scores[at], dtype=np.float64))

    def _kahan(self, who: Any, values: Any) -> None:
        # pandas' group_mean, one row per client: y = v - c; t = s + y; c = (t - s) - y.
        seen = ~np.isnan(values)
        s, c = self._sum[who], self._comp[who]
        y = values - c
        t = s + y
        with np.errstate(invalid="ignore"):
            comp = (t - s) - y
        comp[np.isnan(comp)] = 0.0  # an infinite value: pandas resets the compensation
        self._sum[who] = np.where(seen, t, s)
        self._comp[who] = np.where(seen, comp, c)
        self._n[who] += seen

    def means(self, clients: Any) -> Any:
        """Rows × width person means for ``clients``: NaN where the client is blank or
        unseen, or has no score on that scale."""
        codes = self._lookup(clients, grow=False)
        out = np.full((len(codes), self.width), np.nan)
        known = codes >= 0
        n = self._n[codes[known]]
        with np.errstate(invalid="ignore", divide="ignore"):
            out[known] = np.where(n > 0, self._sum[codes[known]] / n, np.nan)
        return out

    def _lookup(self, clients: Any, *, grow: bool) -> Any:
        """Each row's client number (-1: blank, or unseen when not ``grow``): distinct
        clients are hashed once per chunk, then looked up."""
        back, distinct = pd.factorize(np.asarray(clients, dtype=object))
        known = self._codes
        if grow:
            numbers = [known.setdefault(c, len(known)) for c in distinct.tolist()]
            self._grow(len(known))
        else:
            numbers = [known.get(c, -1) for c in distinct.tolist()]
        table = np.array([*numbers, -1], dtype=np.int64)
        return table[np.where(back < 0, len(numbers), back)]

    def _grow(self, size: int) -> None:
        if size <= len(self._sum):
            return
        room = max(size, 2 * len(self._sum), 1024)
        for name in ("_sum", "_comp", "_n"):
            old = getattr(self, name)
            new = np.zeros((room, self.width), dtype=old.dtype)
            new[: len(old)] = old
            setattr(self, name, new)
