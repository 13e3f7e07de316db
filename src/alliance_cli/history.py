"""A client's history rescored: every stored administration through the one engine.

Stored administrations keep only answers; scores come from the current definition, scored
as one matrix per questionnaire and respondent. An administration recorded under a different
definition (content hash) is marked, so a corrected key rescoring the past is visible.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from . import scoring
from .errors import Problem, UsageError, UserError
from .model import Questionnaire, fmt_num
from .result import ScoreReport, report_row
from .store import Administration, Answer, NewAdministration, Store


@dataclass(frozen=True)
class Session:
    administration: Administration
    report: ScoreReport
    definition_changed: bool
    """True when the answers were recorded under a definition with another content hash."""

    def score(self, scale_id: str) -> float | None:
        return next(s.score for s in self.report.scales if s.id == scale_id)


@dataclass(frozen=True)
class Series:
    """One questionnaire as answered by one respondent, session by session."""

    questionnaire: Questionnaire
    respondent: str
    sessions: list[Session]

    def scores(self, scale_id: str) -> list[float | None]:
        return [s.score(scale_id) for s in self.sessions]

    def changes(self, scale_id: str) -> list[float | None]:
        """Change against the previous session that has a score (None for the first)."""
        out: list[float | None] = []
        previous: float | None = None
        for value in self.scores(scale_id):
            out.append(None if value is None or previous is None else value - previous)
            if value is not None:
                previous = value
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "questionnaire": self.questionnaire.id,
            "respondent": self.respondent,
            "sessions": [
                {
                    "administration": s.administration.id,
                    "session": s.administration.session,
                    "date": s.administration.administered_at,
                    "respondent": s.administration.respondent,
                    "clinician": s.administration.clinician,
                    "modality": s.administration.modality,
                    "note": s.administration.note,
                    "definition_changed": s.definition_changed,
                    "recorded_version": s.administration.questionnaire_version,
                    "scales": [
                        sc.to_dict() | {"change": self.changes(sc.id)[i]} for sc in s.report.scales
                    ],
                    "flags": [f.to_dict() for f in s.report.flags],
                }
                for i, s in enumerate(self.sessions)
            ],
        }


def score_series(q: Questionnaire, administrations: Sequence[Administration]) -> list[Session]:
    """Score administrations of one questionnaire together, oldest first."""
    if not administrations:
        return []
    ids = q.item_ids()
    x = np.array([a.values(ids) for a in administrations], dtype=np.float64)
    scores = scoring.score_matrix(q, x)
    current = q.content_hash()
    return [
        Session(a, report_row(q, x, scores, r), a.content_hash != current)
        for r, a in enumerate(administrations)
    ]


def client_series(
    administrations: Sequence[Administration],
    find: Callable[[str], Questionnaire],
    skipped: list[str] | None = None,
) -> list[Series]:
    """Group a client's administrations by questionnaire and respondent and score each group.

    ``find`` maps a questionnaire id to its current definition (``Catalog.get``). With a
    ``skipped`` list, administrations whose definition cannot be found or read are left out
    and said there (one removed user definition must not hide a whole history); without one,
    that error is raised."""
    groups: dict[tuple[str, str], list[Administration]] = {}
    for a in administrations:
        groups.setdefault((a.questionnaire_id, a.respondent), []).append(a)
    out = []
    for (qid, respondent), items in sorted(groups.items()):
        try:
            q = find(qid)
        except UserError as exc:
            if skipped is None:
                raise
            skipped.append(
                f"{len(items)} {qid} administration{'s' * (len(items) != 1)} "
                f"({respondent}) left out: {exc.problems[0].message}"
            )
            continue
        ordered = sorted(items, key=lambda a: (a.session, a.id))
        out.append(Series(q, respondent, score_series(q, ordered)))
    return out


_WHEN = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2})?)?$")


def parse_when(text: str | None) -> str:
    """An administration date: ``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM`` (local time); today
    when absent. A date that does not exist (``2026-02-30``) or lies in the future is
    refused: a session cannot have taken place then."""
    now = datetime.now()
    if text is None:
        return now.date().isoformat()
    if not _WHEN.match(text.strip()):
        raise UsageError(Problem("date", f'date "{text}" is not YYYY-MM-DD or YYYY-MM-DDTHH:MM'))
    text = text.strip()
    for what, part in (("date", text[:10]), ("time", text)):
        try:
            when = datetime.fromisoformat(part)
        except ValueError:
            raise UsageError(Problem("date", f'date "{text}": no such {what}')) from None
    if when > now:
        raise UsageError(Problem("date", f'date "{text}" is in the future'))
    return when.date().isoformat() if len(text) == 10 else when.isoformat(timespec="minutes")


def date_warnings(store: Store, saved: Administration) -> list[str]:
    """Warnings about a recorded administration's date: sessions numbered before it but
    dated after it, or numbered after it but dated before it (same client, questionnaire
    and respondent) — a mistyped date or session number that would misorder the history."""
    day = saved.administered_at[:10]
    clashes = []
    for other in store.history(saved.client, saved.questionnaire_id):
        if other.respondent != saved.respondent or other.id == saved.id:
            continue
        other_day = other.administered_at[:10]
        if (other.session < saved.session and other_day > day) or (
            other.session > saved.session and other_day < day
        ):
            clashes.append(f"session {other.session} is dated {other_day}")
    if not clashes:
        return []
    if len(clashes) > 3:  # one warning, however many sessions it contradicts
        clashes = [*clashes[:2], f"{len(clashes) - 2} more sessions too"]
    return [
        f"session {saved.session} of {saved.questionnaire_id} ({saved.respondent}) is dated "
        f"{day}, but {', '.join(clashes)}; check the date and the session number"
    ]


def record(
    store: Store,
    q: Questionnaire,
    report: ScoreReport,
    *,
    client: str,
    session: int | None = None,
    when: str | None = None,
    respondent: str | None = None,
    clinician: str | None = None,
    modality: str | None = None,
    note: str | None = None,
    replaces: int | None = None,
    new_client: bool = False,
) -> Administration:
    """Store a scored administration: its item-level answers and where it belongs.

    A re-entry (``replaces``) keeps the replaced record's date, session, respondent,
    clinician, modality and note unless new ones are given."""
    answers = [Answer(a.item, a.value, a.state) for a in report.answers]
    administered_at = parse_when(when) if when is not None or replaces is None else None
    if replaces is not None:
        old = store.administration(replaces)
        session = session or old.session
        administered_at = administered_at or old.administered_at
        respondent = respondent or old.respondent
        clinician = old.clinician if clinician is None else clinician
        modality = old.modality if modality is None else modality
        note = old.note if note is None else note
    assert administered_at is not None
    return store.save(
        NewAdministration(
            client=client,
            questionnaire_id=q.id,
            questionnaire_version=q.version,
            content_hash=q.content_hash(),
            answers=answers,
            respondent=respondent or q.respondent.value,
            administered_at=administered_at,
            session=session,
            clinician=clinician,
            modality=modality,
            note=note,
            replaces=replaces,
            new_client=new_client,
        )
    )


@dataclass(frozen=True)
class GapJudgement:
    """One session's gap against the earlier ones, by the first definition's ``divergence``
    rule: a shift of more than ``k`` SD from their mean, SD the larger of the earlier gaps'
    own and the rule's floor."""

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
    ``stable`` (within the rule) or ``not judged`` (fewer than two gaps, or the rule off)."""
    judged: list[GapJudgement] = field(default_factory=list)
    """Each shared session's gap from the second on, against the ones before it."""

    @property
    def judgement(self) -> GapJudgement | None:
        """The latest gap's judgement (what ``trend`` speaks of)."""
        return self.judged[-1] if self.judged else None

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
        return pattern or "stable", judged
    if j.latest * j.earlier_mean < 0:
        return "reversed", judged
    return ("widening" if abs(j.latest) > abs(j.earlier_mean) else "narrowing"), judged


