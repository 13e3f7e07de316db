"""`alliance norms build|list`: the practice's own norms for reliable change."""

from __future__ import annotations

from typing import Annotated

import typer

from alliance_cli.cli._common import (
    DbOpt,
    DefinitionsOpt,
    JsonOpt,
    app,
    catalog_for,
    open_store,
    print_json,
    reporting,
)
from alliance_cli.clinic.store.norms import DEFAULT_MIN_N, MIN_N_FLOOR

norms_app = typer.Typer(
    help="The practice's own norms for reliable change, from clients' first sessions.\n\n"
    "Example:  alliance norms build -q wai-sr",
    no_args_is_help=True,
)
app.add_typer(norms_app, name="norms")


@norms_app.command(
    "build",
    short_help="Build a local norm from clients' first sessions (n, mean, SD, reliability).",
)
def build(
    questionnaire: Annotated[
        str,
        typer.Option(
            "--questionnaire", "-q", help="Questionnaire id or alias.", show_default=False
        ),
    ],
    scales: Annotated[
        list[str] | None,
        typer.Option(
            "--scale",
            metavar="ID",
            help="Scale (repeat for several; default: the watched ones, e.g. total).",
            show_default=False,
        ),
    ] = None,
    min_n: Annotated[
        int,
        typer.Option(
            "--min-n",
            metavar="N",
            help=f"Fewest clients a norm may come from (at least {MIN_N_FLOOR}).",
        ),
    ] = DEFAULT_MIN_N,
    db: DbOpt = None,
    definitions: DefinitionsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Build a local norm from the history database: per watched scale and respondent, the
    mean and between-client SD of each client's FIRST session, n, the date range and the
    reliability it pairs with (the definition's, else Cronbach's alpha of those answers).
    Refused with fewer than --min-n clients. Alerts then use it for reliable change where
    the definition publishes no SD.

    Example:  alliance norms build -q wai-sr
    """
    from alliance_cli.clinic.norms import build as compute

    catalog = catalog_for(definitions)
    with reporting(catalog), open_store(db) as store:
        skipped: list[str] = []
        made = compute(store, catalog.get(questionnaire), scales, min_n, skipped=skipped)
        from alliance_cli.ui import render

        render.notices(skipped)
        if as_json:
            print_json([n.to_dict() for n in made])
            return
        from alliance_cli.ui import norms as view

        view.table(made, title="norm built")


@norms_app.command("list", short_help="List the norms built; alerts use the newest.")
def list_(
    questionnaire: Annotated[
        str | None,
        typer.Option("--questionnaire", "-q", help="Only this questionnaire.", show_default=False),
    ] = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List the norms built, oldest first; alerts use the newest per questionnaire, scale
    and respondent (when built under the current definition).

    Example:  alliance norms list
    """
    from alliance_cli.clinic.norms import stored

    with reporting(), open_store(db) as store:
        rows = stored(store, questionnaire)
        if as_json:
            print_json([n.to_dict() for n in rows])
            return
        from alliance_cli.ui import norms as view

        view.table(rows, title="norms")
