"""The input options of the commands that read data files (`batch`, `reliability`): one
definition of each, so that they mean the same everywhere; the library turns them into
opened inputs and checking options (:class:`alliance_cli.research.inputs.InputOptions`)."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from alliance_cli.cli._common import usage
from alliance_cli.options import InvalidPolicy, Source

if TYPE_CHECKING:
    from alliance_cli.research.inputs import InputOptions


InputsArg = Annotated[
    list[str],
    typer.Argument(
        metavar="INPUT",
        help="CSV, TSV or other delimited text files with a header row, Excel .xlsx, SPSS "
        ".sav, Stata .dta or Parquet files (by extension); - reads stdin.",
        show_default=False,
    ),
]
MapOpt = Annotated[
    Path | None,
    typer.Option(
        "--map",
        help="YAML map: column → item, recodes, missing codes, id columns.",
        show_default=False,
    ),
]
IdsOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--id",
        help="Column identifying a response (repeat: together they do); a blank or "
        "repeated id is an error. Default: no id is checked (batch carries every non-item "
        "column into its output, unchecked).",
        show_default=False,
    ),
]
MissingOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--missing",
        help="Code meaning a missing answer in item columns (repeat): -99, NA, refused.",
        show_default=False,
    ),
]
SepOpt = Annotated[
    str | None,
    typer.Option(
        "--sep", help="Delimiter (one character, or tab); default: sniffed.", show_default=False
    ),
]
EncodingOpt = Annotated[
    str | None,
    typer.Option(
        "--encoding",
        help="Input encoding; default UTF-8 with or without BOM.",
        show_default=False,
    ),
]
SheetOpt = Annotated[
    str | None,
    typer.Option(
        "--sheet",
        metavar="NAME|INDEX",
        help="Excel sheet to read: its name or position (1 is the first); default the first.",
        show_default=False,
    ),
]
SourceOpt = Annotated[
    Source,
    typer.Option(
        "--source",
        help="Survey export: auto recognises Qualtrics (extra header rows dropped, -99 "
        "missing) and REDCap (record/event/repeat columns as ids); plain reads as it is.",
    ),
]
FinishedOpt = Annotated[
    bool,
    typer.Option("--finished-only", help="Qualtrics: keep rows whose Finished is 1/True."),
]
CompleteOpt = Annotated[
    bool,
    typer.Option(
        "--complete-only",
        help="REDCap: keep the rows whose own form (the event's forms, or the repeating "
        "instrument) has status 2 (<form>_complete); each row is judged by its own form.",
    ),
]
InvalidOpt = Annotated[
    InvalidPolicy,
    typer.Option(
        "--invalid",
        help="error: any bad cell stops the run (exit 65, nothing written); missing: "
        "score bad answer cells as missing.",
    ),
]
ErrorsOpt = Annotated[
    Path | None,
    typer.Option("--errors", help="Write every bad cell to this CSV file.", show_default=False),
]
ChunkSizeOpt = Annotated[
    int,
    typer.Option(
        "--chunk-size",
        min=10,
        metavar="ROWS",
        help="Rows read and scored at a time; memory grows with it, not with the file.",
    ),
]
AllowEmptyOpt = Annotated[
    bool,
    typer.Option(
        "--allow-empty",
        help="A run that keeps no row (batch: or gives no score) succeeds, exit 0: batch "
        "writes its output anyway (no row kept: just the header), reliability prints its "
        "empty result; without it, such a run warns and exits 1, writing nothing.",
    ),
]


def input_options(
    params: Mapping[str, Any], catalog: Any = None, questionnaires: Sequence[str] = ()
) -> InputOptions:
    """The library's :class:`~alliance_cli.research.inputs.InputOptions` from the options above
    as a command parsed them (its ``typer.Context.params``: a command that reads data files
    names those parameters ``sep``, ``encoding``, ``sheet``, ``chunk_size``, ``source``,
    ``finished_only``, ``complete_only``, ``map_file``, ``ids``, ``missing`` and ``invalid``);
    with the ``catalog`` and the ``questionnaires`` scored, FHIR inputs (``.json``,
    ``.ndjson``) are read as QuestionnaireResponses (:func:`fhir_reader`).
    Imported here, not at the top: it loads pandas."""
    from alliance_cli.research.inputs import InputOptions

    return InputOptions(
        sep=params["sep"],
        encoding=params["encoding"],
        sheet=params["sheet"],
        chunk_rows=int(params["chunk_size"]),
        source=Source(params["source"]).value,
        finished_only=bool(params["finished_only"]),
        complete_only=bool(params["complete_only"]),
        map_file=params["map_file"],
        ids=tuple(params["ids"] or ()),
        missing=tuple(params["missing"] or ()),
        invalid=InvalidPolicy(params["invalid"]).value,
        reader=None if catalog is None else fhir_reader(catalog, questionnaires),
    )


def fhir_reader(catalog: Any, questionnaires: Sequence[str]) -> Any:
    """The reader of FHIR inputs (``.json``, ``.ndjson``): their QuestionnaireResponses for
    the questionnaires scored, as a table (:mod:`alliance_cli.interop.fhir_responses`), for
    ``batch``, ``reliability`` and ``quality`` alike."""

    def reader(name: str) -> Any:
        from alliance_cli.interop.fhir_responses import is_fhir_file, responses_table

        if not is_fhir_file(name):
            return None
        scored = [catalog.get(qid) for qid in questionnaires]
        return lambda path, label: responses_table(path, scored, label)

    return reader


def check_column_names(**options: str | list[str] | None) -> None:
    """Refuse (exit 2) a blank column name given to a column-naming option: keyword
    ``keep=…`` stands for ``--keep``."""
    for key, value in options.items():
        names = [value] if isinstance(value, str) else value or []
        if any(not name.strip() for name in names):
            option = "--" + key.replace("_", "-")
            usage(f"{option} takes a column name, not a blank")


def stdin_input(inputs: Sequence[object]) -> Any:
    """The stream an input ``-`` reads (stdin's bytes); an error naming stdin when the
    program was started with it closed (``<&-``) and an input is ``-``."""
    from alliance_cli.ui.terminal import stdin_closed

    if any(str(name) == "-" for name in inputs) and stdin_closed():
        from alliance_cli.errors import InputFileError, Problem

        raise InputFileError(
            Problem("no-stdin", "closed; pipe the data in or give a file", "stdin")
        )
    return getattr(sys.stdin, "buffer", sys.stdin)
