"""The questionnaire definition format: pydantic v2 models, frozen and strict about keys.

A definition is a YAML file (see ``definitions.py``) validated into :class:`Questionnaire`.
This module declares: field-level rules live in ``Field``/``Annotated`` constraints, and each
model's validator hands its cross-field invariants (unique ids, scale members exist, reverse
items inside their scale, labels and cutoffs inside the range, a missing-data rule that can be
met) to ``invariants.py``, which reports *all* the violations at once, each with its path
relative to the model, as a single ``PydanticCustomError`` of type ``invariants``; the loader
turns those into ``file:line:col dotted.path: message`` lines. What an allowed answer is, is
the scoring engine's rule (``scoring.cell_reasons``).
"""

from __future__ import annotations

import hashlib
import json
from functools import cached_property
from typing import Any, Self

from pydantic import (
    Field,
    ValidationInfo,
    field_serializer,
    model_validator,
)

from alliance_cli.alertrules import (
    REMOVED_KEYS,
    AlertRules,
    CeilingAlert,
    CutoffAlert,
    DivergenceAlert,
    DropAlert,
    HighThenFallingAlert,
    MissingAlert,
    ReliableChangeAlert,
    RuptureAlert,
)
from alliance_cli.invariants import (
    Found,
    Path,
    check_document,
    check_ranges,
    check_references,
    check_response_scale,
    render_path,
)
from alliance_cli.modelbase import (
    COLLECT,
    Direction,
    Id,
    KeyStatus,
    LabelKey,
    Model,
    Number,
    OnMissing,
    Text,
    checked,
    collecting,
)
from alliance_cli.options import Method, Respondent
from alliance_cli.scales import Band, ItemRule, MissingRule, Norm, Scale, Threshold
from alliance_cli.text import fmt_num, id_list

__all__ = [  # the definition format's names, wherever they are declared
    "COLLECT",
    "REMOVED_KEYS",
    "AlertRules",
    "Band",
    "CeilingAlert",
    "CutoffAlert",
    "Direction",
    "DivergenceAlert",
    "DropAlert",
    "HighThenFallingAlert",
    "ItemRule",
    "KeyStatus",
    "Method",
    "MissingAlert",
    "MissingRule",
    "Model",
    "Norm",
    "OnMissing",
    "Path",
    "ReliableChangeAlert",
    "RuptureAlert",
    "Scale",
    "Threshold",
    "render_path",
]


class NotApplicable(Model):
    """Codes meaning "does not apply": counted as unanswered, but recorded as such."""

    values: tuple[Number, ...] = Field(
        min_length=1,
        description='Codes that mean "does not apply"; they must lie outside the allowed answers.',
    )
    label: Text = Field(
        "Does not apply", description="What the respondent sees and may type instead of a code."
    )


