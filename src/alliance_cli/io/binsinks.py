"""Binary output files of ``alliance batch``: Excel, Parquet and SPSS (see :mod:`.sinks`).

Each writer is a :class:`~alliance_cli.io.sinkbase.Sink`: it takes the output table a chunk at a
time and writes through a private (0600) pending file that appears only on ``commit``. The
libraries are imported when such a file is written; openpyxl and pyreadstat are the optional
``formats`` extra (``pip install 'alliance-cli[formats]'``).

* Parquet ``.parquet`` (pyarrow): streamed, one row group per chunk. Types: text → ``string``,
  number → ``double``, integer → ``int64``, boolean → ``bool``; an empty cell (NaN, None) is
  null. Each field carries its column's meaning as field metadata ``description``, and the
  file the metadata ``generator: alliance``. Formula escaping does not apply: Parquet is data
  for programs, never opened by a spreadsheet as formulas, so text is stored exactly.
* Excel ``.xlsx`` (openpyxl, write-only workbook). Each chunk is checked when written (row
  limit, cell length) and held — at most a sheet's rows, with their texts finished — so that
  a too large output is refused at the chunk that crosses the limit, before any cell is
  built; at ``commit`` the rows go through a temporary file of openpyxl's (0600) into the
  saved workbook. Sheet ``scores``: a bold, frozen header row, numbers as numbers, booleans
  as TRUE/FALSE, an empty cell (NaN, None, infinity) as an empty cell, text always as text
  — never a formula or an error value, even ``=1+2`` or ``#N/A``. Text is formula-escaped
  by the rule of CSV (:mod:`.csvout`: a leading ``'`` unless the text is a number), unless
  switched off. Control characters that XML cannot hold (all below U+0020 but tab, LF, CR)
  become U+FFFD. Sheet ``columns``: the codebook's column list (name, type, meaning,
  allowed). Limits: 1,048,575 data rows and 32,767 characters a cell; a larger output is
  refused (``too-many-rows``, ``cell-too-long``) rather than written as a file Excel would
  cut or repair.
* SPSS ``.sav`` (pyreadstat): written whole at ``commit``, so the scores are held in memory
  until then (columnar, roughly the size of the table). Variable names are derived from the
  column names by :func:`spss_names` (``wai-sr.goal`` → ``wai_sr.goal``); each variable's
  label holds the original column name and its meaning (``wai-sr.goal: …``, at most 256
  bytes). Numbers are numeric ``F8.2`` (the full double is stored; the format is only how
  SPSS shows it), integers numeric ``F10.0``, both measure *scale*; booleans numeric 0/1
  ``F1.0`` with value labels 0 ``false``, 1 ``true``, measure *nominal*; text string
  variables (width of the longest value), measure *nominal*. An empty number is
  system-missing; an empty text is the empty string (SPSS strings have no missing value);
  a NUL character becomes U+FFFD. No formula escaping: SPSS evaluates no cell as a formula.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from alliance_cli.errors import FORMATS_HINT, InputFileError, Problem, UsageError
from alliance_cli.io.columns import Column
from alliance_cli.io.csvout import arrow_column, escape_formulas_in
from alliance_cli.io.sinkbase import RowLimit, Sink

EXCEL_ROWS = 1_048_576
"""Rows of an Excel sheet, the header row included."""
EXCEL_CELL_CHARS = 32_767
"""Characters an Excel cell holds."""
SPSS_NAME_BYTES = 64
SPSS_LABEL_BYTES = 256
SPSS_RESERVED = frozenset(
    {"ALL", "AND", "BY", "EQ", "GE", "GT", "LE", "LT", "NE", "NOT", "OR", "TO", "WITH"}
)
"""Words SPSS reserves, which cannot name a variable (in any letter case)."""

_LIBRARY = {"xlsx": "openpyxl", "parquet": "pyarrow", "sav": "pyreadstat"}
_EXCEL_ERRORS = ("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A")
_XML_ILLEGAL = "[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f]"
_SPSS_INVALID = re.compile(r"[^A-Za-z0-9_.@#$]")


def open_binary(
    fmt: str,
    target: Path | IO[bytes],
    columns: Sequence[Column],
    *,
    escape_formulas: bool = True,
) -> Sink:
    """A sink writing ``fmt`` (``xlsx``, ``parquet`` or ``sav``) to ``target`` (a path, or a
    binary stream that gets the file's bytes on commit). Raises :class:`InputFileError`
    (``format-unavailable``) when the format's library is not installed."""
    sinks: dict[str, type[Sink]] = {"xlsx": ExcelSink, "parquet": ParquetSink, "sav": SavSink}
    if fmt not in sinks:
        raise ValueError(f"not a binary output format: {fmt!r}")
    return sinks[fmt](target, columns, escape_formulas=escape_formulas)


def _require(fmt: str, target: Path | IO[bytes]) -> None:
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
                _place(target),
            ),
            hint=f"install the optional formats with: {FORMATS_HINT}",
        ) from None


