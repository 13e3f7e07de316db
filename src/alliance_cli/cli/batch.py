"""`alliance batch`: score every response in CSV/TSV files, or refuse with every bad cell."""

from __future__ import annotations

import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from alliance_cli.cli._common import (
    DefinitionsOpt,
    app,
    catalog_for,
    reporting,
    usage,
)
from alliance_cli.cli._inputs import (
    AllowEmptyOpt,
    ChunkSizeOpt,
    CompleteOpt,
    EncodingOpt,
    ErrorsOpt,
    FinishedOpt,
    IdsOpt,
    InputsArg,
    InvalidOpt,
    MapOpt,
    MissingOpt,
    SepOpt,
    SheetOpt,
    SourceOpt,
    check_column_names,
    input_options,
    stdin_input,
)
from alliance_cli.cli._quality import (
    AntAboveOpt,
    DurationOpt,
    IrvOpt,
    LongstringOpt,
    MahadOpt,
    SpeedOpt,
    SynBelowOpt,
    SynonymOpt,
    quality_options,
)
from alliance_cli.io.formats import FORMATS
from alliance_cli.options import ColumnSet, Engine, InvalidPolicy, Shape, Source

To = StrEnum("To", [(f, f) for f in FORMATS])  # type: ignore[misc]
"""``--to``'s choices: the output formats (one list, :data:`~alliance_cli.io.formats.FORMATS`)."""


@app.command()
def batch(
    ctx: typer.Context,
    inputs: InputsArg,
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
    ids: IdsOpt = None,
    keep: Annotated[
        list[str] | None,
        typer.Option(
            "--keep",
            metavar="COL",
            help="Column carried into the output as it is, unchecked (blanks and repeats "
            "allowed): a covariate (repeat for several).",
            show_default=False,
        ),
    ] = None,
    keep_all: Annotated[
        bool,
        typer.Option(
            "--keep-all",
            help="Carry every column that is not an item or id into the output, unchecked.",
        ),
    ] = False,
    missing: MissingOpt = None,
    sep: SepOpt = None,
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    source: SourceOpt = Source.auto,
    finished_only: FinishedOpt = False,
    complete_only: CompleteOpt = False,
    invalid: InvalidOpt = InvalidPolicy.error,
    errors: ErrorsOpt = None,
    shape: Annotated[
        Shape,
        typer.Option("--shape", help="wide: a row per response; long: a row per response × scale."),
    ] = Shape.wide,
    columns: Annotated[
        ColumnSet,
        typer.Option(
            "--columns",
            help="compact: per scale the score (<q>.<scale>) and items answered (.answered), "
            ".band/.flags where the definition has bands/flags, and per questionnaire "
            "<q>.withheld (the withheld scales and why; empty when none); all: also .sum, "
            ".prorated and a reason, band and flags column per scale (long: method, sum, mean, "
            "items, missing, not_applicable, prorated, withheld).",
        ),
    ] = ColumnSet.compact,
    center: Annotated[
        str | None,
        typer.Option(
            "--center",
            metavar="CLIENT_COL",
            help="Client column: add each scale's person mean (<q>.<scale>.person_mean) and "
            "within-client deviation (<q>.<scale>.within). Memory stays flat: --center reads "
            "the input twice (stdin or any input that is not a regular file, a FIFO or <(…), "
            "through a private temporary copy), but SPSS (.sav) output holds every score in "
            "memory.",
            show_default=False,
        ),
    ] = None,
    quality: Annotated[
        bool,
        typer.Option(
            "--quality",
            help="Careless-response screening (R careless's indices): add per questionnaire "
            "<q>.longstring, .irv, .mahad_d2, .mahad_p, .psychsyn, .psychant and a flag column "
            "per check, seconds_per_item and speed_flag where a duration is known, and "
            "quality_flags (the flags raised). Flagged rows are kept and marked. Reads the "
            "input twice, as --center does.",
        ),
    ] = False,
    drop_flagged: Annotated[
        bool,
        typer.Option(
            "--drop-flagged",
            help="With --quality: leave the flagged responses out of the output (how many is "
            "said on stderr and in the codebook).",
        ),
    ] = False,
    duration_column: DurationOpt = None,
    longstring_share: LongstringOpt = 1.0,
    irv_max: IrvOpt = 0.0,
    mahad_alpha: MahadOpt = 0.001,
    synonym_r: SynonymOpt = 0.60,
    psychsyn_below: SynBelowOpt = None,
    psychant_above: AntAboveOpt = None,
    seconds_per_item: SpeedOpt = 2.0,
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
            help="Do not prefix ' to text cells starting with = + - @ tab CR (formula injection; "
            "a number such as -1.5 never gets it).",
        ),
    ] = False,
    allow_empty: AllowEmptyOpt = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Show the mapping, counts and first problems; write nothing (exit 65 if "
            "the run would be refused).",
        ),
    ] = False,
    chunk_size: ChunkSizeOpt = 100_000,
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

    FHIR QuestionnaireResponses (one, a Bundle, or NDJSON; .json or .ndjson):
      alliance batch responses.ndjson -q wai-sr -o scores.csv

    Large files are read and scored in chunks (--chunk-size); --engine dask spreads the
    chunks over Dask workers. SPSS (.sav) output holds every score in memory.

    Centred for multilevel models:
      alliance batch sessions.csv -q wai-sr --center client

    Careless-response screening (flagged rows kept and marked):
      alliance batch export.csv -q wai-sr --quality -o scores.csv

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
    from alliance_cli.errors import BatchDataError
    from alliance_cli.research.files import Targets, score_files
    from alliance_cli.ui import batch as view
    from alliance_cli.ui import render
    from alliance_cli.ui.terminal import stdout_bytes

    started = time.perf_counter()
    check_column_names(id=ids, keep=keep, center=center, duration_column=duration_column)
    if scheduler and engine is not Engine.dask:
        usage("--scheduler needs --engine dask")
    if drop_flagged and not quality:
        usage("--drop-flagged needs --quality")
    scores = None if output is None or str(output) == "-" else output
    outputs = Targets(scores, to and to.value, codebook, errors, escape_formulas=not no_escape)
    catalog = catalog_for(definitions)
    with reporting(catalog):
        with view.ProgressBar() as progress:
            result = score_files(
                inputs,
                questionnaires,
                catalog,
                input_options(ctx.params, catalog, questionnaires),
                outputs,
                stdin=lambda: stdin_input(inputs),
                stdout=stdout_bytes,
                shape=shape,
                center=center,
                keep=keep or (),
                keep_all=keep_all,
                columns=columns,
                quality=quality_options(ctx.params, drop_flagged=drop_flagged) if quality else None,
                engine=engine.value,
                scheduler=scheduler,
                dry_run=dry_run,
                allow_empty=allow_empty,
                progress=progress,
                warn=render.warning,
            )
        view.mapping(result.mappings)
        if dry_run:
            view.dry_run(result)
        else:
            for line in result.summary():
                typer.echo(line, err=True)
        if dry_run and result.refused:
            raise typer.Exit(BatchDataError.exit_code)
        if result.empty and not allow_empty:
            view.nothing_to_write(result, dry_run=dry_run)
            raise typer.Exit(1)
        if not dry_run:
            seconds = time.perf_counter() - started
            typer.echo(f"{outputs.written(result.written).summary()} in {seconds:.2f} s", err=True)
