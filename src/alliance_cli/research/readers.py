"""Inputs of every supported format as tables of text, read in chunks of rows.

Every cell is read as text, exactly as written: ``007`` stays ``007`` and ``NA`` stays ``NA``;
deciding what a cell means is the batch module's job. Columns are addressed by position, so
a repeated column name is seen rather than silently renamed. Delimited text (CSV, TSV, …)
is read by :mod:`alliance_cli.research.textread` (encoding, delimiter sniffing, row numbering as
in the file with the header counted, short rows padded).

Other formats (:mod:`alliance_cli.research.fileformats`), chosen by the file's extension
(:func:`read_input`), give the same table of text. Their libraries are the optional
``formats`` extra (``pip install 'alliance-cli[formats]'``), imported only when such a file
is read:

* Excel ``.xlsx`` (openpyxl): one sheet (``sheet``: a name, else a 1-based position; default
  the first); the first sheet row is the header and row numbers are the sheet's rows, so
  the first data row is row 2. Formulas give their cached values. Only the stored cells are
  read, within :data:`~.fileformats.EXCEL_INPUT_CELLS`.
* SPSS ``.sav``/``.zsav`` and Stata ``.dta`` (pyreadstat): numeric codes are kept as the
  answers (the file's value labels are not applied, so "3" is read rather than "Fairly
  often"; the labels are kept in ``TextTable.value_labels`` and checked against the scale,
  see :func:`alliance_cli.research.cells.label_conflicts`); values the file declares
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
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from alliance_cli.errors import InputFileError, Problem
from alliance_cli.research.fileformats import (
    file_format,
    parquet_chunks,
    read_excel,
    read_stat,
)
from alliance_cli.research.textread import STDIN_NAME, TextFile, parse_sep
from alliance_cli.research.texttable import Opened, TextTable, blank_cells, finish, slices, whole

__all__ = [
    "STDIN_NAME",
    "ExportTable",
    "Opened",
    "TextTable",
    "blank_cells",
    "chunked",
    "open_input",
    "parse_sep",
    "read_input",
    "read_table",
]


@dataclass(frozen=True)
class ExportTable:
    """A table of text read by a reader of a format the research does not own (FHIR, read by
    :mod:`alliance_cli.interop`), with the columns its format says are ids and kept, used as
    an export's own (:class:`~alliance_cli.research.surveys.SurveyTable`) unless ``--id`` or
    the map says otherwise."""

    table: TextTable
    source: str
    """The format, as a survey export's ``source`` (``fhir``)."""
    ids: tuple[str, ...] = ()
    optional_ids: tuple[str, ...] = ()
    """Id columns that may be blank."""
    keep: tuple[str, ...] = ()
    """Columns carried into the output unchecked."""
    owner: str = ""
    """The column naming each row's questionnaire ("" if every row answers every one)."""
    owners: tuple[tuple[str, str], ...] = ()
    """Each text of the ``owner`` column with the id of the questionnaire it names."""


DEFAULT_CHUNK_ROWS = 100_000
"""Rows scored at a time (``--chunk-size``): large enough that per-chunk costs vanish, small
enough that ten million rows stay far below a gigabyte."""


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
    return whole(open_input(source, name=name, sep=sep, encoding=encoding, text=True))


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
    stamp = _stamp(source) if isinstance(source, Path) else None
    opened = _open(source, name, sep, encoding, sheet, chunk_rows, text)
    opened.stamp = stamp
    return opened


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None  # opening it will say why
    return info.st_size, info.st_mtime_ns


def _open(
    source: Path | IO[bytes] | IO[str],
    name: str | None,
    sep: str | None,
    encoding: str | None,
    sheet: str | None,
    chunk_rows: int,
    text: bool,
) -> Opened:
    fmt = "text" if text or not isinstance(source, Path) else file_format(source.name)
    if fmt == "text":
        opened = TextFile(source, name=name, sep=sep, encoding=encoding)
        chunks, position = _text_chunks(opened, chunk_rows)
        return Opened(opened.name, opened.columns, opened.size, chunks, position)
    assert isinstance(source, Path)
    label = name or str(source)
    if not source.exists():
        raise InputFileError(Problem("file-missing", "no such file", label))
    if source.is_dir():
        raise InputFileError(Problem("file-unreadable", "is a folder", label))
    if fmt == "parquet":
        return parquet_chunks(source, label, chunk_rows)
    if fmt == "xlsx":
        table = read_excel(source, name=label, sheet=sheet)
    else:
        table = read_stat(source, name=label, encoding=encoding)
    size = source.stat().st_size
    chunks, position = _sliced(table, chunk_rows, size)
    return Opened(label, table.columns, size, chunks, position, len(table))


def _text_chunks(
    opened: TextFile, chunk_rows: int
) -> tuple[Iterator[TextTable], Callable[[], int]]:
    """Runs of rows parsed and gathered into chunks of ``chunk_rows`` rows (a run is at most
    a few MiB, so a chunk is several runs; the last chunk of a file may be short, and a file
    with no rows gives one empty chunk); and the input position at the end of the last
    chunk given (within a run, estimated by its share of the run's rows)."""
    position = [0]
    return _text_chunks_of(opened, chunk_rows, position), lambda: position[0]


def _text_chunks_of(opened: TextFile, chunk_rows: int, position: list[int]) -> Iterator[TextTable]:
    import numpy as np
    import pandas as pd  # type: ignore[import-untyped]

    frames: list[Any] = []
    numbers: list[Any] = []
    held = 0
    sent = False

    def chunk() -> TextTable:
        frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
        rows = numbers[0] if len(numbers) == 1 else np.concatenate(numbers)
        frames.clear()
        numbers.clear()
        return finish(frame, opened.columns, rows, opened.name, opened.delimiter, opened.encoding)

    start = 0  # input position at the start of the run
    for run in opened.runs():
        frame, rows = opened.parse(run)
        total = len(frame)
        while len(frame):
            take = min(chunk_rows - held, len(frame))
            frames.append(frame.iloc[:take].reset_index(drop=True) if take < len(frame) else frame)
            numbers.append(rows[:take])
            frame, rows = frame.iloc[take:].reset_index(drop=True), rows[take:]
            held += take
            if held >= chunk_rows:
                position[0] = start + (run.end - start) * (total - len(frame)) // total
                yield chunk()
                sent, held = True, 0
        start = run.end
    if held or not sent:
        if not frames:
            width = len(opened.columns)
            frames.append(pd.DataFrame({k: pd.Series([], dtype=object) for k in range(width)}))
            numbers.append(np.empty(0, dtype=np.int64))
        position[0] = opened.consumed
        yield chunk()


def chunked(table: TextTable, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> Opened:
    """A table read whole, opened to be handed out in chunks like any input."""
    chunks, position = _sliced(table, chunk_rows, 0)
    return Opened(table.name, table.columns, None, chunks, position)


def _sliced(
    table: TextTable, chunk_rows: int, size: int
) -> tuple[Iterator[TextTable], Callable[[], int]]:
    """A table read whole, handed out in chunks; the position is the chunks' share of the
    file (by rows)."""
    position = [0]

    def chunks() -> Iterator[TextTable]:
        for start, piece in slices(table, chunk_rows):
            position[0] = size * (start + len(piece)) // max(len(table), 1)
            yield piece

    return chunks(), lambda: position[0]


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
    return whole(
        open_input(source, name=name, sep=sep, encoding=encoding, sheet=sheet, chunk_rows=1 << 62)
    )
