"""Output files of ``alliance batch``, written chunk by chunk and appearing only when complete.

A :class:`Sink` takes the output table a chunk at a time (pandas DataFrames with the same
columns) and writes through a :class:`~alliance_cli.io.atomic.PendingFile`: private (0600),
and moved into place — or copied to stdout — only by :meth:`Sink.commit`; a refused or failed
run calls :meth:`Sink.discard` and nothing is left behind.

The format comes from ``--to`` or else the output's extension (:func:`output_format`):

* ``csv`` — RFC 4180: comma-separated, CRLF line ends, double quotes only around cells that
  need them, UTF-8 without a byte-order mark; ``tsv`` — the same with tabs. Empty cell: no
  value. Booleans ``true``/``false``; numbers in their shortest exact form (``4``, ``3.25``,
  ``1e-7``). Text cells starting with ``=`` ``+`` ``-`` ``@`` (or a tab, CR, LF, NUL) get a
  leading ``'`` against formula injection in spreadsheets, unless switched off. Cells are
  formatted column-wise by Arrow compute kernels, never row by row in Python.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from ..errors import Problem, UsageError
from .atomic import PendingFile, in_place
from .columns import Column
from .csvout import FORMULA_STARTS

FORMATS = ("csv", "tsv", "xlsx", "parquet", "sav")
EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".xlsx": "xlsx",
    ".parquet": "parquet",
    ".sav": "sav",
}
TEXT_FORMATS = ("csv", "tsv")


def output_format(path: Path | None, to: str | None = None) -> str:
    """The output format: ``to`` when given, else by the path's extension; stdout, and a
    FIFO or device without an extension (``/dev/null``, :func:`~.atomic.in_place`), are CSV
    unless ``to`` says otherwise. Raises :class:`UsageError` for an unknown format or
    extension, and for a binary format on stdout."""
    if to is not None:
        fmt = to.casefold().lstrip(".")
        if fmt not in FORMATS:
            raise UsageError(
                Problem("output-format", f'--to must be one of {", ".join(FORMATS)}, not "{to}"')
            )
    elif path is None or (not path.suffix and in_place(path)):
        fmt = "csv"
    else:
        suffix = path.suffix.casefold()
        if suffix not in EXTENSIONS:
            known = ", ".join(EXTENSIONS)
            raise UsageError(
                Problem(
                    "output-format",
                    f'cannot tell the format from the extension "{path.suffix}" (known: {known})',
                    str(path),
                ),
                hint="name the file with one of those extensions, or give --to csv|tsv|xlsx|"
                "parquet|sav",
            )
        fmt = EXTENSIONS[suffix]
    if path is None and fmt not in TEXT_FORMATS:
        raise UsageError(
            Problem("output-format", f"a {fmt} file cannot go to stdout; give -o FILE"),
        )
    return fmt


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
        self.pending = PendingFile(target)
        self.rows = 0

    def write(self, frame: Any) -> None:
        self.rows += len(frame)

    def commit(self) -> None:
        self.pending.commit()

    def discard(self) -> None:
        self.pending.discard()


class DelimitedSink(Sink):
    """CSV or TSV (``delimiter``)."""

    def __init__(
        self,
        target: Path | IO[bytes],
        columns: Sequence[Column],
        *,
        escape_formulas: bool = True,
        delimiter: str = ",",
    ) -> None:
        super().__init__(target, columns, escape_formulas=escape_formulas)
        self.delimiter = delimiter
        self._pool: Any = None
        self._future: Any = None
        header = [header_field(c.name, delimiter, escape_formulas) for c in self.columns]
        if len(header) == 1 and not header[0]:
            header[0] = '""'
        self.pending.write((delimiter.join(header) + "\r\n").encode("utf-8"))

    def write(self, frame: Any) -> None:
        """Format and write ``frame`` in a background thread (Arrow's kernels release the
        GIL), so that the next chunk is scored meanwhile; one chunk at a time is in flight."""
        super().write(frame)
        if not len(frame):
            return
        self._wait()
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="alliance-csv")
        self._future = self._pool.submit(
            lambda: self.pending.write(delimited_bytes(frame, self.delimiter, self.escape_formulas))
        )

    def _wait(self) -> None:
        if self._future is not None:
            future, self._future = self._future, None
            future.result()

    def _close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def commit(self) -> None:
        try:
            self._wait()
        finally:
            self._close()
        super().commit()

    def discard(self) -> None:
        try:
            with contextlib.suppress(Exception):  # discarding anyway; it was raised already
                self._wait()
        finally:
            self._close()
            super().discard()


def open_sink(
    fmt: str,
    target: Path | IO[bytes],
    columns: Sequence[Column],
    *,
    escape_formulas: bool = True,
) -> Sink:
    """A sink writing ``fmt`` (one of :data:`FORMATS`) to ``target``."""
    if fmt in TEXT_FORMATS:
        return DelimitedSink(
            target,
            columns,
            escape_formulas=escape_formulas,
            delimiter="\t" if fmt == "tsv" else ",",
        )
    from . import binsinks

    return binsinks.open_binary(fmt, target, columns, escape_formulas=escape_formulas)


# -- delimited text -------------------------------------------------------------------------------


def _needs_quotes(text: str, delimiter: str) -> bool:
    return any(ch in text for ch in (delimiter, '"', "\r", "\n"))


def header_field(name: str, delimiter: str = ",", escape_formulas: bool = True) -> str:
    """One header cell as written (formula-escaped and quoted like any text cell)."""
    text = "'" + name if escape_formulas and name.startswith(FORMULA_STARTS) else name
    if _needs_quotes(text, delimiter):
        return '"' + text.replace('"', '""') + '"'
    return text


def _formula_pattern() -> str:
    escaped = "".join(
        "\\x00" if c == "\0" else "\\" + c if c in "-\\]^" else c for c in FORMULA_STARTS
    )
    return f"^[{escaped}]"


def text_fields(column: Any, delimiter: str, escape_formulas: bool) -> Any:
    """Arrow string array of finished cells (null → empty)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = column.cast(pa.string()) if column.type != pa.string() else column
    if escape_formulas:
        formula = pc.match_substring_regex(text, _formula_pattern())
        if pc.any(formula).as_py():
            text = pc.if_else(formula, pc.binary_join_element_wise("'", text, ""), text)
    special = "[" + ("\\t" if delimiter == "\t" else delimiter) + '"\\r\\n]'
    quote = pc.match_substring_regex(text, special)
    if pc.any(quote).as_py():
        quoted = pc.binary_join_element_wise('"', pc.replace_substring(text, '"', '""'), '"', "")
        text = pc.if_else(quote, quoted, text)
    return pc.fill_null(text, "")


