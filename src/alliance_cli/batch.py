"""Batch scoring of data files: text cells → numbers → every bad cell → one engine call.

The pipeline for each input (a :class:`~alliance_cli.io.readers.TextTable`):

1. **Map** the columns to items (:mod:`alliance_cli.columnmap`).
2. **Read** each item column's text as numbers, per distinct value, and **check** the cells
   with the engine's own :func:`~alliance_cli.scoring.cell_states` (out of range, off the
   step grid, excluded, unreadable) in :mod:`alliance_cli.batchcells`; with declared ids,
   every missing or repeated response id (within a chunk and across chunks and inputs) in
   :mod:`alliance_cli.batchids`. Every bad cell goes into one table (pandera's
   ``failure_cases``): file, row (as in the file, header counted), column, value, code,
   problem.
3. **Refuse or go on**: by default any bad cell raises :class:`BatchDataError` carrying the
   table; with ``invalid=missing`` bad answer cells are scored as missing (a missing or
   repeated id is always an error).
4. **Score** with :func:`~alliance_cli.scoring.score_matrix`, one call per questionnaire for
   the rows of every input, and lay the result out wide (a row per response) or long (a row
   per response × scale) in :mod:`alliance_cli.batchtable`.

Batch and one-at-a-time scoring agree exactly: the texts (withheld reasons, flags) come from
:mod:`alliance_cli.result`, and numbers are rounded as there (10 decimals).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from . import scoring
from .batchcells import (
    failure_table,
    keep_rows,
    label_conflicts,
    not_its_rows,
    read_questionnaire,
)
from .batchids import IdKeys, IdRegistry, check_ids
from .batchtable import add_centre, base_names, build_table, client_column
from .centring import PersonMeans, centre_scores
from .columnmap import FileMapping, map_columns
from .errors import BatchDataError, Problem, UsageError
from .io import surveys
from .io.columns import Column
from .io.readers import DEFAULT_CHUNK_ROWS, TextTable
from .io.surveyrows import ANOTHER_FORM, FORM_NOT_COMPLETE, ITS_ROW, RowCounts, total
from .io.tables import slices
from .mapfile import MapSource
from .model import Questionnaire

SHOWN_FAILURES = 20


class InvalidPolicy(StrEnum):
    error = "error"
    missing = "missing"


class Shape(StrEnum):
    wide = "wide"
    long = "long"


class ColumnSet(StrEnum):
    """Which score columns the output has (:mod:`alliance_cli.batchtable`)."""

    compact = "compact"
    all = "all"


@dataclass(frozen=True)
class BatchOptions:
    spec: MapSource | None = None
    """A ``--map`` file."""
    ids: tuple[str, ...] = ()
    """Columns that together identify a response (``--id``)."""
    missing: tuple[str, ...] = ()
    """Codes meaning a missing answer in every item column (``--missing``)."""
    invalid: InvalidPolicy = InvalidPolicy.error
    shape: Shape = Shape.wide
    center: str | None = None
    """A client column (``--center``): add each scale's person mean and within-client
    deviation."""
    keep: tuple[str, ...] = ()
    """Columns carried into the output unchecked (``--keep``)."""
    keep_all: bool = False
    """Carry every column that is not an item or id (``--keep-all``)."""
    columns: ColumnSet = ColumnSet.compact
    """``--columns``: the compact score columns, or all of them."""


@dataclass(frozen=True)
class Counts:
    """Per questionnaire: responses scored on every scale, with some score withheld, and
    (REDCap) output rows that are another form's, or whose form is not complete."""

    questionnaire: str
    complete: int
    withheld: int
    other_form: int = 0
    not_complete: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.questionnaire,
            self.complete + other.complete,
            self.withheld + other.withheld,
            self.other_form + other.other_form,
            self.not_complete + other.not_complete,
        )

    def describe(self) -> str:
        """``wai-sr: 4 scored on every scale, 0 with a score withheld``."""
        text = (
            f"{self.questionnaire}: {self.complete:,} scored on every scale, "
            f"{self.withheld:,} with a score withheld"
        )
        if self.other_form:
            text += f", {self.other_form:,} row{'s' * (self.other_form != 1)} of another form"
        if self.not_complete:
            text += f", {self.not_complete:,} with its form not complete"
        return text


