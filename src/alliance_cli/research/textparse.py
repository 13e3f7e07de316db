"""Parsing one run of whole rows of a delimited text file (:class:`Rows`, cut by
:class:`~alliance_cli.research.textread.TextFile`) into a table of text cells: by Arrow's
CSV reader with every column typed as text, or — for a run Arrow cannot take as it is (a
short or long row, a lone quote inside an unquoted cell, bytes that are not UTF-8) — by
Python's ``csv`` module, which pads short rows, names a row that is too long and locates
bad bytes."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any, Protocol

from alliance_cli.errors import InputFileError, Problem


@dataclass(frozen=True)
class Rows:
    """A run of whole rows: their bytes (UTF-8) and, per row, its number in the file and
    whether it is empty (an empty line, which Arrow skips)."""

    data: bytes
    numbers: Any  # int64, one per row in data
    empty: Any  # bool, one per row in data
    quoted_newline: bool
    first_line: int
    """Physical line (1-based) on which ``data`` starts."""
    end: int = 0
    """Input bytes up to the end of the run (for progress; estimated for transcoded input)."""


class Source(Protocol):
    """What parsing a run needs to know of its file."""

    name: str
    delimiter: str
    columns: tuple[str, ...]

    @property
    def record(self) -> int:
        """Records (rows, empty lines included) consumed so far."""
        ...

    def text(self, data: bytes, line: int) -> str:
        """``data`` (starting on physical line ``line``) as text; bad bytes named."""
        ...


def parse_run(run: Rows, source: Source) -> tuple[Any, Any]:
    """(pandas DataFrame of text with columns 0..k-1, row numbers) of a run's non-empty
    rows: read by Arrow, or when Arrow cannot take the run as it is, by the csv module."""
    import numpy as np

    numbers = run.numbers[~run.empty]
    table = _arrow(run, len(numbers), source)
    if table is None:
        return _python(run, source)
    return _frame(table, len(source.columns)), numbers.astype(np.int64)


def _arrow(run: Rows, expected: int, source: Source) -> Any:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    names = [f"c{k}" for k in range(len(source.columns))]
    try:
        table = pacsv.read_csv(
            pa.py_buffer(run.data),
            # Arrow's reader threads outlived a failed read and aborted the interpreter's
            # exit ("terminate called without an active exception", about 2% of error
            # exits); a run is a few MiB, so one thread per read costs little.
            read_options=pacsv.ReadOptions(
                column_names=names, block_size=4 << 20, use_threads=False
            ),
            # No invalid-row handler: a short or long row raises, and the csv module
            # reads the run (a handler also saw rows Arrow could not decode, and its
            # UnicodeDecodeError came out as "Exception ignored" on stderr).
            parse_options=pacsv.ParseOptions(
                delimiter=source.delimiter, newlines_in_values=run.quoted_newline
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                null_values=[],
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None  # invalid UTF-8 or a parse error: the csv module names the place
    if table.num_rows != expected:
        return None
    return table


def _python(run: Rows, source: Source) -> tuple[Any, Any]:
    """The careful reader: pads short rows, names a long row, locates bad bytes."""
    import numpy as np
    import pandas as pd  # type: ignore[import-untyped]

    text = source.text(run.data, run.first_line)
    # No cell is longer than the run: a long cell is the batch checks' bad cell (row and
    # column named), never a failure of the whole file. (Raised only, never lowered.)
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    width = len(source.columns)
    cells: list[list[str]] = []
    numbers: list[int] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=source.delimiter, strict=False)
    first = int(run.numbers[0]) if len(run.numbers) else source.record + 1
    try:
        # The csv module's own records, numbered on from the run's first row (an empty
        # line is a record too, as in the byte split).
        for k, row in enumerate(reader):
            number = first + k
            if not row:
                continue
            if len(row) > width:
                raise InputFileError(
                    Problem(
                        "file-parse",
                        f"row {number} has {len(row)} cells; the header has {width}",
                        source.name,
                    ),
                    hint="check the delimiter (--sep) and the quoting of that row",
                )
            cells.append(row + [""] * (width - len(row)))
            numbers.append(number)
    except csv.Error as exc:
        raise InputFileError(
            Problem("file-parse", f"cannot read as delimited text: {exc}", source.name),
            hint="check the delimiter (--sep) and the quoting of that line",
        ) from None
    frame = pd.DataFrame(cells, columns=range(width), dtype=object)
    if not cells:
        frame = pd.DataFrame({j: pd.Series([], dtype=object) for j in range(width)})
    return frame, np.array(numbers, dtype=np.int64)


def _frame(table: Any, width: int) -> Any:
    import pandas as pd

    frame = table.to_pandas()
    frame.columns = range(width)
    if width and frame[0].dtype != object and not isinstance(frame[0].dtype, pd.StringDtype):
        frame = frame.astype(object)
    return frame
