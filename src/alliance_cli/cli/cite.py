"""`alliance cite`: how to cite alliance and the questionnaires, and a methods paragraph."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from alliance_cli.cli._common import (
    DefinitionsOpt,
    JsonOpt,
    app,
    catalog_for,
    print_json,
    reporting,
    usage,
)
from alliance_cli.options import InvalidPolicy


class CiteFormat(StrEnum):
    text = "text"
    bibtex = "bibtex"


@app.command()
def cite(
    questionnaires: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="ID",
            help="Questionnaires to cite (ids or aliases); none: alliance only.",
            show_default=False,
        ),
    ] = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Cite every questionnaire in the catalog.")
    ] = False,
    fmt: Annotated[
        CiteFormat,
        typer.Option("--format", help="text, or bibtex: one entry per citable work."),
    ] = CiteFormat.text,
    missing: Annotated[
        list[str] | None,
        typer.Option(
            "--missing",
            help="Code read as missing in item columns (repeat), as given to `alliance batch`: "
            "named in the methods paragraph.",
            show_default=False,
        ),
    ] = None,
    invalid: Annotated[
        InvalidPolicy,
        typer.Option(
            "--invalid", help="The batch run's --invalid policy, for the methods paragraph."
        ),
    ] = InvalidPolicy.error,
    center: Annotated[
        bool,
        typer.Option("--center", help="The batch run used --center (person-mean centring)."),
    ] = False,
    ordinal: Annotated[
        bool,
        typer.Option(
            "--ordinal",
            help="Reliability was reported with --ordinal: the methods paragraph names "
            "polychoric correlations, ordinal alpha and omega and categorical omega.",
        ),
    ] = False,
    quality: Annotated[
        bool,
        typer.Option(
            "--quality",
            help="The batch run used --quality (careless-response screening), with the default "
            "thresholds; the run's codebook states the thresholds it used.",
        ),
    ] = False,
    as_json: JsonOpt = False,
    definitions: DefinitionsOpt = None,
) -> None:
    """How to cite alliance and each questionnaire (citations, key status, licence), and a
    methods paragraph: scoring keys and their sources, reverse items, missing-data rules and
    proration, missing codes, reliability methods with their R equivalents. The codebook of
    `alliance batch` carries the same paragraph for its run.

    Example:  alliance cite wai-sr srs --missing -99

    Also:
      alliance cite --all --format bibtex > alliance.bib
      alliance cite wai-sr --ordinal
    """
    from alliance_cli.research.citing import cite_bibtex, cite_document, cite_text
    from alliance_cli.research.methods import RunOptions

    if all_ and questionnaires:
        usage("give questionnaire ids or --all, not both")
    if as_json and fmt is CiteFormat.bibtex:
        usage("--json and --format bibtex: choose one")
    catalog = catalog_for(definitions)
    with reporting(catalog):
        names = [q.id for q, _ in catalog.all()] if all_ else questionnaires or []
        qs = list({q.id: q for q in map(catalog.get, names)}.values())
        from alliance_cli.research.quality.rules import QualityOptions

        options = RunOptions(
            missing={q.id: tuple(missing or ()) for q in qs},
            invalid=invalid.value,
            center=center,
            ordinal=ordinal,
            quality=QualityOptions() if quality else None,
        )
        if fmt is CiteFormat.bibtex:
            typer.echo(cite_bibtex(qs), nl=False)
        elif as_json:
            print_json(cite_document(qs, options))
        else:
            typer.echo(cite_text(cite_document(qs, options)))
        if not qs:
            typer.echo(
                "hint: name questionnaires (alliance cite wai-sr srs) or give --all for their "
                "citations and a methods paragraph",
                err=True,
            )
