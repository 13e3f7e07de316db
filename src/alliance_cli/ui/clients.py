"""The clients screen: the clients in the history database (``clients``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich import box
from rich.table import Table
from rich.text import Text

from alliance_cli.ui.render import out

if TYPE_CHECKING:
    from alliance_cli.clinic.store import ClientSummary


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
