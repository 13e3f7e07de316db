"""The trajectory chart of the HTML report, as inline SVG: one scale, one or more series
(client and therapist on one chart), the cutoff, and the alert marks of ``alertgroups``.

Layout rules that keep every label clear of points and lines (a browser test measures it):
the y axis zooms to the scores with the cutoff in view (as the text chart does); tick labels
sit in the left margin, the cutoff's label in the right margin, session numbers and the mark
rows (one per series) below the plot; points never leave the plot area.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from alliance_cli.clinic.alertgroups import Mark, session_marks
from alliance_cli.clinic.alerts import Alert
from alliance_cli.clinic.history import Series
from alliance_cli.text import fmt_num

COLOURS = ("#2f6db5", "#c2580a", "#5b8a3a", "#7a4fa0")
CUTOFF_COLOUR = "#b3261e"


@dataclass(frozen=True)
class Line:
    """One series on a chart, with its alerts (for the marks)."""

    series: Series
    alerts: Sequence[Alert]


def _n(x: float) -> str:
    return fmt_num(round(x, 2))


def y_span(
    values: Sequence[float], cutoffs: Sequence[float], lo: float, hi: float
) -> tuple[float, float]:
    """The y axis: the scores and the cutoffs, padded by a tenth of their spread (at least
    2% of the scale), inside the scale's range — the same zoom as the text chart."""
    points = [*values, *cutoffs]
    if not points:
        return lo, hi
    top, bottom = max(points), min(points)
    pad = max((top - bottom) * 0.1, (hi - lo) * 0.02)
    top, bottom = min(hi, top + pad), max(lo, bottom - pad)
    if top == bottom:
        top, bottom = min(hi, top + 1), max(lo, bottom - 1)
    return bottom, top


def ticks(bottom: float, top: float, count: int = 4) -> list[float]:
    """Round tick values (1, 2 or 5 × 10ⁿ apart) inside ``bottom``–``top``."""
    raw = (top - bottom) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(bottom / step - 1e-9) * step
    out = []
    value = first
    while value <= top + 1e-9:
        out.append(round(value, 10))
        value += step
    return out


def trajectory_svg(
    lines: Sequence[Line], scale_id: str, cutoff: float | None
) -> tuple[str, dict[str, set[Mark]]]:
    """The chart, and the marks shown per respondent (for the legend under it)."""
    first = lines[0].series.questionnaire
    scale = first.scales[scale_id]
    lo, hi = first.scale_range(scale_id)
    sessions = sorted({s.administration.session for ln in lines for s in ln.series.sessions})
    values = [v for ln in lines for v in ln.series.scores(scale_id) if v is not None]
    bottom, top = y_span(values, [cutoff] if cutoff is not None else [], lo, hi)

    spacing = 56.0 if len(sessions) <= 10 else 28.0 if len(sessions) <= 20 else 14.0
    left, right, top_pad = 48, 84, 10
    plot_w = max(520.0, spacing * max(len(sessions) - 1, 1) + 24)
    plot_h = 180
    width = left + plot_w + right
    plot_bottom = top_pad + plot_h
    label_row = plot_bottom + 18
    mark_rows = [label_row + 18 + 18 * k for k in range(len(lines))]
    height = (mark_rows[-1] if mark_rows else label_row) + 10

    def x_of(session: int) -> float:
        i = sessions.index(session)
        inner = plot_w - 24
        return left + 12 + (inner * i / (len(sessions) - 1) if len(sessions) > 1 else inner / 2)

    def y_of(v: float) -> float:
        return top_pad + 8 + (plot_h - 16) * (top - v) / (top - bottom)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}" role="img" class="chart" '
        f'data-scale="{escape(scale_id)}" aria-label="{escape(scale.name)} by session">'
    ]
    for value in ticks(bottom, top):
        y = y_of(value)
        if not top_pad <= y <= plot_bottom:
            continue
        parts.append(
            f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{left + plot_w:.1f}" '
            f'y2="{y:.1f}" stroke="#e3e5ea"/>'
            f'<text class="label tick" x="{left - 6}" y="{y + 4:.1f}" font-size="11" '
            f'text-anchor="end" fill="#5b6170">{_n(value)}</text>'
        )
    if cutoff is not None:
        y = y_of(cutoff)
        parts.append(
            f'<line class="cutoff" x1="{left}" y1="{y:.1f}" x2="{left + plot_w:.1f}" '
            f'y2="{y:.1f}" stroke="{CUTOFF_COLOUR}" stroke-dasharray="5 4"/>'
            f'<text class="label cutoff-label" x="{left + plot_w + 6:.1f}" y="{y + 4:.1f}" '
            f'font-size="11" fill="{CUTOFF_COLOUR}">cutoff {_n(cutoff)}</text>'
        )
    step = max(1, math.ceil(24 / (plot_w / max(len(sessions), 1))))
    for i, n in enumerate(sessions):
        if (len(sessions) - 1 - i) % step == 0:  # every step-th, counted from the latest
            parts.append(
                f'<text class="label session" x="{x_of(n):.1f}" y="{label_row}" '
                f'font-size="11" text-anchor="middle" fill="#5b6170">{n}</text>'
            )
    parts.append(
        f'<text class="label" x="{left - 6}" y="{label_row}" font-size="11" '
        'text-anchor="end" fill="#5b6170">session</text>'
    )
    shown: dict[str, set[Mark]] = {}
    for k, ln in enumerate(lines):
        colour = COLOURS[k % len(COLOURS)]
        parts += _series(ln, scale_id, k, colour, x_of, y_of)
        marks = session_marks(ln.alerts, (scale_id, None))
        here = {n: m for n, m in marks.items() if n in sessions}
        shown[ln.series.respondent] = set(here.values())
        for n, mark in here.items():
            parts.append(
                f'<text class="label mark" x="{x_of(n):.1f}" y="{mark_rows[k]}" '
                f'font-size="12" text-anchor="middle" fill="{colour}" '
                f'data-session="{n}"><title>{escape(mark.meaning)}</title>'
                f"{escape(mark.symbol)}</text>"
            )
        if len(lines) > 1 and here:
            parts.append(
                f'<text class="label" x="{left - 6}" y="{mark_rows[k]}" font-size="10" '
                f'text-anchor="end" fill="{colour}">{escape(ln.series.respondent)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts), shown


def _series(
    ln: Line,
    scale_id: str,
    k: int,
    colour: str,
    x_of: Callable[[int], float],
    y_of: Callable[[float], float],
) -> list[str]:
    """Lines between scored sessions (a withheld one breaks the line) and one point per
    score: circles for the first series, squares for the second, and so on."""
    s = ln.series
    parts: list[str] = []
    run: list[tuple[float, float]] = []
    runs = [run]
    for sess, v in zip(s.sessions, s.scores(scale_id), strict=True):
        if v is None:
            run = []
            runs.append(run)
            continue
        run.append((x_of(sess.administration.session), y_of(v)))
    for r in runs:
        if len(r) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in r)
            parts.append(
                f'<polyline class="series" data-respondent="{escape(s.respondent)}" '
                f'points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>'
            )
    for sess, v in zip(s.sessions, s.scores(scale_id), strict=True):
        if v is None:
            continue
        n = sess.administration.session
        x, y = x_of(n), y_of(v)
        title = f"<title>{escape(f'{s.respondent}, session {n}: {_n(v)}')}</title>"
        if k % 2 == 0:
            parts.append(
                f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}">'
                f"{title}</circle>"
            )
        else:
            parts.append(
                f'<rect class="point" x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8" '
                f'fill="{colour}">{title}</rect>'
            )
    return parts
