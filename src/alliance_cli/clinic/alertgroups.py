"""How alerts are shown: the one table of chart marks and the grouping of repeated alerts.

Both renderers — the terminal history (``ui.history``, ``ui.chart``) and the HTML report —
take their marks and their grouped alerts from here, so a mark under a chart always means
the alert listed under it, in either place.

* A mark is given only to an alert worth acting on: a ``concern`` or a ``prompt``. An
  ``info`` note (a repaired rupture, "reliable change not computed") gets no mark.
* Repeated alerts of one rule on one scale ("Total below 25" in sessions 1 to 7) become one
  group: one sentence with the sessions as ranges ("sessions 1–7") and the source once.
  Rules whose alerts tell a different story each time (ruptures, gaps) stay one
  alert per group. ``--json`` keeps every alert; the groups are a view over them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from alliance_cli.clinic.alerts import Alert
from alliance_cli.model import Questionnaire
from alliance_cli.text import fmt_num


@dataclass(frozen=True)
class Mark:
    symbol: str
    meaning: str
    rank: int
    """When several alerts fall on one session, the mark with the highest rank is shown."""


RUPTURE = Mark("R", "possible rupture, not repaired", 7)
DIVERGE = Mark("≠", "client and therapist ratings diverge", 6)
FALL = Mark("▼", "drop or reliable fall", 5)
CUTOFF = Mark("!", "past the cutoff", 4)
OTHER = Mark("*", "other concern (see the alerts)", 3)
MISSING = Mark("○", "score missing or withheld", 2)
PROMPT = Mark("?", "prompt: invite honest feedback", 1)

MARKS: dict[tuple[str, str], Mark] = {
    ("rupture", "concern"): RUPTURE,
    ("divergence", "concern"): DIVERGE,
    ("drop", "concern"): FALL,
    ("reliable_change", "concern"): FALL,
    ("cutoff", "concern"): CUTOFF,
    ("missing", "concern"): MISSING,
}
"""Marks by (rule, kind); any other concern is ``*``, any prompt ``?``, information none."""


def mark_for(alert: Alert) -> Mark | None:
    """The chart mark of one alert, or None for an information note."""
    if alert.kind == "concern":
        return MARKS.get((alert.rule, alert.kind), OTHER)
    if alert.kind == "prompt":
        return PROMPT
    return None


def session_marks(alerts: Iterable[Alert], scales: Iterable[str | None]) -> dict[int, Mark]:
    """The one mark per session for alerts on ``scales`` (``None`` = about the whole
    questionnaire, such as a session without it)."""
    wanted = set(scales)
    out: dict[int, Mark] = {}
    for a in alerts:
        mark = mark_for(a) if a.scale in wanted else None
        if mark and (a.session not in out or mark.rank > out[a.session].rank):
            out[a.session] = mark
    return out


def legend(marks: Iterable[Mark]) -> list[Mark]:
    """The distinct marks shown, strongest first: what a legend under a chart explains."""
    return sorted(set(marks), key=lambda m: -m.rank)


def session_ranges(sessions: Sequence[int]) -> str:
    """``session 3``, ``sessions 1–7``, ``sessions 1–3, 5 and 7–8``."""
    numbers = sorted(set(sessions))
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    parts = [f"{r[0]}–{r[-1]}" if len(r) > 2 else ", ".join(map(str, r)) for r in runs]
    text = ", ".join(parts)
    if "," in text:
        head, _, tail = text.rpartition(", ")
        text = f"{head} and {tail}"
    return ("session " if len(numbers) == 1 else "sessions ") + text


@dataclass(frozen=True)
class AlertGroup:
    """Alerts of one rule on one scale, told once (or one alert, told as it is)."""

    rule: str
    kind: str
    questionnaire: str
    respondent: str
    scale: str | None
    sessions: list[int]
    message: str
    source: str
    alerts: list[Alert] = field(repr=False)
    source_told: bool = False
    """An earlier group of the same list has this source: renderers say "as above" rather
    than repeat a long source (a rupture rule's) under every alert."""

    @property
    def mark(self) -> Mark | None:
        return mark_for(self.alerts[0])

    @property
    def shown_source(self) -> str:
        """The source as a renderer shows it: in full the first time, then "as above"."""
        return "as above" if self.source_told else self.source

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "kind": self.kind,
            "scale": self.scale,
            "sessions": self.sessions,
            "message": self.message,
            "source": self.source,
        }


def _n(x: Any) -> str:
    return fmt_num(round(float(x), 2))


def _summary(q: Questionnaire, alerts: list[Alert]) -> str | None:
    """One sentence for several alerts of one rule, or None when the rule is not grouped."""
    first = alerts[0]
    where = session_ranges([a.session for a in alerts])
    scale = q.scales.get(first.scale) if first.scale else None
    if first.rule == "cutoff" and scale is not None:
        band = next((b for b in scale.bands if b.id == first.numbers.get("band")), None)
        if band is None:
            return None
        scores = ", ".join(_n(a.numbers["score"]) for a in alerts)
        return f"{band.describe_rule(scale.name)} in {where} ({scores}): {band.message}"
    if first.rule == "drop" and scale is not None:
        steps = ", ".join(f"{_n(a.numbers['previous'])} → {_n(a.numbers['score'])}" for a in alerts)
        return (
            f"{scale.name} fell {_n(first.numbers['threshold'])} or more from the session "
            f"before in {where} ({steps}); a fall that size is worth raising."
        )
    if first.rule == "reliable_change" and first.kind == "concern" and scale is not None:
        scores = ", ".join(_n(a.numbers["score"]) for a in alerts)
        if first.numbers.get("rci") is None:
            how = f"each fall at least the published {_n(first.numbers['points'])} points"
        else:
            rcis = ", ".join(_n(a.numbers["rci"]) for a in alerts)
            how = f"RCI {rcis}, beyond ±{_n(first.numbers['z'])}; {first.numbers['reference']}"
        return (
            f"{scale.name} fell reliably from the baseline {_n(first.numbers['baseline'])} "
            f"in {where} ({scores}): {how}."
        )
    if first.rule == "missing" and first.scale is None:
        return f"No {q.id} recorded in {where}; a session without it cannot show a drop."
    return None


def group_alerts(q: Questionnaire, alerts: Sequence[Alert]) -> list[AlertGroup]:
    """Group one series' alerts (of questionnaire ``q``) by rule, kind, scale and source, in
    the order of each group's first session. Only rules with a sentence for several sessions
    (cutoff, drop, reliable fall, a missing questionnaire) are grouped; each other alert is
    its own group."""
    buckets: dict[tuple[Any, ...], list[Alert]] = {}
    for a in alerts:
        band = a.numbers.get("band") if a.rule == "cutoff" else None
        reference = a.numbers.get("reference") if a.rule == "reliable_change" else None
        key = (a.questionnaire, a.respondent, a.scale, a.rule, a.kind, a.source, band, reference)
        buckets.setdefault(key, []).append(a)
    out: list[AlertGroup] = []
    for members in buckets.values():
        summary = _summary(q, members) if len(members) > 1 else None
        parts = [members] if summary else [[a] for a in members]
        for part in parts:
            a = part[0]
            out.append(
                AlertGroup(
                    a.rule,
                    a.kind,
                    a.questionnaire,
                    a.respondent,
                    a.scale,
                    [x.session for x in part],
                    summary if summary else a.message,
                    a.source,
                    part,
                )
            )
    told: set[str] = set()
    ordered = []
    for g in sorted(out, key=lambda g: g.sessions[0]):
        ordered.append(replace(g, source_told=g.source in told))
        told.add(g.source)
    return ordered
