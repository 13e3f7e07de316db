"""Batch scoring of data files: text cells → numbers → every bad cell → one engine call.

The pipeline for each input (a :class:`~alliance_cli.research.readers.TextTable`):

1. **Map** the columns to items (:mod:`alliance_cli.research.columnmap`; every input at once:
   :func:`map_all`).
2. **Read** each item column's text as numbers, per distinct value, and **check** the cells
   with the engine's own :func:`~alliance_cli.scoring.cell_states` (out of range, off the
   step grid, excluded, unreadable) in :mod:`alliance_cli.research.cells`; with declared ids,
   every missing or repeated response id (within a chunk and across chunks and inputs) in
   :mod:`alliance_cli.research.ids`. Every bad cell goes into one table (pandera's
   ``failure_cases``): file, row (as in the file, header counted), column, value, code,
   problem.
3. **Refuse or go on** (:func:`refuses`, the one rule): by default any bad cell stops the run
   with :class:`BatchDataError` carrying the table (:func:`refusal`); with
   ``invalid=missing`` bad answer cells are scored as missing (a missing or repeated id is
   always an error).
4. **Score** with :func:`~alliance_cli.scoring.score_matrix`, one call per questionnaire and
   chunk of rows (:func:`~alliance_cli.research.part.score_part`), and lay the result out wide
   (a row per response) or long (a row per response × scale) in
   :mod:`alliance_cli.research.scoretable`.

The chunks come from :func:`~alliance_cli.research.run.run_batch`, the one driver (inputs of
any size, read in chunks; what ``batch``, ``reliability`` and the Dask engine run). This module
holds what the driver and the parts share: the options (:class:`BatchOptions`), the column
mapping of every input (:func:`map_all`), the result with its summary and counts
(:class:`Batch`, :class:`Counts`), and when and how a run stops (:func:`refuses`,
:func:`refusal`).

Batch and one-at-a-time scoring agree exactly: the texts (withheld reasons, flags) come from
:mod:`alliance_cli.result`, and numbers are rounded as there (10 decimals).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from alliance_cli.errors import BatchDataError, Problem, UsageError
from alliance_cli.io.columns import Column
from alliance_cli.model import Questionnaire
from alliance_cli.options import ColumnSet, InvalidPolicy, Shape
from alliance_cli.research import surveys
from alliance_cli.research.cells import label_conflicts
from alliance_cli.research.columnmap import SHEET_HINT, FileMapping, map_columns
from alliance_cli.research.mapfile import MapSource
from alliance_cli.research.quality.rules import QualityOptions
from alliance_cli.research.quality.screen import Screening
from alliance_cli.research.readers import TextTable
from alliance_cli.research.surveyrows import STATUS_ALLOWED, RowCounts, total

SHOWN_FAILURES = 20


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
    quality: QualityOptions | None = None
    """``--quality``: careless-response indices and flags added to each row."""


@dataclass(frozen=True)
class Counts:
    """Per questionnaire: responses scored on every scale, with some score withheld,
    (REDCap) output rows that are another form's, or whose form is not complete, and
    responses with at least one scale scored."""

    questionnaire: str
    complete: int
    withheld: int
    other_form: int = 0
    not_complete: int = 0
    some_score: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.questionnaire,
            self.complete + other.complete,
            self.withheld + other.withheld,
            self.other_form + other.other_form,
            self.not_complete + other.not_complete,
            self.some_score + other.some_score,
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
    """What the codebook and the summary say of one input."""

    name: str
    rows: int
    """Rows read (after the survey format's row filters)."""
    header_rows: int
    delimiter_name: str
    encoding: str
    format: str


@dataclass(frozen=True)
class Batch:
    inputs: tuple[InputInfo, ...]
    questionnaires: tuple[Questionnaire, ...]
    mappings: tuple[FileMapping, ...]
    options: BatchOptions
    failures: Any
    """DataFrame with :data:`FAILURE_COLUMNS`, in file, row and column order: the first
    :data:`~alliance_cli.research.passes.KEPT_FAILURES` (``bad_cells`` counts them all)."""
    refused: bool
    """True when the failures stop the run (what ``check`` raises on)."""
    columns: tuple[Column, ...]
    """What each output column means (for the codebook)."""
    counts: tuple[Counts, ...]
    codes: dict[str, int] = field(default_factory=dict)
    """Bad cells per problem code."""
    written: int = 0
    """Rows written to the output."""
    row_counts: tuple[RowCounts, ...] = ()
    """Per input: the rows read, and those left out by reason (the rest are scored)."""
    na_columns: tuple[str, ...] = ()
    """Item columns where ``NA`` was read as "does not apply" (their items offer it)."""
    quality: Screening | None = None
    """``--quality``: the screening, with how many responses each flag caught."""

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.inputs)

    @property
    def accounting(self) -> RowCounts:
        """Every row read, and those left out by reason (the rest were scored), over the
        inputs (counted per input: :attr:`row_counts`)."""
        return total(self.row_counts)

    @property
    def empty(self) -> str | None:
        """Why the run has nothing to show (:func:`nothing_scored`), or None."""
        return nothing_scored(self.rows, self.counts)

    @property
    def output_rows(self) -> int:
        """Rows of the output: a row per response (wide) or per response × scale (long)."""
        if self.options.shape is Shape.wide:
            return self.rows
        return self.rows * sum(len(q.scales) for q in self.questionnaires)

    @property
    def bad_cells(self) -> int:
        return sum(self.codes.values())

    def failure_counts(self) -> dict[str, int]:
        """Bad cells per problem code, most frequent first."""
        return dict(Counter(self.codes).most_common())

    def summary(self) -> list[str]:
        """``read 120 rows from a.csv`` (and, when some were left out, why, and how many were
        scored), then per questionnaire how many were scored."""
        files = ", ".join(t.name for t in self.inputs)
        counts = self.accounting
        read = f"read {counts.read:,} row{'s' * (counts.read != 1)} from {files}"
        lines = [f"{read}: {counts.describe()}" if counts.reasons() else read]
        lines += [c.describe() for c in self.counts]
        if self.na_columns:
            lines.append(
                f'NA read as "does not apply" in {", ".join(self.na_columns)} (its item offers '
                "that answer; --missing NA reads it as a missing answer)"
            )
        lines.append(bad_cells_line(self.failure_counts(), refused=self.refused))
        if self.quality is not None:
            lines += self.quality.summary()
        return lines


