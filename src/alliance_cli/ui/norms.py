"""Tables of the practice's local norms (`alliance norms build|list`)."""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.table import Table
from rich.text import Text

from alliance_cli.clinic.change import n2, r2
from alliance_cli.clinic.norms import LocalNorm
from alliance_cli.ui.render import notices, out, wrapped


def table(rows: Sequence[LocalNorm], title: str) -> None:
    """One row per norm (fits 80 columns); its versions, dates and where its reliability
    comes from on a line of its own below."""
    if not rows:
        notices(["no norms built yet (alliance norms build -q ID)"])
        return
    t = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False)
    for col in ("id", "built", "norm", "n", "mean", "SD", "r"):
        t.add_column(col, justify="left" if col in ("built", "norm") else "right", no_wrap=True)
    for n in rows:
        who = "" if n.respondent == "client" else f" ({n.respondent})"
        t.add_row(
            str(n.id),
            Text(n.built_at[:10]),
            Text(f"{n.questionnaire} {n.scale}{who}"),
            str(n.n),
            n2(n.mean),
            n2(n.sd),
            r2(n.reliability),
        )
    console = out()
    console.print(t)
    for n in rows:
        wrapped(
            console,
            f"norm {n.id}: {n.questionnaire} {n.version}, clients' first sessions "
            f"{n.first_date}…{n.last_date}; reliability {r2(n.reliability)} from "
            f"{n.reliability_source}",
        )
