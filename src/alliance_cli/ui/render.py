"""Terminal rendering with rich: the only module that imports it.

Data goes to stdout, messages to stderr. User-supplied text (ids, labels, hints, paths) is
never passed through rich markup: it goes in as ``Text`` or through ``escape``. rich itself
drops colour when the stream is not a terminal or ``NO_COLOR`` is set.
"""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..alertgroups import AlertGroup, legend, session_marks
from ..errors import Problem, UserError
from ..model import Questionnaire, fmt_change, fmt_num
from ..result import ScaleResult, ScoreReport
from . import chart

if TYPE_CHECKING:
    from ..alerts import Alert
    from ..change import ClinicalChange
    from ..history import Gap, Series
    from ..overview import Overview
    from ..store import Administration, ClientSummary


def _width() -> int | None:
    # A terminal (or COLUMNS) gives its own width; piped output gets a steady 100 columns
    # (rich would otherwise assume 80 and wrap).
    if os.environ.get("COLUMNS") or sys.stdout.isatty():
        return None
    return 100


def out() -> Console:
    return Console(highlight=False, soft_wrap=False, width=_width())


def err() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def num(x: float | None, digits: int = 2) -> str:
    """A score for people: at most ``digits`` decimals, no trailing zeros."""
    if x is None:
        return "–"
    return fmt_num(round(x, digits))


def error(exc: UserError) -> None:
    """A user error on stderr: every problem on its own line, then the hint."""
    console = err()
    for problem in exc.problems:
        console.print(Text("error: ", style="bold red") + Text(problem.render()))
    if exc.hint:
        console.print(Text(exc.hint))


def notices(lines: Iterable[str]) -> None:
    console = err()
    for line in lines:
        console.print(Text("notice: ", style="cyan") + Text(line))


def warning(line: str) -> None:
    err().print(Text("WARNING: ", style="bold yellow") + Text(line, style="yellow"))


def problems(found: dict[str, list[Problem]]) -> None:
    """``alliance validate`` output: one line per problem, then a summary."""
    console = out()
    count = 0
    for items in found.values():
        for problem in items:
            count += 1
            console.print(Text(problem.render()), soft_wrap=True)
    bad = sum(1 for items in found.values() if items)
    if count:
        console.print(
            Text(
                f"{count} problem{'s' * (count != 1)} in {bad} of {len(found)} "
                f"file{'s' * (len(found) != 1)}",
                style="bold red",
            )
        )
    else:
        console.print(Text(f"OK: {len(found)} file{'s' * (len(found) != 1)} valid", style="green"))


def catalog(rows: Sequence[dict[str, object]]) -> None:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False)
    for col in ("id", "title", "respondent", "items", "scales", "key", "origin"):
        table.add_column(col, justify="right" if col in ("items", "scales") else "left")
    for row in rows:
        key = str(row["key_status"])
        style = "" if key == "verified" else "yellow"
        table.add_row(
            Text(str(row["id"]), style="bold"),
            Text(str(row["title"])),
            str(row["respondent"]),
            str(row["items"]),
            str(row["scales"]),
            Text(key, style=style),
            str(row["origin"]),
        )
    out().print(table)


def _answered(s: ScaleResult) -> Text:
    text = Text(f"{s.answered}/{s.items}")
    if s.not_applicable:
        text.append(f" ({s.not_applicable} n/a)")
    if s.prorated:
        text.append(" prorated", style="yellow")
    if s.withheld:
        text.append(" withheld", style="bold red")
    return text


def score(report: ScoreReport) -> None:
    """The score table, then a sentence per flag and per withheld scale."""
    console = out()
    q = report.questionnaire
    console.print(
        Text.assemble(
            (q.id, "bold"),
            f" · {q.title} · version {q.version} · key ",
            (q.key_status.value, "green" if q.key_status.value == "verified" else "yellow"),
        )
    )
    table = Table(box=box.SIMPLE_HEAD, show_edge=False)
    for col, justify in (
        ("scale", "left"),
        ("score", "right"),
        ("range", "left"),
        ("sum", "right"),
        ("answered", "left"),
        ("flags", "left"),
    ):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for s in report.scales:
        flags = [f.label for f in report.flags if f.kind == "band" and f.scale == s.id]
        sum_text = "" if s.method.value == "sum" else num(s.sum)
        table.add_row(
            Text(s.name),
            Text(num(s.score), style="bold"),
            f"{num(s.min)}–{num(s.max)} ({s.method.value})",
            sum_text,
            _answered(s),
            Text(", ".join(flags), style="bold red"),
        )
    console.print(table)
    for s in report.scales:
        if s.withheld:
            console.print(Text(f"{s.name} withheld: {s.withheld_reason}."))
    for flag in report.flags:
        console.print(
            Text("⚑ ", style="bold red")
            + Text(f"{flag.rule} ({num(flag.value)}): {flag.message} Source: {flag.source}.")
        )


