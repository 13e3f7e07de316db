"""`alliance administer`: a questionnaire in the terminal, item by item, saved as a draft."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from alliance_cli.cli._common import (
    ClinicianOpt,
    DbOpt,
    DefinitionsOpt,
    ItemTextOpt,
    ModalityOpt,
    NewClientOpt,
    NoteOpt,
    RespondentOpt,
    SessionOpt,
    WhenOpt,
    app,
    catalog_for,
    filing_client,
    open_store,
    reporting,
)


@app.command()
def administer(
    questionnaire: Annotated[
        str, typer.Argument(metavar="ID", help="Questionnaire id or alias (wai-sr).")
    ],
    client: Annotated[
        str,
        typer.Option(
            "--client",
            "-c",
            metavar="CODE",
            help="The client's pseudonymous code.",
            show_default=False,
        ),
    ],
    session: SessionOpt = None,
    when: WhenOpt = None,
    respondent: RespondentOpt = None,
    clinician: ClinicianOpt = None,
    modality: ModalityOpt = None,
    note: NoteOpt = None,
    new_client: NewClientOpt = False,
    resume: Annotated[
        bool,
        typer.Option("--resume", help="Continue the client's draft of this questionnaire."),
    ] = False,
    hide_results: Annotated[
        bool,
        typer.Option(
            "--hide-results", help="After submitting, show a thank-you instead of the scores."
        ),
    ] = False,
    item_text: ItemTextOpt = None,
    definitions: DefinitionsOpt = None,
    db: DbOpt = None,
) -> None:
    """Give a questionnaire in the terminal, one item at a time, and record it.

    Each answer is saved as a draft at once; q, Ctrl-C or a closed terminal keep it, and
    --resume (or the offer made when a draft exists) continues at the first unanswered
    item. At an item: a number or the first letters of a label, b back, s skip (where the
    scoring rules allow), ? help, q stop for now. A review lists every answer before
    submitting; then the scores against earlier sessions (or, with --hide-results, a
    thank-you).

    Example:  alliance administer wai-sr --client C-7KQ2MX --modality video

    Also:  alliance administer wai-sr --client C-7KQ2MX --resume
    """
    if not sys.stdin.isatty():
        from alliance_cli.errors import Problem, UsageError

        with reporting(), open_store(db) as store:
            # A mistyped code is named first ("did you mean"), so that the command suggested
            # below is one that would record.
            code = store.resolve_client(client, new_client=new_client)
            raise UsageError(
                Problem("no-terminal", "administer needs a terminal; standard input is not one"),
                hint="To record answers from a file or a pipe: alliance score "
                f"{questionnaire} --answers … --client {code}"
                + (" --new-client" if new_client else ""),
            )
    from alliance_cli.catalog import open_questionnaire
    from alliance_cli.clinic.administer import administer as run_interview
    from alliance_cli.clinic.interview import Details, Mode
    from alliance_cli.ui.prompter import TerminalPrompter

    tail: list[str] = [] if db is None else ["--db", str(db)]
    for folder in definitions or []:
        tail += ["-d", str(folder)]
    if item_text is not None:
        tail += ["--item-text", str(item_text)]
    catalog = catalog_for(definitions)
    with reporting(catalog):
        q = open_questionnaire(catalog, questionnaire, item_text)
        with open_store(db, create=True) as store:
            client, new_client = filing_client(store, client, new_client)
            details = Details(
                client=client,
                session=session,
                when=when,
                respondent=respondent.value if respondent else None,
                clinician=clinician,
                modality=modality.value if modality else None,
                note=note,
                new_client=new_client,
            )
            ended = run_interview(
                store,
                q,
                details,
                TerminalPrompter(),
                resume=resume,
                hide_results=hide_results,
                command_tail=tail,
                find=catalog.get,
            )
    if ended is Mode.interrupted:
        raise typer.Exit(130)
