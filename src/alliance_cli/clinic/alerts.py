"""Alerts over one client's series of sessions; every alert explains itself.

Each alert names its rule, the session, the numbers behind it and the rule's source. The
rules and their settings live in the definition (``alerts:``; see ``model.AlertRules``) and
run per questionnaire, respondent and watched scale. Direction comes from the scale's
``higher_is``: a "fall" is a change for the worse.

Sources:

* cutoff — the scale's flagged band and its source (SRS below 36: Duncan et al. 2003);
* drop — the definition's threshold and source (SRS: a fall of 1 point, as used by OpenFIT);
* reliable change — Jacobson & Truax (1991), against a reference SD and reliability only (a
  published amount, the definition's norm or the practice's; :func:`change.basis`);
* rupture–repair — adapted from Stiles et al. (2004), J Couns Psychol 51(1); Strauss et al.
  (2006), J Consult Clin Psychol 74(2); Gumz et al. (2012), BMC Med Res Methodol 12:10:
  ipsative (the client's own SD), never below the definition's floor;
* divergence — a client–therapist gap that shifted against the earlier gaps (the
  definition's rule; this project's convention unless it cites another);
* patterns (high then falling, always at the ceiling) — prompts to invite honest feedback
  (Horvath: alliance measures have no standardized cutoffs, so client-relative rules matter).
"""

from __future__ import annotations

import statistics
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass, field
from itertools import pairwise
from typing import Any

from alliance_cli.clinic.change import JACOBSON_TRUAX, baseline_words, basis, n2
from alliance_cli.clinic.divergence import Gap, GapJudgement, floored_sd
from alliance_cli.clinic.history import Series
from alliance_cli.clinic.norms import LocalNorm
from alliance_cli.model import Questionnaire
from alliance_cli.text import fmt_change

RUPTURE_SOURCE = (
    "adapted from Stiles et al. (2004), Strauss et al. (2006) and Gumz et al. (2012) — this "
    "project's adaptation: a fall of more than k SD, SD the larger of the client's own and a "
    "floor (the parameters are in the alert)"
)
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


def alert_order(a: Alert) -> tuple[int, str, str]:
    """The order alerts are listed in: by session, then scale, then rule."""
    return a.session, a.scale or "", a.rule


def series_alerts(
    series: Series, client_sessions: Collection[int] = (), local: Sequence[LocalNorm] = ()
) -> list[Alert]:
    """Every alert the definition's rules find in one series, in session order.

    ``client_sessions`` are the session numbers at which the client has any record; a
    session there without this measure counts as missing too (also before the first or
    after the last of this series). ``local`` are the practice's norms
    (:func:`norms.stored`), a reference for reliable change where the definition has none."""
    q = series.questionnaire
    out: list[Alert] = []
    out += _missing(series, client_sessions)
    for scale_id in q.watched_scales():
        if scale_id not in q.scales:
            continue
        out += _scale_alerts(series, scale_id, local)
    return sorted(out, key=alert_order)


