"""`alliance reliability`: alpha, omega, item statistics and repeated-measures ICCs per scale."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ._common import DefinitionsOpt, JsonOpt, app, catalog_for, print_json, reporting, usage
from .batch import CompleteOpt, FinishedOpt, MapOpt, SheetOpt, Source, SourceOpt


@app.command()
def reliability(
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
            "--questionnaire", "-q", help="Questionnaire (repeat for several).", show_default=False
        ),
    ],
    by: Annotated[
        str | None,
        typer.Option(
            "--by",
            metavar="CLIENT_COL",
            help="Client column: ICC(1) of each scale score across clients, and alpha "
            "within and between clients (Geldhof et al. 2014; any number of sessions).",
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
            "(otherwise use the within/between alphas of --by).",
            show_default=False,
        ),
    ] = None,
    map_file: MapOpt = None,
    sheet: SheetOpt = None,
    source: SourceOpt = Source.auto,
    finished_only: FinishedOpt = False,
    complete_only: CompleteOpt = False,
    as_json: JsonOpt = False,
    definitions: DefinitionsOpt = None,
) -> None:
    """Reliability of every scale: N, mean, SD, floor/ceiling, Cronbach's alpha (Feldt 95%
    CI), standardized alpha, omega total, item–total r and alpha if deleted — as R psych
    computes them. Data are read and checked as `alliance batch` does (a bad cell: exit 65).

    Example:  alliance reliability study.csv -q wai-sr

    Also:
      alliance reliability sessions.csv -q wai-sr --by client --session session \\
        --json
    """
    from ..batch import SHOWN_FAILURES, BatchOptions
    from ..errors import BatchDataError
    from ..io.readers import read_input
    from ..io.surveys import prepare
    from ..mapfile import load_map
    from ..reliability import reliability as compute
    from ..ui import batch as batch_view
    from ..ui import reliability as view

    if inputs.count("-") > 1:
        usage("stdin (-) can be read only once")
    catalog = catalog_for(definitions)
    with reporting(catalog):
        qs = list({q.id: q for q in map(catalog.get, questionnaires)}.values())
        spec = load_map(map_file) if map_file is not None else None
        stdin = getattr(sys.stdin, "buffer", sys.stdin)
        tables = [
            prepare(
                read_input(stdin if n == "-" else Path(n), sheet=sheet),
                source.value,
                finished_only=finished_only,
                complete_only=complete_only,
            )
            for n in inputs
        ]
        try:
            result = compute(tables, qs, BatchOptions(spec=spec), by=by, session=session)
        except BatchDataError as exc:
            batch_view.refused(exc, SHOWN_FAILURES, with_file=len(tables) > 1, errors=None)
            raise typer.Exit(exc.exit_code) from None
        if as_json:
            print_json(result.to_dict())
        else:
            view.show(result)
        view.messages(result)  # stderr, so also visible beside --json
