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

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def delimiter_name(self) -> str:
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
    body.columns = range(len(columns))
    rows = np.arange(2, len(body) + 2, dtype=np.int64)
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
    )


def blank_cells(column: Any) -> Any:
    """True where a text column's cell is empty or only whitespace (checked once per
    distinct value)."""
    import numpy as np
    import pandas as pd

    codes, distinct = pd.factorize(column)
    return np.array([not str(v).strip() for v in distinct.tolist()], dtype=np.bool_)[codes]
