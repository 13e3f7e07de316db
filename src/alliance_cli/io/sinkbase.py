"""What every output sink is (:class:`Sink`: chunks in, one commit or one discard) and the row
limit a format may set (:class:`RowLimit`); the writers themselves are in
:mod:`alliance_cli.io.sinks` (delimited text) and :mod:`alliance_cli.io.binsinks` (Excel,
Parquet, SPSS)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from alliance_cli.errors import Problem, UsageError
from alliance_cli.io.atomic import Output
from alliance_cli.io.columns import Column


@dataclass(frozen=True)
class RowLimit:
    """The most data rows a format holds (Excel: 1,048,575), checked before the work: by
    the run against the rows it reads (:func:`~alliance_cli.research.run.run_batch`) and by the
    sink against the rows it is given."""

    rows: int
    place: str
    """The output, as an error names it."""

    def check(self, reached: int, at: str = "") -> None:
        """Raise ``too-many-rows`` when the output reaches ``reached`` rows (``at``: the
        input row that takes it there, as ``row 1,048,577 of big.csv``)."""
        if reached > self.rows:
            where = f" at {at}" if at else ""
            raise UsageError(
                Problem(
                    "too-many-rows",
                    f"too many rows for an Excel file: the output reaches {reached:,} rows"
                    f"{where}; an Excel sheet holds at most {self.rows:,} data rows; write "
                    ".csv or .parquet",
                    self.place,
                ),
                hint="nothing was written",
            )


class Sink:
    """Writes an output table chunk by chunk (see the module docstring)."""

    def __init__(
        self,
        target: Path | IO[bytes],
        columns: Sequence[Column],
        *,
        escape_formulas: bool = True,
    ) -> None:
        self.columns = tuple(columns)
        self.escape_formulas = escape_formulas
        self.pending = Output(target)
        self.rows = 0

    def write(self, frame: Any) -> None:
        self.rows += len(frame)

    def commit(self) -> None:
        self.pending.commit()

    def discard(self) -> None:
        self.pending.discard()
