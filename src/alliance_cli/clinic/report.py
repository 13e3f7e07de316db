"""A self-contained HTML report of a client's alliance, for supervision or the client's file.

One file, no network: styles inline, charts as inline SVG (``svgchart``). It opens with a
status summary per questionnaire and respondent (latest score, change, alert state,
clinically significant change), then per questionnaire — client and therapist forms together
— the trajectory of each watched scale with its cutoff, alert marks and a legend, the alerts
(repeats grouped, as in ``alliance history``), the sessions with their notes, means per
clinician and modality; then client-vs-therapist gaps. All recorded text is HTML-escaped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from html import escape

from alliance_cli import __version__
from alliance_cli.clinic.alertgroups import AlertGroup, Mark, group_alerts, legend, session_marks
from alliance_cli.clinic.alerts import Alert
from alliance_cli.clinic.change import flagged_band
from alliance_cli.clinic.divergence import Gap
from alliance_cli.clinic.history import Series, means_by
from alliance_cli.clinic.overview import Overview, Watched, client_overview
from alliance_cli.clinic.store import Store
from alliance_cli.clinic.svgchart import COLOURS, CUTOFF_COLOUR, Line, trajectory_svg
from alliance_cli.model import Questionnaire
from alliance_cli.text import fmt_change, fmt_num

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:60rem;
color:#1d2330;line-height:1.45;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;
border-bottom:1px solid #ccd;padding-bottom:.2rem}h3{font-size:1rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem}
th,td{border-bottom:1px solid #e3e5ea;padding:.25rem .6rem;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.flag{color:#b3261e;font-weight:600}.meta{color:#5b6170;font-size:.85rem}
.alert{margin:.4rem 0;padding:.4rem .6rem;border-left:4px solid #b3261e;background:#fbf1f0}
.alert.prompt{border-color:#2f6db5;background:#eef4fb}.alert.info{border-color:#8a8f9c;
background:#f4f5f7}.src{color:#5b6170;font-size:.8rem}
#status{background:#f7f8fa;border:1px solid #e3e5ea;padding:.2rem 1rem .6rem}
#status h2{margin-top:.6rem;border:0}
.legend{font-size:.85rem;color:#3b4150;margin:.1rem 0 1rem}.legend span{margin-right:1.2rem}
.note{white-space:pre-wrap;min-width:12rem;max-width:22rem;overflow-wrap:anywhere}
.d{white-space:nowrap}.wide{overflow-x:auto}
svg{max-width:100%;height:auto;display:block}
@media print{body{margin:0;max-width:none}.wide{overflow:visible}table{font-size:.75rem}}
"""


def _n(x: float | None) -> str:
    return "–" if x is None else fmt_num(round(x, 2))


@dataclass(frozen=True)
class Status:
    """One line of the status summary: a watched scale of one series at its latest session."""

    questionnaire: str
    respondent: str
    scale: str
    session: int
    date: str
    score: float | None
    change: float | None
    """Against the previous scored session."""
    since_first: float | None
    """Latest score minus the first score."""
    alert_state: str
    concern: bool
    clinical_change: str = ""
    """Clinically significant change (Jacobson & Truax: recovered, improved, unchanged,
    deteriorated), or why there is none (:func:`_clinical_change`)."""


def _clinical_change(w: Watched, scale_id: str) -> str:
    """The clinically significant change of a scale in a word (its numbers follow the
    series' alerts), or why there is none: no cutoff to judge it by, or not computed (one
    session, or no reference for reliable change: the alerts say which)."""
    found = next((c.status for c in w.clinical_change if c.scale == scale_id), None)
    if found is not None:
        return found
    if flagged_band(w.series.questionnaire, scale_id) is None:
        return "none: no cutoff"
    return "not computed (see the alerts)"


def _alert_state(groups: list[AlertGroup], latest: int) -> tuple[str, bool]:
    """What the alerts say now: the marked alerts that reach the latest session (or after
    it: a questionnaire not given since), else how many earlier ones there are."""
    now = [g for g in groups if g.mark and max(g.sessions) >= latest]
    if now:
        marks = legend(g.mark for g in now if g.mark)
        concern = any(g.kind == "concern" for g in now)
        return "; ".join(f"{m.symbol} {m.meaning}" for m in marks), concern
    earlier = sum(1 for g in groups if g.mark)
    if earlier:
        return f"none now ({earlier} earlier, below)", False
    return "none", False


def status(overview: Overview) -> list[Status]:
    """The status summary: every watched scale of every series at its latest session."""
    out = []
    for w in overview.watched:
        s, q = w.series, w.series.questionnaire
        if not s.sessions:
            continue
        last = s.sessions[-1].administration
        state, concern = _alert_state(group_alerts(q, w.alerts), last.session)
        for scale_id in q.watched_scales():
            if scale_id not in q.scales:
                continue
            scored = [v for v in s.scores(scale_id) if v is not None]
            out.append(
                Status(
                    q.id,
                    s.respondent,
                    q.scales[scale_id].name,
                    last.session,
                    last.administered_at[:10],
                    s.sessions[-1].score(scale_id),
                    s.changes(scale_id)[-1],
                    scored[-1] - scored[0] if len(scored) > 1 else None,
                    state,
                    concern,
                    _clinical_change(w, scale_id),
                )
            )
    return out


