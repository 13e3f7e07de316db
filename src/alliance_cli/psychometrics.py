"""Reliability of a scale, computed the way R ``psych`` computes it.

Every function takes a rows × items float matrix for ONE scale (``NaN`` = missing), with the
items already keyed (reverse items reversed); :func:`scale_items` builds that matrix from raw
answers with the scoring engine's own rule. Results are small frozen dataclasses; nothing is
printed. The numbers are pinned against R 4.2 / psych 2.2.9 in ``tests/test_psychometrics.py``
(data and the R script in ``tests/data/psych/``).

Conventions taken from psych, so that results agree with it:

* covariances and correlations with missing data are *pairwise* (R ``cov``/``cor`` with
  ``use = "pairwise"``), as ``psych::alpha`` and ``psych::omega`` default to;
  ``use="complete"`` drops incomplete rows first (listwise deletion);
* standard deviations divide by n − 1.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from .errors import Problem, ResponseError
from .model import GRID_TOLERANCE, Method, Questionnaire
from .scoring import ANSWERED, Columns, cell_states

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


# -- Cronbach's alpha -------------------------------------------------------------------


@dataclass(frozen=True)
class ItemStats:
    item: str
    n: int  # answers to this item
    mean: float
    sd: float
    r_drop: float  # corrected item–total correlation (psych ``r.drop``)
    alpha_if_deleted: float  # raw alpha of the other items (psych ``alpha.drop$raw_alpha``)
    std_alpha_if_deleted: float

    @property
    def negative(self) -> bool:
        """Correlates negatively with the rest of the scale: likely an un-reversed item."""
        return self.r_drop < 0


@dataclass(frozen=True)
class Alpha:
    raw_alpha: float  # psych ``raw_alpha``
    std_alpha: float  # psych ``std.alpha``
    ci_lower: float  # Feldt (1965) interval, as psych::alpha.ci
    ci_upper: float
    ci_level: float
    n_obs: int  # rows used for the interval (psych: every row given)
    n_items: int
    use: Use
    items: tuple[ItemStats, ...]

    @property
    def warnings(self) -> tuple[str, ...]:
        """A plain sentence for every item that correlates negatively with the rest."""
        return tuple(
            f"item {s.item} correlates negatively with the rest of the scale "
            f"(corrected item–total r = {s.r_drop:.2f}): likely an un-reversed item"
            for s in self.items
            if s.negative
        )


def _alphas(c: FloatArray) -> tuple[float, float]:
    """Raw and standardized alpha of a covariance matrix (psych ``alpha.1``)."""
    k = c.shape[0]
    d = np.sqrt(np.diag(c))
    r = c / np.outer(d, d)
    raw = (1 - np.trace(c) / c.sum()) * k / (k - 1)
    std = (1 - k / r.sum()) * k / (k - 1)
    return float(raw), float(std)


def alpha(
    x: npt.ArrayLike,
    *,
    labels: tuple[str, ...] | None = None,
    use: Use = "pairwise",
    level: float = 0.95,
) -> Alpha:
    """Cronbach's alpha, standardized alpha, Feldt CI and item statistics, as ``psych::alpha``.

    With C the items' covariance matrix, R its correlation matrix (``cov2cor(C)``) and k items
    (Cronbach 1951; psych ``alpha.1``)::

        raw_alpha = k / (k − 1) · (1 − tr C / 1'C1)
        std.alpha = k / (k − 1) · (1 − k / 1'R1)
        r.drop_i  = (1'C_i − C_ii) / sqrt(C_ii · 1'C_(−i)1)    corrected item–total r
        alpha if item i deleted = raw_alpha of C without row and column i

    The interval is Feldt's (1965; Feldt, Woodruff & Salih 1987), exactly ``psych::alpha.ci``
    (which ``psych::alpha`` reports as ``feldt``): with F quantiles on n − 1 and
    (n − 1)(k − 1) degrees of freedom, ``lower = 1 − (1 − alpha) F(1 − p/2)`` and
    ``upper = 1 − (1 − alpha) F(p/2)``, n = every row given (``use="pairwise"``, as psych)
    or the complete rows (``use="complete"``). With two items, alpha if an item is deleted
    is NaN (psych reports a covariance ratio there).
    """
    a = _rows(_matrix(x), use)
    k = a.shape[1]
    names = _labels(labels, k)
    n_pair, c, _ = _pairwise(a)
    _check_variance(c, names)
    raw, std = _alphas(c)
    stats = []
    for i in range(k):
        keep = np.arange(k) != i
        rest = c[np.ix_(keep, keep)]
        r_drop = (c[:, i].sum() - c[i, i]) / math.sqrt(c[i, i] * rest.sum())
        drop = _alphas(rest) if k > 2 else (math.nan, math.nan)
        column = a[:, i][~np.isnan(a[:, i])]
        stats.append(
            ItemStats(
                item=names[i],
                n=int(n_pair[i, i]),
                mean=float(column.mean()),
                sd=float(np.sqrt(c[i, i])),
                r_drop=float(r_drop),
                alpha_if_deleted=drop[0],
                std_alpha_if_deleted=drop[1],
            )
        )
    n_obs = a.shape[0]
    lower, upper = feldt_ci(raw, n_obs, k, level)
    return Alpha(raw, std, lower, upper, level, n_obs, k, use, tuple(stats))


def feldt_ci(alpha: float, n_obs: int, n_items: int, level: float = 0.95) -> tuple[float, float]:
    """Feldt's (1965) confidence interval for alpha, as ``psych::alpha.ci``::

    lower = 1 − (1 − alpha) · F⁻¹(1 − p/2; n − 1, (n − 1)(k − 1))
    upper = 1 − (1 − alpha) · F⁻¹(p/2;     n − 1, (n − 1)(k − 1)),   p = 1 − level
    """
    if n_obs < 2 or n_items < 2:
        return math.nan, math.nan
    p = 1 - level
    d1, d2 = n_obs - 1.0, (n_obs - 1.0) * (n_items - 1.0)
    return (
        1 - (1 - alpha) * _f_quantile(1 - p / 2, d1, d2),
        1 - (1 - alpha) * _f_quantile(p / 2, d1, d2),
    )


def _beta_cf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz; Press et al.,
    Numerical Recipes, 3rd ed., §6.4)."""
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 100_000):
        for num in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + num * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + num / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h


def _beta_inc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1) / (a + b + 2):
        return math.exp(log_front) * _beta_cf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_cf(b, a, 1 - x) / b


