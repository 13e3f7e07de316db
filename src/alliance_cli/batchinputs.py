"""Batch's input options, one home: how ``alliance batch`` and ``alliance reliability`` open
their data files, take survey exports and check cells (``--sep``, ``--encoding``,
``--sheet``, ``--chunk-size``, ``--source``, ``--finished-only``, ``--complete-only``,
``--map``, ``--id``, ``--missing``, ``--invalid``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .batch import BatchOptions, InvalidPolicy
from .batchpass import Survey
from .errors import Problem, UsageError
from .io.readers import DEFAULT_CHUNK_ROWS, STDIN_NAME, Opened, open_input, parse_sep
from .mapfile import load_map


@dataclass(frozen=True)
class InputOptions:
    """The options every command that reads data files takes, with one meaning."""

    sep: str | None = None
    """Delimiter of delimited text (one character, or ``tab``); None: sniffed."""
    encoding: str | None = None
    sheet: str | None = None
    chunk_rows: int = DEFAULT_CHUNK_ROWS
    source: str = "auto"
    finished_only: bool = False
    complete_only: bool = False
    map_file: Path | None = None
    ids: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    invalid: str = InvalidPolicy.error.value

    @property
    def survey(self) -> Survey:
        return Survey(self.source, self.finished_only, self.complete_only)

    def batch_options(self, **more: Any) -> BatchOptions:
        """The checking options (the ``--map`` file read), with ``more`` of the command's
        own (``shape``, ``center``)."""
        return BatchOptions(
            spec=load_map(self.map_file) if self.map_file is not None else None,
            ids=self.ids,
            missing=self.missing,
            invalid=InvalidPolicy(self.invalid),
            **more,
        )

    def open(self, names: Sequence[str], stdin: IO[bytes] | IO[str]) -> list[Opened]:
        """Open every input (``-``: ``stdin``, which can be read once) to be read in chunks."""
        if list(names).count("-") > 1:
            raise UsageError(Problem("stdin-twice", "stdin (-) can be read only once"))
        separator = parse_sep(self.sep) if self.sep is not None else None
        return [
            open_input(
                stdin if name == "-" else Path(name),
                name=STDIN_NAME if name == "-" else None,
                sep=separator,
                encoding=self.encoding,
                sheet=self.sheet,
                chunk_rows=self.chunk_rows,
                text=name == "-",
            )
            for name in names
        ]