def _status_html(rows: list[Status]) -> str:
    head = (
        "<tr><th>questionnaire</th><th>scale</th><th>latest session</th><th>score</th>"
        "<th>change</th><th>since first</th><th>alerts now</th>"
        "<th>clinically significant change</th></tr>"
    )
    body = "".join(
        f"<tr><td>{escape(r.questionnaire)} ({escape(r.respondent)})</td>"
        f'<td>{escape(r.scale)}</td><td class="d">{r.session}, {escape(r.date)}</td>'
        f'<td class="n">{_n(r.score) if r.score is not None else "withheld"}</td>'
        f'<td class="n">{escape(fmt_change(r.change)) or "–"}</td>'
        f'<td class="n">{escape(fmt_change(r.since_first)) or "–"}</td>'
        f'<td class="{"flag" if r.concern else ""}">{escape(r.alert_state)}</td>'
        f"<td>{escape(r.clinical_change)}</td></tr>"
        for r in rows
    )
    return (
        '<section id="status"><h2>Status</h2><div class="wide">'
        f"<table><thead>{head}</thead><tbody>{body}</tbody></table></div></section>"
    )


def _groups(overview: Overview) -> list[list[Watched]]:
    """Series charted together: one questionnaire answered by several respondents, or two
    linked by ``compare_with`` (WAI-SR with WAI-SR-T); the client first."""
    out: list[list[Watched]] = []
    for w in overview.watched:
        q = w.series.questionnaire
        for group in out:
            p = group[0].series.questionnaire
            if q.id == p.id or q.compare_with == p.id or p.compare_with == q.id:
                group.append(w)
                break
        else:
            out.append([w])
    return [sorted(g, key=lambda w: w.series.respondent != "client") for g in out]


def _legend(lines: list[Line], shown: dict[str, set[Mark]], cutoff: float | None) -> str:
    """What the chart shows: the series (when more than one), the cutoff, the marks."""
    parts = []
    if len(lines) > 1:
        for k, ln in enumerate(lines):
            shape = "●" if k % 2 == 0 else "■"
            parts.append(
                f'<span><b style="color:{COLOURS[k % len(COLOURS)]}">{shape}</b> '
                f"{escape(ln.series.respondent)} ({escape(ln.series.questionnaire.id)})</span>"
            )
    if cutoff is not None:
        parts.append(f'<span><b style="color:{CUTOFF_COLOUR}">- - -</b> cutoff {_n(cutoff)}</span>')
    for mark in legend(m for marks in shown.values() for m in marks):
        parts.append(f"<span><b>{escape(mark.symbol)}</b> {escape(mark.meaning)}</span>")
    return f'<div class="legend">{"".join(parts)}</div>'


def _chart(members: list[Watched], scale_id: str) -> str:
    """One scale's chart with every member series that has it on the same range."""
    first = members[0].series.questionnaire
    rng = first.scale_range(scale_id)
    lines = [
        Line(w.series, w.alerts)
        for w in members
        if scale_id in w.series.questionnaire.scales
        and w.series.questionnaire.scale_range(scale_id) == rng
    ]
    cutoff = first.scales[scale_id].cutoff()
    svg, shown = trajectory_svg(lines, scale_id, cutoff)
    who = " and ".join(ln.series.respondent for ln in lines)
    return (
        f"<h3>{escape(first.scales[scale_id].name)} by session ({escape(who)})</h3>"
        + svg
        + _legend(lines, shown, cutoff)
    )