def _f_quantile(p: float, d1: float, d2: float) -> float:
    """Quantile of the F distribution, by bisection on its CDF
    ``P(F ≤ f) = I_t(d1/2, d2/2)``, ``t = d1 f / (d1 f + d2)``."""
    lo, hi = 0.0, 1.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if mid in (lo, hi):
            break
        if _beta_inc(d1 / 2, d2 / 2, mid) < p:
            lo = mid
        else:
            hi = mid
    t = (lo + hi) / 2
    return d2 * t / (d1 * (1 - t))


# -- McDonald's omega from a one-factor minres solution ---------------------------------


@dataclass(frozen=True)
class OneFactor:
    """A one-factor minres solution of a correlation matrix (``psych::fa(fm="minres")``)."""

    loadings: tuple[float, ...]
    uniquenesses: tuple[float, ...]  # 1 − loading², psych ``u2``
    objective: float  # sum of squared off-diagonal residuals
    iterations: int
    converged: bool
    heywood: bool  # a uniqueness on its lower bound (0.005): a loading near or above 1


@dataclass(frozen=True)
class Omega:
    omega_total: float  # psych ``omega.tot``: (1'R1 − Σu²) / 1'R1
    omega_model: float  # (Σλ)² / ((Σλ)² + Σu²), McDonald's formula on the model
    omega_h: float  # psych ``omega_h`` for one factor: (Σλ)² / 1'R1
    flipped: tuple[str, ...]  # items psych's ``flip`` reversed (negative loadings)
    factor: OneFactor
    items: tuple[str, ...]


