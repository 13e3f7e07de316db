"""The codebook written beside an export: a JSON document describing the CSV.

Every column (name, meaning, type, allowed values; the metadata columns, which differ when
de-identified, are described here), the CSV conventions, and every questionnaire exported
(:func:`alliance_cli.codebook.questionnaire_entry`). JSON rather than Markdown so that
analysis scripts can read it (labels, ranges, reverse keys).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from alliance_cli import __version__
from alliance_cli.codebook import CODEBOOK_VERSION, questionnaire_entry
from alliance_cli.io.columns import Column
from alliance_cli.io.csvout import escape_description
from alliance_cli.model import Questionnaire
from alliance_cli.options import MODALITIES
from alliance_cli.research.methods import RunOptions, methods_paragraph

if TYPE_CHECKING:
    from alliance_cli.clinic.export import Export


def meta_columns(questionnaires: Sequence[Questionnaire], deidentify: bool) -> list[Column]:
    if deidentify:
        head = [
            Column(
                "client",
                "text",
                "random study id, one per client, unique within this export; only the key "
                "file (if one was written) links it to a client code",
                "S- and six characters from 23456789ABCDEFGHJKMNPQRSTVWXYZ",
            ),
            Column(
                "day",
                "integer",
                "days since the client's first recorded administration of any questionnaire "
                "(that day is 0)",
                "0 or more",
            ),
        ]
    else:
        head = [
            Column("client", "text", "client code (pseudonymous)", "1–64 letters, digits, - and _"),
            Column(
                "administration",
                "integer",
                "number of the administration in the history database (as `alliance void` "
                "takes it)",
                "1 or more",
            ),
            Column(
                "date",
                "text",
                "date of the administration as recorded",
                "YYYY-MM-DD or YYYY-MM-DDTHH:MM",
            ),
        ]
    tail = [
        Column(
            "session",
            "integer",
            "session number of the client for this questionnaire and respondent",
            "1 or more",
        ),
        Column("respondent", "text", "who answered", ["client", "therapist", "observer"]),
        Column("clinician", "text", "clinician's name or code as recorded; empty when not given"),
        Column(
            "modality", "text", "how the session took place; empty when not given", list(MODALITIES)
        ),
        Column(
            "questionnaire",
            "text",
            "questionnaire id (see questionnaires below)",
            [q.id for q in questionnaires],
        ),
        Column(
            "recorded_version",
            "text",
            "version of the definition the answers were recorded under",
        ),
        Column(
            "current_version",
            "text",
            "version of the definition that scored them for this export",
        ),
        Column(
            "definition_changed",
            "boolean",
            "true when the answers were recorded under a definition with another content hash "
            "than the one that scored them (a corrected key rescores the past)",
            ["true", "false"],
        ),
    ]
    if not deidentify:
        tail.append(Column("note", "text", "the note recorded with the administration"))
    return head + tail


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
        "rows": export.rows,
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