def _sessions_table(series: Series, alerts: list[Alert]) -> str:
    q = series.questionnaire
    head = "".join(f"<th>{escape(s.name)}</th>" for s in q.scales.values())
    marks = session_marks(alerts, (*q.watched_scales(), None))
    rows = []
    changes = {sid: series.changes(sid) for sid in q.scales}
    for i, sess in enumerate(series.sessions):
        a = sess.administration
        cells = "".join(
            f'<td class="n">{_n(sess.score(sid))}'
            + (f" ({fmt_change(changes[sid][i])})" if changes[sid][i] is not None else "")
            + "</td>"
            for sid in q.scales
        )
        star = "*" if sess.definition_changed else ""
        mark = escape(marks[a.session].symbol) if a.session in marks else ""
        rows.append(
            f'<tr><td>{a.session}{star}</td><td class="d">{escape(a.administered_at)}</td>'
            f"<td>#{a.id}</td><td>{escape(a.clinician or '')}</td>"
            f"<td>{escape(a.modality or '')}</td>{cells}"
            f'<td class="flag">{mark}</td><td class="note">{escape(a.note or "")}</td></tr>'
        )
    return (
        '<div class="wide"><table><thead><tr><th>session</th><th>date</th><th>id</th>'
        f"<th>clinician</th><th>modality</th>{head}<th>mark</th><th>note</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _alerts(groups: list[AlertGroup]) -> str:
    if not groups:
        return "<p>No alerts.</p>"
    return "".join(
        f'<div class="alert {escape(g.kind)}" data-rule="{escape(g.rule)}">'
        f"<b>{escape(g.mark.symbol if g.mark else '·')}</b> {escape(g.message)}"
        f'<div class="src">rule {escape(g.rule)} · source: {escape(g.shown_source)}</div></div>'
        for g in groups
    )


def _clinical_change_html(w: Watched) -> str:
    """Clinically significant change per scale (Jacobson & Truax 1991), with its numbers."""
    return "".join(
        f'<p class="change" data-status="{escape(c.status)}">Clinically significant change: '
        f'{escape(c.message)}<span class="src"> Jacobson &amp; Truax (1991) · reference: '
        f"{escape(c.basis)} · source: {escape(c.source)}</span></p>"
        for c in w.clinical_change
    )


def _series_details(w: Watched) -> str:
    s, q = w.series, w.series.questionnaire
    out = [
        f"<h3>{escape(q.id)} ({escape(s.respondent)}): alerts</h3>",
        _alerts(group_alerts(q, w.alerts)),
    ]
    for scale_id in q.watched_scales():
        for key in ("clinician", "modality"):
            means = means_by(s, scale_id, key) if scale_id in q.scales else {}
            if len(means) > 1:
                parts = " · ".join(f"{escape(k)} {_n(m)} (n={n})" for k, (m, n) in means.items())
                out.append(f"<p>Mean {escape(q.scales[scale_id].name)} by {key}: {parts}</p>")
    out.append(_clinical_change_html(w))
    out.append(f"<h3>{escape(q.id)} ({escape(s.respondent)}): sessions</h3>")
    out.append(_sessions_table(s, w.alerts))
    if any(sess.definition_changed for sess in s.sessions):
        out.append(
            '<p class="meta">* recorded under another version of the definition; '
            "rescored with the current one.</p>"
        )
    return "".join(out)


def _section(members: list[Watched]) -> str:
    """One questionnaire (with its partner forms): charts first, then each series."""
    first = members[0].series.questionnaire
    ids = " · ".join(f"{w.series.questionnaire.id}, {w.series.respondent}" for w in members)
    out = [f'<h2>{escape(first.title)} <span class="meta">({escape(ids)})</span></h2>']
    for w in members:
        q = w.series.questionnaire
        if q.key_status.value != "verified":
            out.append(
                f'<p class="flag">{escape(q.id)}: scoring key {escape(q.key_status.value)}; '
                "check scores against the manual.</p>"
            )
    charted: set[str] = set()
    for k, w in enumerate(members):
        q = w.series.questionnaire
        for scale_id in q.watched_scales():
            if scale_id in q.scales and scale_id not in charted:
                charted.add(scale_id)
                out.append(_chart(members[k:], scale_id))
    out += [_series_details(w) for w in members]
    return "".join(out)


def _gap(g: Gap) -> str:
    name = g.first.questionnaire.scales[g.scale].name
    rows = "".join(
        f'<tr><td>{n}</td><td class="n">{_n(a)}</td><td class="n">{_n(b)}</td>'
        f'<td class="n">{_n(d)}</td></tr>'
        for n, (a, b, d) in zip(g.sessions, g.values, strict=True)
    )
    return (
        f"<h3>{escape(name)}: {escape(g.first.respondent)} vs "
        f"{escape(g.second.respondent)} — gap {escape(g.trend_text)}</h3><table><thead><tr>"
        f"<th>session</th><th>{escape(g.first.respondent)}</th>"
        f"<th>{escape(g.second.respondent)}</th><th>gap</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def render_html(overview: Overview, generated: str) -> str:
    """The whole report as one HTML document."""
    body = [
        f"<h1>Working alliance — client {escape(overview.client)}</h1>",
        f'<p class="meta">Generated {escape(generated)} by alliance {__version__}. Scores '
        "are recomputed from the recorded answers with the current definitions. "
        "Confidential: mental-health information.</p>",
    ]
    if not overview.watched:
        body.append("<p>No administrations recorded.</p>")
    else:
        body.append(_status_html(status(overview)))
    body += [_section(g) for g in _groups(overview)]
    if overview.gaps:
        body.append("<h2>Client and therapist</h2>" + "".join(_gap(g) for g in overview.gaps))
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Alliance report — {escape(overview.client)}</title>"
        f"<style>{CSS}</style></head><body>{''.join(body)}</body></html>\n"
    )


def client_report(
    store: Store,
    client: str,
    find: Callable[[str], Questionnaire],
    questionnaire: str | None = None,
    *,
    generated: str,
) -> str:
    """The HTML report of a client's :func:`~alliance_cli.clinic.overview.client_overview`
    (``generated``: when, as the report states it)."""
    return render_html(client_overview(store, client, find, questionnaire), generated)