def bad_cells_line(by_problem: dict[str, int], *, refused: bool = False) -> str:
    """``2 bad cells (scored as missing): 1 out-of-range, 1 unknown-label``, or ``no bad
    cells`` (batch's summary; reliability's notice)."""
    n = sum(by_problem.values())
    if not n:
        return "no bad cells"
    parts = ", ".join(f"{k:,} {code}" for code, k in by_problem.items())
    return f"{n:,} bad cell{'s' * (n != 1)}{' (scored as missing)' * (not refused)}: {parts}"


def nothing_scored(rows: int, counts: Sequence[Counts]) -> str | None:
    """Why a run has nothing to show — no row kept, or no score in any row kept (``counts``
    per questionnaire; none when the scales were not scored) — or None. A run refuses to
    write that unless allowed (``--allow-empty``)."""
    if rows == 0:
        return "no row was scored"
    if counts and not any(c.some_score for c in counts):
        return (
            "no row has a score (every score was withheld: check the column mapping and the "
            "--missing codes)"
        )
    return None


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
            hint = f"{SHEET_HINT}; {exc.hint}" if table.format == "xlsx" else exc.hint
            continue
        if notices := surveys.form_notices(table, mapping):
            mapping = replace(mapping, notices=(*mapping.notices, *notices))
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


def refuses(bad: int, answer_bad: int, invalid: InvalidPolicy) -> bool:
    """Whether ``bad`` bad cells, ``answer_bad`` of them answer cells (the rest ids or REDCap
    form statuses), stop a run: any bad cell does, unless ``--invalid missing``, which
    scores a bad answer as missing; a bad id or status stops it always. The one rule, for a
    chunk (whether to build its rows) and for the run."""
    return bad > 0 and (invalid is InvalidPolicy.error or bad > answer_bad)


def refusal(
    failures: Any,
    options: BatchOptions,
    total: int,
    rows: int,
    *,
    outcome: str = "nothing was written",
    several: bool = False,
    errors: Path | None = None,
) -> BatchDataError:
    """The error a run stops with: ``failures`` are the first bad cells (of ``total``, in
    ``rows`` rows); ``outcome`` says what the refusal left undone; ``several``: the run had
    more than one input (the cells name their file); ``errors``: where every bad cell was
    written."""
    n = total
    shown = f"; the first {SHOWN_FAILURES} follow" if n > SHOWN_FAILURES else ""
    codes = set(failures["code"].tolist())
    hint = f"{outcome}. --errors FILE writes every bad cell"
    if codes - {"missing-id", "duplicate-id", "bad-form-status"}:  # answer cells
        # NA and . are missing already: the examples are codes that are not.
        hint += (
            "; codes that mark a missing answer (-99, 999) go in --missing CODE or the map; "
            "--invalid missing scores bad answers as missing"
        )
    if codes & {"missing-id", "duplicate-id"} and options.invalid is InvalidPolicy.missing:
        hint += " (a missing or repeated id is always an error)"
    if "bad-form-status" in codes:  # read with --complete-only only
        hint += (
            f"; a REDCap form status is {STATUS_ALLOWED}: correct those cells, or leave out "
            "--complete-only to score every row"
        )
    return BatchDataError(
        Problem(
            "bad-cells",
            f"{n:,} bad cell{'s' * (n != 1)} in {rows:,} row{'s' * (rows != 1)}{shown}",
        ),
        failures=failures,
        total=n,
        hint=hint,
        several=several,
        written_to=errors,
    )
