"""A client's overview: every series with its alerts, client-vs-therapist gaps and means per
clinician and modality — what ``alliance history`` shows and the HTML report draws."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .alertgroups import group_alerts
from .alerts import Alert, series_alerts
from .history import Gap, Series, client_series, gaps, means_by, score_series
from .model import Questionnaire
from .store import Administration, Store


@dataclass(frozen=True)
class Watched:
    series: Series
    alerts: list[Alert]

    def to_dict(self) -> dict[str, Any]:
        q = self.series.questionnaire
        return self.series.to_dict() | {
            "alerts": [a.to_dict() for a in self.alerts],
            "alert_groups": [g.to_dict() for g in group_alerts(q, self.alerts)],
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
    """Everything recorded for a client (optionally one questionnaire and its partner, such
    as WAI-SR with WAI-SR-T), rescored, with alerts and comparisons. Administrations whose
    definition is gone are left out and listed in ``skipped``."""
    skipped: list[str] = []
    all_series = client_series(store.history(client), find, skipped)
    if questionnaire is not None:
        partner = find(questionnaire).compare_with
        all_series = [
            s
            for s in all_series
            if questionnaire in (s.questionnaire.id, s.questionnaire.compare_with)
            or s.questionnaire.id == partner
        ]
    sessions = {x.administration.session for s in all_series for x in s.sessions}
    watched = [Watched(s, series_alerts(s, sessions)) for s in all_series]
    return Overview(client, watched, gaps(all_series), skipped)


@dataclass(frozen=True)
class SessionView:
    """One recorded session against the respondent's earlier ones, with its alerts."""

    series: Series
    alerts: list[Alert]


def session_view(store: Store, q: Questionnaire, saved: Administration) -> SessionView:
    """What a clinician sees right after recording: the questionnaire's sessions for this
    respondent (this one included) and the alerts that fire at this session."""
    earlier = [a for a in store.history(saved.client, q.id) if a.respondent == saved.respondent]
    series = Series(q, saved.respondent, score_series(q, earlier))
    return SessionView(series, [a for a in series_alerts(series) if a.session == saved.session])