@dataclass(frozen=True)
class InputInfo:
    """What the codebook and the summary say of one input read in chunks."""

    name: str
    rows: int
    header_rows: int
    delimiter_name: str
    encoding: str
    format: str

    def __len__(self) -> int:
        return self.rows


@dataclass(frozen=True)
class Batch:
    inputs: tuple[Any, ...]
    """The inputs: :class:`TextTable` s when scored whole, :class:`InputInfo` s when
    streamed (both have a name, a length, header rows, delimiter and encoding)."""
    questionnaires: tuple[Questionnaire, ...]
    mappings: tuple[FileMapping, ...]
    options: BatchOptions
    failures: Any
    """DataFrame with :data:`FAILURE_COLUMNS`, in file, row and column order (when streamed:
    the first :data:`KEPT_FAILURES`; ``bad_cells`` counts them all)."""
    refused: bool
    """True when the failures stop the run (what ``check`` raises on)."""
    table: Any
    """The output DataFrame; None when refused or streamed to a sink."""
    columns: tuple[Column, ...]
    """What each output column means (for the codebook)."""
    counts: tuple[Counts, ...]
    matrices: dict[str, Any] = field(default_factory=dict)
    """Per questionnaire id: the rows × items answers of every input, column-major, NaN in
    every cell that is not an answer (blank, "does not apply", bad)."""
    codes: dict[str, int] | None = None
    """Bad cells per problem code when streamed (else counted from ``failures``)."""
    written: int = 0
    """Rows written to the sink (streamed runs)."""
    row_counts: tuple[RowCounts, ...] = ()
    """Per input: the rows read, and those left out by reason (the rest are scored)."""
    na_columns: tuple[str, ...] = ()
    """Item columns where ``NA`` was read as "does not apply" (their items offer it)."""

    @property
    def rows(self) -> int:
        return sum(len(t) for t in self.inputs)

    @property
    def empty(self) -> bool:
        """No row was scored (a run refuses to write that unless allowed)."""
        return self.rows == 0

    @property
    def output_rows(self) -> int:
        """Rows of the output: a row per response (wide) or per response × scale (long)."""
        if self.options.shape is Shape.wide:
            return self.rows
        return self.rows * sum(len(q.scales) for q in self.questionnaires)

    @property
    def bad_cells(self) -> int:
        return sum(self.codes.values()) if self.codes is not None else len(self.failures)

    def failure_counts(self) -> dict[str, int]:
        """Bad cells per problem code, most frequent first."""
        counted = self.codes if self.codes is not None else Counter(self.failures["code"].tolist())
        return dict(Counter(counted).most_common())

    def summary(self) -> list[str]:
        """``read 120 rows from a.csv`` (and, when some were left out, why, and how many were
        scored), then per questionnaire how many were scored."""
        files = ", ".join(t.name for t in self.inputs)
        counts = total(self.row_counts) if self.row_counts else RowCounts.of(self.rows)
        read = f"read {counts.read:,} row{'s' * (counts.read != 1)} from {files}"
        lines = [f"{read}: {counts.describe()}" if counts.reasons() else read]
        lines += [c.describe() for c in self.counts]
        if self.na_columns:
            lines.append(
                f'NA read as "does not apply" in {", ".join(self.na_columns)} (its item offers '
                "that answer; --missing NA reads it as a missing answer)"
            )
        if self.bad_cells:
            parts = ", ".join(f"{n:,} {code}" for code, n in self.failure_counts().items())
            tail = " (scored as missing)" if not self.refused else ""
            lines.append(f"{self.bad_cells:,} bad cell{'s' * (self.bad_cells != 1)}{tail}: {parts}")
        else:
            lines.append("no bad cells")
        return lines


