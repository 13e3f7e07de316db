"""What a codebook says about a score table and its questionnaires, for every job's output.

The columns of a score table in its two shapes — long (one row per administration × scale)
and wide (``<questionnaire>.item.<id>``, ``<questionnaire>.not_applicable``,
``<questionnaire>.<scale>``, ``<questionnaire>.<scale>.status``) — with what each means, and
each questionnaire's entry: its current definition (id, version, content hash, citations, key
status), the versions the answers were recorded under, each item's allowed answers and "does
not apply" codes, and each scale's items, reverse items, range and missing-data rule. The
export's codebook (:mod:`alliance_cli.clinic.exportbook`) and the batch's
(:mod:`alliance_cli.research.outputs`) are built from these.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from alliance_cli.errors import DefinitionError, Problem
from alliance_cli.io.columns import Column
from alliance_cli.model import Questionnaire
from alliance_cli.text import fmt_num

CODEBOOK_VERSION = 1


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
