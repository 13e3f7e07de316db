"""Unbalanced repeated measures: within- and between-client alphas (Geldhof et al. 2014).

Clients rated at any number of sessions: the saturated two-level model

    y_ij = μ + b_j + w_ij,   b_j ~ N(0, Σ_B),   w_ij ~ N(0, Σ_W)

(row i of client j; every item correlated with every other at both levels) is fitted by
maximum likelihood, and Cronbach's formula is applied to each level's covariance matrix:
α_W from Σ_W (how consistently the items move together from session to session within a
client) and α_B from Σ_B (how reliably the items order the clients). Geldhof, Preacher &
Zyphur (2014), Reliability estimation in a multilevel confirmatory factor analysis
framework, Psychological Methods 19(1), 72–91. Unlike ``psych::mlr`` this needs no session
alignment and no balance. The estimates equal those of R lavaan's two-level saturated model
(``level: 1`` and ``level: 2`` with every covariance, ``cluster =``, ``estimator = "ML"``),
pinned in ``tests/research/test_twolevel.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from alliance_cli.research.psychometrics._base import FloatArray, _labels, _matrix, _problem
from alliance_cli.research.psychometrics.alpha import _alphas
from alliance_cli.research.psychometrics.multilevel import _codes

_TOL = 1e-11  # scoring stops when no (co)variance moves by more than this share of the largest
_MAX_ITER = 500
_SINGULAR = 1e-8  # a matrix with a smaller eigenvalue (relative to the largest) is singular


@dataclass(frozen=True, eq=False)
class WithinBetween:
    """ML estimates of the saturated two-level model (see the module docstring)."""

    within: FloatArray  # Σ_W, items × items
    between: FloatArray  # Σ_B
    mean: FloatArray  # μ
    loglik: float
    n_clients: int  # clients with at least one complete row
    n_rows: int  # complete rows
    iterations: int


@dataclass(frozen=True)
class TwoLevelAlpha:
    """Cronbach's alpha of Σ_W and of Σ_B (Geldhof et al. 2014), and what they rest on."""

    alpha_within: float
    alpha_between: float
    n_clients: int
    n_rows: int


def two_level_alpha(
    x: npt.ArrayLike, clients: npt.ArrayLike, labels: tuple[str, ...] | None = None
) -> TwoLevelAlpha:
    """α within and α between clients of a rows × items matrix of keyed items; rows with a
    blank item are left out. Refusals as :func:`within_between`."""
    return _alpha(within_between_of(x, clients, labels))


def alpha_within_between(
    n: npt.ArrayLike,
    sums: npt.ArrayLike,
    sscp: npt.ArrayLike,
    labels: tuple[str, ...] | None = None,
) -> TwoLevelAlpha:
    """α within and α between clients from the per-client sufficient statistics of
    :func:`within_between` (what ``alliance reliability`` streams). Refusals as there."""
    return _alpha(within_between(n, sums, sscp, labels))


def _alpha(fit: WithinBetween) -> TwoLevelAlpha:
    return TwoLevelAlpha(_alphas(fit.within)[0], _alphas(fit.between)[0], fit.n_clients, fit.n_rows)


def within_between_of(
    x: npt.ArrayLike, clients: npt.ArrayLike, labels: tuple[str, ...] | None = None
) -> WithinBetween:
    """:func:`within_between` of the complete rows of ``x`` (rows × items) grouped by
    ``clients`` (labels or integer codes, one per row)."""
    a = _matrix(x, copy=False)
    g = np.asarray(clients).ravel()
    if g.size != a.shape[0]:
        raise ValueError("x and clients must have the same number of rows")
    keep = ~np.isnan(a).any(axis=1)
    a, codes = a[keep], _codes(g[keep])
    n = np.bincount(codes, minlength=1).astype(np.float64)
    sums = np.stack([np.bincount(codes, a[:, j], n.size) for j in range(a.shape[1])], 1)
    return within_between(n, sums, a.T @ a, labels)


