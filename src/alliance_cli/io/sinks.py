"""Output files of ``alliance batch``, written chunk by chunk and appearing only when complete.

A :class:`Sink` takes the output table a chunk at a time (pandas DataFrames with the same
columns) and writes through a :class:`~alliance_cli.io.atomic.Output`: private (0600),
and moved into place — or copied to stdout — only by :meth:`Sink.commit`; a refused or failed
run calls :meth:`Sink.discard` and nothing is left behind.

The format comes from ``--to`` or else the output's extension (:func:`output_format`):

* ``csv`` and ``tsv`` — written by the one delimited-text writer,
  :func:`~alliance_cli.io.csvout.delimited_bytes` (the dialect, the number format and the
  formula-escaping rule are described there).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from alliance_cli.errors import Problem, UsageError
from alliance_cli.io.columns import Column
from alliance_cli.io.csvout import delimited_bytes, header_line
from alliance_cli.io.formats import EXTENSIONS, FORMATS, TEXT_FORMATS
from alliance_cli.io.sinkbase import RowLimit, Sink
from alliance_cli.io.targets import in_place

__all__ = [
    "FORMATS",
    "DelimitedSink",
    "RowLimit",
    "Sink",
    "open_sink",
    "output_format",
    "row_limit",
]


def output_format(path: Path | None, to: str | None = None) -> str:
    """The output format: ``to`` when given, else by the path's extension; stdout, and a
    FIFO or device without an extension (``/dev/null``, :func:`~.targets.in_place`), are CSV
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
                hint="name the file with one of those extensions, or give --to "
                + "|".join(FORMATS),
            )
        fmt = EXTENSIONS[suffix]
    if path is None and fmt not in TEXT_FORMATS:
        raise UsageError(
            Problem("output-format", f"a {fmt} file cannot go to stdout; give -o FILE"),
        )
    return fmt


def row_limit(fmt: str, target: Path | IO[bytes]) -> RowLimit | None:
    """The row limit of ``fmt`` written to ``target``, if it has one."""
    if fmt != "xlsx":
        return None
    from alliance_cli.io import excelsink

    return RowLimit(excelsink.EXCEL_ROWS - 1, str(target) if isinstance(target, Path) else "stdout")


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
        self.pending.write(header_line([c.name for c in self.columns], delimiter, escape_formulas))

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
        # The chunk being formatted is not waited for (a signal is honoured at once): its
        # bytes go to the temporary file, which is removed, or fail on its closed stream.
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        self._future = None
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
    from alliance_cli.io import binsinks

    return binsinks.open_binary(fmt, target, columns, escape_formulas=escape_formulas)
