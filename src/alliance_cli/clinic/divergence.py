"""Client and therapist on the same sessions: their gap judged against the earlier gaps.

The ``divergence`` rule of the client's definition (see ``model.DivergenceAlert``): each
shared session's gap (client − therapist) against the earlier ones, beyond ``k`` SD of them,
SD from :func:`floored_sd` — this project's convention (no published rule), by analogy with
the rupture rule adapted from Stiles et al. (2004).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from alliance_cli.clinic.history import Series
from alliance_cli.model import DivergenceAlert, Questionnaire, RuptureAlert
from alliance_cli.text import fmt_num


class FlooredSD(NamedTuple):
    sd: float
    source: str
    """Where the SD comes from, in words: ``the 3 earlier sessions`` or ``the floor of
    6.25% of the 0–40 range``."""
    own: float | None
    """The SD of the earlier values themselves, once there are ``own_sd_min``."""
    floor: float


def floored_sd(
    values: Sequence[float],
    rule: RuptureAlert | DivergenceAlert,
    lo: float,
    hi: float,
    what: str = "sessions",
) -> FlooredSD:
    """The one ipsative SD of the rupture and divergence rules: the larger of the earlier
    ``values``' own SD (from ``rule.own_sd_min`` values on) and the floor, ``min_sd_share``
    of the scale's ``lo``–``hi`` range (so a short or flat series does not make a wobble a
    rupture; Gumz et al. 2012 recommend the stricter SD)."""
    floor = rule.min_sd_share * (hi - lo)
    own = statistics.stdev(values) if len(values) >= rule.own_sd_min else None
    if own is not None and own > floor:
        return FlooredSD(own, f"the {len(values)} earlier {what}", own, floor)
    share = fmt_num(round(rule.min_sd_share * 100, 2))
    return FlooredSD(
        floor, f"the floor of {share}% of the {fmt_num(lo)}–{fmt_num(hi)} range", own, floor
    )


@dataclass(frozen=True)
class GapJudgement:
    """One session's gap against the earlier ones, by the first definition's ``divergence``
    rule: a shift of more than ``k`` SD from their mean (SD: :func:`floored_sd`)."""

    session: int
    latest: float
    earlier: int
    earlier_mean: float
    shift: float
    sd: float
    sd_source: str
    k: float
    beyond: bool
    source: str


DIVERGENCE_SOURCE = (
    "this project's convention (no published rule for client–therapist gaps), by analogy "
    "with the rupture rule adapted from Stiles et al. (2004)"
)


@dataclass(frozen=True)
class Gap:
    """Client and therapist (or any two respondents) on one scale, session by session."""

    scale: str
    first: Series
    second: Series
    sessions: list[int]
    values: list[tuple[float | None, float | None, float | None]]
    """(first's score, second's score, first − second) per shared session."""
    trend: str
    """``reversed`` (the sign flipped beyond the rule), ``widening`` or ``narrowing`` (beyond
    the rule, or the size rising or falling over the last three shared sessions),
    ``returned`` (within the rule now, after a swing beyond it: never called stable),
    ``stable`` (within the rule, with no swing before) or ``not judged`` (fewer than two
    gaps, or the rule off)."""
    judged: list[GapJudgement] = field(default_factory=list)
    """Each shared session's gap from the second on, against the ones before it."""

    @property
    def judgement(self) -> GapJudgement | None:
        """The latest gap's judgement (what ``trend`` speaks of)."""
        return self.judged[-1] if self.judged else None

    @property
    def trend_text(self) -> str:
        """The trend in words: ``returned`` names the last swing."""
        swings = [j.session for j in self.judged if j.beyond]
        if self.trend == "returned" and swings:
            return f"returned after a swing at session {swings[-1]}"
        return self.trend

    def to_dict(self) -> dict[str, Any]:
        return {
            "scale": self.scale,
            "first": {
                "questionnaire": self.first.questionnaire.id,
                "respondent": self.first.respondent,
            },
            "second": {
                "questionnaire": self.second.questionnaire.id,
                "respondent": self.second.respondent,
            },
            "sessions": [
                {"session": n, "first": a, "second": b, "gap": g}
                for n, (a, b, g) in zip(self.sessions, self.values, strict=True)
            ],
            "trend": self.trend,
            "judgement": None if self.judgement is None else self.judgement.__dict__,
            "judged": [j.__dict__ for j in self.judged],
        }


