"""THE scoring engine: one vectorized implementation for one response and ten million.

Input is a 2-D float array, one row per administration and one column per item in the
questionnaire's item order, ``NaN`` for a blank answer and the definition's codes for "does
not apply". Every step is a whole-column numpy operation (masks and ``where``); Python loops
run over items, scales and bands — never over rows. The input is never modified.

What an allowed answer is, is decided here once (:func:`cell_reasons`; the definition checks,
the batch cell checks and the interview use it too): a value in the item's range, on its step
grid from the minimum and on no excluded point, each within :data:`GRID_TOLERANCE`. A cell is
blank, allowed, a "does not apply" code or invalid, and an invalid one has its :class:`Reason`.

Rules implemented (each documented in the definition's ``key_sources``):

* reverse keying ``min + max − x`` on the item's own scale, per scale (the scoring-facts file);
* "does not apply" counts as unanswered (CARE, Mercer et al. 2004);
* a scale with at least the minimum answered but some missing is *prorated*: its mean is the
  mean of the answered keyed items and its sum is that mean times the number of items (CARE's
  published rule "total = mean × 10"); with fewer, or any missing under ``withhold``, the score
  is withheld and the reason recorded;
* standard scores against the scale's first norm with a mean and SD: ``z = (x − M) / SD``,
  ``T = 50 + 10 z``; percent of maximum possible ``POMP = 100 (x − min) / (max − min)``
  (Cohen, Cohen, Aiken & West 1999).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from alliance_cli.options import Method

if TYPE_CHECKING:
    from alliance_cli.model import Questionnaire, ResponseScale, Threshold

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]

# Tolerance for "is this value a point of the scale" (and for comparing a value with a code
# or a bound): values are read from text, so 0.1 steps arrive as binary approximations
# (0.30000000000000004).
GRID_TOLERANCE = 1e-6

# Cell states.
MISSING, ANSWERED, NOT_APPLICABLE, INVALID = 0, 1, 2, 3
STATE_NAMES = ("missing", "answered", "not_applicable", "invalid")


class Reason(IntEnum):
    """Why a cell is in its state: the first three are the states missing, answered and not
    applicable; the others say why a cell is invalid (its state is :data:`INVALID`)."""

    missing = MISSING
    ok = ANSWERED
    not_applicable = NOT_APPLICABLE
    out_of_range = 3
    off_grid = 4
    excluded = 5

    @property
    def code(self) -> str:
        """The problem code: ``out-of-range``, ``off-grid``, ``excluded``, …"""
        return self.name.replace("_", "-")


# Why a score was withheld.
WITHHELD_NONE, WITHHELD_TOO_FEW, WITHHELD_INVALID = 0, 1, 2


@dataclass(frozen=True)
class Columns:
    """Per-item facts of a questionnaire as arrays, in item order."""

    ids: tuple[str, ...]
    lo: FloatArray
    hi: FloatArray
    step: FloatArray
    exclude: tuple[tuple[float, ...], ...]
    na_codes: tuple[tuple[float, ...], ...]

    @classmethod
    def of(cls, q: Questionnaire) -> Columns:
        scales = [q.scale_of(i) for i in q.item_ids()]
        return cls(
            ids=tuple(q.item_ids()),
            lo=np.array([s.min for s in scales], dtype=np.float64),
            hi=np.array([s.max for s in scales], dtype=np.float64),
            step=np.array([s.step for s in scales], dtype=np.float64),
            exclude=tuple(s.exclude for s in scales),
            na_codes=tuple(s.not_applicable.values if s.not_applicable else () for s in scales),
        )


def _isclose_any(x: FloatArray, values: tuple[float, ...]) -> BoolArray:
    out = np.zeros(x.shape, dtype=np.bool_)
    for v in values:
        out |= np.abs(x - v) < GRID_TOLERANCE
    return out


def answers_only(values: npt.ArrayLike, states: npt.NDArray[np.int8]) -> FloatArray:
    """The answers alone: NaN in every cell that is not one (blank, "does not apply",
    invalid) by its :func:`cell_states`. A new array."""
    return np.where(states == ANSWERED, np.asarray(values, dtype=np.float64), np.nan)


def cell_states(q: Questionnaire, values: npt.ArrayLike) -> npt.NDArray[np.int8]:
    """Classify every cell: missing (blank), answered (allowed value), not applicable (a
    "does not apply" code) or invalid (out of range, off the step grid, or excluded)."""
    # Reasons past `ok` and `not_applicable` are the invalid ones.
    return np.minimum(cell_reasons(q, values), np.int8(INVALID))


def cell_reasons(q: Questionnaire, values: npt.ArrayLike) -> npt.NDArray[np.int8]:
    """Every cell's :class:`Reason`: THE rule of what an allowed answer is, decided here
    once for the engine, the definition checks, the batch cell checks and the interview."""
    x = _as_matrix(q, values)
    cols = Columns.of(q)
    return _reasons(x, cols.lo, cols.hi, cols.step, cols.exclude, cols.na_codes)


def answer_reasons(
    values: npt.ArrayLike,
    lo: float,
    hi: float,
    step: float,
    exclude: Sequence[float] = (),
    na_codes: Sequence[float] = (),
) -> list[Reason]:
    """The same rule for a few values on one response scale given by its numbers (a
    definition's points and codes, one typed answer)."""
    x = np.asarray(values, dtype=np.float64).reshape(-1, 1)
    got = _reasons(
        x,
        np.array([lo], dtype=np.float64),
        np.array([hi], dtype=np.float64),
        np.array([step], dtype=np.float64),
        (tuple(exclude),),
        (tuple(na_codes),),
    )
    return [Reason(r) for r in got[:, 0]]


def reason_of(rs: ResponseScale, value: float) -> Reason:
    """One value on a response scale: :class:`Reason` ``ok`` for an allowed answer,
    ``not_applicable`` for a "does not apply" code, ``missing`` for NaN, else why not."""
    na_codes = rs.not_applicable.values if rs.not_applicable else ()
    return answer_reasons([value], rs.min, rs.max, rs.step, rs.exclude, na_codes)[0]


def _reasons(
    x: FloatArray,
    lo: FloatArray,
    hi: FloatArray,
    step: FloatArray,
    exclude: tuple[tuple[float, ...], ...],
    na_codes: tuple[tuple[float, ...], ...],
) -> npt.NDArray[np.int8]:
    # Precedence, highest first (so assigned last): blank, a "does not apply" code, out of
    # range, off the grid, an excluded point.
    # A huge answer (1e308 on a 0.1 grid) overflows to inf steps: off the grid, silently.
    with np.errstate(invalid="ignore", over="ignore"):
        out_of_range = (x < lo - GRID_TOLERANCE) | (x > hi + GRID_TOLERANCE)
        steps = (x - lo) / step
        off_grid = ~(np.abs(steps - np.round(steps)) < GRID_TOLERANCE)
    reason = np.full(x.shape, Reason.ok, dtype=np.int8)
    for j in range(x.shape[1]):
        if exclude[j]:
            reason[_isclose_any(x[:, j], exclude[j]), j] = Reason.excluded
    reason[off_grid] = Reason.off_grid
    reason[out_of_range] = Reason.out_of_range
    for j in range(x.shape[1]):
        if na_codes[j]:
            reason[_isclose_any(x[:, j], na_codes[j]), j] = Reason.not_applicable
    reason[np.isnan(x)] = Reason.missing
    return reason


@dataclass(frozen=True)
class ScaleScores:
    """One scale's results for every row (arrays of equal length)."""

    id: str
    score: FloatArray  # NaN when withheld
    sum: FloatArray  # prorated when items are missing; NaN when withheld
    mean: FloatArray
    answered: IntArray
    missing: IntArray
    not_applicable: IntArray
    prorated: BoolArray
    withheld: npt.NDArray[np.int8]  # WITHHELD_* codes
    band: IntArray  # index into scale.bands of the first matching band, -1 for none
    band_hits: BoolArray  # rows × bands
    z: FloatArray
    t: FloatArray
    pomp: FloatArray


@dataclass(frozen=True)
class Scores:
    states: npt.NDArray[np.int8]
    scales: dict[str, ScaleScores]
    item_rule_hits: dict[str, BoolArray]  # rule id → rows × items (False outside the rule)


def _as_matrix(q: Questionnaire, values: npt.ArrayLike) -> FloatArray:
    x = np.asarray(values, dtype=np.float64)
    if x.ndim == 1:
        x = x.reshape(1, -1)
    if x.ndim != 2 or x.shape[1] != len(q.items):
        raise ValueError(f"expected a rows × {len(q.items)} matrix, got shape {x.shape}")
    return x


def threshold_mask(rule: Threshold, x: FloatArray) -> BoolArray:
    """Rows where ``x`` satisfies every bound of the rule (NaN never does)."""
    hit = ~np.isnan(x)
    with np.errstate(invalid="ignore"):
        if rule.below is not None:
            hit &= x < rule.below - GRID_TOLERANCE
        if rule.at_most is not None:
            hit &= x <= rule.at_most + GRID_TOLERANCE
        if rule.above is not None:
            hit &= x > rule.above + GRID_TOLERANCE
        if rule.at_least is not None:
            hit &= x >= rule.at_least - GRID_TOLERANCE
    return hit


def score_matrix(
    q: Questionnaire, values: npt.ArrayLike, states: npt.NDArray[np.int8] | None = None
) -> Scores:
    """Score every row of ``values`` on every scale of ``q``.

    Rows that contain an invalid cell in a scale get that scale withheld
    (``WITHHELD_INVALID``); use :func:`cell_states` first to report those cells (and pass
    its result as ``states`` to save computing it again).

    The work is done column by column on item-major copies (each item's answers contiguous
    in memory), so a scale costs a few vector operations per item whatever its rows.
    """
    x = _as_matrix(q, values)
    cols = Columns.of(q)
    if states is None:
        states = cell_states(q, x)
    position = {item_id: j for j, item_id in enumerate(cols.ids)}
    n_rows = x.shape[0]
    # Item-major: row j holds item j over every response.
    ok_t = np.ascontiguousarray((states == ANSWERED).T)
    na_t = np.ascontiguousarray((states == NOT_APPLICABLE).T)
    missing_t = np.ascontiguousarray((states == MISSING).T)
    invalid_t = np.ascontiguousarray((states == INVALID).T)
    forward_t = np.where(ok_t, x.T, 0.0)
    out: dict[str, ScaleScores] = {}
    for scale_id, scale in q.scales.items():
        n_items = len(scale.items)
        total = np.zeros(n_rows)
        answered = np.zeros(n_rows, dtype=np.int64)
        n_na = np.zeros(n_rows, dtype=np.int64)
        n_missing = np.zeros(n_rows, dtype=np.int64)
        invalid = np.zeros(n_rows, dtype=np.bool_)
        for item_id in scale.items:
            j = position[item_id]
            if item_id in scale.reverse:
                # min + max − x where answered, 0 elsewhere
                total += np.where(ok_t[j], cols.lo[j] + cols.hi[j] - forward_t[j], 0.0)
            else:
                total += forward_t[j]
            answered += ok_t[j]
            n_na += na_t[j]
            n_missing += missing_t[j]
            invalid |= invalid_t[j]
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = total / answered
        required = scale.missing.required(n_items)
        complete = answered == n_items
        withheld = np.full(n_rows, WITHHELD_NONE, dtype=np.int8)
        withheld[answered < required] = WITHHELD_TOO_FEW
        withheld[invalid] = WITHHELD_INVALID
        keep = withheld == WITHHELD_NONE
        mean = np.where(keep, mean, np.nan)
        sums = np.where(keep, np.where(complete, total, mean * n_items), np.nan)
        score = sums if scale.method is Method.sum else mean
        smin, smax = q.scale_range(scale_id)
        hits = np.zeros((n_rows, len(scale.bands)), dtype=np.bool_)
        band = np.full(n_rows, -1, dtype=np.int64)
        for b in reversed(range(len(scale.bands))):
            hits[:, b] = threshold_mask(scale.bands[b], score)
            band[hits[:, b]] = b
        z = np.full(n_rows, np.nan)
        norm = q.standard_norm(scale_id)
        if norm is not None:
            assert norm.mean is not None and norm.sd is not None
            z = (score - norm.mean) / norm.sd
        out[scale_id] = ScaleScores(
            id=scale_id,
            score=score,
            sum=sums,
            mean=mean,
            answered=answered,
            missing=n_missing,
            not_applicable=n_na,
            prorated=keep & ~complete,
            withheld=withheld,
            band=band,
            band_hits=hits,
            z=z,
            t=50 + 10 * z,
            pomp=100 * (score - smin) / (smax - smin),
        )
    rule_hits: dict[str, BoolArray] = {}
    for rule in q.item_rules:
        applies = np.array([rule.items is None or i in rule.items for i in cols.ids])
        hit = threshold_mask(rule, np.where(states == ANSWERED, x, np.nan))
        rule_hits[rule.id] = hit & applies
    return Scores(states=states, scales=out, item_rule_hits=rule_hits)
