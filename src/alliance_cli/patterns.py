"""What one form's answers show beside its scores, said as information and never as an alert
(``score``, ``administer``): a straight-lined form and a score at the ceiling.

* **Straight-lined**: every item answered, and answered alike (``all 12 answers 5``) — the
  longest run of identical answers (longstring, Johnson 2005, *J Res Pers* 39, 103–129) is the
  whole form. Said for forms of at least :data:`MIN_ITEMS` items: on a shorter form (the
  four lines of the SRS) the same answer throughout is unremarkable. Where a scale keys some
  items in reverse, the same answer throughout contradicts itself, and the note says so.
* **Ceiling**: the score of a scale on which higher is better at the highest possible score
  of its range — the ceiling as Terwee et al. (2007, *J Clin Epidemiol* 60, 34–42) count it.
  Alliance ratings pile up there (CARE: 48% of a primary-care sample at 50, Mercer et al.
  2004); such a score cannot rise, so a drop in a later session says more than the score
  itself.

The batch's careless-response screening (``--quality``) computes these and other indices
over a whole sample; here one form is looked at alone, so nothing is flagged.
"""

from __future__ import annotations

import numpy as np

from alliance_cli import scoring
from alliance_cli.model import Questionnaire
from alliance_cli.modelbase import Direction
from alliance_cli.text import fmt_num

MIN_ITEMS = 5
"""A straight-lined form is noted from this many items on."""

_SOURCE_STRAIGHT = "Johnson 2005"
_SOURCE_CEILING = "Terwee et al. 2007"


def form_notes(q: Questionnaire, x: np.ndarray, scores: scoring.Scores, r: int) -> list[str]:
    """The notes on row ``r`` of an engine result (answers ``x``, ``scores``)."""
    notes = []
    row, states = x[r], scores.states[r]
    n = len(row)
    if n >= MIN_ITEMS and (states == scoring.ANSWERED).all() and np.ptp(row) == 0:
        reversed_items = sorted({i for s in q.scales.values() for i in s.reverse}, key=str)
        text = (
            f"all {n} answers {fmt_num(float(row[0]))}: the same answer to every item "
            f"(straight-lined; {_SOURCE_STRAIGHT})"
        )
        if reversed_items:
            text += (
                f"; {len(reversed_items)} of them are keyed in reverse, so the answers "
                "contradict each other: worth asking about before reading the scores"
            )
        notes.append(text)
    top = []
    for scale_id, scale in q.scales.items():
        s = scores.scales[scale_id]
        _, hi = q.scale_range(scale_id)
        scored = s.withheld[r] == scoring.WITHHELD_NONE
        if (
            scored
            and scale.higher_is is Direction.better
            and abs(s.score[r] - hi) < scoring.GRID_TOLERANCE
        ):
            top.append((scale.name, hi))
    if top:
        names = [f"{name} ({fmt_num(hi)})" for name, hi in top]
        at = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        notes.append(
            f"at the ceiling: {at} at the highest possible score ({_SOURCE_CEILING}); a score "
            "there cannot rise, so a drop in a later session says more than this one does"
        )
    return notes
