"""`alliance reliability`: alpha, omega, item statistics and repeated-measures ICCs per scale."""

from __future__ import annotations

from typing import Annotated

import typer

from alliance_cli.cli._common import (
    DefinitionsOpt,
    JsonOpt,
    app,
    catalog_for,
    print_json,
    reporting,
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
from alliance_cli.options import InvalidPolicy, Source


@app.command()
def reliability(
    ctx: typer.Context,
    inputs: InputsArg,
    questionnaires: Annotated[
        list[str],
        typer.Option(
            "--questionnaire", "-q", help="Questionnaire (repeat for several).", show_default=False
        ),
    ],
    by: Annotated[
        str | None,
        typer.Option(
            "--by",
            metavar="CLIENT_COL",
            help="Client column: ICC1 and ICC1k of each scale score across clients, and alpha "
            "within and between clients (Geldhof et al. 2014; any number of sessions); memory "
            "grows with the number of clients.",
            show_default=False,
        ),
    ] = None,
    session: Annotated[
        str | None,
        typer.Option(
            "--session",
            metavar="SESSION_COL",
            help="Session column (with --by): psych::mlr variance components and "
            "between/within-client reliability; needs every client at every session "
            "(otherwise use the within/between alphas of --by); memory grows with clients × "
            "sessions.",
            show_default=False,
        ),
    ] = None,
    ordinal: Annotated[
        bool,
        typer.Option(
            "--ordinal",
            help="Also ordinal reliability from polychoric correlations (psych::polychoric): "
            "ordinal alpha, ordinal omega total and categorical omega (Green & Yang 2009) of "
            "the observed sum; --json adds the polychoric matrix and thresholds. Items with "
            "more than 8 response points are not treated as ordinal.",
        ),
    ] = False,
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
    """Reliability of every scale: N, complete-case mean, SD, floor/ceiling, Cronbach's
    alpha (Feldt 95% CI), standardized alpha, omega total, item–total r and alpha if deleted
    — as R psych computes them; with --by, ICC1 and ICC1k (psych::ICC's names, Shrout &
    Fleiss ICC(1,1) and ICC(1,k); the values of psych::statsBy's ICC1 and ICC2). Data are
    read and checked as `alliance batch` does, with its input options (a bad cell: exit 65),
    in chunks: memory stays flat as rows grow.

    Example:  alliance reliability study.csv -q wai-sr

    Also:
      alliance reliability sessions.csv -q wai-sr --by client --session session \\
        --json
      alliance reliability study.csv -q wai-sr --ordinal

    Item columns are found by name (wai1, WAI_1, wai_sr_01, wais_3, srs_relationship) or
    given in a map file (--map), as in batch; a workbook is read from its first sheet
    unless --sheet names another:

      ids: \\[participant, session]
      missing: \\[-99, 999, "N/A", refused]
      questionnaires:
        wai-sr:
          columns: {Q1: 1, Q2: 2, Q3: {item: 3, recode: {"0": 1}}}
          recode: {"Strongly agree": 5}
          missing: \\[88]
    """
    from alliance_cli.research.files import reliability_of_files
    from alliance_cli.ui import reliability as view

    check_column_names(id=ids, by=by, session=session)
    catalog = catalog_for(definitions)
    with reporting(catalog):
        result = reliability_of_files(
            inputs,
            questionnaires,
            catalog,
            input_options(ctx.params, catalog, questionnaires),  # --sep … --invalid, as parsed
            stdin=lambda: stdin_input(inputs),
            by=by,
            session=session,
            errors=errors,
            ordinal=ordinal,
        )
        if not result.accounting.scored and not allow_empty:
            view.nothing_kept(result)
            raise typer.Exit(1)
        if as_json:
            print_json(result.to_dict())
        else:
            view.show(result)
        view.messages(result)  # stderr, so also visible beside --json
