"""`alliance export`: recorded histories as CSV (long or wide) with a codebook, or as a FHIR
Bundle."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from alliance_cli.cli._common import (
    DbOpt,
    DefinitionsOpt,
    app,
    catalog_for,
    open_store,
    reporting,
    usage,
)
from alliance_cli.options import Shape


class ExportFormat(StrEnum):
    csv = "csv"
    fhir = "fhir"


@app.command()
def export(
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="File to write (atomically, mode 0600); - writes to stdout.",
            show_default=False,
        ),
    ],
    client: Annotated[
        str | None,
        typer.Option("--client", "-c", help="Export this client.", show_default=False),
    ] = None,
    all_clients: Annotated[bool, typer.Option("--all", help="Export every client.")] = False,
    questionnaire: Annotated[
        str | None,
        typer.Option("--questionnaire", "-q", help="Only this questionnaire.", show_default=False),
    ] = None,
    shape: Annotated[
        Shape | None,
        typer.Option(
            "--shape",
            help="long: a row per administration × scale; wide: a row per administration "
            "with raw items and scale scores.  [default: long]",
            show_default=False,
        ),
    ] = None,
    file_format: Annotated[
        ExportFormat,
        typer.Option(
            "--format",
            help="csv: a table with a codebook; fhir: a FHIR R4 Bundle (JSON) of a "
            "QuestionnaireResponse per administration and an Observation per scale score.",
        ),
    ] = ExportFormat.csv,
    no_escape: Annotated[
        bool,
        typer.Option(
            "--no-escape-formulas",
            help="Do not prefix ' to text cells starting with = + - @ tab CR (formula injection; "
            "a number such as -1.5 never gets it).",
        ),
    ] = False,
    deidentify: Annotated[
        bool,
        typer.Option(
            "--deidentify",
            help="Random study ids for client codes, days since the first session for dates; "
            "no notes.",
        ),
    ] = False,
    key_file: Annotated[
        Path | None,
        typer.Option(
            "--key-file",
            help="With --deidentify: write the study id → client code key to this file.",
            show_default=False,
        ),
    ] = None,
    codebook: Annotated[
        Path | None,
        typer.Option(
            "--codebook",
            help="Codebook JSON file (default: <output>.codebook.json; none with -o - "
            "unless given).",
            show_default=False,
        ),
    ] = None,
    db: DbOpt = None,
    definitions: DefinitionsOpt = None,
) -> None:
    """Export recorded administrations as CSV for supervision or a study, rescored by the
    current definitions, with a codebook describing every column.

    Example:  alliance export --client C-7KQ2MX -o c-7kq2mx.csv

    Also:
      alliance export --all --shape wide --deidentify \\
        --key-file key.csv -o study.csv

    For an EHR:  alliance export --client C-7KQ2MX --format fhir -o c-7kq2mx.json
    """
    from alliance_cli.clinic.export import export_history
    from alliance_cli.io.outputs import fifos_closed
    from alliance_cli.ui.terminal import stdout_bytes

    if (client is None) == (not all_clients):
        usage("give either --client CODE or --all")
    if key_file is not None and not deidentify:
        usage("--key-file only goes with --deidentify (there is nothing to map)")
    writer = None
    unit = "row"
    if file_format is ExportFormat.fhir:
        csv_only = {
            "--codebook": codebook is not None,
            "--shape": shape is not None,
            "--no-escape-formulas": no_escape,
        }
        if given := [option for option, used in csv_only.items() if used]:
            verb = "goes" if len(given) == 1 else "go"
            usage(f"{' and '.join(given)} {verb} with --format csv, not fhir (a Bundle is JSON)")
        from alliance_cli.interop.fhir_export import write_bundle

        writer, shape, unit = write_bundle, Shape.wide, "response"  # the wide rows: a response each
    catalog = catalog_for(definitions)
    out_path = None if str(output) == "-" else output
    with reporting(catalog), fifos_closed(out_path, codebook, key_file), open_store(db) as store:
        written = export_history(
            store,
            catalog.get,
            stdout_bytes() if out_path is None else out_path,
            client=client,
            questionnaire=questionnaire,
            shape=shape or Shape.long,
            deidentify=deidentify,
            codebook=codebook,
            key_file=key_file,
            escape_formulas=not no_escape,
            writer=writer,
        )
        from alliance_cli.ui import render

        for warning in written.warnings:
            render.warning(warning)
        typer.echo(written.summary(unit), err=True)