def arrow_column(values: Any) -> Any:
    """A pandas column (or numpy array) as one Arrow array; NaN and None become null."""
    array = _arrow_column(values)
    return array.combine_chunks() if hasattr(array, "combine_chunks") else array


def _arrow_column(values: Any) -> Any:
    import numpy as np
    import pandas as pd  # type: ignore[import-untyped]
    import pyarrow as pa

    if isinstance(values, pd.Series):
        if isinstance(values.dtype, pd.CategoricalDtype):
            cats = pa.array(values.cat.categories.astype(object), type=pa.string())
            codes = values.cat.codes.to_numpy()
            return pa.DictionaryArray.from_arrays(
                pa.array(codes, mask=codes < 0), cats
            ).dictionary_decode()
        if values.dtype == object:
            return pa.array(values.to_numpy(), type=pa.string(), from_pandas=True)
        return pa.array(values, from_pandas=True)
    array = np.asarray(values)
    if array.dtype == object:
        return pa.array(array, type=pa.string(), from_pandas=True)
    return pa.array(array, from_pandas=True)


_SLICE_ROWS = 250_000


def delimited_bytes(frame: Any, delimiter: str = ",", escape_formulas: bool = True) -> bytes:
    """The rows of ``frame`` as CSV/TSV bytes (CRLF line ends), formatted column by column:
    each column's distinct values are formatted once (Arrow ``dictionary_encode``), runs of
    neighbouring columns with few distinct combinations are joined once per combination,
    and the rows are joined in one Arrow kernel call (per slice of rows, so that no Arrow
    string array outgrows its 2 GiB offsets)."""
    if len(frame) > _SLICE_ROWS:
        return b"".join(
            delimited_bytes(frame.iloc[start : start + _SLICE_ROWS], delimiter, escape_formulas)
            for start in range(0, len(frame), _SLICE_ROWS)
        )
    import pyarrow as pa
    import pyarrow.compute as pc

    coded = [
        _coded(arrow_column(frame.iloc[:, k]), delimiter, escape_formulas)
        for k in range(frame.shape[1])
    ]
    if len(coded) == 1 and coded[0][0] is not None:
        # The csv module quotes a row's only field when it is empty (else it is a blank line).
        codes, cells = coded[0]
        coded[0] = (codes, np.where(cells == "", '""', cells))
    pieces = [
        cells if codes is None else pa.array(cells, type=pa.string()).take(pa.array(codes))
        for codes, cells in _joined(coded, len(frame), delimiter)
    ]
    pieces[-1] = pc.binary_join_element_wise(pieces[-1], "\r\n", "")
    lines = pc.binary_join_element_wise(*pieces, delimiter) if len(pieces) > 1 else pieces[0]
    return _data_bytes(lines)


