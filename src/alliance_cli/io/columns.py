"""The columns of an export and what each means: the codebook's column list.

Metadata first (which differ when de-identified), then the long shape's per-scale columns or
the wide shape's per-questionnaire columns (``<questionnaire>.item.<id>``,
``<questionnaire>.not_applicable``, ``<questionnaire>.<scale>``,
``<questionnaire>.<scale>.status``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import DefinitionError, Problem
from ..model import Questionnaire, fmt_num
from ..store import MODALITIES


@dataclass(frozen=True)
class Column:
    """One column of the export, as the codebook describes it."""

    name: str
    type: str
    """``integer``, ``number``, ``text`` or ``boolean`` (written ``true``/``false``)."""
    meaning: str
    allowed: str | list[str] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "meaning": self.meaning,
            "type": self.type,
            "allowed": self.allowed,
        }


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


def long_columns(questionnaires: Sequence[Questionnaire]) -> list[Column]:
    scale_ids = sorted({sid for q in questionnaires for sid in q.scales})
    return [
        Column("scale", "text", "scale id within the questionnaire", scale_ids),
        Column(
            "method",
            "text",
            "whether score is the sum or the mean of the keyed items",
            ["sum", "mean"],
        ),
        Column(
            "score",
            "number",
            "the scale's score (sum or mean, per method; range per scale below); "
            "empty when withheld",
        ),
        Column(
            "sum", "number", "sum of the keyed items (prorated: mean × items); empty when withheld"
        ),
        Column("mean", "number", "mean of the keyed answered items; empty when withheld"),
        Column("items", "integer", "number of items in the scale", "1 or more"),
        Column("answered", "integer", "items answered", "0 to items"),
        Column("missing", "integer", "items left blank", "0 to items"),
        Column("not_applicable", "integer", 'items answered "does not apply"', "0 to items"),
        Column(
            "prorated",
            "boolean",
            "true when scored from fewer items than the scale has (see its missing_rule)",
            ["true", "false"],
        ),
        Column(
            "withheld",
            "boolean",
            "true when too few items were answered to score",
            ["true", "false"],
        ),
        Column("withheld_reason", "text", "why the score was withheld; empty otherwise"),
        Column(
            "band", "text", "label of the band (named range) the score lies in; empty when none"
        ),
        Column(
            "flags",
            "text",
            "flags raised, separated by ';': the scale's band ids, and item-rule ids on its "
            "items as rule:item; empty when none",
        ),
    ]


def wide_columns(questionnaires: Sequence[Questionnaire]) -> list[Column]:
    columns: list[Column] = []
    for q in questionnaires:
        for item in q.items:
            columns.append(
                Column(
                    f"{q.id}.item.{item.id}",
                    "number",
                    f'raw answer to {q.id} item {item.id} ("{item.text}"); empty when left blank',
                    describe_answers(q, item.id),
                )
            )
        if any(q.scale_of(i).not_applicable for i in q.item_ids()):
            columns.append(
                Column(
                    f"{q.id}.not_applicable",
                    "text",
                    f'{q.id} items answered "does not apply" (their item column holds the '
                    "code), separated by ';'; empty when none",
                    "item ids of " + q.id,
                )
            )
        for sid, scale in q.scales.items():
            lo, hi = q.scale_range(sid)
            columns.append(
                Column(
                    f"{q.id}.{sid}",
                    "number",
                    f"{q.id} {scale.name}: {scale.method.value} of the keyed items; empty when "
                    "withheld",
                    f"{fmt_num(lo)}–{fmt_num(hi)}",
                )
            )
            columns.append(
                Column(
                    f"{q.id}.{sid}.status",
                    "text",
                    f"how {q.id} {scale.name} was scored (see its missing_rule)",
                    ["complete", "prorated", "withheld"],
                )
            )
    seen: set[str] = set()
    for c in columns:
        if c.name in seen:
            raise DefinitionError(
                Problem(
                    "export-column",
                    f'the wide export would have two columns named "{c.name}" (a scale id '
                    "repeats an item column's name); export --shape long instead",
                )
            )
        seen.add(c.name)
    return columns


def describe_answers(q: Questionnaire, item_id: str) -> str:
    """``1–5 (1 Never, …, 5 Always); 9 = Does not apply (not an answer)``."""
    rs = q.scale_of(item_id)
    text = rs.describe()
    if rs.labels:
        text += " (" + ", ".join(f"{fmt_num(v)} {label}" for v, label in rs.labels.items()) + ")"
    if rs.not_applicable is not None:
        codes = " or ".join(fmt_num(c) for c in rs.not_applicable.values)
        text += f"; {codes} = {rs.not_applicable.label} (not an answer: counted as unanswered)"
    return text
