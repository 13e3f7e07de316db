"""`alliance fhir questionnaire`: a definition as a FHIR R4 Questionnaire."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from alliance_cli.cli._common import DefinitionsOpt, ItemTextOpt, app, catalog_for, reporting

fhir_app = typer.Typer(
    name="fhir",
    help="Convert to FHIR R4: a definition as a Questionnaire with its scoring.\n\n"
    "Example:  alliance fhir questionnaire wai-sr -o wai-sr.json",
    no_args_is_help=True,
)
app.add_typer(fhir_app, name="fhir")


@fhir_app.command("questionnaire")
def questionnaire(
    questionnaire: Annotated[str, typer.Argument(metavar="ID", help="Questionnaire id or alias.")],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="The JSON file to write (mode 0600; default or -: stdout).",
            show_default=False,
        ),
    ] = None,
    definitions: DefinitionsOpt = None,
    item_text: ItemTextOpt = None,
) -> None:
    """Write a FHIR R4 Questionnaire (JSON) for a questionnaire: choice items whose options
    carry their scores (itemWeight), visual-analogue items as decimals with their range, and
    one read-only item per scale whose calculatedExpression (FHIRPath) scores it as alliance
    does. Item texts are the definition's hints, or your overlay's (--item-text).

    Example:  alliance fhir questionnaire wai-sr -o wai-sr.json
    """
    import json

    from alliance_cli.catalog import open_questionnaire
    from alliance_cli.interop.fhir_questionnaire import questionnaire as to_fhir
    from alliance_cli.io.atomic import atomic_write

    catalog = catalog_for(definitions)
    with reporting(catalog):
        q = open_questionnaire(catalog, questionnaire, item_text)
        text = json.dumps(to_fhir(q), indent=2, ensure_ascii=False) + "\n"
        if output is None or str(output) == "-":
            atomic_write(sys.stdout.buffer, lambda stream: stream.write(text))
        else:
            atomic_write(output, lambda stream: stream.write(text))
            typer.echo(f"wrote {output}", err=True)
