"""A definition as a FHIR R4 ``Questionnaire`` (JSON), its scoring carried along.

* Each item with a short grid of answers is a ``choice`` item: one ``answerOption`` per
  allowed value, its ``valueCoding`` coded by :mod:`.fhir_common`'s conventions (display =
  the label), with the value as its score in the ``itemWeight`` extension
  (http://hl7.org/fhir/StructureDefinition/itemWeight, the successor of ``ordinalValue``;
  SDC "weight()" reads it from the answer option,
  https://hl7.org/fhir/uv/sdc/expressions.html#fhirpath-supplements). Reverse keys are not
  baked into the weights: they belong to the scale, so each scale's expression reverses its
  own items (``min + max − weight``).
* A "does not apply" code is an option *without* a weight: ``weight()`` gives nothing for
  it, so it counts as unanswered, as in alliance.
* A visual-analogue item (a fine grid, SRS/ORS's 0–10 in 0.1) is a ``decimal`` item with the
  ``minValue``/``maxValue`` extensions; its expression uses the answer itself, only inside
  that range when the item has "does not apply" codes (which lie outside it).
* Each scale is a read-only ``decimal`` item ``scale.{id}`` whose
  ``sdc-questionnaire-calculatedExpression``
  (https://hl7.org/fhir/uv/sdc/StructureDefinition-sdc-questionnaire-calculatedExpression.html)
  computes the score as :func:`alliance_cli.scoring.score_matrix` does from the item's
  ``keyed`` variable (SDC ``variable`` extension,
  https://hl7.org/fhir/uv/sdc/expressions.html#variable: the keyed answers, collected with
  ``combine()``, which keeps repeats, unlike ``|``); the minimum number answered
  inside an ``iif`` (no score below it), the mean of the answered items, or the sum — prorated
  as the mean times the number of items when some are missing. Every alliance missing-data
  rule is a count, which FHIRPath can say, so none needs a ``targetConstraint``. Where the
  engines differ: an answer that is not an option of its item has no weight and counts as
  unanswered here, while alliance refuses the cell.
"""

from __future__ import annotations

import re
from typing import Any

from alliance_cli.interop import fhir_common as fc
from alliance_cli.model import Questionnaire
from alliance_cli.options import Method
from alliance_cli.text import fmt_num

# The scale item's variable holding its keyed answers (SDC `variable` extension).
KEYED = "keyed"

# Terminology systems of the definition's `codes` that FHIR knows by URI.
CODE_SYSTEMS = {"loinc": "http://loinc.org", "snomed": "http://snomed.info/sct"}


def _decimal(value: float) -> float | int:
    # JSON `1`, not `1.0`, for whole numbers (FHIR decimals keep what they are given).
    return int(value) if float(value).is_integer() else float(fmt_num(value))


def _fhir_id(text: str) -> str:
    # Resource ids allow [A-Za-z0-9\-.]{1,64}; alliance ids also allow "_".
    return text.replace("_", "-")


def _computable_name(text: str) -> str:
    # Questionnaire.name should be usable as a code name (que-0: ^[A-Z]([A-Za-z0-9_]){0,254}$).
    name = "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", text))
    return name if name[:1].isalpha() else f"Q{name}"


def _option(q: Questionnaire, value: float, display: str, weight: bool) -> dict[str, Any]:
    option: dict[str, Any] = {}
    if weight:
        option["extension"] = [{"url": fc.ITEM_WEIGHT, "valueDecimal": _decimal(value)}]
    option["valueCoding"] = {
        "system": fc.answer_system(q.id),
        "code": fc.answer_code(value),
        "display": display,
    }
    return option


def _question(q: Questionnaire, item_id: str) -> dict[str, Any]:
    rs = q.scale_of(item_id)
    item: dict[str, Any] = {"linkId": item_id, "text": q.item(item_id).text}
    if fc.is_choice(rs):
        labels = {fmt_num(v): lab for v, lab in rs.labels.items()}
        options = [
            _option(q, v, labels.get(fmt_num(v), fmt_num(v)), weight=True) for v in rs.points()
        ]
        if rs.not_applicable is not None:
            options += [
                _option(q, code, rs.not_applicable.label, weight=False)
                for code in rs.not_applicable.values
            ]
        item["type"] = "choice"
        item["answerOption"] = options
    else:
        item["extension"] = [
            {"url": fc.MIN_VALUE, "valueDecimal": _decimal(rs.min)},
            {"url": fc.MAX_VALUE, "valueDecimal": _decimal(rs.max)},
        ]
        item["type"] = "decimal"
    return item


