"""The JSON Schema of the definition format, generated from the models.

A copy is committed as ``schema/questionnaire.schema.json``; a test fails when it is stale
(regenerate with ``alliance schema > schema/questionnaire.schema.json``).
"""

from __future__ import annotations

from typing import Any

from alliance_cli.model import Questionnaire

SCHEMA_ID = "https://alliance-cli.invalid/schema/questionnaire.schema.json"


def definition_schema() -> dict[str, Any]:
    schema = Questionnaire.model_json_schema(by_alias=True, mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}
