"""The values of the batch output's cells, per scale and row, exactly as a single score
gives them (:mod:`alliance_cli.result`), so that batch and single scoring agree: numbers
rounded as a score is (:func:`round10`); texts that vary by row (withheld reasons, flags,
band labels) computed once per distinct case and spread to the rows as Categoricals
(:func:`texts`). :func:`scale_cells` gives one scale's cells;
:mod:`alliance_cli.research.scoretable` lays them out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from alliance_cli import scoring
from alliance_cli.model import Questionnaire
from alliance_cli.research.surveyrows import ITS_ROW, ROLE_TEXT
from alliance_cli.result import withheld_reason_text


def round10(x: Any) -> Any:
    """``round(v, 10)`` of every value, as a single score is rounded; exact (Python's
    correctly rounded ``round``) yet vectorized: computed per distinct value."""
    values = np.asarray(x, dtype=np.float64)
    codes, distinct = pd.factorize(values)  # NaN → -1, which takes the appended NaN
    rounded = [round(float(v), 10) for v in distinct.tolist()]
    return np.array([*rounded, np.nan], dtype=np.float64)[codes]


def first_at_of(codes: Any) -> Any:
    """For the codes of ``pandas.factorize`` (numbered in order of first appearance), the
    row where each first appears: where the running maximum of the codes goes up."""
    if not len(codes):
        return np.empty(0, dtype=np.int64)
    return np.flatnonzero(np.diff(np.maximum.accumulate(codes), prepend=-1) > 0)


def texts(codes: Any, labels: Sequence[str | None]) -> Any:
    """A text column as a pandas Categorical: row ``i`` is ``labels[codes[i]]``; a code of
    -1, or a None label, is empty. Equal labels share one category."""
    categories: dict[str, int] = {}
    remap = np.array(
        [-1 if t is None else categories.setdefault(t, len(categories)) for t in labels] + [-1],
        dtype=np.int64,
    )
    at = np.where(np.asarray(codes) < 0, len(labels), codes)
    return pd.Categorical.from_codes(remap[at], categories=list(categories))


def scale_cells(
    q: Questionnaire,
    scale_id: str,
    s: scoring.ScaleScores,
    scores: scoring.Scores,
    *,
    mean: bool,
    role: Any = None,
) -> dict[str, Any]:
    """The per-row cells of one scale: rounded numbers, and texts built once per distinct
    case (as Categoricals: a code per row, the texts once)."""
    scale = q.scales[scale_id]
    n = len(s.score)
    # Withheld reasons: one text per distinct (reason code, answered) pair.
    withheld = s.withheld != scoring.WITHHELD_NONE
    reason = texts(np.full(n, -1), [])
    if withheld.any():
        combo = s.withheld.astype(np.int64) * 10_000 + s.answered
        back, _ = pd.factorize(combo)  # hashing, not sorting: linear in the rows
        first = first_at_of(back)
        reason = texts(
            back,
            [withheld_reason_text(q, scale_id, s, int(r)) if withheld[r] else None for r in first],
        )
    reason = with_role(reason, role)
    band = texts(s.band, [b.label for b in scale.bands])
    # Flags as `alliance score --format csv` writes them: flagged bands, then item rules on
    # the scale's items as rule:item; a bit per mark, a text per distinct set of bits.
    marks: list[tuple[Any, str]] = [
        (s.band_hits[:, b], spec.id) for b, spec in enumerate(scale.bands) if spec.flag
    ]
    ids = q.item_ids()
    for rule in q.item_rules:
        for j, item_id in enumerate(ids):
            if item_id in scale.items:
                marks.append((scores.item_rule_hits[rule.id][:, j], f"{rule.id}:{item_id}"))
    marks = [(mask, label) for mask, label in marks if mask.any()]
    bits = np.zeros(n, dtype=object if len(marks) > 62 else np.int64)
    for k, (mask, _) in enumerate(marks):
        bits = bits + mask.astype(np.int64) * (1 << k)
    back, sets = pd.factorize(bits)
    flags = texts(
        back.reshape(-1),
        [
            ";".join(label for k, (_, label) in enumerate(marks) if int(v) >> k & 1) or None
            for v in sets
        ],
    )
    return {
        "score": round10(s.score),
        "sum": round10(s.sum),
        "mean": round10(s.mean) if mean else None,
        "reason": reason,
        "band": band,
        "flags": flags,
    }


def with_role(reason: Any, role: Any) -> Any:
    """``reason`` (a Categorical of texts per row) with the rows that are not the
    questionnaire's own (REDCap: another form's row) saying so instead: their cells were
    not read."""
    if role is None or not (role != ITS_ROW).any():
        return reason
    text = np.asarray(reason, dtype=object)
    for code, why in ROLE_TEXT.items():
        text[role == code] = why
    return pd.Categorical(text)


def can_flag(q: Questionnaire, scale_id: str) -> bool:
    """Whether a score of the scale can raise a flag: a flagged band, or an item rule (item
    rules look at every item; a scale is marked for those among its items)."""
    scale = q.scales[scale_id]
    return any(b.flag for b in scale.bands) or bool(q.item_rules and scale.items)


def withheld_scales(reasons: Sequence[tuple[str, Any]], n: int) -> Any:
    """Per row, the withheld scales with their reasons (``goal (…); bond (…)``), from each
    scale's reason Categorical: one text per distinct combination of reasons."""
    if not any((cat.codes >= 0).any() for _, cat in reasons):
        return texts(np.full(n, -1), [])
    key = np.zeros(n, dtype=np.int64)
    for _, cat in reasons:
        key, _ = pd.factorize(key * (len(cat.categories) + 1) + cat.codes.astype(np.int64) + 1)
    first = first_at_of(key)
    labels = [
        "; ".join(
            f"{sid} ({cat.categories[cat.codes[r]]})" for sid, cat in reasons if cat.codes[r] >= 0
        )
        or None
        for r in first
    ]
    return texts(key, labels)
