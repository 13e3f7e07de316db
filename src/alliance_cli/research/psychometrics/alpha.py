"""Cronbach's alpha as ``psych::alpha`` reports it, with Feldt's confidence interval."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from alliance_cli.research.psychometrics._base import (
    FloatArray,
    Pairwise,
    Use,
    _check_variance,
    _labels,
    _matrix,
    _rows,
    pairwise,
)

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
    # A total that never varies (1'C1 = 0, or 1'R1 = 0 when standardized) has no alpha: NaN,
    # where psych divides by zero into -Inf.
    total, total_std = float(c.sum()), float(r.sum())
    raw = (1 - np.trace(c) / total) * k / (k - 1) if total else math.nan
    std = (1 - k / total_std) * k / (k - 1) if total_std else math.nan
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
    a = _rows(_matrix(x, copy=False), use)  # pairwise only reads it
    return alpha_of(pairwise(a), labels=labels, use=use, level=level)


def alpha_of(
    p: Pairwise,
    *,
    labels: tuple[str, ...] | None = None,
    use: Use = "pairwise",
    level: float = 0.95,
) -> Alpha:
    """:func:`alpha` from the items' moments (:func:`~alliance_cli.research.psychometrics.pairwise`,
    on the rows ``use`` keeps), so that one pass over the rows serves every statistic.

    The item statistics come from sums of C for every item at once, with c_i = 1'C_i the
    column sums, T = 1'C1 and the same for R (psych ``alpha.1`` on each C_(−i))::

        1'C_(−i)1 = T − 2 c_i + C_ii,   tr C_(−i) = tr C − C_ii
        alpha if deleted = (k − 1)/(k − 2) · (1 − tr C_(−i) / 1'C_(−i)1)
        std alpha if deleted = (k − 1)/(k − 2) · (1 − (k − 1) / 1'R_(−i)1)
    """
    c = p.cov
    k = c.shape[0]
    names = _labels(labels, k)
    _check_variance(c, names)
    raw, std = _alphas(c)
    var = np.diag(c)
    col = c.sum(axis=0)
    rest = c.sum() - col - c.sum(axis=1) + var  # 1'C_(−i)1 (C need not be exactly symmetric)
    # NaN, not an error, where a pairwise C is not positive definite and 1'C_(−i)1 < 0.
    with np.errstate(invalid="ignore", divide="ignore"):
        r_drop = (col - var) / np.sqrt(var * rest)
        if k > 2:
            d = np.sqrt(var)
            r = c / np.outer(d, d)
            r_rest = r.sum() - r.sum(axis=0) - r.sum(axis=1) + np.diag(r)
            drop_raw = (1 - (np.trace(c) - var) / rest) * (k - 1) / (k - 2)
            drop_std = (1 - (k - 1) / r_rest) * (k - 1) / (k - 2)
        else:
            drop_raw = drop_std = np.full(k, math.nan)
    stats = tuple(
        ItemStats(
            item=names[i],
            n=int(p.n[i, i]),
            mean=float(p.mean[i]),
            sd=float(np.sqrt(var[i])),
            r_drop=float(r_drop[i]),
            alpha_if_deleted=float(drop_raw[i]),
            std_alpha_if_deleted=float(drop_std[i]),
        )
        for i in range(k)
    )
    lower, upper = feldt_ci(raw, p.n_rows, k, level)
    return Alpha(raw, std, lower, upper, level, p.n_rows, k, use, stats)


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


@lru_cache(maxsize=64)  # scales of equal length on the same rows share their quantiles
def _f_quantile(p: float, d1: float, d2: float) -> float:
    """Quantile of the F distribution: solve ``P(F ≤ f) = I_t(d1/2, d2/2) = p`` for
    ``t = d1 f / (d1 f + d2)``, then ``f = d2 t / (d1 (1 − t))``.

    Newton's method on the CDF, whose derivative is the beta density
    t^(a−1) (1 − t)^(b−1) / B(a, b), until its step is at rounding level; every evaluation
    narrows a bracket [lo, hi] of the root, and bisection takes over when a step would leave
    it or Newton has not converged in 50 steps (then the answer is where the bracket has
    shrunk to adjacent floats)."""
    a, b = d1 / 2, d2 / 2
    log_beta = math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
    lo, hi = 0.0, 1.0
    t = a / (a + b)  # the mean of the beta distribution
    for it in range(400):
        gap = _beta_inc(a, b, t) - p
        if gap == 0.0:
            break
        if gap < 0:
            lo = t
        else:
            hi = t
        new = (lo + hi) / 2
        if it < 50:
            density = math.exp((a - 1) * math.log(t) + (b - 1) * math.log1p(-t) - log_beta)
            step = gap / density if density > 0 else math.inf
            if abs(step) <= 4 * math.ulp(t):
                break
            if lo < t - step < hi:
                new = t - step
        if new in (lo, hi):
            t = new
            break
        t = new
    return d2 * t / (d1 * (1 - t))
