"""Batch's input options, one home: how ``alliance batch`` and ``alliance reliability`` open
their data files, take survey exports and check cells (``--sep``, ``--encoding``,
``--sheet``, ``--chunk-size``, ``--source``, ``--finished-only``, ``--complete-only``,
``--map``, ``--id``, ``--missing``, ``--invalid``)."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, fields
from pathlib import Path
from typing import IO, Any

from alliance_cli.errors import InputFileError, Problem, UsageError
from alliance_cli.io.atomic import spooled
from alliance_cli.options import InvalidPolicy
from alliance_cli.research.batch import BatchOptions
from alliance_cli.research.mapfile import load_map
from alliance_cli.research.passes import Survey
from alliance_cli.research.readers import (
    DEFAULT_CHUNK_ROWS,
    STDIN_NAME,
    ExportTable,
    Opened,
    chunked,
    open_input,
    parse_sep,
)
from alliance_cli.research.surveys import SurveyTable

Reader = Callable[[Path, str], ExportTable]
"""Reads one input file whole into a table of text with its id and kept columns, given its
path and its name as shown."""


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
    reader: Callable[[str], Reader | None] | None = None
    """The reader of an input (by its name) that is none of the built-in formats (a FHIR
    file, which the command reads with :mod:`alliance_cli.interop`); None: the built-ins."""

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

    def open(
        self,
        names: Sequence[str],
        stdin: IO[bytes] | IO[str],
        copies: Mapping[str, Path] | None = None,
    ) -> list[Opened]:
        """Open every input (``-``: ``stdin``, which can be read once) to be read in chunks;
        an input in ``copies`` (:func:`spool_once_readable`) is read from its copy, under
        its own name."""
        if list(names).count("-") > 1:
            raise UsageError(Problem("stdin-twice", "stdin (-) can be read only once"))
        separator = parse_sep(self.sep) if self.sep is not None else None
        copies = copies or {}
        return [
            self._open_other(name, copies.get(name) or Path(name))
            if name != "-" and self.reader is not None and self.reader(name) is not None
            else open_input(
                copies.get(name) or (stdin if name == "-" else Path(name)),
                name=STDIN_NAME if name == "-" else name if name in copies else None,
                sep=separator,
                encoding=self.encoding,
                sheet=self.sheet,
                chunk_rows=self.chunk_rows,
                text=name == "-",
            )
            for name in names
        ]

    def _open_other(self, name: str, path: Path) -> Opened:
        """An input of another format, read whole and handed out in chunks."""
        read = self.reader(name) if self.reader is not None else None
        assert read is not None
        read_table = read(path, name)
        table = SurveyTable(
            **{f.name: getattr(read_table.table, f.name) for f in fields(read_table.table)},
            source=read_table.source,
            ids=read_table.ids,
            optional_ids=read_table.optional_ids,
            keep=read_table.keep,
            owner=read_table.owner,
            owners=read_table.owners,
        )
        opened = chunked(table, self.chunk_rows)
        opened.rows = len(table)
        return opened


def read_once(name: str) -> bool:
    """Whether input ``name`` can be read only once: stdin (``-``), or anything that is not
    a regular file (a FIFO, ``<(…)``'s /dev/fd/N, a character device)."""
    if name == "-":
        return True
    try:
        mode = os.stat(name).st_mode
    except OSError:  # left to open_input, which names the file and the reason
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def spool_once_readable(
    names: Sequence[str], stdin: IO[bytes], stack: ExitStack
) -> dict[str, Path]:
    """For a command that reads its inputs twice (``--center``): a private copy
    (:func:`~alliance_cli.io.atomic.spooled`, removed when ``stack`` closes) of each input
    that can be read only once (:func:`read_once`), by name."""
    copies: dict[str, Path] = {}
    for name in dict.fromkeys(names):
        if not read_once(name):
            continue
        if name == "-":
            copies[name] = stack.enter_context(spooled(stdin, STDIN_NAME))
            continue
        try:
            stream = stack.enter_context(open(name, "rb"))  # noqa: SIM115
        except OSError as exc:
            raise InputFileError(
                Problem("file-unreadable", f"cannot read: {exc.strerror or exc}", name)
            ) from None
        copies[name] = stack.enter_context(spooled(stream, Path(name).name or "input"))
    return copies
