"""A text chart of one scale across sessions that reads without colour.

Scores are ``●``, the cutoff is a row of ``┄`` with its value, and a mark row under the axis
shows alerts with the marks of ``alertgroups.MARKS`` (the HTML report uses the same) —
characters, not colour, so ``NO_COLOR`` and printouts keep it.
"""

from __future__ import annotations

from collections.abc import Sequence

from alliance_cli.text import fmt_num


def hidden(sessions: Sequence[int], columns: int) -> int:
    """How many of the earliest sessions a chart ``columns`` wide leaves out."""
    width = max(4, max((len(str(n)) for n in sessions), default=1) + 2)
    return max(0, len(sessions) - max(1, (columns - 16) // width))


def chart(
    sessions: Sequence[int],
    scores: Sequence[float | None],
    *,
    lo: float,
    hi: float,
    cutoff: float | None = None,
    marks: dict[int, str] | None = None,
    height: int = 8,
    columns: int = 80,
) -> list[str]:
    """Lines of the chart, none wider than ``columns``. The y axis spans the scores and the
    cutoff (padded, inside the scale's ``lo``–``hi``) so small changes stay visible; withheld
    sessions are blank. When the sessions do not fit, only the latest ones are charted (see
    :func:`hidden`)."""
    marks = marks or {}
    width = max(4, max((len(str(n)) for n in sessions), default=1) + 2)
    skip = hidden(sessions, columns)
    sessions, scores = sessions[skip:], scores[skip:]
    present = [s for s in scores if s is not None]
    points = present + ([cutoff] if cutoff is not None else [])
    if not points:
        return []
    top, bottom = max(points), min(points)
    pad = max((top - bottom) * 0.1, (hi - lo) * 0.02)
    top, bottom = min(hi, top + pad), max(lo, bottom - pad)
    if top == bottom:
        top, bottom = min(hi, top + 1), max(lo, bottom - 1)
    step = (top - bottom) / (height - 1)

    def row_of(value: float) -> int:
        return round((top - value) / step)

    label_width = max(
        len(fmt_num(round(v, 1))) for v in (top, bottom, *([cutoff] if cutoff is not None else []))
    )
    cutoff_row = row_of(cutoff) if cutoff is not None else None

    def point_row(value: float) -> int:
        """A score's row; never on the cutoff line (or across it) unless it is the cutoff:
        a score below it must read as below it, however coarse the rows."""
        r = row_of(value)
        if cutoff is not None and cutoff_row is not None:
            if value < cutoff - 1e-9:
                r = max(r, cutoff_row + 1)
            elif value > cutoff + 1e-9:
                r = min(r, cutoff_row - 1)
        return min(max(r, 0), height - 1)

    lines = []
    for r in range(height):
        value = top - r * step
        label = ""
        if r in (0, height - 1):
            label = fmt_num(round(value, 1))
        if r == cutoff_row and cutoff is not None:
            label = fmt_num(cutoff)
        cells = []
        for s in scores:
            if s is not None and point_row(s) == r:
                cells.append("●".center(width))
            elif r == cutoff_row:
                cells.append("┄" * width)
            else:
                cells.append(" " * width)
        suffix = " cutoff" if r == cutoff_row else ""
        lines.append(f"{label:>{label_width}} ┤{''.join(cells)}{suffix}".rstrip())
    lines.append(" " * label_width + " └" + "─" * (width * len(scores)))
    lines.append(
        " " * label_width + "  " + "".join(str(n).center(width) for n in sessions) + " session"
    )
    if any(n in marks for n in sessions):
        row = "".join(marks.get(n, "").center(width) for n in sessions)
        lines.append((" " * label_width + "  " + row).rstrip())
    return lines
