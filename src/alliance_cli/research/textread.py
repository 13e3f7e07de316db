"""Delimited text (CSV, TSV, semicolon- or pipe-separated) read in chunks of whole rows.

Every cell is read as text, exactly as written: ``007`` stays ``007`` and ``NA`` stays ``NA``
(no type guessing, no NA words); deciding what a cell means is the batch module's job. The
header row is kept apart, so columns are addressed by position and a repeated column name
is seen rather than silently renamed.

* Encoding: UTF-8 with or without a byte-order mark unless ``encoding`` says otherwise
  (other encodings are transcoded to UTF-8 as the bytes stream in).
* Delimiter: ``sep`` when given; ``.tsv``/``.tab`` files are tab-separated; otherwise
  sniffed among ``,`` ``;`` tab and ``|`` from the first 64 KiB (``csv.Sniffer``), falling
  back to the one the header line holds most of, then to a comma.
* Row numbers are as in the file with the header counted: the first data row is row 2. A
  quoted cell that spans lines counts as one row. Empty lines, and rows whose cells are all
  empty, are dropped but keep their place in the numbering; a short row is padded with
  empty cells; a row with more cells than the header is an error naming the row.

How: the bytes are split into runs of whole rows without parsing them — a newline ends a
row when an even number of quote characters precede it in the file (an escaped quote ``""``
adds two, so it never changes that parity) — and each run is parsed by Arrow's multi-threaded
CSV reader with every column typed as text. A run that Arrow cannot take as it is (a short
or long row, a lone quote inside an unquoted cell) is parsed again by Python's ``csv``
module, which pads short rows and names the row that is too long. Memory therefore holds
one run of rows at a time, whatever the file's size.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from alliance_cli.errors import InputFileError, Problem, UsageError
from alliance_cli.research.textparse import Rows, parse_run

DELIMITERS = (",", ";", "\t", "|")
SNIFF_BYTES = 64 * 1024
BLOCK_BYTES = 8 << 20
"""Bytes read from the file at a time."""
NAME_LIMIT = 131_072
"""Characters in a column name (the ``csv`` module's default field limit)."""
MAX_COLUMNS = 16_384
"""Columns in a file (as many as an Excel sheet holds): the batch works column by column."""
STDIN_NAME = "stdin"

Progress = Callable[[int], None]
"""Told the number of bytes consumed so far."""


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


class TextFile:
    """One delimited text input, opened: the header is read on opening; :meth:`runs` yields
    the body as :class:`Rows` of at most ``rows`` data rows each."""

    def __init__(
        self,
        source: Path | IO[bytes] | IO[str],
        *,
        name: str | None = None,
        sep: str | None = None,
        encoding: str | None = None,
    ) -> None:
        self.name = name or (str(source) if isinstance(source, Path) else STDIN_NAME)
        chosen = encoding or "utf-8-sig"
        try:
            info = codecs.lookup(chosen)
        except LookupError:
            raise UsageError(
                Problem(
                    "bad-encoding", f'unknown encoding "{encoding}" (try utf-8, cp1252, latin-1)'
                )
            ) from None
        self.encoding = chosen
        self.size = _size(source)
        self._utf8 = info.name in ("utf-8", "utf-8-sig")
        self._blocks = self._utf8_blocks(_open(source, self.name), info)
        self._buffer = b""
        self._eof = False
        self._record = 0  # records (rows, empty lines included) consumed so far
        self._line = 1  # physical line at the start of the buffer
        self._consumed = 0  # input bytes consumed
        self._end = 0  # input bytes up to the end of the last run
        self._cr_only = False
        self._fill(SNIFF_BYTES)
        if self._utf8 and self._buffer.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise self._utf16_error("the file starts with a UTF-16 byte-order mark", "utf-16")
        self._buffer = self._buffer.removeprefix(codecs.BOM_UTF8)
        if b"\n" not in self._buffer and b"\r" in self._buffer:
            # Old Mac line ends (CR alone): read as LF.
            self._cr_only = True
            self._buffer = self._buffer.replace(b"\r", b"\n")
        if not self._buffer.strip():
            raise InputFileError(Problem("file-empty", "the file is empty", self.name))
        self.delimiter = sep or _sniff(self._buffer[:SNIFF_BYTES], self.name)
        self.columns = self._header()

    # -- bytes in -----------------------------------------------------------------------------

    def _utf8_blocks(self, raw: Iterator[bytes | str], info: codecs.CodecInfo) -> Iterator[bytes]:
        if self._utf8:
            for block in raw:
                self._consumed += len(block)
                yield block.encode("utf-8") if isinstance(block, str) else block
            return
        decoder = info.incrementaldecoder("strict")
        offset = 0
        for block in raw:
            self._consumed += len(block)
            if isinstance(block, str):
                yield block.encode("utf-8")
                continue
            try:
                text = decoder.decode(block)
            except UnicodeError as exc:  # utf-16 without a BOM raises a bare UnicodeError
                raise self._decode_error(f"byte {offset + getattr(exc, 'start', 0) + 1}") from None
            offset += len(block)
            yield text.encode("utf-8")
        try:
            tail = decoder.decode(b"", final=True)
        except UnicodeError as exc:
            raise self._decode_error(f"byte {offset + getattr(exc, 'start', 0) + 1}") from None
        if tail:
            yield tail.encode("utf-8")

    def _decode_error(self, where: str) -> InputFileError:
        return InputFileError(
            Problem("file-encoding", f"{where} is not valid {self.encoding}", self.name),
            hint="give the file's encoding with --encoding (for example cp1252 or latin-1)",
        )

    def _utf16_error(self, what: str, codec: str) -> InputFileError:
        return InputFileError(
            Problem("file-encoding", f"{what}: it is not {self.encoding} text", self.name),
            hint=f"give its encoding with --encoding {codec} (or save it as UTF-8)",
        )

    def _fill(self, want: int) -> bool:
        """Read until the buffer holds ``want`` bytes or the input ends; False at the end."""
        parts = [self._buffer]
        have = len(self._buffer)
        while have < want and not self._eof:
            block = next(self._blocks, None)
            if block is None:
                self._eof = True
                break
            parts.append(block.replace(b"\r", b"\n") if self._cr_only else block)
            have += len(block)
        self._buffer = b"".join(parts)
        return not self._eof

    # -- rows -----------------------------------------------------------------------------------

    def _ends(self, buffer: bytes) -> Any:
        """Offsets of the newlines in ``buffer`` that end a row (an even number of quotes
        before them; the buffer starts at a row's start)."""
        import numpy as np

        view = np.frombuffer(buffer, dtype=np.uint8)
        newlines = np.flatnonzero(view == 10)
        quotes = np.flatnonzero(view == 34)
        if not len(quotes):
            return newlines
        return newlines[(np.searchsorted(quotes, newlines) & 1) == 0]

    def _header(self) -> tuple[str, ...]:
        """The first record as Python's ``csv`` reads it (a stray quote inside a name is a
        character, as there), taken line by line so the body starts right after it."""
        reader = csv.reader(self._header_lines(), delimiter=self.delimiter)
        try:
            row = next(reader, [])
        except csv.Error as exc:
            raise self._header_error(reader.line_num, _reason(str(exc))) from None
        if reader.line_num > 1 and self._eof and not self._buffer and row[-1].endswith("\n"):
            # csv keeps the line end of a quoted cell that the file's end cut off.
            raise self._header_error(1, "a quote opened in the header row is never closed")
        if any("\0" in cell for cell in row):
            # UTF-16 without a byte-order mark: the NUL is the high byte of each character.
            codec = "utf-16-be" if row[0].startswith("\0") else "utf-16-le"
            raise self._utf16_error("the header row holds NUL characters", codec)
        if len(row) > MAX_COLUMNS:
            raise InputFileError(
                Problem(
                    "file-columns",
                    f"the header row has {len(row):,} columns; at most {MAX_COLUMNS:,} are read",
                    self.name,
                ),
                hint="keep only the columns the batch needs (the ids and the items)",
            )
        if any(len(cell) > NAME_LIMIT for cell in row):
            raise self._header_error(1, _reason("field larger than field limit"))
        if not any(cell.strip() for cell in row):
            raise InputFileError(
                Problem("file-parse", "the first line (the header row) is empty", self.name),
                hint="the first line of the file must name the columns",
            )
        self._record = 1
        return tuple(row)

    def _header_lines(self) -> Iterator[str]:
        while True:
            cut = self._buffer.find(b"\n")
            while cut < 0 and self._fill(len(self._buffer) + BLOCK_BYTES):
                cut = self._buffer.find(b"\n")
            end = cut + 1 if cut >= 0 else len(self._buffer)
            if not end:
                return
            data, self._buffer = self._buffer[:end], self._buffer[end:]
            line = self._line
            # Counted before the yield: the csv reader asks for no line past the header's.
            self._line += data.count(b"\n")
            yield self.text(data, line)

    def _header_error(self, line: int, reason: str) -> InputFileError:
        return InputFileError(
            Problem("file-parse", f"line {line}: cannot read the header row: {reason}", self.name),
            hint="check the quoting of the header row, and the delimiter (--sep)",
        )

    def text(self, data: bytes, line: int) -> str:
        """``data`` (starting on physical line ``line``) as text; bad bytes named."""
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            at = line + data[: exc.start].count(b"\n")
            column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1)
            raise self._decode_error(f"line {at}, byte {column + 1}") from None

    def parse(self, run: Rows) -> tuple[Any, Any]:
        """(pandas DataFrame of text with columns 0..k-1, row numbers) of a run's non-empty
        rows (:func:`~alliance_cli.research.textparse.parse_run`)."""
        return parse_run(run, self)

    @property
    def record(self) -> int:
        return self._record

    def runs(self) -> Iterator[Rows]:
        """The body as runs of whole rows, a few MiB at a time."""
        import numpy as np

        while True:
            more = self._fill(BLOCK_BYTES)
            buffer = self._buffer
            if not buffer:
                return
            if b'"' not in buffer and not _has_empty_line(buffer):
                # The common case: every newline ends a row, and no row is empty.
                stop = buffer.rfind(b"\n") + 1 if more else len(buffer)
                if stop == 0:
                    self._fill(len(buffer) + BLOCK_BYTES)
                    continue
                chunk = buffer[:stop]
                count = chunk.count(b"\n") + (not chunk.endswith(b"\n"))
                empty = np.zeros(count, dtype=np.bool_)
                quoted = False
            else:
                ends = self._ends(buffer)
                if not more and (not ends.size or int(ends[-1]) + 1 < len(buffer)):
                    ends = np.append(ends, len(buffer))  # the last row has no newline
                if not ends.size:
                    self._fill(len(buffer) + BLOCK_BYTES)
                    continue
                starts = np.concatenate(([0], ends[:-1] + 1))
                length = ends - starts
                first = np.frombuffer(buffer, np.uint8)[np.minimum(starts, len(buffer) - 1)]
                empty = (length == 0) | ((length == 1) & (first == 13))
                count = len(ends)
                chunk = buffer[: min(int(ends[-1]) + 1, len(buffer))]
                quoted = _quoted_newline(chunk)
            numbers = np.arange(self._record + 1, self._record + count + 1, dtype=np.int64)
            self._record += count
            line = self._line
            self._line += chunk.count(b"\n")
            self._buffer = buffer[len(chunk) :]
            # The input read so far less what is still buffered (exact for UTF-8; for other
            # encodings the buffer holds UTF-8, so this is an estimate).
            self._end = min(max(self._consumed - len(self._buffer), self._end), self._consumed)
            yield Rows(chunk, numbers, empty, quoted, line, self._end)

    @property
    def consumed(self) -> int:
        return self._consumed


