"""The table of text every input becomes (:class:`TextTable`), and an input opened for
reading it in chunks of rows (:class:`Opened`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


@dataclass(frozen=True)
class TextTable:
    """One input file as text: ``frame`` has positional column labels 0..k-1 whose names are
    ``columns``; ``rows`` holds each frame row's number in the file (headers counted)."""

    name: str
    """The file as given, or ``stdin``."""
    columns: tuple[str, ...]
    frame: Any  # pandas.DataFrame of str, no NaN
    rows: Any  # numpy int64 array, one per frame row
    header_rows: int
    delimiter: str
    encoding: str
    format: str = "text"
    """``text``, ``xlsx``, ``sav``, ``dta`` or ``parquet``."""
    value_labels: Mapping[int, Mapping[str, str]] = field(default_factory=dict)
    """SPSS/Stata value labels: column position → {code as text: label}."""

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def delimiter_name(self) -> str:
        if not self.delimiter:
            return f"none ({self.format})"
        return _NAMES.get(self.delimiter, repr(self.delimiter))


@dataclass
class Opened:
    """An input opened for reading in chunks of rows."""

    name: str
    columns: tuple[str, ...]
    size: int | None
    """Its size in bytes, when known (not for stdin)."""
    chunks: Iterator[TextTable]
    position: Callable[[], int]
    """Input bytes up to the end of the rows given in :attr:`chunks` so far (for progress:
    read-ahead not counted)."""
    rows: int | None = None
    """Its data rows, when known before reading them (a file read whole)."""
    stamp: tuple[int, int] | None = None
    """A path's (size, mtime_ns) when it was opened: reopened, a different stamp means the
    file was rewritten meanwhile."""


def whole(opened: Opened) -> TextTable:
    import numpy as np
    import pandas as pd  # type: ignore[import-untyped]

    parts = list(opened.chunks)
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    frame = pd.concat([p.frame for p in parts], ignore_index=True)
    rows = np.concatenate([p.rows for p in parts])
    return replace(first, frame=frame, rows=rows)


def finish(
    body: Any,
    columns: tuple[str, ...],
    rows: Any,
    label: str,
    delimiter: str,
    encoding: str,
    fmt: str = "text",
) -> TextTable:
    """Number the columns 0..k-1 and drop rows whose cells are all blank (their numbers
    stay skipped)."""
    import numpy as np

    body.columns = range(len(columns))
    if len(body) and len(columns):
        # Rows blank in every column: narrowed column by column (usually none after the first).
        candidates = np.flatnonzero(blank_cells(body[0]))
        for k in range(1, len(columns)):
            if not len(candidates):
                break
            candidates = candidates[blank_cells(body[k].iloc[candidates])]
        if len(candidates):
            keep = np.ones(len(body), dtype=np.bool_)
            keep[candidates] = False
            body = body.loc[keep].reset_index(drop=True)
            rows = rows[keep]
    return TextTable(
        name=label,
        columns=columns,
        frame=body,
        rows=rows,
        header_rows=1,
        delimiter=delimiter,
        encoding=encoding,
        format=fmt,
    )


def blank_cells(column: Any) -> Any:
    """True where a text column's cell is empty or only whitespace: by Arrow kernels when
    the column is Arrow-backed, else once per distinct value."""
    import numpy as np
    import pandas as pd

    arrow = getattr(column.array, "_pa_array", None)
    if arrow is not None:
        import pyarrow as pa
        import pyarrow.compute as pc

        if pa.types.is_string(arrow.type) or pa.types.is_large_string(arrow.type):
            trimmed = pc.utf8_length(pc.utf8_trim_whitespace(arrow))
            return pc.fill_null(pc.equal(trimmed, 0), True).to_numpy(zero_copy_only=False)
    codes, distinct = pd.factorize(column)
    return np.array([not str(v).strip() for v in distinct.tolist()], dtype=np.bool_)[codes]


def slices(table: TextTable, rows: int) -> Iterator[tuple[int, TextTable]]:
    """``table`` in pieces of at most ``rows`` rows, each with its first row's index (the
    table itself when it fits; an empty table gives itself once)."""
    if len(table) <= rows:
        yield 0, table
        return
    for start in range(0, len(table), rows):
        stop = start + rows
        yield (
            start,
            replace(
                table,
                frame=table.frame.iloc[start:stop].reset_index(drop=True),
                rows=table.rows[start:stop],
            ),
        )
