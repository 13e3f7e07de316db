"""Excel, SPSS, Stata and Parquet inputs as tables of text (see :mod:`alliance_cli.research.readers`
for what the cells become). Their libraries are the optional ``formats`` extra, imported only
when such a file is read."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from alliance_cli.errors import FORMATS_HINT, InputFileError, Problem
from alliance_cli.research.texttable import Opened, TextTable, finish

FORMATS = {
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".sav": "sav",
    ".zsav": "sav",
    ".dta": "dta",
    ".parquet": "parquet",
}
_LIBRARY = {"xlsx": "openpyxl", "sav": "pyreadstat", "dta": "pyreadstat", "parquet": "pyarrow"}


def file_format(name: str) -> str:
    """``xlsx``, ``sav``, ``dta``, ``parquet`` by extension (case-insensitive), else ``text``."""
    return FORMATS.get(Path(name).suffix.casefold(), "text")


def _missing_library(fmt: str, label: str) -> InputFileError:
    return InputFileError(
        Problem(
            "format-unavailable",
            f"reading .{fmt} files needs {_LIBRARY[fmt]}, which is not installed: {FORMATS_HINT}",
            label,
        ),
        hint=f"install the optional formats with: {FORMATS_HINT}",
    )


def _unreadable(
    fmt: str, exc: BaseException, label: str, part: str | None = None
) -> InputFileError:
    message = str(exc).strip() or type(exc).__name__
    where = f"part {part}: " if part else ""
    return InputFileError(Problem("file-parse", f"cannot read as .{fmt}: {where}{message}", label))


EXCEL_INPUT_CELLS = 20_000_000
"""Cells read from an input sheet, counted twice: the cells the sheet stores, and the grid
they span (rows × columns, up to the last non-blank cell). A sheet over either is refused
(exit 6) before its cells are laid out, so that a small file cannot declare a grid of
17 billion cells (A1 and XFD1048576)."""


def read_excel(path: Path, *, name: str | None = None, sheet: str | None = None) -> TextTable:
    """One sheet of an ``.xlsx`` workbook: the first row is the header; a row's number is
    its sheet row (the first data row is row 2). ``sheet`` is a sheet name or, when no
    sheet has that name, a 1-based position; default the first sheet. Only the cells the
    sheet stores are read (at most :data:`EXCEL_INPUT_CELLS`, spanning at most as many);
    a workbook that cannot be read — not a zip, broken XML, a cell naming a shared string
    the workbook lacks, entities expanding beyond expat's limit — is one ``file-parse``
    error naming the part."""
    label = name or str(path)
    try:
        import openpyxl  # type: ignore[import-untyped]
    except ImportError:
        raise _missing_library("xlsx", label) from None
    import numpy as np
    import pandas as pd  # type: ignore[import-untyped]

    part: str | None = None
    try:  # the one guard where an Excel input enters: zip, XML and openpyxl errors alike
        with warnings.catch_warnings():
            # openpyxl warns about what it would drop on saving the workbook again (a sheet
            # entry it cannot use, unsupported extensions); we only read, and say what fails.
            warnings.simplefilter("ignore")
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
            try:
                ws = _sheet(book, sheet, label)
                part = str(ws._worksheet_path)
                lines = _stored_lines(ws, label)
            finally:
                book.close()
    except InputFileError:
        raise
    except Exception as exc:
        if isinstance(exc, IndexError) and part is not None:
            exc = ValueError("a cell refers to a shared string the workbook does not have")
        raise _unreadable("xlsx", exc, label, part or _broken_part(path)) from None
    if not lines:
        raise InputFileError(Problem("file-empty", "the sheet is empty", label))
    width = len(lines[0])
    columns = tuple(lines[0])
    body = pd.DataFrame(lines[1:], columns=range(width), dtype=object)
    if not len(body):
        body = pd.DataFrame({k: pd.Series([], dtype=object) for k in range(width)})
    rows = np.arange(2, len(lines) + 1, dtype=np.int64)
    return finish(body, columns, rows, label, "", "", "xlsx")


def _stored_lines(ws: Any, label: str) -> list[list[str]]:
    """The sheet's rows as texts, from A1 (so row numbers are the sheet's) to its last
    non-blank row and column; only stored cells are visited, so blank rows and
    columns cost nothing until the grid is laid out — and that grid is refused when it
    exceeds :data:`EXCEL_INPUT_CELLS`, as is a sheet storing more cells."""
    from openpyxl.worksheet._reader import WorkSheetParser  # type: ignore[import-untyped]

    book = ws.parent
    stored: list[tuple[int, list[tuple[int, str]]]] = []
    count = last_row = last_column = 0
    with ws._get_source() as source:
        parser = WorkSheetParser(
            source,
            ws._shared_strings,
            data_only=book.data_only,
            epoch=book.epoch,
            date_formats=book._date_formats,
            timedelta_formats=book._timedelta_formats,
        )
        for r, cells in parser.parse():
            texts = [
                (c["column"] - 1, _cell(c["value"]))
                for c in cells
                if c["value"] is not None and c["column"] >= 1
            ]
            if r < 1 or not texts:
                continue
            count += len(texts)
            if count > EXCEL_INPUT_CELLS:
                raise _too_large(ws.title, f"stores more than {EXCEL_INPUT_CELLS:,} cells", label)
            stored.append((r - 1, texts))
            filled = [k for k, text in texts if text.strip()]
            if filled:
                last_row, last_column = (
                    max(last_row, r),
                    max(last_column, max(filled) + 1),
                )
    if last_row * last_column > EXCEL_INPUT_CELLS:
        raise _too_large(
            ws.title,
            f"spans {last_row:,} rows × {last_column:,} columns ({last_row * last_column:,} cells)",
            label,
        )
    lines = [[""] * last_column for _ in range(last_row)]
    for r, texts in stored:
        for k, text in texts:
            if r < last_row and k < last_column:
                lines[r][k] = text
    return lines


def _too_large(title: str, what: str, label: str) -> InputFileError:
    return InputFileError(
        Problem(
            "sheet-too-large",
            f'sheet "{title}" {what}; at most {EXCEL_INPUT_CELLS:,} cells are read from a sheet',
            label,
        ),
        hint="delete the cells far outside the table (Ctrl+End in Excel goes to the last one)",
    )


def _broken_part(path: Path) -> str | None:
    """The first XML part of the workbook that does not parse, to name it in the error
    (openpyxl's errors do not); each part is only checked, never built, by expat."""
    import zipfile
    from xml.parsers import expat

    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if not info.filename.endswith((".xml", ".rels")):
                    continue
                parser = expat.ParserCreate()
                try:
                    with archive.open(info) as stream:
                        while chunk := stream.read(1 << 16):
                            parser.Parse(chunk, False)
                    parser.Parse(b"", True)
                except expat.ExpatError:
                    return info.filename
    except Exception:  # not a zip, a bad member: the error itself says enough
        return None
    return None


def _sheet(book: Any, sheet: str | None, label: str) -> Any:
    names = list(book.sheetnames)
    if not names:
        raise InputFileError(Problem("file-empty", "the workbook has no sheet", label))
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
    (value labels are not applied, but kept in :attr:`TextTable.value_labels`, so that codes
    whose labels contradict a scale are caught); user-missing values become empty (missing)
    cells. Record *n* is row *n* + 1 (the variable names count as row 1)."""
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
        with warnings.catch_warnings(record=True) as told:
            warnings.simplefilter("always")
            frame, meta = reader(str(path), **kwargs)
    except Exception as exc:  # pyreadstat.ReadstatError and friends
        raise _unreadable(fmt, exc, label) from None
    # pyreadstat renames a repeated variable name ("x" -> "x_duplicated1") with a warning:
    # the name is given back, so that the batch sees the repeat as in a CSV header.
    renamed: dict[str, str] = {
        m[2]: m[1]
        for w in told
        if (m := re.match(r"column '(.*)' is duplicated, renamed to '(.*)'$", str(w.message)))
    }
    columns = tuple(renamed.get(str(c), str(c)) for c in frame.columns)
    body = frame.copy()
    body.columns = range(len(columns))
    for k in range(len(columns)):
        body[k] = _text_column(body[k])
    rows = np.arange(2, len(body) + 2, dtype=np.int64)
    table = finish(body, columns, rows, label, "", str(meta.file_encoding or ""), fmt)
    named = getattr(meta, "variable_value_labels", None) or {}
    labels = {
        k: {_cell(code): str(text) for code, text in named[name].items()}
        for k, name in enumerate(columns)
        if named.get(name)
    }
    return replace(table, value_labels=labels) if labels else table


def parquet_chunks(path: Path, label: str, chunk_rows: int) -> Opened:
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
            try:
                body = _parquet_text(table, len(columns))
            except (UnicodeDecodeError, pa.ArrowException) as exc:  # a damaged text page
                raise _unreadable("parquet", _not_utf8(exc), label) from None
            rows = np.arange(start + 2, start + table.num_rows + 2, dtype=np.int64)
            start += table.num_rows
            done[0] = (
                size if batch is None else int(size * start / max(handle.metadata.num_rows, 1))
            )
            sent = True
            yield finish(body, columns, rows, label, "", "", "parquet")
            if batch is None:
                break

    return Opened(label, columns, size, chunks(), lambda: done[0])


def _not_utf8(exc: BaseException) -> BaseException:
    """A UnicodeDecodeError said in words (its own text quotes the raw bytes)."""
    if isinstance(exc, UnicodeDecodeError):
        return ValueError(f"a text value is not valid UTF-8 (byte {exc.object[exc.start]:#04x})")
    return exc


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
