"""Tables of the practice's local norms (`alliance norms build|list`)."""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.table import Table
from rich.text import Text

from ..change import n2, r2
from ..norms import LocalNorm
from .render import notices, out


def table(rows: Sequence[LocalNorm], title: str) -> None:
    if not rows:
        notices(["no norms built yet (alliance norms build -q ID)"])
        return
    t = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False)
    for col in (
        "id",
        "built",
        "questionnaire",
        "scale",
        "respondent",
        "n",
        "mean",
        "SD",
        "first sessions",
        "reliability",
    ):
        t.add_column(col, justify="right" if col in ("id", "n", "mean", "SD") else "left")
    for n in rows:
        t.add_row(
            str(n.id),
            n.built_at[:10],
            Text(f"{n.questionnaire} {n.version}"),
            Text(n.scale),
            n.respondent,
            str(n.n),
            n2(n.mean),
            n2(n.sd),
            f"{n.first_date}…{n.last_date}",
            Text(f"{r2(n.reliability)} ({n.reliability_source})"),
        )
    out().print(t)