def _judge(q: Questionnaire, scale_id: str, known: list[tuple[int, float]]) -> GapJudgement:
    """The last of ``known`` (session, gap) against the ones before it: beyond when it
    shifts more than k SD from their mean, SD the larger of theirs and the rule's floor."""
    rule = q.alerts.divergence
    earlier = [g for _, g in known[:-1]]
    session, latest = known[-1]
    lo, hi = q.scale_range(scale_id)
    floor = rule.min_sd_share * (hi - lo)
    own = statistics.stdev(earlier) if len(earlier) >= rule.own_sd_min else None
    if own is not None and own > floor:
        sd, sd_source = own, f"the {len(earlier)} earlier gaps"
    else:
        sd = floor
        sd_source = f"the floor of {fmt_num(round(rule.min_sd_share * 100, 2))}% of the range"
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


def means_by(series: Series, scale_id: str, key: str) -> dict[str, tuple[float, int]]:
    """Mean score and number of sessions per clinician or modality (``key``); sessions
    without that detail or without a score are left out."""
    groups: dict[str, list[float]] = {}
    for s in series.sessions:
        label = getattr(s.administration, key)
        value = s.score(scale_id)
        if label and value is not None:
            groups.setdefault(label, []).append(value)
    return {k: (sum(v) / len(v), len(v)) for k, v in sorted(groups.items())}
