"""`alliance score`: score one administration (and record it with --client)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ._common import (
    DefinitionsOpt,
    ItemTextOpt,
    JsonOpt,
    OutputFormat,
    app,
    catalog_for,
    print_json,
    reporting,
    usage,
)


def _read_answers(answers: str | None, answers_file: Path | None) -> str:
    from ..errors import InputFileError, Problem

    if (answers is None) == (answers_file is None):
        usage("give the answers with either --answers TEXT (or - for stdin) or --answers-file FILE")
    if answers == "-":
        return sys.stdin.read().removeprefix("\ufeff")
    if answers is not None:
        return answers
    assert answers_file is not None
    try:
        return answers_file.read_text(encoding="utf-8-sig")  # -sig: Notepad's byte-order mark
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(
            Problem("file-unreadable", f"cannot read answers: {exc}", str(answers_file))
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
            help='Answers in item order "5,4,,3,…" (blank = missing), pairs '
            '"1=5 2=4", or scale labels ("always"); - reads stdin.',
            show_default=False,
        ),
    ] = None,
    answers_file: Annotated[
        Path | None,
        typer.Option(
            "--answers-file",
            help="Read the answers from a file (same forms as --answers).",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Output format.")
    ] = OutputFormat.table,
    as_json: JsonOpt = False,
    definitions: DefinitionsOpt = None,
    item_text: ItemTextOpt = None,
) -> None:
    """Score one administration of a questionnaire.

    Example:  alliance score wai-sr --answers 5,4,4,5,3,4,5,4,4,5,4,4

    Also:  alliance score srs -a "9.1,8.7,9.5,8" --json   ·   alliance score care -a
    "1=excellent 2=good 3=n/a …"
    """
    from ..catalog import open_questionnaire
    from ..result import score as score_answers

    catalog = catalog_for(definitions)
    with reporting(catalog):
        text = _read_answers(answers, answers_file)
        q = open_questionnaire(catalog, questionnaire, item_text)
        report = score_answers(q, text)
        from ..ui import render

        if as_json or output is OutputFormat.json:
            print_json(report.to_dict())
        elif output is OutputFormat.csv:
            from ..io.csvout import write_csv
            from ..result import CSV_COLUMNS

            write_csv(sys.stdout, CSV_COLUMNS, report.csv_rows())
        else:
            render.score(report)
        for warning in report.warnings:  # stderr, so also visible beside --json and csv
            render.warning(warning)
