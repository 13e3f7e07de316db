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
import math
from collections.abc import Callable
from enum import StrEnum
from functools import cached_property
from typing import Annotated, Any, ClassVar, Self, TypeVar

from pydantic import (
    AllowInfNan,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    Strict,
    ValidationInfo,
    field_serializer,
    model_validator,
)

from alliance_cli.invariants import (
    Found,
    Path,
    check_document,
    check_drop,
    check_missing,
    check_norm,
    check_ranges,
    check_references,
    check_response_scale,
    check_scale,
    check_threshold,
    render_path,
)
from alliance_cli.options import Method, Respondent
from alliance_cli.text import fmt_num, id_list

__all__ = [
    "Method",
    "Path",
    "render_path",
]

# Validation-context key: when present, the invariants run on the raw document and their
# problems are appended to this list instead of raised (the loader uses it to report field
# errors and invariant errors in one run).
COLLECT = "alliance.collect"


def _id_from_number(value: Any) -> Any:
    # YAML reads `id: 1` and `items: [4, 6]` as integers; item ids are text. Booleans are a
    # YAML 1.1 trap the loader reports separately, so they are left to fail here.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


Id = Annotated[
    str,
    BeforeValidator(_id_from_number),
    Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$", max_length=64),
]
Text = Annotated[str, Field(min_length=1)]
# A boolean is not a number: lax pydantic reads YAML `true` as 1 (`max: true` made a 1–1
# scale, `min: false` a 0). Strict numbers refuse it and quoted text; an int is still a float.
# `.inf` and `.nan` are YAML numbers too, but no score can be computed on them.
Number = Annotated[float, Strict(), AllowInfNan(False)]
Count = Annotated[int, Strict()]


def _not_a_boolean(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    return value


# Label keys are text in JSON (`show --json` reads back into the model), so "1" must pass.
LabelKey = Annotated[float, BeforeValidator(_not_a_boolean), AllowInfNan(False)]


class KeyStatus(StrEnum):
    verified = "verified"
    partial = "partial"
    unverified = "unverified"


class Direction(StrEnum):
    better = "better"
    worse = "worse"


class OnMissing(StrEnum):
    prorate = "prorate"
    withhold = "withhold"


class _Model(BaseModel):
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        # Validators and serializers are built on first use, not at import: a command that
        # validates nothing (a cached definition, --help) does not pay for 20-odd models.
        defer_build=True,
    )


def _collecting(info: ValidationInfo) -> bool:
    return isinstance(info.context, dict) and COLLECT in info.context


_M = TypeVar("_M", bound=BaseModel)


def _checked(model: _M, info: ValidationInfo, check: Callable[[Any, Found], None]) -> _M:
    """Run an invariant on a validated model and raise what it finds — unless the loader is
    collecting, which runs every check on the raw document instead."""
    if not _collecting(info):
        found = Found()
        check(model, found)
        found.raise_if_any()
    return model


class NotApplicable(_Model):
    """Codes meaning "does not apply": counted as unanswered, but recorded as such."""

    values: tuple[Number, ...] = Field(
        min_length=1,
        description='Codes that mean "does not apply"; they must lie outside the allowed answers.',
    )
    label: Text = Field(
        "Does not apply", description="What the respondent sees and may type instead of a code."
    )


class ResponseScale(_Model):
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
        return _checked(self, info, check_response_scale)

    @field_serializer("labels")
    def _labels_as_written(self, labels: dict[float, str]) -> dict[str, str]:
        # `1: Seldom`, not `"1.0": Seldom`, in JSON output.
        return {fmt_num(value): label for value, label in labels.items()}

    def is_answer(self, value: float) -> bool:
        """True when ``value`` is an allowed answer (in range, on the grid, not excluded), by
        the scoring engine's rule (:func:`~alliance_cli.scoring.reason_of`)."""
        from alliance_cli.scoring import Reason, reason_of  # numpy only when asked

        return reason_of(self, value) is Reason.ok

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


class Item(_Model):
    id: Id
    text: Text = Field(
        description="A short content hint in the project's own words — never the published wording."
    )
    response_scale: ResponseScale | None = Field(
        None, description="Overrides the questionnaire's response scale for this item."
    )