def _smc(r: FloatArray) -> FloatArray:
    """Squared multiple correlations ``1 − 1 / diag(R⁻¹)`` (psych ``smc``)."""
    try:
        return 1 - 1 / np.diag(np.linalg.inv(r))
    except np.linalg.LinAlgError:
        return 1 - 1 / np.diag(np.linalg.pinv(r))


def _minres_fit(psi: FloatArray, r: FloatArray) -> tuple[float, FloatArray, FloatArray]:
    """psych's ``fit.residuals`` for one factor, its exact gradient, and the loadings.

    With A = R − diag(ψ) (communalities 1 − ψ on the diagonal), e, v its largest
    eigenpair, the loadings are λ = √e·v, the model M = e·vv', and the objective
    F(ψ) = Σ_{i<j} (r_ij − M_ij)². Writing Res for the off-diagonal residual, s = v'Res v,
    w = Res v and (e_m, u_m) the other eigenpairs, first-order eigen-perturbation gives
    ``∂F/∂ψ_k = v_k² s + 2 e v_k Σ_m u_mk (u_m'w) / (e − e_m)``.
    """
    a = r - np.diag(psi)
    vals, vecs = np.linalg.eigh(a)
    e, v = vals[-1], vecs[:, -1]
    e = max(e, 100 * np.finfo(np.float64).eps)
    res = r - e * np.outer(v, v)
    np.fill_diagonal(res, 0.0)
    w = res @ v
    gaps = e - vals[:-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        coef = np.where(gaps > 0, (vecs[:, :-1].T @ w) / gaps, 0.0)
    grad = v * v * (v @ w) + 2 * e * v * (vecs[:, :-1] @ coef)
    return float(np.sum(np.tril(res, -1) ** 2)), grad, math.sqrt(e) * v


def _newton(
    grad_hess: Callable[[FloatArray], tuple[float, FloatArray, FloatArray]],
    x: FloatArray,
    lower: float,
    upper: float,
    tol: float,
    max_iter: int,
) -> tuple[FloatArray, int, bool]:
    """Projected Newton minimisation in a box (Bertsekas 1982): Newton steps on the free
    coordinates (Levenberg damping where the Hessian is not positive definite), an Armijo
    search along the projected path, until the projected gradient is below ``tol`` or a
    step no longer moves ``x`` (the gradient then being rounding noise)."""
    f, g, hess = grad_hess(x)
    for it in range(1, max_iter + 1):
        if float(np.max(np.abs(np.clip(x - g, lower, upper) - x))) < tol:
            return x, it, True
        free = ~(((x <= lower) & (g > 0)) | ((x >= upper) & (g < 0)))
        hf = hess[np.ix_(free, free)]
        d, damping = np.zeros_like(x), 0.0
        while True:
            try:
                chol = np.linalg.cholesky(hf + damping * np.eye(hf.shape[0]))
                break
            except np.linalg.LinAlgError:
                damping = max(4 * damping, 1e-10 * max(1.0, float(np.abs(hf).max())))
        d[free] = -np.linalg.solve(chol.T, np.linalg.solve(chol, g[free]))
        step = 1.0
        while True:
            new = np.clip(x + step * d, lower, upper)
            f_new, g_new, h_new = grad_hess(new)
            if f_new <= f + 1e-4 * float(g @ (new - x)) or step < 1e-10:
                break
            step /= 2
        moved = float(np.max(np.abs(new - x)))
        x, f, g, hess = new, f_new, g_new, h_new
        if moved < 1e-15:
            return x, it, float(np.max(np.abs(np.clip(x - g, lower, upper) - x))) < 1e-8
    return x, max_iter, False


def _loading_objective(
    r: FloatArray,
) -> Callable[[FloatArray], tuple[float, FloatArray, FloatArray]]:
    """The minres objective over the loadings, f(λ) = Σ_{i<j} (r_ij − λ_iλ_j)², with its
    gradient −2 Res λ and Hessian 2(2λλ' − R) off the diagonal, 2(λ'λ − λ_i²) on it."""

    def evaluate(lam: FloatArray) -> tuple[float, FloatArray, FloatArray]:
        res = r - np.outer(lam, lam)
        np.fill_diagonal(res, 0.0)
        hess = 2 * (2 * np.outer(lam, lam) - r)
        np.fill_diagonal(hess, 2 * (lam @ lam - lam * lam))
        return float(np.sum(np.tril(res, -1) ** 2)), -2 * res @ lam, hess

    return evaluate


def _uniqueness_objective(
    r: FloatArray,
) -> Callable[[FloatArray], tuple[float, FloatArray, FloatArray]]:
    """psych's objective over ψ with its exact gradient and a Hessian from central
    differences of that gradient."""

    def evaluate(psi: FloatArray) -> tuple[float, FloatArray, FloatArray]:
        f, g, _ = _minres_fit(psi, r)
        h, hess = 1e-6, np.empty((psi.size, psi.size))
        for j, e in enumerate(np.eye(psi.size) * h):
            hess[:, j] = (_minres_fit(psi + e, r)[1] - _minres_fit(psi - e, r)[1]) / (2 * h)
        return f, g, (hess + hess.T) / 2

    return evaluate


def minres_one_factor(r: npt.ArrayLike, *, tol: float = 1e-11, max_iter: int = 200) -> OneFactor:
    """One-factor minimum-residual (minres, ULS) factor analysis of a correlation matrix, as
    ``psych::fa(r, nfactors = 1, fm = "minres")`` (Harman & Jones 1966; Revelle, psych).

    psych chooses the uniquenesses ψ that minimise ``fit.residuals`` — the sum of squared
    off-diagonal residuals F(ψ) = Σ_{i<j} (r_ij − λ_iλ_j)² of the model λ = √e·v, (e, v)
    the largest eigenpair of R − diag(ψ) — inside 0.005 ≤ ψ ≤ max(1, SMC), from ψ = 1 − SMC;
    its loadings are that λ (``FAout.wls``), signed to sum positive, and ``u2 = 1 − λ²``.

    Two steps reach the same minimum, more tightly than psych's optimiser:

    1. minimise f(λ) = Σ_{i<j} (r_ij − λ_iλ_j)² over λ by Newton's method (exact Hessian),
       from psych's starting λ. Where f is stationary, λ is the top eigenvector of
       R − diag(1 − λ²) scaled by √e (Harman 1976), so ψ = 1 − λ² gives F(ψ) = min f: the
       global minimum of psych's objective whenever it lies inside the box;
    2. otherwise — a Heywood case, some λ_i² > 0.995 — minimise F(ψ) itself in the box by
       projected Newton, with the exact gradient of :func:`_minres_fit`.

    psych's L-BFGS-B follows ``FAgr.minres``, which is λ² + ψ − 1 rather than the gradient
    of F: zero at an interior minimum, so the answers agree there, but in a Heywood case
    psych stops short of the minimum (loadings differ by up to 6.6e-3 in the tests).
    """
    r = np.asarray(r, dtype=np.float64)
    smc = _smc(r)
    upper = max(1.0, float(np.max(smc)))
    _, _, lam = _minres_fit(np.clip(1 - smc, _PSI_LOWER, upper), r)
    lam, it, converged = _newton(_loading_objective(r), lam, -np.inf, np.inf, tol, max_iter)
    psi = 1 - lam**2
    top = np.linalg.eigvalsh(r - np.diag(psi))[-1]
    heywood = bool(np.any(psi < _PSI_LOWER))
    if heywood or not converged or abs(top - lam @ lam) > 1e-8 * max(1.0, float(top)):
        psi, it2, converged = _newton(
            _uniqueness_objective(r),
            np.clip(psi, _PSI_LOWER, upper),
            _PSI_LOWER,
            upper,
            tol,
            max_iter,
        )
        it += it2
        _, _, lam = _minres_fit(psi, r)
        heywood = bool(np.any(psi <= _PSI_LOWER))
    if lam.sum() < 0:
        lam = -lam
    res = r - np.outer(lam, lam)
    return OneFactor(
        loadings=tuple(float(v) for v in lam),
        uniquenesses=tuple(float(v) for v in 1 - lam**2),
        objective=float(np.sum(np.tril(res, -1) ** 2)),
        iterations=it,
        converged=converged,
        heywood=heywood,
    )


def omega(x: npt.ArrayLike, *, labels: tuple[str, ...] | None = None, flip: bool = True) -> Omega:
    """McDonald's omega total from a one-factor minres model, as
    ``psych::omega(x, nfactors = 1)`` reports ``omega.tot`` (McDonald 1999; Revelle &
    Zinbarg 2009).

    R is the pairwise correlation matrix; λ, u² = 1 − λ² come from
    :func:`minres_one_factor`. With ``flip`` (psych's default) items with negative loadings
    are reversed first: R ← DRD, λ ← Dλ with D = diag(sign λ). Then::

        omega.tot   = (1'R1 − Σu²) / 1'R1          psych: observed total variance
        omega_model = (Σλ)² / ((Σλ)² + Σu²)        McDonald: model-implied total variance
        omega_h     = (Σλ)² / 1'R1

    The two omega totals differ by the model's off-diagonal residual sum; psych reports
    the first.
    """
    a = _matrix(x)
    names = _labels(labels, a.shape[1])
    _, c, r = _pairwise(a)
    _check_variance(c, names)
    fit = minres_one_factor(r)
    lam = np.array(fit.loadings)
    u2 = np.array(fit.uniquenesses)
    key = np.where(lam < 0, -1.0, 1.0) if flip else np.ones_like(lam)
    r = r * np.outer(key, key)
    lam = lam * key
    vt = float(r.sum())
    gsq = float(lam.sum()) ** 2
    return Omega(
        omega_total=(vt - float(u2.sum())) / vt,
        omega_model=gsq / (gsq + float(u2.sum())),
        omega_h=gsq / vt,
        flipped=tuple(n for n, k in zip(names, key, strict=True) if k < 0),
        factor=fit,
        items=names,
    )


# -- repeated measures: ICC(1) and multilevel reliability -------------------------------


@dataclass(frozen=True)
class ICC:
    """One-way random-effects ICCs of a score across clients (psych ``statsBy``)."""

    icc1: float  # ICC(1): share of variance between clients, one session
    icc2: float  # ICC(2) of statsBy = ICC(1,k): reliability of a client's mean
    ms_between: float
    ms_within: float
    n_clients: int
    n_obs: int
    mean_sessions: float  # N / clients, the k psych uses


def icc1(scores: npt.ArrayLike, clients: npt.ArrayLike) -> ICC:
    """ICC(1) of a scale score across clients, one-way random effects (Shrout & Fleiss 1979
    ICC(1,1); Bliese 2000), computed as ``psych::statsBy(data, group)$ICC1``::

        MSb = Σ_j n_j (m_j − m)² / (G − 1)
        MSw = Σ_j (n_j − 1) s_j² / Σ_j (n_j − 1)
        ICC1 = (MSb − MSw) / (MSb + (k − 1) MSw),   ICC2 = (MSb − MSw) / MSb

    with k = N / G, the mean number of scored sessions per client (psych's choice; for
    balanced data this is exactly Shrout & Fleiss ICC(1,1), ``psych::ICC``'s ICC1). Rows
    with a missing score are left out.
    """
    y = np.asarray(scores, dtype=np.float64).ravel()
    g = np.asarray(clients).ravel()
    if y.shape != g.shape:
        raise ValueError("scores and clients must have the same length")
    keep = ~np.isnan(y)
    y, g = y[keep], g[keep]
    _, grp = np.unique(g, return_inverse=True)
    n = np.bincount(grp).astype(np.float64)
    n_groups, n_obs = n.size, y.size
    if n_groups < 2 or n_obs <= n_groups:
        raise _problem(
            "too-few-clients", "ICC(1) needs at least two clients and a repeated session"
        )
    means = np.bincount(grp, weights=y) / n
    grand = y.mean()
    ms_b = float(np.sum(n * (means - grand) ** 2) / (n_groups - 1))
    ms_w = float(np.sum((y - means[grp]) ** 2) / (n_obs - n_groups))
    k = n_obs / n_groups
    return ICC(
        icc1=(ms_b - ms_w) / (ms_b + (k - 1) * ms_w),
        icc2=(ms_b - ms_w) / ms_b,
        ms_between=ms_b,
        ms_within=ms_w,
        n_clients=n_groups,
        n_obs=n_obs,
        mean_sessions=k,
    )


@dataclass(frozen=True)
class Multilevel:
    """Generalizability of a scale measured on every item at every session, as
    ``psych::mlr`` (alias ``multilevel.reliability``) reports it from its ANOVA."""

    n_clients: int
    n_sessions: int
    n_items: int
    # Variance components (psych ``components``): ID, Time, Items, ID x time, ID x items,
    # time x items, Residual. Estimates may be negative, as in psych.
    var_id: float
    var_time: float
    var_items: float
    var_id_time: float
    var_id_items: float
    var_time_items: float
    var_residual: float
    rkf: float  # RkF: between clients, the mean of k fixed sessions
    r1r: float  # R1R: between clients, one random session
    rkr: float  # RkR: between clients, the mean of k random sessions
    rc: float  # Rc: within clients, reliability of change across sessions
    rkrn: float  # RkRn: as RkR from the nested model id / session-within-id
    rcn: float  # Rcn: as Rc from the nested model


def multilevel_reliability(
    x: npt.ArrayLike, clients: npt.ArrayLike, sessions: npt.ArrayLike
) -> Multilevel:
    """Between- and within-client reliability of a scale over repeated sessions, as
    ``psych::mlr(..., aov = TRUE)`` (Shrout & Lane 2012; Cranford et al. 2006).

    ``x`` is rows × items, one row per client and session; the design must be complete and
    balanced (every client rated at every session value, every item answered), because the
    variance components come from the crossed three-way ANOVA id × time × items. With n
    clients, k sessions, m items and the ANOVA mean squares::

        σ²_id     = (MS_id − MS_id×t − MS_id×i + MS_e) / (k m)
        σ²_t      = (MS_t − MS_id×t − MS_t×i + MS_e) / (n m)
        σ²_i      = (MS_i − MS_id×i − MS_t×i + MS_e) / (n k)
        σ²_id×t   = (MS_id×t − MS_e) / m,   σ²_id×i = (MS_id×i − MS_e) / k
        σ²_t×i    = (MS_t×i − MS_e) / n,    σ²_e = MS_e
        RkF = (σ²_id + σ²_id×i/m) / (σ²_id + σ²_id×i/m + σ²_e/(k m))
        R1R = (σ²_id + σ²_id×i/m) / (σ²_id + σ²_id×i/m + σ²_t + σ²_id×t + σ²_e/m)
        RkR = (σ²_id + σ²_id×i/m) / (σ²_id + σ²_id×i/m + (σ²_t + σ²_id×t)/k + σ²_e/(k m))
        Rc  = σ²_id×t / (σ²_id×t + σ²_e/m)

    (the formulas psych 2.2.9 implements; Shrout & Lane's Table 5.3 has the same shape).

    ``RkRn`` and ``Rcn`` are psych's reliabilities from the nested model (clients, sessions
    within clients, residual) that psych fits with ``nlme::lme`` (REML). On a balanced design
    REML equals the nested ANOVA estimators whenever they are non-negative, and those are
    used here: σ²_id = (MS_id − MS_t(id)) / (k m), σ²_t(id) = (MS_t(id) − MS_w) / m,
    σ²_w = MS_w (items within a session), ``RkRn = σ²_id / (σ²_id + σ²_t(id)/k + σ²_w/(k m))``,
    ``Rcn = σ²_t(id) / (σ²_t(id) + σ²_w/m)``.
    """
    a = _matrix(x)
    cid = np.asarray(clients).ravel()
    sid = np.asarray(sessions).ravel()
    if not (cid.size == sid.size == a.shape[0]):
        raise ValueError("x, clients and sessions must have the same number of rows")
    _, ci = np.unique(cid, return_inverse=True)
    _, si = np.unique(sid, return_inverse=True)
    n, k, m = int(ci.max()) + 1, int(si.max()) + 1, a.shape[1]
    cells = np.bincount(ci * k + si, minlength=n * k)
    if np.isnan(a).any() or np.any(cells != 1):
        raise _problem(
            "unbalanced-design",
            "multilevel reliability needs every client rated once at every session value "
            f"with every item answered ({n} clients × {k} sessions); "
            f"{int(np.sum(cells == 0))} client–session cells are empty, "
            f"{int(np.sum(cells > 1))} repeated, {int(np.isnan(a).any(axis=1).sum())} rows "
            "incomplete",
        )
    if min(n, k, m) < 2:
        raise _problem("too-few-clients", "needs at least two clients, sessions and items")
    y = np.empty((n, k, m))
    y[ci, si] = a
    g = y.mean()
    m_p, m_t, m_i = y.mean(axis=(1, 2)), y.mean(axis=(0, 2)), y.mean(axis=(0, 1))
    m_pt, m_pi, m_ti = y.mean(axis=2), y.mean(axis=1), y.mean(axis=0)
    ms_p = k * m * np.sum((m_p - g) ** 2) / (n - 1)
    ms_t = n * m * np.sum((m_t - g) ** 2) / (k - 1)
    ms_i = n * k * np.sum((m_i - g) ** 2) / (m - 1)
    ms_pt = m * np.sum((m_pt - m_p[:, None] - m_t[None, :] + g) ** 2) / ((n - 1) * (k - 1))
    ms_pi = k * np.sum((m_pi - m_p[:, None] - m_i[None, :] + g) ** 2) / ((n - 1) * (m - 1))
    ms_ti = n * np.sum((m_ti - m_t[:, None] - m_i[None, :] + g) ** 2) / ((k - 1) * (m - 1))
    e = (
        y
        - m_pt[:, :, None]
        - m_pi[:, None, :]
        - m_ti[None, :, :]
        + m_p[:, None, None]
        + m_t[None, :, None]
        + m_i[None, None, :]
        - g
    )
    ms_e = float(np.sum(e**2) / ((n - 1) * (k - 1) * (m - 1)))
    v_p = (ms_p - ms_pt - ms_pi + ms_e) / (k * m)
    v_t = (ms_t - ms_pt - ms_ti + ms_e) / (n * m)
    v_i = (ms_i - ms_pi - ms_ti + ms_e) / (n * k)
    v_pt, v_pi, v_ti = (ms_pt - ms_e) / m, (ms_pi - ms_e) / k, (ms_ti - ms_e) / n
    true = v_p + v_pi / m
    ms_nested = m * np.sum((m_pt - m_p[:, None]) ** 2) / (n * (k - 1))
    ms_within = np.sum((y - m_pt[:, :, None]) ** 2) / (n * k * (m - 1))
    n_p = (ms_p - ms_nested) / (k * m)
    n_t = (ms_nested - ms_within) / m
    return Multilevel(
        n_clients=n,
        n_sessions=k,
        n_items=m,
        var_id=float(v_p),
        var_time=float(v_t),
        var_items=float(v_i),
        var_id_time=float(v_pt),
        var_id_items=float(v_pi),
        var_time_items=float(v_ti),
        var_residual=ms_e,
        rkf=float(true / (true + ms_e / (k * m))),
        r1r=float(true / (true + v_t + v_pt + ms_e / m)),
        rkr=float(true / (true + (v_t + v_pt) / k + ms_e / (k * m))),
        rc=float(v_pt / (v_pt + ms_e / m)),
        rkrn=float(n_p / (n_p + n_t / k + ms_within / (k * m))),
        rcn=float(n_t / (n_t + ms_within / m)),
    )
