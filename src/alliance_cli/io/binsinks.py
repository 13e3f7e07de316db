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
* Excel ``.xlsx`` (openpyxl): :mod:`.excelsink`.
* SPSS ``.sav`` (pyreadstat): :mod:`.savsink`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from alliance_cli.io.columns import Column
from alliance_cli.io.csvout import arrow_column
from alliance_cli.io.excelsink import ExcelSink
from alliance_cli.io.savsink import SavSink
from alliance_cli.io.sinkbase import Sink, require_library, write_failed


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
        require_library("parquet", target)
        import pyarrow.parquet as pq

        super().__init__(target, columns, escape_formulas=escape_formulas)
        self.schema = parquet_schema(self.columns)
        try:
            self.writer = pq.ParquetWriter(self.pending.stream, self.schema)
        except OSError as exc:
            self.pending.discard()
            raise write_failed(target, exc) from exc

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
            raise write_failed(self.pending.target, exc) from exc

    def commit(self) -> None:
        try:
            self.writer.close()
        except OSError as exc:
            self.discard()
            raise write_failed(self.pending.target, exc) from exc
        super().commit()

    def discard(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()
        super().discard()
