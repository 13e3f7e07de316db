"""The practice's own norms: a reference sample for reliable change, built from the history.

Jacobson & Truax (1991) measure reliable change against the between-person SD of a reference
sample and that sample's reliability. Where a definition publishes no SD (WAI-SR, SRS), the
practice's own intake scores can serve: :func:`build` takes each client's FIRST session of a
questionnaire (per respondent), and per watched scale stores n, mean, between-client SD, the
date range and the reliability it pairs with — the definition's published reliability when
it gives one, else Cronbach's alpha of those same first-session answers (computed as
``alliance reliability`` and R ``psych::alpha`` compute it). Norms hold aggregates only, never
a client code; each keeps when it was built and the definition's content hash.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from .errors import Problem, ResponseError, UsageError
from .history import score_series
from .model import Questionnaire
from .store import Administration, Store, _os_user

DEFAULT_MIN_N = 30
MIN_N_FLOOR = 10
"""The smallest ``min_n`` accepted (this project's rule): fewer clients give an unstable SD,
and a norm of very few clients all but records their scores."""
ALPHA_SOURCE = "Cronbach's alpha of the same first sessions"


@dataclass(frozen=True)
class LocalNorm:
    """One scale's reference values from the practice's clients' first sessions."""

    questionnaire: str
    version: str
    content_hash: str
    scale: str
    respondent: str
    n: int
    mean: float
    sd: float
    first_date: str
    last_date: str
    reliability: float
    reliability_source: str
    """The definition's norm source, or :data:`ALPHA_SOURCE`."""
    min_n: int
    built_at: str
    id: int | None = None

    def describe(self) -> str:
        """``the practice's norm of 2026-12-07, n = 48, clients' first sessions
        2026-01-04…2026-11-30``."""
        return (
            f"the practice's norm of {self.built_at[:10]}, n = {self.n}, clients' first "
            f"sessions {self.first_date}…{self.last_date}"
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def first_sessions(store: Store, q: Questionnaire) -> dict[str, list[Administration]]:
    """Each client's first final administration of ``q`` (lowest session), per respondent."""
    rows = store.select_administrations("a.questionnaire_id = ? AND a.status = 'final'", (q.id,))
    first: dict[tuple[str, str], Administration] = {}
    for a in rows:  # ordered by session, id: the first seen is the first session
        first.setdefault((a.respondent, a.client), a)
    out: dict[str, list[Administration]] = {}
    for (respondent, _), a in sorted(first.items()):
        out.setdefault(respondent, []).append(a)
    return out


def build(
    store: Store,
    q: Questionnaire,
    scales: Sequence[str] | None = None,
    min_n: int = DEFAULT_MIN_N,
    now: datetime | None = None,
    skipped: list[str] | None = None,
) -> list[LocalNorm]:
    """Compute and store a local norm per respondent and scale (default: the watched
    scales) in one transaction; refuse (``UsageError``) naming every scale with fewer than
    ``min_n`` clients for the questionnaire's own respondent, and store nothing then. Other
    respondents with too few are left out and said in ``skipped``."""
    if min_n < MIN_N_FLOOR:
        raise UsageError(
            Problem("min-n", f"a local norm needs at least {MIN_N_FLOOR} clients (not {min_n})")
        )
    chosen = list(dict.fromkeys(scales)) if scales else q.watched_scales()
    unknown = [s for s in chosen if s not in q.scales]
    if unknown:
        raise UsageError(
            Problem(
                "scale",
                f'{q.id} has no scale "{unknown[0]}" (scales: {", ".join(q.scales)})',
            )
        )
    built_at = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    groups = first_sessions(store, q)
    groups.setdefault(q.respondent.value, [])
    norms: list[LocalNorm] = []
    problems: list[Problem] = []
    for respondent, admins in groups.items():
        sessions = score_series(q, admins)
        for scale_id in chosen:
            used = [(s, x) for s in sessions if (x := s.score(scale_id)) is not None]
            who = "" if respondent == q.respondent.value else f" ({respondent})"
            if len(used) < min_n:
                few = _too_few(q, scale_id, who, len(used), len(sessions), min_n)
                # Another respondent's few ratings (a therapist filling in the client form)
                # must not block the questionnaire's own respondent: skipped, and said.
                if respondent == q.respondent.value:
                    problems.append(few)
                elif skipped is not None:
                    skipped.append(few.message + " (no norm for these)")
                continue
            values = [x for _, x in used]
            sd = statistics.stdev(values)
            if sd == 0:
                problems.append(
                    Problem(
                        "norm-flat",
                        f"every first {q.id} session{who} scores {values[0]:g} on "
                        f"{q.scales[scale_id].name}; a norm needs scores that differ",
                    )
                )
                continue
            reliability, r_source = _reliability(q, scale_id, [s for s, _ in used])
            if not 0 < reliability < 1:
                why = (
                    f"is {reliability:.2f}" if reliability == reliability else f"failed: {r_source}"
                )
                problems.append(
                    Problem(
                        "norm-alpha",
                        f"Cronbach's alpha of the first {q.id} sessions{who} on "
                        f"{q.scales[scale_id].name} {why}; reliable change needs a "
                        "reliability between 0 and 1",
                    )
                )
                continue
            dates = sorted(s.administration.administered_at[:10] for s, _ in used)
            norms.append(
                LocalNorm(
                    q.id,
                    q.version,
                    q.content_hash(),
                    scale_id,
                    respondent,
                    len(values),
                    statistics.fmean(values),
                    sd,
                    dates[0],
                    dates[-1],
                    reliability,
                    r_source,
                    min_n,
                    built_at,
                )
            )
    if problems:
        raise UsageError(problems)
    return _save(store, norms)


def _too_few(
    q: Questionnaire, scale_id: str, who: str, scored: int, clients: int, min_n: int
) -> Problem:
    if clients == 0:
        have = f"no client has a first {q.id} session{who}"
    else:
        verb = "has" if clients == 1 else "have"
        have = f"only {clients} client{'s' * (clients != 1)} {verb} a first {q.id} session{who}"
        if scored < clients:
            have += f" ({scored} with a {q.scales[scale_id].name} score)"
    return Problem("norm-too-few", f"{have}; a local norm needs at least {min_n}")


def _reliability(q: Questionnaire, scale_id: str, used: Sequence[Any]) -> tuple[float, str]:
    """The definition's published reliability, else alpha of the same answers (pairwise, as
    ``psych::alpha`` and ``alliance reliability``)."""
    published = next((n for n in q.scales[scale_id].norms if n.reliability is not None), None)
    if published is not None and published.reliability is not None:
        return published.reliability, published.source.rstrip(". ")
    import numpy as np

    from . import psychometrics as pm

    x = np.array([s.administration.values(q.item_ids()) for s in used], dtype=np.float64)
    try:
        return pm.alpha(pm.scale_items(q, scale_id, x).values).raw_alpha, ALPHA_SOURCE
    except ResponseError as exc:  # an item nobody varied on: no alpha
        return float("nan"), "; ".join(p.message for p in exc.problems)


_COLUMNS = (
    "questionnaire_id, questionnaire_version, content_hash, scale, respondent, n, mean, sd,"
    " first_date, last_date, reliability, reliability_source, min_n, built_at"
)


def _save(store: Store, norms: list[LocalNorm]) -> list[LocalNorm]:
    out = []
    with store.transaction() as db:
        for nm in norms:
            cur = db.execute(
                f"INSERT INTO norms ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    nm.questionnaire,
                    nm.version,
                    nm.content_hash,
                    nm.scale,
                    nm.respondent,
                    nm.n,
                    nm.mean,
                    nm.sd,
                    nm.first_date,
                    nm.last_date,
                    nm.reliability,
                    nm.reliability_source,
                    nm.min_n,
                    nm.built_at,
                ),
            )
            out.append(LocalNorm(**{**asdict(nm), "id": int(cur.lastrowid or 0)}))
        if out:
            store.audit_row(
                _os_user(),
                "build-norm",
                None,
                None,
                "; ".join(f"{n.questionnaire} {n.scale} ({n.respondent}): n = {n.n}" for n in out),
            )
    return out


def stored(store: Store, questionnaire: str | None = None) -> list[LocalNorm]:
    """Every norm built, oldest first (the newest per questionnaire, scale and respondent is
    the one alerts use)."""
    where, args = ("WHERE questionnaire_id = ?", (questionnaire,)) if questionnaire else ("", ())
    rows = store.db.execute(
        f"SELECT id, {_COLUMNS} FROM norms {where} ORDER BY built_at, id", args
    ).fetchall()
    return [
        LocalNorm(
            r["questionnaire_id"],
            r["questionnaire_version"],
            r["content_hash"],
            r["scale"],
            r["respondent"],
            int(r["n"]),
            float(r["mean"]),
            float(r["sd"]),
            r["first_date"],
            r["last_date"],
            float(r["reliability"]),
            r["reliability_source"],
            int(r["min_n"]),
            r["built_at"],
            int(r["id"]),
        )
        for r in rows
    ]


def newest(
    norms: Sequence[LocalNorm], questionnaire: str, scale: str, respondent: str
) -> LocalNorm | None:
    """The norm alerts use for one series and scale: the newest built."""
    found = [
        n
        for n in norms
        if (n.questionnaire, n.scale, n.respondent) == (questionnaire, scale, respondent)
    ]
    return found[-1] if found else None
