"""`alliance quality`: careless-response screening of data files, as R careless computes it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from alliance_cli.cli._common import (
    DefinitionsOpt,
    JsonOpt,
    app,
    catalog_for,
    print_json,
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
from alliance_cli.options import InvalidPolicy, Source


@app.command()
def quality(
    ctx: typer.Context,
    inputs: InputsArg,
    questionnaires: Annotated[
        list[str],
        typer.Option(
            "--questionnaire", "-q", help="Questionnaire (repeat for several).", show_default=False
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write each response's indices and flags here (row, file and id columns "
            "first): .csv, .tsv, .xlsx, .parquet or .sav by extension.",
            show_default=False,
        ),
    ] = None,
    duration_column: DurationOpt = None,
    longstring_share: LongstringOpt = 1.0,
    irv_max: IrvOpt = 0.0,
    mahad_alpha: MahadOpt = 0.001,
    synonym_r: SynonymOpt = 0.60,
    psychsyn_below: SynBelowOpt = None,
    psychant_above: AntAboveOpt = None,
    seconds_per_item: SpeedOpt = 2.0,
    map_file: MapOpt = None,
    ids: IdsOpt = None,
    missing: MissingOpt = None,
    sep: SepOpt = None,
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    source: SourceOpt = Source.auto,
    finished_only: FinishedOpt = False,
    complete_only: CompleteOpt = False,
    invalid: InvalidOpt = InvalidPolicy.error,
    errors: ErrorsOpt = None,
    chunk_size: ChunkSizeOpt = 100_000,
    allow_empty: AllowEmptyOpt = False,
    as_json: JsonOpt = False,
    definitions: DefinitionsOpt = None,
) -> None:
    """Careless-response screening: per questionnaire how many responses each flag
    catches — longstring (Johnson 2005), IRV (Dunn et al. 2018), Mahalanobis D² and
    psychometric synonyms/antonyms (Meade & Craig 2012), seconds per item (Huang et al.
    2012) — with R careless's indices, each threshold stated and configurable. Data are read
    and checked as `alliance batch` does, twice (item means and covariances first).

    Example:  alliance quality export.csv -q wai-sr

    Also:
      alliance quality export.csv -q wai-sr --longstring-share 0.5 \\
        -o indices.csv --json

    The same indices as columns beside the scores: alliance batch … --quality
    """
    from alliance_cli.research.files import quality_of_files
    from alliance_cli.ui import quality as view

    check_column_names(id=ids, duration_column=duration_column)
    if output is not None and str(output) == "-":
        usage("-o takes a file: stdout holds the report (--json for machine use)")
    catalog = catalog_for(definitions)
    with reporting(catalog):
        result = quality_of_files(
            inputs,
            questionnaires,
            catalog,
            input_options(ctx.params, catalog, questionnaires),  # --sep … --invalid, as parsed
            quality_options(ctx.params),
            stdin=lambda: stdin_input(inputs),
            output=output,
            errors=errors,
            allow_empty=allow_empty,
        )
        if result.empty:
            view.nothing_screened(result)
            raise typer.Exit(1)
        if as_json:
            print_json(result.to_dict())
        else:
            view.show(result)
        view.messages(result)  # stderr, so also visible beside --json
        if output is not None:
            typer.echo(f"wrote {result.written:,} rows to {output}", err=True)