def questionnaire(q: Questionnaire, origin: str, path: str) -> None:
    """Everything ``alliance show`` tells about a definition."""
    console = out()
    console.print(Text.assemble((q.id, "bold"), f" — {q.title}"))
    console.print(
        Text(
            f"version {q.version} · respondent {q.respondent.value} · measures "
            f"{q.construct_} · {origin} definition ({path})"
        )
    )
    if q.aliases:
        console.print(Text("aliases: " + ", ".join(q.aliases)))
    status = q.key_status.value
    console.print(
        Text.assemble("scoring key: ", (status, "green" if status == "verified" else "bold yellow"))
    )
    for src in q.key_sources:
        console.print(Text(f"  · {src}"))
    rs = q.response_scale
    console.print(Text(f"\nresponse scale: {rs.describe()}"))
    for value, label in rs.labels.items():
        console.print(Text(f"  {fmt_num(value):>4}  {label}"))
    if rs.not_applicable:
        codes = "/".join(fmt_num(c) for c in rs.not_applicable.values)
        console.print(Text(f"  {codes:>4}  {rs.not_applicable.label} (counts as unanswered)"))

    items = Table(
        title="items — hints in our own words (licensed wording: --item-text)",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        title_justify="left",
    )
    items.add_column("item", justify="right")
    items.add_column("hint")
    items.add_column("scales (R = reversed)")
    for item in q.items:
        used = ", ".join(
            q.scales[sid].name + (" (R)" if rev else "") for sid, rev in q.scales_using(item.id)
        )
        own = f" [{item.response_scale.describe()}]" if item.response_scale else ""
        items.add_row(Text(item.id), Text(item.text + own), Text(used))
    console.print(items)

    scales = Table(title="scales", box=box.SIMPLE_HEAD, show_edge=False, title_justify="left")
    for col in ("scale", "items", "reversed", "score", "range", "higher is", "missing data"):
        scales.add_column(col)
    for sid, scale in q.scales.items():
        lo, hi = q.scale_range(sid)
        scales.add_row(
            Text(f"{scale.name} ({sid})"),
            Text(" ".join(scale.items)),
            Text(" ".join(scale.reverse) or "–"),
            scale.method.value,
            f"{num(lo)}–{num(hi)}",
            scale.higher_is.value,
            Text(scale.missing.describe(len(scale.items))),
        )
    console.print(scales)
    for scale in q.scales.values():
        for band in scale.bands:
            kind = "flag" if band.flag else "band"
            console.print(
                Text(
                    f"{kind} {band.id}: {band.describe_rule(scale.name)} → "
                    f"{band.label}. Source: {band.source}"
                )
            )
        for norm in scale.norms:
            facts = ", ".join(
                f"{k} {fmt_num(v) if isinstance(v, float) else v}"
                for k, v in (
                    ("N", norm.n),
                    ("mean", norm.mean),
                    ("SD", norm.sd),
                    ("reliability", norm.reliability),
                )
                if v is not None
            )
            console.print(
                Text(f"norm for {scale.name}: {norm.population}: {facts}. Source: {norm.source}")
            )
    for rule in q.item_rules:
        which = ", ".join(rule.items) if rule.items else "any item"
        console.print(
            Text(
                f"item rule {rule.id}: {rule.describe_rule(which)} → "
                f"{rule.message} Source: {rule.source}"
            )
        )
    console.print(Text("\ncitations:"))
    for cite in q.citations:
        console.print(Text(f"  · {cite.text}" + (f" doi:{cite.doi}" if cite.doi else "")))
    console.print(Text(f"licence: {q.licence}"))
    if q.notes:
        console.print(Text(f"notes: {q.notes}"))
    if q.codes:
        console.print(Text("codes: " + ", ".join(f"{k} {v}" for k, v in q.codes.items())))


