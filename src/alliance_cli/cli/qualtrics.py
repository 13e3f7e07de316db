"""`alliance qualtrics import`: the --map file that scores a Qualtrics survey's export."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from alliance_cli.cli._common import (
    DefinitionsOpt,
    app,
    catalog_for,
    print_json,
    refuse_overwriting,
    reporting,
    usage,
)

qualtrics_app = typer.Typer(
    name="qualtrics",
    help="Read a Qualtrics survey file (.qsf): write the --map file that scores its export."
    "\n\nExample:  alliance qualtrics import survey.qsf -q wai-sr -o map.yaml",
    no_args_is_help=True,
)
app.add_typer(qualtrics_app, name="qualtrics")


@qualtrics_app.command("import")
def import_(
    survey: Annotated[Path, typer.Argument(metavar="SURVEY.qsf", help="The survey file.")],
    questionnaire: Annotated[
        str, typer.Option("--questionnaire", "-q", metavar="ID", help="Questionnaire id.")
    ],
    question: Annotated[
        list[str] | None,
        typer.Option(
            "--question",
            metavar="TAG",
            help="Export tag of a question holding items, in item order (repeat; a matrix "
            "gives its statements in order). Default: items found by the columns' names, as "
            "`alliance batch` finds them (wai_sr_01, WAI1, Q5_1 … Q5_12).",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="The map file to write (mode 0600); default: stdout.",
            show_default=False,
        ),
    ] = None,
    definitions: DefinitionsOpt = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json", help="Print each item's column and recodes as JSON (needs -o FILE)."
        ),
    ] = False,
) -> None:
    """Write the --map file that scores a Qualtrics survey's CSV export: columns by export
    tag, answers by the recode values the export holds (never choice ids), mapped to the
    definition's answers by their labels. Refuses, naming the question, a scale point with
    no recode value or a label the definition lacks, and one recode given to two answers.

    Example:  alliance qualtrics import survey.qsf -q wai-sr -o map.yaml
    """
    from alliance_cli.catalog import open_questionnaire
    from alliance_cli.interop.qualtrics import qsf_map

    to_stdout = output is None or str(output) == "-"
    if as_json and to_stdout:
        usage("--json prints a summary on stdout: write the map with -o FILE")
    catalog = catalog_for(definitions)
    with reporting(catalog):
        refuse_overwriting([output], [survey])
        q = open_questionnaire(catalog, questionnaire, None)
        found = qsf_map(survey, q, questions=question or ())
        text = found.to_yaml()
        from alliance_cli.io.atomic import atomic_write
        from alliance_cli.ui.terminal import stdout_bytes

        target = stdout_bytes() if to_stdout or output is None else output
        atomic_write(target, lambda stream: stream.write(text))
        if as_json:
            print_json(
                {
                    "questionnaire": q.id,
                    "map": str(output),
                    "how": found.how,
                    "items": [
                        {
                            "item": c.item,
                            "column": c.column,
                            "question": c.question,
                            "recode": c.recode,
                        }
                        for c in found.columns
                    ],
                }
            )
            return
        where = "stdout" if to_stdout else str(output)
        typer.echo(
            f"mapped {len(found.columns)} columns to {q.id}'s items by {found.how}; wrote {where}",
            err=True,
        )
