"""Shared parts: the keyed item matrix, descriptives, pairwise covariances and checks."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import numpy as np
import numpy.typing as npt

from alliance_cli.errors import Problem, ResponseError
from alliance_cli.model import Method, Questionnaire
from alliance_cli.scoring import GRID_TOLERANCE, Columns, answers_only, cell_states

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
Use = Literal["pairwise", "complete"]

# Bounds psych::fa gives the uniquenesses in its minres optimiser (L-BFGS-B, lower = .005).
_PSI_LOWER = 0.005
# Rows whose item means shift the data before the pairwise sums (see :func:`pairwise`).
_SHIFT_ROWS = 4096
_BLOCK_ROWS = 16384  # rows per block of the row-by-row passes


def _problem(code: str, message: str) -> ResponseError:
    return ResponseError(Problem(code, message))


def _matrix(x: npt.ArrayLike, min_items: int = 2, *, copy: bool = True) -> FloatArray:
    # A copy unless the caller only reads it: the caller's data is never touched.
    a = np.array(x, dtype=np.float64) if copy else np.asarray(x, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"expected a rows × items matrix, got shape {a.shape}")
    if a.shape[1] < min_items:
        raise _problem("too-few-items", f"a scale needs at least {min_items} items here")
    return a


# -- from raw answers to a keyed item matrix ----------------------------------------------


@dataclass(frozen=True, eq=False)
class ScaleItems:
    """One scale's keyed items: ``values`` is rows × items, NaN where not answered.

    ``columns`` and ``reverse`` (when built by :func:`scale_items`) say which columns of the
    questionnaire's item matrix the items are and which of them the scale reverses."""

    scale_id: str
    item_ids: tuple[str, ...]
    values: FloatArray
    lo: FloatArray  # lowest answer of each item
    hi: FloatArray
    method: Method
    columns: IntArray | None = None
    reverse: BoolArray | None = None

    @cached_property
    def score(self) -> FloatArray:
        """The scale score of every row — the sum or the mean of the keyed items, as the
        scale's ``method`` says — NaN unless every item is answered (complete cases: a NaN
        item makes the row's sum NaN)."""
        k = self.values.shape[1]
        total = self.values @ np.ones(k)  # a matrix–vector product: faster than .sum(axis=1)
        return total if self.method is Method.sum else total / k


def answered(q: Questionnaire, values: npt.ArrayLike) -> FloatArray:
    """The raw rows × all-items matrix with NaN in every cell that is not an answer (blank,
    "does not apply", invalid), by the scoring engine's :func:`~alliance_cli.scoring.cell_states`.
    A new array: the caller's data is never touched. It is column-major, so that a scale's
    columns are cheap to take out (:func:`keyed_items`)."""
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] <= _BLOCK_ROWS:
        states = cell_states(q, x)  # also checks the shape
        x = x.reshape(states.shape)
        return np.asfortranarray(answers_only(x, states))
    out = np.empty(x.shape, order="F")
    # In blocks of rows (the states are row by row), so that temporaries stay in the cache.
    for start in range(0, x.shape[0], _BLOCK_ROWS):
        block = x[start : start + _BLOCK_ROWS]
        out[start : start + _BLOCK_ROWS] = answers_only(block, cell_states(q, block))
    return out


def scale_items(q: Questionnaire, scale_id: str, values: npt.ArrayLike) -> ScaleItems:
    """The keyed item matrix of one scale from a raw rows × all-items matrix.

    Uses the scoring engine's rule (:func:`alliance_cli.scoring.score_matrix`): a reverse
    item becomes ``min + max − x`` on the item's own response scale, reverse keys belong to
    the scale; cells that are not answers (blank, "does not apply", invalid) become NaN.
    """
    return keyed_items(q, scale_id, answered(q, values))


def keyed_items(q: Questionnaire, scale_id: str, answers: FloatArray) -> ScaleItems:
    """:func:`scale_items` from the output of :func:`answered` (the cells already checked),
    so that several scales of one matrix check its cells once."""
    cols = Columns.of(q)
    scale = q.scales[scale_id]
    idx = np.array([cols.ids.index(i) for i in scale.items], dtype=np.int64)
    reverse = np.array([i in scale.reverse for i in scale.items], dtype=np.bool_)
    lo, hi = cols.lo[idx], cols.hi[idx]
    keyed = answers[:, idx]  # a copy (fast from column-major answers)
    if reverse.any():
        keyed[:, reverse] = (lo + hi)[reverse] - keyed[:, reverse]
    return ScaleItems(scale_id, tuple(scale.items), keyed, lo, hi, scale.method, idx, reverse)


