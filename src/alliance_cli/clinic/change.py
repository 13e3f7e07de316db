"""Reliable and clinically significant change (Jacobson & Truax 1991), with their reference.

Jacobson, N. S., & Truax, P. (1991). Clinical significance: a statistical approach to
defining meaningful change in psychotherapy research. J Consult Clin Psychol, 59(1), 12–19:
SE = SD √(1 − r), S_diff = √2 SE, RCI = (x₂ − x₁) / S_diff, reliable when |RCI| > z (1.96).
SD and r belong to a reference sample (between persons), never to the client's own series.

:func:`basis` is the one rule for which reference a scale's reliable change uses, in this
order of precedence:

1. a published amount in points (``alerts.reliable_change.points``; ORS: 5);
2. the definition's published norm: one that gives both the SD and the reliability (Jacobson
   & Truax intend one reference sample), else the first SD with the first reliability given,
   said to come from different samples — a published reference stays fixed, so it takes
   precedence;
3. the practice's own norm, the newest built by ``alliance norms build`` under the current
   definition.

Clinically significant change: recovered = reliable improvement that crosses the cutoff out
of the flagged band; improved = reliable improvement only; deteriorated = reliable
worsening; unchanged otherwise — from the baseline (the first ``baseline_sessions``) to the
latest session, for every watched scale with a cutoff and a reference.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alliance_cli.clinic.history import Series
from alliance_cli.clinic.norms import LocalNorm, newest
from alliance_cli.model import Band, Norm, Questionnaire
from alliance_cli.text import fmt_num

JACOBSON_TRUAX = "Jacobson & Truax (1991), J Consult Clin Psychol 59(1), 12–19"


def n2(x: float) -> str:
    """A number for a sentence: at most two decimals."""
    return fmt_num(round(x, 2))


def r2(x: float) -> str:
    """A reliability as reported: ``.92`` (``.996``, never a rounded ``1.00``)."""
    text = f"{x:.2f}"
    if text in ("1.00", "0.00"):
        text = f"{x:.3f}"
    return text.removeprefix("0")


def baseline_words(sessions: Sequence[int]) -> str:
    """``session 1``; ``mean of sessions 1, 2``."""
    if len(sessions) == 1:
        return f"session {sessions[0]}"
    return "mean of sessions " + ", ".join(map(str, sessions))


@dataclass(frozen=True)
class Basis:
    """What a reliable change is measured against."""

    kind: str
    """``points`` (a published amount), ``published`` (the definition's norm) or ``local``
    (the practice's norm)."""
    z: float
    text: str
    """The reference in words, for the alert: where the SD and reliability come from."""
    source: str
    points: float | None = None
    sd: float | None = None
    reliability: float | None = None
    norm: LocalNorm | None = None

    @property
    def s_diff(self) -> float:
        assert self.sd is not None and self.reliability is not None
        return math.sqrt(2) * self.sd * math.sqrt(1 - self.reliability)

    def reliable(self, change: float) -> tuple[bool, float | None]:
        """Whether a change (in the scale's points; positive = up) is reliable, and its
        RCI (None for a published amount in points)."""
        if self.points is not None:
            return abs(change) >= self.points - 1e-9, None
        rci = change / self.s_diff
        return abs(rci) > self.z, rci

    def numbers(self) -> dict[str, Any]:
        out: dict[str, Any] = {"basis": self.kind}
        if self.points is not None:
            out["points"] = self.points
        else:
            out |= {"sd": self.sd, "reliability": self.reliability, "s_diff": self.s_diff}
            out["z"] = self.z
        if self.norm is not None:
            out["norm_id"] = self.norm.id
        return out


def basis(
    q: Questionnaire, scale_id: str, respondent: str, local: Sequence[LocalNorm] = ()
) -> Basis | str:
    """The reference of a scale's reliable change, or why there is none — said for the
    clinician (what is missing in the record), not for a definition's author."""
    rule = q.alerts.reliable_change
    scale = q.scales[scale_id]
    if rule.points is not None:
        return Basis(
            "points",
            rule.z,
            f"a published reliable change of {n2(rule.points)} points",
            rule.source or JACOBSON_TRUAX,
            points=rule.points,
        )
    published, r_norm = scale.reference_norms()
    mine = newest(local, q.id, scale_id, respondent)
    if published is not None and published.sd is not None and r_norm is not None:
        assert r_norm.reliability is not None
        text = f"SD {n2(published.sd)} from {_cite(published)}, reliability "
        text += f"{r2(r_norm.reliability)} from " + (
            f"{r_norm.source.rstrip('. ')}"
            if r_norm is published
            else f"{_cite(r_norm)} (different samples)"
        )
        if mine is not None:
            text += "; a published norm takes precedence over the practice's own"
        return Basis(
            "published",
            rule.z,
            text,
            JACOBSON_TRUAX,
            sd=published.sd,
            reliability=r_norm.reliability,
        )
    if mine is not None and mine.content_hash == q.content_hash():
        why = "publishes no SD" if published is None else "gives no reliability for its SD"
        text = (
            f"SD {n2(mine.sd)} from {mine.describe()}; reliability {r2(mine.reliability)} "
            f"from {mine.reliability_source} (the definition {why})"
        )
        return Basis(
            "local",
            rule.z,
            text,
            JACOBSON_TRUAX,
            sd=mine.sd,
            reliability=mine.reliability,
            norm=mine,
        )
    build = f"`alliance norms build -q {q.id}`"
    if mine is not None:
        return (
            f"the practice's norm of {mine.built_at[:10]} was built under another version of "
            f"the {q.id} definition (rebuild it: {build})"
        )
    if published is not None:
        return (
            "the published norm gives no reliability to pair with its SD, and the practice "
            f"has no norm of its own ({build})"
        )
    return (
        "there is no reference SD: none is published for it, and the practice has no norm "
        f"of its own yet ({build}); a client's own session-to-session spread is not one"
    )


def _cite(norm: Norm) -> str:
    return f"the published norm ({norm.population}; {norm.source.rstrip('. ')})"


def flagged_band(q: Questionnaire, scale_id: str) -> Band | None:
    """The cutoff of clinically significant change: the scale's first flagged band with
    one bound (ORS: below 25 is the clinical range)."""
    return next((b for b in q.scales[scale_id].bands if b.flag and len(b.bounds()) == 1), None)


def in_band(band: Band, x: float) -> bool:
    tests = {
        "below": x < (band.below or 0),
        "at_most": x <= (band.at_most or 0),
        "above": x > (band.above or 0),
        "at_least": x >= (band.at_least or 0),
    }
    return all(tests[k] for k, _ in band.bounds())


def side(band: Band, x: float) -> str:
    """Which side of the cutoff a score lies: ``below 25`` or ``25 or above``."""
    [(key, cut)] = band.bounds()
    inside = {"below": "below", "at_most": "at most", "above": "above", "at_least": "at least"}
    outside = {
        "below": f"{n2(cut)} or above",
        "at_most": f"above {n2(cut)}",
        "above": f"{n2(cut)} or below",
        "at_least": f"below {n2(cut)}",
    }
    return f"{inside[key]} {n2(cut)}" if in_band(band, x) else outside[key]


@dataclass(frozen=True)
class ClinicalChange:
    """Baseline → latest on one scale, classified per Jacobson & Truax (1991)."""

    scale: str
    status: str
    """``recovered``, ``improved``, ``unchanged`` or ``deteriorated``."""
    baseline: float
    baseline_sessions: list[int]
    latest: float
    latest_session: int
    change: float
    rci: float | None
    threshold: str
    """The reliable-change criterion in words (``±1.96`` or ``5 points``)."""
    cutoff: float
    baseline_side: str
    latest_side: str
    basis: str
    source: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def clinical_change(
    series: Series, scale_id: str, local: Sequence[LocalNorm] = ()
) -> ClinicalChange | None:
    """Clinically significant change of one scale, or None without a cutoff, a reference
    (or with the reliable-change rule off) or sessions beyond the baseline."""
    q = series.questionnaire
    if not q.alerts.reliable_change.enabled:
        return None
    band = flagged_band(q, scale_id)
    ref = basis(q, scale_id, series.respondent, local)
    n_base = q.alerts.reliable_change.baseline_sessions
    scored = [
        (s.administration.session, x)
        for s in series.sessions
        if (x := s.score(scale_id)) is not None
    ]
    if band is None or isinstance(ref, str) or len(scored) <= n_base:
        return None
    baseline = statistics.fmean(x for _, x in scored[:n_base])
    latest_session, latest = scored[-1]
    change = latest - baseline
    reliable, rci = ref.reliable(change)
    better = q.scales[scale_id].sign * change > 0
    crossed = in_band(band, baseline) and not in_band(band, latest)
    if not reliable:
        status = "unchanged"
    elif not better:
        status = "deteriorated"
    else:
        status = "recovered" if crossed else "improved"
    [(_, cut)] = band.bounds()
    threshold = f"{n2(ref.points)} points" if ref.points is not None else f"±{n2(ref.z)}"
    measure = (
        f"RCI {n2(rci)} {'beyond' if reliable else 'within'} {threshold}"
        if rci is not None
        else f"{'at least' if reliable else 'less than'} the {threshold} of reliable change"
    )
    b_side, l_side = side(band, baseline), side(band, latest)
    name = q.scales[scale_id].name
    base_words = baseline_words([n for n, _ in scored[:n_base]])
    message = (
        f"{name} {status}: {n2(baseline)} ({base_words}, {b_side}) → {n2(latest)} (session "
        f"{latest_session}, {l_side}), a change of {'+' if change > 0 else ''}{n2(change)}; "
        f"{measure}; cutoff {n2(cut)}."
    )
    return ClinicalChange(
        scale_id,
        status,
        baseline,
        [n for n, _ in scored[:n_base]],
        latest,
        latest_session,
        change,
        rci,
        threshold,
        cut,
        b_side,
        l_side,
        ref.text,
        ref.source,
        message,
    )


def definition_notes(q: Questionnaire) -> list[str]:
    """Notes for a definition's author (``alliance show`` and ``validate``), never shown
    to a clinician: watched scales whose reliable change has no published reference."""
    out = []
    rule = q.alerts.reliable_change
    for scale_id in q.watched_scales():
        if scale_id not in q.scales or not rule.enabled:
            continue
        if not isinstance(basis(q, scale_id, q.respondent.value), str):
            continue
        norms = q.scales[scale_id].norms
        r_norm = q.scales[scale_id].reliability_norm()
        r = None if r_norm is None else r_norm.reliability
        where = f"scales.{scale_id}.norms"
        if r is not None:
            add = f"the `sd` of a reference sample to a norm under {where} (reliability {r2(r)} "
            add += "is given)"
        elif any(n.sd is not None for n in norms):
            add = f"the `reliability` that pairs with the norm's SD under {where}"
        else:
            add = f"a norm with `sd` and `reliability` under {where}"
        out.append(
            f"reliable change of {q.scales[scale_id].name} ({scale_id}) has no published "
            f"reference: add {add}, or a published amount as `alerts.reliable_change.points` "
            f"with its `source`; until then it needs the practice's own norm (`alliance norms "
            f"build -q {q.id}`)"
        )
    return out


def notes_for_files(found: dict[str, list[Any]]) -> dict[str, list[str]]:
    """Notes for every definition file that ``validate`` found valid: keys of the previous
    release it still sets (ignored), then :func:`definition_notes`."""
    from alliance_cli.definitions import OVERLAY_SUFFIX, load_definition

    out = {}
    for path, problems in found.items():
        if not problems and not path.endswith(OVERLAY_SUFFIX):
            q = load_definition(Path(path))
            out[path] = q.removed_notes() + definition_notes(q)
    return out
