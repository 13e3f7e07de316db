"""A client's history in the terminal (rich): the sessions, notes, charts, alerts and
client-vs-therapist gaps that ``alliance history`` shows, and the recording view of
``score --client`` and ``administer``. Like every ``ui`` module, user text goes in as
``Text``, never as markup; paragraphs wrap to the width and are never cut."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich import box
from rich.table import Table
from rich.text import Text

from alliance_cli.clinic.alertgroups import AlertGroup, legend, session_marks
from alliance_cli.ui import chart
from alliance_cli.ui.render import change, notices, num, out, wrapped

if TYPE_CHECKING:
    from alliance_cli.clinic.alerts import Alert
    from alliance_cli.clinic.change import ClinicalChange
    from alliance_cli.clinic.divergence import Gap
    from alliance_cli.clinic.history import Series
    from alliance_cli.clinic.overview import Overview


def recent(s: Series, found: Sequence[Alert], marked: Sequence[Alert] = (), last: int = 6) -> None:
    """The recording view (``score --client``, ``administer``): the respondent's latest
    sessions as ``history`` shows them (with the marks of ``marked``, every alert of the
    series), then the alerts of the session just recorded (``found``)."""
    from alliance_cli.clinic.alertgroups import group_alerts

    q = s.questionnaire
    wrapped(out(), f"{q.id} · {s.respondent} · {q.title}", style="bold")
    sessions(s, [*marked, *found], last=last)
    alert_groups(group_alerts(q, found))


def alert_groups(groups: Sequence[AlertGroup]) -> None:
    """Alerts with repeats told once ("Total below 25 in sessions 1–7"), each with its
    source once."""
    console = out()
    for g in groups:
        # Led by the mark the chart shows for it, so the two are read together.
        wrapped(console, f"{g.mark.symbol if g.mark else '·'} {g.message}")
        wrapped(console, f"  rule {g.rule} · source: {g.shown_source}", "    ", "dim")


def clinical_change(found: Sequence[ClinicalChange]) -> None:
    """One line per scale: clinically significant change from baseline to latest, with
    the numbers behind it and its reference."""
    console = out()
    for c in found:
        wrapped(console, f"= clinically significant change: {c.message}")
        wrapped(
            console,
            f"  Jacobson & Truax (1991) · reference: {c.basis} · source: {c.source}",
            "    ",
            "dim",
        )


def trajectory(s: Series, scale_id: str, found: Sequence[Alert]) -> None:
    """The chart of one scale across sessions, with the cutoff, the alert marks of
    ``alertgroups`` and a legend of the marks shown."""
    q = s.questionnaire
    scale = q.scales[scale_id]
    lo, hi = q.scale_range(scale_id)
    console = out()
    marks = session_marks(found, (scale_id, None))
    numbers = [x.administration.session for x in s.sessions]
    lines = chart.chart(
        numbers,
        s.scores(scale_id),
        lo=lo,
        hi=hi,
        cutoff=scale.cutoff(),
        marks={n: m.symbol for n, m in marks.items()},
        columns=console.width,
    )
    wrapped(console, f"{scale.name} ({q.id}, {s.respondent}) by session")
    for line in lines:
        console.print(Text(line), soft_wrap=True)
    skip = chart.hidden(numbers, console.width)
    if skip:
        wrapped(
            console,
            f"(sessions {numbers[0]}–{numbers[skip - 1]} not charted: too many to fit; "
            "the table above has them all)",
        )
    shown = legend(marks[n] for n in numbers[skip:] if n in marks)
    if shown:
        wrapped(console, "marks: " + " · ".join(f"{m.symbol} {m.meaning}" for m in shown))


def gaps(found: Sequence[Gap]) -> None:
    """Client and therapist side by side, with the gap per session and its trend."""
    console = out()
    for g in found:
        name = g.first.questionnaire.scales[g.scale].name
        wrapped(
            console,
            f"{name}: {g.first.questionnaire.id} ({g.first.respondent}) vs "
            f"{g.second.questionnaire.id} ({g.second.respondent}) — gap {g.trend_text}",
        )
        table = Table(box=box.SIMPLE_HEAD, show_edge=False)
        for col in ("session", g.first.respondent, g.second.respondent, "gap"):
            table.add_column(col, justify="left" if col == "session" else "right")
        for n, (a, b, d) in zip(g.sessions, g.values, strict=True):
            table.add_row(str(n), num(a), num(b), change(d) if d is not None else "–")
        console.print(table)


def means(s: Series, scale_id: str) -> None:
    """Mean score per clinician and per modality, when there is more than one of either."""
    from alliance_cli.clinic.history import means_by

    console = out()
    name = s.questionnaire.scales[scale_id].name
    for key in ("clinician", "modality"):
        groups = means_by(s, scale_id, key)
        if len(groups) < 2:
            continue
        parts = [f"{k} {num(m)} (n={n})" for k, (m, n) in groups.items()]
        wrapped(console, f"mean {name} by {key}: " + " · ".join(parts))


def sessions(
    s: Series, found: Sequence[Alert], *, all_scales: bool = False, last: int | None = None
) -> None:
    """One line per session: date, session, administration id, the watched scale(s) with
    the change against the previous session, and the session's one mark; every scale with
    ``all_scales``; only the ``last`` ones when given. Nothing is ever cut: columns fold
    rather than end in "…"."""
    q = s.questionnaire
    watched = [sid for sid in q.watched_scales() if sid in q.scales]
    others = [sid for sid in q.scales if sid not in watched] if all_scales else []
    marks = session_marks(found, (*watched, None))
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("date", no_wrap=True)
    table.add_column("session", justify="right", no_wrap=True)
    table.add_column("id", justify="right", no_wrap=True)
    for sid in others:
        table.add_column(q.scales[sid].name, justify="right", overflow="fold")
    for sid in watched:
        table.add_column(q.scales[sid].name, justify="right", overflow="fold")
        table.add_column(
            "change" if len(watched) == 1 else f"{q.scales[sid].name} change",
            justify="right",
            overflow="fold",
        )
    table.add_column("", no_wrap=True)
    changes = {sid: s.changes(sid) for sid in watched}
    first = len(s.sessions) - last if last is not None and last < len(s.sessions) else 0
    if first:
        wrapped(out(), f"the latest {last} of {len(s.sessions)} sessions (history shows all)")
    for i, sess in enumerate(s.sessions[first:], start=first):
        a = sess.administration
        cells = [
            Text(a.administered_at[:10]),
            Text(f"{a.session}{'*' if sess.definition_changed else ''}"),
            Text(f"#{a.id}"),
        ]
        cells += [Text(num(sess.score(sid))) for sid in others]
        for sid in watched:
            cells += [Text(num(sess.score(sid))), Text(change(changes[sid][i]))]
        mark = marks.get(a.session)
        cells.append(Text(mark.symbol if mark else "", style="bold red"))
        table.add_row(*cells)
    console = out()
    console.print(table)
    if any(sess.definition_changed for sess in s.sessions[first:]):
        wrapped(
            console,
            f"* recorded under another version of the {q.id} definition; rescored with the "
            "current one",
        )


def notes(s: Series, show: bool) -> None:
    """The sessions' notes (with who and how), or a line saying how many there are."""
    console = out()
    noted = [x.administration for x in s.sessions if x.administration.note]
    if not noted:
        return
    if not show:
        wrapped(
            console,
            f"{len(noted)} session{'s' * (len(noted) != 1)} with a note (--notes shows them)",
        )
        return
    wrapped(console, "notes:")
    for a in noted:
        who = ", ".join(x for x in (a.clinician, a.modality) if x)
        wrapped(
            console,
            f"  session {a.session} (#{a.id}{', ' + who if who else ''}): {a.note}",
            "    ",
        )


def overview(
    o: Overview, scale: str | None = None, *, all_scales: bool = False, show_notes: bool = False
) -> None:
    """Everything ``alliance history`` shows for a client, per questionnaire and respondent:
    sessions, notes, chart, means, grouped alerts; then client vs therapist."""
    from alliance_cli.clinic.alertgroups import group_alerts

    notices(o.skipped)
    if not o.watched:
        notices([f"no administrations recorded for {o.client}"])
    console = out()
    for w in o.watched:
        q = w.series.questionnaire
        wrapped(console, f"{q.id} · {w.series.respondent} · {q.title}", style="bold")
        sessions(w.series, w.alerts, all_scales=all_scales)
        notes(w.series, show_notes)
        chosen = [scale] if scale else q.watched_scales()
        for scale_id in chosen:
            if scale_id in q.scales:
                trajectory(w.series, scale_id, w.alerts)
                means(w.series, scale_id)
            else:
                wrapped(console, f"{q.id} has no scale {scale_id} (scales: {', '.join(q.scales)})")
        alert_groups(group_alerts(q, w.alerts))
        clinical_change(w.clinical_change)
        console.print()
    gaps(o.gaps)