def _scale_alerts(series: Series, scale_id: str, local: Sequence[LocalNorm]) -> list[Alert]:
    q = series.questionnaire
    rules = q.alerts
    scale = q.scales[scale_id]
    sessions = [s.administration.session for s in series.sessions]
    scores = series.scores(scale_id)
    sign = scale.sign
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
                            f"{scale.name} {n2(flag.value)} — {flag.rule}: {flag.message}",
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
                        f"{scale.name} fell {n2(fall)} from session {sessions[i0]} "
                        f"({n2(x0)} → {n2(x1)}); a fall of {n2(rules.drop.at_least)} or more is "
                        "worth raising.",
                        rules.drop.source or "",
                        previous=x0,
                        score=x1,
                        fall=fall,
                        threshold=rules.drop.at_least,
                    )
                )

    if rules.reliable_change.enabled:
        out += _reliable_change(series, scale_id, scored, sign, local, alert)

    if rules.rupture.enabled:
        out += _ruptures(series, scale_id, scored, sign, alert)

    # Percent of the best possible score: POMP towards the better end, so on a
    # higher-is-worse scale the best end (its minimum), not the worst, is "high".
    best = [(i, 100 * (x - lo if sign > 0 else hi - x) / (hi - lo)) for i, x in scored]
    if sign > 0:
        high, of, top = "high", "the maximum", f"the ceiling in all {len(scored)} sessions"
        fallen, very = "fallen", "Very high scores"
    else:
        high, of = "at the best end", "the best possible"
        top = f"the best end of the scale in all {len(scored)} sessions"
        fallen, very = "worsened", "Scores this good"
    h = rules.high_then_falling
    if h.enabled and len(scored) > h.falls and best[0][1] >= h.high_pomp:
        run = 0
        for (_, x0), (i1, x1) in pairwise(scored):
            run = run + 1 if sign * (x0 - x1) > 1e-9 else 0
            if run == h.falls:
                out.append(
                    alert(
                        "high_then_falling",
                        i1,
                        f"{scale.name} started {high} ({n2(best[0][1])}% of {of}) and has "
                        f"{fallen} {h.falls} sessions in a row (now {n2(x1)}). Worth inviting "
                        "honest feedback about what has changed.",
                        PATTERN_SOURCE,
                        "prompt",
                        first_pomp=best[0][1],
                        falls=h.falls,
                        score=x1,
                    )
                )
                break
    c = rules.ceiling
    if c.enabled and len(scored) >= c.min_sessions and all(p >= c.pomp for _, p in best):
        end = hi if sign > 0 else lo
        out.append(
            alert(
                "ceiling",
                scored[-1][0],
                f"{scale.name} has been at {top} (≥ {n2(c.pomp)}% of {of}"
                f"{' ' if sign > 0 else ', '}{n2(end)}). {very} every time can hide problems; "
                "invite honest, even critical, feedback.",
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
    local: Sequence[LocalNorm],
    alert: Any,
) -> list[Alert]:
    """A reliable fall of each later session from the mean of the first
    ``baseline_sessions``, against the reference :func:`change.basis` chooses."""
    q = series.questionnaire
    scale = q.scales[scale_id]
    rule = q.alerts.reliable_change
    if len(scored) <= rule.baseline_sessions:
        return []
    ref = basis(q, scale_id, series.respondent, local)
    if isinstance(ref, str):
        return [
            alert(
                "reliable_change",
                scored[-1][0],
                f"reliable change of {scale.name} not computed, because {ref}.",
                JACOBSON_TRUAX,
                "info",
            )
        ]
    baseline = statistics.fmean(x for _, x in scored[: rule.baseline_sessions])
    n_base = rule.baseline_sessions
    sessions = [s.administration.session for s in series.sessions]
    first = baseline_words([sessions[i] for i, _ in scored[:n_base]])
    out: list[Alert] = []
    for i, x in scored[n_base:]:
        reliable, rci = ref.reliable(x - baseline)
        if not reliable or sign * (x - baseline) >= 0:
            continue
        fall = sign * (baseline - x)
        how = (
            f"{n2(fall)} points, at least the published {n2(ref.points or 0)}"
            if rci is None
            else f"RCI {n2(rci)}, beyond ±{n2(ref.z)}; {ref.text}"
        )
        out.append(
            alert(
                "reliable_change",
                i,
                f"{scale.name} {n2(x)} is a reliable fall from the baseline {n2(baseline)} "
                f"({first}): {how}.",
                ref.source,
                baseline=baseline,
                score=x,
                fall=fall,
                rci=rci,
                reference=ref.text,
                **ref.numbers(),
            )
        )
    return out


def _ruptures(
    series: Series,
    scale_id: str,
    scored: list[tuple[int, float]],
    sign: float,
    alert: Any,
) -> list[Alert]:
    """Rupture–repair episodes (see :class:`model.RuptureAlert`): ipsative, the SD from
    :func:`divergence.floored_sd` of the sessions before the fall."""
    q = series.questionnaire
    scale = q.scales[scale_id]
    rule = q.alerts.rupture
    lo, hi = q.scale_range(scale_id)
    session_of = [s.administration.session for s in series.sessions]
    out: list[Alert] = []
    for n in range(1, len(scored)):
        (_, before), (i, x) = scored[n - 1], scored[n]
        fall = sign * (before - x)
        # The SD of the sessions before the fall only, so a rupture once named stays named.
        sd, sd_from, own, floor = floored_sd([v for _, v in scored[:n]], rule, lo, hi)
        if fall <= rule.k * sd:
            continue
        target = before - sign * rule.tolerance_sd * sd

        def back(j: int, y: float, target: float = target) -> bool:
            return sign * (y - target) >= -1e-9

        window = scored[n + 1 : n + 1 + rule.repair_within]
        repaired_at = next((j for j, y in window if back(j, y)), None)
        late = next((j for j, y in scored[n + 1 + rule.repair_within :] if back(j, y)), None)
        returned_at = repaired_at if repaired_at is not None else late
        if repaired_at is not None:
            status = f"repaired at session {session_of[repaired_at]}"
        elif len(window) < rule.repair_within:
            left = rule.repair_within - len(window)
            status = f"not repaired yet (watch the next {left} session{'s' * (left > 1)})"
        elif late is not None:
            status = (
                f"returned at session {session_of[late]}, after the {rule.repair_within}-session "
                "window"
            )
        else:
            status = f"not repaired within {rule.repair_within} sessions"
        out.append(
            alert(
                "rupture",
                i,
                f"possible rupture: {scale.name} fell {n2(fall)} ({n2(before)} → {n2(x)}), more "
                f"than {n2(rule.k)} SD (SD {n2(sd)} from {sd_from}); repaired means back to "
                f"{n2(target)} within {rule.repair_within} sessions; {status}.",
                rule.source or RUPTURE_SOURCE,
                "info" if repaired_at is not None else "concern",
                previous=before,
                score=x,
                fall=fall,
                sd=sd,
                sd_source=sd_from,
                client_sd=own,
                floor=floor,
                k=rule.k,
                repair_target=target,
                repair_within=rule.repair_within,
                repaired=repaired_at is not None,
                returned_at=None if returned_at is None else session_of[returned_at],
                status=status,
            )
        )
    return out


def gap_alerts(gap: Gap) -> list[Alert]:
    """A client–therapist gap that shifted beyond the definition's ``divergence`` rule (see
    :func:`divergence.gaps`): towards the client rating worse, a possible rupture the therapist
    did not see (a concern); the other way, a prompt to ask what the therapist sees."""
    q = gap.first.questionnaire
    if gap.scale not in q.watched_scales():
        return []
    return [_gap_alert(gap, j) for j in gap.judged if j.beyond]


def _gap_alert(gap: Gap, j: GapJudgement) -> Alert:
    q = gap.first.questionnaire
    scale = q.scales[gap.scale]
    sign = scale.sign
    who_a, who_b = gap.first.respondent, gap.second.respondent
    worse = sign * j.shift < 0
    if worse:
        what = f"possible rupture the {who_b} did not see"
    else:
        what = f"the {who_b} now rates {scale.name} worse than the {who_a} does, relative to before"
    flip = " (the sign flipped)" if j.latest * j.earlier_mean < 0 else ""
    message = (
        f"Session {j.session}: {what}: {scale.name} gap ({who_a} − {who_b}) "
        f"{fmt_change(j.latest)} against {fmt_change(round(j.earlier_mean, 2))} on average in "
        f"{j.earlier} earlier session{'s' * (j.earlier > 1)}{flip}, a shift of "
        f"{fmt_change(round(j.shift, 2))}, more than {n2(j.k)} SD (SD {n2(j.sd)} from "
        f"{j.sd_source})."
    )
    if not worse:
        message += f" Worth asking what the {who_b} sees."
    return Alert(
        "divergence",
        "concern" if worse else "prompt",
        q.id,
        who_a,
        gap.scale,
        j.session,
        message,
        j.source,
        {
            "gap": j.latest,
            "earlier_mean": j.earlier_mean,
            "shift": j.shift,
            "sd": j.sd,
            "sd_source": j.sd_source,
            "k": j.k,
            "with": gap.second.questionnaire.id,
        },
    )


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
