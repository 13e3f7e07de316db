"""The questionnaire definition format: pydantic v2 models, frozen and strict about keys.

A definition is a YAML file (see ``definitions.py``) validated into :class:`Questionnaire`.
Field-level rules live in ``Field``/``Annotated`` constraints; cross-field invariants (unique
ids, scale members exist, reverse items inside their scale, labels and cutoffs inside the
range, a missing-data rule that can be met) live in model validators. Each invariant reports
*all* its violations at once, each with its path relative to the model, as a single
``PydanticCustomError`` of type ``invariants``; the loader turns those into
``file:line:col dotted.path: message`` lines.
"""

from __future__ import annotations

import hashlib
import json
import math
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_serializer,
    model_validator,
)
from pydantic_core import PydanticCustomError

# Tolerance for "is this value on the step grid": values are read from text, so 0.1 steps
# arrive as binary approximations (0.30000000000000004).
GRID_TOLERANCE = 1e-6

Path = tuple[str | int, ...]

# Validation-context key: when present, cross-reference problems found on the raw document
# are appended to this list instead of raised (the loader uses it to report field errors and
# cross-reference errors in one run).
COLLECT = "alliance.collect"


def fmt_num(value: float) -> str:
    """Render a number the way a clinician writes it: ``36`` not ``36.0``, ``7.5`` as is."""
    if isinstance(value, float) and math.isnan(value):
        return ""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.6g}"


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


class Respondent(StrEnum):
    client = "client"
    therapist = "therapist"
    observer = "observer"


class KeyStatus(StrEnum):
    verified = "verified"
    partial = "partial"
    unverified = "unverified"


class Method(StrEnum):
    sum = "sum"
    mean = "mean"


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
    )


class _Invariants:
    """Collects invariant violations so a validator reports all of them at once."""

    def __init__(self) -> None:
        self.found: list[tuple[Path, str, str]] = []

    def add(self, path: Path, code: str, message: str) -> None:
        self.found.append((path, code, message))

    def raise_if_any(self) -> None:
        if self.found:
            summary = "; ".join(
                f"{render_path(path) or '<root>'}: {message}" for path, _, message in self.found
            )
            raise PydanticCustomError(
                "invariants", "{summary}", {"summary": summary, "problems": tuple(self.found)}
            )