class MissingRule(_Model):
    """How many items a scale needs, and what happens when some are missing.

    With ``on_missing: prorate`` the score is computed from the answered items (mean of the
    answered items; a sum is the mean times the number of items) as long as at least
    ``min_answered`` items (or ``min_proportion`` of them) are answered. With ``withhold``
    any missing item withholds the score. "Does not apply" answers count as missing.
    """

    min_answered: Count | None = Field(None, ge=1, description="Least items answered to score.")
    min_proportion: Number | None = Field(
        None, gt=0, le=1, description="Least share of items answered to score (0.75)."
    )
    on_missing: OnMissing = Field(
        OnMissing.withhold,
        description="prorate: score from the answered items; withhold: any "
        "missing item withholds the score.",
    )

    @model_validator(mode="after")
    def _check(self, info: ValidationInfo) -> Self:
        return _checked(self, info, check_missing)

    def required(self, n_items: int) -> int:
        """The least number of answered items that still gives a score."""
        if self.on_missing is OnMissing.withhold:
            return n_items
        if self.min_answered is not None:
            return self.min_answered
        assert self.min_proportion is not None
        # A share times a count in binary (0.28 × 25 = 7.000000000000001) must not ask for
        # one more item.
        from alliance_cli.scoring import GRID_TOLERANCE

        return max(1, math.ceil(self.min_proportion * n_items - GRID_TOLERANCE))

    def describe(self, n_items: int) -> str:
        """``all 4 items required`` / ``prorated when at least 3 of 4 are answered``."""
        need = self.required(n_items)
        if need >= n_items:
            return f"all {n_items} items required"
        share = (
            f" ({fmt_num(round(self.min_proportion * 100, 1))}%)"
            if self.min_proportion is not None
            else ""
        )
        return f"prorated when at least {need} of {n_items} are answered{share}"


class Threshold(_Model):
    """An inequality spelled out: ``below: 36`` means score < 36, ``at_most: 36`` ≤ 36."""

    below: Number | None = Field(None, description="Score < this.")
    at_most: Number | None = Field(None, description="Score <= this.")
    above: Number | None = Field(None, description="Score > this.")
    at_least: Number | None = Field(None, description="Score >= this.")

    @model_validator(mode="after")
    def _check_bounds(self, info: ValidationInfo) -> Self:
        return _checked(self, info, check_threshold)

    def lower(self) -> tuple[float, str] | None:
        if self.above is not None:
            return self.above, "above"
        if self.at_least is not None:
            return self.at_least, "at_least"
        return None

    def upper(self) -> tuple[float, str] | None:
        if self.below is not None:
            return self.below, "below"
        if self.at_most is not None:
            return self.at_most, "at_most"
        return None

    def bounds(self) -> list[tuple[str, float]]:
        return [
            (k, v)
            for k in ("above", "at_least", "below", "at_most")
            if (v := getattr(self, k)) is not None
        ]

    def describe_rule(self, subject: str) -> str:
        """``total below 36``, ``score at least 4 and below 6``."""
        words = {"below": "below", "at_most": "at most", "above": "above", "at_least": "at least"}
        parts = [f"{words[k]} {fmt_num(v)}" for k, v in self.bounds()]
        return f"{subject} " + " and ".join(parts)


class Band(Threshold):
    """A named range of a scale's score (a cutoff is a band with one bound)."""

    id: Id
    label: Text
    flag: bool = Field(
        True,
        description="True when landing in this band is worth raising (it then appears as a flag).",
    )
    message: Text | None = Field(
        None, description="One plain sentence shown when the band applies."
    )
    source: Text = Field(description="Where the cutoff comes from.")


class ItemRule(Threshold):
    """An item-level heuristic such as "any SRS item below 9 is worth asking about"."""

    id: Id
    items: tuple[Id, ...] | None = Field(
        None, description="The items it applies to; all items when left out."
    )
    message: Text
    source: Text


class Norm(_Model):
    """Reference values for a scale's score (on the scale's own metric: sum or mean)."""

    population: Text
    source: Text
    n: Count | None = Field(None, ge=1)
    mean: Number | None = None
    sd: Number | None = Field(None, gt=0)
    reliability: Number | None = Field(
        None,
        gt=0,
        lt=1,
        description="Internal consistency (alpha) or test-retest, for reliable change.",
    )

    @model_validator(mode="after")
    def _check(self, info: ValidationInfo) -> Self:
        return _checked(self, info, check_norm)