def within_between(
    n: npt.ArrayLike,
    sums: npt.ArrayLike,
    sscp: npt.ArrayLike,
    labels: tuple[str, ...] | None = None,
) -> WithinBetween:
    """ML estimates of Σ_W, Σ_B and μ from per-client sufficient statistics: ``n`` complete
    rows of each client (G,), ``sums`` their item sums (G, p), ``sscp`` the raw
    cross-products Σ y yᵀ of all complete rows (p, p). Clients without rows are ignored.

    With client means ȳ_j, S_W = Σ_ij (y_ij − ȳ_j)(y_ij − ȳ_j)ᵀ and V_n = Σ_B + Σ_W / n, the
    log-likelihood is (N rows, G clients)

        −½ [N p log 2π + (N − G) log|Σ_W| + tr(Σ_W⁻¹ S_W)
            + Σ_j (p log n_j + log|V_nj| + (ȳ_j − μ)ᵀ V_nj⁻¹ (ȳ_j − μ))].

    It is maximised by Fisher scoring over vech Σ_W and vech Σ_B, with μ at its generalised
    least-squares estimate for the Σs at hand (which maximises the likelihood over μ); the
    clients are grouped by their number of rows, so that a step costs the same for ten
    clients or a million. Σ_B is not held positive definite (as in lavaan), so that an
    estimate beyond the boundary shows as one and is refused. The start, Σ_W = S_W / (N − G)
    and Σ_B = cov(ȳ) − Σ_W · mean(1 / n_j), is the maximum itself on balanced data; from it,
    as lavaan from its start, the nearest maximum is found (beyond the cone the likelihood
    can rise without bound, so "the" maximum is the one inside it). On 80 random unbalanced
    sets (2–8 items, 4–150 clients) this agreed with lavaan 0.6.14 to 1e-4 wherever lavaan
    gave a positive definite Σ_B, and refused wherever it did not or did not converge.

    Raises :class:`~alliance_cli.errors.ResponseError` ("not computed, because …") for
    fewer than two clients with two rows, no more clients than items, a singular Σ_W (an
    item that never varies within a client, items that are linearly dependent) and a Σ_B
    at the boundary (not positive definite: some combination of items does not vary between
    clients beyond what the within-client variance explains), and a fit that meets only
    numerically singular matrices (taken as outside the parameter space; never a
    ``LinAlgError``).
    """
    nn = np.asarray(n, dtype=np.float64).ravel()
    s = np.asarray(sums, dtype=np.float64)
    if s.ndim != 2 or s.shape[0] != nn.size:
        raise ValueError("sums must be clients × items, one row per entry of n")
    p = s.shape[1]
    xx = np.asarray(sscp, dtype=np.float64)
    if xx.shape != (p, p):
        raise ValueError("sscp must be items × items")
    names = _labels(labels, p)
    used = nn > 0
    nn, s = nn[used], s[used]
    n_rows, n_clients = float(nn.sum()), nn.size
    repeated = int(np.sum(nn >= 2))
    if repeated < 2:
        raise _problem(
            "too-few-clients",
            "not computed, because fewer than two clients have two or more complete rows "
            f"(here {repeated})",
        )
    if n_clients <= p:
        raise _problem(
            "too-few-clients",
            f"not computed, because there are no more clients than items ({n_clients} "
            f"clients with a complete row, {p} items)",
        )
    grand = s.sum(axis=0) / n_rows
    c = s / nn[:, None] - grand  # client means, centred on the grand mean
    s_w = xx - n_rows * np.outer(grand, grand) - (c * nn[:, None]).T @ c
    s_w = (s_w + s_w.T) / 2
    _check_within(s_w, xx, names)
    sizes, group, counts_int = np.unique(nn, return_inverse=True, return_counts=True)
    counts = counts_int.astype(np.float64)
    t: FloatArray = np.stack([np.bincount(group, c[:, j], sizes.size) for j in range(p)], 1)
    by_size = np.split(c[np.argsort(group, kind="stable")], np.cumsum(counts_int)[:-1])
    q = np.stack([part.T @ part for part in by_size])
    lik = _Likelihood(sizes, counts, t, q, s_w, n_rows)
    w, b, (ll, mu), it = _fit(lik, *_start(sizes, counts, q, s_w, n_rows))
    lam = np.linalg.eigvalsh(b)
    if lam[0] <= _SINGULAR * abs(lam[-1]):
        # Not converged there: the likelihood keeps rising as Σ_B leaves the cone (it is
        # unbounded when a client's session count is shared by fewer clients than items).
        why = f"smallest eigenvalue {lam[0]:.3g}" if it < _MAX_ITER else "no maximum inside it"
        raise _problem(
            "between-boundary",
            "not computed, because the between-client covariance matrix is not positive "
            f"definite ({why}): for some item or combination of items the client means vary "
            "no more than their sessions explain",
        )
    if it >= _MAX_ITER:
        raise _problem(
            "no-convergence",
            f"not computed, because the estimates did not converge in {_MAX_ITER} steps",
        )
    return WithinBetween(w, b, mu + grand, ll, n_clients, int(n_rows), it)


