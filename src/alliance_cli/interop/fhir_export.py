"""Recorded histories as a FHIR R4 ``Bundle`` (``alliance export --format fhir``): per
administration a ``QuestionnaireResponse`` (the answers and the calculated scale items) and
an ``Observation`` per scale score, ``derivedFrom`` that response.

The rows are the wide export's (:func:`alliance_cli.clinic.export.build_export`, rescored by
the current definitions), so the scores equal the CSV export's. Each resource has a
``urn:uuid`` ``fullUrl`` (a ``collection`` Bundle; references between its entries use it,
https://hl7.org/fhir/R4/bundle.html#references; a response's ``id`` is its uuid, random, so
that it says nothing of the client). Answers follow
:mod:`alliance_cli.interop.fhir_common`: ``valueCoding`` of the definition's answer system
(code = the value, display = its label), ``valueDecimal`` for visual-analogue items (a grid
finer than whole steps, as the Questionnaire asks them); a "does not apply" answer is its
code. An Observation's ``code`` is the scale in the system ``<questionnaire url>:scales``; its
value is the score (``valueQuantity``), or, when withheld, a ``dataAbsentReason``; a prorated
score says so in a note (https://hl7.org/fhir/R4/observation.html).

The subject is the client's code as an identifier (``urn:alliance:client``), the date the
administration's day (``authored``, ``effectiveDateTime``; a recorded time of day is left
out, as FHIR times need a time zone the history does not keep). De-identified
(``deidentify``), the subject is the random study id (``urn:alliance:study-id``) and dates,
the administration number, the clinician and notes are left out: the days since the first
session are no FHIR date, so they are not written either. Notes are never exported."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from alliance_cli.interop.fhir_common import (
    answer_code,
    answer_system,
    canonical,
    is_choice,
    questionnaire_url,
    scale_link_id,
)
from alliance_cli.io.atomic import atomic_write
from alliance_cli.model import Questionnaire
from alliance_cli.scoring import GRID_TOLERANCE
from alliance_cli.text import fmt_num

if TYPE_CHECKING:
    from alliance_cli.clinic.export import Export

CLIENT_SYSTEM = "urn:alliance:client"
STUDY_SYSTEM = "urn:alliance:study-id"
ADMINISTRATION_SYSTEM = "urn:alliance:administration"
CATEGORY = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "survey",
            "display": "Survey",
        }
    ]
}
ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"


def scale_system(qid: str) -> str:
    """The code system of a definition's scales (Observation.code): code = the scale id."""
    return f"{questionnaire_url(qid)}:scales"


def _number(value: float) -> int | float:
    """A JSON number as the CSV export writes it (10 decimals; whole numbers without ``.0``)."""
    rounded = round(float(value), 10)
    return int(rounded) if rounded.is_integer() else rounded


def _answer(q: Questionnaire, item_id: str, value: float) -> dict[str, Any]:
    rs = q.scale_of(item_id)
    na = rs.not_applicable
    if na is not None and any(abs(value - v) < GRID_TOLERANCE for v in na.values):
        display: str | None = na.label
    elif is_choice(rs):
        display = {fmt_num(v): lab for v, lab in rs.labels.items()}.get(fmt_num(value))
    else:
        return {"valueDecimal": _number(value)}
    coding = {"system": answer_system(q.id), "code": answer_code(value)}
    return {"valueCoding": coding | ({"display": display} if display else {})}


def _rows(export: Export) -> Iterator[dict[str, Any]]:
    header = export.header
    for part in export.parts():
        for r in range(len(part[0]) if part else 0):
            yield {name: column[r] for name, column in zip(header, part, strict=True)}


def _subject(row: Mapping[str, Any], deidentified: bool) -> dict[str, Any]:
    system = STUDY_SYSTEM if deidentified else CLIENT_SYSTEM
    return {"identifier": {"system": system, "value": str(row["client"])}}


def _resources(
    row: Mapping[str, Any], q: Questionnaire, deidentified: bool
) -> list[dict[str, Any]]:
    response_id = str(uuid.uuid4())
    response_url = f"urn:uuid:{response_id}"
    subject = _subject(row, deidentified)
    day = None if deidentified else str(row["date"])[:10]
    items: list[dict[str, Any]] = []
    for item_id in q.item_ids():
        value = row.get(f"{q.id}.item.{item_id}")
        if value is not None and value != "":
            items.append({"linkId": item_id, "answer": [_answer(q, item_id, float(value))]})
    observations: list[dict[str, Any]] = []
    for sid, scale in q.scales.items():
        score, status = row.get(f"{q.id}.{sid}"), row.get(f"{q.id}.{sid}.status")
        scored = score is not None and score != ""
        if scored:
            answer = [{"valueDecimal": _number(float(score))}]  # type: ignore[arg-type]
            items.append({"linkId": scale_link_id(sid), "answer": answer})
        observation: dict[str, Any] = {
            "resourceType": "Observation",
            "status": "final",
            "category": [CATEGORY],
            "code": {
                "coding": [{"system": scale_system(q.id), "code": sid, "display": scale.name}],
                "text": f"{q.title}: {scale.name}",
            },
            "subject": subject,
        }
        if day:
            observation["effectiveDateTime"] = day
        if scored:
            observation["valueQuantity"] = {"value": _number(float(score))}  # type: ignore[arg-type]
        else:
            observation["dataAbsentReason"] = {
                "coding": [{"system": ABSENT, "code": "not-performed"}],
                "text": "withheld: too few items answered for the scale's missing-data rule",
            }
        if status == "prorated":
            observation["note"] = [{"text": "prorated from the items answered"}]
        observation["derivedFrom"] = [{"reference": response_url}]
        observations.append(observation)
    response: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": response_id,
        "questionnaire": canonical(q.id, q.version),
        "status": "completed",
        "subject": subject,
    }
    if not deidentified:
        response["identifier"] = {
            "system": ADMINISTRATION_SYSTEM,
            "value": str(row["administration"]),
        }
        response["authored"] = day
    response["item"] = items
    return [{"fullUrl": response_url, "resource": response}] + [
        {"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": o} for o in observations
    ]


def export_bundle(export: Export) -> dict[str, Any]:
    """The Bundle of a wide export (see the module's text); read while the store is open."""
    by_id = {q.id: q for q in export.questionnaires}
    entries = [
        entry
        for row in _rows(export)
        for entry in _resources(row, by_id[str(row["questionnaire"])], export.deidentified)
    ]
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def write_bundle(export: Export, output: Path | IO[bytes], spool: Path | None = None) -> None:
    """Write :func:`export_bundle` as JSON to ``output`` (atomically, mode 0600; a stream
    gets the whole file or nothing)."""
    bundle = export_bundle(export)
    atomic_write(
        output,
        lambda s: s.write(json.dumps(bundle, indent=1, ensure_ascii=False) + "\n"),
        spool=spool,
    )
