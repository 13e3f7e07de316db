"""The two passes of a screened run (``--quality``), as :mod:`alliance_cli.research.run`
drives them: the first adds every chunk's raw answers to pairwise sums (:class:`Learning`:
memory for k × k sums per questionnaire, flat in the rows), which then fit the screening
(:meth:`Learning.screening`); the second computes each chunk's indices and adds them to its
output rows (:func:`add_quality`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from alliance_cli.io.columns import Column
from alliance_cli.model import Questionnaire
from alliance_cli.research.psychometrics._base import _BLOCK_ROWS, PairwiseSums
from alliance_cli.research.quality.rules import QUALTRICS_DURATION, QualityOptions
from alliance_cli.research.quality.screen import Screening, fit
from alliance_cli.research.scoretable import check_column, check_unique
from alliance_cli.research.surveyrows import ITS_ROW

DURATION_OPTION = "--duration-column"


def duration_column(inputs: Sequence[Any], options: QualityOptions) -> str | None:
    """The duration column of a run: ``--duration-column`` (every input must have it), or
    Qualtrics' ``Duration (in seconds)`` where every input has it, or None."""
    if options.duration_column is not None:
        check_column(inputs, options.duration_column, DURATION_OPTION)
        return options.duration_column
    if inputs and all(QUALTRICS_DURATION in t.columns for t in inputs):
        return QUALTRICS_DURATION
    return None


def own_rows(part: Any, qid: str) -> Any:
    """The questionnaire's raw answers in a chunk, NaN in the rows that are not its own
    (another REDCap form's)."""
    x = part.matrices[qid]
    if qid in part.roles:
        x = np.where((part.roles[qid] == ITS_ROW)[:, None], x, np.nan)
    return x


class Learning:
    """The first pass: per questionnaire the pairwise sums of its raw answers, taken over
    blocks of a fixed number of rows whatever the chunks are (as reliability takes them), so
    that any chunk size gives the same sums to the bit."""

    def __init__(self, qs: Sequence[Questionnaire]) -> None:
        self.qs = tuple(qs)
        self.sums = {q.id: PairwiseSums(len(q.items)) for q in qs}
        self.held: dict[str, list[Any]] = {q.id: [] for q in qs}

    def add(self, part: Any) -> None:
        for q in self.qs:
            x = part.matrices[q.id]
            if q.id in part.roles:  # another form's rows are in none of its sums
                x = x[part.roles[q.id] == ITS_ROW]
            self.held[q.id].append(x)
            if sum(len(h) for h in self.held[q.id]) >= _BLOCK_ROWS:
                self._blocks(q.id, final=False)

    def _blocks(self, qid: str, *, final: bool) -> None:
        held = self.held[qid]
        if not held:
            return
        x = np.concatenate(held)
        end = len(x) if final else len(x) - len(x) % _BLOCK_ROWS
        for start in range(0, end, _BLOCK_ROWS):
            self.sums[qid].add(x[start : min(start + _BLOCK_ROWS, end)])
        held[:] = [x[end:]] if end < len(x) else []

    def screening(self, options: QualityOptions, duration: str | None) -> Screening:
        for q in self.qs:
            self._blocks(q.id, final=True)
        return Screening(
            tuple(fit(q, self.sums[q.id].result(), options) for q in self.qs), options, duration
        )


def check_quality_names(base: Sequence[str], screening: Screening) -> None:
    """Refuse, before any row is written, an input column carried into the output under
    the name of a column the screening adds."""
    check_unique([*base, *(c.name for c in screening.descriptions())])


def add_quality(
    table: Any,
    columns: Sequence[Column],
    part: Any,
    screening: Screening,
    *,
    per: int,
    base: Sequence[str],
) -> tuple[Any, tuple[Column, ...]]:
    """One chunk's output rows with its indices and flags added at the end (``per`` output
    rows per response: 1 wide, the scales in long), the flagged responses removed with
    ``--drop-flagged``; with ``only``, the row, file and ``base`` (id) columns and the
    indices alone."""
    matrices = [own_rows(part, f.questionnaire.id) for f in screening.fitted]
    duration = part.groups[0] if screening.duration is not None else None
    cols, flagged = screening.columns_for(matrices, duration)
    out = table
    described = list(columns)
    if screening.options.only:
        keep = [c for c in described if c.name in {"row", "file", *base}]
        out = out[[c.name for c in keep]]
        described = keep
    import pandas as pd  # type: ignore[import-untyped]

    out = out.copy()
    for name, values in cols.items():
        column = pd.Series(values)
        out[name] = (column.repeat(per) if per != 1 else column).set_axis(out.index).array
    described += screening.descriptions()
    if screening.options.drop_flagged:
        gone = int(flagged.sum())
        screening.dropped += gone
        if gone:
            out = out[np.repeat(~flagged, per)].reset_index(drop=True)
    return out, tuple(described)
