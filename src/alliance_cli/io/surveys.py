"""Survey-platform exports: Qualtrics and REDCap CSV files, recognised or forced (``--source``).

**Qualtrics** exports have three header rows — export tags (the column names), question
text, and ``{"ImportId":"QID5_1"}`` JSON — or two in the legacy format (no ImportId row).
Row 1 gives the column names; the other header rows are dropped but still counted, so the
first response of a three-row export is row 4. Question text is never used to map columns.
``-99`` (Qualtrics' "seen but unanswered") is a missing answer, and ``finished_only`` keeps
the rows whose ``Finished`` column is ``1``/``True``.

**REDCap** raw exports identify a response by the record id (``record_id``, else the first
column) with ``redcap_event_name``, ``redcap_repeat_instrument`` and
``redcap_repeat_instance`` when present; these become the id columns unless ``--id`` or the
map's ``ids`` say otherwise (the repeat columns may be blank: rows of non-repeating forms).
``complete_only`` keeps the rows whose ``<form>_complete`` is ``2`` for every form holding a
mapped item; a field's form is the one whose ``*_complete`` column is the next at or after it
(REDCap writes each form's fields, then its ``_complete`` column).

Recognition: a REDCap ``redcap_*`` column, or ``record_id`` first with a ``*_complete``
column; a Qualtrics ImportId third row, or Qualtrics metadata columns (``ResponseId``,
``StartDate``, ``Finished`` …) whose second-row cells repeat their names (``Response ID``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ..errors import Problem, UsageError
from .readers import TextTable

if TYPE_CHECKING:
    from ..columnmap import FileMapping
    from ..mapfile import MapSource

SOURCES = ("auto", "qualtrics", "redcap", "plain")
QUALTRICS_MISSING = ("-99",)
_IMPORT_ID = re.compile(r'^\s*\{\s*"ImportId"\s*:', re.IGNORECASE)
_QUALTRICS_META = {
    "startdate",
    "enddate",
    "status",
    "ipaddress",
    "progress",
    "durationinseconds",
    "finished",
    "recordeddate",
    "responseid",
    "responseset",
    "distributionchannel",
    "userlanguage",
}
_REDCAP_IDS = ("redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance")
_REDCAP_OPTIONAL = ("redcap_repeat_instrument", "redcap_repeat_instance")
_TRUE = {"1", "true"}


@dataclass(frozen=True)
class SurveyTable(TextTable):
    """A :class:`TextTable` read from a Qualtrics or REDCap export."""

    source: str = ""
    """``qualtrics`` or ``redcap``."""
    missing: tuple[str, ...] = ()
    """Codes meaning a missing answer in every item column (Qualtrics ``-99``)."""
    ids: tuple[str, ...] = ()
    """Id columns used when neither ``--id`` nor the map gives any (REDCap)."""
    optional_ids: tuple[str, ...] = ()
    """Id columns that may be blank (REDCap repeat columns)."""
    complete_only: bool = False


def _norm(text: str) -> str:
    return re.sub(r"[\s_\-.()]+", "", text).casefold()


def _first_cells(table: TextTable, k: int) -> list[str]:
    if len(table.frame) <= k or table.rows[k] != table.header_rows + 1 + k:
        return []  # no such row, or a blank line moved the next one up
    return [str(v) for v in table.frame.iloc[k].tolist()]


def _qualtrics_rows(table: TextTable) -> int:
    """Extra header rows of a Qualtrics export (2 or 1), or 0 when it does not look like one."""
    third = _first_cells(table, 1)
    if any(_IMPORT_ID.match(c) for c in third):
        return 2
    second = _first_cells(table, 0)
    echoed = [
        c
        for c, text in zip(table.columns, second, strict=False)
        if _norm(c) in _QUALTRICS_META and _norm(text) == _norm(c)
    ]
    return 1 if echoed else 0


def _is_redcap(columns: Sequence[str]) -> bool:
    if any(c.startswith("redcap_") for c in columns):
        return True
    return bool(columns) and columns[0] == "record_id" and any(_complete_col(c) for c in columns)


def _complete_col(name: str) -> bool:
    return name.endswith("_complete") and len(name) > len("_complete")


def detect(table: TextTable) -> str:
    """``qualtrics``, ``redcap`` or ``plain``."""
    if _is_redcap(table.columns):
        return "redcap"
    return "qualtrics" if _qualtrics_rows(table) else "plain"


def prepare(
    table: TextTable,
    source: str = "auto",
    *,
    finished_only: bool = False,
    complete_only: bool = False,
    first: TextTable | None = None,
) -> TextTable:
    """The table as its survey platform exported it: extra header rows dropped (their
    numbers kept), missing codes, id columns and row filters set. ``source`` is ``auto``
    (recognise), ``qualtrics``, ``redcap`` or ``plain`` (read as it is).

    A later chunk of a file passes the prepared first chunk as ``first``: it is taken as
    the same kind of export, and its rows are all data (the header rows came first)."""
    if first is not None:
        return _continued(table, first, finished_only)
    if source not in SOURCES:
        raise UsageError(
            Problem("bad-source", f'--source must be one of {", ".join(SOURCES)}, not "{source}"')
        )
    kind = detect(table) if source == "auto" else source
    if finished_only and kind != "qualtrics":
        raise UsageError(
            Problem("not-qualtrics", "--finished-only needs a Qualtrics export", table.name),
            hint="give --source qualtrics if this is one",
        )
    if complete_only and kind != "redcap":
        raise UsageError(
            Problem("not-redcap", "--complete-only needs a REDCap export", table.name),
            hint="give --source redcap if this is one",
        )
    if kind == "qualtrics":
        return _qualtrics(table, finished_only)
    if kind == "redcap":
        return _redcap(table, complete_only)
    return table


def _continued(table: TextTable, first: TextTable, finished_only: bool) -> TextTable:
    if not isinstance(first, SurveyTable):
        return table
    fields = {
        name: getattr(first, name)
        for name in ("source", "missing", "ids", "optional_ids", "complete_only", "header_rows")
    }
    frame, rows = table.frame, table.rows
    if first.source == "qualtrics" and finished_only:
        frame, rows = _finished(table.name, table.columns, frame, rows)
    return SurveyTable(**(_base(table) | {"frame": frame, "rows": rows} | fields))


def _finished(name: str, columns: Sequence[str], frame: Any, rows: Any) -> tuple[Any, Any]:
    where = [k for k, c in enumerate(columns) if _norm(c) == "finished"]
    if len(where) != 1:
        raise UsageError(
            Problem("no-finished-column", "--finished-only needs one Finished column", name)
        )
    done = frame[where[0]].map(lambda v: str(v).strip().casefold() in _TRUE).to_numpy(bool)
    return frame.loc[done].reset_index(drop=True), rows[done]


def _base(table: TextTable) -> dict[str, Any]:
    return {
        "name": table.name,
        "columns": table.columns,
        "frame": table.frame,
        "rows": table.rows,
        "header_rows": table.header_rows,
        "delimiter": table.delimiter,
        "encoding": table.encoding,
        "format": table.format,
    }


def _qualtrics(table: TextTable, finished_only: bool) -> SurveyTable:
    extra = _qualtrics_rows(table)
    if not extra:  # forced: the second row is the question text
        extra = 2 if any(_IMPORT_ID.match(c) for c in _first_cells(table, 1)) else 1
    frame = table.frame.iloc[extra:].reset_index(drop=True)
    rows = table.rows[extra:]
    if finished_only:
        frame, rows = _finished(table.name, table.columns, frame, rows)
    fields = _base(table) | {"frame": frame, "rows": rows, "header_rows": 1 + extra}
    return SurveyTable(**fields, source="qualtrics", missing=QUALTRICS_MISSING)


def _redcap(table: TextTable, complete_only: bool) -> SurveyTable:
    cols = table.columns
    record = "record_id" if "record_id" in cols else cols[0]
    ids = tuple(dict.fromkeys([record, *(c for c in _REDCAP_IDS if c in cols)]))
    optional = tuple(c for c in _REDCAP_OPTIONAL if c in ids)
    return SurveyTable(
        **_base(table),
        source="redcap",
        ids=ids,
        optional_ids=optional,
        complete_only=complete_only,
    )


# -- used by the batch pipeline -------------------------------------------------------------------


def missing_codes(table: TextTable) -> tuple[str, ...]:
    return table.missing if isinstance(table, SurveyTable) else ()


def id_columns(table: TextTable, ids: Sequence[str], spec: MapSource | None) -> tuple[str, ...]:
    """``--id`` when given, else nothing when the map names ids, else the export's own."""
    if ids or (spec is not None and spec.map.ids) or not isinstance(table, SurveyTable):
        return tuple(ids)
    return table.ids


