"""The one writer of delimited text (CSV, TSV) and the formula-escaping rule every output uses.

Every CSV/TSV alliance writes — ``batch`` scores and ``--errors``, ``export`` and its key,
``score --format csv`` — goes through :func:`delimited_bytes`, so one value is written one way
everywhere: RFC 4180, CRLF line ends, double quotes only around cells that need them, UTF-8
without a byte-order mark; empty cell for a missing value (None, NaN); booleans
``true``/``false``; numbers in their shortest exact form (``4``, ``3.25``, ``1e-7``). Cells
are formatted column-wise by Arrow compute kernels, never row by row in Python.

Formula escaping (OWASP "CSV Injection"): a spreadsheet takes a cell starting with ``=``,
``+``, ``-``, ``@``, a tab, CR, LF or NUL for a formula, so such a text cell gets a leading
``'`` — unless the text is a number (:data:`NUMBER`), which a spreadsheet reads as that
number and which is therefore written unchanged: ``-1.5``, ``+2``, ``-0.25``, ``-7``,
``-1e-3``. A number is a plain decimal literal and nothing more: an optional sign, ASCII
digits with at most one decimal point, an optional exponent; no surrounding whitespace, no
digit separators (``-1_000``, ``-1,5``), no hexadecimal (``-0x1F``), no ``inf`` or ``nan``
(``-inf`` is escaped: a spreadsheet reads it as a formula). So ``=HYPERLINK(…)``,
``@SUM(…)``, ``-2+3``, ``+1 2`` and text starting with a tab or CR keep their ``'``. The
Excel sink (:mod:`.excelsink`) applies the same rule through :func:`formula_mask`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import IO, Any

import numpy as np

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\0")

NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
"""A text that is a number, and so never escaped (RE2 and Python syntax; ASCII digits)."""

_NAMES = {"\t": "tab", "\r": "CR", "\n": "LF", "\0": "NUL"}

Cell = str | int | float | bool | None


def escape_description(escape_formulas: bool) -> str:
    """The rule as a codebook states it."""
    if not escape_formulas:
        return "off: text cells are written as they are"
    starts = " ".join(_NAMES.get(s, s) for s in FORMULA_STARTS)
    return (
        f"text cells starting with one of {starts} begin with an added ' (against formula "
        "injection in spreadsheets), unless the text is a number (an optional sign, digits "
        "with at most one decimal point, an optional exponent: -1.5, +2, -1e-3), which is "
        "written unchanged; numbers are never changed"
    )


def formula_mask(text: Any) -> Any:
    """True where an Arrow string array's cell needs the leading ``'``: it starts like a
    formula and is not a number (null stays null)."""
    import pyarrow.compute as pc

    escaped = "".join(
        "\\x00" if c == "\0" else "\\" + c if c in "-\\]^" else c for c in FORMULA_STARTS
    )
    starts = pc.match_substring_regex(text, f"^[{escaped}]")
    if not pc.any(starts).as_py():
        return starts
    return pc.and_(starts, pc.invert(pc.match_substring_regex(text, f"^{NUMBER}$")))


def escape_formulas_in(text: Any) -> Any:
    """An Arrow string array with ``'`` put before every cell :func:`formula_mask` marks."""
    import pyarrow.compute as pc

    formula = formula_mask(text)
    if pc.any(formula).as_py():
        text = pc.if_else(formula, pc.binary_join_element_wise("'", text, ""), text)
    return text


def write_csv(
    stream: IO[str],
    header: Sequence[str],
    rows: Iterable[Sequence[Cell]],
    *,
    escape_formulas: bool = True,
) -> None:
    """Write a header and rows of Python values (``None`` an empty cell) through
    :func:`delimited_bytes`, one Arrow column per column."""
    rows = list(rows)
    columns = [[row[k] for row in rows] for k in range(len(header))]
    write_columns(stream, header, columns, escape_formulas=escape_formulas)