class ResponseScale(Model):
    """The answers an item accepts: ``min``..``max`` in ``step``s, minus ``exclude``."""

    min: Number = Field(description="Lowest answer.")
    max: Number = Field(description="Highest answer.")
    step: Number = Field(
        1,
        gt=0,
        description="1 for a Likert scale, 0.1 for a 10 cm visual-analogue line measured in mm.",
    )
    exclude: tuple[Number, ...] = Field(
        (),
        description="Values inside the range that are not answers (0 on -3..+3 without zero).",
    )
    labels: dict[LabelKey, Text] = Field(
        default_factory=dict,
        description='A label per point, or only for the ends (`{0: "poorly", 10: "well"}`).',
    )
    not_applicable: NotApplicable | None = Field(
        None, description="Codes meaning 'does not apply' (counted as unanswered)."
    )

    @model_validator(mode="after")
    def _check(self, info: ValidationInfo) -> Self:
        return checked(self, info, check_response_scale)

    @field_serializer("labels")
    def _labels_as_written(self, labels: dict[float, str]) -> dict[str, str]:
        # `1: Seldom`, not `"1.0": Seldom`, in JSON output.
        return {fmt_num(value): label for value, label in labels.items()}

    def is_answer(self, value: float) -> bool:
        """True when ``value`` is an allowed answer (in range, on the grid, not excluded), by
        the scoring engine's rule (:func:`~alliance_cli.scoring.reason_of`)."""
        from alliance_cli.scoring import Reason, reason_of  # numpy only when asked

        return reason_of(self, value) is Reason.ok

    def points(self) -> list[float]:
        """The allowed answers in order: ``min``..``max`` in steps, less the excluded ones
        (by :meth:`is_answer`'s rule); "does not apply" codes are not among them."""
        n = round((self.max - self.min) / self.step)
        grid = [self.min + k * self.step for k in range(n + 1)]
        return [v for v in grid if self.is_answer(v)]

    @property
    def n_points(self) -> int:
        return round((self.max - self.min) / self.step) + 1 - len(self.exclude)

    def describe(self) -> str:
        """``1–5``, ``0–10 in steps of 0.1``, ``-3–3 except 0``."""
        text = f"{fmt_num(self.min)}–{fmt_num(self.max)}"
        if self.step != 1:
            text += f" in steps of {fmt_num(self.step)}"
        if self.exclude:
            text += " except " + ", ".join(fmt_num(x) for x in self.exclude)
        return text

    def describe_allowed(self) -> str:
        """The allowed answers for an error message, labels and 'does not apply' included."""
        text = self.describe()
        if self.labels and len(self.labels) == self.n_points:
            text += " (" + ", ".join(f"{fmt_num(v)} {lab}" for v, lab in self.labels.items()) + ")"
        if self.not_applicable is not None:
            codes = "/".join(fmt_num(c) for c in self.not_applicable.values)
            text += f', or {codes} or "{self.not_applicable.label}" for does not apply'
        return text


class Item(Model):
    id: Id
    text: Text = Field(
        description="A short content hint in the project's own words — never the published wording."
    )
    response_scale: ResponseScale | None = Field(
        None, description="Overrides the questionnaire's response scale for this item."
    )


class Citation(Model):
    text: Text
    doi: str | None = None


