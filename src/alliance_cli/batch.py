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
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from . import scoring
from .batchtable import build_table
from .columnmap import FileMapping, map_columns
from .errors import BatchDataError, Problem, UsageError
from .io import surveys
from .io.columns import Column
from .io.readers import TextTable, blank_cells
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
class Batch:
    inputs: tuple[TextTable, ...]
    questionnaires: tuple[Questionnaire, ...]
    mappings: tuple[FileMapping, ...]
    options: BatchOptions
    failures: Any
    """DataFrame with :data:`FAILURE_COLUMNS`, in file, row and column order."""
    refused: bool
    """True when the failures stop the run (what ``check`` raises on)."""
    table: Any
    """The output DataFrame; None when refused."""
    columns: tuple[Column, ...]
    """What each output column means (for the codebook)."""
    counts: tuple[Counts, ...]
    matrices: dict[str, Any] = field(default_factory=dict)
    """Per questionnaire id: the rows × items answers of every input (bad cells NaN)."""

    @property
    def rows(self) -> int:
        return sum(len(t) for t in self.inputs)

    @property
    def bad_cells(self) -> int:
        return len(self.failures)

    def failure_counts(self) -> dict[str, int]:
        """Bad cells per problem code, most frequent first."""
        return dict(Counter(self.failures["code"].tolist()).most_common())

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


def score_batch(
    inputs: Sequence[TextTable],
    questionnaires: Sequence[Questionnaire],
    options: BatchOptions = BatchOptions(),
    *,
    check: bool = True,
) -> Batch:
    """Map, read, check and score ``inputs`` on every questionnaire.

    Raises :class:`UsageError` when the columns cannot be mapped (every problem of every
    file at once) and, with ``check``, :class:`BatchDataError` carrying the table of every bad
    cell when the data cannot be scored as asked. Without ``check`` (a dry run) the result
    says ``refused`` instead and has no table."""
    qs = tuple(questionnaires)
    mappings = _map_all(inputs, qs, options)
    inputs = [surveys.keep_complete(t, m) for t, m in zip(inputs, mappings, strict=True)]
    pieces: list[Any] = []
    matrices: dict[str, list[Any]] = {q.id: [] for q in qs}
    for f, (table, mapping) in enumerate(zip(inputs, mappings, strict=True)):
        for qc in mapping.questionnaires:
            x, bad = _read_questionnaire(table, f, qc.questionnaire, qc.items)
            pieces += bad
            matrices[qc.questionnaire.id].append(x)
    answer_bad = sum(len(p) for p in pieces)
    pieces += _id_failures(inputs, mappings)
    failures = _failure_table(pieces)
    refused = bool(len(failures)) and (
        options.invalid is InvalidPolicy.error or len(failures) > answer_bad
    )
    if refused and check:
        raise _refusal(failures, options)
    if refused:
        return Batch(tuple(inputs), qs, mappings, options, failures, True, None, (), ())
    scores = {q.id: _score(q, matrices[q.id]) for q in qs}
    table, columns = build_table(inputs, mappings, qs, scores, options.shape, options.center)
    counts = tuple(_counts(q, scores[q.id][1]) for q in qs)
    matrices = {q.id: scores[q.id][0] for q in qs}
    return Batch(
        tuple(inputs), qs, mappings, options, failures, False, table, columns, counts, matrices
    )


def _map_all(
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


def _refusal(failures: Any, options: BatchOptions) -> BatchDataError:
    n = len(failures)
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
        hint=hint,
    )


# -- reading cells ------------------------------------------------------------------------------


def read_cells(q: Questionnaire, item_id: str, text: Any, rules: CellRules) -> tuple[Any, Any, Any]:
    """One column's text as answers: (values, why unreadable, recoded), arrays per row.

    Each distinct text is read once — missing code, recode, then
    :func:`~alliance_cli.responses.read_value` — and the result is spread back over the rows
    with ``take``. Unreadable cells are NaN in ``values`` and non-zero in ``why``."""
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
    return values.take(codes), why.take(codes), recoded.take(codes)


