"""Inputs of every supported format as tables of text, read in chunks of rows.

Every cell is read as text, exactly as written: ``007`` stays ``007`` and ``NA`` stays ``NA``;
deciding what a cell means is the batch module's job. Columns are addressed by position, so
a repeated column name is seen rather than silently renamed. Delimited text (CSV, TSV, …)
is read by :mod:`alliance_cli.io.textread` (encoding, delimiter sniffing, row numbering as
in the file with the header counted, short rows padded).

Other formats, chosen by the file's extension (:func:`read_input`), give the same table of
text. Their libraries are the optional ``formats`` extra (``pip install
'alliance-cli[formats]'``), imported only when such a file is read:

* Excel ``.xlsx`` (openpyxl): one sheet (``sheet``: a name, else a 1-based position; default
  the first); the first sheet row is the header and row numbers are the sheet's rows, so
  the first data row is row 2. Formulas give their cached values.
* SPSS ``.sav``/``.zsav`` and Stata ``.dta`` (pyreadstat): numeric codes are kept as the
  answers (the file's value labels are not applied, so "3" is read rather than "Fairly
  often" — which the definition's labels would match anyway); values the file declares
  user-missing (SPSS missing values and ranges, Stata ``.a``–``.z``) become empty cells,
  i.e. missing answers, never bad cells.
* Parquet ``.parquet`` (pyarrow).

For SPSS, Stata and Parquet the header is counted as row 1, so record *n* is row *n* + 1.
Numbers become text without a spurious ``.0`` (``3.0`` → ``3``, ``2.5`` → ``2.5``, at most
15 significant digits as Excel shows them), empty or null cells ``""``, booleans
``true``/``false``, dates ISO 8601; text cells stay as stored (``007``).

Delimited text and Parquet are read chunk by chunk (:func:`open_input`), so a file larger
than memory can be scored; Excel, SPSS and Stata files are read whole and then handed out in
chunks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

from ..errors import InputFileError, Problem
from .textread import STDIN_NAME, TextFile, parse_sep

__all__ = ["STDIN_NAME", "TextTable", "open_input", "parse_sep", "read_input", "read_table"]

DEFAULT_CHUNK_ROWS = 100_000
"""Rows scored at a time (``--chunk-size``): large enough that per-chunk costs vanish, small
enough that ten million rows stay far below a gigabyte."""

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

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def delimiter_name(self) -> str:
        if not self.delimiter:
            return f"none ({self.format})"
        return _NAMES.get(self.delimiter, repr(self.delimiter))


def read_table(
    source: Path | IO[bytes] | IO[str],
    *,
    name: str | None = None,
    sep: str | None = None,
    encoding: str | None = None,
) -> TextTable:
    """Read one delimited text file whole (a path, or a binary or text stream such as stdin).

    Raises :class:`InputFileError` when the file cannot be read, decoded or parsed, and
    :class:`UsageError` for an unknown encoding."""
    return _whole(open_input(source, name=name, sep=sep, encoding=encoding, text=True))


def _whole(opened: Opened) -> TextTable:
    import numpy as np
    import pandas as pd  # type: ignore[import-untyped]

    parts = list(opened.chunks)
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    frame = pd.concat([p.frame for p in parts], ignore_index=True)
    rows = np.concatenate([p.rows for p in parts])
    return replace(first, frame=frame, rows=rows)


@dataclass
class Opened:
    """An input opened for reading in chunks of rows."""

    name: str
    columns: tuple[str, ...]
    size: int | None
    """Its size in bytes, when known (not for stdin)."""
    chunks: Iterator[TextTable]
    consumed: Callable[[], int]
    """Bytes of the input read so far (for progress)."""


def open_input(
    source: Path | IO[bytes] | IO[str],
    *,
    name: str | None = None,
    sep: str | None = None,
    encoding: str | None = None,
    sheet: str | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    text: bool = False,
) -> Opened:
    """Open one input of any supported format (by the path's extension; a stream, or
    ``text``, is delimited text) and read its header; its rows come in :attr:`Opened.chunks`
    of at most ``chunk_rows`` rows, each a :class:`TextTable` numbered as in the file.
    Delimited text and Parquet are read chunk by chunk; Excel, SPSS and Stata files whole."""
    fmt = "text" if text or not isinstance(source, Path) else file_format(source.name)
    if fmt == "text":
        opened = TextFile(source, name=name, sep=sep, encoding=encoding)
        return Opened(
            opened.name,
            opened.columns,
            opened.size,
            _text_chunks(opened, chunk_rows),
            lambda: opened.consumed,
        )
    assert isinstance(source, Path)
    label = name or str(source)
    if not source.exists():
        raise InputFileError(Problem("file-missing", "no such file", label))
    if source.is_dir():
        raise InputFileError(Problem("file-unreadable", "is a folder", label))
    if fmt == "parquet":
        return _parquet_chunks(source, label, chunk_rows)
    if fmt == "xlsx":
        table = read_excel(source, name=label, sheet=sheet)
    else:
        table = read_stat(source, name=label, encoding=encoding)
    size = source.stat().st_size
    return Opened(label, table.columns, size, _slices(table, chunk_rows), lambda: size)


def _text_chunks(opened: TextFile, chunk_rows: int) -> Iterator[TextTable]:
    """Runs of rows parsed and gathered into chunks of ``chunk_rows`` rows (a run is at most
    a few MiB, so a chunk is several runs; the last chunk of a file may be short, and a file
    with no rows gives one empty chunk)."""
    import numpy as np
    import pandas as pd

    frames: list[Any] = []
    numbers: list[Any] = []
    held = 0
    sent = False

    def chunk() -> TextTable:
        frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
        rows = numbers[0] if len(numbers) == 1 else np.concatenate(numbers)
        frames.clear()
        numbers.clear()
        return _finish(frame, opened.columns, rows, opened.name, opened.delimiter, opened.encoding)

    for run in opened.runs():
        frame, rows = opened.parse(run)
        while len(frame):
            take = min(chunk_rows - held, len(frame))
            frames.append(frame.iloc[:take].reset_index(drop=True) if take < len(frame) else frame)
            numbers.append(rows[:take])
            frame, rows = frame.iloc[take:].reset_index(drop=True), rows[take:]
            held += take
            if held >= chunk_rows:
                yield chunk()
                sent, held = True, 0
    if held or not sent:
        if not frames:
            width = len(opened.columns)
            frames.append(pd.DataFrame({k: pd.Series([], dtype=object) for k in range(width)}))
            numbers.append(np.empty(0, dtype=np.int64))
        yield chunk()


def _slices(table: TextTable, chunk_rows: int) -> Iterator[TextTable]:
    if len(table) <= chunk_rows:
        yield table
        return
    for start in range(0, len(table), chunk_rows):
        stop = start + chunk_rows
        yield replace(
            table,
            frame=table.frame.iloc[start:stop].reset_index(drop=True),
            rows=table.rows[start:stop],
        )


def _finish(
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


# -- other formats: Excel, SPSS, Stata, Parquet --------------------------------------------------

FORMATS = {
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".sav": "sav",
    ".zsav": "sav",
    ".dta": "dta",
    ".parquet": "parquet",
}
_LIBRARY = {"xlsx": "openpyxl", "sav": "pyreadstat", "dta": "pyreadstat", "parquet": "pyarrow"}
INSTALL_HINT = "pip install 'alliance-cli[formats]'"


def file_format(name: str) -> str:
    """``xlsx``, ``sav``, ``dta``, ``parquet`` by extension (case-insensitive), else ``text``."""
    return FORMATS.get(Path(name).suffix.casefold(), "text")


def read_input(
    source: Path | IO[bytes] | IO[str],
    *,
    name: str | None = None,
    sep: str | None = None,
    encoding: str | None = None,
    sheet: str | None = None,
) -> TextTable:
    """Read one input of any supported format, chosen by the path's extension (a stream is
    delimited text). ``sep`` applies to delimited text only; ``encoding`` to delimited text
    and to SPSS/Stata files (which usually record their own); ``sheet`` to Excel files."""
    return _whole(
        open_input(source, name=name, sep=sep, encoding=encoding, sheet=sheet, chunk_rows=1 << 62)
    )


def _missing_library(fmt: str, label: str) -> InputFileError:
    return InputFileError(
        Problem(
            "format-unavailable",
            f"reading .{fmt} files needs {_LIBRARY[fmt]}, which is not installed: {INSTALL_HINT}",
            label,
        ),
        hint=f"install the optional formats with: {INSTALL_HINT}",
    )


def _unreadable(fmt: str, exc: BaseException, label: str) -> InputFileError:
    message = str(exc).strip() or type(exc).__name__
    return InputFileError(Problem("file-parse", f"cannot read as .{fmt}: {message}", label))


def read_excel(path: Path, *, name: str | None = None, sheet: str | None = None) -> TextTable:
    """One sheet of an ``.xlsx`` workbook: the first row is the header; a row's number is
    its sheet row (the first data row is row 2). ``sheet`` is a sheet name or, when no
    sheet has that name, a 1-based position; default the first sheet."""
    label = name or str(path)
    try:
        import openpyxl  # type: ignore[import-untyped]
    except ImportError:
        raise _missing_library("xlsx", label) from None
    import numpy as np
    import pandas as pd

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zip, XML and openpyxl errors alike
        raise _unreadable("xlsx", exc, label) from None
    try:
        ws = _sheet(book, sheet, label)
        lines = [[_cell(v) for v in values] for values in ws.iter_rows(values_only=True)]
    finally:
        book.close()
    while lines and not any(c.strip() for c in lines[-1]):
        lines.pop()
    if not lines:
        raise InputFileError(Problem("file-empty", "the sheet is empty", label))
    width = max(len(line) for line in lines)
    while width > 0 and not any(len(line) >= width and line[width - 1].strip() for line in lines):
        width -= 1  # trailing columns with neither a name nor a value
    grid = [(line + [""] * width)[:width] for line in lines]
    columns = tuple(grid[0])
    body = pd.DataFrame(grid[1:], columns=range(width), dtype=object)
    if not len(body):
        body = pd.DataFrame({k: pd.Series([], dtype=object) for k in range(width)})
    rows = np.arange(2, len(grid) + 1, dtype=np.int64)
    return _finish(body, columns, rows, label, "", "", "xlsx")


def _sheet(book: Any, sheet: str | None, label: str) -> Any:
    names = list(book.sheetnames)
    if sheet is None:
        return book[names[0]]
    if sheet in names:
        return book[sheet]
    if sheet.strip().isdigit() and 1 <= int(sheet) <= len(names):
        return book[names[int(sheet) - 1]]
    listed = ", ".join(f'"{n}"' for n in names)
    raise InputFileError(
        Problem("no-such-sheet", f'no sheet "{sheet}"; the workbook has {listed}', label),
        hint="give --sheet a sheet name or its position (1 is the first)",
    )


def read_stat(path: Path, *, name: str | None = None, encoding: str | None = None) -> TextTable:
    """An SPSS ``.sav``/``.zsav`` or Stata ``.dta`` file. Numeric codes are the answers
    (value labels are not applied); user-missing values become empty (missing) cells.
    Record *n* is row *n* + 1 (the variable names count as row 1)."""
    label = name or str(path)
    fmt = file_format(path.name)
    try:
        import pyreadstat
    except ImportError:
        raise _missing_library(fmt, label) from None
    import numpy as np

    reader = pyreadstat.read_dta if fmt == "dta" else pyreadstat.read_sav
    kwargs: dict[str, Any] = {"apply_value_formats": False, "user_missing": False}
    if encoding:
        kwargs["encoding"] = encoding
    try:
        frame, meta = reader(str(path), **kwargs)
    except Exception as exc:  # pyreadstat.ReadstatError and friends
        raise _unreadable(fmt, exc, label) from None
    columns = tuple(str(c) for c in frame.columns)
    body = frame.copy()
    body.columns = range(len(columns))
    for k in range(len(columns)):
        body[k] = _text_column(body[k])
    rows = np.arange(2, len(body) + 2, dtype=np.int64)
    return _finish(body, columns, rows, label, "", str(meta.file_encoding or ""), fmt)


def read_parquet(path: Path, *, name: str | None = None) -> TextTable:
    """A Parquet file. Record *n* is row *n* + 1 (the column names count as row 1).
    Integer, text, boolean, decimal and date columns are converted to text by Arrow
    (exactly, so large integer ids keep every digit), floats as in Excel files."""
    return _whole(_parquet_chunks(path, name or str(path), 1 << 62))


def _parquet_chunks(path: Path, label: str, chunk_rows: int) -> Opened:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise _missing_library("parquet", label) from None
    try:
        handle = pq.ParquetFile(path)
    except Exception as exc:  # ArrowInvalid, OSError
        raise _unreadable("parquet", exc, label) from None
    columns = tuple(str(c) for c in handle.schema_arrow.names)
    size = path.stat().st_size
    done = [0]

    def chunks() -> Iterator[TextTable]:
        import numpy as np
        import pyarrow as pa

        start = 0
        batches = handle.iter_batches(batch_size=min(chunk_rows, 1 << 30))
        sent = False
        while True:
            try:
                batch = next(batches, None)
            except Exception as exc:  # a corrupt row group
                raise _unreadable("parquet", exc, label) from None
            if batch is None and sent:
                break
            table = (
                pa.Table.from_batches([batch])
                if batch is not None
                else handle.schema_arrow.empty_table()
            )
            body = _parquet_text(table, len(columns))
            rows = np.arange(start + 2, start + table.num_rows + 2, dtype=np.int64)
            start += table.num_rows
            done[0] = (
                size if batch is None else int(size * start / max(handle.metadata.num_rows, 1))
            )
            sent = True
            yield _finish(body, columns, rows, label, "", "", "parquet")
            if batch is None:
                break

    return Opened(label, columns, size, chunks(), lambda: done[0])


def _parquet_text(table: Any, width: int) -> Any:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    data: dict[int, Any] = {}
    for k, column in enumerate(table.columns):
        kind = column.type
        if pa.types.is_dictionary(kind):
            column = column.cast(kind.value_type)
            kind = column.type
        if pa.types.is_floating(kind):
            data[k] = _text_column(pd.Series(column.to_numpy(zero_copy_only=False)))
            continue
        try:
            text = pc.fill_null(column.cast(pa.large_string()), "")
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
            data[k] = _text_column(pd.Series(column.to_pylist(), dtype=object))
            continue
        data[k] = pd.Series(text.to_pylist(), dtype=object)
    return pd.DataFrame(data, columns=range(width), index=range(table.num_rows))


def _text_column(column: Any) -> Any:
    """A typed pandas column as text (each distinct value formatted once)."""
    import numpy as np
    import pandas as pd

    if column.dtype == object:
        return pd.Series([_cell(v) for v in column.tolist()], index=column.index, dtype=object)
    codes, distinct = pd.factorize(column, use_na_sentinel=True)
    text = np.array([*(_cell(v) for v in distinct.tolist()), ""], dtype=object)
    return pd.Series(text[codes], index=column.index, dtype=object)


def _cell(value: Any) -> str:
    """One typed cell as text: whole numbers without ``.0``, empty for None/NaN."""
    import datetime as dt
    import math

    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.15g}"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0) and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    try:
        import pandas as pd

        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    if hasattr(value, "item"):  # numpy scalars
        return _cell(value.item())
    return str(value)
