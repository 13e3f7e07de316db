"""What the history database holds, as the store hands it out: administrations with their
item-level answers, and a summary per client."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Answer:
    item: str
    value: float | None
    state: str  # answered | missing | not_applicable


@dataclass(frozen=True)
class NewAdministration:
    client: str
    questionnaire_id: str
    questionnaire_version: str
    content_hash: str
    answers: Sequence[Answer]
    respondent: str
    administered_at: str
    session: int | None = None  # None: the client's next session for this questionnaire
    clinician: str | None = None
    modality: str | None = None
    note: str | None = None
    replaces: int | None = None  # an administration this one corrects (it is voided)
    actor: str | None = None  # who enters it, for the audit trail (default: the OS user)
    new_client: bool = False  # register ``client`` with this record (it must not exist yet)


@dataclass(frozen=True)
class Administration:
    id: int
    client: str
    questionnaire_id: str
    questionnaire_version: str
    content_hash: str
    session: int
    administered_at: str
    respondent: str
    clinician: str | None
    modality: str | None
    note: str | None
    status: str
    replaces: int | None
    created_at: str
    answers: list[Answer] = field(default_factory=list)

    def values(self, item_ids: Sequence[str]) -> list[float]:
        """Values in the given item order: NaN for blank or unknown items."""
        by_item = {a.item: a.value for a in self.answers if a.value is not None}
        return [by_item.get(i, math.nan) for i in item_ids]


@dataclass(frozen=True)
class ClientSummary:
    code: str
    administrations: int
    questionnaires: list[str]
    first: str | None
    last: str | None