@dataclass(frozen=True)
class PartJob:
    """One chunk of one input to score: everything :func:`score_part` needs, picklable (so
    that another process or a Dask worker can run it)."""

    questionnaires: tuple[Questionnaire, ...]
    options: BatchOptions
    mapping: FileMapping
    file: int
    """The input's index among the run's inputs."""
    table: TextTable
    base: tuple[str, ...]
    """The run's kept (id) columns: the union over its inputs, so every chunk has them all."""
    several: bool
    """More than one input (adds the ``file`` column)."""
    build: bool = True
    """Build the output table (not for a dry run or reliability)."""
    keep_matrices: bool = False
    """Keep each questionnaire's answers (:attr:`Batch.matrices`), for reliability."""
    score: bool = True
    """Score the scales (for the output and the counts); reliability needs only the
    checked answers."""
    groups: tuple[tuple[str, str], ...] = ()
    """Columns whose text each row carries out (:attr:`Part.groups`), each with the option
    that names it (reliability's ``--by`` and ``--session``)."""


@dataclass(frozen=True)
class Part:
    """What scoring one chunk gives."""

    table: Any
    """Output rows, or None (not built, or refused)."""
    columns: tuple[Column, ...]
    failures: Any
    """Bad cells of the chunk: :data:`FAILURE_COLUMNS` plus ``_file`` and ``_position``."""
    answer_bad: int
    """How many of those are answer cells (the rest are ids)."""
    counts: tuple[Counts, ...]
    keys: IdKeys | None
    """The chunk's complete ids, for the check across chunks; None when no ids are
    declared."""
    matrices: dict[str, Any]
    rows: int = 0
    """Rows in the chunk (after the survey's row filters)."""
    file: int = 0
    clients: Any = None
    """With ``--center``: the client of each row (None where blank)."""
    row_counts: RowCounts = field(default_factory=RowCounts)
    """The chunk's rows read, and those left out by reason."""
    na_columns: tuple[str, ...] = ()
    """Item columns where ``NA`` was read as "does not apply"."""
    groups: tuple[Any, ...] = ()
    """The text of each of :attr:`PartJob.groups`' columns (None where blank)."""
    centre: Any = None
    """With ``--center``: the scores centring takes, rows × scales
    (:func:`~alliance_cli.centring.centre_scores`)."""


def score_part(job: PartJob) -> Part:
    """Read, check and score one chunk: its bad cells (repeated ids within the chunk
    included), counts, and output rows. The same function serves every engine."""
    table, mapping, qs = job.table, job.mapping, job.questionnaires
    table, status_pieces, roles, row_counts = keep_rows(table, job.file, mapping)
    pieces: list[Any] = []
    matrices: dict[str, Any] = {}
    states: dict[str, Any] = {}
    na_columns: list[str] = []
    for qc in mapping.questionnaires:
        qid = qc.questionnaire.id
        x, states[qid], bad, na = read_questionnaire(table, job.file, qc.questionnaire, qc.items)
        if qid in roles:
            bad = not_its_rows(table, x, states[qid], bad, roles[qid] != ITS_ROW)
        pieces += bad
        na_columns += na
        matrices[qid] = x
    answer_bad = sum(len(p) for p in pieces)
    id_pieces, keys = check_ids(table, job.file, mapping)
    failures = failure_table(pieces + id_pieces + status_pieces, keep_place=True)
    refused = bool(len(failures)) and (
        job.options.invalid is InvalidPolicy.error or len(failures) > answer_bad
    )
    if job.score or job.build:
        scores = {q.id: scoring.score_matrix(q, matrices[q.id], states[q.id]) for q in qs}
        scores = {q: _not_scored(s, roles.get(q)) for q, s in scores.items()}
        counts = tuple(_counts(q, scores[q.id], roles.get(q.id)) for q in qs)
    else:
        scores, counts = {}, ()
    out: Any = None
    columns: tuple[Column, ...] = ()
    if job.build and not refused:
        out, columns = build_table(
            table,
            mapping,
            qs,
            {q.id: (matrices[q.id], scores[q.id]) for q in qs},
            job.options.shape,
            base=job.base,
            several=job.several,
            roles=roles,
            columns=job.options.columns,
        )
    clients = centre = None
    if job.options.center and (job.score or job.build):
        clients = client_column([table], job.options.center, "--center")
        centre = centre_scores(qs, scores)
    return Part(
        out,
        columns,
        failures,
        answer_bad,
        counts,
        keys,
        {q.id: scoring.answers_only(matrices[q.id], states[q.id]) for q in qs}
        if job.keep_matrices
        else {},
        len(table),
        job.file,
        clients,
        row_counts,
        tuple(dict.fromkeys(na_columns)),
        tuple(client_column([table], name, option) for name, option in job.groups),
        centre,
    )


