"""`alliance redcap dictionary|import`: REDCap data dictionaries to and from definitions."""

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

redcap_app = typer.Typer(
    name="redcap",
    help="REDCap data dictionaries from definitions, and definitions from dictionaries."
    "\n\nExample:  alliance redcap dictionary wai-sr srs -o dictionary.csv",
    no_args_is_help=True,
)
app.add_typer(redcap_app, name="redcap")


@redcap_app.command("dictionary")
def dictionary(
    questionnaires: Annotated[
        list[str],
        typer.Argument(metavar="ID...", help="Questionnaires (ids or aliases), one form each."),
    ],
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="File to write (atomically, mode 0600); - writes to stdout.",
        ),
    ] = Path("-"),
    as_zip: Annotated[
        bool,
        typer.Option(
            "--zip",
            help="Write an instrument ZIP (instrument.csv inside) for the Online Designer's "
            "'Upload instrument ZIP'; one questionnaire only.",
        ),
    ] = False,
    definitions: DefinitionsOpt = None,
) -> None:
    """Write a REDCap data dictionary (CSV, the 18 standard columns): a record_id field, then
    per questionnaire a form with a radio field per item (text with number validation for
    visual-analogue items) named as `alliance batch` recognises them (wai_sr_01), and a calc
    field per scale computing it as alliance does (reverse keys, does-not-apply, proration).

    Example:  alliance redcap dictionary wai-sr srs -o dictionary.csv

    Also:
      alliance redcap dictionary care --zip -o care.zip
    """
    from alliance_cli.interop import redcap
    from alliance_cli.ui.terminal import stdout_bytes

    if as_zip and len(questionnaires) != 1:
        usage("--zip writes one instrument: give one questionnaire")
    catalog = catalog_for(definitions)
    with reporting(catalog):
        qs = [catalog.get(name) for name in questionnaires]
        target = stdout_bytes() if str(output) == "-" else output
        if as_zip:
            redcap.write_instrument_zip(target, qs[0])
        else:
            redcap.write_dictionary(target, qs)


@redcap_app.command("import")
def import_(
    dictionary_file: Annotated[
        Path, typer.Argument(metavar="DICT.csv", help="A REDCap data dictionary (CSV).")
    ],
    form: Annotated[
        str, typer.Option("--form", help="The form (instrument) to import, by its form name.")
    ],
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="Definition YAML to write (atomically, mode 0600); - writes to stdout.",
        ),
    ] = Path("-"),
    map_file: Annotated[
        Path | None,
        typer.Option(
            "--map",
            metavar="MAP.yaml",
            help="Also write the `alliance batch --map` file that scores the project's export.",
            show_default=False,
        ),
    ] = None,
    longitudinal: Annotated[
        bool,
        typer.Option(
            "--longitudinal",
            help="The project has events: the map's ids are record_id and redcap_event_name.",
        ),
    ] = False,
    repeating: Annotated[
        bool,
        typer.Option(
            "--repeating",
            help="The form repeats: redcap_repeat_instance joins the map's ids.",
        ),
    ] = False,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print what was written (items, scales, notes) as JSON (needs -o FILE).",
        ),
    ] = False,
) -> None:
    """Make a definition skeleton from one form of a REDCap data dictionary: its items,
    response scale from the choices, labels; scales from the calc fields that `alliance
    redcap dictionary` wrote, else one summed total; key_status unverified until you check
    the key. --map writes the map file for `alliance batch` on the project's export.

    Example:  alliance redcap import dict.csv --form wai_sr -o wai-sr.yaml

    Also:
      alliance redcap import dict.csv --form wai_sr -o wai-sr.yaml --map map.yaml
    """
    from alliance_cli.interop.redcapimport import import_form
    from alliance_cli.io.atomic import atomic_write
    from alliance_cli.ui.terminal import stdout_bytes

    if as_json and str(output) == "-":
        usage("--json prints a summary on stdout: write the definition with -o FILE")
    with reporting():
        refuse_overwriting([output, map_file], [dictionary_file])
        imported = import_form(
            dictionary_file, form, longitudinal=longitudinal, repeating=repeating
        )
        if map_file is not None:
            atomic_write(map_file, lambda stream: stream.write(imported.map_yaml))
        target = stdout_bytes() if str(output) == "-" else output
        atomic_write(target, lambda stream: stream.write(imported.definition_yaml))
        q = imported.questionnaire
        if as_json:
            print_json(
                {
                    "questionnaire": q.id,
                    "definition": str(output),
                    "map": None if map_file is None else str(map_file),
                    "items": q.item_ids(),
                    "scales": list(q.scales),
                    "key_status": "unverified",
                    "notes": imported.notes,
                }
            )
            return
        for note in imported.notes:
            typer.echo(f"note: {note}", err=True)
        typer.echo(
            f"{imported.questionnaire.id}: {len(imported.questionnaire.items)} items, "
            f"{len(imported.questionnaire.scales)} scales; key_status unverified",
            err=True,
        )
