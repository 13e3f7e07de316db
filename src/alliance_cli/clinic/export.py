"""Export recorded histories as CSV for supervision or a study, with a codebook.

Two shapes, both rescored from the stored answers by the current definitions
(:func:`alliance_cli.clinic.history.client_series`); voided administrations are left out:

* **long** — one row per administration × scale: the administration's metadata, then the
  scale's score, sum, mean, item counts, prorated/withheld and flags.
* **wide** — one row per administration: the metadata, every raw item answer
  (``<questionnaire>.item.<id>``), the items answered "does not apply"
  (``<questionnaire>.not_applicable``), and every scale's score with its status
  (``<questionnaire>.<scale>``, ``<questionnaire>.<scale>.status``). Columns carry the
  questionnaire id so several questionnaires share one file; a row leaves the other
  questionnaires' columns empty.

A "does not apply" answer keeps its code in the item column (CARE: 6), as stored; the
``not_applicable`` column lists those items and the codebook names each code, so the code is
never mistaken for an answer.

``deidentify`` replaces client codes by random study ids (``S-`` and six characters, unique
within the export) and dates by days since the client's first recorded administration (day
0, any questionnaire); the administration number, the time of day and the note are left out.
The key (study id → client code and first date) is returned separately and is written only to
a file of its own (:func:`write_export`).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO

from alliance_cli.clinic.exportbook import build_codebook, meta_columns
from alliance_cli.clinic.history import Series, Session, client_series
from alliance_cli.clinic.store import Administration, Store
from alliance_cli.codebook import long_columns, wide_columns
from alliance_cli.errors import Problem, UsageError
from alliance_cli.io.atomic import (
    atomic_write,
    check_distinct,
    codebook_path,
    refuse_database_stream,
)
from alliance_cli.io.columns import Column
from alliance_cli.io.csvout import Cell, write_csv
from alliance_cli.model import Questionnaire
from alliance_cli.options import Shape
from alliance_cli.result import CSV_COLUMNS, key_warning

# The store's alphabet for codes read aloud (no 0/O, 1/I/L).
_ID_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
KEY_COLUMNS = ("study_id", "client", "first_date")


@dataclass(frozen=True)
class KeyEntry:
    study_id: str
    client: str
    first_date: str


@dataclass(frozen=True)
class Export:
    """The table to write, and what the codebook needs to describe it."""

    shape: Shape
    columns: list[Column]
    rows: list[list[Cell]]
    questionnaires: list[Questionnaire]
    recorded_under: dict[str, dict[tuple[str, str], int]]
    """Per questionnaire: (version, content hash) recorded under → administrations."""
    deidentified: bool
    key: list[KeyEntry] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def header(self) -> list[str]:
        return [c.name for c in self.columns]


@dataclass(frozen=True)
class Written:
    rows: int
    output: Path | None
    """None when written to a stream (stdout)."""
    codebook: Path | None
    key_file: Path | None

    def summary(self) -> str:
        """``wrote 12 rows to out.csv (codebook: out.csv.codebook.json; key: key.csv)``."""
        extras = [f"codebook: {self.codebook}"] if self.codebook else []
        extras += [f"key: {self.key_file}"] if self.key_file else []
        return f"wrote {self.rows} row{'s' * (self.rows != 1)} to {self.output or 'stdout'}" + (
            f" ({'; '.join(extras)})" if extras else ""
        )


@dataclass(frozen=True)
class _Record:
    client: str  # as exported: the code, or the study id
    first: date
    series: Series
    session: Session

    def order(self) -> tuple[str, str, str, int, int]:
        a = self.session.administration
        return (self.client, self.series.questionnaire.id, self.series.respondent, a.session, a.id)


def build_export(
    store: Store,
    find: Callable[[str], Questionnaire],
    *,
    client: str | None = None,
    questionnaire: str | None = None,
    shape: Shape = Shape.long,
    deidentify: bool = False,
) -> Export:
    """Rows for one client (``client``) or every client (``None``), optionally one
    questionnaire. ``find`` maps a questionnaire id to its current definition
    (``Catalog.get``)."""
    definitions: dict[str, Questionnaire] = {}

    def cached(qid: str) -> Questionnaire:
        if qid not in definitions:
            definitions[qid] = find(qid)
        return definitions[qid]

    wanted = cached(questionnaire).id if questionnaire is not None else None
    codes = [client] if client is not None else [c.code for c in store.clients()]
    found: list[tuple[str, date, list[Series]]] = []
    skipped: list[str] = []
    for code in codes:
        administrations = store.history(code)
        if not administrations:
            continue
        first = min(_day(a) for a in administrations)
        chosen = [a for a in administrations if wanted is None or a.questionnaire_id == wanted]
        if chosen:
            # The code as stored (the one typed may differ in case).
            found.append((chosen[0].client, first, client_series(chosen, cached, skipped)))
    study_ids = _study_ids([code for code, _, _ in found]) if deidentify else {}
    records = sorted(
        (
            _Record(study_ids.get(code, code), first, series, session)
            for code, first, all_series in found
            for series in all_series
            for session in series.sessions
        ),
        key=_Record.order,
    )
    questionnaires = (
        [cached(wanted)]
        if wanted
        # by id: two stored ids can lead to one definition (through its aliases)
        else sorted({q.id: q for q in definitions.values()}.values(), key=lambda q: q.id)
    )
    recorded: dict[str, dict[tuple[str, str], int]] = {q.id: {} for q in questionnaires}
    for r in records:
        a = r.session.administration
        versions = recorded[r.series.questionnaire.id]
        versions[a.questionnaire_version, a.content_hash] = (
            versions.get((a.questionnaire_version, a.content_hash), 0) + 1
        )
    columns = meta_columns(questionnaires, deidentify)
    if shape is Shape.long:
        columns += long_columns(questionnaires)
        by_name = [row for r in records for row in _long_rows(r, deidentify)]
    else:
        columns += wide_columns(questionnaires)
        by_name = [_wide_row(r, deidentify) for r in records]
    rows = [[row.get(c.name) for c in columns] for row in by_name]
    key = [
        KeyEntry(study_ids[code], code, first.isoformat())
        for code, first, _ in sorted(found, key=lambda f: study_ids.get(f[0], f[0]))
        if deidentify
    ]
    return Export(
        shape=shape,
        columns=columns,
        rows=rows,
        questionnaires=questionnaires,
        recorded_under=recorded,
        deidentified=deidentify,
        key=key,
        warnings=[w for q in questionnaires if (w := key_warning(q))] + skipped,
    )


def write_export(
    export: Export,
    output: Path | IO[str],
    *,
    codebook: Path | None = None,
    key_file: Path | None = None,
    escape_formulas: bool = True,
) -> Written:
    """Write the CSV to ``output`` (a path, written atomically with mode 0600, or a stream),
    the codebook to ``codebook`` (default for a path: ``<output>.codebook.json``; none for a
    stream, a FIFO or a device unless given) and, for a de-identified export, the key to
    ``key_file``.

    Raises :class:`UsageError` for a key file without de-identification or two outputs on
    one path, :class:`~alliance_cli.errors.InputFileError` when a file cannot be written."""
    out_path = output if isinstance(output, Path) else None
    if key_file is not None and not export.deidentified:
        raise UsageError(
            Problem("key-file", "a key file only goes with --deidentify (there is nothing to map)")
        )
    codebook = codebook_path(out_path, codebook)
    check_distinct(
        [p for p in (out_path, codebook, key_file) if p is not None],
        "the export, its codebook and the key file need three paths",
    )

    def data(stream: IO[str]) -> None:
        write_csv(stream, export.header, export.rows, escape_formulas=escape_formulas)

    if out_path is not None:
        atomic_write(out_path, data)
    else:
        assert not isinstance(output, Path)
        refuse_database_stream(output)
        data(output)
    if codebook is not None:
        doc = build_codebook(
            export,
            data_file=out_path.name if out_path is not None else None,
            escape_formulas=escape_formulas,
        )
        atomic_write(
            codebook, lambda s: s.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        )
    if key_file is not None:
        atomic_write(
            key_file,
            lambda s: write_csv(
                s,
                KEY_COLUMNS,
                [[k.study_id, k.client, k.first_date] for k in export.key],
                escape_formulas=escape_formulas,
            ),
        )
    return Written(len(export.rows), out_path, codebook, key_file)


# -- rows --------------------------------------------------------------------------------


def _day(a: Administration) -> date:
    return date.fromisoformat(a.administered_at[:10])


def _study_ids(codes: Sequence[str]) -> dict[str, str]:
    """A random study id per client code, unique within the export. Random, not derived
    from the code, so nothing in the export can be hashed back to a code."""
    taken: set[str] = set()
    out: dict[str, str] = {}
    for code in codes:
        candidate = _mint_study_id()
        while candidate in taken:
            candidate = _mint_study_id()
        taken.add(candidate)
        out[code] = candidate
    return out


def _mint_study_id() -> str:
    return "S-" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(6))


def _meta(r: _Record, deidentify: bool) -> dict[str, Cell]:
    a = r.session.administration
    row: dict[str, Cell] = {"client": r.client}
    if deidentify:
        row["day"] = (_day(a) - r.first).days
    else:
        row["administration"] = a.id
        row["date"] = a.administered_at
    row |= {
        "session": a.session,
        "respondent": a.respondent,
        "clinician": a.clinician,
        "modality": a.modality,
        "questionnaire": r.series.questionnaire.id,
        "recorded_version": a.questionnaire_version,
        "current_version": r.series.questionnaire.version,
        "definition_changed": r.session.definition_changed,
    }
    if not deidentify:
        row["note"] = a.note
    return row


def _long_rows(r: _Record, deidentify: bool) -> list[dict[str, Cell]]:
    meta = _meta(r, deidentify)
    report = r.session.report
    # The same flags column as `alliance score --format csv`.
    at_scale, at_flags = CSV_COLUMNS.index("scale"), CSV_COLUMNS.index("flags")
    flags = {cells[at_scale]: cells[at_flags] for cells in report.csv_rows()}
    return [
        meta
        | {
            "scale": s.id,
            "method": s.method.value,
            "score": s.score,
            "sum": s.sum,
            "mean": s.mean,
            "items": s.items,
            "answered": s.answered,
            "missing": s.missing,
            "not_applicable": s.not_applicable,
            "prorated": s.prorated,
            "withheld": s.withheld,
            "withheld_reason": s.withheld_reason,
            "band": s.band,
            "flags": flags.get(s.id) or None,
        }
        for s in report.scales
    ]


def _wide_row(r: _Record, deidentify: bool) -> dict[str, Cell]:
    qid = r.series.questionnaire.id
    report = r.session.report
    row = _meta(r, deidentify)
    for answer in report.answers:
        row[f"{qid}.item.{answer.item}"] = answer.value
    not_applicable = [a.item for a in report.answers if a.state == "not_applicable"]
    row[f"{qid}.not_applicable"] = ";".join(not_applicable) or None
    for s in report.scales:
        row[f"{qid}.{s.id}"] = s.score
        row[f"{qid}.{s.id}.status"] = (
            "withheld" if s.withheld else "prorated" if s.prorated else "complete"
        )
    return row