def _reason(error: str) -> str:
    """A ``csv.Error`` of the header row in the user's terms."""
    if error.startswith("field larger"):
        return f"a column name is longer than {NAME_LIMIT:,} characters"
    if error.startswith("new-line character"):
        return "a line break (a carriage return) inside an unquoted column name"
    return error


def _has_empty_line(buffer: bytes) -> bool:
    if b"\n\n" in buffer or b"\n\r\n" in buffer:
        return True
    return buffer.startswith((b"\n", b"\r\n"))


def _quoted_newline(chunk: bytes) -> bool:
    """True when a newline lies inside quotes somewhere in ``chunk``."""
    import numpy as np

    view = np.frombuffer(chunk, dtype=np.uint8)
    quotes = np.flatnonzero(view == 34)
    newlines = np.flatnonzero(view == 10)
    return bool(((np.searchsorted(quotes, newlines) & 1) == 1).any())


def _size(source: Path | IO[bytes] | IO[str]) -> int | None:
    if isinstance(source, Path):
        try:
            return source.stat().st_size
        except OSError:
            return None
    return None


def _open(source: Path | IO[bytes] | IO[str], label: str) -> Iterator[bytes | str]:
    if not isinstance(source, Path):
        return iter(lambda: source.read(BLOCK_BYTES), source.read(0))
    try:
        handle = source.open("rb")
    except FileNotFoundError:
        raise InputFileError(Problem("file-missing", "no such file", label)) from None
    except IsADirectoryError:
        raise InputFileError(Problem("file-unreadable", "is a folder", label)) from None
    except OSError as exc:
        raise InputFileError(
            Problem("file-unreadable", f"cannot read: {exc.strerror or exc}", label)
        ) from None

    def blocks() -> Iterator[bytes]:
        with handle:
            while block := handle.read(BLOCK_BYTES):
                yield block

    return blocks()


def _sniff(sample_bytes: bytes, label: str) -> str:
    if label.casefold().endswith((".tsv", ".tab")):
        return "\t"
    sample = sample_bytes.decode("utf-8", errors="replace")
    if len(sample_bytes) >= SNIFF_BYTES and "\n" in sample:
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
