"""RFC 4180 CSV output protected against formula injection.

A spreadsheet treats a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab, CR, LF or NUL
as a formula (OWASP "CSV Injection"). Text cells that start so get a leading ``'``; numbers
stay numbers, so ``-1.5`` written as a float is untouched.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from typing import IO

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\0")

Cell = str | int | float | bool | None


def escape_formula(cell: Cell) -> Cell:
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS):
        return "'" + cell
    return cell


def _plain(cell: Cell) -> str | int | float:
    if cell is None:
        return ""
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, float) and cell.is_integer():
        return int(cell)
    return cell


def write_csv(
    stream: IO[str],
    header: Sequence[str],
    rows: Iterable[Sequence[Cell]],
    *,
    escape_formulas: bool = True,
) -> None:
    """Write a header and rows; ``None`` becomes an empty cell."""
    writer = csv.writer(stream, lineterminator="\r\n")
    writer.writerow([escape_formula(h) if escape_formulas else h for h in header])
    for row in rows:
        cells = [escape_formula(c) if escape_formulas else c for c in row]
        writer.writerow([_plain(c) for c in cells])
