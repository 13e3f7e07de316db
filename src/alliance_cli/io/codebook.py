"""The codebook written beside an export: a JSON document describing the CSV.

Every column (name, meaning, type, allowed values), the CSV conventions, and every
questionnaire exported: its current definition (id, version, content hash, citations, key
status), the versions the answers were recorded under, each item's allowed answers and "does
not apply" codes, and each scale's items, reverse items, range and missing-data rule.
JSON rather than Markdown so that analysis scripts can read it (labels, ranges, reverse keys).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import __version__
from ..methods import RunOptions, methods_paragraph
from ..model import Questionnaire
from .columns import describe_answers
from .csvout import escape_description

if TYPE_CHECKING:
    from .export import Export

CODEBOOK_VERSION = 1


def build_codebook(
    export: Export, *, data_file: str | None, escape_formulas: bool
) -> dict[str, Any]:
    """The codebook document for ``export`` (``data_file``: the CSV's file name, None for
    stdout)."""
    return {
        "codebook_version": CODEBOOK_VERSION,
        "generator": f"alliance {__version__}",
        "data_file": data_file,
        "shape": export.shape.value,
        "rows": len(export.rows),
        "row": (
            "one administration × scale"
            if export.shape.value == "long"
            else "one administration; columns are prefixed by questionnaire id, and a row "
            "leaves other questionnaires' columns empty"
        ),
        "deidentified": export.deidentified,
        "scores": "recomputed from the stored answers by the current definition (see "
        "questionnaires); voided administrations are left out",
        "methods": methods_paragraph(export.questionnaires, RunOptions()),
        "csv": {
            "encoding": "UTF-8, no byte-order mark",
            "dialect": "RFC 4180: comma-separated, CRLF line ends, double quotes around "
            "cells that need them",
            "empty_cell": "no value (left blank, withheld, or not given)",
            "boolean": "true or false",
            "formulas_escaped": escape_formulas,
            "formula_escape": escape_description(escape_formulas),
        },
        "reverse_items": "a reverse item counts as min + max − x on its own response scale, "
        "for the scale that lists it only",
        "columns": [c.to_dict() for c in export.columns],
        "questionnaires": [
            questionnaire_entry(q, export.recorded_under.get(q.id, {}))
            for q in export.questionnaires
        ],
    }


def questionnaire_entry(q: Questionnaire, recorded: dict[tuple[str, str], int]) -> dict[str, Any]:
    return {
        "id": q.id,
        "title": q.title,
        "version": q.version,
        "content_hash": q.content_hash(),
        "respondent": q.respondent.value,
        "key_status": q.key_status.value,
        "citations": [c.model_dump(mode="json") for c in q.citations],
        "recorded_under": [
            {"version": version, "content_hash": digest, "administrations": n}
            for (version, digest), n in sorted(recorded.items())
        ],
        "items": [
            {
                "id": item.id,
                "hint": item.text,
                "allowed": describe_answers(q, item.id),
                "response_scale": q.scale_of(item.id).model_dump(mode="json"),
            }
            for item in q.items
        ],
        "scales": [
            {
                "id": sid,
                "name": scale.name,
                "method": scale.method.value,
                "higher_is": scale.higher_is.value,
                "range": [_number(x) for x in q.scale_range(sid)],
                "items": list(scale.items),
                "reverse": list(scale.reverse),
                "missing_rule": scale.missing.describe(len(scale.items)),
            }
            for sid, scale in q.scales.items()
        ],
    }


def _number(x: float) -> float | int:
    return int(x) if float(x).is_integer() else x