def alert_rules(q: Questionnaire) -> None:
    """The definition's alert rules with their parameters and sources (``alliance show``)."""
    from ..alerts import PATTERN_SOURCE, RUPTURE_SOURCE
    from ..change import JACOBSON_TRUAX
    from ..history import DIVERGENCE_SOURCE

    a = q.alerts
    rc, ru, dv, hf, ce = a.reliable_change, a.rupture, a.divergence, a.high_then_falling, a.ceiling
    base = f"the baseline (mean of the first {rc.baseline_sessions} session(s))"
    if rc.points:
        reliable = f"a fall of at least {num(rc.points)} points from {base}"
    else:
        reliable = (
            f"a fall from {base} with |RCI| > {num(rc.z)}, against a reference SD and "
            "reliability (the definition's norm, else the practice's own), never the client's "
            "own SD"
        )
    rules = [
        ("cutoff", a.cutoff.enabled, "a session in a flagged band (above)", None),
        (
            "drop",
            a.drop.at_least is not None,
            f"a fall of at least {num(a.drop.at_least)} from the previous session",
            a.drop.source,
        ),
        ("reliable_change", rc.enabled, reliable, rc.source or JACOBSON_TRUAX),
        (
            "rupture",
            ru.enabled,
            f"a fall of more than {num(ru.k)} SD, SD the larger of the client's own (from "
            f"{ru.own_sd_min} earlier sessions) and {num(ru.min_sd_share * 100)}% of the range; "
            f"repaired within {ru.repair_within} sessions at the pre-drop score less "
            f"{num(ru.tolerance_sd)} SD",
            ru.source or RUPTURE_SOURCE,
        ),
        (
            "divergence",
            dv.enabled,
            f"the latest client–therapist gap more than {num(dv.k)} SD from the earlier gaps, "
            f"SD at least {num(dv.min_sd_share * 100)}% of the range",
            dv.source or DIVERGENCE_SOURCE,
        ),
        (
            "high_then_falling",
            hf.enabled,
            f"a prompt: the first session at ≥ {num(hf.high_pomp)}% of the maximum, then "
            f"{hf.falls} falls in a row",
            PATTERN_SOURCE,
        ),
        (
            "ceiling",
            ce.enabled,
            f"a prompt: ≥ {num(ce.pomp)}% of the maximum in every session (from {ce.min_sessions})",
            PATTERN_SOURCE,
        ),
        (
            "missing",
            a.missing.enabled,
            "a session without this measure, or its score withheld",
            None,
        ),
    ]
    console = out()
    console.print(Text(f"\nalert rules (watched: {', '.join(q.watched_scales())}):"))
    for name, on, what, source in rules:
        line = (
            f"  {name}: {what}" + (f". Source: {source}" if source else "")
            if on
            else f"  {name}: off"
        )
        console.print(Text(line), soft_wrap=True)


def definition_notes(found: dict[str, list[str]]) -> None:
    """Notes for a definition's author (``show``, ``validate``): what a rule lacks. On
    stderr, like the key warning: they are about the file, not its data."""
    console = err()
    for path, notes in found.items():
        for note in notes:
            console.print(Text(f"{path}: note: {note}", style="yellow"), soft_wrap=True)


def change(value: float | None) -> str:
    """``+0.5``, ``-1``, ``±0``; empty for the first session."""
    return fmt_change(value)


def recorded(saved: Administration) -> None:
    err().print(
        Text(
            f"recorded administration #{saved.id}: client {saved.client}, session "
            f"{saved.session}, {saved.questionnaire_id} ({saved.respondent}), "
            f"{saved.administered_at}",
            style="green",
        )
    )


def recent(s: Series, found: Sequence[Alert], last: int = 6) -> None:
    """The recording view (``score --client``, ``administer``): the respondent's latest
    sessions as ``history`` shows them, then the alerts of the session just recorded."""
    from ..alertgroups import group_alerts

    q = s.questionnaire
    wrapped(out(), f"{q.id} · {s.respondent} · {q.title}", style="bold")
    sessions(s, found, last=last)
    alert_groups(group_alerts(q, found))


def clients(rows: Sequence[ClientSummary]) -> None:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False)
    for col in ("client", "administrations", "questionnaires", "first", "last"):
        table.add_column(col, justify="right" if col == "administrations" else "left")
    for c in rows:
        table.add_row(
            Text(c.code, style="bold"),
            str(c.administrations),
            Text(", ".join(c.questionnaires)),
            c.first or "",
            c.last or "",
        )
    out().print(table)


def wrapped(console: Console, text: str, indent: str = "  ", style: str = "") -> None:
    """A paragraph wrapped to the console width, continuation lines indented; never cut.
    Control characters in recorded text (an escape sequence in a note) are shown as ``�``,
    never sent to the terminal."""
    text = "".join(c if c.isprintable() or c in "\t\n" else "\ufffd" for c in text)
    for line in textwrap.wrap(
        text,
        width=max(console.width, 40),
        subsequent_indent=indent,
        break_on_hyphens=False,
    ):
        console.print(Text(line, style=style), soft_wrap=True)


def alert_groups(groups: Sequence[AlertGroup]) -> None:
    """Alerts with repeats told once ("Total below 25 in sessions 1–7"), each with its
    source once."""
    console = out()
    for g in groups:
        # Led by the mark the chart shows for it, so the two are read together.
        wrapped(console, f"{g.mark.symbol if g.mark else '·'} {g.message}")
        wrapped(console, f"  rule {g.rule} · source: {g.source}", "    ", "dim")


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
            f"{g.second.questionnaire.id} ({g.second.respondent}) — gap {g.trend}",
        )
        table = Table(box=box.SIMPLE_HEAD, show_edge=False)
        for col in ("session", g.first.respondent, g.second.respondent, "gap"):
            table.add_column(col, justify="left" if col == "session" else "right")
        for n, (a, b, d) in zip(g.sessions, g.values, strict=True):
            table.add_row(str(n), num(a), num(b), change(d) if d is not None else "–")
        console.print(table)


def means(s: Series, scale_id: str) -> None:
    """Mean score per clinician and per modality, when there is more than one of either."""
    from ..history import means_by

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
    from ..alertgroups import group_alerts

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
