"""A client's history rescored: every stored administration through the one engine.

Stored administrations keep only answers; scores come from the current definition, scored
as one matrix per questionnaire and respondent. An administration recorded under a different
definition (content hash) is marked, so a corrected key rescoring the past is visible.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from typing import Any

import numpy as np

from alliance_cli import scoring
from alliance_cli.clinic.store import Administration, Answer, NewAdministration, Store, bulk
from alliance_cli.errors import Problem, UsageError, UserError
from alliance_cli.model import Questionnaire
from alliance_cli.result import ScoreReport, report_row


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


def score_series(
    q: Questionnaire, administrations: Sequence[Administration], x: np.ndarray
) -> list[Session]:
    """Score administrations of one questionnaire together (``x``: their answers, a row
    each in the same order), as one matrix."""
    if not administrations:
        return []
    scores = scoring.score_matrix(q, x)
    current = q.content_hash()
    return [
        Session(a, report_row(q, x, scores, r), a.content_hash != current)
        for r, a in enumerate(administrations)
    ]


def client_series(
    store: Store,
    administrations: Sequence[Administration],
    find: Callable[[str], Questionnaire],
    skipped: list[str] | None = None,
) -> list[Series]:
    """A client's stored administrations (their answers need not be read: they are read
    here as one matrix per questionnaire and scored once, :mod:`~.store.bulk`) as one
    series per questionnaire and respondent, oldest session first.

    ``find`` maps a questionnaire id to its current definition (``Catalog.get``). With a
    ``skipped`` list, administrations whose definition cannot be found or read are left out
    and said there (one removed user definition must not hide a whole history); without one,
    that error is raised."""
    groups: dict[str, list[Administration]] = {}
    for a in administrations:
        groups.setdefault(a.questionnaire_id, []).append(a)
    out = []
    for qid, group in sorted(groups.items()):
        try:
            q = find(qid)
        except UserError as exc:
            if skipped is None:
                raise
            counted = Counter(a.respondent for a in group)
            skipped.extend(
                f"{n} {qid} administration{'s' * (n != 1)} "
                f"({respondent}) left out: {exc.problems[0].message}"
                for respondent, n in sorted(counted.items())
            )
            continue
        ordered = sorted(group, key=lambda a: (a.respondent, a.session, a.id))
        x = bulk.answer_matrix(store, ordered, q.item_ids())
        sessions = score_series(q, ordered, x)
        for respondent, series in groupby(sessions, key=lambda s: s.administration.respondent):
            out.append(Series(q, respondent, list(series)))
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