class Scale(_Model):
    """A scale: its items, reverse keys, scoring method, missing-data rule, bands, norms."""

    name: Text
    items: tuple[Id, ...] = Field(min_length=1)
    reverse: tuple[Id, ...] = Field(
        (),
        description="Items reversed (min + max − x) *for this scale*; they must be members of it.",
    )
    method: Method = Field(
        description="The reported score: sum or mean of the keyed items (the other is shown too)."
    )
    higher_is: Direction = Field(description="Whether a higher score is better or worse.")
    # Defaults are built with model_construct (their fields' defaults, as validation would
    # give): validating them at import would build every model's validator (defer_build).
    missing: MissingRule = Field(
        MissingRule.model_construct(),
        description="Missing-data rule; by default every item is required.",
    )
    description: Text | None = None
    norms: tuple[Norm, ...] = Field(
        (), description="The first norm gives the standard scores (z, T)."
    )
    bands: tuple[Band, ...] = Field((), description="Named ranges and cutoffs of the score.")

    @model_validator(mode="after")
    def _check(self, info: ValidationInfo) -> Self:
        return _checked(self, info, check_scale)

    def cutoff(self) -> float | None:
        """The line drawn on charts: the upper bound of the first flagged band (SRS: 36)."""
        return next((up[0] for b in self.bands if b.flag and (up := b.upper()) is not None), None)

    @property
    def sign(self) -> float:
        """+1 when higher is better, −1 when higher is worse: ``sign * (later − earlier)``
        is positive for a change for the better."""
        return 1.0 if self.higher_is is Direction.better else -1.0

    def reliability_norm(self) -> Norm | None:
        """The first norm that gives a reliability."""
        return next((n for n in self.norms if n.reliability is not None), None)

    def reference_norms(self) -> tuple[Norm | None, Norm | None]:
        """The norms giving the SD and the reliability of reliable change (Jacobson & Truax
        1991 intend one reference sample): the first norm with both, else the first with an
        SD and the first with a reliability — two samples, which the caller must say."""
        both = next((n for n in self.norms if n.sd is not None and n.reliability), None)
        if both is not None:
            return both, both
        return next((n for n in self.norms if n.sd is not None), None), self.reliability_norm()


class _Rule(_Model):
    enabled: bool = Field(True, description="Switch the rule off with false.")


REMOVED_KEYS: dict[tuple[str, str], str] = {
    ("reliable_change", "own_sd_min"): "reliable change is now measured against a reference "
    "sample's SD and reliability (a published norm under `scales.<id>.norms`, a published "
    "amount as `alerts.reliable_change.points`, or the practice's own norm from `alliance "
    "norms build`), never the client's own SD",
    ("rupture", "fallback_sd_share"): "replaced by `min_sd_share`, a floor under the SD as a "
    "share of the scale's range (default 0.0625)",
}
"""Keys of the previous release's ``alerts`` rules that are accepted and ignored, with what
replaced them, so a user's definition written for it still loads (and its history shows)."""


