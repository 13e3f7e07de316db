"""`alliance batch`: score every response in CSV/TSV files, or refuse with every bad cell."""

from __future__ import annotations

import sys
import time
from contextlib import ExitStack
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from ._common import DefinitionsOpt, app, catalog_for, flush_notices, reporting, usage


class Shape(StrEnum):
    # Copies of the enums in alliance_cli.batch: importing that here would load pandas for
    # every `alliance --help`.
    wide = "wide"
    long = "long"


class Invalid(StrEnum):
    error = "error"
    missing = "missing"


class Engine(StrEnum):
    local = "local"
    dask = "dask"


class To(StrEnum):
    csv = "csv"
    tsv = "tsv"
    xlsx = "xlsx"
    parquet = "parquet"
    sav = "sav"


class Source(StrEnum):
    auto = "auto"
    qualtrics = "qualtrics"
    redcap = "redcap"
    plain = "plain"


MapOpt = Annotated[
    Path | None,
    typer.Option(
        "--map",
        help="YAML map: column → item, recodes, missing codes, id columns.",
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
        help="REDCap: keep rows whose <form>_complete is 2 for the forms of mapped items.",
    ),
]


@app.command()
def batch(
    inputs: Annotated[
        list[str],
        typer.Argument(
            metavar="INPUT",
            help="CSV, TSV or other delimited text files with a header row, Excel .xlsx, SPSS "
            ".sav, Stata .dta or Parquet files (by extension); - reads stdin.",
            show_default=False,
        ),
    ],
    questionnaires: Annotated[
        list[str],
        typer.Option(
            "--questionnaire",
            "-q",
            help="Questionnaire to score (repeat for several in one file).",
            show_default=False,
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="File to write (atomically, mode 0600): .csv, .tsv, .xlsx, .parquet or .sav "
            "by extension; - or none: CSV on stdout; a FIFO or device (/dev/null) is written "
            "into, not replaced.",
            show_default=False,
        ),
    ] = None,
    to: Annotated[
        To | None,
        typer.Option(
            "--to", help="Output format, whatever the extension says.", show_default=False
        ),
    ] = None,
    map_file: MapOpt = None,
    ids: Annotated[
        list[str] | None,
        typer.Option(
            "--id",
            help="Column identifying a response (repeat: together they do); a blank or "
            "repeated id is an error. Default: keep every non-item column, unchecked.",
            show_default=False,
        ),
    ] = None,
    missing: Annotated[
        list[str] | None,
        typer.Option(
            "--missing",
            help="Code meaning a missing answer in item columns (repeat): -99, NA, refused.",
            show_default=False,
        ),
    ] = None,
    sep: Annotated[
        str | None,
        typer.Option(
            "--sep", help="Delimiter (one character, or tab); default: sniffed.", show_default=False
        ),
    ] = None,
    encoding: Annotated[
        str | None,
        typer.Option(
            "--encoding",
            help="Input encoding; default UTF-8 with or without BOM.",
            show_default=False,
        ),
    ] = None,
    sheet: SheetOpt = None,
    source: SourceOpt = Source.auto,
    finished_only: FinishedOpt = False,
    complete_only: CompleteOpt = False,
    invalid: Annotated[
        Invalid,
        typer.Option(
            "--invalid",
            help="error: any bad cell stops the run (exit 65, nothing written); missing: "
            "score bad answer cells as missing.",
        ),
    ] = Invalid.error,
    errors: Annotated[
        Path | None,
        typer.Option("--errors", help="Write every bad cell to this CSV file.", show_default=False),
    ] = None,
    shape: Annotated[
        Shape,
        typer.Option("--shape", help="wide: a row per response; long: a row per response × scale."),
    ] = Shape.wide,
    center: Annotated[
        str | None,
        typer.Option(
            "--center",
            metavar="CLIENT_COL",
            help="Client column: add each scale's person mean (<q>.<scale>.person_mean) and "
            "within-client deviation (<q>.<scale>.within). Memory stays flat: --center reads "
            "the input twice (stdin through a private temporary copy), but SPSS (.sav) output "
            "holds every score in memory.",
            show_default=False,
        ),
    ] = None,
    codebook: Annotated[
        Path | None,
        typer.Option(
            "--codebook",
            help="Codebook JSON file (default: <output>.codebook.json; none for stdout, a "
            "FIFO or a device unless given).",
            show_default=False,
        ),
    ] = None,
    no_escape: Annotated[
        bool,
        typer.Option(
            "--no-escape-formulas",
            help="Do not prefix ' to text cells starting with = + - @ (formula injection).",
        ),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Show the mapping, counts and first problems; write nothing (exit 65 if "
            "the run would be refused).",
        ),
    ] = False,
    chunk_size: Annotated[
        int,
        typer.Option(
            "--chunk-size",
            min=10,
            metavar="ROWS",
            help="Rows read and scored at a time; memory grows with it, not with the file.",
        ),
    ] = 100_000,
    engine: Annotated[
        Engine,
        typer.Option(
            "--engine",
            help="local: this process; dask: Dask workers, a local cluster unless --scheduler "
            "(pip install 'alliance-cli\\[dask]').",
        ),
    ] = Engine.local,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            metavar="ADDRESS",
            help="Dask scheduler of an existing cluster (tcp://host:8786); with --engine dask.",
            show_default=False,
        ),
    ] = None,
    definitions: DefinitionsOpt = None,
) -> None:
    """Score every response in data files, or refuse with every bad cell listed by row
    (as in the file, header counted) and column.

    Example:  alliance batch study.csv -q wai-sr -o scores.csv

    Also:
      alliance batch export.tsv -q wai-sr -q srs --id participant --id session \\
        --missing -99 --errors bad.csv -o scores.csv --shape long

    Excel, SPSS, Stata, Parquet (pip install 'alliance-cli\\[formats]'):
      alliance batch study.xlsx --sheet Week1 -q wai-sr -o scores.sav

    Large files are read and scored in chunks (--chunk-size); --engine dask spreads the
    chunks over Dask workers. SPSS (.sav) output holds every score in memory.

    Centred for multilevel models:
      alliance batch sessions.csv -q wai-sr --center client

    Item columns are found by name (wai1, WAI_1, wai_sr_01, wais_3, srs_relationship) or
    given in a map file:

      ids: \\[participant, session]
      missing: \\[-99, 999, "N/A", refused]
      questionnaires:
        wai-sr:
          columns: {Q1: 1, Q2: 2, Q3: {item: 3, recode: {"0": 1}}}
          recode: {"Strongly agree": 5}
          missing: \\[88]
    """
    from ..batch import SHOWN_FAILURES, BatchOptions, InvalidPolicy
    from ..batch import Shape as BatchShape
    from ..batchrun import Survey, run_batch
    from ..errors import BatchDataError
    from ..io.atomic import fifos_closed, spooled
    from ..io.batchout import check_output, write_codebook
    from ..io.readers import STDIN_NAME, Opened, open_input, parse_sep
    from ..io.sinks import DelimitedSink, open_sink, output_format
    from ..mapfile import load_map
    from ..result import key_warning
    from ..ui import batch as view
    from ..ui import render

    started = time.perf_counter()
    if inputs.count("-") > 1:
        usage("stdin (-) can be read only once")
    if scheduler and engine is not Engine.dask:
        usage("--scheduler needs --engine dask")
    out_path = None if output is None or str(output) == "-" else output
    catalog = catalog_for(definitions)
    with reporting(catalog), fifos_closed(out_path, errors, codebook), ExitStack() as stack:
        check_output(out_path, [Path(i) for i in inputs if i != "-"], codebook, errors)
        fmt = output_format(out_path, to.value if to else None)
        qs = list({q.id: q for q in map(catalog.get, questionnaires)}.values())
        spec = load_map(map_file) if map_file is not None else None
        separator = parse_sep(sep) if sep is not None else None
        runner = _engine(engine, scheduler)
        stdin: Any = getattr(sys.stdin, "buffer", sys.stdin)
        if center is not None and not dry_run and "-" in inputs:
            # --center reads its inputs twice; stdin only once: read a private copy.
            stdin = stack.enter_context(spooled(stdin))

        def open_all() -> list[Opened]:
            return [
                open_input(
                    stdin if name == "-" else Path(name),
                    name=STDIN_NAME if name == "-" else None,
                    sep=separator,
                    encoding=encoding,
                    sheet=sheet,
                    chunk_rows=chunk_size,
                    text=name == "-",
                )
                for name in inputs
            ]

        opened = open_all()
        options = BatchOptions(
            spec=spec,
            ids=tuple(ids or ()),
            missing=tuple(missing or ()),
            invalid=InvalidPolicy(invalid.value),
            shape=BatchShape(shape.value),
            center=center,
        )
        for q in qs:
            if warning := key_warning(q):
                render.warning(warning)
        escape = not no_escape
        target = out_path if out_path is not None else sys.stdout.buffer
        try:
            with view.ProgressBar() as progress:
                result = run_batch(
                    opened,
                    qs,
                    options,
                    survey=Survey(source.value, finished_only, complete_only),
                    output=None
                    if dry_run
                    else lambda columns: open_sink(fmt, target, columns, escape_formulas=escape),
                    errors=None
                    if errors is None or dry_run
                    else lambda columns: DelimitedSink(errors, columns, escape_formulas=escape),
                    engine=runner,
                    progress=progress,
                    check=not dry_run,
                    reopen=open_all,
                )
        except BatchDataError as exc:
            flush_notices(catalog)
            view.refused(exc, SHOWN_FAILURES, with_file=len(opened) > 1, errors=errors)
            raise typer.Exit(exc.exit_code) from None
        view.mapping(result.mappings)
        if dry_run:
            view.dry_run(result, SHOWN_FAILURES)
            if result.refused:
                raise typer.Exit(BatchDataError.exit_code)
            return
        written = write_codebook(
            result, out_path, fmt=fmt, codebook=codebook, errors=errors, escape_formulas=escape
        )
        for line in result.summary():
            typer.echo(line, err=True)
        typer.echo(f"{written.summary()} in {time.perf_counter() - started:.2f} s", err=True)


def _engine(engine: Engine, scheduler: str | None) -> Any:
    from ..engines import DaskEngine, LocalEngine

    if engine is Engine.dask:
        return DaskEngine(scheduler)
    return LocalEngine()
