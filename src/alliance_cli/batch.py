"""Batch scoring of data files: text cells → numbers → every bad cell → one engine call.

The pipeline for each input (a :class:`~alliance_cli.io.readers.TextTable`):

1. **Map** the columns to items (:mod:`alliance_cli.columnmap`).
2. **Read** each item column's text as numbers, per column and per *distinct* value (pandas
   ``factorize``, then ``take``): a missing code or a recode from the map, else the same rules
   as one typed answer (:func:`alliance_cli.responses.read_value`: numbers, scale labels
   case-insensitively, "does not apply" words). No Python loop runs over rows.
3. **Check** with the engine's own :func:`~alliance_cli.scoring.cell_states`: out of range, off
   the step grid, excluded. Every bad cell, and with declared ids every missing or repeated
   response id, goes into one table (pandera's ``failure_cases``): file, row (as in the file,
   header counted), column, value, code, problem.
4. **Refuse or go on**: by default any bad cell raises :class:`BatchDataError` carrying the
   table; with ``invalid=missing`` bad answer cells are scored as missing (a missing or
   repeated id is always an error).
5. **Score** with :func:`~alliance_cli.scoring.score_matrix`, one call per questionnaire for
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
from .batchtable import add_centre, base_names, build_table, client_column, first_at_of
from .columnmap import FileMapping, map_columns
from .errors import BatchDataError, Problem, UsageError
from .io import surveys
from .io.columns import Column
from .io.readers import TextTable
from .mapfile import CellRules, MapSource
from .model import GRID_TOLERANCE, Questionnaire, fmt_num, normalize_label
from .responses import NA_WORDS, read_value

FAILURE_COLUMNS = ("file", "row", "column", "value", "code", "problem")
SHOWN_FAILURES = 20

# Why a text cell could not be read as an answer (per distinct value).
_READ_OK, _READ_UNREADABLE, _READ_NO_NA = 0, 1, 2


class InvalidPolicy(StrEnum):
    error = "error"
    missing = "missing"


class Shape(StrEnum):
    wide = "wide"
    long = "long"


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


@dataclass(frozen=True)
class Counts:
    """Per questionnaire: responses scored on every scale, and with some score withheld."""

    questionnaire: str
    complete: int
    withheld: int


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

    @property
    def rows(self) -> int:
        return sum(len(t) for t in self.inputs)

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
        """``read 120 rows from a.csv``, then per questionnaire how many were scored."""
        files = ", ".join(t.name for t in self.inputs)
        lines = [f"read {self.rows:,} row{'s' * (self.rows != 1)} from {files}"]
        for c in self.counts:
            lines.append(
                f"{c.questionnaire}: {c.complete:,} scored on every scale, "
                f"{c.withheld:,} with a score withheld"
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


def score_part(job: PartJob) -> Part:
    """Read, check and score one chunk: its bad cells (repeated ids within the chunk
    included), counts, and output rows. The same function serves every engine."""
    table, mapping, qs = job.table, job.mapping, job.questionnaires
    table = surveys.keep_complete(table, mapping)
    pieces: list[Any] = []
    matrices: dict[str, Any] = {}
    states: dict[str, Any] = {}
    for qc in mapping.questionnaires:
        x, states[qc.questionnaire.id], bad = _read_questionnaire(
            table, job.file, qc.questionnaire, qc.items
        )
        pieces += bad
        matrices[qc.questionnaire.id] = x
    answer_bad = sum(len(p) for p in pieces)
    id_pieces, keys = _id_check(table, job.file, mapping)
    failures = failure_table(pieces + id_pieces, keep_place=True)
    refused = bool(len(failures)) and (
        job.options.invalid is InvalidPolicy.error or len(failures) > answer_bad
    )
    if job.score or job.build:
        scores = {q.id: scoring.score_matrix(q, matrices[q.id], states[q.id]) for q in qs}
        counts = tuple(_counts(q, scores[q.id]) for q in qs)
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
        )
    clients = None
    if job.options.center and job.build:
        clients = client_column([table], job.options.center, "--center")
    return Part(
        out,
        columns,
        failures,
        answer_bad,
        counts,
        keys,
        {q.id: _answers(matrices[q.id], states[q.id]) for q in qs} if job.keep_matrices else {},
        len(table),
        job.file,
        clients,
    )


SLICE_ROWS = 100_000
"""Rows :func:`score_batch` scores at a time."""


def _answers(x: Any, states: Any) -> Any:
    """The answers: NaN in every cell that is not one (blank, "does not apply", bad)."""
    return np.where(states == scoring.ANSWERED, x, np.nan)


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
        kept.append(surveys.keep_complete(table, mapping))
        # In slices of rows, as a batch streams them: the temporaries of scoring stay small
        # (a few MB, not hundreds), which is several times faster on large tables.
        for start in range(0, max(len(table), 1), SLICE_ROWS):
            piece = replace(
                table,
                frame=table.frame.iloc[start : start + SLICE_ROWS],
                rows=table.rows[start : start + SLICE_ROWS],
            )
            job = PartJob(
                qs, options, mapping, f, piece, base, len(inputs) > 1, build, True, score=score
            )
            part = score_part(job)
            parts.append(replace(part, failures=registry.check(part)))
    failures = failure_table([p.failures for p in parts])
    answer_bad = sum(p.answer_bad for p in parts)
    refused = bool(len(failures)) and (
        options.invalid is InvalidPolicy.error or len(failures) > answer_bad
    )
    if refused and check:
        raise refusal(failures, options)
    counts = tuple(
        Counts(
            q.id,
            sum(p.counts[i].complete for p in parts),
            sum(p.counts[i].withheld for p in parts),
        )
        for i, q in enumerate(qs)
        if score or build
    )
    matrices = {q.id: _stacked([p.matrices[q.id] for p in parts], len(q.items)) for q in qs}
    if refused or not build:
        return Batch(
            tuple(kept), qs, mappings, options, failures, refused, None, (), counts, matrices
        )
    table, columns = join_parts(parts, qs, options, mappings)
    return Batch(
        tuple(kept), qs, mappings, options, failures, False, table, columns, counts, matrices
    )


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
        clients = np.concatenate([p.clients for p in parts])
        table, columns = add_centre(
            table, columns, clients, qs, options.shape.value, options.center
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
            out.append(
                map_columns(
                    table.columns,
                    qs,
                    file=table.name,
                    spec=options.spec,
                    ids=surveys.id_columns(table, options.ids, options.spec),
                    missing=(*options.missing, *surveys.missing_codes(table)),
                )
            )
        except UsageError as exc:
            problems += [p for p in exc.problems if p not in problems]
            hint = exc.hint
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


# -- reading cells ------------------------------------------------------------------------------


def read_cells(
    q: Questionnaire, item_id: str, text: Any, rules: CellRules
) -> tuple[Any, Any, Any, Any]:
    """One column's text as answers, per distinct text: (codes, values, why unreadable,
    recoded) — row ``i`` holds distinct text ``codes[i]``.

    Each distinct text is read once — missing code, recode, then
    :func:`~alliance_cli.responses.read_value`. Unreadable texts are NaN in ``values`` and
    non-zero in ``why``."""
    codes, uniques = pd.factorize(text, sort=False)
    n = len(uniques)
    values = np.full(n, np.nan)
    why = np.zeros(n, dtype=np.int8)
    recoded = np.zeros(n, dtype=np.bool_)
    for k, raw in enumerate(uniques.tolist()):
        token = str(raw).strip()
        if not token or (not rules.empty and rules.is_missing(token)):
            continue
        hit, value = rules.recoded(token) if not rules.empty else (False, None)
        if hit:
            recoded[k] = True
            values[k] = np.nan if value is None else value
            continue
        got = read_value(q, item_id, token)
        if isinstance(got, Problem):
            why[k] = _READ_NO_NA if normalize_label(token) in NA_WORDS else _READ_UNREADABLE
        else:
            values[k] = got
    return codes, values, why, recoded


def _read_questionnaire(
    table: TextTable, f: int, q: Questionnaire, items: Sequence[Any]
) -> tuple[Any, Any, list[Any]]:
    """The rows × items matrix of one file, its cell states, and the failure pieces of its
    bad cells (which are left NaN and missing, so that the matrix scores them as missing)."""
    columns = [read_cells(q, ic.item, table.frame[ic.position], ic.rules) for ic in items]
    # The states of the distinct values, by the engine's own cell_states on a small matrix
    # (a row per distinct value, padded with blanks), then spread over the rows.
    distinct = np.full((max((len(c[1]) for c in columns), default=0), len(items)), np.nan)
    for j, (_, values, _, _) in enumerate(columns):
        distinct[: len(values), j] = values
    distinct_states = scoring.cell_states(q, distinct)
    x = np.empty((len(table), len(items)), dtype=np.float64)
    states = np.empty(x.shape, dtype=np.int8)
    unreadable = np.zeros(x.shape, dtype=np.int8)
    recoded = np.zeros(x.shape, dtype=np.bool_)
    for j, (codes, values, why, was) in enumerate(columns):
        x[:, j] = values.take(codes)
        states[:, j] = distinct_states[:, j].take(codes)
        unreadable[:, j] = why.take(codes)
        recoded[:, j] = was.take(codes)
    pieces: list[Any] = []
    cols = scoring.Columns.of(q)
    for j, ic in enumerate(items):
        invalid = states[:, j] == scoring.INVALID
        if not (invalid.any() or unreadable[:, j].any()):
            continue
        xj = x[:, j]
        with np.errstate(invalid="ignore"):
            out_range = invalid & (
                (xj < cols.lo[j] - GRID_TOLERANCE) | (xj > cols.hi[j] + GRID_TOLERANCE)
            )
            steps = (xj - cols.lo[j]) / cols.step[j]
        off_grid = invalid & ~out_range & (np.abs(steps - np.round(steps)) >= GRID_TOLERANCE)
        excluded = invalid & ~out_range & ~off_grid
        allowed = q.scale_of(ic.item).describe_allowed()
        checks = (
            (
                unreadable[:, j] == _READ_UNREADABLE,
                "not-a-number",
                "neither a number nor a label of the scale",
            ),
            (
                unreadable[:, j] == _READ_NO_NA,
                "no-not-applicable",
                'means "does not apply", which this item does not offer',
            ),
            (out_range, "out-of-range", "out of range"),
            (off_grid, "off-grid", "not on the scale's steps"),
            (excluded, "excluded", "not an answer on this scale"),
        )
        for mask, code, what in checks:
            if mask.any():
                pieces.append(
                    _piece(table, f, ic.position, mask, code, what, allowed, xj, recoded[:, j])
                )
        x[:, j] = np.where(invalid, np.nan, xj)
    # Bad cells are now blank: the states say so too (what scoring them as missing means).
    states[states == scoring.INVALID] = scoring.MISSING
    return x, states, pieces


def _piece(
    table: TextTable,
    f: int,
    position: int,
    mask: Any,
    code: str,
    what: str,
    allowed: str,
    values: Any,
    recoded: Any,
) -> Any:
    problem = pd.Series(np.full(int(mask.sum()), f"{what}; allowed: {allowed}", dtype=object))
    was = recoded[mask]
    if was.any():
        shown = pd.Series(values[mask][was])
        names = {v: _fmt(v) for v in shown.unique()}
        problem[was] = (
            f"{what} (recoded to " + shown.map(names).to_numpy() + f"); allowed: {allowed}"
        )
    return pd.DataFrame(
        {
            "_file": f,
            "_position": position,
            "file": table.name,
            "row": table.rows[mask],
            "column": table.columns[position],
            "value": table.frame[position].to_numpy()[mask],
            "code": code,
            "problem": problem.to_numpy(),
        }
    )


def _fmt(v: float) -> str:
    return fmt_num(float(v))


# -- ids ------------------------------------------------------------------------------------------

_HASH_KEYS = ("alliance-ids-001", "alliance-ids-002")  # 16 characters each


def _id_check(table: TextTable, f: int, mapping: FileMapping) -> tuple[list[Any], IdKeys | None]:
    """A missing id (a blank id cell) and a repeated response id within the table (the same
    combination of id values again; reported at each repeat with the first's row); and the
    keys of the rows whose id is complete and first in the table, for :class:`IdRegistry`.

    Each id column is factorized once (pandas ``factorize``), so blanks, repeats and hashes
    are worked out per distinct value and combined as integers."""
    if not mapping.ids_declared:
        return [], None
    names = [name for name, _ in mapping.ids]
    optional = surveys.optional_ids(table)
    n = len(table)
    combined = np.zeros(n, dtype=np.int64)
    h1 = np.zeros(n, dtype=np.uint64)
    h2 = np.zeros(n, dtype=np.uint64)
    any_blank = np.zeros(n, dtype=np.bool_)
    pieces: list[Any] = []
    for name, pos in mapping.ids:
        column = table.frame[pos]
        codes, distinct = pd.factorize(column)
        values = np.asarray(distinct, dtype=object)
        blank = np.array([not str(v).strip() for v in values.tolist()], dtype=np.bool_)[codes]
        if name not in optional:
            any_blank |= blank
            if blank.any():
                pieces.append(
                    _id_piece(
                        table,
                        f,
                        pos,
                        blank,
                        name,
                        column.to_numpy()[blank],
                        "missing-id",
                        "missing id: the response cannot be identified",
                    )
                )
        if len(values) and combined.max(initial=0) > (1 << 62) // max(len(values), 1):
            combined = pd.factorize(combined)[0].astype(np.int64)
        combined = combined * len(values) + codes
        mix = np.uint64(0x9E3779B97F4A7C15)
        for h, key in ((h1, _HASH_KEYS[0]), (h2, _HASH_KEYS[1])):
            hashed = pd.util.hash_array(values, hash_key=key)[codes] if len(values) else h
            with np.errstate(over="ignore"):
                h *= mix
            h ^= hashed
    complete = ~any_blank
    rows = table.rows[complete]
    combined = combined[complete]
    repeated = pd.Series(combined).duplicated(keep="first").to_numpy()
    ids_frame = table.frame[[pos for _, pos in mapping.ids]].loc[complete].reset_index(drop=True)
    ids_frame.columns = names
    if repeated.any():
        group, _ = pd.factorize(combined)
        first_at = first_at_of(group)
        first_rows = rows[first_at[group[repeated]]]
        where = "duplicate response id; first at row " + first_rows.astype(str).astype(object)
        pieces.append(
            _id_piece(
                table,
                f,
                min(p for _, p in mapping.ids),
                repeated,
                ", ".join(names),
                _joined_ids(ids_frame.loc[repeated], names),
                "duplicate-id",
                where,
                rows=rows,
            )
        )
    first = ~repeated
    h1 = h1[complete][first]
    order = np.argsort(h1, kind="stable")  # here, in the worker: the registry takes runs
    keys = IdKeys(
        f,
        ", ".join(names),
        min(p for _, p in mapping.ids),
        h1[order],
        h2[complete][first][order],
        rows[first][order],
        ids_frame.loc[first].reset_index(drop=True),
        order,
    )
    return pieces, keys


@dataclass(frozen=True)
class IdKeys:
    """The complete response ids of a chunk (each first in it), for :class:`IdRegistry`."""

    file: int
    column: str
    position: int
    h1: Any
    """The first hash of each id, sorted; ``h2`` and ``rows`` in the same order."""
    h2: Any
    rows: Any
    ids: Any
    """The id columns of those rows in the chunk's order (a DataFrame), to show a repeat's
    value."""
    order: Any
    """Where each id of ``h1`` is in ``ids``."""


def _joined_ids(frame: Any, names: Sequence[str]) -> Any:
    value = frame[names[0]].astype(str)
    if len(names) > 1:
        value = value.str.cat([frame[n].astype(str) for n in names[1:]], sep=", ")
    return value.to_numpy(dtype=object)


def _id_piece(
    table: TextTable,
    f: int,
    position: int,
    mask: Any,
    column: str,
    value: Any,
    code: str,
    problem: Any,
    *,
    rows: Any = None,
) -> Any:
    return pd.DataFrame(
        {
            "_file": f,
            "_position": position,
            "file": table.name,
            "row": (table.rows if rows is None else rows)[mask],
            "column": column,
            "value": value,
            "code": code,
            "problem": problem,
        }
    )


class IdRegistry:
    """The response ids seen in earlier chunks and inputs, to find a repeat across them.

    Ids are kept as two independent 64-bit hashes of their text (a false repeat would need
    both to collide: about 1 in 10²⁵ for ten million ids) with the row and input of their
    first occurrence — 26 bytes per response — in a few runs sorted by the first hash (a
    new chunk's run is merged with the last run while that is not twice as long, so there
    are about log₂(chunks) runs and each id is merged about log₂(chunks) times)."""

    def __init__(self, files: Sequence[str]) -> None:
        self.files = list(files)
        self.runs: list[tuple[Any, Any, Any, Any]] = []  # h1, h2, row, file; sorted by h1

    def check(self, part: Part) -> Any:
        """The part's failures with repeats of earlier ids added (and its ids remembered)."""
        keys = part.keys
        if keys is None:
            return part.failures
        h1, h2 = keys.h1, keys.h2  # sorted by h1
        hit = np.zeros(len(h1), dtype=np.bool_)
        first_row = np.zeros(len(h1), dtype=np.int64)
        first_file = np.zeros(len(h1), dtype=np.int64)
        for r1, r2, rrow, rfile in self.runs:
            at = np.searchsorted(r1, h1)
            inside = at < len(r1)
            found = np.zeros(len(h1), dtype=np.bool_)
            found[inside] = (r1[at[inside]] == h1[inside]) & (r2[at[inside]] == h2[inside])
            found &= ~hit
            first_row[found] = rrow[at[found]]
            first_file[found] = rfile[at[found]]
            hit |= found
        failures = part.failures
        if hit.any():
            back = keys.order[hit]  # positions in the chunk's ids
            where = "duplicate response id; first at row " + first_row[hit].astype(str).astype(
                object
            )
            names = np.array(self.files, dtype=object)[first_file[hit]]
            where = np.where(first_file[hit] != keys.file, where + " of " + names, where)
            repeats = pd.DataFrame(
                {
                    "_file": keys.file,
                    "_position": keys.position,
                    "file": self.files[keys.file],
                    "row": keys.rows[hit],
                    "column": keys.column,
                    "value": _joined_ids(keys.ids.iloc[back], list(keys.ids.columns)),
                    "code": "duplicate-id",
                    "problem": where,
                }
            )
            failures = failure_table([failures, repeats], keep_place=True)
        new = ~hit
        self.runs.append(
            (
                h1[new],
                h2[new],
                keys.rows[new],
                np.full(int(new.sum()), keys.file, dtype=np.int16),
            )
        )
        while len(self.runs) > 1 and len(self.runs[-2][0]) <= 2 * len(self.runs[-1][0]):
            last, before = self.runs.pop(), self.runs.pop()
            # Two sorted runs merged in linear time: each element of the shorter goes after
            # the elements of the longer that are not greater. One field at a time, so that
            # at most one field is held twice.
            place = np.searchsorted(before[0], last[0], side="right") + np.arange(len(last[0]))
            rest = np.ones(len(before[0]) + len(last[0]), dtype=np.bool_)
            rest[place] = False
            fields = []
            for k in range(4):
                merged = np.empty(len(rest), dtype=before[k].dtype)
                merged[place] = last[k]
                merged[rest] = before[k]
                fields.append(merged)
                before, last = _drop(before, k), _drop(last, k)
            self.runs.append((fields[0], fields[1], fields[2], fields[3]))
        return failures


def _drop(run: tuple[Any, ...], k: int) -> tuple[Any, ...]:
    """The run without its field ``k`` (so that its memory can go)."""
    return (*run[:k], None, *run[k + 1 :])


def failure_table(pieces: Sequence[Any], *, keep_place: bool = False) -> Any:
    """The failure pieces as one table in file, row and column order; ``keep_place`` keeps
    the ``_file`` and ``_position`` columns (to merge with more pieces later)."""
    pieces = [p for p in pieces if len(p)]
    columns = (["_file", "_position"] if keep_place else []) + list(FAILURE_COLUMNS)
    if not pieces:
        empty = pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
        return empty.astype(
            {"row": np.int64} | ({"_file": np.int64, "_position": np.int64} if keep_place else {})
        )
    table = pd.concat(pieces, ignore_index=True) if len(pieces) > 1 else pieces[0]
    table = table.sort_values(["_file", "row", "_position"], kind="stable")
    return table[columns].reset_index(drop=True)


# -- scoring --------------------------------------------------------------------------------------


def _counts(q: Questionnaire, scores: scoring.Scores) -> Counts:
    withheld = np.zeros(len(scores.states), dtype=np.bool_)
    for s in scores.scales.values():
        withheld |= s.withheld != scoring.WITHHELD_NONE
    return Counts(q.id, int((~withheld).sum()), int(withheld.sum()))