def judge_gap(
    q: Questionnaire, scale_id: str, sessions: list[int], gaps_: list[float | None]
) -> tuple[str, list[GapJudgement]]:
    """The trend of a gap and, by the ``divergence`` rule, each shared session's gap (from
    the second on) against the ones before it — so a swing stays visible after later
    sessions; the trend speaks of the latest."""
    known = [(n, g) for n, g in zip(sessions, gaps_, strict=True) if g is not None]
    sizes = [abs(g) for _, g in known][-3:]
    pattern = None
    if len(sizes) == 3 and sizes[0] < sizes[1] < sizes[2]:
        pattern = "widening"
    elif len(sizes) == 3 and sizes[0] > sizes[1] > sizes[2]:
        pattern = "narrowing"
    rule = q.alerts.divergence
    if len(known) < 2 or not rule.enabled:
        return pattern or "not judged", []
    judged = [_judge(q, scale_id, known[: i + 1]) for i in range(1, len(known))]
    j = judged[-1]
    if not j.beyond:
        swung = any(earlier.beyond for earlier in judged[:-1])
        return pattern or ("returned" if swung else "stable"), judged
    if j.latest * j.earlier_mean < 0:
        return "reversed", judged
    return ("widening" if abs(j.latest) > abs(j.earlier_mean) else "narrowing"), judged


def _judge(q: Questionnaire, scale_id: str, known: list[tuple[int, float]]) -> GapJudgement:
    """The last of ``known`` (session, gap) against the ones before it: beyond when it
    shifts more than k SD from their mean (SD: :func:`floored_sd` of them)."""
    rule = q.alerts.divergence
    earlier = [g for _, g in known[:-1]]
    session, latest = known[-1]
    sd, sd_source, _, _ = floored_sd(earlier, rule, *q.scale_range(scale_id), what="gaps")
    mean = statistics.fmean(earlier)
    shift = latest - mean
    return GapJudgement(
        session,
        latest,
        len(earlier),
        mean,
        shift,
        sd,
        sd_source,
        rule.k,
        abs(shift) > rule.k * sd + 1e-9,
        rule.source or DIVERGENCE_SOURCE,
    )


def gaps(all_series: Sequence[Series]) -> list[Gap]:
    """Pairs of series rating the same sessions: one questionnaire answered by two
    respondents, or two questionnaires linked by ``compare_with`` (WAI-SR-T ↔ WAI-SR); one
    :class:`Gap` per shared scale, judged by the first (client's) definition's rule."""
    out: list[Gap] = []
    for i, a in enumerate(all_series):
        for b in all_series[i + 1 :]:
            qa, qb = a.questionnaire, b.questionnaire
            linked = qa.id == qb.id or qa.compare_with == qb.id or qb.compare_with == qa.id
            if not linked or a.respondent == b.respondent:
                continue
            first, second = (a, b) if a.respondent == "client" else (b, a)
            by_session = {s.administration.session: s for s in second.sessions}
            shared = [s for s in first.sessions if s.administration.session in by_session]
            if not shared:
                continue
            numbers = [s.administration.session for s in shared]
            for scale_id in first.questionnaire.scales:
                if scale_id not in second.questionnaire.scales:
                    continue
                values = []
                for s in shared:
                    x = s.score(scale_id)
                    y = by_session[s.administration.session].score(scale_id)
                    values.append((x, y, None if x is None or y is None else x - y))
                trend, judged = judge_gap(
                    first.questionnaire, scale_id, numbers, [g for _, _, g in values]
                )
                out.append(Gap(scale_id, first, second, numbers, values, trend, judged))
    return out