def write_columns(
    stream: IO[str],
    header: Sequence[str],
    columns: Sequence[list[Cell]],
    *,
    escape_formulas: bool = True,
) -> None:
    """:func:`write_csv` for cells held column by column (one list per column)."""
    write_column_parts(stream, header, [columns], escape_formulas=escape_formulas)


def write_column_parts(
    stream: IO[str],
    header: Sequence[str],
    parts: Iterable[Sequence[list[Cell]]],
    *,
    escape_formulas: bool = True,
) -> None:
    """:func:`write_columns` for a table that comes in parts (its rows in order, each part
    one list per column): one part in memory at a time, the bytes those of the whole."""
    stream.write(header_line(header, ",", escape_formulas).decode("utf-8"))
    for columns in parts:
        arrays = [_python_column(values) for values in columns]
        stream.write(delimited_bytes(arrays, ",", escape_formulas).decode("utf-8"))


def _python_column(values: list[Cell]) -> Any:
    """Python cells as one Arrow array: typed when the column is (numbers, booleans), else
    text, each number in it formatted as a number column formats it."""
    import pyarrow as pa

    try:
        return pa.array(values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return pa.array([_text(v) for v in values], type=pa.string())


def _text(value: Cell) -> str | None:
    import pyarrow as pa

    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)  # as Arrow writes an integer, and past 64 bits too
    text: str | None = pa.array([value], from_pandas=True).cast(pa.string())[0].as_py()
    return text


def header_line(names: Sequence[str], delimiter: str = ",", escape_formulas: bool = True) -> bytes:
    """The header row as written: each name a text cell (formula-escaped and quoted like any
    text cell)."""
    import pyarrow as pa

    if not names:
        return b"\r\n"
    fields = text_fields(pa.array(list(names), type=pa.string()), delimiter, escape_formulas)
    cells = fields.to_pylist()
    if len(cells) == 1 and not cells[0]:
        cells[0] = '""'
    return (delimiter.join(cells) + "\r\n").encode("utf-8")


def text_fields(column: Any, delimiter: str, escape_formulas: bool) -> Any:
    """Arrow string array of finished cells (null → empty)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = column.cast(pa.string()) if column.type != pa.string() else column
    if escape_formulas:
        text = escape_formulas_in(text)
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
    """The rows of ``frame`` (a pandas DataFrame, or a list of equally long Arrow arrays, one
    per column) as CSV/TSV bytes (CRLF line ends), formatted column by column: each column's
    distinct values are formatted once (Arrow ``dictionary_encode``), runs of neighbouring
    columns with few distinct combinations are joined once per combination, and the rows are
    joined in one Arrow kernel call (per slice of rows, so that no Arrow string array
    outgrows its 2 GiB offsets)."""
    if isinstance(frame, list):
        arrays = frame
    else:
        arrays = [arrow_column(frame.iloc[:, k]) for k in range(frame.shape[1])]
    rows = len(arrays[0]) if arrays else 0
    return b"".join(
        _slice_bytes([a.slice(start, _SLICE_ROWS) for a in arrays], delimiter, escape_formulas)
        for start in range(0, rows, _SLICE_ROWS)
    )


def _slice_bytes(arrays: list[Any], delimiter: str, escape_formulas: bool) -> bytes:
    import pyarrow as pa
    import pyarrow.compute as pc

    rows = len(arrays[0])
    coded = [_coded(a, delimiter, escape_formulas) for a in arrays]
    if len(coded) == 1 and coded[0][0] is not None:
        # The csv module quotes a row's only field when it is empty (else it is a blank line).
        codes, cells = coded[0]
        coded[0] = (codes, np.where(cells == "", '""', cells))
    pieces = [
        cells if codes is None else pa.array(cells, type=pa.string()).take(pa.array(codes))
        for codes, cells in _joined(coded, rows, delimiter)
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
