"""The screening table of ``alliance quality`` on stdout; notices go to stderr.

Flag names hold questionnaire ids (user text, from definitions): they go into rich as
``Text``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich import box
from rich.table import Table
from rich.text import Text

from alliance_cli.ui import render

if TYPE_CHECKING:
    from alliance_cli.research.quality.report import Quality
    from alliance_cli.research.quality.screen import FlagCount


def show(result: Quality) -> None:
    """One table per questionnaire (the speed flag with the last): flag, threshold,
    source, responses caught of those whose index was computed, and that share."""
    s = result.screening
    console = render.out()
    n = s.screened
    console.print(
        Text(
            f"careless-response screening: {s.flagged:,} of {n:,} response"
            f"{'s' * (n != 1)} flagged (kept; indices as R careless computes them)"
        )
    )
    groups: dict[str, list[FlagCount]] = {}
    for c in s.counts:
        qid = c.rule.flag.rsplit(".", 1)[0] if "." in c.rule.flag else ""
        groups.setdefault(qid, []).append(c)
    last = next((q for q in reversed(groups) if q), "")
    if "" in groups:
        groups[last] = [*groups.get(last, []), *groups.pop("")]
    for qid, counts in groups.items():
        console.print(Text(qid, style="bold"))
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, padding=(0, 1, 0, 2))
        for col in ("flag", "threshold", "source", "caught", "%"):
            table.add_column(col, justify="right" if col in ("caught", "%") else "left")
        for c in counts:
            rule = c.rule
            if c.note or not rule.cutoff:
                table.add_row(Text(rule.flag), Text(rule.threshold), Text(rule.source), "–", "–")
                continue
            caught = c.caught
            pct = "–" if c.percent is None else f"{c.percent:.1f}"
            table.add_row(
                Text(rule.flag),
                Text(rule.threshold),
                Text(rule.source),
                f"{caught:,} of {c.computed:,}",
                pct,
            )
        console.print(table)


def messages(result: Quality) -> None:
    """On stderr: the rows left out and bad cells scored as missing, each flag that was not
    computed and why, and where the per-response indices went."""
    s = result.screening
    if result.bad_cells:
        from alliance_cli.research.batch import bad_cells_line

        render.notices([bad_cells_line(result.bad_cells)])
    render.notices(f"{c.rule.flag}: {c.note}" for c in s.counts if c.note)
    if s.duration is None:
        render.notices(
            [
                "no duration column (Qualtrics 'Duration (in seconds)', or --duration-column): "
                "no speed flag"
            ]
        )


def nothing_screened(result: Quality) -> None:
    """No response was screened: why (the rows left out), and how to print the empty
    result."""
    if result.accounting.reasons():
        render.notices([result.accounting.describe()])
    render.warning(
        "no response was kept, so there is nothing to screen (and nothing was written); "
        "--allow-empty prints the empty result and exits 0"
    )