SLICE_ROWS = DEFAULT_CHUNK_ROWS
"""Rows :func:`score_batch` scores at a time (as many as a streamed chunk)."""


def score_batch(
    inputs: Sequence[TextTable],
    questionnaires: Sequence[Questionnaire],
    options: BatchOptions = BatchOptions(),
    *,
    check: bool = True,
    build: bool = True,
    score: bool = True,
) -> Batch:
    """Map, read, check and score ``inputs`` (whole tables in memory) on every questionnaire.

    Raises :class:`UsageError` when the columns cannot be mapped (every problem of every
    file at once) and, with ``check``, :class:`BatchDataError` carrying the table of every bad
    cell when the data cannot be scored as asked. Without ``check`` (a dry run) the result
    says ``refused`` instead and has no table. Without ``build`` only the answer matrices
    and counts are made; without ``score`` too, no counts (what reliability needs)."""
    qs = tuple(questionnaires)
    mappings = map_all(inputs, qs, options)
    base = base_names(mappings)
    registry = IdRegistry([t.name for t in inputs])
    parts: list[Part] = []
    kept: list[TextTable] = []
    for f, (table, mapping) in enumerate(zip(inputs, mappings, strict=True)):
        kept.append(keep_rows(table, f, mapping)[0])
        # In slices of rows, as a batch streams them: the temporaries of scoring stay small
        # (a few MB, not hundreds), which is several times faster on large tables.
        for _, piece in slices(table, SLICE_ROWS):
            job = PartJob(
                qs, options, mapping, f, piece, base, len(inputs) > 1, build, True, score=score
            )
            part = score_part(job)
            parts.append(replace(part, failures=registry.check(part.keys, part.failures)))
    failures = failure_table([p.failures for p in parts])
    answer_bad = sum(p.answer_bad for p in parts)
    refused = bool(len(failures)) and (
        options.invalid is InvalidPolicy.error or len(failures) > answer_bad
    )
    if refused and check:
        raise refusal(failures, options)
    counts = tuple(
        sum((p.counts[i] for p in parts), Counts(q.id, 0, 0))
        for i, q in enumerate(qs)
        if score or build
    )
    matrices = {q.id: _stacked([p.matrices[q.id] for p in parts], len(q.items)) for q in qs}
    rows = tuple(
        sum((p.row_counts for p in parts if p.file == f), surveys.left_before(t))
        for f, t in enumerate(inputs)
    )
    na_columns = tuple(dict.fromkeys(c for p in parts for c in p.na_columns))
    out: Any = None
    columns: tuple[Column, ...] = ()
    if build and not refused:
        out, columns = join_parts(parts, qs, options, mappings)
    return Batch(
        tuple(kept), qs, mappings, options, failures, refused, out, columns, counts, matrices,
        row_counts=rows, na_columns=na_columns,
    )  # fmt: skip


def _stacked(pieces: Sequence[Any], width: int) -> Any:
    """The parts' matrices one below the other, column-major (each item's answers
    contiguous, as the psychometrics take them)."""
    out = np.empty((sum(len(p) for p in pieces), width), order="F")
    at = 0
    for p in pieces:
        out[at : at + len(p)] = p
        at += len(p)
    return out


def join_parts(
    parts: Sequence[Part],
    qs: Sequence[Questionnaire],
    options: BatchOptions,
    mappings: Sequence[FileMapping],
) -> tuple[Any, tuple[Column, ...]]:
    """The output tables of the parts as one, with ``--center`` columns added."""
    if not parts:
        return pd.DataFrame({"row": pd.Series([], dtype=np.int64)}), ()
    table = (
        pd.concat([p.table for p in parts], ignore_index=True) if len(parts) > 1 else parts[0].table
    )
    columns = parts[0].columns
    if options.center:
        means = PersonMeans(sum(len(q.scales) for q in qs), by_scale=options.shape is Shape.wide)
        for p in parts:
            means.add(p.clients, p.centre)
        clients = np.concatenate([p.clients for p in parts])
        table, columns = add_centre(
            table, columns, means.means(clients), qs, options.shape.value, options.center
        )
    return table, columns