def _place(target: Path | IO[bytes]) -> str:
    return str(target) if isinstance(target, Path) else "stdout"


def _unwritable(target: Path | IO[bytes], exc: BaseException) -> InputFileError:
    reason = getattr(exc, "strerror", None) or str(exc).strip() or type(exc).__name__
    return InputFileError(
        Problem("file-unwritable", f"cannot write the file: {reason}", _place(target))
    )


def _strings(values: Any) -> Any:
    """A pandas text column (object, str or Categorical) as an Arrow ``string`` array."""
    import pyarrow as pa

    array = arrow_column(values)
    return array if array.type == pa.string() else array.cast(pa.string())


# -- Parquet --------------------------------------------------------------------------------------


def parquet_schema(columns: Sequence[Column]) -> Any:
    """The Arrow schema of the output: one field per column, its meaning as metadata."""
    import pyarrow as pa

    types = {
        "text": pa.string(),
        "number": pa.float64(),
        "integer": pa.int64(),
        "boolean": pa.bool_(),
    }
    fields = [
        pa.field(c.name, types[c.type], metadata={b"description": c.meaning}) for c in columns
    ]
    return pa.schema(fields, metadata={b"generator": b"alliance"})


class ParquetSink(Sink):
    """Parquet, streamed one row group per chunk (see the module docstring)."""

    def __init__(
        self, target: Path | IO[bytes], columns: Sequence[Column], *, escape_formulas: bool = True
    ) -> None:
        _require("parquet", target)
        import pyarrow.parquet as pq

        super().__init__(target, columns, escape_formulas=escape_formulas)
        self.schema = parquet_schema(self.columns)
        try:
            self.writer = pq.ParquetWriter(self.pending.stream, self.schema)
        except OSError as exc:
            self.pending.discard()
            raise _unwritable(target, exc) from exc

    def write(self, frame: Any) -> None:
        import pyarrow as pa

        super().write(frame)
        if not len(frame):
            return
        arrays = [
            arrow_column(frame.iloc[:, k]).cast(field.type) for k, field in enumerate(self.schema)
        ]
        try:
            self.writer.write_table(pa.Table.from_arrays(arrays, schema=self.schema))
        except OSError as exc:
            self.discard()
            raise _unwritable(self.pending.target, exc) from exc

    def commit(self) -> None:
        try:
            self.writer.close()
        except OSError as exc:
            self.discard()
            raise _unwritable(self.pending.target, exc) from exc
        super().commit()

    def discard(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()
        super().discard()


# -- Excel ----------------------------------------------------------------------------------------


class ExcelSink(Sink):
    """Excel ``.xlsx`` with the sheets ``scores`` and ``columns`` (see the module docstring)."""

    def __init__(
        self, target: Path | IO[bytes], columns: Sequence[Column], *, escape_formulas: bool = True
    ) -> None:
        _require("xlsx", target)
        import openpyxl  # type: ignore[import-untyped]
        from openpyxl.styles import Font  # type: ignore[import-untyped]

        super().__init__(target, columns, escape_formulas=escape_formulas)
        self.held: list[list[Any]] = []
        self.book = openpyxl.Workbook(write_only=True)
        self.book.properties.creator = "alliance"
        self.sheet = self.book.create_sheet("scores")
        self.sheet.freeze_panes = "A2"
        bold = Font(bold=True)
        codebook = self.book.create_sheet("columns")
        try:
            self.sheet.append(self._text_cells([c.name for c in self.columns], font=bold))
            codebook.append(self._text_cells(["name", "type", "meaning", "allowed"], font=bold))
            for c in self.columns:
                allowed = "; ".join(c.allowed) if isinstance(c.allowed, list) else c.allowed
                codebook.append(self._text_cells([c.name, c.type, c.meaning, allowed]))
        except BaseException:
            self.discard()
            raise

    def write(self, frame: Any) -> None:
        """Check the chunk (the row limit, each text's length) and hold it, its text
        columns finished as Arrow arrays: the rows go into the workbook at :meth:`commit`,
        so that an output too large for a sheet is refused at the chunk that crosses the
        limit, before the slow work of building a million rows of cells."""
        RowLimit(EXCEL_ROWS - 1, _place(self.pending.target)).check(self.rows + len(frame))
        super().write(frame)
        if not len(frame):
            return
        self.held.append(
            [
                self._text(_strings(frame.iloc[:, k]))
                if column.type == "text"
                else frame.iloc[:, k]
                for k, column in enumerate(self.columns)
            ]
        )

    def _text(self, values: Any) -> Any:
        """Text values (an Arrow string array or a list) as finished Arrow text:
        formula-escaped when asked, XML-illegal characters replaced; a text longer than a
        cell holds is refused."""
        import pyarrow as pa
        import pyarrow.compute as pc

        text = values if isinstance(values, pa.Array) else pa.array(values, type=pa.string())
        if self.escape_formulas:
            text = escape_formulas_in(text)
        if pc.any(pc.match_substring_regex(text, _XML_ILLEGAL)).as_py():
            text = pc.replace_substring_regex(text, _XML_ILLEGAL, "\ufffd")
        longest = pc.max(pc.utf8_length(text)).as_py()
        if longest is not None and longest > EXCEL_CELL_CHARS:
            raise UsageError(
                Problem(
                    "cell-too-long",
                    f"a text of {longest:,} characters does not fit an Excel cell (at most "
                    f"{EXCEL_CELL_CHARS:,}); write .csv or .parquet",
                    _place(self.pending.target),
                )
            )
        return text

    def _text_cells(self, values: Any, font: Any = None) -> list[Any]:
        """Text values as cells (:meth:`_text`), a value openpyxl would take for a formula
        or an error value wrapped in a cell typed as a string."""
        return self._cells(self._text(values), font)

    def _cells(self, text: Any, font: Any = None) -> list[Any]:
        import pyarrow as pa
        import pyarrow.compute as pc
        from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]

        cells: list[Any] = text.to_pylist()
        special = pc.or_(
            pc.starts_with(text, "="), pc.is_in(text, value_set=pa.array(_EXCEL_ERRORS))
        )
        wrap = range(len(cells)) if font is not None else pc.indices_nonzero(special).to_pylist()
        for i in wrap:
            if cells[i] is None:
                continue
            cell = WriteOnlyCell(self.sheet)
            cell.value = cells[i]
            cell.data_type = "s"  # never a formula or an error value, whatever the text
            if font is not None:
                cell.font = font
            cells[i] = cell
        return cells

    def commit(self) -> None:
        append = self.sheet.append
        try:
            while self.held:
                chunk = self.held.pop(0)
                cells = [
                    self._cells(values) if column.type == "text" else _plain_cells(values)
                    for values, column in zip(chunk, self.columns, strict=True)
                ]
                for row in zip(*cells, strict=True):
                    append(row)
            self._save()
        except OSError as exc:
            self.discard()
            raise _unwritable(self.pending.target, exc) from exc
        super().commit()

    def _save(self) -> None:
        """``Workbook.save`` into the pending file, but a zip archive that fails half way
        (the disk full, ``ulimit -f``) is closed here and now: left open, the garbage
        collector would close it after the file is gone and print "Exception ignored"."""
        import datetime as dt
        import zipfile

        from openpyxl.writer.excel import ExcelWriter  # type: ignore[import-untyped]

        archive = zipfile.ZipFile(self.pending.stream, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
        self.book.properties.modified = dt.datetime.now(tz=dt.UTC).replace(tzinfo=None)
        try:
            ExcelWriter(self.book, archive).save()
        except BaseException:
            with contextlib.suppress(Exception):  # its own write fails too; the file is dropped
                archive.close()
            raise

    def discard(self) -> None:
        self.held = []
        # openpyxl keeps each sheet's rows in a temporary file until the workbook is saved
        for sheet in self.book.worksheets:
            writer = getattr(sheet, "_writer", None)
            if writer is not None:
                with contextlib.suppress(Exception):
                    sheet.close()
                with contextlib.suppress(Exception):
                    writer.cleanup()
        super().discard()


def _plain_cells(values: Any) -> list[Any]:
    """A number, integer or boolean column as Python values; NaN, infinity and null → None."""
    import pyarrow as pa
    import pyarrow.compute as pc

    array = arrow_column(values)
    if pa.types.is_floating(array.type):
        array = pc.if_else(pc.is_finite(array), array, pa.scalar(None, array.type))
    cells: list[Any] = array.to_pylist()
    return cells


# -- SPSS -----------------------------------------------------------------------------------------


def spss_names(names: Sequence[str]) -> list[str]:
    """Valid, distinct SPSS variable names for ``names``, derived deterministically: every
    character other than an ASCII letter, digit, ``_ . @ # $`` becomes ``_``; trailing dots
    go; ``v_`` is prefixed when the name does not start with a letter or is a reserved word
    (``to`` → ``v_to``); the name is cut to 64 bytes; a name equal to an earlier one
    ignoring case gets ``_2``, ``_3``, … (cut to fit)."""
    used: set[str] = set()
    result: list[str] = []
    for name in names:
        base = _SPSS_INVALID.sub("_", name).rstrip(".")
        if not (base[:1].isalpha() and base[:1].isascii()) or base.upper() in SPSS_RESERVED:
            base = "v_" + base
        base = base[:SPSS_NAME_BYTES].rstrip(".")
        candidate, n = base, 1
        while candidate.casefold() in used:
            n += 1
            suffix = f"_{n}"
            candidate = base[: SPSS_NAME_BYTES - len(suffix)].rstrip(".") + suffix
        used.add(candidate.casefold())
        result.append(candidate)
    return result


def spss_label(column: Column) -> str:
    """The variable label: the column's name and meaning, cut to 256 bytes of UTF-8."""
    label = f"{column.name}: {column.meaning}" if column.meaning else column.name
    data = label.encode("utf-8")
    if len(data) <= SPSS_LABEL_BYTES:
        return label
    cut = data[: SPSS_LABEL_BYTES - len("…".encode())].decode("utf-8", errors="ignore")
    return cut + "…"


class SavSink(Sink):
    """SPSS ``.sav``, held in memory and written whole at commit (see the module docstring)."""

    def __init__(
        self, target: Path | IO[bytes], columns: Sequence[Column], *, escape_formulas: bool = True
    ) -> None:
        _require("sav", target)
        super().__init__(target, columns, escape_formulas=escape_formulas)
        self.names = spss_names([c.name for c in self.columns])
        self.parts: list[Any] = []

    def write(self, frame: Any) -> None:
        super().write(frame)
        if len(frame):
            self.parts.append(
                self._frame([frame.iloc[:, k] for k in range(len(self.columns))], len(frame))
            )

    def _frame(self, series: Sequence[Any], rows: int) -> Any:
        """The chunk as SPSS will take it: text as pandas strings, the rest as float64."""
        import pandas as pd  # type: ignore[import-untyped]
        import pyarrow as pa
        import pyarrow.compute as pc

        data: dict[str, Any] = {}
        for name, column, values in zip(self.names, self.columns, series, strict=True):
            if column.type == "text":
                text = pc.replace_substring(
                    _strings(values), "\0", "\ufffd"
                )  # C strings end at NUL
                data[name] = pd.array(text.to_pylist(), dtype=pd.StringDtype())
            else:
                array = arrow_column(values).cast(pa.float64())
                data[name] = array.to_numpy(zero_copy_only=False)
        return pd.DataFrame(data, index=pd.RangeIndex(rows))

    def commit(self) -> None:
        import pandas as pd
        import pyreadstat

        if self.parts:
            frame = pd.concat(self.parts, ignore_index=True)
        else:
            empty = [
                pd.Series([], dtype=object if c.type == "text" else bool) for c in self.columns
            ]
            frame = self._frame(empty, 0)
        self.parts = []
        kinds = {name: c.type for name, c in zip(self.names, self.columns, strict=True)}
        formats = {"number": "F8.2", "integer": "F10.0", "boolean": "F1.0"}
        measures = {"number": "scale", "integer": "scale", "boolean": "nominal", "text": "nominal"}
        try:
            # by path: the pending file's own descriptor stays open and untouched until commit
            pyreadstat.write_sav(
                frame,
                self.pending.tmp,
                file_label="alliance scores",
                column_labels=[spss_label(c) for c in self.columns],
                variable_value_labels={
                    name: {0: "false", 1: "true"} for name, t in kinds.items() if t == "boolean"
                },
                variable_format={name: formats[t] for name, t in kinds.items() if t in formats},
                variable_measure={name: measures[t] for name, t in kinds.items() if t in measures},
            )
        except (OSError, pyreadstat.PyreadstatError, pyreadstat.ReadstatError) as exc:
            self.discard()
            raise _unwritable(self.pending.target, exc) from exc
        super().commit()

    def discard(self) -> None:
        self.parts = []
        super().discard()
