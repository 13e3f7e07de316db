"""Polychoric correlations by the two-step method, as ``psych::polychoric`` (psych 2.2.9).

Olsson (1979): each item's answers are taken as a continuous standard-normal response cut
at thresholds τ; the thresholds come from the cumulative proportions of its answers
(τ_c = Φ⁻¹(P(X ≤ c))), then for each pair the correlation ρ that maximises the likelihood
of the pair's cross table under the bivariate normal, the thresholds held fixed::

    −log L(ρ) = −Σ_ab p_ab log P_ab(ρ),
    P_ab(ρ) = Φ₂(τ_a, τ'_b; ρ) − Φ₂(τ_a−1, τ'_b; ρ) − Φ₂(τ_a, τ'_b−1; ρ) + Φ₂(τ_a−1, τ'_b−1; ρ)

with p_ab the table's proportions. Followed exactly where psych makes a choice:

* ρ is found by R's ``optimize`` on (−1, 1) — Brent's (1973) golden-section and parabolic
  search, ported from R's ``Brent_fmin`` with its default tolerance ε^¼ — so the iterates
  are R's; Φ₂ is Genz's (2004) BVND (Drezner & Wesolowsky 1990), exact to ~1e-15, where
  psych calls ``mnormt::sadmvn``;
* missing answers are handled pairwise: thresholds from every answer to the item, each
  pair's table from the rows answering both (psych's ``tabulate`` drops NA);
* when every item's highest answer given is the same ("global"), the thresholds are the
  item's own and cells with no answer simply contribute nothing; otherwise (psych warns
  "The items do not have an equal number of response alternatives, global set to FALSE")
  each pair's table loses its empty rows and columns, a zero cell becomes 0.5 answers
  (``correct = .5``, psych's continuity correction, counted in ``corrected_cells``), and the
  thresholds come from that table's margins;
* a matrix that is not positive definite (smallest eigenvalue below machine ε) is smoothed
  as ``psych::cor.smooth``: eigenvalues below 1e-12 set to 1e-10, rescaled to sum to the
  number of items, the matrix rebuilt and rescaled to unit diagonal.

Memory does not grow with the rows: :class:`CategorySums` keeps, per pair of items, their
cross table of counts (one ``np.bincount`` per item per block of rows) and, per item, its
counts. Items with more than :data:`MAX_CATEGORIES` response points are not treated as
ordinal (psych's ``max.cat = 8``: "polychoric is probably not needed").
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
import numpy.typing as npt

from alliance_cli.research.psychometrics._base import FloatArray, _problem

IntArray = npt.NDArray[np.int64]

MAX_CATEGORIES = 8
"""psych::polychoric's ``max.cat``: more response points than this are refused."""
CORRECT = 0.5
"""psych's ``correct``: what a zero cell becomes (in answers) off the global path."""
_TOL = np.finfo(np.float64).eps ** 0.25  # R optimize's default tolerance
_ERFC = np.frompyfunc(math.erfc, 1, 1)
_INV = NormalDist().inv_cdf  # Wichura's AS 241, as R's qnorm


def ndtr(x: npt.ArrayLike) -> FloatArray:
    """Φ(x), the standard normal distribution function (``pnorm``), elementwise."""
    return np.asarray(_ERFC(-np.asarray(x, dtype=np.float64) / math.sqrt(2)), dtype=np.float64) / 2


def ndtri(p: npt.ArrayLike) -> FloatArray:
    """Φ⁻¹(p) (``qnorm``) elementwise: −inf at 0, inf at 1, NaN outside [0, 1]."""
    a = np.asarray(p, dtype=np.float64)
    out = np.full(a.shape, np.nan)
    out[a == 0] = -np.inf
    out[a == 1] = np.inf
    inner = (a > 0) & (a < 1)
    out[inner] = [_INV(float(v)) for v in a[inner]]
    return out


# -- the bivariate normal distribution --------------------------------------------------

_LEGENDRE = {n: np.polynomial.legendre.leggauss(n) for n in (6, 12, 20)}
_NODES = {
    n: (x[x < 0], w[x < 0]) for n, (x, w) in _LEGENDRE.items()
}  # Genz's half rules: the negative nodes of the 6-, 12- and 20-point Gauss–Legendre rules