# -- descriptives -----------------------------------------------------------------------


@dataclass(frozen=True)
class Descriptives:
    """Scale score over the complete cases (rows with every item answered)."""

    n_rows: int
    n_complete: int
    mean: float
    sd: float
    minimum: float  # lowest possible score
    maximum: float
    floor_pct: float  # % of complete cases at the lowest possible score
    ceiling_pct: float
    score_basis: str = "complete cases"
    """Which scores mean, SD, floor and ceiling describe: the complete cases, never
    prorated scores."""


def describe(items: ScaleItems) -> Descriptives:
    """N complete, mean and SD (n − 1) of the scale score — the sum or the mean of the keyed
    items, as the scale's ``method`` says — and the floor and ceiling effects: the percentage
    of complete cases at the lowest / highest possible score (Terwee et al. 2007 flag > 15%).
    """
    sums = ScoreSums.of(items)
    sums.add(items.score)
    return sums.descriptives()


class ScoreSums:
    """What :func:`describe` needs, added a block of rows at a time: rows, and over the
    complete cases (a score that is not NaN) their number, mean and sum of squared
    deviations — each block's merged into the running ones (Chan, Golub & LeVeque 1983) —
    and the counts at the lowest and highest possible score."""

    def __init__(self, lo: float, hi: float) -> None:
        self.lo, self.hi = lo, hi
        self.rows = self.n = self.floor = self.ceiling = 0
        self.mean = self.m2 = 0.0

    @classmethod
    def of(cls, items: ScaleItems) -> ScoreSums:
        """Sums for ``items``' scale score (its range from the items' and the method)."""
        if items.method is Method.sum:
            return cls(float(items.lo.sum()), float(items.hi.sum()))
        return cls(float(items.lo.mean()), float(items.hi.mean()))

    def add(self, score: FloatArray) -> None:
        self.rows += score.size
        y = score[~np.isnan(score)]
        if not y.size:
            return
        mean = float(y.mean())
        m2 = float(np.sum((y - mean) ** 2))
        n = self.n + y.size
        if self.n:
            delta = mean - self.mean
            self.m2 += m2 + delta * delta * self.n * y.size / n
            self.mean += delta * y.size / n
        else:
            self.mean, self.m2 = mean, m2
        self.n = n
        self.floor += int(np.sum(np.abs(y - self.lo) < GRID_TOLERANCE))
        self.ceiling += int(np.sum(np.abs(y - self.hi) < GRID_TOLERANCE))

    def descriptives(self) -> Descriptives:
        n = self.n
        pct = 100.0 / n if n else math.nan
        return Descriptives(
            n_rows=self.rows,
            n_complete=n,
            mean=self.mean if n else math.nan,
            sd=math.sqrt(self.m2 / (n - 1)) if n > 1 else math.nan,
            minimum=self.lo,
            maximum=self.hi,
            floor_pct=self.floor * pct,
            ceiling_pct=self.ceiling * pct,
        )


# -- covariances with missing data ------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Pairwise:
    """Pairwise-complete moments of a rows × items matrix, as R ``cov``/``cor(use =
    "pairwise")``: ``n[i, j]`` rows with both items answered, ``cov``/``cor`` over those rows
    with the pair's own means (and, for ``cor``, the pair's own SDs); ``mean[i]`` of item
    i's answers; ``n_rows`` rows in all."""

    n_rows: int
    n: FloatArray
    mean: FloatArray
    cov: FloatArray
    cor: FloatArray

    def keyed(self, items: ScaleItems) -> Pairwise:
        """The moments of ``items``' keyed matrix from those of the questionnaire's
        :func:`answered` matrix: its rows and columns, and for a reversed item
        x' = lo + hi − x the mean lo + hi − mean and the covariances and correlations with
        the other items negated (DCD, D = diag(±1))."""
        if items.columns is None or items.reverse is None:
            raise ValueError("items not built by scale_items / keyed_items")
        ix = np.ix_(items.columns, items.columns)
        sign = np.where(items.reverse, -1.0, 1.0)
        flip = np.outer(sign, sign)
        mean = self.mean[items.columns]
        return Pairwise(
            n_rows=self.n_rows,
            n=self.n[ix],
            mean=np.where(items.reverse, items.lo + items.hi - mean, mean),
            cov=self.cov[ix] * flip,
            cor=self.cor[ix] * flip,
        )


