"""A client's overview: every series with its alerts, client-vs-therapist gaps and means per
clinician and modality — what ``alliance history`` shows and the HTML report draws."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from alliance_cli.clinic.alertgroups import group_alerts
from alliance_cli.clinic.alerts import Alert, alert_order, gap_alerts, series_alerts
from alliance_cli.clinic.change import ClinicalChange, clinical_change
from alliance_cli.clinic.divergence import Gap, gaps
from alliance_cli.clinic.history import Series, client_series, date_warnings, means_by, record
from alliance_cli.clinic.norms import LocalNorm, stored
from alliance_cli.clinic.store import Administration, Store
from alliance_cli.errors import NotFoundError, Problem
from alliance_cli.model import Questionnaire
from alliance_cli.result import ScoreReport


@dataclass(frozen=True)
class Watched:
    series: Series
    alerts: list[Alert]
    clinical_change: list[ClinicalChange] = field(default_factory=list)
    """Baseline → latest per watched scale with a cutoff and a reliable-change reference
    (Jacobson & Truax: recovered, improved, unchanged, deteriorated)."""

    def to_dict(self) -> dict[str, Any]:
        q = self.series.questionnaire
        return self.series.to_dict() | {
            "alerts": [a.to_dict() for a in self.alerts],
            "alert_groups": [g.to_dict() for g in group_alerts(q, self.alerts)],
            "clinical_change": [c.to_dict() for c in self.clinical_change],
            "means": {
                scale_id: {
                    key: {
                        k: {"mean": m, "sessions": n}
                        for k, (m, n) in means_by(self.series, scale_id, key).items()
                    }
                    for key in ("clinician", "modality")
                }
                for scale_id in q.watched_scales()
            },
        }


@dataclass(frozen=True)
class Overview:
    client: str
    watched: list[Watched]
    gaps: list[Gap]
    skipped: list[str]
    """Administrations left out because their definition could not be found or read."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "client": self.client,
            "series": [w.to_dict() for w in self.watched],
            "comparisons": [g.to_dict() for g in self.gaps],
            "skipped": self.skipped,
        }


def client_overview(
    store: Store,
    client: str,
    find: Callable[[str], Questionnaire],
    questionnaire: str | None = None,
) -> Overview:
    """Everything recorded for a client (optionally one questionnaire, by id or alias, and
    its partner, such as WAI-SR with WAI-SR-T), rescored, with alerts and comparisons.
    Administrations whose definition is gone are left out and listed in ``skipped``."""
    wanted = find(questionnaire) if questionnaire is not None else None
    skipped: list[str] = []
    all_series = client_series(store, store.history(client, answers=False), find, skipped)
    if wanted is not None:
        all_series = [
            s
            for s in all_series
            if wanted.id in (s.questionnaire.id, s.questionnaire.compare_with)
            or s.questionnaire.id == wanted.compare_with
        ]
    sessions = {x.administration.session for s in all_series for x in s.sessions}
    local = stored(store)
    found = gaps(all_series)
    watched = [
        Watched(
            s,
            sorted(
                series_alerts(s, sessions, local)
                + [a for g in found if g.first is s for a in gap_alerts(g)],
                key=alert_order,
            ),
            changes(s, local),
        )
        for s in all_series
    ]
    return Overview(store.find_client(client) or client, watched, found, skipped)


def changes(series: Series, local: Sequence[LocalNorm] = ()) -> list[ClinicalChange]:
    """Clinically significant change of each watched scale that has one."""
    q = series.questionnaire
    found = (clinical_change(series, sid, local) for sid in q.watched_scales() if sid in q.scales)
    return [c for c in found if c is not None]


@dataclass(frozen=True)
class SessionView:
    """One recorded session against the respondent's earlier ones, with its alerts."""

    series: Series
    alerts: list[Alert]
    """The alerts at the session just recorded (told below the sessions)."""
    marked: list[Alert] = field(default_factory=list)
    """Every alert of the series (the earlier sessions' marks, as ``history`` shows them)."""


def session_view(
    store: Store,
    q: Questionnaire,
    saved: Administration,
    find: Callable[[str], Questionnaire] | None = None,
) -> SessionView:
    """What a clinician sees right after recording: the questionnaire's sessions for this
    respondent (this one included) and the alerts at this session — exactly those
    :func:`client_overview` gives (the client's other records make a missing session, a
    partner's form a client–therapist gap), the ones about this questionnaire and
    respondent. ``find`` gives the client's other definitions (``Catalog.get``); without it
    only ``q`` is known."""

    def lookup(qid: str) -> Questionnaire:
        if qid == q.id:
            return q
        if find is None:
            raise NotFoundError(Problem("unknown-questionnaire", f"{qid} is not looked up"))
        return find(qid)

    overview = client_overview(store, saved.client, lookup)
    [mine] = [
        w
        for w in overview.watched
        if (w.series.questionnaire.id, w.series.respondent) == (q.id, saved.respondent)
    ]
    # A gap's alert sits with the client's series; it is about this form too when this
    # series is the gap's other side.
    partners = [g for g in overview.gaps if g.second is mine.series]
    every = [*mine.alerts, *(a for g in partners for a in gap_alerts(g))]
    found = [a for a in every if a.session == saved.session]
    return SessionView(mine.series, sorted(found, key=alert_order), every)


@dataclass(frozen=True)
class Filed:
    """A score filed in a client's history, and what the clinician is shown about it."""

    saved: Administration
    view: SessionView
    warnings: list[str]
    """About its date (before an earlier session's, far in the past): shown on stderr."""

    def to_dict(self) -> dict[str, object]:
        """The ``recorded`` part of ``score --json``."""
        saved = self.saved
        return {
            "administration": saved.id,
            "client": saved.client,
            "session": saved.session,
            "respondent": saved.respondent,
            "warnings": self.warnings,
        }


def file_score(
    store: Store,
    q: Questionnaire,
    report: ScoreReport,
    find: Callable[[str], Questionnaire],
    **details: Any,
) -> Filed:
    """Record ``report`` (:func:`~alliance_cli.clinic.history.record`, with its ``details``)
    and return it with the session's view and the warnings about its date."""
    saved = record(store, q, report, **details)
    return Filed(saved, session_view(store, q, saved, find), date_warnings(store, saved))
