"""The paths and the codebook of ``alliance batch`` (the scores and the bad cells are written
chunk by chunk by :mod:`alliance_cli.io.sinks`).

The codebook is the export's JSON document, adapted: the inputs, the column mapping with its
missing codes and recodes, and how bad cells were handled, instead of the history details;
written atomically with mode 0600 (:mod:`alliance_cli.io.atomic`). Scores written to stdout,
or into a FIFO or device (``/dev/null``), get no codebook unless ``--codebook`` names one:
there is no folder of theirs to put it in.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alliance_cli import __version__
from alliance_cli.codebook import CODEBOOK_VERSION, questionnaire_entry
from alliance_cli.errors import Problem, UsageError
from alliance_cli.io.atomic import Output, check_writable
from alliance_cli.io.csvout import escape_description
from alliance_cli.io.targets import check_distinct, codebook_path

if TYPE_CHECKING:
    from alliance_cli.research.batch import Batch


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


def check_output(
    output: Path | None,
    inputs: Sequence[Path],
    codebook: Path | None = None,
    errors: Path | None = None,
) -> None:
    """Refuse, before anything is read or written: an output that would replace an input,
    one path for two outputs (a FIFO or device may take several: each is copied into it in
    turn), and an output that cannot be written (a missing or read-only folder: the scores
    are written before the codebook, and to stdout they could not be taken back)."""
    outputs = [p for p in (output, codebook_path(output, codebook), errors) if p is not None]
    for path in outputs:
        if any(path.resolve() == p.resolve() for p in inputs):
            raise UsageError(
                Problem("same-file", "the output would replace an input file", str(path))
            )
    check_distinct(outputs, "the scores, the codebook and the bad cells need three paths")
    for path in outputs:
        check_writable(path)


def pending_codebook(
    batch: Batch,
    output: Path | None,
    *,
    fmt: str = "csv",
    codebook: Path | None = None,
    escape_formulas: bool = True,
) -> Output | None:
    """Write the codebook of a run whose output is about to be moved into place, to its
    private temporary file, and return that :class:`~alliance_cli.io.atomic.Output` for the
    run to commit after its output, or discard if that fails: a codebook that cannot be
    written fails the run before its output lands. None: no codebook."""
    path = codebook_path(output, codebook)
    if path is None:
        return None
    doc = batch_codebook(
        batch,
        data_file=output.name if output is not None else None,
        escape_formulas=escape_formulas,
        fmt=fmt,
    )
    pending = Output(path)
    pending.write((json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
    return pending


def row_accounting(batch: Batch) -> dict[str, Any]:
    """Every row read: how many were scored, and how many left out for each reason, in
    all and per input file."""
    files = [
        {"file": t.name, **c.to_dict()} for t, c in zip(batch.inputs, batch.row_counts, strict=True)
    ]
    return {**batch.accounting.to_dict(), "files": files}


def batch_codebook(
    batch: Batch, *, data_file: str | None, escape_formulas: bool, fmt: str = "csv"
) -> dict[str, Any]:
    """The codebook document of a batch run."""
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
        "column_set": batch.options.columns.value,
        "format": fmt,
        "rows": batch.written,
        "row": "one response × scale" if long else "one response (one input row)",
        "row_accounting": row_accounting(batch),
        "inputs": [
            {
                "file": t.name,
                "rows": t.rows,
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
                "kept": [name for name, _ in mapping.kept],
                "left_out": list(mapping.left_out),
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
        "methods": run_methods(batch),
        **({"quality": batch.quality.to_dict()} if batch.quality is not None else {}),
        "csv": {
            "encoding": "UTF-8, no byte-order mark",
            "dialect": "RFC 4180: comma-separated (tab-separated for tsv), CRLF line ends, "
            "double quotes around cells that need them",
            "empty_cell": "no value (withheld, or not given)",
            "numbers": "shortest form that reads back exactly (4, 3.25, 1e-7)",
            "boolean": "true or false",
            "formulas_escaped": escape_formulas,
            "formula_escape": escape_description(escape_formulas),
        },
        "reverse_items": "a reverse item counts as min + max − x on its own response scale, "
        "for the scale that lists it only",
        "columns": [c.to_dict() for c in batch.columns],
        "questionnaires": questionnaires,
    }


def run_methods(batch: Batch) -> str:
    """The methods paragraph of this run (as ``alliance cite`` gives it for the same
    questionnaires and options): the missing codes are those its item columns used."""
    from alliance_cli.research.methods import RunOptions, methods_paragraph, rows_sentence

    missing: dict[str, list[str]] = {q.id: [] for q in batch.questionnaires}
    for mapping in batch.mappings:
        for qc in mapping.questionnaires:
            for ic in qc.items:
                rules = ic.rules.describe()  # a recode to null is a missing code too
                missing[qc.questionnaire.id] += rules["missing"]
                missing[qc.questionnaire.id] += [k for k, v in rules["recode"].items() if v is None]
    options = RunOptions(
        missing={qid: tuple(codes) for qid, codes in missing.items()},
        invalid=batch.options.invalid.value,
        center=batch.options.center is not None,
        quality=batch.options.quality,
    )
    rows = row_accounting(batch)
    return f"{methods_paragraph(batch.questionnaires, options)} " + rows_sentence(
        rows["read"], rows["left_out"]
    )
