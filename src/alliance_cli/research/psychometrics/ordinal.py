"""Ordinal reliability of a scale from its polychoric correlations.

Three coefficients, each from :func:`~.polychoric.polychoric_of` (Olsson's two-step
polychoric matrix, as ``psych::polychoric``):

* **ordinal alpha** (Zumbo, Gadermann & Zeisser 2007): Cronbach's alpha of the polychoric
  matrix R, ``k/(k − 1) · (1 − k / 1'R1)``, as ``psych::alpha(polychoric(x)$rho)``;
* **ordinal omega total**: omega total of a one-factor minres solution of R, as
  ``psych::omega(x, nfactors = 1, poly = TRUE)`` (:func:`~.omega.omega_of` on R);
* **categorical omega** (Green & Yang 2009, eq. 21): the reliability of the *observed* sum
  score, as ``semTools::compRelSEM(fit, ord.scale = TRUE)`` on a one-factor ``lavaan`` model
  with ordered items. With thresholds τ and loadings λ::

      ω_cat = Σ_jj' Σ_cc' [Φ₂(τ_jc, τ_j'c'; λ_jλ_j') − Φ(τ_jc)Φ(τ_j'c')]
              / Σ_jj' Σ_cc' [Φ₂(τ_jc, τ_j'c'; ρ_jj') − Φ(τ_jc)Φ(τ_j'c')]

  over every pair of items j, j' (j = j' included, where the numerator's correlation is λ_j²
  and the denominator's ρ_jj = 1) and all their thresholds; ρ is the polychoric matrix
  before smoothing (semTools' default ``obs.var = TRUE``: lavaan's sample polychorics).

  *How ours is estimated*: as lavaan — thresholds from each item's answers, the sample
  polychorics with every pair on those thresholds (no zero-cell correction; psych's
  ``global = FALSE`` matrix is kept for ordinal alpha and omega), and the one-factor model
  fitted to them by diagonally weighted least squares with lavaan's DWLS weights (the
  inverse of each polychoric's asymptotic variance, :func:`rho_variance`, from the pair's
  table), by Newton's method from the minres solution (:func:`dwls_one_factor`). With
  missing answers, tables are pairwise and thresholds use every answer to the item, as
  lavaan's ``missing = "pairwise"`` (its default for ordered items is listwise deletion).
  On the pinned data sets the coefficient agrees with semTools to 4e-6 (2.3e-5 with
  missing answers). An unused category inside the range counts as a tied threshold (the
  sum score keeps the questionnaire's values), where lavaan renumbers the item's categories
  consecutively (1.6e-3 apart on the test set).

Ordinal alpha and omega describe the reliability of the latent continuous responses
assumed behind the answers, not of the observed sum score (Chalmers 2018); categorical
omega is the reliability of the observed sum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from alliance_cli.model import Questionnaire
from alliance_cli.research.psychometrics._base import FloatArray, Pairwise, _problem, keyed_items
from alliance_cli.research.psychometrics.omega import _newton, minres_one_factor, omega_of
from alliance_cli.research.psychometrics.polychoric import (
    MAX_CATEGORIES,
    CategorySums,
    IntArray,
    bvn_cdf,
    cell_probabilities,
    ndtr,
    polychoric_of,
)
from alliance_cli.scoring import Columns


@dataclass(frozen=True)
class OrdinalReliability:
    """Ordinal coefficients of one scale (items keyed), with what they rest on."""

    items: tuple[str, ...]
    categories: tuple[float, ...]
    """The answer values of the categories, lowest first (the thresholds lie between)."""
    rho: tuple[tuple[float, ...], ...]
    """The polychoric matrix (smoothed where ``smoothed``), rows and columns as ``items``."""
    thresholds: tuple[tuple[float, ...], ...]
    """Per item, τ between consecutive ``categories`` (±inf past an end category the
    item's answers do not reach; ``--json`` writes those as null)."""
    ordinal_alpha: float
    ordinal_omega: float
    categorical_omega: float
    loadings: tuple[float, ...]
    """The standardized one-factor loadings behind categorical omega (DWLS, as lavaan)."""
    global_thresholds: bool
    smoothed: bool
    corrected_pairs: int
    n_pairs_min: int
    """The fewest rows answering any pair of the scale's items."""
    notes: tuple[str, ...]


def categorical_omega(tau: FloatArray, loadings: FloatArray, rho: FloatArray) -> float:
    """Green & Yang's (2009, eq. 21) omega of the observed sum score, as semTools'
    ``omegaCat``: ``tau`` items × thresholds (±inf allowed), ``loadings`` standardized,
    ``rho`` the polychoric matrix of the denominator."""
    k = tau.shape[0]
    lam = np.clip(loadings, -1.0, 1.0)
    common = np.outer(lam, lam)
    p1 = ndtr(tau).sum(axis=1)  # Σ_c Φ(τ_jc), ±inf giving 1 or 0
    num = den = 0.0
    for j in range(k):
        for jp in range(k):
            h, kk = tau[j][:, None], tau[jp][None, :]
            r_den = 1.0 if j == jp else float(rho[j, jp])
            num += float(bvn_cdf(h, kk, float(common[j, jp])).sum()) - p1[j] * p1[jp]
            den += float(bvn_cdf(h, kk, r_den).sum()) - p1[j] * p1[jp]
    return num / den


def _phi2(h: FloatArray, k: FloatArray, r: float) -> FloatArray:
    """The bivariate normal density, 0 where a limit is infinite."""
    s2 = 1 - r * r
    with np.errstate(invalid="ignore", over="ignore"):
        q = (h * h - 2 * r * h * k + k * k) / (2 * s2)
        out = np.exp(-q) / (2 * math.pi * math.sqrt(s2))
    return np.where(np.isfinite(h) & np.isfinite(k), out, 0.0)


def _threshold_scores(
    cuts: FloatArray, other: FloatArray, r: float, probs: FloatArray
) -> list[tuple[FloatArray, FloatArray]]:
    """For each finite threshold t_m of the rows: the score ∂log P_ab/∂t_m of every cell
    and the influence (1[a ≤ m] − Φ(t_m)) / φ(t_m) of every row a on t_m."""
    rows = probs.shape[0]
    s = math.sqrt(1 - r * r)
    oc = np.concatenate([[-np.inf], other, [np.inf]])
    out = []
    for m, t in enumerate(cuts):
        if not np.isfinite(t):
            continue
        dens = math.exp(-t * t / 2) / math.sqrt(2 * math.pi)
        along = dens * ndtr((oc - r * t) / s)
        d = np.diff(along)  # ∂Φ₂ differences over the columns' cells
        dp = np.zeros_like(probs)
        dp[m] += d
        dp[m + 1] -= d
        with np.errstate(divide="ignore", invalid="ignore"):
            score = np.where(probs > 0, dp / probs, 0.0)
        influence = ((np.arange(rows) <= m) - float(ndtr(t))).astype(np.float64) / dens
        out.append((score, influence))
    return out


def rho_variance(table: FloatArray, rows: FloatArray, cols: FloatArray, r: float) -> float:
    """N times the asymptotic variance of a two-step polychoric ρ̂ (thresholds from the
    margins, then ML of ρ; Olsson 1979; Muthén 1984), from the influence of each cell::

        IF_ab = [s_ρ,ab − Σ_m I_ρτm IF_τm(a) − Σ_m' I_ρτ'm' IF_τ'm'(b)] / I_ρρ

    with s the cell's scores (∂log P_ab), I the information as the outer product of the
    scores over the observed proportions p, Σ p s s (as lavaan's Gamma; the expected
    information Σ P s s gives weights up to 30% apart on sparse tables), and IF_τ the
    influence on a threshold; ``Σ p_ab IF_ab²``. The inverse (times the pair's N) is
    lavaan's DWLS weight of the pair (``lavInspect(fit, "wls.v")``)."""
    p = table / table.sum()
    probs = cell_probabilities(rows, cols, r)
    rc = np.concatenate([[-np.inf], rows, [np.inf]])
    cc = np.concatenate([[-np.inf], cols, [np.inf]])
    dens = _phi2(rc[:, None], cc[None, :], r)
    dp = np.diff(np.diff(dens, axis=0), axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        s_rho = np.where(probs > 0, dp / probs, 0.0)
    i_rr = float(np.sum(p * s_rho * s_rho))
    infl = s_rho.copy()
    for score, influence in _threshold_scores(rows, cols, r, probs):
        infl -= float(np.sum(p * s_rho * score)) * influence[:, None]
    for score, influence in _threshold_scores(cols, rows, r, probs.T):
        infl -= float(np.sum(p * s_rho * score.T)) * influence[None, :]
    infl /= i_rr
    return float(np.sum(p * infl * infl))


def dwls_one_factor(r: FloatArray, weights: FloatArray, start: FloatArray) -> FloatArray:
    """Loadings λ minimising Σ_{i<j} w_ij (r_ij − λ_iλ_j)² (diagonally weighted least
    squares of a one-factor model of a correlation matrix), by Newton's method from
    ``start``."""
    w = weights.copy()
    np.fill_diagonal(w, 0.0)

    def evaluate(lam: FloatArray) -> tuple[float, FloatArray, FloatArray]:
        res = r - np.outer(lam, lam)
        np.fill_diagonal(res, 0.0)
        hess = 2 * w * (2 * np.outer(lam, lam) - r)
        np.fill_diagonal(hess, 2 * (w @ (lam * lam)))
        return float(np.sum(np.tril(w * res * res, -1))), -2 * (w * res) @ lam, hess

    lam, _, _ = _newton(evaluate, start.copy(), -np.inf, np.inf, 1e-11, 200)
    return lam if lam.sum() >= 0 else -lam


def ordinal_of(
    tables: IntArray, margins: IntArray, labels: tuple[str, ...], categories: tuple[float, ...]
) -> OrdinalReliability:
    """Ordinal alpha, ordinal omega total and categorical omega of a scale from the counts
    of its keyed items (:func:`~.polychoric.polychoric_of`'s arguments). Raises a
    ``ResponseError`` where an item has a single answer or a pair of items has no
    correlation (no rows answer both)."""
    poly = polychoric_of(tables, margins)
    k = len(labels)
    if np.isnan(poly.raw).any():
        holes = [
            f"{labels[i]} and {labels[j]}"
            for i in range(k)
            for j in range(i + 1, k)
            if math.isnan(poly.raw[i, j])
        ]
        raise _problem(
            "no-polychoric",
            f"no polychoric correlation between items {', '.join(holes[:5])} (no rows answer"
            " both, or one of them has a single answer there)",
        )
    r = poly.rho
    total = float(r.sum())
    o_alpha = (1 - k / total) * k / (k - 1) if total else math.nan
    moments = Pairwise(
        n_rows=int(poly.n.max()), n=poly.n.astype(float), mean=np.zeros(k), cov=r, cor=r
    )
    o_omega = omega_of(moments, labels=labels).omega_total
    # Categorical omega: lavaan's sample polychorics (every pair on the items' own
    # thresholds), a one-factor model fitted to them by DWLS.
    own = poly if poly.global_thresholds else polychoric_of(tables, margins, own_thresholds=True)
    fit = minres_one_factor(own.raw)
    weights = np.ones((k, k))
    for i in range(k):
        for j in range(i + 1, k):
            var = rho_variance(tables[i, j], own.tau[i], own.tau[j], float(own.raw[i, j]))
            weights[i, j] = weights[j, i] = own.n[i, j] / var if var > 0 else 0.0
    lam = dwls_one_factor(own.raw, weights, np.array(fit.loadings))
    c_omega = categorical_omega(own.tau, lam, own.raw)
    notes: list[str] = []
    if poly.smoothed:
        notes.append(
            "polychoric matrix smoothed: it was not positive definite (smallest eigenvalue "
            f"{poly.min_eigenvalue:.3g}); as psych::cor.smooth, ordinal alpha and omega use "
            "the smoothed matrix"
        )
    if not poly.global_thresholds:
        notes.append(
            "the items' highest answers differ, so each pair's thresholds come from its own "
            "table, as psych::polychoric with global = FALSE"
            + (
                f"; {poly.corrected_pairs} pair table{'s' * (poly.corrected_pairs != 1)} had "
                "empty cells, each set to 0.5 answers (psych's correct = .5)"
                if poly.corrected_pairs
                else ""
            )
        )
    if np.any(np.abs(lam) >= 1):
        notes.append(
            "categorical omega: a loading at or above 1 in the one-factor model (Heywood case)"
        )
    iu = np.triu_indices(k, 1)
    return OrdinalReliability(
        items=labels,
        categories=categories,
        rho=tuple(tuple(float(v) for v in row) for row in r),
        thresholds=tuple(tuple(float(v) for v in row) for row in poly.tau),
        ordinal_alpha=float(o_alpha),
        ordinal_omega=float(o_omega),
        categorical_omega=float(c_omega),
        loadings=tuple(float(v) for v in lam),
        global_thresholds=poly.global_thresholds,
        smoothed=poly.smoothed,
        corrected_pairs=poly.corrected_pairs,
        n_pairs_min=int(poly.n[iu].min()) if k > 1 else 0,
        notes=tuple(notes),
    )


class OrdinalSums:
    """The category counts of a questionnaire's items (:class:`~.polychoric.CategorySums`),
    fed the :func:`~alliance_cli.research.psychometrics.answered` matrix a block of rows at a
    time, from which :meth:`scale` gives each scale's :class:`OrdinalReliability`. An item
    with more than 8 response points (a visual-analogue or 0–10 item) is not counted."""

    def __init__(self, q: Questionnaire) -> None:
        cols = Columns.of(q)
        self.q = q
        self.lo, self.hi, self.step = cols.lo, cols.hi, cols.step
        self.points = np.rint((cols.hi - cols.lo) / cols.step).astype(np.int64) + 1
        self.counted = self.points <= MAX_CATEGORIES
        big_k = int(self.points[self.counted].max()) if self.counted.any() else 1
        self.sums = CategorySums(len(cols.ids), big_k)

    def add(self, answers: FloatArray) -> None:
        """Count a block of rows (rows × every item; NaN where not answered)."""
        codes = np.rint((answers - self.lo) / self.step)
        bad = np.isnan(codes) | ~self.counted
        self.sums.add(np.where(bad, -1, codes).astype(np.int64))

    def scale(self, scale_id: str) -> OrdinalReliability:
        """The ordinal coefficients of one scale, its reverse items keyed. Raises a
        ``ResponseError`` saying why they are not computed: an item with more than 8
        response points, items on different response scales, an item with a single
        answer, a pair that no row answers."""
        items = keyed_items(self.q, scale_id, np.empty((0, len(self.points))))
        assert items.columns is not None and items.reverse is not None
        idx = items.columns
        many = [i for i, c in zip(items.item_ids, idx, strict=True) if not self.counted[c]]
        if many:
            raise _problem(
                "not-ordinal",
                f"not computed, because {_items(many)} more than {MAX_CATEGORIES} response "
                "points (a visual-analogue or 0–10 item is continuous; psych::polychoric "
                "takes at most 8 categories)",
            )
        grids = {(self.lo[c], self.hi[c], self.step[c]) for c in idx}
        if len(grids) > 1:
            raise _problem(
                "not-ordinal",
                "not computed, because the scale's items have different response scales",
            )
        tables, margins = self.sums.select(idx, items.reverse)
        big_k = int(self.points[idx[0]])
        tables, margins = tables[:, :, :big_k, :big_k], margins[:, :big_k]
        flat = [i for i, m in zip(items.item_ids, margins, strict=True) if np.count_nonzero(m) < 2]
        if flat:
            raise _problem(
                "constant-item",
                f"not computed, because {_items(flat)} fewer than two different answers "
                "(psych::polychoric drops such an item)",
            )
        lo, step = float(self.lo[idx[0]]), float(self.step[idx[0]])
        categories = tuple(lo + c * step for c in range(big_k))
        return ordinal_of(tables, margins, items.item_ids, categories)


def _items(ids: list[str]) -> str:
    """``item 3 has`` / ``items 3, 5 have``."""
    return f"item {ids[0]} has" if len(ids) == 1 else f"items {', '.join(ids)} have"