def _coded(column: Any, delimiter: str, escape_formulas: bool) -> tuple[Any, Any]:
    """A column as (codes, cells): the finished field of row ``i`` is ``cells[codes[i]]``,
    each distinct value formatted once; null is the empty field. A column of mostly
    distinct values comes back as (None, Arrow array of its fields) instead."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_null(column.type):
        return np.zeros(len(column), dtype=np.intp), np.array([""], dtype=object)
    encoded = pc.dictionary_encode(column)
    values = encoded.dictionary
    kind = values.type
    if pa.types.is_boolean(kind):
        cells = pc.if_else(values, "true", "false")
    elif pa.types.is_integer(kind) or pa.types.is_floating(kind):
        if len(values) > max(len(column) // 8, 1):  # row numbers: formatting each is cheaper
            return None, pc.fill_null(column.cast(pa.string()), "")
        cells = values.cast(pa.string())
    else:
        cells = text_fields(values, delimiter, escape_formulas)
    finished = np.array([*cells.to_pylist(), ""], dtype=object)
    indices = encoded.indices
    if indices.null_count:
        indices = pc.fill_null(indices, len(values))
    return indices.to_numpy(zero_copy_only=False).astype(np.intp, copy=False), finished


def _joined(columns: Sequence[tuple[Any, Any]], rows: int, delimiter: str) -> list[tuple[Any, Any]]:
    """Adjacent columns joined with the delimiter into as few pieces as possible: a run of
    columns whose rows take few distinct combinations becomes one coded piece (joined once
    per combination), so that the per-row join at the end has few fields."""
    limit = max(rows // 8, 1)
    pieces: list[tuple[Any, Any]] = []
    for codes, cells in columns:
        if pieces and codes is not None and pieces[-1][0] is not None:
            last_codes, last_cells = pieces[-1]
            if len(last_cells) * len(cells) <= limit * 64:
                combined = last_codes * len(cells) + codes
                used = np.bincount(combined, minlength=len(last_cells) * len(cells)) > 0
                distinct = np.flatnonzero(used)
                if len(distinct) <= limit:
                    pieces[-1] = (
                        (np.cumsum(used) - 1).take(combined),
                        last_cells.take(distinct // len(cells))
                        + delimiter
                        + cells.take(distinct % len(cells)),
                    )
                    continue
        pieces.append((codes, cells))
    return pieces


def _data_bytes(lines: Any) -> bytes:
    """The concatenated values of an Arrow string array: its data buffer between the first
    and last offsets."""
    import numpy as np

    _, offsets, data = lines.buffers()
    if data is None or not len(lines):
        return b""
    at = np.frombuffer(offsets, dtype=np.int32)
    start, stop = int(at[lines.offset]), int(at[lines.offset + len(lines)])
    return memoryview(data)[start:stop].tobytes()