def bvn_upper(h: FloatArray, k: FloatArray, r: float) -> FloatArray:
    """P(X > h, Y > k) for standard bivariate normal X, Y with correlation ``r``: Genz's
    (2004) BVND, the Drezner & Wesolowsky (1990) method with Gauss–Legendre rules of 6,
    12 or 20 points by |r| (< .3, < .75, else), accurate to about 1e-15; vectorised over
    ``h`` and ``k`` (finite)."""
    h = np.asarray(h, dtype=np.float64)
    k = np.asarray(k, dtype=np.float64)
    x, w = _NODES[6 if abs(r) < 0.3 else 12 if abs(r) < 0.75 else 20]
    two_pi = 2 * math.pi
    hk = h * k
    if abs(r) < 0.925:
        hs = (h * h + k * k) / 2
        asr = math.asin(r)
        sn = np.sin(asr * np.concatenate([x + 1, -x + 1]) / 2)
        ww = np.concatenate([w, w])
        terms = np.exp((sn * hk[..., None] - hs[..., None]) / (1 - sn * sn))
        return np.asarray(terms @ ww * asr / (2 * two_pi) + ndtr(-h) * ndtr(-k))
    if r < 0:
        k = -k
        hk = -hk
    bvn = np.zeros(np.broadcast(h, k).shape)
    if abs(r) < 1:
        a_s = (1 - r) * (1 + r)
        a = math.sqrt(a_s)
        bs = (h - k) ** 2
        c = (4 - hk) / 8
        d = (12 - hk) / 16
        bvn = (
            a
            * np.exp(-(bs / a_s + hk) / 2)
            * (1 - c * (bs - a_s) * (1 - d * bs / 5) / 3 + c * d * a_s * a_s / 5)
        )
        b = np.sqrt(bs)
        with np.errstate(over="ignore", invalid="ignore"):  # used only where hk > −160
            tail = (
                np.exp(-hk / 2)
                * math.sqrt(two_pi)
                * ndtr(-b / a)
                * b
                * (1 - c * bs * (1 - d * bs / 5) / 3)
            )
        bvn = bvn - np.where(hk > -160, tail, 0.0)
        a /= 2
        xs = (a * (x + 1)) ** 2
        rs = np.sqrt(1 - xs)
        bse, hke, ce, de = (v[..., None] for v in (bs, hk, c, d))
        bvn = bvn + (
            a
            * w
            * (
                np.exp(-bse / (2 * xs) - hke / (1 + rs)) / rs
                - np.exp(-(bse / xs + hke) / 2) * (1 + ce * xs * (1 + de * xs))
            )
        ).sum(axis=-1)
        xs = a_s * (-x + 1) ** 2 / 4
        rs = np.sqrt(1 - xs)
        bvn = bvn + (
            a
            * w
            * np.exp(-(bse / xs + hke) / 2)
            * (np.exp(-hke * (1 - rs) / (2 * (1 + rs))) / rs - (1 + ce * xs * (1 + de * xs)))
        ).sum(axis=-1)
        bvn = -bvn / two_pi
    if r > 0:
        return np.asarray(bvn + ndtr(-np.maximum(h, k)))
    return np.asarray(-bvn + np.maximum(0.0, ndtr(-h) - ndtr(-k)))


def bvn_cdf(h: npt.ArrayLike, k: npt.ArrayLike, r: float) -> FloatArray:
    """Φ₂(h, k; r) = P(X ≤ h, Y ≤ k), infinite limits allowed."""
    h = np.asarray(h, dtype=np.float64)
    k = np.asarray(k, dtype=np.float64)
    h, k = np.broadcast_arrays(h, k)
    out = np.zeros(h.shape)
    inner = np.isfinite(h) & np.isfinite(k)
    if inner.any():
        out[inner] = bvn_upper(-h[inner], -k[inner], r)
    # An infinite limit: the other margin (h = +∞), or nothing (−∞).
    out = np.where(h == np.inf, ndtr(k), out)
    out = np.where(k == np.inf, ndtr(h), out)
    out = np.where((h == -np.inf) | (k == -np.inf), 0.0, out)
    return np.asarray(np.where(np.isnan(h) | np.isnan(k), np.nan, out))