def pairwise(x: FloatArray) -> Pairwise:
    """Pairwise-complete counts, means, covariances and correlations in one pass of matrix
    products over the rows (:class:`PairwiseSums`, in blocks of rows)."""
    sums = PairwiseSums(x.shape[1])
    for start in range(0, x.shape[0], _BLOCK_ROWS):
        sums.add(x[start : start + _BLOCK_ROWS])
    return sums.result()


class PairwiseSums:
    """The sums behind :func:`pairwise`, added a block of rows at a time, so that the
    moments of any number of rows take memory for one block. With M the answered mask
    (1/0) and X0 the answers minus a shift c (each item's mean over the first rows of the
    first block), 0 where blank (Bessel-corrected, as R)::

        n = M'M,   S = X0'M   (S_ij: sum of item i over the rows where i and j are answered)
        mean_i = c_i + S_ii / n_ii
        cov_ij = ((X0'X0)_ij − S_ij S_ji / n_ij) / (n_ij − 1)
        var_ij = (((X0∘X0)'M)_ij − S_ij² / n_ij) / (n_ij − 1)   (item i over pair (i, j))
        cor_ij = cov_ij / sqrt(var_ij var_ji)

    The sums are shift-invariant, so c changes no covariance; a shift near the mean keeps the
    one-pass sums accurate (the shifted-data algorithm; Chan, Golub & LeVeque 1983). Sums of
    blocks add up, so they merge in any grouping; the same blocks give the same bits.
    """

    def __init__(self, k: int) -> None:
        self.rows = 0
        self.shift: FloatArray | None = None
        self.n, self.s, self.xx, self.sq = (np.zeros((k, k)) for _ in range(4))

    def add(self, block: FloatArray) -> None:
        if self.shift is None:
            head = block[:_SHIFT_ROWS]
            with np.errstate(invalid="ignore", divide="ignore"):
                shift = np.nansum(head, axis=0) / np.sum(~np.isnan(head), axis=0)
            self.shift = np.where(np.isnan(shift), 0.0, shift)
        self.rows += block.shape[0]
        seen = ~np.isnan(block)
        m = seen.astype(np.float64)
        x0 = block - self.shift
        np.copyto(x0, 0.0, where=~seen)
        self.n += m.T @ m
        self.s += x0.T @ m
        self.xx += x0.T @ x0
        x0 *= x0
        self.sq += x0.T @ m

    def result(self) -> Pairwise:
        n, s, xx, sq = self.n, self.s, self.xx, self.sq
        shift = self.shift if self.shift is not None else np.zeros(n.shape[0])
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = shift + np.diag(s) / np.diag(n)
            cov = (xx - s * s.T / n) / (n - 1)
            var = (sq - s * s / n) / (n - 1)
            cor = cov / np.sqrt(var * var.T)
        np.fill_diagonal(cor, 1.0)
        return Pairwise(self.rows, n, mean, cov, cor)


def _rows(x: FloatArray, use: Use) -> FloatArray:
    if use == "complete":
        return x[~np.isnan(x).any(axis=1)]
    if use != "pairwise":
        raise ValueError(f"use must be 'pairwise' or 'complete', not {use!r}")
    return x


def _check_variance(cov: FloatArray, labels: tuple[str, ...]) -> None:
    bad = [labels[j] for j in range(len(labels)) if not cov[j, j] > 0]
    if bad:
        raise _problem(
            "constant-item",
            "no variance (every answer the same, or too few answers) in item "
            + ", ".join(bad)
            + "; reliability is not defined",
        )


def _labels(labels: tuple[str, ...] | None, k: int) -> tuple[str, ...]:
    return labels if labels is not None else tuple(f"V{j + 1}" for j in range(k))
