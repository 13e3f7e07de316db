"""One pass of a streamed batch over its inputs (:mod:`alliance_cli.research.run`): the chunks
handed out as :class:`~alliance_cli.research.part.PartJob` s (:func:`chunk_jobs`, each chunk
prepared as its survey format asks: :func:`prepare`), what a pass keeps across chunks
(:class:`PassState`: ids, row counts, bad cells, progress), and the output format's row
limit checked before the rows are scored (:func:`check_known`, :func:`check_chunk`).
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from alliance_cli.io.sinks import RowLimit
from alliance_cli.model import Questionnaire
from alliance_cli.research import surveys
from alliance_cli.research.batch import BatchOptions, Counts, refuses
from alliance_cli.research.cells import failure_table
from alliance_cli.research.ids import IdRegistry
from alliance_cli.research.part import Part, PartJob
from alliance_cli.research.readers import Opened, TextTable
from alliance_cli.research.scoretable import base_names
from alliance_cli.research.surveyrows import RowCounts

KEPT_FAILURES = 1_000
"""Bad cells a streamed run keeps in memory to show (all are counted, and written with
``--errors``)."""


Progress = Callable[[int, int, int | None], None]
"""Told after each chunk is scored: rows done, input bytes of the rows done, total input
bytes (None if unknown)."""


@dataclass(frozen=True)
class Survey:
    """How survey exports are taken (``--source``, ``--finished-only``, ``--complete-only``)."""

    source: str = "auto"
    finished_only: bool = False
    complete_only: bool = False


def prepare(table: TextTable, survey: Survey, first: TextTable | None) -> TextTable:
    return surveys.prepare(
        table,
        survey.source,
        finished_only=survey.finished_only,
        complete_only=survey.complete_only,
        first=first,
    )


class PassState:
    """What a run keeps across chunks."""

    def __init__(
        self,
        inputs: Sequence[Opened],
        qs: tuple[Questionnaire, ...],
        options: BatchOptions,
        *,
        passes: int = 1,
    ) -> None:
        self.qs = qs
        self.options = options
        self.registry = IdRegistry([o.name for o in inputs])
        self.rows = [0] * len(inputs)
        self.row_counts = [RowCounts()] * len(inputs)
        self.na_columns: dict[str, None] = {}
        self.per_questionnaire = [Counts(q.id, 0, 0) for q in qs]
        self.codes: Counter[str] = Counter()
        self.bad = 0
        self.bad_rows = 0
        self.answer_bad = 0
        self.kept: list[Any] = []
        self.refused = False
        self.rows_done = 0
        # Input position at the end of each chunk handed to the engine and not yet back
        # (parts come back in order): the progress of the rows done, not of the read-ahead.
        self.positions: deque[int] = deque()
        sizes = [o.size for o in inputs]
        self.size = None if None in sizes else sum(s or 0 for s in sizes)
        # With --center the inputs are read twice: progress runs over both passes.
        self.total_bytes = None if self.size is None else self.size * passes
        self.bytes_before = 0

    def report(self, progress: Progress | None) -> None:
        """Tell ``progress`` of the chunk just done."""
        done = self.positions.popleft()
        if progress is not None:
            progress(self.rows_done, self.bytes_before + done, self.total_bytes)

    def add(self, part: Part) -> Any:
        failures = self.registry.check(part.keys, part.failures)
        self.rows_done += part.rows
        self.rows[part.file] += part.rows
        self.row_counts[part.file] += part.row_counts
        self.na_columns.update(dict.fromkeys(part.na_columns))
        for i, c in enumerate(part.counts):
            self.per_questionnaire[i] += c
        if len(failures):
            self.bad += len(failures)
            self.bad_rows += failures[["_file", "row"]].drop_duplicates().shape[0]
            self.answer_bad += part.answer_bad
            self.codes.update(failures["code"].tolist())
            room = KEPT_FAILURES - sum(len(k) for k in self.kept)
            if room > 0:
                self.kept.append(failures.head(room))
            self.refused = self.refused or refuses(self.bad, self.answer_bad, self.options.invalid)
        return failures

    def kept_failures(self) -> Any:
        return failure_table(self.kept)

    def counts(self) -> tuple[Counts, ...]:
        return tuple(self.per_questionnaire)


def chunk_jobs(
    inputs: Sequence[Opened],
    firsts: Sequence[TextTable],
    mappings: Sequence[Any],
    qs: tuple[Questionnaire, ...],
    options: BatchOptions,
    survey: Survey,
    state: PassState,
    *,
    build: bool,
    limit: RowLimit | None = None,
    per: int = 1,
) -> Iterator[PartJob]:
    base = base_names(mappings)
    several = len(inputs) > 1
    before = 0  # output rows of the chunks handed out
    for f, (opened, first, mapping) in enumerate(zip(inputs, firsts, mappings, strict=True)):
        chunk: TextTable | None = first
        while chunk is not None:
            if limit is not None and not state.refused:
                check_chunk(limit, before, chunk, per)
                before += len(chunk) * per
            state.positions.append(sum(o.position() for o in inputs[:f]) + opened.position())
            state.row_counts[f] += surveys.left_before(chunk)
            yield PartJob(
                qs, options, mapping, f, chunk, base, several, build and not state.refused
            )
            raw = next(opened.chunks, None)
            chunk = prepare(raw, survey, first) if raw is not None else None


def check_known(
    limit: RowLimit,
    inputs: Sequence[Opened],
    raws: Sequence[TextTable],
    firsts: Sequence[TextTable],
    survey: Survey,
    per: int,
) -> None:
    """The row limit against the rows of inputs read whole (their count known before
    scoring): less the rows the survey format dropped from the first chunk (extra header
    rows); not with ``--finished-only``, which leaves an unknown number."""
    if survey.finished_only or any(o.rows is None for o in inputs):
        return
    rows = sum(
        (o.rows or 0) - (len(raw) - len(first))
        for o, raw, first in zip(inputs, raws, firsts, strict=True)
    )
    limit.check(rows * per)


def check_chunk(limit: RowLimit, before: int, chunk: TextTable, per: int) -> None:
    """The row limit against the output rows so far (``before``) and ``chunk``'s; the
    error names the input row that crosses it."""
    if before + len(chunk) * per <= limit.rows:
        return
    index = (limit.rows - before) // per
    limit.check(before + (index + 1) * per, f"row {int(chunk.rows[index]):,} of {chunk.name}")
