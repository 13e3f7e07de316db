"""Survey-platform exports: Qualtrics and REDCap CSV files, recognised or forced (``--source``).

**Qualtrics** exports have three header rows — export tags (the column names), question
text, and ``{"ImportId":"QID5_1"}`` JSON — or two in the legacy format (no ImportId row).
Row 1 gives the column names; the other header rows are dropped but still counted, so the
first response of a three-row export is row 4. The ImportIds are kept
(:func:`import_ids`), so a ``--map`` may name a column by either.
Question text is never used to map columns. ``-99`` (Qualtrics' "seen but unanswered") is a
missing answer, and ``finished_only`` keeps the rows whose ``Finished`` column is
``1``/``True``. ``ResponseId`` (in old ``V1``…``V10`` exports, the column whose question
text is ``ResponseID``) is the id column unless ``--id`` or the map names others, so the
metadata columns (IP address, location, names) are not copied into the output;
``ExternalReference`` (the participant id researchers link on) is kept, unchecked.

**REDCap** raw exports identify a response by the record id (``record_id``, else the first
column) with ``redcap_event_name``, ``redcap_repeat_instrument`` and
``redcap_repeat_instance`` when present; these become the id columns unless ``--id`` or the
map's ``ids`` say otherwise (the repeat columns may be blank: rows of non-repeating forms).
Label exports (REDCap's "labels" option) head the same columns ``Record ID``, ``Event Name``,
``Repeat Instrument``, ``Repeat Instance`` and each form's status ``Complete?`` (any case).
Each row is judged by the forms it belongs to (events, repeating instruments), with or
without ``complete_only`` (which keeps a form's rows whose status is ``2``/``Complete``): see
:mod:`alliance_cli.research.surveyrows`, which also counts every row left out and why.

Recognition: a REDCap ``redcap_*`` column, or ``record_id`` first with a ``*_complete``
column; in a label export, a ``Complete?`` column with ``Record ID`` first or ``Event Name``
or ``Repeat Instrument`` second. Qualtrics: an ImportId third row, or Qualtrics metadata
columns (``ResponseId``, ``StartDate``, ``Finished`` …) whose second-row cells repeat their
names (``Response ID``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from alliance_cli.errors import Problem, UsageError
from alliance_cli.research import surveyrows
from alliance_cli.research.readers import TextTable
from alliance_cli.research.surveyrows import LABEL_COMPLETE, FormRows, RowCounts, is_status_column
from alliance_cli.text import normalize_label

if TYPE_CHECKING:
    from alliance_cli.research.columnmap import FileMapping
    from alliance_cli.research.mapfile import MapSource

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
# The headers of a label export, for record_id and the columns above.
_REDCAP_LABELS = {
    "record id": "record_id",
    "event name": "redcap_event_name",
    "repeat instrument": "redcap_repeat_instrument",
    "repeat instance": "redcap_repeat_instance",
}
_TRUE = {"1", "true"}
# The participant id a Qualtrics panel or link passes in (legacy: "ExternalDataReference").
_EXTERNAL = {"externalreference", "externaldatareference"}


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
    import_ids: tuple[str, ...] = ()
    """Each column's ImportId in a Qualtrics export ("" where none; empty if legacy)."""
    keep: tuple[str, ...] = ()
    """Columns carried into the output unchecked by default (Qualtrics ExternalReference)."""
    instrument: str = ""
    """The repeat-instrument column of a REDCap export ("" if none)."""
    unfinished: int = 0
    """Rows of this table left out by ``finished_only``."""
    owner: str = ""
    """The column naming each row's questionnaire (a FHIR response's canonical; "" if none):
    another questionnaire's cells are not read on that row."""
    owners: tuple[tuple[str, str], ...] = ()
    """Each text of the ``owner`` column with the id of the questionnaire it names."""


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


def _redcap_name(name: str) -> str:
    """The raw name of a REDCap column, whether headed raw or by its label."""
    return _REDCAP_LABELS.get(normalize_label(name), name)


def _is_redcap(columns: Sequence[str]) -> bool:
    if any(c.startswith("redcap_") for c in columns):
        return True
    if bool(columns) and columns[0] == "record_id" and any(is_status_column(c) for c in columns):
        return True
    # A label export: its headers are field labels, so ask for two of REDCap's own.
    raw = [_redcap_name(c) for c in columns[:2]]
    return any(normalize_label(c) == LABEL_COMPLETE for c in columns) and (
        raw[0] == "record_id" or raw[1:] in (["redcap_event_name"], ["redcap_repeat_instrument"])
    )


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
    # every field the export's first chunk was given (source, ids, owner, …), and its
    # header rows' count; not its own row filter's count
    own = {f.name for f in fields(SurveyTable)} - {f.name for f in fields(TextTable)}
    carried = {name: getattr(first, name) for name in (own - {"unfinished"}) | {"header_rows"}}
    frame, rows = table.frame, table.rows
    if first.source == "qualtrics" and finished_only:
        frame, rows = _finished(table.name, table.columns, frame, rows)
    unfinished = len(table.frame) - len(frame)
    return SurveyTable(
        **(_base(table) | {"frame": frame, "rows": rows, "unfinished": unfinished} | carried)
    )


def _finished(name: str, columns: Sequence[str], frame: Any, rows: Any) -> tuple[Any, Any]:
    where = [k for k, c in enumerate(columns) if _norm(c) == "finished"]
    if len(where) != 1:
        raise UsageError(
            Problem("no-finished-column", "--finished-only needs one Finished column", name)
        )
    done = frame[where[0]].map(lambda v: str(v).strip().casefold() in _TRUE).to_numpy(bool)
    return frame.loc[done].reset_index(drop=True), rows[done]