def code_system(q: Questionnaire) -> dict[str, Any] | None:
    """The answer codes as a CodeSystem (contained in the Questionnaire), or None without
    choice items. It defines the system URI the definition owns, and it answers a FHIRPath
    engine that looks a code up when its answer option has no weight ("does not apply"):
    SDC ``weight()`` searches the option, then a contained CodeSystem, and only then a
    terminology server. A code is weighted (its value) unless some item takes it for "does
    not apply"; the options' own weights come first, so a code that is an answer on one item
    and "does not apply" on another still scores right on both."""
    concepts: dict[str, tuple[float, str]] = {}
    not_applicable: set[str] = set()
    for item_id in q.item_ids():
        rs = q.scale_of(item_id)
        if not fc.is_choice(rs):
            continue
        labels = {fmt_num(v): lab for v, lab in rs.labels.items()}
        for v in rs.points():
            concepts.setdefault(fc.answer_code(v), (v, labels.get(fmt_num(v), fmt_num(v))))
        if rs.not_applicable is not None:
            for na in rs.not_applicable.values:
                concepts.setdefault(fc.answer_code(na), (na, rs.not_applicable.label))
                not_applicable.add(fc.answer_code(na))
    if not concepts:
        return None
    concept = []
    for code, (value, display) in sorted(concepts.items(), key=lambda kv: kv[1][0]):
        entry: dict[str, Any] = {}
        if code not in not_applicable:
            entry["extension"] = [{"url": fc.ITEM_WEIGHT, "valueDecimal": _decimal(value)}]
        concept.append({**entry, "code": code, "display": display})
    return {
        "resourceType": "CodeSystem",
        "id": "answers",
        "url": fc.answer_system(q.id),
        "version": q.version,
        "status": "active",
        "content": "complete",
        "concept": concept,
    }


def keyed_answer(q: Questionnaire, scale_id: str, item_id: str) -> str:
    """FHIRPath for one item's keyed answer on a scale (empty when unanswered or "does not
    apply"): its weight, or the number itself for a decimal item, reversed when the scale
    says so."""
    rs = q.scale_of(item_id)
    value = f"%resource.item.where(linkId = '{item_id}').answer.value"
    if fc.is_choice(rs):
        term = f"{value}.weight()"
    elif rs.not_applicable is not None:
        # Its "does not apply" codes lie outside the range: a number in range is an answer.
        term = f"{value}.where($this >= {fmt_num(rs.min)} and $this <= {fmt_num(rs.max)})"
    else:
        term = value
    if item_id in q.scales[scale_id].reverse:
        # Arithmetic on an empty collection is empty: an unanswered item stays unanswered.
        return f"({fmt_num(rs.min + rs.max)} - {term})"
    return f"({term})"


def keyed_answers(q: Questionnaire, scale_id: str) -> str:
    """FHIRPath for a scale's keyed answers, one number per answered item (the scale item's
    ``keyed`` variable): collected with ``combine()``, which keeps repeats, unlike ``|``."""
    first, *rest = (keyed_answer(q, scale_id, i) for i in q.scales[scale_id].items)
    return first + "".join(f".combine{term}" for term in rest)


def scale_expression(q: Questionnaire, scale_id: str) -> str:
    """The FHIRPath that computes a scale's score from ``%keyed`` (:func:`keyed_answers`), or
    nothing when too few items are answered (see the module docstring)."""
    scale = q.scales[scale_id]
    n = len(scale.items)
    need = scale.missing.required(n)
    count, total = f"%{KEYED}.count()", f"%{KEYED}.sum()"
    rule = f"{count} = {n}" if need >= n else f"{count} >= {need}"
    if scale.method is Method.mean:
        score = f"{total} / {count}"
    elif need >= n:
        score = total
    else:  # prorated: the mean of the answered items times the number of items
        score = f"iif({count} = {n}, {total}, {total} / {count} * {n})"
    return f"iif({rule}, {score})"


def _scale_item(q: Questionnaire, scale_id: str) -> dict[str, Any]:
    scale = q.scales[scale_id]
    n = len(scale.items)
    items = f"{n} item{'s' * (n != 1)}"
    text = f"{scale.name}: {scale.method.value} of {items}, {scale.missing.describe(n)}"
    if scale.reverse:
        text += f"; reversed: {', '.join(scale.reverse)}"
    return {
        "extension": [
            {
                "url": fc.VARIABLE,
                "valueExpression": {
                    "name": KEYED,
                    "language": "text/fhirpath",
                    "expression": keyed_answers(q, scale_id),
                },
            },
            {
                "url": fc.CALCULATED_EXPRESSION,
                "valueExpression": {
                    "description": f"{scale.name} as alliance scores it",
                    "language": "text/fhirpath",
                    "expression": scale_expression(q, scale_id),
                },
            },
        ],
        "linkId": fc.scale_link_id(scale_id),
        "text": text,
        "type": "decimal",
        "readOnly": True,
    }


def questionnaire(q: Questionnaire) -> dict[str, Any]:
    """The FHIR R4 ``Questionnaire`` resource of a definition, as JSON-ready data."""
    resource: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "id": _fhir_id(q.id),
        "url": fc.questionnaire_url(q.id),
        "version": q.version,
        "name": _computable_name(q.id),
        "title": q.title,
        "status": "active",
        "subjectType": ["Patient"],
        "description": f"{q.title}: {q.construct_}; filled in by the {q.respondent.value}. "
        "Item texts are short content hints, not the published wording. Written by alliance.",
        "copyright": q.licence,
    }
    if (answers := code_system(q)) is not None:
        resource["contained"] = [answers]
    codes = [
        {"system": CODE_SYSTEMS[system], "code": code}
        for system, code in q.codes.items()
        if system in CODE_SYSTEMS
    ]
    if codes:
        resource["code"] = codes
    resource["item"] = [_question(q, i) for i in q.item_ids()] + [
        _scale_item(q, s) for s in q.scales
    ]
    return resource
