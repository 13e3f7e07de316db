"""Commands about clients and their histories: clients, new-client, history, report, void,
delete-client."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from alliance_cli.cli._common import (
    ClientArg,
    DbOpt,
    DefinitionsOpt,
    JsonOpt,
    app,
    catalog_for,
    open_store,
    print_json,
    reporting,
    usage,
)


@app.command()
def clients(db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """List the clients in the history database: administrations, questionnaires, first and
    last dates.

    Example:  alliance clients --json
    """
    with reporting(), open_store(db) as store:
        rows = store.clients()
        if as_json:
            print_json([row.__dict__ for row in rows])
            return
        from alliance_cli.ui import clients as screen

        screen.clients(rows)


@app.command("new-client")
def new_client(
    code: Annotated[
        str | None,
        typer.Argument(metavar="CODE", help="A code of your own; a random one when left out."),
    ] = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Register a client under a pseudonymous code (letters, digits, - and _), minting a
    random one such as C-7KQ2MX when none is given. Never use a name.

    Example:  alliance new-client
    """
    with reporting(), open_store(db, create=True) as store:
        made = store.new_client(code)
        if as_json:
            print_json({"client": made})
        else:
            typer.echo(made)


@app.command()
def history(
    client: ClientArg,
    questionnaire: Annotated[
        str | None,
        typer.Option("--questionnaire", "-q", help="Only this questionnaire.", show_default=False),
    ] = None,
    scale: Annotated[
        str | None,
        typer.Option(
            "--scale",
            help="Scale to chart (default: the watched ones, e.g. total).",
            show_default=False,
        ),
    ] = None,
    scales: Annotated[
        bool, typer.Option("--scales", help="Show every scale's score, not only the total.")
    ] = False,
    show_notes: Annotated[
        bool, typer.Option("--notes", help="Show the session notes (with clinician, modality).")
    ] = False,
    db: DbOpt = None,
    definitions: DefinitionsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A client's sessions per questionnaire and respondent, one line each (date, session,
    administration id, total, change, mark); a chart with a legend; alerts that explain
    themselves, repeats grouped; client vs therapist; means per clinician and modality.

    Example:  alliance history C-7KQ2MX --questionnaire srs --notes
    """
    from alliance_cli.clinic.overview import client_overview

    catalog = catalog_for(definitions)
    with reporting(catalog), open_store(db) as store:
        overview = client_overview(store, client, catalog.get, questionnaire)
        if as_json:
            print_json(overview.to_dict())
            return
        from alliance_cli.ui import history as shown

        shown.overview(overview, scale, all_scales=scales, show_notes=show_notes)


@app.command()
def void(
    administration: Annotated[
        int,
        typer.Argument(
            metavar="ADMIN_ID",
            min=1,
            max=2**62,
            help="The administration number (shown when it was recorded).",
        ),
    ],
    reason: Annotated[
        str, typer.Option("--reason", help="Why it is voided (kept in the audit trail).")
    ],
    db: DbOpt = None,
) -> None:
    """Void a recorded administration: it stays in the database, marked void, with an audit
    row (who, when, why); it no longer counts in the history.

    Example:  alliance void 12 --reason "entered for the wrong client"
    """
    with reporting(), open_store(db) as store:
        voided = store.void(administration, reason)
        typer.echo(
            f"voided administration #{voided.id} (client {voided.client}, session "
            f"{voided.session}, {voided.questionnaire_id})",
            err=True,
        )


@app.command("delete-client")
def delete_client(
    client: ClientArg,
    confirm: Annotated[
        str | None,
        typer.Option(
            "--confirm",
            help="The client code again, to delete without a prompt.",
            show_default=False,
        ),
    ] = None,
    purge_backups: Annotated[
        bool,
        typer.Option(
            "--purge-backups",
            help="Also remove the client from the backups next to the database.",
        ),
    ] = False,
    db: DbOpt = None,
) -> None:
    """Delete a client and all their records for good (overwritten in the file, not just
    hidden), and say which backups still hold them; --purge-backups removes them there too.
    Asks you to type the code, or give it with --confirm.

    Example:  alliance delete-client C-7KQ2MX --confirm C-7KQ2MX --purge-backups
    """
    from alliance_cli.clinic.store import check_code, erase

    with reporting():
        client = check_code(client)  # the stored form: codes are case-insensitive
    if confirm is None:
        if not sys.stdin.isatty():
            usage("to delete without a terminal, repeat the code with --confirm CODE")
        confirm = typer.prompt(f"This deletes every record of {client}. Type the code to confirm")
    if confirm.upper() != client.upper():  # codes are case-insensitive
        usage(f"the code typed ({confirm}) is not {client}; nothing was deleted")

    def offer(holding: list[Path]) -> bool:
        listed = "\n".join(f"  {b}" for b in holding)
        return typer.confirm(
            f"{client} is deleted from the database; {len(holding)} older backup(s) still "
            f"hold {client}:\n{listed}\nRemove the client from them too?",
            err=True,
        )

    with reporting(), open_store(db) as store:
        done = erase.erase_client(
            store,
            client,
            purge_backups=purge_backups,
            offer=offer if sys.stdin.isatty() else None,
        )
        for line in done.messages():
            typer.echo(line, err=True)


@app.command()
def report(
    client: ClientArg,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="The HTML file to write (mode 0600).")
    ],
    questionnaire: Annotated[
        str | None,
        typer.Option("--questionnaire", "-q", help="Only this questionnaire.", show_default=False),
    ] = None,
    db: DbOpt = None,
    definitions: DefinitionsOpt = None,
) -> None:
    """Write a self-contained HTML report of a client's alliance (no network; charts inline):
    trajectories with cutoffs, alerts with their explanations, client vs therapist, sessions.

    Example:  alliance report C-7KQ2MX -o report.html
    """
    from datetime import datetime

    from alliance_cli.clinic.report import client_report
    from alliance_cli.io.atomic import atomic_write

    catalog = catalog_for(definitions)
    with reporting(catalog), open_store(db) as store:
        generated = datetime.now().strftime("%Y-%m-%d %H:%M")
        html = client_report(store, client, catalog.get, questionnaire, generated=generated)
        atomic_write(output, lambda stream: stream.write(html))
        typer.echo(f"wrote {output}", err=True)