def _base(table: TextTable) -> dict[str, Any]:
    """Every field of the plain :class:`TextTable` (all of them, so that none is lost)."""
    return {f.name: getattr(table, f.name) for f in fields(TextTable)}


def _qualtrics(table: TextTable, finished_only: bool) -> SurveyTable:
    extra = _qualtrics_rows(table)
    if not extra:  # forced: the second row is the question text
        extra = 2 if any(_IMPORT_ID.match(c) for c in _first_cells(table, 1)) else 1
    import_ids = tuple(_import_id(c) for c in _first_cells(table, 1)) if extra == 2 else ()
    question = _first_cells(table, 0)
    frame = table.frame.iloc[extra:].reset_index(drop=True)
    rows = table.rows[extra:]
    read = len(frame)
    if finished_only:
        frame, rows = _finished(table.name, table.columns, frame, rows)
    fields = _base(table) | {"frame": frame, "rows": rows, "header_rows": 1 + extra}
    # The response id is the id (checked for blanks and repeats); the other metadata columns
    # (IP address, location, names, e-mail) are not copied into the output unless asked for.
    response = [c for c in table.columns if _norm(c) == "responseid"]
    if not response:  # legacy V1…Vn tags: "ResponseID" is the question text of V1
        response = [
            c for c, text in zip(table.columns, question, strict=False)
            if _norm(text) == "responseid"
        ]  # fmt: skip
    external = [
        c for c, text in zip(table.columns, [*question, *[""] * len(table.columns)], strict=False)
        if _norm(c) in _EXTERNAL or _norm(text) in _EXTERNAL
    ]  # fmt: skip
    return SurveyTable(
        **fields,
        source="qualtrics",
        missing=QUALTRICS_MISSING,
        ids=tuple(response[:1]) if len(response) == 1 else (),
        import_ids=import_ids,
        keep=tuple(external[:1]) if len(external) == 1 else (),
        unfinished=read - len(frame),
    )


def _import_id(cell: str) -> str:
    """The ImportId of a third-row cell (``{"ImportId":"QID5_1"}``), or "" when it has none."""
    if not _IMPORT_ID.match(cell):
        return ""
    try:
        value = json.loads(cell)
    except ValueError:
        return ""
    found = value.get("ImportId") if isinstance(value, dict) else None
    return found.strip() if isinstance(found, str) else ""


def _redcap(table: TextTable, complete_only: bool) -> SurveyTable:
    cols = table.columns

    def find(raw: str) -> str | None:  # by its raw name, else by its label
        return raw if raw in cols else next((c for c in cols if _redcap_name(c) == raw), None)

    record = find("record_id") or cols[0]
    ids = tuple(dict.fromkeys([record, *filter(None, map(find, _REDCAP_IDS))]))
    optional = tuple(filter(None, map(find, _REDCAP_OPTIONAL)))
    return SurveyTable(
        **_base(table),
        source="redcap",
        ids=ids,
        optional_ids=optional,
        complete_only=complete_only,
        instrument=find("redcap_repeat_instrument") or "",
    )


# -- used by the batch pipeline -------------------------------------------------------------------


def missing_codes(table: TextTable) -> tuple[str, ...]:
    return table.missing if isinstance(table, SurveyTable) else ()


def import_ids(table: TextTable) -> tuple[str, ...]:
    """Each column's ImportId in a Qualtrics export ("" where none); else empty."""
    return table.import_ids if isinstance(table, SurveyTable) else ()


def id_columns(table: TextTable, ids: Sequence[str], spec: MapSource | None) -> tuple[str, ...]:
    """``--id`` when given, else nothing when the map names ids, else the export's own."""
    if ids or (spec is not None and spec.map.ids) or not isinstance(table, SurveyTable):
        return tuple(ids)
    return table.ids


def optional_ids(table: TextTable) -> tuple[str, ...]:
    return table.optional_ids if isinstance(table, SurveyTable) else ()


def kept_columns(table: TextTable) -> tuple[str, ...]:
    """Columns the export carries into the output unchecked unless told otherwise."""
    return table.keep if isinstance(table, SurveyTable) else ()


def left_before(table: TextTable) -> RowCounts:
    """The rows read but left out of a prepared table (``finished_only``), counted once
    for the table (not for each slice of it)."""
    unfinished = table.unfinished if isinstance(table, SurveyTable) else 0
    return RowCounts.of(unfinished, not_finished=unfinished)


def form_notices(table: TextTable, mapping: FileMapping) -> tuple[str, ...]:
    """What a REDCap export without a questionnaire's form status column means for its rows
    (:func:`~alliance_cli.research.surveyrows.form_rows`), once per questionnaire."""
    if not (isinstance(table, SurveyTable) and table.source == "redcap") or table.complete_only:
        return ()
    return tuple(
        f"no <form>_complete column for {qid}: rows with no {qid} answer are taken as other "
        "forms' rows"
        for qid in surveyrows.unknown_forms(table.columns, mapping)
    )


def form_rows(table: TextTable, mapping: FileMapping) -> FormRows | None:
    """A REDCap export's rows per questionnaire form
    (:func:`~alliance_cli.research.surveyrows.form_rows`), a table naming each row's
    questionnaire (FHIR: :func:`~alliance_cli.research.surveyrows.owned_rows`); None for
    other tables."""
    if isinstance(table, SurveyTable) and table.owner:
        return surveyrows.owned_rows(table, mapping, table.owner, dict(table.owners))
    if not (isinstance(table, SurveyTable) and table.source == "redcap"):
        return None
    return surveyrows.form_rows(
        table, mapping, complete_only=table.complete_only, instrument=table.instrument or None
    )
