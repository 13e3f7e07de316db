"""Commands about questionnaire definitions: list, show, validate, schema."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from alliance_cli.cli._common import (
    DefinitionsOpt,
    ItemTextOpt,
    JsonOpt,
    app,
    catalog_for,
    print_json,
    reporting,
)


@app.command("list")
def list_(definitions: DefinitionsOpt = None, as_json: JsonOpt = False) -> None:
    """List the questionnaires: bundled ones and your own.

    Example:  alliance list --json
    """
    catalog = catalog_for(definitions)
    with reporting(catalog):
        rows = catalog.summaries()
        if as_json:
            print_json(rows)
            return
        from alliance_cli.ui import definitions as screen

        screen.catalog(rows)


@app.command()
def show(
    questionnaire: Annotated[str, typer.Argument(metavar="ID", help="Questionnaire id or alias.")],
    definitions: DefinitionsOpt = None,
    item_text: ItemTextOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a questionnaire: items, scales, rules, cutoffs, norms, sources, licence.

    Reversed items are marked per scale; the response scale is shown with its labels.

    Example:  alliance show wai-sr
    """
    from alliance_cli.catalog import open_questionnaire
    from alliance_cli.result import key_warning

    catalog = catalog_for(definitions)
    with reporting(catalog):
        q = open_questionnaire(catalog, questionnaire, item_text)
        if as_json:
            print_json(q.model_dump(mode="json"))
            return
        from alliance_cli.clinic.change import definition_notes
        from alliance_cli.ui import definitions as screen
        from alliance_cli.ui import render

        entry = catalog.entry_of(q)
        screen.questionnaire(q, entry.origin, str(entry.path))
        screen.alert_rules(q)
        screen.definition_notes({str(entry.path): definition_notes(q)})
        if (warning := key_warning(q)) is not None:
            render.warning(warning)


@app.command()
def validate(
    files: Annotated[
        list[Path],
        typer.Argument(
            metavar="FILE",
            help="Definition files, item-text overlays (*.item-text.yaml) or folders of them.",
        ),
    ],
    definitions: DefinitionsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Check definition files and report every problem with file:line:col.

    Exit 0 when all are valid, 1 when any has a problem.

    Example:  alliance validate my-definitions/ questionnaires/wai-sr.yaml
    """
    from alliance_cli.catalog import expand_paths, validate_files

    paths = expand_paths(files)
    # Overlays are checked against definitions in the folders being validated, too.
    folders = dict.fromkeys([*(definitions or []), *(p.parent for p in paths)])
    catalog = catalog_for(list(folders))
    catalog.notices.clear()  # validate reports problems itself, not as notices
    found = validate_files(paths, catalog)
    if as_json:
        print_json({file: [p.to_dict() for p in problems] for file, problems in found.items()})
    else:
        from alliance_cli.clinic.change import notes_for_files
        from alliance_cli.ui import definitions as screen

        screen.problems(found)
        screen.definition_notes(notes_for_files(found))
    if any(found.values()):
        raise typer.Exit(1)


@app.command()
def schema() -> None:
    """Print the JSON Schema of the definition format (for editors and CI).

    Example:  alliance schema > questionnaire.schema.json
    """
    from alliance_cli.schema import definition_schema

    print_json(definition_schema())
