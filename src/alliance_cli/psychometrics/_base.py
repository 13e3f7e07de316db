"""Shared parts: the keyed item matrix, descriptives, pairwise covariances and checks."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from ..errors import Problem, ResponseError
from ..model import GRID_TOLERANCE, Method, Questionnaire
from ..scoring import ANSWERED, Columns, cell_states

FloatArray = npt.NDArray[np.float64]
Use = Literal["pairwise", "complete"]

# Bounds psych::fa gives the uniquenesses in its minres optimiser (L-BFGS-B, lower = .005).
_PSI_LOWER = 0.005


def _problem(code: str, message: str) -> ResponseError:
    return ResponseError(Problem(code, message))


def _matrix(x: npt.ArrayLike, min_items: int = 2) -> FloatArray:
    a = np.array(x, dtype=np.float64)  # a copy: the caller's data is never touched
    if a.ndim != 2:
        raise ValueError(f"expected a rows × items matrix, got shape {a.shape}")
    if a.shape[1] < min_items:
        raise _problem("too-few-items", f"a scale needs at least {min_items} items here")
    return a


# -- from raw answers to a keyed item matrix ----------------------------------------------


@dataclass(frozen=True, eq=False)
class ScaleItems:
    """One scale's keyed items: ``values`` is rows × items, NaN where not answered."""

    scale_id: str
    item_ids: tuple[str, ...]
    values: FloatArray
    lo: FloatArray  # lowest answer of each item
    hi: FloatArray
    method: Method


def scale_items(q: Questionnaire, scale_id: str, values: npt.ArrayLike) -> ScaleItems:
    """The keyed item matrix of one scale from a raw rows × all-items matrix.

    Uses the scoring engine's rule (:func:`alliance_cli.scoring.score_matrix`): a reverse
    item becomes ``min + max − x`` on the item's own response scale, reverse keys belong to
    the scale; cells that are not answers (blank, "does not apply", invalid) become NaN.
    """
    cols = Columns.of(q)
    states = cell_states(q, values)
    x = np.asarray(values, dtype=np.float64).reshape(states.shape)
    scale = q.scales[scale_id]
    idx = np.array([cols.ids.index(i) for i in scale.items], dtype=np.int64)
    reverse = np.array([i in scale.reverse for i in scale.items], dtype=np.bool_)
    lo, hi = cols.lo[idx], cols.hi[idx]
    keyed = np.where(reverse, lo + hi - x[:, idx], x[:, idx])
    keyed = np.where(states[:, idx] == ANSWERED, keyed, np.nan)
    return ScaleItems(scale_id, tuple(scale.items), keyed, lo, hi, scale.method)


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


def describe(items: ScaleItems) -> Descriptives:
    """N complete, mean and SD (n − 1) of the scale score — the sum or the mean of the keyed
    items, as the scale's ``method`` says — and the floor and ceiling effects: the percentage
    of complete cases at the lowest / highest possible score (Terwee et al. 2007 flag > 15%).
    """
    x = items.values
    complete = x[~np.isnan(x).any(axis=1)]
    if items.method is Method.sum:
        score, lo, hi = complete.sum(axis=1), items.lo.sum(), items.hi.sum()
    else:
        score, lo, hi = complete.mean(axis=1), items.lo.mean(), items.hi.mean()
    n = score.size
    mean = float(score.mean()) if n else math.nan
    sd = float(score.std(ddof=1)) if n > 1 else math.nan
    pct = 100.0 / n if n else math.nan
    return Descriptives(
        n_rows=x.shape[0],
        n_complete=n,
        mean=mean,
        sd=sd,
        minimum=float(lo),
        maximum=float(hi),
        floor_pct=float(np.sum(np.abs(score - lo) < GRID_TOLERANCE) * pct),
        ceiling_pct=float(np.sum(np.abs(score - hi) < GRID_TOLERANCE) * pct),
    )


# -- covariances with missing data ------------------------------------------------------


def _pairwise(x: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Pairwise-complete counts, covariances and correlations, as R's
    ``cov``/``cor(use = "pairwise")``: each pair uses the rows where both items are
    answered, with that pair's own means (and, for ``cor``, that pair's own SDs)."""
    seen = ~np.isnan(x)
    # Centring first keeps the one-pass sums accurate; covariances do not move.
    centre = np.nanmean(x, axis=0)
    x0 = np.where(seen, x - centre, 0.0)
    m = seen.astype(np.float64)
    n = m.T @ m
    s = x0.T @ m  # s[i, j]: sum of item i over the rows where i and j are both answered
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = (x0.T @ x0 - s * s.T / n) / (n - 1)
        var = ((x0 * x0).T @ m - s * s / n) / (n - 1)  # var[i, j]: of item i, pair (i, j)
        cor = cov / np.sqrt(var * var.T)
    np.fill_diagonal(cor, 1.0)
    return n, cov, cor


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