class _Removed(_Rule):
    """A rule that accepts, ignores and remembers the keys :data:`REMOVED_KEYS` names."""

    _rule: ClassVar[str] = ""
    _removed: tuple[str, ...] = PrivateAttr(())

    @model_validator(mode="wrap")
    @classmethod
    def _drop_removed(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        found: tuple[str, ...] = ()
        if isinstance(data, dict):
            found = tuple(k for k in data if (cls._rule, k) in REMOVED_KEYS)
            data = {k: v for k, v in data.items() if k not in found}
        model = handler(data)
        model._removed = found
        return model

    def removed_notes(self) -> list[str]:
        """What a removed key set in the file stood for, said for the definition's author."""
        return [
            f"`alerts.{self._rule}.{key}` is no longer used and its value is ignored: "
            f"{REMOVED_KEYS[self._rule, key]}; remove it"
            for key in self._removed
        ]


class CutoffAlert(_Rule):
    """A session whose score lands in a flagged band of the scale (SRS total below 36)."""


class DropAlert(_Model):
    """A fall from the previous session by at least ``at_least`` points (off unless set)."""

    at_least: Number | None = Field(None, gt=0, description="Smallest fall that alerts.")
    source: Text | None = Field(None, description="Where the threshold comes from.")

    @model_validator(mode="after")
    def _check(self, info: ValidationInfo) -> Self:
        return _checked(self, info, check_drop)


class ReliableChangeAlert(_Removed):
    """Jacobson & Truax (1991) reliable change from the baseline (the mean of the first
    ``baseline_sessions``). The reference, in this order: a published amount in ``points``
    (ORS: 5); else the scale's published norm (one with both ``sd`` and ``reliability``, else
    the first ``sd`` with the first ``reliability``, said to be two samples); else the
    practice's own norm (``alliance norms build``). Never the client's own
    session-to-session spread, which measures fluctuation, not error."""

    _rule = "reliable_change"
    baseline_sessions: Count = Field(1, ge=1, description="Sessions averaged as the baseline.")
    z: Number = Field(1.96, gt=0, description="|RCI| above this is reliable (1.96: p < .05).")
    points: Number | None = Field(
        None,
        gt=0,
        description="A published reliable-change amount in points (ORS: 5); used "
        "instead of computing the RCI.",
    )
    source: Text | None = Field(None, description="Source of `points`.")

    @model_validator(mode="after")
    def _check(self, info: ValidationInfo) -> Self:
        return _checked(self, info, check_drop)


class RuptureAlert(_Removed):
    """Rupture–repair episodes, adapted from Stiles et al. (2004), Strauss et al. (2006) and
    Gumz et al. (2012): a fall of more than ``k`` SD from the previous session, SD the larger
    of the client's own (over the sessions before the fall, once there are ``own_sd_min``)
    and a floor of ``min_sd_share`` of the scale's range (standing in for a sample's
    session-to-session SD, so a short or flat series does not make a wobble a rupture);
    repaired when a session within ``repair_within`` sessions returns to the pre-drop score
    less ``tolerance_sd`` SD. Only earlier sessions count, so a rupture once named stays
    named; a later return outside the window is reported as such."""

    _rule = "rupture"
    k: Number = Field(2, gt=0, description="Fall in SDs that marks a rupture (1 or 2).")
    repair_within: Count = Field(2, ge=1, description="Sessions allowed for a repair.")
    tolerance_sd: Number = Field(
        0.5, ge=0, description="How near the pre-drop score counts as repaired, in SDs."
    )
    own_sd_min: Count = Field(
        3, ge=2, description="Earlier sessions needed before the client's own SD is used."
    )
    min_sd_share: Number = Field(
        0.0625,
        gt=0,
        le=0.5,
        description="Floor of the SD as a share of the scale's range (0.0625 of a 1–5 mean = "
        "0.25; of SRS 0–40 = 2.5 points); the SD used is never smaller.",
    )
    source: Text | None = Field(
        None, description="Where the rule and its parameters come from (our adaptation)."
    )


class DivergenceAlert(_Rule):
    """Client and therapist on the same sessions: the gap (client − therapist) at each shared
    session is judged against the earlier gaps — a change of more than ``k`` SD from their
    mean, SD the larger of the earlier gaps' own (once there are ``own_sd_min``) and a floor
    of ``min_sd_share`` of the scale's range. A shift towards the client rating worse is a
    possible rupture the therapist did not see."""

    k: Number = Field(2, gt=0, description="Change of the gap, in SDs, that is worth raising.")
    own_sd_min: Count = Field(
        3, ge=2, description="Earlier gaps needed before their own SD is used."
    )
    min_sd_share: Number = Field(
        0.0625, gt=0, le=0.5, description="Floor of the SD as a share of the scale's range."
    )
    source: Text | None = Field(None, description="Where the rule and its parameters come from.")


class HighThenFallingAlert(_Rule):
    """A prompt: the first session was high and the score then fell session after session."""

    high_pomp: Number = Field(80, gt=0, le=100, description="'High' as % of maximum possible.")
    falls: Count = Field(2, ge=1, description="Consecutive falls that make the pattern.")


class CeilingAlert(_Rule):
    """A prompt: every session at the ceiling — invite honest feedback."""

    pomp: Number = Field(95, gt=0, le=100, description="'At the ceiling' as % of maximum.")
    min_sessions: Count = Field(3, ge=2, description="Sessions before the pattern is named.")


class MissingAlert(_Rule):
    """A session without this measure (a gap in session numbers) or with its score withheld."""


class AlertRules(_Model):
    """Rules over a client's series of sessions; each alert names its rule and source."""

    scales: tuple[Id, ...] | None = Field(
        None, description="Scales watched (default: `total` if there is one, else all)."
    )
    cutoff: CutoffAlert = CutoffAlert.model_construct()
    drop: DropAlert = DropAlert.model_construct()
    reliable_change: ReliableChangeAlert = ReliableChangeAlert.model_construct()
    rupture: RuptureAlert = RuptureAlert.model_construct()
    divergence: DivergenceAlert = DivergenceAlert.model_construct()
    high_then_falling: HighThenFallingAlert = HighThenFallingAlert.model_construct()
    ceiling: CeilingAlert = CeilingAlert.model_construct()
    missing: MissingAlert = MissingAlert.model_construct()


class Citation(_Model):
    text: Text
    doi: str | None = None


class Questionnaire(_Model):
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
        if _collecting(info):
            found = Found()
            check_document(data, found)
            info.context[COLLECT].extend(found.problems)  # type: ignore[index]
        return data

    @model_validator(mode="after")
    def _check(self, info: ValidationInfo) -> Self:
        """References between items and scales; bands, norms and item rules inside the
        possible range; proration only over items that share a range."""
        found = Found()
        if not _collecting(info):  # else the loader checked the raw document's references
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
