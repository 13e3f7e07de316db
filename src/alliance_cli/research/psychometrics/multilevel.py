"""Repeated measures: ICC1, ICC1k and multilevel reliability as ``psych::statsBy``/``mlr``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from alliance_cli.errors import ResponseError
from alliance_cli.research.psychometrics._base import _matrix, _problem

# -- repeated measures: ICC1, ICC1k and multilevel reliability -------------------------------


def _codes(labels: npt.ArrayLike) -> npt.NDArray[np.intp]:
    """Group numbers 0 … G − 1 in sorted label order (``np.unique``'s inverse). Integer
    labels (e.g. codes from ``pandas.factorize``) are numbered by counting, O(N), without
    sorting the rows."""
    a = np.asarray(labels).ravel()
    if a.dtype.kind in "iu" and a.size and a.min() >= 0 and a.max() <= 4 * a.size:
        present = np.bincount(a) > 0
        codes: npt.NDArray[np.intp] = (np.cumsum(present) - 1)[a]
        return codes
    return np.unique(a, return_inverse=True)[1].ravel()


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' * (n != 1)}"


@dataclass(frozen=True)
class ICC:
    """One-way random-effects ICCs of a score across clients, named as ``psych::ICC``
    names them; the values are ``psych::statsBy``'s ICC1 and ICC2."""

    icc1: float  # ICC1 = Shrout & Fleiss ICC(1,1): share of variance between clients
    icc1k: float  # ICC1k = Shrout & Fleiss ICC(1,k): reliability of a client's mean
    # (psych::statsBy calls it ICC2)
    ms_between: float
    ms_within: float
    n_clients: int
    n_obs: int
    mean_sessions: float  # N / clients, the k psych uses


def icc1(scores: npt.ArrayLike, clients: npt.ArrayLike) -> ICC:
    """ICC1 and ICC1k of a scale score across clients, one-way random effects (Shrout &
    Fleiss 1979 ICC(1,1) and ICC(1,k); Bliese 2000), computed as ``psych::statsBy(data,
    group)``'s ``ICC1`` and ``ICC2``::

        MSb = Σ_j n_j (m_j − m)² / (G − 1)
        MSw = Σ_j (n_j − 1) s_j² / Σ_j (n_j − 1)
        ICC1 = (MSb − MSw) / (MSb + (k − 1) MSw),   ICC1k = (MSb − MSw) / MSb

    with k = N / G, the mean number of scored sessions per client (psych's choice; for
    balanced data these are exactly ``psych::ICC``'s ICC1 and ICC1k). Rows with a missing
    score are left out. ``clients`` may be labels or integer codes.
    """
    y = np.asarray(scores, dtype=np.float64).ravel()
    g = np.asarray(clients).ravel()
    if y.shape != g.shape:
        raise ValueError("scores and clients must have the same length")
    keep = ~np.isnan(y)
    y, g = y[keep], g[keep]
    grp = _codes(g)
    n = np.bincount(grp).astype(np.float64)
    means = np.bincount(grp, weights=y) / n
    return icc_of(n, means, np.bincount(grp, weights=(y - means[grp]) ** 2))


def icc_of(n: npt.ArrayLike, means: npt.ArrayLike, m2: npt.ArrayLike) -> ICC:
    """:func:`icc1` from each client's number of scores, their mean and their sum of squared
    deviations from it (clients without a score are left out), so that the rows can be
    summed a block at a time; m is the mean of every score and MSw = Σ_j m2_j / (N − G)."""
    counts = np.asarray(n, dtype=np.float64)
    scored = counts > 0
    counts = counts[scored]
    m = np.asarray(means, dtype=np.float64)[scored]
    n_groups, n_obs = counts.size, int(counts.sum())
    if n_groups < 2 or n_obs <= n_groups:
        raise _problem("too-few-clients", "ICC1 needs at least two clients and a repeated session")
    grand = float(counts @ m) / n_obs
    ms_b = float(np.sum(counts * (m - grand) ** 2) / (n_groups - 1))
    ms_w = float(np.sum(np.asarray(m2, dtype=np.float64)[scored]) / (n_obs - n_groups))
    k = n_obs / n_groups
    return ICC(
        icc1=(ms_b - ms_w) / (ms_b + (k - 1) * ms_w),
        icc1k=(ms_b - ms_w) / ms_b,
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


def unbalanced(n: int, k: int, empty: int, repeated: int, incomplete: int) -> ResponseError:
    """Why :func:`multilevel_reliability` refuses n clients × k sessions."""
    return _problem(
        "unbalanced-design",
        "multilevel reliability needs every client rated once at every session value "
        f"with every item answered ({n} clients × {k} sessions); "
        f"{_count(empty, 'client–session cell')} empty, "
        f"{_count(repeated, 'cell')} repeated, "
        f"{_count(incomplete, 'row')} incomplete; for unbalanced sessions, alpha within and "
        "between clients (Geldhof et al. 2014) is given instead",
    )


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
    a = _matrix(x, copy=False)  # only read
    cid = np.asarray(clients).ravel()
    sid = np.asarray(sessions).ravel()
    if not (cid.size == sid.size == a.shape[0]):
        raise ValueError("x, clients and sessions must have the same number of rows")
    ci, si = _codes(cid), _codes(sid)
    n, k, m = int(ci.max()) + 1, int(si.max()) + 1, a.shape[1]
    cells = np.bincount(ci * k + si, minlength=n * k)
    if np.isnan(a).any() or np.any(cells != 1):
        raise unbalanced(
            n,
            k,
            int(np.sum(cells == 0)),
            int(np.sum(cells > 1)),
            int(np.isnan(a).any(axis=1).sum()),
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
