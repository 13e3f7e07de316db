"""The careless-response indices of R ``careless`` 1.2.2 (Yentes & Wilhelm 2023), per
response, vectorized over a rows × items matrix of RAW answers (not reverse-keyed), items in
the questionnaire's order, NaN where a cell is not an answer. Each function names the R
function it matches and how missing answers are taken there.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

MIN_PAIRS = 3
"""``careless::psychsyn`` gives a response a value only when more than two item pairs are
answered in it (``syn_for_one``: ``sum_item_pairs > 2``)."""


def longstring(x: FloatArray) -> FloatArray:
    """The longest run of identical consecutive answers in each row (Johnson 2005), as
    ``careless::longstring`` (``max(rle(row)$lengths)``). As in R's ``rle``, a missing answer
    is never equal to its neighbour: it breaks a run and is a run of 1 of its own. A row with
    no answer at all is NaN here (``careless`` gives 1: the length of a run of one NA)."""
    rows, k = x.shape
    out = np.full(rows, np.nan)
    if k == 0 or rows == 0:
        return out
    with np.errstate(invalid="ignore"):
        same = x[:, 1:] == x[:, :-1]  # NaN == anything is False: a break
    run = np.ones(rows)
    best = np.ones(rows)
    for j in range(k - 1):  # a loop over items, not rows: k is small
        run = np.where(same[:, j], run + 1.0, 1.0)
        np.maximum(best, run, out=best)
    answered = (~np.isnan(x)).any(axis=1)
    out[answered] = best[answered]
    return out


def irv(x: FloatArray) -> FloatArray:
    """Intra-individual response variability (Dunn et al. 2018): the SD (n − 1) of each
    row's answers, missing answers left out, as ``careless::irv`` (``sd(row, na.rm =
    TRUE)``); NaN with fewer than two answers (R's ``sd`` gives NA)."""
    n = (~np.isnan(x)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nansum(x, axis=1) / n
        dev = np.where(np.isnan(x), 0.0, x - mean[:, None])
        var = (dev * dev).sum(axis=1) / (n - 1)
    return np.where(n >= 2, np.sqrt(var), np.nan)


def mahalanobis(x: FloatArray, mean: FloatArray, inverse: FloatArray) -> FloatArray:
    """Mahalanobis D² of each row (Meade & Craig 2012) as ``careless::mahad`` computes it
    through ``psych::outlier``: rows centred on the item means (each over its answered
    cells), ``inverse`` the inverse of the pairwise-complete covariance matrix, and for a row
    with missing answers the terms of its answered items only
    (``sum_jk x_j S⁻¹_jk x_k`` over answered j, k: psych's ``na.rm = TRUE`` sums). NaN for a
    row with no answer (``mahad`` leaves those rows out)."""
    centred = x - mean
    seen = ~np.isnan(centred)
    zero = np.where(seen, centred, 0.0)
    d2 = ((zero @ inverse) * zero).sum(axis=1)
    return np.where(seen.any(axis=1), d2, np.nan)


def item_pairs(cor: FloatArray, critval: float, *, antonyms: bool = False) -> Any:
    """The item pairs ``careless::psychsyn`` takes (its ``get_item_pairs``): every pair
    (i, j), i > j, whose correlation over the whole data (pairwise-complete) is above
    ``|critval|`` (synonyms), or below ``−|critval|`` (antonyms); a pair whose correlation
    cannot be computed is never taken. An array of (i, j) rows, in careless's order (by j,
    then i)."""
    limit = abs(critval)
    k = cor.shape[0]
    i, j = np.tril_indices(k, -1)
    r = cor[i, j]
    with np.errstate(invalid="ignore"):
        take = r < -limit if antonyms else r > limit
    order = np.lexsort((i[take], j[take]))
    return np.column_stack([i[take][order], j[take][order]]).astype(np.int64).reshape(-1, 2)


def within_person_r(x: FloatArray, pairs: Any) -> tuple[FloatArray, npt.NDArray[np.int64]]:
    """Each row's correlation between the first and second items of ``pairs`` across the
    pairs it answered both items of, and that number of pairs: ``careless::psychsyn`` with
    ``resample_na = FALSE`` (``cor(…, use = "pairwise.complete.obs")`` of the row's pairs;
    NaN with two pairs or fewer, or when either side is constant — careless's default
    ``resample_na = TRUE`` then shuffles the pairs at random, which no fixed rule can
    match)."""
    # With M[i, j] the number of pairs (i, j), m the answered mask and x0 the answers (0
    # where not answered), every sum over a row's answered pairs is a product with M:
    # n = Σ M_ij m_i m_j, Σa = Σ M_ij x0_i m_j, Σab = Σ M_ij x0_i x0_j, … — items × items
    # work per row, whatever the number of pairs. Sums of whole-number (or half-point)
    # answers are exact in floating point, so n·Σab − Σa·Σb is exact too: no cancellation,
    # and a constant side gives exactly 0.
    k = x.shape[1]
    pair_matrix = np.zeros((k, k))
    np.add.at(pair_matrix, (pairs[:, 0], pairs[:, 1]), 1.0)
    seen = ~np.isnan(x)
    m = seen.astype(np.float64)
    x0 = np.where(seen, x, 0.0)
    sq = x0 * x0
    x0_m, m_m, sq_m = x0 @ pair_matrix, m @ pair_matrix, sq @ pair_matrix
    n = np.einsum("ij,ij->i", m_m, m)
    sa, sb = np.einsum("ij,ij->i", x0_m, m), np.einsum("ij,ij->i", m_m, x0)
    saa, sbb = np.einsum("ij,ij->i", sq_m, m), np.einsum("ij,ij->i", m_m, sq)
    sab = np.einsum("ij,ij->i", x0_m, x0)
    va, vb = n * saa - sa * sa, n * sbb - sb * sb
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (n * sab - sa * sb) / np.sqrt(va * vb)
    r = np.where((n >= MIN_PAIRS) & (va > 0) & (vb > 0), r, np.nan)
    n = np.rint(n)
    return np.clip(r, -1.0, 1.0), n.astype(np.int64)


def seconds_per_item(duration: FloatArray, items: int) -> FloatArray:
    """Seconds per item: the response's duration over the number of items (Huang et al.
    2012 judge speed per item); NaN where the duration is missing or not a number."""
    with np.errstate(invalid="ignore"):
        return np.asarray(duration, dtype=np.float64) / items


def chi_square_upper(x: FloatArray, df: int) -> FloatArray:
    """P(χ²_df > x), vectorized, for a whole number of degrees of freedom (R's
    ``pchisq(x, df, lower.tail = FALSE)``): the regularized upper incomplete gamma
    Q(df/2, x/2) summed up from Q(1, y) = e^−y (df even) or Q(½, y) = erfc(√y) (df odd) by
    Q(a + 1, y) = Q(a, y) + y^a e^−y / Γ(a + 1) — positive terms only, so the small p-values
    of outliers keep their precision. NaN where x is NaN; 1 where x ≤ 0."""
    if df < 1:
        raise ValueError("df must be at least 1")
    x = np.asarray(x, dtype=np.float64)
    y = np.where(np.isnan(x), 0.0, np.maximum(x, 0.0)) / 2.0
    ey = np.exp(-y)
    if df % 2 == 0:
        q, term, a = ey.copy(), ey * y, 1.0
    else:
        erfc = np.frompyfunc(math.erfc, 1, 1)
        q = np.asarray(erfc(np.sqrt(y)), dtype=np.float64)
        term, a = ey * 2.0 * np.sqrt(y / math.pi), 0.5
    while a < df / 2.0 - 1e-9:  # Q(a + 1) = Q(a) + term(a); term(a + 1) = term(a)·y/(a + 1)
        q += term
        term = term * y / (a + 1.0)
        a += 1.0
    return np.where(np.isnan(x), np.nan, np.minimum(q, 1.0))