def cell_probabilities(rows: FloatArray, cols: FloatArray, rho: float) -> FloatArray:
    """The bivariate-normal probabilities of a cross table with thresholds ``rows`` (R − 1
    of them) and ``cols`` (C − 1): R × C cells (psych ``polyBinBvn``)."""
    rc = np.concatenate([[-np.inf], rows, [np.inf]])
    cc = np.concatenate([[-np.inf], cols, [np.inf]])
    grid = bvn_cdf(rc[:, None], cc[None, :], rho)
    return np.asarray(np.diff(np.diff(grid, axis=0), axis=1))


# -- R's optimize -------------------------------------------------------------------------


def brent_fmin(f: Callable[[float], float], ax: float, bx: float, tol: float = _TOL) -> float:
    """The minimum of ``f`` on (ax, bx) by Brent's (1973) method, a line-for-line port of
    R's ``Brent_fmin`` (``optimize``), so that the points evaluated are R's."""
    c = (3.0 - math.sqrt(5.0)) * 0.5
    eps = math.sqrt(np.finfo(np.float64).eps)
    a, b = ax, bx
    v = w = x = a + c * (b - a)
    d = e = 0.0
    fx = fv = fw = f(x)
    tol3 = tol / 3.0
    while True:
        xm = (a + b) * 0.5
        tol1 = eps * abs(x) + tol3
        t2 = tol1 * 2.0
        if abs(x - xm) <= t2 - (b - a) * 0.5:
            return x
        p = q = r = 0.0
        if abs(e) > tol1:  # fit a parabola
            r = (x - w) * (fx - fv)
            q = (x - v) * (fx - fw)
            p = (x - v) * q - (x - w) * r
            q = (q - r) * 2.0
            if q > 0.0:
                p = -p
            else:
                q = -q
            r = e
            e = d
        if abs(p) >= abs(q * 0.5 * r) or p <= q * (a - x) or p >= q * (b - x):
            e = (b - x) if x < xm else (a - x)  # a golden-section step
            d = c * e
        else:  # a parabolic-interpolation step
            d = p / q
            u = x + d
            if u - a < t2 or b - u < t2:  # not too close to the ends
                d = tol1 if x < xm else -tol1
        if abs(d) >= tol1:
            u = x + d
        elif d > 0.0:
            u = x + tol1
        else:
            u = x - tol1
        fu = f(u)
        if fu <= fx:
            if u < x:
                b = x
            else:
                a = x
            v, w, x = w, x, u
            fv, fw, fx = fw, fx, fu
        else:
            if u < x:
                a = u
            else:
                b = u
            if fu <= fw or w == x:
                v, fv = w, fw
                w, fw = u, fu
            elif fu <= fv or v in (x, w):
                v, fv = u, fu


# -- one pair ------------------------------------------------------------------------------


def _neg_loglik(p: FloatArray, rows: FloatArray, cols: FloatArray) -> Callable[[float], float]:
    """psych's ``polyF``: −Σ p log P(ρ), cells with P ≤ 0 (or a non-finite log) left out."""
    used = p != 0  # 0 · log P is 0 whatever P is (psych: NA only where P ≤ 0)

    def f(rho: float) -> float:
        cells = cell_probabilities(rows, cols, rho)[used]
        with np.errstate(divide="ignore", invalid="ignore"):
            logs = np.log(np.where(cells > 0, cells, np.nan))
        keep = np.isfinite(logs)
        return float(-np.sum(p[used][keep] * logs[keep]))

    return f


def _thresholds(proportions: FloatArray) -> FloatArray:
    """Φ⁻¹ of the cumulative proportions but the last (psych: ``qnorm(cumsum(p))``); a
    cumulative proportion past 1 gives NaN, as R's ``qnorm``."""
    cum = np.cumsum(proportions)[:-1]
    with np.errstate(invalid="ignore"):
        return np.where(cum > 1, np.nan, ndtri(np.minimum(cum, 1.0)))


