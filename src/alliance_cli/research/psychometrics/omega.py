"""McDonald's omega total from a one-factor minres solution, as ``psych::omega``."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from alliance_cli.research.psychometrics._base import (
    _PSI_LOWER,
    FloatArray,
    Pairwise,
    _check_variance,
    _labels,
    _matrix,
    _problem,
    pairwise,
)

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
    """Squared multiple correlations ``1 − 1 / diag(R⁻¹)`` (psych ``smc``). A singular R
    can give a zero on that diagonal: −inf, which the caller's bounds clip as psych's
    ``smc`` clamps it to 0 (no warning)."""
    with np.errstate(divide="ignore"):
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
    return omega_of(pairwise(_matrix(x, copy=False)), labels=labels, flip=flip)


def omega_of(p: Pairwise, *, labels: tuple[str, ...] | None = None, flip: bool = True) -> Omega:
    """:func:`omega` from the items' moments
    (:func:`~alliance_cli.research.psychometrics.pairwise`), so that one pass over the rows
    serves every statistic."""
    names = _labels(labels, p.cov.shape[0])
    _check_variance(p.cov, names)
    r = p.cor
    _check_correlations(r, names)
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


def _check_correlations(r: FloatArray, names: tuple[str, ...]) -> None:
    """Every pairwise correlation exists: a pair that fewer than two rows answer together,
    or where one item never varies on the rows answering both, has none (NaN), and the
    factor model of a matrix with a hole is not defined."""
    holes = [(i, j) for i, j in zip(*np.nonzero(~np.isfinite(r)), strict=True) if i < j]
    if holes:
        pairs = ", ".join(f"{names[i]} and {names[j]}" for i, j in holes[:5])
        more = f" (and {len(holes) - 5} more pairs)" if len(holes) > 5 else ""
        raise _problem(
            "no-correlation",
            f"no correlation between items {pairs}{more} (too few rows answer both, or one"
            " of them never varies on those rows); omega is not defined",
        )
