"""The practice's own norms: a reference sample for reliable change, built from the history.

Jacobson & Truax (1991) measure reliable change against the between-person SD of a reference
sample and that sample's reliability. Where a definition publishes no SD (WAI-SR, SRS), the
practice's own intake scores can serve: :func:`build` takes each client's FIRST session of a
questionnaire (per respondent), and per watched scale stores n, mean, between-client SD, the
date range and the reliability it pairs with — the definition's published reliability when
it gives one (for the questionnaire's own respondent: the population it was published
for), else Cronbach's alpha of those same first-session answers (computed as
``alliance reliability`` and R ``psych::alpha`` compute it). Norms hold aggregates only, never
a client code; each keeps when it was built and the definition's content hash.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np

from alliance_cli.clinic.history import score_series
from alliance_cli.clinic.store import Administration, Selection, Store
from alliance_cli.clinic.store.norms import DEFAULT_MIN_N, MIN_N_FLOOR, LocalNorm, save, stored
from alliance_cli.errors import Problem, ResponseError, UsageError
from alliance_cli.model import Questionnaire

__all__ = ["ALPHA_SOURCE", "DEFAULT_MIN_N", "MIN_N_FLOOR", "LocalNorm", "build", "newest", "stored"]

ALPHA_SOURCE = "Cronbach's alpha of the same first sessions"


def first_sessions(store: Store, q: Questionnaire) -> dict[str, list[Administration]]:
    """Each client's first final administration of ``q`` (lowest session), per respondent."""
    rows = store.select_administrations(Selection(questionnaire_id=q.id))
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
        answers = np.array([a.values(q.item_ids()) for a in admins], dtype=np.float64)
        sessions = score_series(q, admins, answers)
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
            reliability, r_source = _reliability(q, scale_id, respondent, [s for s, _ in used])
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
    return save(store, norms)


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


def _reliability(
    q: Questionnaire, scale_id: str, respondent: str, used: Sequence[Any]
) -> tuple[float, str]:
    """The definition's published reliability (its norms describe the questionnaire's own
    respondent, so only for that respondent; the source names the population), else alpha
    of the same answers (pairwise, as ``psych::alpha`` and ``alliance reliability``)."""
    published = q.scales[scale_id].reliability_norm()
    if published is not None and published.reliability and respondent == q.respondent.value:
        return published.reliability, (
            f"{published.source.rstrip('. ')} ({published.population.rstrip('. ')})"
        )

    from alliance_cli.research import psychometrics as pm

    x = np.array([s.administration.values(q.item_ids()) for s in used], dtype=np.float64)
    try:
        return pm.alpha(pm.scale_items(q, scale_id, x).values).raw_alpha, ALPHA_SOURCE
    except ResponseError as exc:  # an item nobody varied on: no alpha
        return float("nan"), "; ".join(p.message for p in exc.problems)


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