def pair_rho(
    table: IntArray, rows: FloatArray | None = None, cols: FloatArray | None = None
) -> tuple[float, int]:
    """ρ of one cross table of counts and whether a zero cell was corrected (psych
    ``polyc``). With the items' own thresholds (``rows``, ``cols``: psych's global path)
    the table is used as it is; without them, its empty rows and columns are dropped, zero
    cells set to 0.5 answers, and the thresholds taken from its margins. NaN where the pair
    has no rows, or fewer than two categories are left."""
    tot = float(table.sum())
    if tot == 0:
        return math.nan, 0
    p = table / tot
    fixed = 0
    if rows is None or cols is None:
        p = p[p.any(axis=1)][:, p.any(axis=0)]
        if (p == 0).any():
            fixed = 1
            p = np.where(p == 0, CORRECT / tot, p)
        if min(p.shape) < 2:
            return math.nan, fixed
        rows, cols = _thresholds(p.sum(axis=1)), _thresholds(p.sum(axis=0))
    return brent_fmin(_neg_loglik(p, rows, cols), -1.0, 1.0), fixed


# -- the matrix ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Polychoric:
    """The polychoric correlations of k items with categories 0..K−1 (codes)."""

    rho: FloatArray
    """k × k, smoothed where ``smoothed`` (what psych returns as ``rho``)."""
    raw: FloatArray
    """k × k before smoothing (equal to ``rho`` when not smoothed)."""
    tau: FloatArray
    """k × (K − 1) thresholds from each item's answers (psych ``tau``; ±inf past an end
    category the item's answers do not reach)."""
    n: IntArray
    """k × k rows answering both items."""
    global_thresholds: bool
    """Every item's highest answer the same: psych's ``global = TRUE`` path."""
    corrected_pairs: int
    """Pairs whose table had a zero cell corrected (off the global path)."""
    smoothed: bool
    min_eigenvalue: float
    """Smallest eigenvalue of ``raw`` (NaN where a correlation is missing)."""


def cor_smooth(r: FloatArray, eig_tol: float = 1e-12) -> tuple[FloatArray, bool, float]:
    """``psych::cor.smooth``: when the smallest eigenvalue is below machine ε, eigenvalues
    below ``eig_tol`` become 100 · eig_tol, all are rescaled to sum to k, and the rebuilt
    matrix is rescaled to unit diagonal (``cov2cor``). Returns the matrix, whether it was
    smoothed and the smallest eigenvalue before."""
    vals, vecs = np.linalg.eigh(r)
    low = float(vals[0])
    if low >= np.finfo(np.float64).eps:
        return r, False, low
    vals = np.where(vals < eig_tol, 100 * eig_tol, vals)
    vals = vals * r.shape[0] / vals.sum()
    m = (vecs * vals) @ vecs.T
    d = np.sqrt(np.diag(m))
    return m / np.outer(d, d), True, low


def polychoric_of(
    tables: IntArray, margins: IntArray, *, own_thresholds: bool | None = None
) -> Polychoric:
    """The polychoric matrix from counts: ``tables[i, j]`` the K × K cross table of items i
    and j (rows i's category, columns j's), ``margins[i]`` item i's counts of each category
    over every row answering it. Raises a ``ResponseError`` for an item with fewer than two
    different answers (psych drops it: "had no variance and was deleted").

    ``own_thresholds`` True forces every pair onto the items' own thresholds, with no
    correction of zero cells (lavaan's sample polychorics); None decides as psych does."""
    k, big_k = margins.shape
    seen = margins > 0
    flat = [i for i in range(k) if seen[i].sum() < 2]
    if flat:
        raise _problem(
            "constant-item",
            f"item {', '.join(str(i) for i in flat)} has fewer than two different answers",
        )
    top = np.array([int(np.nonzero(s)[0][-1]) for s in seen])
    global_ = bool((top == top[0]).all()) if own_thresholds is None else own_thresholds
    props = margins / margins.sum(axis=1, keepdims=True)
    tau = np.array([_thresholds(p) for p in props]).reshape(k, big_k - 1)
    raw = np.eye(k)
    n = np.zeros((k, k), dtype=np.int64)
    corrected = 0
    for i in range(k):
        n[i, i] = int(margins[i].sum())
        for j in range(i + 1, k):
            t = tables[i, j]
            n[i, j] = n[j, i] = int(t.sum())
            if global_:
                value, fixed = pair_rho(t, tau[i], tau[j])
            else:
                value, fixed = pair_rho(t)
            raw[i, j] = raw[j, i] = value
            corrected += fixed
    if np.isnan(raw).any():  # psych: "some correlations are missing, smoothing turned off"
        return Polychoric(raw, raw, tau, n, global_, corrected, False, math.nan)
    rho, smoothed, low = cor_smooth(raw)
    return Polychoric(rho, raw, tau, n, global_, corrected, smoothed, low)


