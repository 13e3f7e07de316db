"""Export recorded histories as CSV for supervision or a study, with a codebook.

Two shapes, both rescored from the stored answers by the current definitions, one matrix
per questionnaire and part (:mod:`.exportrows`); voided administrations are left out:

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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import IO

from alliance_cli.clinic.exportbook import build_codebook, meta_columns
from alliance_cli.clinic.exportrows import Scored, long_cells, meta_cells, wide_cells
from alliance_cli.clinic.store import Administration, Store, bulk
from alliance_cli.codebook import long_columns, wide_columns
from alliance_cli.errors import Problem, UsageError, UserError
from alliance_cli.io.atomic import atomic_write
from alliance_cli.io.columns import Column
from alliance_cli.io.csvout import Cell, write_column_parts, write_csv
from alliance_cli.io.targets import check_distinct, codebook_path
from alliance_cli.model import Questionnaire
from alliance_cli.options import Shape
from alliance_cli.result import key_warning

# The store's alphabet for codes read aloud (no 0/O, 1/I/L).
_ID_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
KEY_COLUMNS = ("study_id", "client", "first_date")


@dataclass(frozen=True)
class KeyEntry:
    study_id: str
    client: str
    first_date: str


PART_ADMINISTRATIONS = 1_000
"""About how many administrations an export reads, scores and writes at a time (whole
clients, so a part may hold more): memory stays that of a small export however large the
history."""

ExportWriter = Callable[["Export", "Path | IO[bytes]", "Path | None"], None]
"""Writes an export in a format other than CSV to a path or stream (spooling beside the
database: the third argument); read while the store is open."""

Part = list[list[Cell]]
"""Rows of the table, one list per column, in the order of :attr:`Export.columns`."""


@dataclass(frozen=True)
class Export:
    """The table to write, and what the codebook needs to describe it. Its rows are read
    from the store part by part while they are written (:attr:`parts`): write it while the
    store is open."""

    shape: Shape
    columns: list[Column]
    rows: int
    parts: Callable[[], Iterator[Part]]
    """The rows, a part of whole clients at a time, in the file's order."""
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
    warnings: list[str] = field(default_factory=list)
    """The export's warnings (an unverified key, administrations left out)."""

    def summary(self, unit: str = "row") -> str:
        """``wrote 12,345 rows to out.csv (codebook: out.csv.codebook.json; key: key.csv)``
        (``unit``: what a row is, ``response`` in a FHIR Bundle)."""
        extras = [f"codebook: {self.codebook}"] if self.codebook else []
        extras += [f"key: {self.key_file}"] if self.key_file else []
        n = self.rows
        return f"wrote {n:,} {unit}{'s' * (n != 1)} to {self.output or 'stdout'}" + (
            f" ({'; '.join(extras)})" if extras else ""
        )


