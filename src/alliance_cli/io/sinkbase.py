"""What every output sink is (:class:`Sink`: chunks in, one commit or one discard), the row
limit a format may set (:class:`RowLimit`) and what the binary writers share (their optional
library, their errors); the writers themselves are in :mod:`alliance_cli.io.sinks` (delimited
text), :mod:`alliance_cli.io.binsinks` (Parquet), :mod:`alliance_cli.io.excelsink` and
:mod:`alliance_cli.io.savsink`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from alliance_cli.errors import FORMATS_HINT, InputFileError, Problem, UsageError
from alliance_cli.io.atomic import Output
from alliance_cli.io.columns import Column
from alliance_cli.io.csvout import arrow_column

_LIBRARY = {"xlsx": "openpyxl", "parquet": "pyarrow", "sav": "pyreadstat"}


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


def require_library(fmt: str, target: Path | IO[bytes]) -> None:
    """Raise ``format-unavailable`` unless the library writing ``fmt`` imports."""
    import importlib

    try:
        importlib.import_module(_LIBRARY[fmt])
    except ImportError:
        raise InputFileError(
            Problem(
                "format-unavailable",
                f"writing .{fmt} files needs {_LIBRARY[fmt]}, which is not installed: "
                f"{FORMATS_HINT}",
                place(target),
            ),
            hint=f"install the optional formats with: {FORMATS_HINT}",
        ) from None


def place(target: Path | IO[bytes]) -> str:
    """The target as an error names it."""
    return str(target) if isinstance(target, Path) else "stdout"


def write_failed(target: Path | IO[bytes], exc: BaseException) -> InputFileError:
    """A writing library's failure (an ``OSError`` or its own error) as the user error."""
    reason = getattr(exc, "strerror", None) or str(exc).strip() or type(exc).__name__
    return InputFileError(
        Problem("file-unwritable", f"cannot write the file: {reason}", place(target))
    )


def arrow_strings(values: Any) -> Any:
    """A pandas text column (object, str or Categorical) as an Arrow ``string`` array."""
    import pyarrow as pa

    array = arrow_column(values)
    return array if array.type == pa.string() else array.cast(pa.string())
