"""The ``alerts`` rules of a definition: each names its rule and parameters and, where the
rule is our adaptation of published work, says so (shown to the user with every alert)."""

from __future__ import annotations

from typing import Any, ClassVar, Self

from pydantic import (
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    ValidationInfo,
    model_validator,
)

from alliance_cli.invariants import check_drop
from alliance_cli.modelbase import Count, Id, Model, Number, Text, checked


class _Rule(Model):
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


class DropAlert(Model):
    """A fall from the previous session by at least ``at_least`` points (off unless set)."""

    at_least: Number | None = Field(None, gt=0, description="Smallest fall that alerts.")
    source: Text | None = Field(None, description="Where the threshold comes from.")

    @model_validator(mode="after")
    def _check(self, info: ValidationInfo) -> Self:
        return checked(self, info, check_drop)


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
        return checked(self, info, check_drop)


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


class AlertRules(Model):
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