def map_all(
    inputs: Sequence[TextTable], qs: Sequence[Questionnaire], options: BatchOptions
) -> tuple[FileMapping, ...]:
    problems: list[Problem] = []
    out: list[FileMapping] = []
    hint = ""
    for table in inputs:
        try:
            mapping = map_columns(
                table.columns,
                qs,
                file=table.name,
                spec=options.spec,
                ids=surveys.id_columns(table, options.ids, options.spec),
                missing=(*options.missing, *surveys.missing_codes(table)),
                import_ids=surveys.import_ids(table),
                keep=options.keep,
                keep_all=options.keep_all,
                keep_default=surveys.kept_columns(table),
            )
        except UsageError as exc:
            problems += [p for p in exc.problems if p not in problems]
            hint = exc.hint
            continue
        out.append(mapping)
        for qc in mapping.questionnaires:
            if conflicts := label_conflicts(table, qc.questionnaire, qc.items):
                problems += conflicts
                hint = hint or (
                    "in a map file (--map MAP.yaml) list the questionnaire's columns under "
                    "questionnaires: <id>: columns:, giving that column the recode shown; or "
                    "correct the value labels"
                )
    if problems:
        raise UsageError(problems, hint=hint)
    return tuple(out)


def refusal(
    failures: Any, options: BatchOptions, total: int | None = None, rows: int | None = None
) -> BatchDataError:
    """The error a run stops with: ``failures`` are the bad cells kept (all of them, or the
    first ones of a streamed run, which gives the ``total`` and the number of bad ``rows``)."""
    n = len(failures) if total is None else total
    if rows is None:
        rows = failures[["file", "row"]].drop_duplicates().shape[0]
    shown = f"; the first {SHOWN_FAILURES} follow" if n > SHOWN_FAILURES else ""
    ids = failures["code"].isin(["missing-id", "duplicate-id"]).any()
    hint = (
        "nothing was written. --errors FILE writes every bad cell; codes that mark a missing "
        "answer (-99, NA) go in --missing CODE or the map; --invalid missing scores bad answers "
        "as missing"
    )
    if ids and options.invalid is InvalidPolicy.missing:
        hint += " (a missing or repeated id is always an error)"
    return BatchDataError(
        Problem(
            "bad-cells",
            f"{n:,} bad cell{'s' * (n != 1)} in {rows:,} row{'s' * (rows != 1)}{shown}",
        ),
        failures=failures,
        total=n,
        hint=hint,
    )


def _not_scored(scores: scoring.Scores, role: Any) -> scoring.Scores:
    """The scores with the rows that are not the questionnaire's own (``role`` not
    ``ITS_ROW``) neither withheld nor missing: their cells were not read (see
    :func:`~alliance_cli.batchtable.build_table` for the reason shown)."""
    if role is None or (role == ITS_ROW).all():
        return scores
    other = role != ITS_ROW
    scales = {
        sid: replace(
            s,
            withheld=np.where(other, scoring.WITHHELD_NONE, s.withheld).astype(np.int8),
            missing=np.where(other, 0, s.missing),
        )
        for sid, s in scores.scales.items()
    }
    return replace(scores, scales=scales)


def _counts(q: Questionnaire, scores: scoring.Scores, role: Any) -> Counts:
    withheld = np.zeros(len(scores.states), dtype=np.bool_)
    for s in scores.scales.values():
        withheld |= s.withheld != scoring.WITHHELD_NONE
    if role is None:
        return Counts(q.id, int((~withheld).sum()), int(withheld.sum()))
    mine = role == ITS_ROW
    return Counts(
        q.id,
        int((mine & ~withheld).sum()),
        int(withheld.sum()),
        int((role == ANOTHER_FORM).sum()),
        int((role == FORM_NOT_COMPLETE).sum()),
    )
