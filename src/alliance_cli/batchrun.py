"""``alliance batch`` over inputs of any size: read, check, score and write chunk by chunk.

Each input is opened (:func:`alliance_cli.io.readers.open_input`) and handed out in chunks of
rows; every chunk becomes a :class:`~alliance_cli.batch.PartJob` scored by
:func:`~alliance_cli.batch.score_part` — the same function whatever runs it (this process, or
Dask workers: :mod:`alliance_cli.engines`) — and the parts come back in input order. What
spans chunks stays here: the column mapping (made from each input's first chunk, every
file's problems reported together), response ids across chunks and inputs
(:class:`~alliance_cli.batchids.IdRegistry`), the count of bad cells per problem, and the sinks.

Memory holds a few chunks at a time, so peak memory depends on ``chunk_rows``, not on the
file. ``--center`` reads the inputs twice: the first pass checks and counts everything and
sums each client's scores (:class:`~alliance_cli.centring.PersonMeans`: memory grows with
the clients), the second scores again and writes each chunk with its person means. SPSS
output needs more: it is written whole.

A run is refused as soon as a bad cell makes it so; reading and checking go on to the end
(every bad cell is reported), but no more output rows are built, and the half-written output
is discarded: nothing is written, as with a whole-file run.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from .batch import (
    Batch,
    BatchOptions,
    Counts,
    InputInfo,
    InvalidPolicy,
    Part,
    PartJob,
    Shape,
    map_all,
    refusal,
)
from .batchcells import FAILURE_COLUMNS, failure_table
from .batchids import IdRegistry
from .batchtable import add_centre, base_names
from .centring import PersonMeans
from .engines import Engine, LocalEngine
from .errors import InputFileError, Problem
from .io import surveys
from .io.columns import Column
from .io.readers import Opened, TextTable
from .io.sinks import RowLimit, Sink
from .io.surveyrows import RowCounts
from .model import Questionnaire

KEPT_FAILURES = 1_000
"""Bad cells a streamed run keeps in memory to show (all are counted, and written with
``--errors``)."""

FAILURE_DESCRIPTIONS = (
    Column("file", "text", "the input file"),
    Column("row", "integer", "row number in the file, the header row counted"),
    Column("column", "text", "the column (the id columns, for an id problem)"),
    Column("value", "text", "the cell as written"),
    Column("code", "text", "problem code"),
    Column("problem", "text", "what is wrong, and the allowed answers"),
)

Progress = Callable[[int, int, int | None], None]
"""Told after each chunk is scored: rows done, input bytes of the rows done, total input
bytes (None if unknown)."""


@dataclass(frozen=True)
class Survey:
    """How survey exports are taken (``--source``, ``--finished-only``, ``--complete-only``)."""

    source: str = "auto"
    finished_only: bool = False
    complete_only: bool = False


def run_batch(
    inputs: Sequence[Opened],
    questionnaires: Sequence[Questionnaire],
    options: BatchOptions | None = None,
    *,
    survey: Survey | None = None,
    output: Callable[[tuple[Column, ...]], Sink] | None = None,
    errors: Callable[[tuple[Column, ...]], Sink] | None = None,
    engine: Engine | None = None,
    progress: Progress | None = None,
    check: bool = True,
    allow_empty: bool = False,
    limit: RowLimit | None = None,
    collect: Callable[[Part], None] | None = None,
    groups: tuple[tuple[str, str], ...] = (),
    reopen: Callable[[], Sequence[Opened]] | None = None,
) -> Batch:
    """Score ``inputs`` chunk by chunk and write the output through the sink ``output``
    makes (given the output's columns; None: a dry run, nothing built or written), and every
    bad cell through the sink ``errors`` makes. An output of no row is discarded (the
    result says :attr:`~alliance_cli.batch.Batch.empty`) unless ``allow_empty``.

    With ``--center`` (``options.center``) and an output, the inputs are read twice: the
    first pass checks, counts and sums each client's scores; the second (``reopen`` opens
    the inputs again) scores again and writes each chunk with the person means.

    Raises what :func:`~alliance_cli.batch.score_batch` raises — with ``check``, the
    :class:`~alliance_cli.errors.BatchDataError` carries the first :data:`KEPT_FAILURES`
    bad cells and the total. Without ``check`` the result says ``refused``. ``limit``: the
    output format's row limit (:func:`~alliance_cli.io.sinks.row_limit`), checked before
    any row is scored when every input's row count is known up front (Excel, SPSS, Stata
    inputs, without ``--finished-only``), else at the first chunk read that crosses it —
    before scoring it; REDCap exports, whose rows are kept or dropped while scored, are left
    to the sink's own check. Either way nothing is written.

    ``collect`` is given every part, in order, with each questionnaire's checked answers
    (:attr:`Part.matrices`) and the text of the ``groups`` columns, until the run is
    refused; the scales are then not scored (what reliability needs)."""
    qs = tuple(questionnaires)
    options = options or BatchOptions()
    survey = survey or Survey()
    engine = engine or LocalEngine()
    means = None
    if options.center and output is not None:
        if reopen is None:
            raise ValueError("--center reads the inputs twice: run_batch needs reopen")
        width = sum(len(q.scales) for q in qs)
        means = PersonMeans(width, by_scale=options.shape is Shape.wide)
    raws = [next(opened.chunks) for opened in inputs]
    firsts = [_prepare(raw, survey, None) for raw in raws]
    mappings = map_all(firsts, qs, options)
    per = 1 if options.shape.value == "wide" else sum(len(q.scales) for q in qs)
    if output is None or survey.complete_only or any(_redcap(t) for t in firsts):
        # REDCap rows are kept or dropped while scored: the sink's own check counts them.
        limit = None
    if limit is not None:
        _check_known(limit, inputs, raws, firsts, survey, per)
    state = _State(inputs, qs, options, passes=1 if means is None else 2)
    error_sink = errors(FAILURE_DESCRIPTIONS) if errors is not None else None
    sink: Sink | None = None
    try:
        build = output is not None and means is None
        jobs = _jobs(
            inputs,
            firsts,
            mappings,
            qs,
            options,
            survey,
            state,
            build=build,
            limit=limit,
            per=per,
        )
        if collect is not None:
            jobs = (replace(j, keep_matrices=True, score=False, groups=groups) for j in jobs)
        for part in engine.map(jobs):
            failures = state.add(part)
            if collect is not None and not state.refused:
                collect(part)
            if error_sink is not None and len(failures):
                error_sink.write(failures[list(FAILURE_COLUMNS)])
            state.report(progress)
            if state.refused or output is None:
                continue
            if means is not None:
                means.add(part.clients, part.centre)
                continue
            if part.table is None:
                continue
            if sink is None:
                sink = output(part.columns)
            sink.write(part.table)
        columns: tuple[Column, ...] = ()
        empty = not (state.rows_done or allow_empty or state.refused)  # nothing is written
        if not state.refused and output is not None:
            if means is not None:
                assert reopen is not None
                again = reopen()
                sink = _Centred(again, mappings, qs, options, survey, state, means).write(
                    engine, output, progress
                )
            assert sink is not None, "every input gives at least one (maybe empty) chunk"
            columns = sink.columns
            if empty:
                sink.discard()
            else:
                sink.commit()
        elif sink is not None:
            sink.discard()
        if error_sink is not None:
            if empty:
                error_sink.discard()
            else:
                error_sink.commit()
    except BaseException:
        for s in (sink, error_sink):
            if s is not None:
                s.discard()
        raise
    failures = state.kept_failures()
    if state.refused and check:
        raise refusal(failures, options, state.bad, state.bad_rows)
    infos = tuple(
        InputInfo(t.name, rows, t.header_rows, t.delimiter_name, t.encoding, t.format)
        for t, rows in zip(firsts, state.rows, strict=True)
    )
    return Batch(
        inputs=infos,
        questionnaires=qs,
        mappings=mappings,
        options=options,
        failures=failures,
        refused=state.refused,
        table=None,
        columns=columns,
        counts=state.counts(),
        codes=dict(state.codes),
        written=sink.rows if sink is not None and not state.refused else 0,
        row_counts=tuple(state.row_counts),
        na_columns=tuple(state.na_columns),
    )


def _prepare(table: TextTable, survey: Survey, first: TextTable | None) -> TextTable:
    return surveys.prepare(
        table,
        survey.source,
        finished_only=survey.finished_only,
        complete_only=survey.complete_only,
        first=first,
    )


class _State:
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
            if self.options.invalid is InvalidPolicy.error or self.bad > self.answer_bad:
                self.refused = True
        return failures

    def kept_failures(self) -> Any:
        return failure_table(self.kept)

    def counts(self) -> tuple[Counts, ...]:
        return tuple(self.per_questionnaire)


class _Centred:
    """The second pass of ``--center``: the inputs, opened again, scored again and written
    chunk by chunk with each row's person means (summed by the first pass)."""

    def __init__(
        self,
        inputs: Sequence[Opened],
        mappings: Sequence[Any],
        qs: tuple[Questionnaire, ...],
        options: BatchOptions,
        survey: Survey,
        first: _State,
        means: PersonMeans,
    ) -> None:
        self.inputs, self.mappings, self.qs = inputs, mappings, qs
        self.options, self.survey, self.first, self.means = options, survey, first, means
        self.state = _State(inputs, qs, options, passes=2)
        self.state.rows_done = first.rows_done
        self.state.bytes_before = first.size or 0

    def write(
        self,
        engine: Engine,
        output: Callable[[tuple[Column, ...]], Sink],
        progress: Progress | None,
    ) -> Sink | None:
        state, center = self.state, self.options.center
        assert center is not None
        firsts = [_prepare(next(opened.chunks), self.survey, None) for opened in self.inputs]
        jobs = _jobs(
            self.inputs,
            firsts,
            self.mappings,
            self.qs,
            self.options,
            self.survey,
            state,
            build=True,
        )
        sink: Sink | None = None
        try:
            for part in engine.map(jobs):
                state.rows_done += part.rows
                state.rows[part.file] += part.rows
                state.report(progress)
                if part.table is None:  # refused now, not in the first pass
                    raise self._changed(part.file)
                person = self.means.means(part.clients)
                table, columns = add_centre(
                    part.table, part.columns, person, self.qs, self.options.shape.value, center
                )
                if sink is None:
                    sink = output(columns)
                sink.write(table)
            for f, (before, now) in enumerate(zip(self.first.rows, state.rows, strict=True)):
                if before != now:
                    raise self._changed(f)
        except BaseException:
            if sink is not None:
                sink.discard()
            raise
        return sink

    def _changed(self, f: int) -> InputFileError:
        return InputFileError(
            Problem(
                "file-changed",
                "changed while it was read (--center reads the input twice: once for the "
                "person means, once to write); nothing was written",
                self.inputs[f].name,
            )
        )


def _jobs(
    inputs: Sequence[Opened],
    firsts: Sequence[TextTable],
    mappings: Sequence[Any],
    qs: tuple[Questionnaire, ...],
    options: BatchOptions,
    survey: Survey,
    state: _State,
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
                _check_chunk(limit, before, chunk, per)
                before += len(chunk) * per
            state.positions.append(sum(o.position() for o in inputs[:f]) + opened.position())
            state.row_counts[f] += surveys.left_before(chunk)
            yield PartJob(
                qs, options, mapping, f, chunk, base, several, build and not state.refused
            )
            raw = next(opened.chunks, None)
            chunk = _prepare(raw, survey, first) if raw is not None else None


def _check_known(
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


def _check_chunk(limit: RowLimit, before: int, chunk: TextTable, per: int) -> None:
    """The row limit against the output rows so far (``before``) and ``chunk``'s; the
    error names the input row that crosses it."""
    if before + len(chunk) * per <= limit.rows:
        return
    index = (limit.rows - before) // per
    limit.check(before + (index + 1) * per, f"row {int(chunk.rows[index]):,} of {chunk.name}")


def _redcap(table: TextTable) -> bool:
    return getattr(table, "source", "") == "redcap"
