"""`alliance score`: score one administration (and record it with --client)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from alliance_cli.cli._common import (
    ClinicianOpt,
    DbOpt,
    DefinitionsOpt,
    ItemTextOpt,
    JsonOpt,
    ModalityOpt,
    NewClientOpt,
    NoteOpt,
    OutputFormat,
    RespondentOpt,
    SessionOpt,
    WhenOpt,
    app,
    catalog_for,
    filing_client,
    open_store,
    print_json,
    reporting,
    usage,
)

# Bytes of answers read from a file or stdin (36 answers take about 200); more is refused.
MAX_ANSWERS_BYTES = 1_000_000


def _read_answers(answers: str | None, answers_file: Path | None) -> str:
    from alliance_cli.errors import InputFileError, Problem
    from alliance_cli.io.limited import read_limited

    if (answers is None) == (answers_file is None):
        usage("give the answers with either --answers TEXT (or - for stdin) or --answers-file FILE")
    if answers is not None and answers != "-":
        return answers
    from alliance_cli.ui.terminal import stdin_closed

    source: Any = answers_file or getattr(sys.stdin, "buffer", None) or sys.stdin
    name = str(answers_file or "stdin")
    if answers_file is None and stdin_closed():  # started with stdin closed (`<&-`)
        raise InputFileError(
            Problem("no-stdin", "closed; pipe the answers in or use --answers-file", name)
        )
    try:
        data = read_limited(source, MAX_ANSWERS_BYTES, "answers", name)
        return data.decode("utf-8-sig")  # -sig: Notepad's byte-order mark
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(
            Problem("file-unreadable", f"cannot read answers: {exc}", name)
        ) from exc


@app.command()
def score(
    questionnaire: Annotated[
        str, typer.Argument(metavar="ID", help="Questionnaire id or alias (wai-sr).")
    ],
    answers: Annotated[
        str | None,
        typer.Option(
            "--answers",
            "-a",
            metavar="ANSWERS",
            help='Answers in item order "5,4,,3,…" (blank = missing), pairs '
            '"1=5 2=4", or scale labels ("always"); - reads stdin.',
            show_default=False,
        ),
    ] = None,
    answers_file: Annotated[
        Path | None,
        typer.Option(
            "--answers-file",
            metavar="FILE",
            help="Read the answers from a file (same forms as --answers).",
            show_default=False,
        ),
    ] = None,
    fhir: Annotated[
        Path | None,
        typer.Option(
            "--fhir",
            metavar="FILE",
            help="Read the answers from a FHIR QuestionnaireResponse (JSON; by linkId; - reads "
            "standard input).",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        OutputFormat,
        typer.Option(
            "--format", "-f", metavar="FORMAT", case_sensitive=False, help="Output format."
        ),
    ] = OutputFormat.table,
    as_json: JsonOpt = False,
    definitions: DefinitionsOpt = None,
    item_text: ItemTextOpt = None,
    client: Annotated[
        str | None,
        typer.Option(
            "--client",
            "-c",
            metavar="CODE",
            help="Record this administration for the client (nothing is stored without it).",
            show_default=False,
            rich_help_panel="Recording",
        ),
    ] = None,
    session: SessionOpt = None,
    when: WhenOpt = None,
    respondent: RespondentOpt = None,
    clinician: ClinicianOpt = None,
    modality: ModalityOpt = None,
    note: NoteOpt = None,
    replaces: Annotated[
        int | None,
        typer.Option(
            "--replaces",
            metavar="ID",
            min=1,
            max=2**62,
            help="Administration number this re-entry corrects (it is voided).",
            show_default=False,
            rich_help_panel="Recording",
        ),
    ] = None,
    new_client: NewClientOpt = False,
    db: DbOpt = None,
) -> None:
    """Score one administration of a questionnaire (and record it with --client).

    Example:  alliance score wai-sr --answers 5,4,4,5,3,4,5,4,4,5,4,4

    Also:  alliance score srs -a 9.1,8.7,9.5,8 -c C-7KQ2MX --modality video

    From an EHR or portal:  alliance score wai-sr --fhir response.json

    An unknown client code is refused (in a terminal: asked about, with the closest
    registered codes); --new-client registers a new one. A re-entry (--replaces) keeps the
    replaced record's date, session, clinician, modality and note unless given again.
    """
    from alliance_cli.catalog import open_questionnaire
    from alliance_cli.result import score as score_answers

    recording = {
        "--session": session,
        "--date": when,
        "--respondent": respondent,
        "--clinician": clinician,
        "--modality": modality,
        "--note": note,
        "--replaces": replaces,
        "--new-client": new_client or None,
    }
    given = [name for name, value in recording.items() if value is not None]
    if client is None and given:  # a correction or a session that would silently not be saved
        usage(f"{', '.join(given)} record a session: give --client CODE too (nothing recorded)")
    catalog = catalog_for(definitions)
    fhir_warnings: list[str] = []
    with reporting(catalog):
        if fhir is not None:
            if answers is not None or answers_file is not None:
                usage("give the answers either with --fhir FILE or with --answers/--answers-file")
            from alliance_cli.interop.fhir_responses import one_response

            q = open_questionnaire(catalog, questionnaire, item_text)
            read = one_response(fhir, q)
            report = score_answers(q, read.answers)
            report.warnings[:0] = read.notes()
            if client is not None:
                when = when or read.day()  # the response's date, not today's
                other = read.other_subject(client)
                fhir_warnings = [other] if other else []
        else:
            text = _read_answers(answers, answers_file)
            q = open_questionnaire(catalog, questionnaire, item_text)
            report = score_answers(q, text)
        filed = None
        if client is not None:
            from alliance_cli.clinic.overview import file_score

            with open_store(db, create=True) as store:
                code, new = filing_client(store, client, new_client)
                filed = file_score(
                    store,
                    q,
                    report,
                    catalog.get,
                    client=code,
                    new_client=new,
                    session=session,
                    when=when,
                    respondent=respondent.value if respondent else None,
                    clinician=clinician,
                    modality=modality.value if modality else None,
                    note=note,
                    replaces=replaces,
                )
            if fhir_warnings:
                from dataclasses import replace

                filed = replace(filed, warnings=[*fhir_warnings, *filed.warnings])
        _show(report, filed, OutputFormat.json if as_json else output)


def _show(report: Any, filed: Any, output: OutputFormat) -> None:
    """The score as a table (with the client's recent sessions when filed), JSON or CSV;
    then the warnings, on stderr, so also seen beside JSON and CSV."""
    from alliance_cli.ui import render
    from alliance_cli.ui import score as screen

    if filed is not None:
        screen.recorded(filed.saved)
    if output is OutputFormat.json:
        print_json(report.to_dict() | ({"recorded": filed.to_dict()} if filed else {}))
    elif output is OutputFormat.csv:
        from alliance_cli.io.csvout import write_csv
        from alliance_cli.result import CSV_COLUMNS
        from alliance_cli.ui.terminal import stdout_text

        write_csv(stdout_text(), CSV_COLUMNS, report.csv_rows())
    else:
        screen.score(report)
        if filed is not None:
            from alliance_cli.ui.history import recent

            recent(filed.view.series, filed.view.alerts, filed.view.marked)
    for warning in [*report.warnings, *(filed.warnings if filed else [])]:
        render.warning(warning)
