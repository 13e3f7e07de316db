"""One typed answer in the interview: read (a number, a label or its first letters, a "does
not apply" word), described back, and whether its item may be left blank. What an allowed
answer is, is the scoring engine's rule (:func:`~alliance_cli.scoring.reason_of`)."""

from __future__ import annotations

import math

from alliance_cli import scoring
from alliance_cli.model import Questionnaire, ResponseScale
from alliance_cli.responses import read_value
from alliance_cli.text import fmt_num, normalize_label


def takes(rs: ResponseScale, value: float) -> bool:
    """An answer the item takes: an allowed one or a "does not apply" code (the engine's
    rule, :func:`~alliance_cli.scoring.reason_of`)."""
    return scoring.reason_of(rs, value) in (scoring.Reason.ok, scoring.Reason.not_applicable)


def is_not_applicable(rs: ResponseScale, value: float) -> bool:
    return scoring.reason_of(rs, value) is scoring.Reason.not_applicable


def read_answer(q: Questionnaire, item_id: str, text: str) -> float | str:
    """One typed answer as a value, or a message saying why it is not one.

    A number, a label, a "does not apply" word (see :func:`responses.read_value`), or the
    first letters of exactly one label (the "does not apply" label included)."""
    rs = q.scale_of(item_id)
    got = read_value(q, item_id, text)
    if isinstance(got, float):
        if takes(rs, got):
            return got
        return f"{text.strip()} is not an answer here; allowed: {rs.describe_allowed()}"
    key = normalize_label(text)
    options = list(rs.labels.items())
    if rs.not_applicable is not None:
        options.append((rs.not_applicable.values[0], rs.not_applicable.label))
    hits = [(value, label) for value, label in options if normalize_label(label).startswith(key)]
    if len(hits) == 1:
        return hits[0][0]
    if hits:
        names = ", ".join(label for _, label in hits)
        return f'"{text.strip()}" fits several answers ({names}); type more letters'
    return got.message


def describe_answer(q: Questionnaire, item_id: str, value: float) -> str:
    """``4 Very often``, ``7.5``, ``6 Does not apply``, ``skipped``."""
    if math.isnan(value):
        return "skipped"
    rs = q.scale_of(item_id)
    if is_not_applicable(rs, value):
        assert rs.not_applicable is not None
        return f"{fmt_num(value)} {rs.not_applicable.label}"
    label = next(
        (lab for v, lab in rs.labels.items() if abs(v - value) < scoring.GRID_TOLERANCE), None
    )
    return f"{fmt_num(value)} {label}" if label else fmt_num(value)


def skip_blockers(q: Questionnaire, item_id: str, blank: set[str]) -> list[str]:
    """Why ``item_id`` cannot be skipped now (empty when it can): one sentence per scale
    that would fall short of its required answers, given the items already ``blank``."""
    out = []
    for scale in q.scales.values():
        if item_id not in scale.items:
            continue
        n = len(scale.items)
        need = scale.missing.required(n)
        others = sum(1 for i in scale.items if i != item_id and i in blank)
        if n - others - 1 < need:
            if need == n:
                out.append(f"{scale.name} needs all its {n} items answered")
            else:
                out.append(
                    f"{scale.name} needs at least {need} of its {n} items answered"
                    + (f" and {others} {'is' if others == 1 else 'are'} already blank")
                )
    return out
