"""The thresholds of careless-response screening (:class:`QualityOptions`) and each flag
as a report states it — name, index, threshold, source (:func:`flag_rules`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

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
    psychsyn_below: float = 0.0
    """Flag a psychometric-synonym correlation below this."""
    psychant_above: float = 0.0
    """Flag a psychometric-antonym correlation above this."""
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


@dataclass(frozen=True)
class FlagRule:
    """One flag as the report states it."""

    flag: str
    index: str
    threshold: str
    source: str

    def to_dict(self) -> dict[str, str]:
        return {
            "flag": self.flag,
            "index": self.index,
            "threshold": self.threshold,
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
            f"r < {_num(o.psychsyn_below)}",
            "Meade & Craig (2012); the cutoff is alliance's (none is given there)",
        ),
        FlagRule(
            f"{q.id}.psychant",
            f"within-person r over item pairs with r < −{r} (careless::psychant)",
            f"r > {_num(o.psychant_above)}",
            "Meade & Craig (2012); the cutoff is alliance's (none is given there)",
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
