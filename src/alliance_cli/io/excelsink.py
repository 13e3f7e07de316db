"""The Excel output of ``alliance batch`` (see :mod:`.binsinks`).

Excel ``.xlsx`` (openpyxl, write-only workbook). Each chunk is checked when written (row
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
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from alliance_cli.errors import Problem, UsageError
from alliance_cli.io.columns import Column
from alliance_cli.io.csvout import arrow_column, escape_formulas_in
from alliance_cli.io.sinkbase import (
    RowLimit,
    Sink,
    arrow_strings,
    place,
    require_library,
    write_failed,
)

EXCEL_ROWS = 1_048_576
"""Rows of an Excel sheet, the header row included."""
EXCEL_CELL_CHARS = 32_767
"""Characters an Excel cell holds."""

_EXCEL_ERRORS = ("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A")
_XML_ILLEGAL = "[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f]"


class ExcelSink(Sink):
    """Excel ``.xlsx`` with the sheets ``scores`` and ``columns`` (see the module docstring)."""

    def __init__(
        self, target: Path | IO[bytes], columns: Sequence[Column], *, escape_formulas: bool = True
    ) -> None:
        require_library("xlsx", target)
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
        RowLimit(EXCEL_ROWS - 1, place(self.pending.target)).check(self.rows + len(frame))
        super().write(frame)
        if not len(frame):
            return
        self.held.append(
            [
                self._text(arrow_strings(frame.iloc[:, k]))
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
                    place(self.pending.target),
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
            raise write_failed(self.pending.target, exc) from exc
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
