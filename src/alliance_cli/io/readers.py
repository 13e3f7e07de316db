"""Reading delimited text (CSV, TSV, semicolon- or pipe-separated) into a table of text.

Every cell is read as text, exactly as written: ``007`` stays ``007`` and ``NA`` stays ``NA``
(no type guessing, no NA words); deciding what a cell means is the batch module's job. The
header row is read as data and kept apart, so columns are addressed by position and a
repeated column name is seen rather than silently renamed (pandas would make ``a.1``).

* Encoding: UTF-8 with or without a byte-order mark unless ``encoding`` says otherwise.
* Delimiter: ``sep`` when given; ``.tsv``/``.tab`` files are tab-separated; otherwise
  sniffed among ``,`` ``;`` tab and ``|`` from the first lines (``csv.Sniffer``), falling
  back to the one the header line holds most of, then to a comma.
* Row numbers are as in the file with the header counted: the first data row is row 2. A
  quoted cell that spans lines counts as one row. Rows whose cells are all empty are
  dropped but keep their place in the numbering; a short row is padded with empty cells.

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

Reading is whole-file for now (streaming in chunks is a later step).
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..errors import InputFileError, Problem, UsageError

DELIMITERS = (",", ";", "\t", "|")
_SNIFF_CHARS = 64 * 1024
_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
STDIN_NAME = "stdin"


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


def parse_sep(sep: str) -> str:
    """``--sep`` as typed: one character, or ``tab``/``\\t``."""
    if sep.casefold() in ("tab", "\\t"):
        return "\t"
    if len(sep) != 1 or sep in ('"', "\n", "\r"):
        raise UsageError(
            Problem(
                "bad-separator",
                f'--sep must be one character (or "tab"), not "{sep}"',
            )
        )
    return sep


def read_table(
    source: Path | IO[bytes] | IO[str],
    *,
    name: str | None = None,
    sep: str | None = None,
    encoding: str | None = None,
) -> TextTable:
    """Read one delimited text file (a path, or a binary or text stream such as stdin).

    Raises :class:`InputFileError` when the file cannot be read, decoded or parsed, and
    :class:`UsageError` for an unknown encoding."""
    label = name or (str(source) if isinstance(source, Path) else STDIN_NAME)
    chosen = encoding or "utf-8-sig"
    try:
        codecs.lookup(chosen)
    except LookupError:
        raise UsageError(
            Problem("bad-encoding", f'unknown encoding "{encoding}" (try utf-8, cp1252, latin-1)')
        ) from None
    text = _decode(_raw(source, label), chosen, label)
    text = text.removeprefix("\ufeff")  # a BOM left by an explicit --encoding utf-8
    if not text.strip():
        raise InputFileError(Problem("file-empty", "the file is empty", label))
    delimiter = sep or _delimiter(text, label)
    frame = _parse(text, delimiter, label)
    return _table(frame, label, delimiter, chosen)


def _raw(source: Path | IO[bytes] | IO[str], label: str) -> bytes | str:
    if isinstance(source, Path):
        try:
            return source.read_bytes()
        except FileNotFoundError:
            raise InputFileError(Problem("file-missing", "no such file", label)) from None
        except IsADirectoryError:
            raise InputFileError(Problem("file-unreadable", "is a folder", label)) from None
        except OSError as exc:
            raise InputFileError(
                Problem("file-unreadable", f"cannot read: {exc.strerror or exc}", label)
            ) from None
    return source.read()


def _decode(raw: bytes | str, encoding: str, label: str) -> str:
    if isinstance(raw, str):
        return raw
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputFileError(
            Problem(
                "file-encoding",
                f"byte {exc.start + 1} (line {line}) is not valid {encoding}",
                label,
            ),
            hint="give the file's encoding with --encoding (for example cp1252 or latin-1)",
        ) from None


def _delimiter(text: str, label: str) -> str:
    if label.casefold().endswith((".tsv", ".tab")):
        return "\t"
    sample = text[:_SNIFF_CHARS]
    if len(text) > _SNIFF_CHARS and "\n" in sample:
        sample = sample[: sample.rindex("\n")]  # whole lines only
    try:
        found = csv.Sniffer().sniff(sample, delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        found = ""
    header = sample.split("\n", 1)[0]
    if found and found in header:
        return found
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _parse(text: str, delimiter: str, label: str) -> Any:
    import pandas as pd  # type: ignore[import-untyped]

    try:
        return pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            header=None,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            index_col=False,
            engine="c",
        )
    except (pd.errors.ParserError, ValueError) as exc:
        message = str(exc).replace("Error tokenizing data. C error: ", "").strip()
        raise InputFileError(
            Problem("file-parse", f"cannot read as delimited text: {message}", label),
            hint="check the delimiter (--sep) and the quoting of that line",
        ) from None


def _table(frame: Any, label: str, delimiter: str, encoding: str) -> TextTable:
    import numpy as np

    columns = tuple(str(c) for c in frame.iloc[0].tolist())
    body = frame.iloc[1:].reset_index(drop=True)
    rows = np.arange(2, len(body) + 2, dtype=np.int64)
    return _finish(body, columns, rows, label, delimiter, encoding)


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
    if len(body):
        blank = np.ones(len(body), dtype=np.bool_)
        for k in range(len(columns)):
            blank &= blank_cells(body[k])
        if blank.any():
            body = body.loc[~blank].reset_index(drop=True)
            rows = rows[~blank]
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
    """True where a text column's cell is empty or only whitespace (checked once per
    distinct value)."""
    import numpy as np
    import pandas as pd

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
    if not isinstance(source, Path):
        return read_table(source, name=name, sep=sep, encoding=encoding)
    fmt = file_format(source.name)
    if fmt == "text":
        return read_table(source, name=name, sep=sep, encoding=encoding)
    label = name or str(source)
    if not source.exists():
        raise InputFileError(Problem("file-missing", "no such file", label))
    if source.is_dir():
        raise InputFileError(Problem("file-unreadable", "is a folder", label))
    if fmt == "xlsx":
        return read_excel(source, name=label, sheet=sheet)
    if fmt == "parquet":
        return read_parquet(source, name=label)
    return read_stat(source, name=label, encoding=encoding)


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
    label = name or str(path)
    try:
        import pyarrow as pa  # type: ignore[import-untyped]
        import pyarrow.compute as pc  # type: ignore[import-untyped]
        import pyarrow.parquet as pq  # type: ignore[import-untyped]
    except ImportError:
        raise _missing_library("parquet", label) from None
    import numpy as np
    import pandas as pd

    try:
        table = pq.read_table(path)
    except Exception as exc:  # ArrowInvalid, OSError
        raise _unreadable("parquet", exc, label) from None
    columns = tuple(str(c) for c in table.column_names)
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
    body = pd.DataFrame(data, columns=range(len(columns)), index=range(table.num_rows))
    rows = np.arange(2, table.num_rows + 2, dtype=np.int64)
    return _finish(body, columns, rows, label, "", "", "parquet")


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