def render_path(path: Path) -> str:
    """``("scales", "goal", "items", 3)`` → ``scales.goal.items[3]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


class NotApplicable(_Model):
    """Codes meaning "does not apply": counted as unanswered, but recorded as such."""

    values: tuple[float, ...] = Field(
        min_length=1,
        description='Codes that mean "does not apply"; they must lie outside the allowed answers.',
    )
    label: Text = Field(
        "Does not apply", description="What the respondent sees and may type instead of a code."
    )


class ResponseScale(_Model):
    """The answers an item accepts: ``min``..``max`` in ``step``s, minus ``exclude``."""

    min: float = Field(description="Lowest answer.")
    max: float = Field(description="Highest answer.")
    step: float = Field(
        1,
        gt=0,
        description="1 for a Likert scale, 0.1 for a 10 cm visual-analogue line measured in mm.",
    )
    exclude: tuple[float, ...] = Field(
        (),
        description="Values inside the range that are not answers (0 on -3..+3 without zero).",
    )
    labels: dict[float, Text] = Field(
        default_factory=dict,
        description='A label per point, or only for the ends (`{0: "poorly", 10: "well"}`).',
    )
    not_applicable: NotApplicable | None = Field(
        None, description="Codes meaning 'does not apply' (counted as unanswered)."
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        found = _Invariants()
        if self.min >= self.max:
            found.add(
                ("max",),
                "range",
                f"max ({fmt_num(self.max)}) must be above min ({fmt_num(self.min)})",
            )
            found.raise_if_any()
        if not self.on_grid(self.max):
            found.add(
                ("step",),
                "step",
                f"step {fmt_num(self.step)} does not lead from "
                f"{fmt_num(self.min)} to {fmt_num(self.max)}",
            )
        for i, value in enumerate(self.exclude):
            if not self.on_grid(value):
                found.add(
                    ("exclude", i),
                    "exclude",
                    f"{fmt_num(value)} is not a point of the scale {self.describe()}",
                )
        for value in self.labels:
            if not self.is_answer(value):
                found.add(
                    ("labels", fmt_num(value)),
                    "label-range",
                    f"label for {fmt_num(value)} is not an allowed answer ({self.describe()})",
                )
        seen: dict[str, float] = {}
        for value, label in self.labels.items():
            key = normalize_label(label)
            if key in seen:
                found.add(
                    ("labels", fmt_num(value)),
                    "label-duplicate",
                    f'label "{label}" is used for both {fmt_num(seen[key])} and {fmt_num(value)}',
                )
            seen[key] = value
        if self.not_applicable is not None:
            for i, code in enumerate(self.not_applicable.values):
                if self.is_answer(code):
                    found.add(
                        ("not_applicable", "values", i),
                        "na-code",
                        f"'does not apply' code {fmt_num(code)} is also an allowed answer "
                        f"({self.describe()}); pick a code outside the range",
                    )
            if normalize_label(self.not_applicable.label) in seen:
                found.add(
                    ("not_applicable", "label"),
                    "label-duplicate",
                    f'label "{self.not_applicable.label}" is also a scale point label',
                )
        found.raise_if_any()
        return self

    @field_serializer("labels")
    def _labels_as_written(self, labels: dict[float, str]) -> dict[str, str]:
        # `1: Seldom`, not `"1.0": Seldom`, in JSON output.
        return {fmt_num(value): label for value, label in labels.items()}

    def on_grid(self, value: float) -> bool:
        steps = (value - self.min) / self.step
        return abs(steps - round(steps)) < GRID_TOLERANCE

    def is_answer(self, value: float) -> bool:
        """True when ``value`` is an allowed answer (in range, on the grid, not excluded)."""
        if not (self.min - GRID_TOLERANCE <= value <= self.max + GRID_TOLERANCE):
            return False
        if not self.on_grid(value):
            return False
        return not any(abs(value - x) < GRID_TOLERANCE for x in self.exclude)

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


def normalize_label(label: str) -> str:
    return " ".join(label.casefold().split())


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

    min_answered: int | None = Field(None, ge=1, description="Least items answered to score.")
    min_proportion: float | None = Field(
        None, gt=0, le=1, description="Least share of items answered to score (0.75)."
    )
    on_missing: OnMissing = Field(
        OnMissing.withhold,
        description="prorate: score from the answered items; withhold: any "
        "missing item withholds the score.",
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        found = _Invariants()
        if self.min_answered is not None and self.min_proportion is not None:
            found.add(
                ("min_proportion",),
                "missing-both",
                "give either min_answered or min_proportion, not both",
            )
        if self.on_missing is OnMissing.withhold and (
            self.min_answered is not None or self.min_proportion is not None
        ):
            found.add(
                ("on_missing",),
                "missing-rule",
                "with on_missing: withhold every item is required, so a minimum has no "
                "effect; use on_missing: prorate or drop the minimum",
            )
        if self.on_missing is OnMissing.prorate and (
            self.min_answered is None and self.min_proportion is None
        ):
            found.add(
                ("on_missing",),
                "missing-rule",
                "on_missing: prorate needs min_answered or min_proportion",
            )
        found.raise_if_any()
        return self

    def required(self, n_items: int) -> int:
        """The least number of answered items that still gives a score."""
        if self.on_missing is OnMissing.withhold:
            return n_items
        if self.min_answered is not None:
            return self.min_answered
        assert self.min_proportion is not None
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

    below: float | None = Field(None, description="Score < this.")
    at_most: float | None = Field(None, description="Score <= this.")
    above: float | None = Field(None, description="Score > this.")
    at_least: float | None = Field(None, description="Score >= this.")

    @model_validator(mode="after")
    def _check_bounds(self) -> Self:
        found = _Invariants()
        if self.below is not None and self.at_most is not None:
            found.add(("at_most",), "bound-both", "give either below or at_most, not both")
        if self.above is not None and self.at_least is not None:
            found.add(("at_least",), "bound-both", "give either above or at_least, not both")
        lower, upper = self.lower(), self.upper()
        if lower is None and upper is None:
            found.add((), "bound-none", "give at least one of below, at_most, above, at_least")
        if lower is not None and upper is not None and lower[0] >= upper[0]:
            found.add(
                (upper[1],), "bound-order", f"the range is empty: {self.describe_rule('score')}"
            )
        found.raise_if_any()
        return self

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
    n: int | None = Field(None, ge=1)
    mean: float | None = None
    sd: float | None = Field(None, gt=0)
    reliability: float | None = Field(
        None,
        gt=0,
        lt=1,
        description="Internal consistency (alpha) or test-retest, for reliable change.",
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.mean is None and self.sd is None and self.reliability is None:
            found = _Invariants()
            found.add((), "norm-empty", "a norm needs at least one of mean, sd, reliability")
            found.raise_if_any()
        return self


class Scale(_Model):
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
    missing: MissingRule = Field(
        MissingRule(), description="Missing-data rule; by default every item is required."
    )
    description: Text | None = None
    norms: tuple[Norm, ...] = Field(
        (), description="The first norm gives the standard scores (z, T)."
    )
    bands: tuple[Band, ...] = Field((), description="Named ranges and cutoffs of the score.")

    @model_validator(mode="after")
    def _check(self) -> Self:
        found = _Invariants()
        for i, item in _duplicates(self.items):
            found.add(("items", i), "duplicate-id", f'item "{item}" is listed twice')
        members = set(self.items)
        for i, item in enumerate(self.reverse):
            if item not in members:
                found.add(
                    ("reverse", i),
                    "reverse-not-member",
                    f'reverse item "{item}" is not one of this scale\'s items '
                    f"({_list(self.items)})",
                )
        for i, item in _duplicates(self.reverse):
            found.add(("reverse", i), "duplicate-id", f'item "{item}" is reversed twice')
        if self.missing.min_answered is not None and self.missing.min_answered > len(self.items):
            found.add(
                ("missing", "min_answered"),
                "missing-unmeetable",
                f"min_answered {self.missing.min_answered} can never be met: the scale "
                f"has {len(self.items)} items",
            )
        for i, band_id in _duplicates([b.id for b in self.bands]):
            found.add(("bands", i, "id"), "duplicate-id", f'band id "{band_id}" is used twice')
        found.raise_if_any()
        return self


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

    @model_validator(mode="before")
    @classmethod
    def _cross_references(cls, data: Any, info: ValidationInfo) -> Any:
        """Item ids unique; every item a scale, its reverse list or an item rule names exists.

        Runs on the raw document, so it reports even when other fields are invalid."""
        found = _Invariants()
        if isinstance(data, dict):
            _check_references(data, found)
        collect = info.context.get(COLLECT) if isinstance(info.context, dict) else None
        if collect is not None:
            collect.extend(found.found)
        else:
            found.raise_if_any()
        return data

    @model_validator(mode="after")
    def _check(self) -> Self:
        """Bands, norms and item rules inside the possible range."""
        found = _Invariants()
        ids = self.item_ids()
        known = set(ids)
        for scale_id, scale in self.scales.items():
            if any(item_id not in known for item_id in scale.items):
                continue
            lo, hi = self.scale_range(scale_id)
            for b, band in enumerate(scale.bands):
                for key, value in band.bounds():
                    if not lo <= value <= hi:
                        found.add(
                            ("scales", scale_id, "bands", b, key),
                            "band-range",
                            f"{key}: {fmt_num(value)} lies outside the scale's range "
                            f"{fmt_num(lo)}–{fmt_num(hi)} ({scale.method.value})",
                        )
            for nrm, norm in enumerate(scale.norms):
                if norm.mean is not None and not lo <= norm.mean <= hi:
                    found.add(
                        ("scales", scale_id, "norms", nrm, "mean"),
                        "norm-range",
                        f"mean {fmt_num(norm.mean)} lies outside the scale's range "
                        f"{fmt_num(lo)}–{fmt_num(hi)} ({scale.method.value}); norms use "
                        "the scale's own metric",
                    )
        for r, rule in enumerate(self.item_rules):
            for item_id in rule.items or ids:
                if item_id not in known:
                    continue
                rs = self.scale_of(item_id)
                for key, value in rule.bounds():
                    if not rs.min <= value <= rs.max:
                        found.add(
                            ("item_rules", r, key),
                            "rule-range",
                            f"{key}: {fmt_num(value)} lies outside item "
                            f'"{item_id}"\'s range {rs.describe()}',
                        )
        for i, rule_id in _duplicates([r.id for r in self.item_rules]):
            found.add(("item_rules", i, "id"), "duplicate-id", f'rule id "{rule_id}" is used twice')
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
        """SHA-256 of everything that affects scoring (item wording excluded, so an overlay
        does not change it). Stored with each administration to detect changed keys."""
        data = self.model_dump(mode="json")
        for item in data["items"]:
            item["text"] = ""
        blob = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(blob).hexdigest()

    def with_item_text(self, texts: dict[str, str]) -> Questionnaire:
        """A copy whose items carry the given wording (from an item-text overlay)."""
        items = tuple(
            item.model_copy(update={"text": texts[item.id]}) if item.id in texts else item
            for item in self.items
        )
        return self.model_copy(update={"items": items})


def _check_references(data: dict[str, Any], found: _Invariants) -> None:
    """The cross-reference invariants, tolerant of a document whose fields are still wrong."""

    def as_id(value: Any) -> str:
        return str(_id_from_number(value))

    items = data.get("items")
    ids = (
        [as_id(item["id"]) for item in items if isinstance(item, dict) and "id" in item]
        if (isinstance(items, list))
        else []
    )
    if isinstance(items, list):
        positions = [i for i, item in enumerate(items) if isinstance(item, dict) and "id" in item]
        for dup, item_id in _duplicates(ids):
            found.add(
                ("items", positions[dup], "id"),
                "duplicate-id",
                f'item id "{item_id}" is used twice',
            )
    known = set(ids)

    def refs(path: Path, values: Any) -> None:
        if not isinstance(values, list) or not known:
            return
        for i, value in enumerate(values):
            if as_id(value) not in known:
                found.add(
                    (*path, i),
                    "unknown-item",
                    f'item "{as_id(value)}" is not defined (items are {_list(ids)})',
                )

    scales = data.get("scales")
    if isinstance(scales, dict):
        for scale_id, scale in scales.items():
            if not isinstance(scale, dict):
                continue
            refs(("scales", str(scale_id), "items"), scale.get("items"))
            refs(("scales", str(scale_id), "reverse"), scale.get("reverse"))
    rules = data.get("item_rules")
    if isinstance(rules, list):
        for r, rule in enumerate(rules):
            if isinstance(rule, dict):
                refs(("item_rules", r, "items"), rule.get("items"))


def _duplicates(values: list[str] | tuple[str, ...]) -> list[tuple[int, str]]:
    seen: set[str] = set()
    out = []
    for i, value in enumerate(values):
        if value in seen:
            out.append((i, value))
        seen.add(value)
    return out


def _list(ids: list[str] | tuple[str, ...]) -> str:
    ids = list(dict.fromkeys(ids))
    if len(ids) > 6:
        return f'"{ids[0]}"…"{ids[-1]}"'
    return ", ".join(f'"{i}"' for i in ids)
