"""Alerts over one client's series of sessions; every alert explains itself.

Each alert names its rule, the session, the numbers behind it and the rule's source. The
rules and their settings live in the definition (``alerts:``; see ``model.AlertRules``) and
run per questionnaire, respondent and watched scale. Direction comes from the scale's
``higher_is``: a "fall" is a change for the worse.

Sources:

* cutoff — the scale's flagged band and its source (SRS below 36: Duncan et al. 2003);
* drop — the definition's threshold and source (SRS: a fall of 1 point, as used by OpenFIT);
* reliable change — Jacobson, N. S., & Truax, P. (1991). Clinical significance: a statistical
  approach to defining meaningful change in psychotherapy research. J Consult Clin Psychol,
  59(1), 12–19: SE = SD √(1 − r), S_diff = √2 SE, RCI = (x₂ − x₁) / S_diff;
* rupture–repair — adapted from Stiles et al. (2004), J Couns Psychol 51(1); Strauss et al.
  (2006), J Consult Clin Psychol 74(2); Gumz et al. (2012), BMC Med Res Methodol 12:10 (SD the
  larger of the client's own and the norm's);
* patterns (high then falling, always at the ceiling) — prompts to invite honest feedback
  (Horvath: alliance measures have no standardized cutoffs, so client-relative rules matter).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from itertools import pairwise
from typing import Any

from .history import Series
from .model import Direction, Questionnaire, fmt_num

JACOBSON_TRUAX = "Jacobson & Truax (1991), J Consult Clin Psychol 59(1), 12–19"
RUPTURE_SOURCE = "adapted from Stiles et al. (2004), Strauss et al. (2006) and Gumz et al. (2012)"
PATTERN_SOURCE = (
    "pattern prompt: alliance measures have no standardized cutoffs and are ceiling-prone "
    "(Horvath); very high or slipping scores are worth an honest conversation"
)


@dataclass(frozen=True)
class Alert:
    rule: str
    """cutoff, drop, reliable_change, rupture, high_then_falling, ceiling, missing."""
    kind: str
    """``concern`` (worth raising), ``prompt`` (invite feedback; not a problem as such) or
    ``info`` (a repaired rupture)."""
    questionnaire: str
    respondent: str
    scale: str | None
    session: int
    message: str
    source: str
    numbers: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _n(x: float) -> str:
    return fmt_num(round(x, 2))


def series_alerts(series: Series, client_sessions: Collection[int] = ()) -> list[Alert]:
    """Every alert the definition's rules find in one series, in session order.

    ``client_sessions`` are the session numbers at which the client has any record; a
    session there without this measure counts as missing too (also before the first or
    after the last of this series)."""
    q = series.questionnaire
    out: list[Alert] = []
    out += _missing(series, client_sessions)
    for scale_id in q.watched_scales():
        if scale_id not in q.scales:
            continue
        out += _scale_alerts(series, scale_id)
    return sorted(out, key=lambda a: (a.session, a.scale or "", a.rule))


def _scale_alerts(series: Series, scale_id: str) -> list[Alert]:
    q = series.questionnaire
    rules = q.alerts
    scale = q.scales[scale_id]
    sessions = [s.administration.session for s in series.sessions]
    scores = series.scores(scale_id)
    sign = 1.0 if scale.higher_is is Direction.better else -1.0
    lo, hi = q.scale_range(scale_id)

    def alert(
        rule: str, i: int, message: str, source: str, kind: str = "concern", **numbers: Any
    ) -> Alert:
        return Alert(
            rule,
            kind,
            q.id,
            series.respondent,
            scale_id,
            sessions[i],
            f"Session {sessions[i]}: {message}",
            source,
            numbers,
        )

    out: list[Alert] = []
    # The client's scores so far, as (index, score) pairs with a score.
    scored = [(i, x) for i, x in enumerate(scores) if x is not None]

    if rules.cutoff.enabled:
        for i, sess in enumerate(series.sessions):
            for flag in sess.report.flags:
                if flag.kind == "band" and flag.scale == scale_id:
                    out.append(
                        alert(
                            "cutoff",
                            i,
                            f"{scale.name} {_n(flag.value)} — {flag.rule}: {flag.message}",
                            flag.source,
                            score=flag.value,
                            band=flag.id,
                        )
                    )

    if rules.drop.at_least is not None:
        for (i0, x0), (i1, x1) in pairwise(scored):
            fall = sign * (x0 - x1)
            if fall >= rules.drop.at_least - 1e-9:
                out.append(
                    alert(
                        "drop",
                        i1,
                        f"{scale.name} fell {_n(fall)} from session {sessions[i0]} "
                        f"({_n(x0)} → {_n(x1)}); a fall of {_n(rules.drop.at_least)} or more is "
                        "worth raising.",
                        rules.drop.source or "",
                        previous=x0,
                        score=x1,
                        fall=fall,
                        threshold=rules.drop.at_least,
                    )
                )

    norm_sd = next((n.sd for n in scale.norms if n.sd is not None), None)
    if rules.reliable_change.enabled:
        out += _reliable_change(series, scale_id, scored, sign, norm_sd, alert)

    if rules.rupture.enabled:
        out += _ruptures(series, scale_id, scored, sign, norm_sd, alert)

    span = hi - lo
    pomp = [(i, 100 * (x - lo) / span) for i, x in scored]
    h = rules.high_then_falling
    if h.enabled and len(scored) > h.falls and pomp[0][1] >= h.high_pomp:
        run = 0
        for (_, x0), (i1, x1) in pairwise(scored):
            run = run + 1 if sign * (x0 - x1) > 1e-9 else 0
            if run == h.falls:
                out.append(
                    alert(
                        "high_then_falling",
                        i1,
                        f"{scale.name} started high ({_n(pomp[0][1])}% of "
                        f"the maximum) and has fallen {h.falls} sessions in a row (now {_n(x1)}). "
                        "Worth inviting honest feedback about what has changed.",
                        PATTERN_SOURCE,
                        "prompt",
                        first_pomp=pomp[0][1],
                        falls=h.falls,
                        score=x1,
                    )
                )
                break
    c = rules.ceiling
    if c.enabled and len(scored) >= c.min_sessions and all(p >= c.pomp for _, p in pomp):
        top = hi if sign > 0 else lo
        out.append(
            alert(
                "ceiling",
                scored[-1][0],
                f"{scale.name} has been at the ceiling in all "
                f"{len(scored)} sessions (≥ {_n(c.pomp)}% of the maximum {_n(top)}). Very high "
                "scores every time can hide problems; invite honest, even critical, feedback.",
                PATTERN_SOURCE,
                "prompt",
                sessions=len(scored),
                threshold_pomp=c.pomp,
            )
        )
    return out


def _reliable_change(
    series: Series,
    scale_id: str,
    scored: list[tuple[int, float]],
    sign: float,
    norm_sd: float | None,
    alert: Any,
) -> list[Alert]:
    """RCI of each later session against the mean of the first ``baseline_sessions``."""
    q = series.questionnaire
    scale = q.scales[scale_id]
    rule = q.alerts.reliable_change
    if len(scored) <= rule.baseline_sessions:
        return []
    baseline = statistics.fmean(x for _, x in scored[: rule.baseline_sessions])
    later = list(enumerate(scored[rule.baseline_sessions :], start=rule.baseline_sessions))
    first = f"first {rule.baseline_sessions} session{'s' * (rule.baseline_sessions > 1)}"
    out: list[Alert] = []
    if rule.points is not None:
        for _, (i, x) in later:
            fall = sign * (baseline - x)
            if fall >= rule.points - 1e-9:
                out.append(
                    alert(
                        "reliable_change",
                        i,
                        f"{scale.name} {_n(x)} is a reliable fall from the "
                        f"baseline {_n(baseline)} ({first}): {_n(fall)} points, at least the "
                        f"published {_n(rule.points)}.",
                        rule.source or "",
                        baseline=baseline,
                        score=x,
                        fall=fall,
                        points=rule.points,
                    )
                )
        return out
    reliability = next((n.reliability for n in scale.norms if n.reliability is not None), None)
    if reliability is None:
        i = later[-1][1][0]
        return [
            alert(
                "reliable_change",
                i,
                f"reliable change of {scale.name} not computed: the "
                f"{q.id} definition gives no reliability (add a norm with `reliability`, or a "
                "published amount as `alerts.reliable_change.points`).",
                JACOBSON_TRUAX,
                "info",
            )
        ]
    for n, (i, x) in later:
        if norm_sd is not None:
            sd, sd_source = norm_sd, "the definition's norm"
        else:
            earlier = [v for _, v in scored[:n]]
            if len(earlier) < rule.own_sd_min or statistics.stdev(earlier) == 0:
                continue
            sd, sd_source = statistics.stdev(earlier), "the client's own earlier scores"
        s_diff = math.sqrt(2) * sd * math.sqrt(1 - reliability)
        rci = (x - baseline) / s_diff
        if sign * rci < -rule.z:
            out.append(
                alert(
                    "reliable_change",
                    i,
                    f"{scale.name} {_n(x)} is a reliable fall from the "
                    f"baseline {_n(baseline)} (first {rule.baseline_sessions} session"
                    f"{'s' * (rule.baseline_sessions > 1)}): RCI {_n(rci)}, beyond ±{_n(rule.z)}; "
                    f"SD {_n(sd)} from {sd_source}, reliability {_n(reliability)}.",
                    JACOBSON_TRUAX,
                    baseline=baseline,
                    score=x,
                    sd=sd,
                    sd_source=sd_source,
                    reliability=reliability,
                    s_diff=s_diff,
                    rci=rci,
                    z=rule.z,
                )
            )
    return out


def _ruptures(
    series: Series,
    scale_id: str,
    scored: list[tuple[int, float]],
    sign: float,
    norm_sd: float | None,
    alert: Any,
) -> list[Alert]:
    q = series.questionnaire
    scale = q.scales[scale_id]
    rule = q.alerts.rupture
    lo, hi = q.scale_range(scale_id)
    fallback = rule.fallback_sd_share * (hi - lo)
    out: list[Alert] = []
    for n in range(1, len(scored)):
        (_, before), (i, x) = scored[n - 1], scored[n]
        fall = sign * (before - x)
        # SD from the sessions before the fall only (Gumz et al.: the larger of the client's
        # own and the sample's), so a rupture once named stays named.
        earlier = [v for _, v in scored[:n]]
        own = statistics.stdev(earlier) if len(earlier) >= rule.own_sd_min else None
        if norm_sd is not None:
            sample, sample_from = norm_sd, "the definition's norm"
        else:
            share = _n(rule.fallback_sd_share * 100)
            sample, sample_from = fallback, f"{share}% of the scale's range (no norm SD)"
        if own is not None and own > sample:
            sd, sd_from = own, "the client's own earlier scores"
        else:
            sd, sd_from = sample, sample_from
        if fall <= rule.k * sd:
            continue
        target = before - sign * rule.tolerance_sd * sd
        later = scored[n + 1 : n + 1 + rule.repair_within]
        repaired_at = next((j for j, y in later if sign * (y - target) >= -1e-9), None)
        if repaired_at is not None:
            status = f"repaired at session {series.sessions[repaired_at].administration.session}"
        elif len(later) < rule.repair_within:
            status = f"not repaired yet (watch the next {rule.repair_within - len(later)} "
            status += "session" + ("s" if rule.repair_within - len(later) > 1 else "") + ")"
        else:
            status = f"not repaired within {rule.repair_within} sessions"
        sd_text = f"SD {_n(sd)} from {sd_from}"
        out.append(
            alert(
                "rupture",
                i,
                f"possible rupture: {scale.name} fell {_n(fall)} ({_n(before)} → "
                f"{_n(x)}), more than {_n(rule.k)} SD ({sd_text}); {status}.",
                RUPTURE_SOURCE,
                "info" if repaired_at is not None else "concern",
                previous=before,
                score=x,
                fall=fall,
                sd=sd,
                sd_source=sd_from,
                client_sd=own,
                norm_sd=norm_sd,
                k=rule.k,
                repaired=repaired_at is not None,
                status=status,
            )
        )
    return out


def _missing(series: Series, client_sessions: Collection[int]) -> list[Alert]:
    q: Questionnaire = series.questionnaire
    if not q.alerts.missing.enabled:
        return []
    out: list[Alert] = []
    numbers = [s.administration.session for s in series.sessions]
    gaps = {gap: (a, b) for a, b in pairwise(numbers) for gap in range(a + 1, b)}
    for gap in sorted(set(gaps) | (set(client_sessions) - set(numbers))):
        if gap in gaps:
            a, b = gaps[gap]
            why, numbers_ = f"sessions {a} and {b} have one", {"previous": a, "next": b}
        else:
            why, numbers_ = "the client has other records at this session", {}
        out.append(
            Alert(
                "missing",
                "concern",
                q.id,
                series.respondent,
                None,
                gap,
                f"Session {gap}: no {q.id} recorded ({why}).",
                "a session without the alliance measure cannot show a drop",
                numbers_,
            )
        )
    for sess in series.sessions:
        for sc in sess.report.scales:
            if sc.withheld and sc.id in q.watched_scales():
                out.append(
                    Alert(
                        "missing",
                        "concern",
                        q.id,
                        series.respondent,
                        sc.id,
                        sess.administration.session,
                        f"Session {sess.administration.session}: {sc.name} withheld "
                        f"({sc.withheld_reason}).",
                        "the definition's missing-data rule",
                        {"answered": sc.answered, "items": sc.items},
                    )
                )
    return out