class CategorySums:
    """Counts for :func:`polychoric_of`, added a block of rows at a time: per item its
    answers in each category, per pair of items their cross table — memory for k² K²
    counts whatever the rows. ``codes`` are category indices 0..K−1, −1 where not
    answered."""

    def __init__(self, k: int, categories: int) -> None:
        self.k, self.big_k = k, categories
        side = categories + 1  # the last row/column: not answered
        self.side = side
        self.margins = np.zeros((k, side), dtype=np.int64)
        self.tables = np.zeros((k, k, side, side), dtype=np.int64)

    def add(self, codes: IntArray) -> None:
        k, side = self.k, self.side
        # Small integers (k² K² < 32,768 for k ≤ 20 items of ≤ 8 points; int32 beyond), so
        # that the pair codes of a block move through memory in a quarter of the bytes.
        small = np.dtype(np.int16 if k * side * side < np.iinfo(np.int16).max else np.int32)
        c: npt.NDArray[np.signedinteger[Any]] = np.where(codes < 0, side - 1, codes).astype(small)
        for i in range(k):
            self.margins[i] += np.bincount(c[:, i], minlength=side)
            rest = k - i - 1
            if not rest:
                continue
            offsets = np.arange(rest, dtype=small) * small.type(side * side)
            pair = c[:, i, None] * small.type(side) + c[:, i + 1 :]
            pair += offsets
            counts = np.bincount(pair.ravel(), minlength=rest * side * side)
            self.tables[i, i + 1 :] += counts.reshape(rest, side, side)

    def table(self, i: int, j: int) -> IntArray:
        """The answered K × K cross table of items i and j (rows: i)."""
        big_k = self.big_k
        if i < j:
            return self.tables[i, j, :big_k, :big_k]
        return self.tables[j, i, :big_k, :big_k].T

    def select(
        self, columns: IntArray, reverse: npt.NDArray[np.bool_]
    ) -> tuple[IntArray, IntArray]:
        """Tables and margins of the items ``columns`` (in that order), those with
        ``reverse`` keyed the other way round (category c ↦ K − 1 − c)."""
        m = len(columns)
        big_k = self.big_k
        tables = np.zeros((m, m, big_k, big_k), dtype=np.int64)
        margins = np.zeros((m, big_k), dtype=np.int64)
        for a, ca in enumerate(columns):
            margins[a] = self.margins[ca, :big_k][::-1] if reverse[a] else self.margins[ca, :big_k]
            for b, cb in enumerate(columns):
                if a == b:
                    continue
                t = self.table(int(ca), int(cb))
                if reverse[a]:
                    t = t[::-1]
                if reverse[b]:
                    t = t[:, ::-1]
                tables[a, b] = t
        return tables, margins


def polychoric(codes: npt.ArrayLike, categories: int | None = None) -> Polychoric:
    """:func:`polychoric_of` of a rows × items matrix of category codes 0..K−1 (−1 or NaN
    where not answered); K defaults to the highest code + 1."""
    x = np.asarray(codes, dtype=np.float64)
    c = np.where(np.isnan(x), -1, x).astype(np.int64)
    big_k = int(c.max()) + 1 if categories is None else categories
    sums = CategorySums(c.shape[1], big_k)
    sums.add(c)
    tables, margins = sums.select(np.arange(c.shape[1]), np.zeros(c.shape[1], dtype=np.bool_))
    return polychoric_of(tables, margins)
