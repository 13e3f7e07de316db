"""The score screen: the table of one administration's scores with its flags and withheld
scales (``score``, ``administer``), and the line saying where it was recorded."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich import box
from rich.table import Table
from rich.text import Text

from alliance_cli.ui.render import err, num, out

if TYPE_CHECKING:
    from alliance_cli.clinic.store import Administration
    from alliance_cli.result import ScaleResult, ScoreReport


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
    for note in report.notes:
        console.print(Text("note: ", style="cyan") + Text(f"{note}.", style="dim"))


def recorded(saved: Administration) -> None:
    err().print(
        Text(
            f"recorded administration #{saved.id}: client {saved.client}, session "
            f"{saved.session}, {saved.questionnaire_id} ({saved.respondent}), "
            f"{saved.administered_at}",
            style="green",
        )
    )
