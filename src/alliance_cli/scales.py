"""A definition's scales: items and reverse keys, the scoring method, the missing-data rule,
named bands and cutoffs, item rules and published norms."""

from __future__ import annotations

import math
from typing import Self

from pydantic import Field, ValidationInfo, model_validator

from alliance_cli.invariants import check_missing, check_norm, check_scale, check_threshold
from alliance_cli.modelbase import (
    Count,
    Direction,
    Id,
    Model,
    Number,
    OnMissing,
    Text,
    checked,
)
from alliance_cli.options import Method
from alliance_cli.text import fmt_num


class MissingRule(Model):
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
        return checked(self, info, check_missing)

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


class Threshold(Model):
    """An inequality spelled out: ``below: 36`` means score < 36, ``at_most: 36`` ≤ 36."""

    below: Number | None = Field(None, description="Score < this.")
    at_most: Number | None = Field(None, description="Score <= this.")
    above: Number | None = Field(None, description="Score > this.")
    at_least: Number | None = Field(None, description="Score >= this.")

    @model_validator(mode="after")
    def _check_bounds(self, info: ValidationInfo) -> Self:
        return checked(self, info, check_threshold)

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


class Norm(Model):
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
        return checked(self, info, check_norm)


class Scale(Model):
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
        return checked(self, info, check_scale)

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
