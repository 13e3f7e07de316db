"""A client's overview: every series with its alerts, client-vs-therapist gaps and means per
clinician and modality — what ``alliance history`` shows and the HTML report draws."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .alerts import Alert, series_alerts
from .history import Gap, Series, client_series, gaps, means_by
from .model import Questionnaire
from .store import Store


@dataclass(frozen=True)
class Watched:
    series: Series
    alerts: list[Alert]

    def to_dict(self) -> dict[str, Any]:
        q = self.series.questionnaire
        return self.series.to_dict() | {
            "alerts": [a.to_dict() for a in self.alerts],
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "client": self.client,
            "series": [w.to_dict() for w in self.watched],
            "comparisons": [g.to_dict() for g in self.gaps],
        }


def client_overview(
    store: Store,
    client: str,
    find: Callable[[str], Questionnaire],
    questionnaire: str | None = None,
) -> Overview:
    """Everything recorded for a client (optionally one questionnaire and its partner, such
    as WAI-SR with WAI-SR-T), rescored, with alerts and comparisons."""
    administrations = store.history(client)
    if questionnaire is not None:
        keep = {questionnaire}
        q = find(questionnaire)
        if q.compare_with:
            keep.add(q.compare_with)
        keep |= {
            a.questionnaire_id
            for a in administrations
            if find(a.questionnaire_id).compare_with == questionnaire
        }
        administrations = [a for a in administrations if a.questionnaire_id in keep]
    all_series = client_series(administrations, find)
    return Overview(client, [Watched(s, series_alerts(s)) for s in all_series], gaps(all_series))
