"""A self-contained HTML report of a client's alliance, for supervision or the client's file.

One file, no network: styles inline, charts as inline SVG. It shows, per questionnaire and
respondent, the trajectory of each watched scale with its cutoff and alert marks, the alerts
with their explanations and sources, the table of sessions, means per clinician and
modality, and client-vs-therapist gaps. All recorded text is HTML-escaped.
"""

from __future__ import annotations

from html import escape

from . import __version__
from .alerts import Alert
from .history import Gap, Series, means_by
from .model import fmt_change, fmt_num
from .overview import Overview, Watched

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:60rem;
color:#1d2330;line-height:1.45}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;
border-bottom:1px solid #ccd;padding-bottom:.2rem}h3{font-size:1rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem}
th,td{border-bottom:1px solid #e3e5ea;padding:.25rem .6rem;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.flag{color:#b3261e;font-weight:600}.meta{color:#5b6170;font-size:.85rem}
.alert{margin:.4rem 0;padding:.4rem .6rem;border-left:4px solid #b3261e;background:#fbf1f0}
.alert.prompt{border-color:#2f6db5;background:#eef4fb}.alert.info{border-color:#8a8f9c;
background:#f4f5f7}.src{color:#5b6170;font-size:.8rem}
svg{max-width:100%;height:auto}
@media print{body{margin:0}}
"""


def _n(x: float | None) -> str:
    return "–" if x is None else fmt_num(round(x, 2))


def trajectory_svg(series: Series, scale_id: str, alerts: list[Alert]) -> str:
    """An inline SVG line chart of one scale: points, a dashed cutoff line, alert marks."""
    q = series.questionnaire
    scale = q.scales[scale_id]
    lo, hi = q.scale_range(scale_id)
    sessions = [s.administration.session for s in series.sessions]
    scores = series.scores(scale_id)
    width, height, left, right, top, bottom = 640, 240, 48, 16, 16, 36
    plot_w, plot_h = width - left - right, height - top - bottom

    def x_of(i: int) -> float:
        return left + (plot_w * i / max(len(sessions) - 1, 1) if len(sessions) > 1 else plot_w / 2)

    def y_of(v: float) -> float:
        return top + plot_h * (hi - v) / (hi - lo)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" class="chart" data-scale="{escape(scale_id)}" '
        f'aria-label="{escape(scale.name)} by session">'
    ]
    for value in (lo, (lo + hi) / 2, hi):
        y = y_of(value)
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#e3e5ea"/>'
        )
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" '
            f'fill="#5b6170">{_n(value)}</text>'
        )
    cutoff = scale.cutoff()
    if cutoff is not None:
        y = y_of(cutoff)
        parts.append(
            f'<line class="cutoff" x1="{left}" y1="{y:.1f}" x2="{width - right}" '
            f'y2="{y:.1f}" stroke="#b3261e" stroke-dasharray="5 4"/>'
        )
        parts.append(
            f'<text x="{width - right}" y="{y - 4:.1f}" font-size="11" '
            f'text-anchor="end" fill="#b3261e">cutoff {_n(cutoff)}</text>'
        )
    points = [(x_of(i), y_of(v)) for i, v in enumerate(scores) if v is not None]
    if len(points) > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(
            f'<polyline class="series" points="{path}" fill="none" stroke="#2f6db5" '
            'stroke-width="2"/>'
        )
    mine = [a for a in alerts if a.scale == scale_id]
    concerns = {a.session for a in mine if a.kind == "concern"}
    ruptures = {a.session for a in mine if a.rule == "rupture"}
    for i, v in enumerate(scores):
        x = x_of(i)
        parts.append(
            f'<text x="{x:.1f}" y="{height - 14}" font-size="11" text-anchor="middle" '
            f'fill="#5b6170">{sessions[i]}</text>'
        )
        if v is None:
            continue
        y = y_of(v)
        color = "#b3261e" if sessions[i] in concerns else "#2f6db5"
        notes = [a.message for a in mine if a.session == sessions[i]]
        title = escape(" — ".join([f"session {sessions[i]}: {_n(v)}", *notes]))
        parts.append(
            f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{color}">'
            f"<title>{title}</title></circle>"
        )
        if sessions[i] in ruptures:
            parts.append(
                f'<text class="mark" x="{x:.1f}" y="{y - 9:.1f}" font-size="12" '
                f'text-anchor="middle" fill="{color}">R</text>'
            )
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 2}" font-size="11" '
        'text-anchor="middle" fill="#5b6170">session</text></svg>'
    )
    return "".join(parts)


def _sessions_table(series: Series) -> str:
    q = series.questionnaire
    head = "".join(f"<th>{escape(s.name)}</th>" for s in q.scales.values())
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
        flags = ", ".join(f.label for f in sess.report.flags if f.kind == "band")
        star = "*" if sess.definition_changed else ""
        rows.append(
            f"<tr><td>{a.session}{star}</td><td>{escape(a.administered_at)}</td>"
            f"<td>{escape(a.clinician or '')}</td><td>{escape(a.modality or '')}</td>"
            f'{cells}<td class="flag">{escape(flags)}</td></tr>'
        )
    return (
        "<table><thead><tr><th>session</th><th>date</th><th>clinician</th>"
        f"<th>modality</th>{head}<th>flags</th></tr></thead><tbody>{''.join(rows)}"
        "</tbody></table>"
    )


def _alerts(alerts: list[Alert]) -> str:
    if not alerts:
        return "<p>No alerts.</p>"
    return "".join(
        f'<div class="alert {escape(a.kind)}" data-rule="{escape(a.rule)}">'
        f'{escape(a.message)}<div class="src">rule {escape(a.rule)} · source: '
        f"{escape(a.source)}</div></div>"
        for a in alerts
    )


def _clinical_change(w: Watched) -> str:
    """Clinically significant change per scale (Jacobson & Truax 1991), with its numbers."""
    return "".join(
        f'<p class="change" data-status="{escape(c.status)}">Clinically significant change: '
        f'{escape(c.message)}<span class="src"> Jacobson &amp; Truax (1991) · reference: '
        f"{escape(c.basis)} · source: {escape(c.source)}</span></p>"
        for c in w.clinical_change
    )


def _watched(w: Watched) -> str:
    s = w.series
    q = s.questionnaire
    out = [
        f'<h2>{escape(q.title)} <span class="meta">({escape(q.id)}, '
        f"{escape(s.respondent)})</span></h2>"
    ]
    if q.key_status.value != "verified":
        out.append(
            f'<p class="flag">Scoring key {escape(q.key_status.value)}: check scores '
            "against the manual.</p>"
        )
    for scale_id in q.watched_scales():
        if scale_id not in q.scales:
            continue
        out.append(f"<h3>{escape(q.scales[scale_id].name)}</h3>")
        out.append(trajectory_svg(s, scale_id, w.alerts))
        for key in ("clinician", "modality"):
            groups = means_by(s, scale_id, key)
            if len(groups) > 1:
                parts = " · ".join(f"{escape(k)} {_n(m)} (n={n})" for k, (m, n) in groups.items())
                out.append(f"<p>Mean by {key}: {parts}</p>")
    out.append("<h3>Alerts</h3>" + _alerts(w.alerts))
    out.append(_clinical_change(w))
    out.append("<h3>Sessions</h3>" + _sessions_table(s))
    if any(sess.definition_changed for sess in s.sessions):
        out.append(
            '<p class="meta">* recorded under another version of the definition; '
            "rescored with the current one.</p>"
        )
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
        f"{escape(g.second.respondent)} — gap {escape(g.trend)}</h3><table><thead><tr>"
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
    body += [_watched(w) for w in overview.watched]
    if overview.gaps:
        body.append("<h2>Client and therapist</h2>" + "".join(_gap(g) for g in overview.gaps))
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Alliance report — {escape(overview.client)}</title>"
        f"<style>{CSS}</style></head><body>{''.join(body)}</body></html>\n"
    )
