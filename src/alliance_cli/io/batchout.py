"""Writing what ``alliance batch`` produces: the scores, the table of bad cells, the codebook.

Files are written atomically with mode 0600 (:mod:`alliance_cli.io.atomic`) through the
formula-safe CSV writer of the history export (:mod:`alliance_cli.io.csvout`), so a text cell
starting with ``=``, ``+``, ``-`` or ``@`` (an id, a bad value) cannot run in a spreadsheet.
The codebook is the export's JSON document, adapted: the inputs, the column mapping with its
missing codes and recodes, and how bad cells were handled, instead of the history details.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from .. import __version__
from ..errors import Problem, UsageError
from .atomic import atomic_write
from .codebook import CODEBOOK_VERSION, questionnaire_entry
from .csvout import FORMULA_STARTS, _plain, escape_formula

if TYPE_CHECKING:
    from ..batch import Batch

# Formats the issue plans but this module does not write yet: refuse rather than write CSV
# into a file named .xlsx.
_NOT_YET = (".xlsx", ".xls", ".parquet", ".sav", ".dta", ".json", ".tsv", ".tab")
_NAMES = {"\t": "tab", "\r": "CR", "\n": "LF", "\0": "NUL"}


@dataclass(frozen=True)
class Written:
    rows: int
    output: Path | None
    """None when written to a stream (stdout)."""
    codebook: Path | None
    errors: Path | None

    def summary(self) -> str:
        """``wrote 12 rows to out.csv (codebook: out.csv.codebook.json)``."""
        extras = [f"codebook: {self.codebook}"] if self.codebook else []
        extras += [f"bad cells: {self.errors}"] if self.errors else []
        return f"wrote {self.rows:,} row{'s' * (self.rows != 1)} to {self.output or 'stdout'}" + (
            f" ({'; '.join(extras)})" if extras else ""
        )


def check_output(output: Path | None, inputs: Sequence[Path]) -> None:
    """Refuse an output format not written yet, and an output that would replace an input."""
    if output is None:
        return
    if output.suffix.casefold() in _NOT_YET:
        raise UsageError(
            Problem(
                "output-format",
                f"writing {output.suffix} files is not supported yet; write a .csv file",
                str(output),
            )
        )
    if any(output.resolve() == p.resolve() for p in inputs):
        raise UsageError(
            Problem("same-file", "the output would replace an input file", str(output))
        )


def default_codebook(output: Path) -> Path:
    return output.with_name(output.name + ".codebook.json")


_CHUNK_ROWS = 50_000
_NEEDS_QUOTES = re.compile(r'[,"\r\n]')


def csv_cells(column: Any, *, escape_formulas: bool = True) -> Any:
    """A DataFrame column as finished CSV fields, as :func:`~alliance_cli.io.csvout.write_csv`
    writes them (NA empty, booleans ``true``/``false``, whole floats without ``.0``, formulas
    escaped, quoted when needed): formatted once per distinct value, spread with ``take``."""
    codes, cells = _coded_cells(column, escape_formulas)
    return cells.take(codes)


def _coded_cells(column: Any, escape_formulas: bool) -> tuple[Any, Any]:
    """A column as (codes, cells): the finished CSV field of row ``i`` is ``cells[codes[i]]``.
    Each distinct value is formatted once; NA is the empty field."""
    import numpy as np
    import pandas as pd  # type: ignore[import-untyped]

    values = column.to_numpy()
    if values.dtype.kind == "b":
        return values.astype(np.intp), np.array(["false", "true"], dtype=object)
    codes, distinct = pd.factorize(values)
    if values.dtype.kind in "iu":
        return codes, np.array(list(map(str, distinct.tolist())), dtype=object)
    cells = [_field(v, escape_formulas) for v in distinct.tolist()]
    return np.where(codes < 0, len(cells), codes), np.array([*cells, ""], dtype=object)


def _field(value: Any, escape_formulas: bool) -> str:
    if isinstance(value, str):
        text = "'" + value if escape_formulas and value.startswith(FORMULA_STARTS) else value
    elif value is None or (isinstance(value, float) and value != value):
        return ""
    else:
        text = str(_plain(escape_formula(value) if escape_formulas else value))
    if _NEEDS_QUOTES.search(text):
        return '"' + text.replace('"', '""') + '"'
    return text


def _joined(columns: Sequence[tuple[Any, Any]], rows: int) -> list[Any]:
    """Adjacent columns joined with commas into as few pieces as possible: a run of columns
    whose rows take few distinct combinations becomes one coded piece (joined once per
    combination), so that the per-row join at the end has few fields."""
    import numpy as np

    limit = max(rows // 8, 1)
    pieces: list[tuple[Any, Any]] = []
    for codes, cells in columns:
        if pieces:
            last_codes, last_cells = pieces[-1]
            if len(last_cells) * len(cells) <= limit * 64:
                combined = last_codes.astype(np.intp) * len(cells) + codes
                used = np.bincount(combined, minlength=len(last_cells) * len(cells)) > 0
                distinct = np.flatnonzero(used)
                if len(distinct) <= limit:
                    combined = (np.cumsum(used) - 1).take(combined)
                    pieces[-1] = (
                        combined,
                        last_cells.take(distinct // len(cells))
                        + ","
                        + cells.take(distinct % len(cells)),
                    )
                    continue
        pieces.append((codes, cells))
    return [cells.take(codes) for codes, cells in pieces]


def write_frame(table: Any, output: Path | IO[str], *, escape_formulas: bool = True) -> None:
    """A DataFrame as CSV to a path (atomically, 0600) or a stream: byte for byte what
    :func:`~alliance_cli.io.csvout.write_csv` writes (RFC 4180, CRLF), but built column by
    column (each distinct value, and each distinct combination of neighbouring cells, joined
    once) and written in chunks of rows."""
    header = [
        _field(str(c), escape_formulas) or ('""' if table.shape[1] == 1 else "")
        for c in table.columns
    ]
    coded = [_coded_cells(table.iloc[:, k], escape_formulas) for k in range(len(header))]
    if len(coded) == 1:
        # The csv module quotes a row's only field when it is empty (else it is a blank line).
        codes, cells = coded[0]
        coded[0] = (codes, cells.copy())
        coded[0][1][cells == ""] = '""'
    columns = _joined(coded, len(table))

    def data(stream: IO[str]) -> None:
        stream.write(",".join(header) + "\r\n")
        for start in range(0, len(table) if columns else 0, _CHUNK_ROWS):
            chunk = [c[start : start + _CHUNK_ROWS].tolist() for c in columns[:-1]]
            chunk.append((columns[-1][start : start + _CHUNK_ROWS] + "\r\n").tolist())
            stream.write("".join(map(",".join, zip(*chunk, strict=True))))

    if isinstance(output, Path):
        atomic_write(output, data)
    else:
        data(output)


def write_batch(
    batch: Batch,
    output: Path | IO[str],
    *,
    codebook: Path | None = None,
    errors: Path | None = None,
    escape_formulas: bool = True,
) -> Written:
    """Write the scores to ``output``, the codebook (default for a path:
    ``<output>.codebook.json``; none for a stream unless given) and, when asked, the table of
    bad cells to ``errors``."""
    assert batch.table is not None, "a refused batch has no table to write"
    out_path = output if isinstance(output, Path) else None
    if out_path is not None and codebook is None:
        codebook = default_codebook(out_path)
    paths = [p.resolve() for p in (out_path, codebook, errors) if p is not None]
    if len(set(paths)) != len(paths):
        raise UsageError(
            Problem("same-file", "the scores, the codebook and the bad cells need three paths")
        )
    write_frame(batch.table, output, escape_formulas=escape_formulas)
    if codebook is not None:
        doc = batch_codebook(
            batch,
            data_file=out_path.name if out_path is not None else None,
            escape_formulas=escape_formulas,
        )
        atomic_write(
            codebook, lambda s: s.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        )
    if errors is not None:
        write_frame(batch.failures, errors, escape_formulas=escape_formulas)
    return Written(len(batch.table), out_path, codebook, errors)


def batch_codebook(batch: Batch, *, data_file: str | None, escape_formulas: bool) -> dict[str, Any]:
    """The codebook document of a batch run."""
    starts = " ".join(_NAMES.get(s, s) for s in FORMULA_STARTS)
    long = batch.options.shape.value == "long"
    questionnaires = []
    for q in batch.questionnaires:
        doc = questionnaire_entry(q, {})
        doc.pop("recorded_under")
        questionnaires.append(doc)
    return {
        "codebook_version": CODEBOOK_VERSION,
        "generator": f"alliance {__version__}",
        "data_file": data_file,
        "shape": batch.options.shape.value,
        "rows": len(batch.table) if batch.table is not None else 0,
        "row": "one response × scale" if long else "one response (one input row)",
        "inputs": [
            {
                "file": t.name,
                "rows": len(t),
                "header_rows": t.header_rows,
                "delimiter": t.delimiter_name,
                "encoding": t.encoding,
            }
            for t in batch.inputs
        ],
        "mapping": [
            {
                "file": mapping.file,
                "ids": [name for name, _ in mapping.ids] if mapping.ids_declared else None,
                "questionnaires": [
                    {
                        "id": qc.questionnaire.id,
                        "how": qc.how,
                        "items": [
                            {"item": ic.item, "column": ic.column, **ic.rules.describe()}
                            for ic in qc.items
                        ],
                    }
                    for qc in mapping.questionnaires
                ],
            }
            for mapping in batch.mappings
        ],
        "bad_cells": {
            "policy": batch.options.invalid.value,
            "count": batch.bad_cells,
            "by_problem": batch.failure_counts(),
            "handling": "scored as missing"
            if batch.options.invalid.value == "missing"
            else "none (any bad cell stops the run)",
        },
        "scores": "computed by the definitions below; a number is rounded to 10 decimals",
        "csv": {
            "encoding": "UTF-8, no byte-order mark",
            "dialect": "RFC 4180: comma-separated, CRLF line ends, double quotes around "
            "cells that need them",
            "empty_cell": "no value (withheld, or not given)",
            "boolean": "true or false",
            "formulas_escaped": escape_formulas,
            "formula_escape": (
                f"text cells starting with one of {starts} begin with an added ' (against "
                "formula injection in spreadsheets); numbers are never changed"
                if escape_formulas
                else "off: text cells are written as they are"
            ),
        },
        "reverse_items": "a reverse item counts as min + max − x on its own response scale, "
        "for the scale that lists it only",
        "columns": [c.to_dict() for c in batch.columns],
        "questionnaires": questionnaires,
    }
