"""``--center``: each client's mean score per scale, accumulated chunk by chunk, and the
columns it adds to the output.

A batch with ``--center CLIENT`` reads its inputs twice (:mod:`alliance_cli.research.run`): the
first pass adds every chunk's scores to a :class:`PersonMeans`, the second writes each chunk
with the person means and within-client deviations (:func:`add_centre`). What is held grows
with the clients, not the rows.

The means are computed as pandas computes a grouped mean of the whole column
(``groupby(client).transform("mean")``), operation for operation, so that a streamed run
writes exactly the numbers one pass over the whole table writes, whatever the chunk size —
down to the last of the 10 decimals, where an exact tie is decided by the last bit of the
float. pandas has two ways, and both are carried from one chunk to the next:

* rows sorted by client (blank clients first) and no withheld score in the column: each
  client's scores summed by ``numpy.add.reduceat`` (pairwise), then / count — the rows of
  the client being read are held until its last row (one client's rows, not the file's);
* otherwise: Kahan-compensated sums in row order, then / count.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from alliance_cli import scoring
from alliance_cli.io.columns import Column
from alliance_cli.model import Questionnaire
from alliance_cli.research.columnmap import FileMapping
from alliance_cli.research.scoretable import base_names, check_unique
from alliance_cli.research.values import round10


def centre_scores(qs: Sequence[Questionnaire], scores: dict[str, scoring.Scores]) -> Any:
    """The scores centring takes — every scale's rounded score, as the output writes it —
    as a rows × scales matrix (questionnaires, then their scales, in order)."""
    columns = [round10(scores[q.id].scales[sid].score) for q in qs for sid in q.scales]
    rows = len(columns[0]) if columns else 0
    return np.column_stack(columns) if columns else np.empty((rows, 0))


WIDE_ROUND = 32
"""Clients below which a round of rows is added one row at a time (cheaper than numpy's
per-call cost)."""


class PersonMeans:
    """Per client and scale, the count of scores and their sums, added in row order.
    ``width`` is the number of scales (:func:`centre_scores`); ``by_scale``: each scale's
    column is grouped on its own (the wide shape; in the long shape all scales share one
    column, never sorted by client and scale when there are several)."""

    def __init__(self, width: int, *, by_scale: bool = True) -> None:
        self.width = width
        self._codes: dict[str, int] = {}
        self._sum = np.zeros((0, width))
        self._comp = np.zeros((0, width))
        self._n = np.zeros((0, width), dtype=np.int64)
        # pandas' other way (module docstring): sorted so far, a withheld score per column,
        # each finished client's reduceat sums, and the rows of the client being read.
        self._sorted = by_scale or width == 1
        self._last: str | None = None
        self._withheld = np.zeros(width, dtype=np.bool_)
        self._segment = np.zeros((0, width))
        self._open: list[tuple[int, Any]] = []

    def __len__(self) -> int:
        """The clients seen."""
        return len(self._codes)

    def add(self, clients: Any, scores: Any) -> None:
        """Add the rows of one chunk: ``clients`` (None where blank: not counted) and their
        ``scores`` (rows × width, NaN where withheld: not counted)."""
        codes = self._lookup(clients, grow=True)
        scores = np.asarray(scores, dtype=np.float64)
        self._withheld |= np.isnan(scores).any(axis=0)
        if self._withheld.all():  # pandas' sorted way is out for every column
            self._sorted = False
            self._open.clear()
        rows = np.flatnonzero(codes >= 0)
        if self._sorted:
            self._add_sorted(np.asarray(clients, dtype=object), codes, rows, scores)
        if not len(rows):
            return
        # A client's rows must be added one after another; rows of different clients are
        # independent. So the chunk goes in rounds: each client's first row, then each
        # client's second row, … (a round holds a client at most once) — while a round holds
        # many clients; the last rows of the few clients with many rows go one by one.
        order = rows[np.argsort(codes[rows], kind="stable")]
        grouped = codes[order]
        starts = np.flatnonzero(np.diff(grouped, prepend=-1))
        occurrence = np.arange(len(order)) - np.repeat(starts, np.diff([*starts, len(order)]))
        by_round = order[np.argsort(occurrence, kind="stable")]
        bounds = np.searchsorted(np.sort(occurrence), np.arange(occurrence.max() + 2))
        for r, (lo, hi) in enumerate(pairwise(bounds.tolist())):
            if hi - lo < WIDE_ROUND:
                late = order[occurrence >= r]  # by client, each client's rows in order
                for part in np.split(late, np.flatnonzero(np.diff(codes[late])) + 1):
                    self._one_by_one(int(codes[part[0]]), scores[part])
                return
            at = by_round[lo:hi]
            self._kahan(codes[at], scores[at])

    def _add_sorted(self, clients: Any, codes: Any, rows: Any, scores: Any) -> None:
        """While the rows stay sorted by client (blank clients first), sum each client's
        scores as ``numpy.add.reduceat`` sums them in pandas, once its last row is read."""
        if not len(rows):
            if len(codes) and self._last is not None:
                self._sorted = False  # a blank client after a client
            return
        named = clients[rows]
        if (
            len(rows) < len(codes) - rows[0]  # a blank client after a client
            or (self._last is not None and (rows[0] > 0 or not named[0] >= self._last))
            or not np.asarray(named[1:] >= named[:-1], dtype=np.bool_).all()
        ):
            self._sorted = False
            self._open.clear()
            return
        self._last = named[-1]
        who, values = codes[rows], scores[rows]
        starts = np.flatnonzero(np.diff(who, prepend=-1))
        if self._open and self._open[0][0] == who[0]:
            self._open.append((int(who[0]), values[: starts[1] if len(starts) > 1 else None]))
            starts = starts[1:]
        if not len(starts):
            return
        self._close()
        done = starts[:-1]
        for j in range(self.width):
            column = np.ascontiguousarray(values[: starts[-1], j])
            if len(done):
                self._segment[who[done], j] = np.add.reduceat(column[done[0] :], done - done[0])
        self._open = [(int(who[starts[-1]]), values[starts[-1] :])]

    def _close(self) -> None:
        """Sum the client whose rows are held (its last row has been read)."""
        if not self._open:
            return
        who = self._open[0][0]
        values = np.concatenate([v for _, v in self._open])
        for j in range(self.width):
            self._segment[who, j] = np.add.reduceat(np.ascontiguousarray(values[:, j]), [0])[0]
        self._open.clear()

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

    def _one_by_one(self, who: int, values: Any) -> None:
        # _kahan for one client's rows in turn (Python floats are the same IEEE doubles).
        for j in range(self.width):
            s, c, n = float(self._sum[who, j]), float(self._comp[who, j]), 0
            for v in values[:, j].tolist():
                if v != v:  # NaN: no score
                    continue
                y = v - c
                t = s + y
                c = (t - s) - y
                if c != c:
                    c = 0.0
                s = t
                n += 1
            self._sum[who, j], self._comp[who, j] = s, c
            self._n[who, j] += n

    def means(self, clients: Any) -> Any:
        """Rows × width person means for ``clients``: NaN where the client is blank or
        unseen, or has no score on that scale. Call after the last :meth:`add`."""
        self._close()
        codes = self._lookup(clients, grow=False)
        out = np.full((len(codes), self.width), np.nan)
        known = codes[codes >= 0]
        sums = self._sum[known]
        if self._sorted and self._last is not None:
            for j in np.flatnonzero(~self._withheld):
                sums[:, j] = self._segment[known, j]
        n = self._n[known]
        with np.errstate(invalid="ignore", divide="ignore"):
            out[codes >= 0] = np.where(n > 0, sums / n, np.nan)
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
        for name in ("_sum", "_comp", "_n", "_segment"):
            old = getattr(self, name)
            new = np.zeros((room, self.width), dtype=old.dtype)
            new[: len(old)] = old
            setattr(self, name, new)


def check_centre_names(
    mappings: Sequence[FileMapping], questionnaires: Sequence[Questionnaire], shape: str
) -> None:
    """Refuse, before any row is read, an input column carried into the output under the
    name of a column :func:`add_centre` adds (``wai-sr.goal.person_mean``; long: ``within``):
    the output's one rule for repeated names
    (:func:`~alliance_cli.research.scoretable.check_unique`)."""
    stems = (
        [""] if shape == "long" else [f"{q.id}.{sid}" for q in questionnaires for sid in q.scales]
    )
    check_unique([*base_names(mappings), *(name for stem in stems for name in _added(stem))])


def _added(stem: str) -> tuple[str, str]:
    """The names of the person-mean and within columns of a scale (``stem``; "": long)."""
    return (f"{stem}.person_mean", f"{stem}.within") if stem else ("person_mean", "within")


def add_centre(
    table: Any,
    columns: Sequence[Column],
    person: Any,
    questionnaires: Sequence[Questionnaire],
    shape: str,
    center: str,
) -> tuple[Any, tuple[Column, ...]]:
    """``--center``: each scale's person mean and within-client deviation (group-mean
    centring, as multilevel models take them; Enders & Tofighi 2007), after the scale's
    score (wide) or at the end (long, per questionnaire and scale). ``person`` holds the
    person means of the table's responses, a column per scale
    (:meth:`alliance_cli.research.centring.PersonMeans.means`); the deviation is score − person
    mean, both rounded as a score is."""
    out = table.copy()
    described = list(columns)
    if shape == "long":
        # The long table holds each response's scales one after another.
        mean = np.asarray(person, dtype=np.float64).reshape(-1)
        score = out["score"].to_numpy(dtype=np.float64)
        mean_name, within_name = _added("")
        out[mean_name], out[within_name] = round10(mean), round10(score - mean)
        described += _center_columns("", "the scale", center)
        return out, tuple(described)
    k = 0
    for q in questionnaires:
        for sid, scale in q.scales.items():
            stem = f"{q.id}.{sid}"
            mean = np.asarray(person[:, k], dtype=np.float64)
            k += 1
            within = round10(out[stem].to_numpy(dtype=np.float64) - mean)
            at = out.columns.get_loc(stem) + 1
            mean_name, within_name = _added(stem)
            out.insert(at, mean_name, round10(mean))
            out.insert(at + 1, within_name, within)
            i = next(i for i, c in enumerate(described) if c.name == stem) + 1
            described[i:i] = _center_columns(stem, f"{q.id} {scale.name}", center)
    return out, tuple(described)


def _center_columns(stem: str, name: str, center: str) -> list[Column]:
    return [
        Column(
            _added(stem)[0],
            "number",
            f"{name}: mean score of the response's client (column {center}) over that "
            "client's scored rows (also on a row whose own score is withheld); empty when the "
            "client cell is blank",
        ),
        Column(
            _added(stem)[1],
            "number",
            f"{name}: the score minus the client's person mean (within-client deviation); "
            "empty when the score is withheld or the client blank",
        ),
    ]