def _start(
    sizes: FloatArray, counts: FloatArray, q: FloatArray, s_w: FloatArray, n_rows: float
) -> tuple[FloatArray, FloatArray]:
    """Σ_W = S_W / (N − G) and Σ_B = cov(ȳ) − Σ_W · mean(1 / n_j), the ML estimates on
    balanced data; Σ_B's spectrum is lifted when that is outside the parameter space."""
    n_clients = float(counts.sum())
    w = s_w / (n_rows - n_clients)
    cov_means = q.sum(axis=0) / n_clients
    b = cov_means - w * float(np.sum(counts / sizes)) / n_clients
    if _pd(b + w / sizes[:, None, None]):
        return w, b
    lam, vec = np.linalg.eigh(b)
    floor = 1e-2 * max(float(np.trace(cov_means)) / len(lam), 1e-12)
    return w, (vec * np.maximum(lam, floor)) @ vec.T


def _check_within(s_w: FloatArray, raw: FloatArray, names: tuple[str, ...]) -> None:
    # Rounding leaves a constant item a within scatter of ~1e-16 of its raw sum of squares.
    flat = [names[j] for j in range(len(names)) if not s_w[j, j] > 1e-12 * raw[j, j]]
    if flat:
        raise _problem(
            "within-singular",
            "not computed, because the within-client covariance matrix is singular: "
            f"item {', '.join(flat)} never varies within a client",
        )
    if _min_eig(s_w) < _SINGULAR:
        raise _problem(
            "within-singular",
            "not computed, because the within-client covariance matrix is singular: "
            "the items are linearly dependent within clients (too few repeated sessions, "
            "or one item a sum of others)",
        )


def _min_eig(c: FloatArray) -> float:
    """Smallest eigenvalue of the correlation matrix of ``c`` (0 when a variance is 0)."""
    d = np.sqrt(np.diag(c))
    if not np.all(d > 0):
        return 0.0
    return float(np.linalg.eigvalsh(c / np.outer(d, d))[0])


def _vech_information(a: FloatArray, weights: FloatArray) -> FloatArray:
    """Σ_k weights_k · ½ Dᵀ (A_k ⊗ A_k) D for symmetric A_k (K × p × p), D the duplication
    matrix: the entry of vech pairs (i, j), (k, l) is ½ c_ij c_kl (A_ik A_jl + A_il A_jk),
    c = 2 off the diagonal and 1 on it."""
    k, p = a.shape[0], a.shape[1]
    flat = a.reshape(k, p * p)
    t = ((flat.T * weights) @ flat).reshape(p, p, p, p)  # Σ w A_ij A_ab, one matrix product
    i, j = np.triu_indices(p)
    c = np.where(i == j, 1.0, 2.0)
    ik = t[i[:, None], i[None, :], j[:, None], j[None, :]]
    il = t[i[:, None], j[None, :], j[:, None], i[None, :]]
    info: FloatArray = 0.5 * np.outer(c, c) * (ik + il)
    return info


