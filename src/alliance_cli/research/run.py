"""The one batch driver (:func:`run_batch`): read, check, score and write inputs of any size,
chunk by chunk — what ``alliance batch`` (output sinks), ``alliance reliability`` (no output;
each chunk's checked answers handed on) and a library caller (whole tables in memory, the
scores kept as a DataFrame: :class:`InMemory`) run, on either engine.

Each input is opened (:func:`alliance_cli.research.readers.open_input`; a table read whole is
handed out in chunks too) and handed out in chunks of rows
(:mod:`alliance_cli.research.passes`: one pass over the inputs); every chunk becomes a
:class:`~alliance_cli.research.part.PartJob` scored by
:func:`~alliance_cli.research.part.score_part` — the same function whatever runs it (this
process, or Dask workers: :mod:`alliance_cli.research.engines`) — and the parts come back
in input order. What spans chunks stays here: the column mapping (made from each input's
first chunk, every file's problems reported together), response ids across chunks and inputs
(:class:`~alliance_cli.research.ids.IdRegistry`), the count of bad cells per problem
(:class:`~alliance_cli.research.passes.PassState`), and the outputs.

Memory holds a few chunks at a time, so peak memory depends on ``chunk_rows``, not on the
file. ``--center`` reads the inputs twice: the first pass checks and counts everything and
sums each client's scores (:class:`~alliance_cli.research.centring.PersonMeans`: memory grows with
the clients), the second (:class:`_Centred`) scores again and writes each chunk with its
person means. SPSS
output needs more: it is written whole.

A run is refused as soon as a bad cell makes it so
(:func:`~alliance_cli.research.batch.refuses`); reading and checking go on to the end
(every bad cell is reported), but no more output rows are built, and the half-written output
is discarded: nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

from alliance_cli.errors import InputFileError, Problem
from alliance_cli.io.atomic import Output
from alliance_cli.io.columns import Column
from alliance_cli.io.sinks import DelimitedSink, RowLimit
from alliance_cli.model import Questionnaire
from alliance_cli.options import Shape
from alliance_cli.research.batch import (
    Batch,
    BatchOptions,
    Counts,
    InputInfo,
    map_all,
    nothing_scored,
    refusal,
)
from alliance_cli.research.cells import FAILURE_COLUMNS
from alliance_cli.research.centring import PersonMeans, add_centre, check_centre_names
from alliance_cli.research.engines import Engine, LocalEngine
from alliance_cli.research.part import Part
from alliance_cli.research.passes import (
    PassState,
    Progress,
    Survey,
    check_known,
    chunk_jobs,
    prepare,
)
from alliance_cli.research.quality.passes import (
    DURATION_OPTION,
    Learning,
    add_quality,
    check_quality_names,
    duration_column,
)
from alliance_cli.research.quality.screen import Screening
from alliance_cli.research.readers import Opened, TextTable, chunked
from alliance_cli.research.scoretable import base_names


class Writer(Protocol):
    """An output a run writes chunk by chunk (a :class:`~alliance_cli.io.sinks.Sink`, or
    :class:`InMemory`): all of it committed, or all of it discarded."""

    columns: tuple[Column, ...]
    rows: int

    def write(self, frame: Any) -> None: ...
    def commit(self) -> None: ...
    def discard(self) -> None: ...


class InMemory:
    """An output kept in memory, for a library caller who wants the scores as a DataFrame:
    ``kept = InMemory(); run_batch(tables, qs, output=kept); kept.table`` (None until the
    run has committed it)."""

    def __init__(self) -> None:
        self.columns: tuple[Column, ...] = ()
        self.rows = 0
        self.table: Any = None
        self._frames: list[Any] = []

    def __call__(self, columns: tuple[Column, ...]) -> InMemory:
        self.columns = tuple(columns)
        return self

    def write(self, frame: Any) -> None:
        self._frames.append(frame)
        self.rows += len(frame)

    def commit(self) -> None:
        import pandas as pd  # type: ignore[import-untyped]

        frames, self._frames = self._frames, []
        self.table = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)

    def discard(self) -> None:
        self._frames = []


FAILURE_DESCRIPTIONS = (
    Column("file", "text", "the input file"),
    Column("row", "integer", "row number in the file, the header row counted"),
    Column("column", "text", "the column (the id columns, for an id problem)"),
    Column("value", "text", "the cell as written"),
    Column("code", "text", "problem code"),
    Column("problem", "text", "what is wrong, and the allowed answers"),
)


def run_batch(
    inputs: Sequence[Opened | TextTable],
    questionnaires: Sequence[Questionnaire],
    options: BatchOptions | None = None,
    *,
    survey: Survey | None = None,
    output: Callable[[tuple[Column, ...]], Writer] | None = None,
    errors: Path | None = None,
    escape_formulas: bool = True,
    engine: Engine | None = None,
    progress: Progress | None = None,
    check: bool = True,
    allow_empty: bool = False,
    limit: RowLimit | None = None,
    collect: Callable[[Part], None] | None = None,
    groups: tuple[tuple[str, str], ...] = (),
    reopen: Callable[[], Sequence[Opened]] | None = None,
    before_commit: Callable[[Batch], Output | None] | None = None,
) -> Batch:
    """Score ``inputs`` (opened inputs, or tables read whole) chunk by chunk and write the
    output through the writer ``output`` makes (given the output's columns; None: a dry run,
    nothing built or written), and every bad cell to the CSV file ``errors``
    (``escape_formulas``: as :class:`~alliance_cli.io.sinks.DelimitedSink` says). An output of
    no row, or of no score, is discarded (the result says why:
    :attr:`~alliance_cli.research.batch.Batch.empty`) unless ``allow_empty``.

    With ``--center`` (``options.center``) and an output, the inputs are read twice: the
    first pass checks, counts and sums each client's scores; the second (``reopen`` opens
    the inputs again; tables read whole are handed out again by themselves) scores again and
    writes each chunk with the person means.

    Raises :class:`~alliance_cli.errors.UsageError` when the columns cannot be mapped (every
    problem of every file at once) and, with ``check``,
    :class:`~alliance_cli.errors.BatchDataError` carrying the first
    :data:`~alliance_cli.research.passes.KEPT_FAILURES` bad cells and the total when the data
    cannot be scored as asked. Without ``check`` the result says ``refused``. ``limit``: the
    output format's row limit (:func:`~alliance_cli.io.sinks.row_limit`), checked before any
    row is scored when every input's row count is known up front (Excel, SPSS, Stata inputs,
    without ``--finished-only``), else at the first chunk read that crosses it — before
    scoring it; REDCap exports, whose rows are kept or dropped while scored, are left to the
    sink's own check. Either way nothing is written.

    ``collect`` is given every part, in order, with each questionnaire's checked answers
    (:attr:`~alliance_cli.research.part.Part.matrices`) and the text of the ``groups`` columns,
    until the run is refused; the scales are then not scored (what reliability needs).

    ``before_commit`` is given the run's result before its output is moved into place and
    returns its own pending file (the codebook's :class:`~alliance_cli.io.atomic.Output`),
    committed after the output or discarded with it: a codebook that cannot be written (a
    full disk) leaves the old output as it was, and scores that cannot land take it along."""
    if reopen is None and not any(isinstance(i, Opened) for i in inputs):
        tables = [i for i in inputs if isinstance(i, TextTable)]
        reopen = lambda: [chunked(t) for t in tables]  # noqa: E731
    opened = [i if isinstance(i, Opened) else chunked(i) for i in inputs]
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
    learning = Learning(qs) if options.quality is not None and output is not None else None
    if learning is not None and reopen is None:
        raise ValueError("--quality reads the inputs twice: run_batch needs reopen")
    raws = [next(o.chunks) for o in opened]
    firsts = [prepare(raw, survey, None) for raw in raws]
    mappings = map_all(firsts, qs, options)
    if options.center:
        check_centre_names(mappings, qs, options.shape.value)
    duration = None
    if options.quality is not None:
        duration = duration_column(firsts, options.quality)
    timed = ((duration, DURATION_OPTION),) if duration is not None else ()
    two = means is not None or learning is not None
    per = 1 if options.shape.value == "wide" else sum(len(q.scales) for q in qs)
    if output is None or survey.complete_only or any(_redcap(t) for t in firsts):
        # REDCap rows are kept or dropped while scored: the sink's own check counts them.
        limit = None
    if limit is not None:
        check_known(limit, opened, raws, firsts, survey, per)
    state = PassState(opened, qs, options, passes=2 if two else 1)
    error_sink = (
        DelimitedSink(errors, FAILURE_DESCRIPTIONS, escape_formulas=escape_formulas)
        if errors is not None
        else None
    )
    sink: Writer | None = None

    def result(columns: tuple[Column, ...], written: int) -> Batch:
        infos = tuple(
            InputInfo(t.name, rows, t.header_rows, t.delimiter_name, t.encoding, t.format)
            for t, rows in zip(firsts, state.rows, strict=True)
        )
        return Batch(
            inputs=infos,
            questionnaires=qs,
            mappings=mappings,
            options=options,
            failures=state.kept_failures(),
            refused=state.refused,
            columns=columns,
            counts=counts,
            codes=dict(state.codes),
            written=written,
            row_counts=tuple(state.row_counts),
            na_columns=tuple(state.na_columns),
            quality=screening,
        )

    codebook: Output | None = None  # what ``before_commit`` left to move into place
    screening: Screening | None = None
    counts: tuple[Counts, ...] = ()
    try:
        build = output is not None and not two
        jobs = chunk_jobs(
            opened,
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
        elif learning is not None:
            jobs = (replace(j, keep_matrices=True) for j in jobs)
        for part in engine.map(jobs):
            failures = state.add(part)
            if collect is not None and not state.refused:
                collect(part)
            if error_sink is not None and len(failures):
                error_sink.write(failures[list(FAILURE_COLUMNS)])
            state.report(progress)
            if state.refused or output is None:
                continue
            if two:
                if means is not None:
                    means.add(part.clients, part.centre)
                if learning is not None:
                    learning.add(part)
                continue
            if part.table is None:
                continue
            if sink is None:
                sink = output(part.columns)
            sink.write(part.table)
        columns: tuple[Column, ...] = ()
        # Reliability (collect) does not score the scales: it counts rows only.
        counts = state.counts() if collect is None else ()
        empty = not (allow_empty or state.refused) and bool(
            nothing_scored(state.rows_done, counts)
        )  # nothing is written
        if not state.refused and output is not None:
            if two:
                assert reopen is not None
                if learning is not None:
                    assert options.quality is not None
                    screening = learning.screening(options.quality, duration)
                    check_quality_names(base_names(mappings), screening)
                centred = _Centred(
                    reopen(), mappings, qs, options, survey, state, means, screening, timed
                )
                centred.check_unchanged(opened)
                sink = centred.write(engine, output, progress)
            assert sink is not None, "every input gives at least one (maybe empty) chunk"
            columns = sink.columns
            if empty:
                sink.discard()
            else:
                if before_commit is not None:  # the codebook, written before the scores land
                    codebook = before_commit(result(columns, sink.rows))
                sink.commit()
        elif sink is not None:
            sink.discard()
        if error_sink is not None:
            if empty:
                error_sink.discard()
            else:
                error_sink.commit()
        if codebook is not None:
            codebook.commit()
    except BaseException:
        for s in (sink, error_sink, codebook):
            if s is not None:
                s.discard()
        raise
    if state.refused and check:
        # Reliability (collect) writes no output: it computes nothing.
        outcome = "nothing was written" if collect is None else "no statistic was computed"
        raise refusal(
            state.kept_failures(),
            options,
            state.bad,
            state.bad_rows,
            outcome=outcome,
            several=len(opened) > 1,
            errors=errors,
        )
    return result(columns, sink.rows if sink is not None and not state.refused else 0)


class _Centred:
    """The second pass of ``--center`` and ``--quality``: the inputs, opened again, scored
    again and written chunk by chunk with each row's person means (summed by the first pass)
    and careless-response indices (fitted on the first pass)."""

    def __init__(
        self,
        inputs: Sequence[Opened],
        mappings: Sequence[Any],
        qs: tuple[Questionnaire, ...],
        options: BatchOptions,
        survey: Survey,
        first: PassState,
        means: PersonMeans | None,
        screening: Screening | None = None,
        timed: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.inputs, self.mappings, self.qs = inputs, mappings, qs
        self.options, self.survey, self.first, self.means = options, survey, first, means
        self.screening, self.timed = screening, timed
        self.state = PassState(inputs, qs, options, passes=2)
        self.state.rows_done = first.rows_done
        self.state.bytes_before = first.size or 0

    def write(
        self,
        engine: Engine,
        output: Callable[[tuple[Column, ...]], Writer],
        progress: Progress | None,
    ) -> Writer | None:
        state, center = self.state, self.options.center
        per = 1 if self.options.shape.value == "wide" else sum(len(q.scales) for q in self.qs)
        base = base_names(self.mappings)
        firsts = [prepare(next(opened.chunks), self.survey, None) for opened in self.inputs]
        jobs = chunk_jobs(
            self.inputs,
            firsts,
            self.mappings,
            self.qs,
            self.options,
            self.survey,
            state,
            build=True,
        )
        if self.screening is not None:
            jobs = (replace(j, keep_matrices=True, groups=self.timed) for j in jobs)
        sink: Writer | None = None
        try:
            for part in engine.map(jobs):
                state.rows_done += part.rows
                state.rows[part.file] += part.rows
                state.report(progress)
                if part.table is None:  # refused now, not in the first pass
                    raise self._changed(part.file)
                table, columns = part.table, part.columns
                if self.means is not None:
                    assert center is not None
                    person = self.means.means(part.clients)
                    table, columns = add_centre(
                        table, columns, person, self.qs, self.options.shape.value, center
                    )
                if self.screening is not None:
                    table, columns = add_quality(
                        table, columns, part, self.screening, per=per, base=base
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

    def check_unchanged(self, first: Sequence[Opened]) -> None:
        """Refuse an input rewritten since the first pass opened it (its size or time of
        change differ), even with the same number of rows."""
        for f, (before, now) in enumerate(zip(first, self.inputs, strict=True)):
            if before.stamp != now.stamp:
                raise self._changed(f)

    def _twice(self) -> str:
        if self.screening is None:
            return "--center reads the input twice: once for the person means, once to write"
        if self.means is None:
            return "--quality reads the input twice: once for the screening, once to write"
        return (
            "--center and --quality read the input twice: once for the person means and the "
            "screening, once to write"
        )

    def _changed(self, f: int) -> InputFileError:
        return InputFileError(
            Problem(
                "file-changed",
                f"changed while it was read ({self._twice()}); nothing was written",
                self.inputs[f].name,
            )
        )


def _redcap(table: TextTable) -> bool:
    return getattr(table, "source", "") == "redcap"
