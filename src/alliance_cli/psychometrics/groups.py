"""Per-client sums of one scale over rows that come a block at a time: what the ICC
(:func:`~.multilevel.icc_of`), within- and between-client reliability (Geldhof, Preacher &
Zyphur 2014) and the ``psych::mlr`` ANOVA (:func:`~.multilevel.multilevel_reliability`)
need, in memory that grows with the clients (:class:`ClientSums`) or the client × session
cells (:class:`CellSums`), not with the rows.

Clients and sessions are integer codes 0, 1, … (numbered in order of first appearance by the
caller, the same for every block); a row without a client or session is not given.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._base import FloatArray, IntArray, _problem
from .multilevel import ICC, Multilevel, icc_of, multilevel_reliability, unbalanced


def _grow(a: Any, size: int) -> Any:
    """``a`` with zero rows added up to ``size`` rows."""
    if a.shape[0] >= size:
        return a
    out = np.zeros((size, *a.shape[1:]), dtype=a.dtype)
    out[: a.shape[0]] = a
    return out


class ClientSums:
    """Per client, over the complete rows (every item of the scale answered): their number
    ``n``, the mean and the sum of squared deviations ``m2`` of the scale score (each block's
    merged into the running ones, Chan, Golub & LeVeque 1983), and the item sums ``sums``
    (clients × items); and ``sscp``, the raw cross-products X'X of every complete row's
    keyed items. A client with no complete row (yet) has ``n`` 0."""

    def __init__(self, items: int) -> None:
        self.n = np.zeros(0)
        self.mean = np.zeros(0)
        self.m2 = np.zeros(0)
        self.sums = np.zeros((0, items))
        self.sscp = np.zeros((items, items))

    def add(self, values: FloatArray, score: FloatArray, clients: IntArray) -> None:
        """Rows of keyed item ``values``, their ``score`` (NaN unless complete) and client."""
        complete = ~np.isnan(score)
        x, y, g = values[complete], score[complete], clients[complete]
        if not y.size:
            return
        size = int(g.max()) + 1
        self.n, self.mean, self.m2, self.sums = (
            _grow(a, size) for a in (self.n, self.mean, self.m2, self.sums)
        )
        size = self.n.size
        nb = np.bincount(g, minlength=size).astype(np.float64)
        mb = np.divide(np.bincount(g, y, size), nb, out=np.zeros(size), where=nb > 0)
        m2b = np.bincount(g, (y - mb[g]) ** 2, size)
        total = self.n + nb
        w = nb / np.maximum(total, 1.0)
        delta = mb - self.mean
        first = self.n == 0
        self.mean = np.where(first, mb, self.mean + delta * w)
        self.m2 = np.where(first, m2b, self.m2 + m2b + delta * delta * self.n * w)
        self.n = total
        for j in range(x.shape[1]):
            self.sums[:, j] += np.bincount(g, x[:, j], size)
        self.sscp += x.T @ x

    def icc(self) -> ICC:
        return icc_of(self.n, self.mean, self.m2)


class CellSums:
    """Per client × session cell: its rows and the sum of their keyed item values; and the
    rows with an item not answered. A balanced design has one complete row in every cell,
    whose values the sums then are."""

    def __init__(self, items: int) -> None:
        self.index: dict[int, int] = {}
        self.count = np.zeros(0, dtype=np.int64)
        self.values = np.zeros((0, items))
        self.client = np.zeros(0, dtype=np.int64)
        self.session = np.zeros(0, dtype=np.int64)
        self.incomplete = 0

    def add(self, values: FloatArray, clients: IntArray, sessions: IntArray) -> None:
        if not values.shape[0]:
            return
        self.incomplete += int(np.isnan(values).any(axis=1).sum())
        keys = (clients.astype(np.int64) << 32) | sessions.astype(np.int64)
        unique, inverse = np.unique(keys, return_inverse=True)
        before = len(self.index)
        idx = np.array([self.index.setdefault(int(k), len(self.index)) for k in unique])
        size = len(self.index)
        if size > before:
            new = unique[idx >= before]
            self.count = _grow(self.count, size)
            self.values = _grow(self.values, size)
            self.client = np.concatenate([self.client, new >> 32])
            self.session = np.concatenate([self.session, new & 0xFFFFFFFF])
        cell = idx[inverse.ravel()]
        self.count += np.bincount(cell, minlength=size)
        for j in range(values.shape[1]):
            self.values[:, j] += np.bincount(cell, values[:, j], size)

    def multilevel(self) -> Multilevel:
        """:func:`multilevel_reliability` of the cells, or why it is refused."""
        if not self.count.size:
            raise _problem("too-few-clients", "needs at least two clients, sessions and items")
        n, k = np.unique(self.client).size, np.unique(self.session).size
        repeated = int(np.sum(self.count > 1))
        if self.incomplete or repeated or self.count.size != n * k:
            raise unbalanced(n, k, n * k - self.count.size, repeated, self.incomplete)
        return multilevel_reliability(self.values, self.client, self.session)