def export_history(
    store: Store,
    find: Callable[[str], Questionnaire],
    output: Path | IO[bytes],
    *,
    client: str | None = None,
    questionnaire: str | None = None,
    shape: Shape = Shape.long,
    deidentify: bool = False,
    codebook: Path | None = None,
    key_file: Path | None = None,
    escape_formulas: bool = True,
    writer: ExportWriter | None = None,
) -> Written:
    """:func:`build_export` then :func:`write_export`, reading one state of the database
    (what another process records meanwhile is in neither the rows nor their count). A
    stream, FIFO or device target's content waits beside the database (clinical data never
    goes through the shared temp folder), or there only when that folder cannot be written."""
    spool = None if store.read_only or store.path == ":memory:" else Path(store.path).parent
    with store.snapshot():
        found = build_export(
            store,
            find,
            client=client,
            questionnaire=questionnaire,
            shape=shape,
            deidentify=deidentify,
        )
        return write_export(
            found,
            output,
            codebook=codebook,
            key_file=key_file,
            escape_formulas=escape_formulas,
            spool=spool,
            writer=writer,
        )


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
    (``Catalog.get``). The administrations are counted in one query here; their rows are
    read, scored as one matrix per questionnaire and written part by part (whole clients,
    about :data:`PART_ADMINISTRATIONS` at a time; :mod:`alliance_cli.clinic.store.bulk`)."""
    definitions: dict[str, Questionnaire] = {}

    def cached(qid: str) -> Questionnaire:
        if qid not in definitions:
            definitions[qid] = find(qid)
        return definitions[qid]

    wanted = cached(questionnaire).id if questionnaire is not None else None
    selection = bulk.final(store, client)
    tallies = bulk.tallies(store, selection)
    first: dict[str, date] = {}
    for t in tallies:  # day 0: the first administration of any questionnaire
        day = date.fromisoformat(t.first_day)
        first[t.client] = min(first.get(t.client, day), day)
    unknown: dict[str, str] = {}  # a stored id without a readable definition: why
    for qid in sorted({t.questionnaire_id for t in tallies}):
        if wanted is None or qid == wanted:
            try:
                cached(qid)
            except UserError as exc:  # one removed definition must not hide the rest
                unknown[qid] = exc.problems[0].message

    def exported(qid: str) -> bool:
        return (wanted is None or qid == wanted) and qid not in unknown

    skipped: dict[tuple[str, str], int] = {}
    for t in tallies:
        if (wanted is None or t.questionnaire_id == wanted) and t.questionnaire_id in unknown:
            at = (t.questionnaire_id, t.respondent)
            skipped[at] = skipped.get(at, 0) + t.administrations
    kept = [t for t in tallies if exported(t.questionnaire_id)]
    study_ids = _study_ids(sorted({t.client for t in kept})) if deidentify else {}
    questionnaires = (
        [cached(wanted)]
        if wanted
        # by id: two stored ids can lead to one definition (through its aliases)
        else sorted({q.id: q for q in definitions.values()}.values(), key=lambda q: q.id)
    )
    by_id = {q.id: q for q in questionnaires}
    data = long_columns(questionnaires) if shape is Shape.long else wide_columns(questionnaires)
    columns = meta_columns(questionnaires, deidentify) + data
    recorded: dict[str, dict[tuple[str, str], int]] = {q.id: {} for q in questionnaires}
    per_client: dict[tuple[str, int], int] = {}  # (exported code, client row id) → admins
    rows = 0
    for t in sorted(kept, key=lambda t: (t.questionnaire_version, t.content_hash)):
        q = cached(t.questionnaire_id)
        at = (t.questionnaire_version, t.content_hash)
        recorded[q.id][at] = recorded[q.id].get(at, 0) + t.administrations
        who = (study_ids.get(t.client, t.client), t.client_id)
        per_client[who] = per_client.get(who, 0) + t.administrations
        rows += t.administrations * (len(q.scales) if shape is Shape.long else 1)

    def parts() -> Iterator[Part]:
        for client_ids in _parts(sorted(per_client.items())):
            stored = bulk.administrations(store, replace(selection, client_ids=client_ids))
            groups: dict[str, list[Administration]] = {}
            for a in stored:
                if exported(a.questionnaire_id):
                    groups.setdefault(cached(a.questionnaire_id).id, []).append(a)
            scored = {qid: Scored.of(store, by_id[qid], group) for qid, group in groups.items()}
            # One line per row of the file: (exported code, questionnaire, row in its
            # matrix, administration, scale), in the file's order.
            records = sorted(
                ((study_ids.get(a.client, a.client), qid, a.respondent, a.session, a.id), r, a)
                for qid, group in groups.items()
                for r, a in enumerate(group)
            )
            lines = [
                (key[0], key[1], r, a, sid)
                for key, r, a in records
                for sid in (by_id[key[1]].scales if shape is Shape.long else (None,))
            ]
            cells = meta_cells(lines, by_id, first, deidentify)
            if shape is Shape.long:
                cells |= long_cells(lines, scored, [c.name for c in data])
            else:
                cells |= wide_cells(lines, scored, [c.name for c in data])
            yield [cells[c.name] for c in columns]

    key = [
        KeyEntry(study_ids[code], code, first[code].isoformat())
        for code in sorted(study_ids, key=lambda c: study_ids[c])
    ]
    left_out = [
        f"{n} {qid} administration{'s' * (n != 1)} ({respondent}) left out: {unknown[qid]}"
        for (qid, respondent), n in sorted(skipped.items())
    ]
    return Export(
        shape=shape,
        columns=columns,
        rows=rows,
        parts=parts,
        questionnaires=questionnaires,
        recorded_under=recorded,
        deidentified=deidentify,
        key=key,
        warnings=[w for q in questionnaires if (w := key_warning(q))] + left_out,
    )


def _parts(clients: list[tuple[tuple[str, int], int]]) -> Iterator[list[int]]:
    """Client row ids in the file's order, cut into parts of whole clients holding about
    :data:`PART_ADMINISTRATIONS` administrations each."""
    part: list[int] = []
    held = 0
    for (_, client_id), n in clients:
        part.append(client_id)
        held += n
        if held >= PART_ADMINISTRATIONS:
            yield part
            part, held = [], 0
    if part:
        yield part


def write_export(
    export: Export,
    output: Path | IO[bytes],
    *,
    codebook: Path | None = None,
    key_file: Path | None = None,
    escape_formulas: bool = True,
    spool: Path | None = None,
    writer: ExportWriter | None = None,
) -> Written:
    """Write the CSV to ``output`` (a path, written atomically with mode 0600, or a byte
    stream, which gets the whole file or nothing), the codebook to ``codebook`` (default
    for a path: ``<output>.codebook.json``; none for a stream, a FIFO or a device unless
    given) and, for a de-identified export, the key to ``key_file``. A ``writer`` writes
    another format instead of the CSV (FHIR, :mod:`alliance_cli.interop.fhir_export`); it
    describes itself, so it gets a codebook only when one is given.

    Raises :class:`UsageError` for a key file without de-identification or two outputs on
    one path, :class:`~alliance_cli.errors.InputFileError` when a file cannot be written."""
    out_path = output if isinstance(output, Path) else None
    if key_file is not None and not export.deidentified:
        raise UsageError(
            Problem("key-file", "a key file only goes with --deidentify (there is nothing to map)")
        )
    codebook = codebook_path(out_path, codebook) if writer is None else codebook
    check_distinct(
        [p for p in (out_path, codebook, key_file) if p is not None],
        "the export, its codebook and the key file need three paths",
    )

    def data(stream: IO[str]) -> None:
        write_column_parts(stream, export.header, export.parts(), escape_formulas=escape_formulas)

    if writer is None:
        atomic_write(output, data, spool=spool)
    else:
        writer(export, output, spool)
    if codebook is not None:
        doc = build_codebook(
            export,
            data_file=out_path.name if out_path is not None else None,
            escape_formulas=escape_formulas,
        )
        atomic_write(
            codebook,
            lambda s: s.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n"),
            spool=spool,
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
            spool=spool,
        )
    return Written(export.rows, out_path, codebook, key_file, export.warnings)


# -- rows --------------------------------------------------------------------------------


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