def optional_ids(table: TextTable) -> tuple[str, ...]:
    return table.optional_ids if isinstance(table, SurveyTable) else ()


def keep_complete(table: TextTable, mapping: FileMapping) -> TextTable:
    """With ``complete_only``: the rows whose ``<form>_complete`` is 2 for every form that
    holds a mapped item."""
    if not (isinstance(table, SurveyTable) and table.complete_only):
        return table
    import numpy as np

    completes = [k for k, c in enumerate(table.columns) if _complete_col(c)]
    forms: set[int] = set()
    problems: list[Problem] = []
    for qc in mapping.questionnaires:
        for ic in qc.items:
            after = [k for k in completes if k >= ic.position]
            if not after:
                problems.append(
                    Problem(
                        "no-complete-column",
                        f'no <form>_complete column at or after "{ic.column}"',
                        table.name,
                    )
                )
            else:
                forms.add(after[0])
    if problems:
        raise UsageError(problems, hint="--complete-only needs REDCap's *_complete columns")
    keep = np.ones(len(table.frame), dtype=np.bool_)
    for k in sorted(forms):
        keep &= table.frame[k].map(lambda v: str(v).strip() == "2").to_numpy(bool)
    frame = table.frame.loc[keep].reset_index(drop=True)
    return replace(table, frame=frame, rows=table.rows[keep])