class _Likelihood:
    """The log-likelihood of θ = (Σ_W, Σ_B) with μ at its GLS estimate (which maximises it
    for given Σ_W, Σ_B), its gradient and expected information for vech Σ_W, vech Σ_B.
    Clients are grouped by their number of rows: size group k has u_k rows per client,
    G_k clients, t_k = Σ c_j and q_k = Σ c_j c_jᵀ of the centred client means c_j."""

    def __init__(
        self,
        sizes: FloatArray,
        counts: FloatArray,
        t: FloatArray,
        q: FloatArray,
        s_w: FloatArray,
        n_rows: float,
    ) -> None:
        self.u, self.g = sizes[:, None, None], counts[:, None, None]
        self.sizes, self.counts, self.t, self.q, self.s_w = sizes, counts, t, q, s_w
        self.df_w = n_rows - float(counts.sum())  # N − G
        p = s_w.shape[0]
        self.const = n_rows * p * math.log(2 * math.pi) + float(np.sum(counts * p * np.log(sizes)))

    def at(self, w: FloatArray, b: FloatArray) -> tuple[float, FloatArray] | None:
        """Log-likelihood and μ (centred) at θ; None outside the parameter space (Σ_W or a
        V_k = Σ_B + Σ_W / u_k not positive definite). Keeps what :meth:`scoring` needs."""
        v = b + w / self.u
        if not (_pd(w) and _pd(v)):
            return None
        try:  # positive definite, yet numerically singular: outside as well
            self.w_inv: FloatArray = np.linalg.inv(w).astype(np.float64, copy=False)
            self.v_inv: FloatArray = np.linalg.inv(v).astype(np.float64, copy=False)
            mu = np.linalg.solve(
                np.sum(self.g * self.v_inv, axis=0), np.einsum("kij,kj->i", self.v_inv, self.t)
            )
        except np.linalg.LinAlgError:
            return None
        tm = self.t[:, :, None] * mu
        self.m = self.q - tm - tm.transpose(0, 2, 1) + self.g * np.outer(mu, mu)
        ll = -0.5 * (
            self.const
            + self.df_w * np.linalg.slogdet(w)[1]
            + np.sum(self.w_inv * self.s_w)
            + np.sum(self.counts * np.linalg.slogdet(v)[1])
            + np.sum(self.v_inv * self.m)
        )
        return float(ll), mu

    def scoring(self) -> FloatArray:
        """The Fisher scoring step I⁻¹ ∂ll/∂θ at the θ of the last :meth:`at`, θ = (vech Σ_W,
        vech Σ_B). A level with covariance A, scatter S and count c adds −½ (c log|A| +
        tr(A⁻¹ S)) to ll, whose gradient is −½ Dᵀ vec(c A⁻¹ − A⁻¹ S A⁻¹) and expected
        information ½ c Dᵀ (A⁻¹ ⊗ A⁻¹) D; V_k depends on Σ_W with weight 1 / u_k."""
        wi, vi, u, g = self.w_inv, self.v_inv, self.sizes, self.counts
        h_v = g[:, None, None] * vi - vi @ self.m @ vi
        h_w = self.df_w * wi - wi @ self.s_w @ wi + np.sum(h_v / u[:, None, None], axis=0)
        i, j = np.triu_indices(wi.shape[0])
        c = np.where(i == j, 1.0, 2.0)
        score = -0.5 * np.concatenate([c * h_w[i, j], c * np.sum(h_v, axis=0)[i, j]])
        wb = _vech_information(vi, g / u)
        info = np.block(
            [
                [
                    _vech_information(wi[None], np.array([self.df_w]))
                    + _vech_information(vi, g / u**2),
                    wb,
                ],
                [wb, _vech_information(vi, g)],
            ]
        )
        try:
            step: FloatArray = np.linalg.solve(info, score)
        except np.linalg.LinAlgError:
            raise _problem(
                "singular-information",
                "not computed, because the information matrix of the estimates is singular "
                "(the data cannot tell some of the within- and between-client covariances "
                "apart)",
            ) from None
        return step


def _fit(
    lik: _Likelihood, w: FloatArray, b: FloatArray
) -> tuple[FloatArray, FloatArray, tuple[float, FloatArray], int]:
    """Fisher scoring from (Σ_W, Σ_B), each step halved until it stays in the parameter
    space and does not lower the likelihood; Σ_B is not held positive definite (as lavaan),
    so that a Σ_B beyond the boundary shows. Returns Σ_W, Σ_B, (ll, centred μ) and the
    number of steps (``_MAX_ITER`` when it did not converge)."""
    p = w.shape[0]
    rows, cols = np.triu_indices(p)
    here = lik.at(w, b)
    if here is None:
        raise _problem(
            "within-singular",
            "not computed, because the starting covariance matrices are numerically singular",
        )
    for it in range(1, _MAX_ITER + 1):
        step = lik.scoring()
        scale = max(float(np.abs(w).max()), float(np.abs(b).max()))
        dw, db = np.zeros((p, p)), np.zeros((p, p))
        dw[rows, cols] = step[: rows.size]
        db[rows, cols] = step[rows.size :]
        dw, db = dw + np.triu(dw, 1).T, db + np.triu(db, 1).T
        for _ in range(40):
            there = lik.at(w + dw, b + db)
            if there is not None and there[0] >= here[0] - _TOL * abs(here[0]):
                break
            dw, db = dw / 2, db / 2
        else:
            break
        w, b, here = w + dw, b + db, there
        if float(np.abs(step).max()) <= _TOL * scale:
            return w, b, here, it
    return w, b, here, _MAX_ITER


def _pd(c: FloatArray) -> bool:
    """Whether ``c`` (a matrix, or a stack of them) is positive definite."""
    return bool(np.all(np.isfinite(c)) and np.all(np.linalg.eigvalsh(c)[..., 0] > 0))
