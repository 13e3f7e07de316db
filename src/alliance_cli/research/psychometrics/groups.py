"""Per-client sums of one scale over rows that come a block at a time: what the ICC
(:func:`~.multilevel.icc_of`), within- and between-client reliability (Geldhof, Preacher &
Zyphur 2014) and the ``psych::mlr`` ANOVA (:func:`~.multilevel.multilevel_reliability`)
need, in memory that grows with the clients (:class:`ClientSums`) or the client × session
cells (:class:`CellSums`), not with the rows.

Clients and sessions are integer codes 0, 1, … (numbered in order of first appearance by the
caller, the same for every block); a row without a client or session is not given.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from alliance_cli.research.psychometrics._base import FloatArray, IntArray, _problem
from alliance_cli.research.psychometrics.multilevel import (
    ICC,
    Multilevel,
    icc_of,
    multilevel_reliability,
    unbalanced,
)


def _grow(a: Any, size: int) -> Any:
    """``a``, or a copy with zero rows added (at least doubling it, so that growing one
    group at a time costs amortised constant time) when it has fewer than ``size`` rows."""
    if a.shape[0] >= size:
        return a
    out = np.zeros((max(size, 2 * a.shape[0]), *a.shape[1:]), dtype=a.dtype)
    out[: a.shape[0]] = a
    return out


def _sums_by(local: IntArray, values: FloatArray, size: int) -> FloatArray:
    """Column sums of ``values`` per group ``local`` (0 … size − 1): groups × columns."""
    return np.stack([np.bincount(local, values[:, j], size) for j in range(values.shape[1])], 1)


class ClientSums:
    """Per client, over the complete rows (every item of the scale answered): their number
    ``n``, the mean and the sum of squared deviations ``m2`` of the scale score (each block's
    merged into the running ones, Chan, Golub & LeVeque 1983), and the item sums ``sums``
    (clients × items); and ``sscp``, the raw cross-products X'X of every complete row's
    keyed items. A client with no complete row (yet) has ``n`` 0. A block costs time in
    its rows and the clients in it, not in every client seen."""

    def __init__(self, items: int) -> None:
        self.size = 0
        self._n = np.zeros(0)
        self._mean = np.zeros(0)
        self._m2 = np.zeros(0)
        self._sums = np.zeros((0, items))
        self.sscp = np.zeros((items, items))

    @property
    def n(self) -> FloatArray:
        return self._n[: self.size]

    @property
    def sums(self) -> FloatArray:
        return self._sums[: self.size]

    def add(self, values: FloatArray, score: FloatArray, clients: IntArray) -> None:
        """Rows of keyed item ``values``, their ``score`` (NaN unless complete) and client."""
        complete = ~np.isnan(score)
        x, y = values[complete], score[complete]
        if not y.size:
            return
        u, local = np.unique(clients[complete], return_inverse=True)
        local = local.ravel()
        self.size = max(self.size, int(u[-1]) + 1)
        self._n, self._mean, self._m2, self._sums = (
            _grow(a, self.size) for a in (self._n, self._mean, self._m2, self._sums)
        )
        nb = np.bincount(local, minlength=u.size).astype(np.float64)
        mb = np.bincount(local, y, u.size) / nb
        m2b = np.bincount(local, (y - mb[local]) ** 2, u.size)
        n0, mean0 = self._n[u], self._mean[u]
        total = n0 + nb
        w = nb / total
        delta = mb - mean0
        first = n0 == 0
        self._mean[u] = np.where(first, mb, mean0 + delta * w)
        self._m2[u] = np.where(first, m2b, self._m2[u] + m2b + delta * delta * n0 * w)
        self._n[u] = total
        self._sums[u] += _sums_by(local, x, u.size)
        self.sscp += x.T @ x

    def icc(self) -> ICC:
        return icc_of(self.n, self._mean[: self.size], self._m2[: self.size])


class Cells:
    """Client × session cells, numbered 0, 1, … as they first appear: one numbering for
    every scale (its memory grows with the cells)."""

    def __init__(self) -> None:
        self.index: dict[int, int] = {}
        self.keys = np.zeros(0, dtype=np.int64)
        """Per cell: client << 32 | session."""

    def __call__(self, clients: IntArray, sessions: IntArray) -> IntArray:
        """The cell of every row."""
        keys = (clients.astype(np.int64) << 32) | sessions.astype(np.int64)
        unique, inverse = np.unique(keys, return_inverse=True)
        before = len(self.index)
        index = self.index
        idx = np.array([index.setdefault(k, len(index)) for k in unique.tolist()], dtype=np.int64)
        if len(index) > before:
            self.keys = np.concatenate([self.keys, unique[idx >= before]])
        cells: IntArray = idx[inverse.ravel()]
        return cells


class CellSums:
    """Per client × session cell (:class:`Cells`): its rows and the sums of their item
    values. A balanced design has one row in every cell, whose values the sums then are;
    once a cell has two rows the design is not, and the values are let go (only the counts
    are kept, for the reason)."""

    def __init__(self, items: int, cells: Cells) -> None:
        self.cells = cells
        self._count = np.zeros(0, dtype=np.int64)
        self._values: FloatArray | None = np.zeros((0, items))

    def add(self, values: FloatArray, cell: IntArray) -> None:
        """Rows of item ``values`` and their cell."""
        if not values.shape[0]:
            return
        u, local = np.unique(cell, return_inverse=True)
        local = local.ravel()
        size = int(u[-1]) + 1
        self._count = _grow(self._count, size)
        self._count[u] += np.bincount(local, minlength=u.size)
        if self._values is not None and u.size == values.shape[0] and self._count[u].max() == 1:
            self._values = _grow(self._values, size)
            self._values[u[local]] = values
        else:
            self._values = None

    def multilevel(self, keyed: Callable[[FloatArray], FloatArray], incomplete: int) -> Multilevel:
        """:func:`multilevel_reliability` of the cells' values as ``keyed`` takes a scale's
        out of them, or why it is refused (``incomplete``: the rows without every item of
        the scale answered)."""
        size = len(self.cells.index)
        if not size:
            raise _problem("too-few-clients", "needs at least two clients, sessions and items")
        count = _grow(self._count, size)[:size]
        keys = self.cells.keys
        client, session = keys >> 32, keys & 0xFFFFFFFF
        n, k = np.unique(client).size, np.unique(session).size
        repeated = int(np.sum(count > 1))
        if incomplete or repeated or size != n * k or self._values is None:
            raise unbalanced(n, k, n * k - size, repeated, incomplete)
        return multilevel_reliability(keyed(_grow(self._values, size)[:size]), client, session)