class Questionnaire(Model):
    """A questionnaire definition: metadata, response scale, items and scales."""

    id: Id = Field(description="Short id used on the command line (`wai-sr`).")
    title: Text
    version: Text = Field(
        description="Version of this definition file (bump it when the scoring changes)."
    )
    respondent: Respondent = Field(description="Who fills it in: client, therapist or observer.")
    construct_: Text = Field(
        alias="construct",
        description="What it measures (working alliance, empathy, session feedback, outcome).",
    )
    aliases: tuple[Id, ...] = Field((), description="Other names it is found by.")
    compare_with: Id | None = Field(
        None,
        description="The questionnaire another respondent fills in about the same sessions "
        "(wai-sr-t: wai-sr), for client-vs-therapist comparisons on the scales they share.",
    )
    citations: tuple[Citation, ...] = Field(min_length=1)
    licence: Text = Field(
        description="Who holds the rights to the wording and what use is allowed."
    )
    key_status: KeyStatus = Field(
        description="verified, partial or unverified; commands warn unless verified."
    )
    key_sources: tuple[Text, ...] = Field(
        min_length=1, description="Where the scoring key was checked, and what remains unverified."
    )
    codes: dict[str, str] = Field(
        default_factory=dict,
        description='Terminology codes (e.g. `loinc: "..."`); leave empty unless known.',
    )
    notes: Text | None = None
    response_scale: ResponseScale
    items: tuple[Item, ...] = Field(min_length=1, description="Items in administration order.")
    scales: dict[Id, Scale] = Field(min_length=1, description="Scales by id.")
    item_rules: tuple[ItemRule, ...] = Field(
        (), description="Item-level heuristics (e.g. any item below 9)."
    )
    alerts: AlertRules = Field(
        AlertRules.model_construct(),
        description="Rules over a client's series of sessions (all on by default).",
    )

    @model_validator(mode="before")
    @classmethod
    def _collect_document_problems(cls, data: Any, info: ValidationInfo) -> Any:
        """In the loader's collect mode, run every invariant on the raw document, so that
        they are reported even where a field of the same object is wrong."""
        if collecting(info):
            found = Found()
            check_document(data, found)
            info.context[COLLECT].extend(found.problems)  # type: ignore[index]
        return data

    @model_validator(mode="after")
    def _check(self, info: ValidationInfo) -> Self:
        """References between items and scales; bands, norms and item rules inside the
        possible range; proration only over items that share a range."""
        found = Found()
        if not collecting(info):  # else the loader checked the raw document's references
            check_references(self, found)
        check_ranges(self, found)
        found.raise_if_any()
        return self

    # -- derived facts -------------------------------------------------------------------

    def item_ids(self) -> list[str]:
        return [item.id for item in self.items]

    def item(self, item_id: str) -> Item:
        for item in self.items:
            if item.id == item_id:
                return item
        raise KeyError(item_id)

    def removed_notes(self) -> list[str]:
        """Keys of the previous release this file still sets (ignored), and what replaced
        them: notes for its author (``validate``) and catalog notices."""
        return self.alerts.reliable_change.removed_notes() + self.alerts.rupture.removed_notes()

    def watched_scales(self) -> list[str]:
        """The scales the alert rules watch."""
        if self.alerts.scales is not None:
            return list(self.alerts.scales)
        return ["total"] if "total" in self.scales else list(self.scales)

    def describe_unknown_item(self, item_id: str) -> str:
        return (
            f'item "{item_id}" is not defined in {self.id} (items are {id_list(self.item_ids())})'
        )

    def standard_norm(self, scale_id: str) -> Norm | None:
        """The norm behind z and T: the scale's first norm with both a mean and an SD."""
        return next(
            (n for n in self.scales[scale_id].norms if n.mean is not None and n.sd is not None),
            None,
        )

    def scale_of(self, item_id: str) -> ResponseScale:
        """The response scale that applies to an item (its own, else the questionnaire's)."""
        return self.item(item_id).response_scale or self.response_scale

    def scale_range(self, scale_id: str) -> tuple[float, float]:
        """Lowest and highest possible score of a scale, on its own metric."""
        scale = self.scales[scale_id]
        los = [self.scale_of(i).min for i in scale.items]
        his = [self.scale_of(i).max for i in scale.items]
        if scale.method is Method.sum:
            return float(sum(los)), float(sum(his))
        return sum(los) / len(los), sum(his) / len(his)

    def scales_using(self, item_id: str) -> list[tuple[str, bool]]:
        """(scale id, reversed there) for every scale that uses the item."""
        return [(sid, item_id in s.reverse) for sid, s in self.scales.items() if item_id in s.items]

    def content_hash(self) -> str:
        """SHA-256 of what decides scores, flags and standard scores: the id, the response
        scales, the item ids and their own scales, every scale (items, keys, rules, bands,
        norms) and the item rules. Wording, citations and notes are left out, so an overlay
        or a corrected note does not look like a changed key. Stored with administrations."""
        return self._content_hash

    # Computed once per definition (its first dump builds every model's serializer, which
    # costs more than a score) and remembered with it in the cache. Not a field: equality
    # and dumps ignore it. A copy made by with_item_text keeps it: wording is not hashed.
    @cached_property
    def _content_hash(self) -> str:
        data = self.model_dump(
            mode="json",
            include={"id", "response_scale", "items", "scales", "item_rules", "alerts"},
        )
        data["items"] = [
            {"id": i["id"], "response_scale": i["response_scale"]} for i in data["items"]
        ]
        blob = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(blob).hexdigest()

    def with_item_text(self, texts: dict[str, str]) -> Questionnaire:
        """A copy whose items carry the given wording (from an item-text overlay)."""
        items = tuple(
            item.model_copy(update={"text": texts[item.id]}) if item.id in texts else item
            for item in self.items
        )
        return self.model_copy(update={"items": items})
