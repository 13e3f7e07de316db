"""Reading and checking the answer cells of a batch input, and the table of bad cells.

Each item column's text is read as numbers per *distinct* value (pandas ``factorize``, then
``take``): a missing code or a recode from the map, else the same rules as one typed answer
(:func:`alliance_cli.responses.read_value`: numbers, scale labels case-insensitively, "does
not apply" words). No Python loop runs over rows. The cell states come from the scoring
engine's own :func:`~alliance_cli.scoring.cell_states`; every bad cell becomes a row of the
failure table (pandera's ``failure_cases``): file, row (as in the file, header counted),
column, value, code, problem.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from alliance_cli import scoring
from alliance_cli.errors import Problem
from alliance_cli.model import Questionnaire
from alliance_cli.research import surveys
from alliance_cli.research.columnmap import FileMapping
from alliance_cli.research.mapfile import CellRules
from alliance_cli.research.readers import TextTable
from alliance_cli.research.surveyrows import STATUS_ALLOWED, RowCounts
from alliance_cli.responses import read_value, why_unreadable
from alliance_cli.scoring import GRID_TOLERANCE, Reason
from alliance_cli.text import fmt_num, normalize_label

FAILURE_COLUMNS = ("file", "row", "column", "value", "code", "problem")
# How R and pandas (NA) and SAS and Stata (.) write a missing value. "." is a missing answer;
# so is NA where the item has no "does not apply" answer (where it has, NA means that, as a
# typed answer does, and the run says in which columns).
SAS_MISSING, R_MISSING = ".", "NA"

# Why a text cell could not be read as an answer (per distinct value): not a number (and no
# word either), a word that is no label of the scale, a "does not apply" word the item does
# not offer.
_READ_OK, _READ_UNREADABLE, _READ_NO_NA, _READ_UNKNOWN_LABEL = 0, 1, 2, 3
_READ_WHY = {  # by responses.why_unreadable
    "not-a-number": _READ_UNREADABLE,
    "no-not-applicable": _READ_NO_NA,
    "unknown-label": _READ_UNKNOWN_LABEL,
}

# What an invalid cell is, by the engine's reason (scoring.Reason).
_INVALID_WHY = {
    Reason.out_of_range: "out of range",
    Reason.off_grid: "not on the scale's steps",
    Reason.excluded: "not an answer on this scale",
}


def read_cells(
    q: Questionnaire, item_id: str, text: Any, rules: CellRules
) -> tuple[Any, Any, Any, Any, bool]:
    """One column's text as answers, per distinct text: (codes, values, why unreadable,
    recoded, NA read as "does not apply") — row ``i`` holds distinct text ``codes[i]``.

    Each distinct text is read once — missing code, recode, ``.`` (and ``NA`` where the item
    offers no "does not apply") as missing, then :func:`~alliance_cli.responses.read_value`.
    Unreadable texts are NaN in ``values`` and non-zero in ``why``."""
    codes, uniques = pd.factorize(text, sort=False)
    n = len(uniques)
    values = np.full(n, np.nan)
    why = np.zeros(n, dtype=np.int8)
    recoded = np.zeros(n, dtype=np.bool_)
    offers_na = q.scale_of(item_id).not_applicable is not None
    na_read = False
    for k, raw in enumerate(uniques.tolist()):
        token = str(raw).strip()
        if not token or (not rules.empty and rules.is_missing(token)):
            continue
        if token == SAS_MISSING or (token == R_MISSING and not offers_na):
            continue
        na_read |= token == R_MISSING
        hit, value = rules.recoded(token) if not rules.empty else (False, None)
        if hit:
            recoded[k] = True
            values[k] = np.nan if value is None else value
            continue
        got = read_value(q, item_id, token)
        if isinstance(got, Problem):
            why[k] = _READ_WHY[why_unreadable(token)]
        else:
            values[k] = got
    return codes, values, why, recoded, na_read


def keep_rows(
    table: TextTable, f: int, mapping: FileMapping
) -> tuple[TextTable, list[Any], dict[str, Any], RowCounts]:
    """The rows of ``table`` to score (:func:`~alliance_cli.research.surveys.form_rows`: in a
    REDCap export, the rows of the scored questionnaires' forms, complete with
    ``--complete-only``); the failure pieces of the status cells that are no REDCap form
    status (code ``bad-form-status``; their rows are not kept); per questionnaire, its part
    in each kept row (:data:`~alliance_cli.research.surveyrows.ITS_ROW` …; no entry: every row is
    its row); and the rows read and left out."""
    found = surveys.form_rows(table, mapping)
    if found is None:
        return table, [], {}, RowCounts.of(len(table))
    values = np.zeros(len(table))
    pieces = [
        _piece(
            table,
            f,
            k,
            mask,
            "bad-form-status",
            "not a REDCap form status",
            STATUS_ALLOWED,
            values,
            np.zeros(len(table), dtype=np.bool_),
        )
        for k, mask in found.bad.items()
        if mask.any()
    ]
    keep = found.keep
    frame = table.frame.loc[keep].reset_index(drop=True)
    roles = {qid: role[keep] for qid, role in found.roles.items()}
    counts = RowCounts(len(table), found.counts.left_out)
    return replace(table, frame=frame, rows=table.rows[keep]), pieces, roles, counts


def not_its_rows(table: TextTable, x: Any, states: Any, pieces: list[Any], other: Any) -> list[Any]:
    """Blank a questionnaire's answers on the rows that are not its own (``other``), in
    place, and drop its bad cells there: those cells are not read."""
    if not other.any():
        return pieces
    x[other] = np.nan
    states[other] = scoring.MISSING
    rows = table.rows[other]
    return [p.loc[~np.isin(p["row"].to_numpy(), rows)] for p in pieces]


def label_conflicts(table: TextTable, q: Questionnaire, items: Sequence[Any]) -> list[Problem]:
    """SPSS/Stata value labels that contradict the scale: a code whose label is one of the
    item's scale labels, but for another value (``1 = "Always"`` where the scale has
    ``5 Always``) — reading the codes would score the answers wrongly and silently. Columns
    the map recodes are the user's to decide."""
    problems: list[Problem] = []
    for ic in items:
        labels = table.value_labels.get(ic.position)
        if not labels or ic.rules.recode_text or ic.rules.recode_numbers:
            continue
        scale = q.scale_of(ic.item)
        meaning = {normalize_label(str(text)): value for value, text in scale.labels.items()}
        wrong, recode = [], []
        for number, code, text in sorted(
            (float(code), code, text) for code, text in labels.items() if _is_number(code)
        ):
            value = meaning.get(normalize_label(text))
            if value is not None and abs(number - value) > GRID_TOLERANCE:
                wrong.append(f'{code} = "{text}" ({text} is {fmt_num(value)} on the scale)')
                recode.append(f"{code}: {fmt_num(value)}")
        if wrong:
            problems.append(
                Problem(
                    "value-labels",
                    f'column "{ic.column}" ({q.id} item {ic.item}): the file\'s value labels say '
                    + ", ".join(wrong)
                    + "; scoring the codes would contradict these labels (in a map: "
                    + f"{ic.column}: {{item: {ic.item}, recode: {{{', '.join(recode)}}}}})",
                    table.name,
                )
            )
    return problems


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_questionnaire(
    table: TextTable, f: int, q: Questionnaire, items: Sequence[Any]
) -> tuple[Any, Any, list[Any], list[str]]:
    """The rows × items matrix of one file, its cell states, the failure pieces of its
    bad cells (which are left NaN and missing, so that the matrix scores them as missing),
    and the columns where ``NA`` was read as "does not apply"."""
    read = [read_cells(q, ic.item, table.frame[ic.position], ic.rules) for ic in items]
    na_columns = [ic.column for ic, r in zip(items, read, strict=True) if r[4]]
    columns = [r[:4] for r in read]
    # The reasons of the distinct values, by the engine's own cell_reasons on a small matrix
    # (a row per distinct value, padded with blanks), then spread over the rows.
    distinct = np.full((max((len(c[1]) for c in columns), default=0), len(items)), np.nan)
    for j, (_, values, _, _) in enumerate(columns):
        distinct[: len(values), j] = values
    distinct_reasons = scoring.cell_reasons(q, distinct)
    x = np.empty((len(table), len(items)), dtype=np.float64)
    reasons = np.empty(x.shape, dtype=np.int8)
    unreadable = np.zeros(x.shape, dtype=np.int8)
    recoded = np.zeros(x.shape, dtype=np.bool_)
    for j, (codes, values, why, was) in enumerate(columns):
        x[:, j] = values.take(codes)
        reasons[:, j] = distinct_reasons[:, j].take(codes)
        unreadable[:, j] = why.take(codes)
        recoded[:, j] = was.take(codes)
    states = np.minimum(reasons, np.int8(scoring.INVALID))
    pieces: list[Any] = []
    for j, ic in enumerate(items):
        invalid = states[:, j] == scoring.INVALID
        if not (invalid.any() or unreadable[:, j].any()):
            continue
        xj = x[:, j]
        allowed = q.scale_of(ic.item).describe_allowed()
        checks = (
            (unreadable[:, j] == _READ_UNREADABLE, "not-a-number", "not a number"),
            (unreadable[:, j] == _READ_UNKNOWN_LABEL, "unknown-label", "not a label of the scale"),
            (
                unreadable[:, j] == _READ_NO_NA,
                "no-not-applicable",
                'means "does not apply", which this item does not offer',
            ),
            *((reasons[:, j] == r, r.code, what) for r, what in _INVALID_WHY.items()),
        )
        for mask, code, what in checks:
            if mask.any():
                pieces.append(
                    _piece(table, f, ic.position, mask, code, what, allowed, xj, recoded[:, j])
                )
        x[:, j] = np.where(invalid, np.nan, xj)
    # Bad cells are now blank: the states say so too (what scoring them as missing means).
    states[states == scoring.INVALID] = scoring.MISSING
    return x, states, pieces, na_columns


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
