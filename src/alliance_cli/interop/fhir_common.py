"""The naming conventions every FHIR conversion shares (Questionnaire out, responses in,
export out), so a response written by one and read by another meets the same names.

* ``Questionnaire.url`` is ``urn:alliance:questionnaire:{id}``; ``version`` the definition's
  version; a response's ``questionnaire`` is the canonical ``{url}|{version}`` (FHIR R4
  canonical references, https://hl7.org/fhir/R4/references.html#canonical).
* An item's ``linkId`` is the item id; a scale's calculated item is ``scale.{scale_id}``.
* An answer's ``valueCoding`` has system ``urn:alliance:questionnaire:{id}:answers`` and
  code the answer value as text, as alliance prints numbers (``"1"``, ``"2.5"``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from alliance_cli.text import fmt_num

if TYPE_CHECKING:
    from alliance_cli.model import ResponseScale

FHIR_VERSION = "4.0.1"
URL_PREFIX = "urn:alliance:questionnaire:"
SCALE_PREFIX = "scale."

# Extensions (HL7 core and SDC, R4).
ITEM_WEIGHT = "http://hl7.org/fhir/StructureDefinition/itemWeight"
MIN_VALUE = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_VALUE = "http://hl7.org/fhir/StructureDefinition/maxValue"
CALCULATED_EXPRESSION = (
    "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression"
)
VARIABLE = "http://hl7.org/fhir/StructureDefinition/variable"
TARGET_CONSTRAINT = "http://hl7.org/fhir/StructureDefinition/targetConstraint"


def questionnaire_url(questionnaire_id: str) -> str:
    return f"{URL_PREFIX}{questionnaire_id}"


def canonical(questionnaire_id: str, version: str) -> str:
    """``urn:alliance:questionnaire:wai-sr|1.1.0``: what a response names its form by."""
    return f"{questionnaire_url(questionnaire_id)}|{version}"


def answer_system(questionnaire_id: str) -> str:
    return f"{questionnaire_url(questionnaire_id)}:answers"


def scale_link_id(scale_id: str) -> str:
    return f"{SCALE_PREFIX}{scale_id}"


def answer_code(value: float) -> str:
    """An answer value as a coding's code: ``"1"``, ``"2.5"`` (never ``"1.0"``)."""
    return fmt_num(value)


MAX_CHOICES = 20
"""A grid of at most this many answers in whole steps is asked as a choice item (options with
weights); anything finer is a line to mark (visual-analogue), asked as a decimal number."""


def is_choice(rs: ResponseScale) -> bool:
    """Whether items on this response scale are asked (and their answers written) as a list
    of options: the Questionnaire's items and the export's answers follow this one rule."""
    return rs.step >= 1 and rs.n_points <= MAX_CHOICES