def _read_questionnaire(
    table: TextTable, f: int, q: Questionnaire, items: Sequence[Any]
) -> tuple[Any, list[Any]]:
    """The rows × items matrix of one file, and the failure pieces of its bad cells (which
    are left NaN, so that the matrix scores them as missing)."""
    x = np.empty((len(table), len(items)), dtype=np.float64)
    unreadable = np.zeros(x.shape, dtype=np.int8)
    recoded = np.zeros(x.shape, dtype=np.bool_)
    for j, ic in enumerate(items):
        x[:, j], unreadable[:, j], recoded[:, j] = read_cells(
            q, ic.item, table.frame[ic.position], ic.rules
        )
    states = scoring.cell_states(q, x)
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
    return x, pieces


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


def _id_failures(inputs: Sequence[TextTable], mappings: Sequence[FileMapping]) -> list[Any]:
    """A missing id (a blank id cell) and a repeated response id (the same combination of
    id values again, across all inputs; reported at each repeat with the first's place)."""
    if not mappings or not mappings[0].ids_declared:
        return []
    pieces: list[Any] = []
    keys: list[Any] = []
    for f, (table, mapping) in enumerate(zip(inputs, mappings, strict=True)):
        frame = table.frame[[pos for _, pos in mapping.ids]]
        frame.columns = [name for name, _ in mapping.ids]
        blank = np.column_stack([blank_cells(frame[name]) for name, _ in mapping.ids])
        optional = surveys.optional_ids(table)
        blank[:, [k for k, (name, _) in enumerate(mapping.ids) if name in optional]] = False
        for k, (name, pos) in enumerate(mapping.ids):
            if blank[:, k].any():
                mask = blank[:, k]
                pieces.append(
                    pd.DataFrame(
                        {
                            "_file": f,
                            "_position": pos,
                            "file": table.name,
                            "row": table.rows[mask],
                            "column": name,
                            "value": frame[name].to_numpy()[mask],
                            "code": "missing-id",
                            "problem": "missing id: the response cannot be identified",
                        }
                    )
                )
        keyed = frame.assign(_file=f, _row=table.rows, _position=min(p for _, p in mapping.ids))
        keys.append(keyed.loc[~blank.any(axis=1)])
    if not keys:
        return pieces
    names = [name for name, _ in mappings[0].ids]
    together = pd.concat(keys, ignore_index=True)
    repeated = together.duplicated(subset=names, keep="first").to_numpy()
    if repeated.any():
        group = together.groupby(names, sort=False).ngroup().to_numpy()
        _, first_at = np.unique(group, return_index=True)
        first = together.iloc[first_at[group[repeated]]]
        dup = together.loc[repeated]
        where = "first at row " + first["_row"].astype(str).to_numpy()
        other_file = first["_file"].to_numpy() != dup["_file"].to_numpy()
        files = np.array([t.name for t in inputs], dtype=object)
        where = np.where(other_file, where + " of " + files[first["_file"].to_numpy()], where)
        value = dup[names[0]].astype(str)
        if len(names) > 1:
            value = value.str.cat([dup[n].astype(str) for n in names[1:]], sep=", ")
        pieces.append(
            pd.DataFrame(
                {
                    "_file": dup["_file"].to_numpy(),
                    "_position": dup["_position"].to_numpy(),
                    "file": files[dup["_file"].to_numpy()],
                    "row": dup["_row"].to_numpy(),
                    "column": ", ".join(names),
                    "value": value.to_numpy(),
                    "code": "duplicate-id",
                    "problem": "duplicate response id; " + where,
                }
            )
        )
    return pieces


def _failure_table(pieces: Sequence[Any]) -> Any:
    if not pieces:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in FAILURE_COLUMNS}).astype(
            {"row": np.int64}
        )
    table = pd.concat(pieces, ignore_index=True)
    table = table.sort_values(["_file", "row", "_position"], kind="stable")
    return table[list(FAILURE_COLUMNS)].reset_index(drop=True)


# -- scoring --------------------------------------------------------------------------------------


def _score(q: Questionnaire, parts: Sequence[Any]) -> tuple[Any, scoring.Scores]:
    x = np.concatenate(parts) if parts else np.empty((0, len(q.items)))
    return x, scoring.score_matrix(q, x)


def _counts(q: Questionnaire, scores: scoring.Scores) -> Counts:
    withheld = np.zeros(len(scores.states), dtype=np.bool_)
    for s in scores.scales.values():
        withheld |= s.withheld != scoring.WITHHELD_NONE
    return Counts(q.id, int((~withheld).sum()), int(withheld.sum()))
