"""The thresholds of careless-response screening (:class:`QualityOptions`) and each flag
as a report states it — name, index, threshold, source (:func:`flag_rules`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from alliance_cli.model import Questionnaire

QUALTRICS_DURATION = "Duration (in seconds)"
"""The duration column of a Qualtrics export, taken without ``--duration-column``."""

SPEED = "speed"
"""The name of the fast-response flag (one per response, over every questionnaire)."""


@dataclass(frozen=True)
class QualityOptions:
    """The thresholds of the flags (each stated with its source in :func:`flag_rules`)."""

    longstring_share: float = 1.0
    """Flag a longstring of at least ceil(share × items) items; 1.0: the whole form."""
    irv_max: float = 0.0
    """Flag an IRV at or below this (0: every answer the same)."""
    mahad_alpha: float = 0.001
    """Flag a Mahalanobis D² whose chi-square p (df = items) is below this."""
    synonym_r: float = 0.60
    """The correlation an item pair needs to be a synonym (r > .60) or antonym (r < −.60)."""
    psychsyn_below: float | None = None
    """Flag a psychometric-synonym correlation below this; None: no flag (see
    :data:`NO_SYNONYM_CUTOFF`)."""
    psychant_above: float | None = None
    """Flag a psychometric-antonym correlation above this; None: no flag."""
    seconds_per_item: float = 2.0
    """Flag fewer seconds per item than this (Huang et al. 2012)."""
    duration_column: str | None = None
    """The duration column (seconds); None: ``Duration (in seconds)`` where every input has
    it (a Qualtrics export), else no speed index."""
    drop_flagged: bool = False
    """Leave the flagged responses out of the output (and say how many)."""
    only: bool = False
    """The output holds the row, file and id columns and the indices only (``alliance
    quality -o``), not the scores."""

    def longstring_min(self, items: int) -> int:
        return max(1, math.ceil(self.longstring_share * items - 1e-9))


CHECKS = ("longstring", "irv", "mahad", "psychsyn", "psychant")

NO_SYNONYM_CUTOFF = "no flag: no published cutoff (set one: {option} R)"
"""Why psychsyn and psychant raise no flag by default. Meade & Craig (2012) give no cutoff;
their synonyms came from a long multidimensional inventory. On a 12-item one-factor form
every item pair is a synonym pair and the items differ little in mean, so a careful
response's within-person correlation is mostly noise: in a simulation of 1,000 attentive
WAI-SR responses (loading .9, item means 3.5–4.3) 86% fell below 0."""


@dataclass(frozen=True)
class FlagRule:
    """One flag as the report states it."""

    flag: str
    index: str
    threshold: str
    source: str
    cutoff: bool = True
    """False: the index is computed but raises no flag (no cutoff given)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "flag": self.flag,
            "index": self.index,
            "threshold": self.threshold if self.cutoff else None,
            "no_flag_because": None if self.cutoff else self.threshold,
            "source": self.source,
        }


def flag_rules(q: Questionnaire, options: QualityOptions) -> tuple[FlagRule, ...]:
    """The flags of questionnaire ``q``: name, index, threshold and source."""
    k = len(q.items)
    o = options
    r = _num(o.synonym_r)
    return (
        FlagRule(
            f"{q.id}.longstring",
            "longest run of identical consecutive answers (careless::longstring)",
            f"≥ {o.longstring_min(k)} of {k} items",
            "Johnson (2005); Curran (2016) suggests half the items",
        ),
        FlagRule(
            f"{q.id}.irv",
            "SD (n − 1) of the response's answers (careless::irv)",
            f"IRV ≤ {_num(o.irv_max)}",
            "Dunn et al. (2018)",
        ),
        FlagRule(
            f"{q.id}.mahad",
            "Mahalanobis D² (careless::mahad, psych::outlier)",
            f"p < {_num(o.mahad_alpha)} (chi-square, df = {k})",
            "Meade & Craig (2012); p < .001: Tabachnick & Fidell (2013)",
        ),
        FlagRule(
            f"{q.id}.psychsyn",
            f"within-person r over item pairs with r > {r} (careless::psychsyn)",
            NO_SYNONYM_CUTOFF.format(option="--psychsyn-below")
            if o.psychsyn_below is None
            else f"r < {_num(o.psychsyn_below)}",
            "Meade & Craig (2012); a cutoff is yours (none is given there)",
            o.psychsyn_below is not None,
        ),
        FlagRule(
            f"{q.id}.psychant",
            f"within-person r over item pairs with r < −{r} (careless::psychant)",
            NO_SYNONYM_CUTOFF.format(option="--psychant-above")
            if o.psychant_above is None
            else f"r > {_num(o.psychant_above)}",
            "Meade & Craig (2012); a cutoff is yours (none is given there)",
            o.psychant_above is not None,
        ),
    )


def speed_rule(options: QualityOptions, column: str) -> FlagRule:
    return FlagRule(
        SPEED,
        f"seconds per item ({column} / items of the run's questionnaires)",
        f"< {_num(options.seconds_per_item)} s per item",
        "Huang et al. (2012)",
    )


def _num(x: float) -> str:
    return f"{x:g}"
