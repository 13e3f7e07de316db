"""The Typer app: parse → one library call → render → exit code.

Library modules are imported inside the commands so that ``alliance --help`` and
``alliance score`` stay light (no pandas on these paths; a test checks ``sys.modules``).
A :class:`~alliance_cli.errors.UserError` becomes a clear message on stderr and its
documented exit code; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from . import __version__

if TYPE_CHECKING:
    from .catalog import Catalog

app = typer.Typer(
    name="alliance",
    help="Score therapeutic working-alliance questionnaires, locally.\n\n"
    "Example:  alliance score wai-sr --answers 5,4,4,5,3,4,5,4,4,5,4,4",
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

DefinitionsOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--definitions",
        "-d",
        help="Extra folder of definition YAML files (repeat "
        "for several); overrides bundled ones with the same id.",
        show_default=False,
    ),
]
ItemTextOpt = Annotated[
    Path | None,
    typer.Option(
        "--item-text", help="Item-text overlay file with your licensed wording.", show_default=False
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"alliance {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Score therapeutic working-alliance questionnaires, locally.

    Example:  alliance score wai-sr --answers 5,4,4,5,3,4,5,4,4,5,4,4
    """


@contextmanager
def _reporting(catalog: Catalog | None = None) -> Iterator[None]:
    """Turn a UserError into its message and exit code; show the catalog's notices (an
    override, a skipped file, a folder that does not exist) whatever happens."""
    from .errors import UserError

    try:
        yield
    except UserError as exc:
        from .ui import render

        _flush_notices(catalog)
        render.error(exc)
        raise typer.Exit(exc.exit_code) from None
    _flush_notices(catalog)


def _catalog(definitions: list[Path] | None) -> Catalog:
    from .catalog import Catalog

    return Catalog.from_environment(definitions or [])


def _flush_notices(catalog: Catalog | None) -> None:
    if catalog is not None and catalog.notices:
        from .ui import render

        render.notices(catalog.notices)
        catalog.notices.clear()


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def _usage(message: str) -> NoReturn:
    raise typer.BadParameter(message)


@app.command("list")
def list_(definitions: DefinitionsOpt = None, as_json: JsonOpt = False) -> None:
    """List the questionnaires: bundled ones and your own.

    Example:  alliance list --json
    """
    catalog = _catalog(definitions)
    with _reporting(catalog):
        rows = catalog.summaries()
        if as_json:
            _print_json(rows)
            return
        from .ui import render

        render.catalog(rows)


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
    from .catalog import open_questionnaire
    from .result import key_warning

    catalog = _catalog(definitions)
    with _reporting(catalog):
        q = open_questionnaire(catalog, questionnaire, item_text)
        if as_json:
            _print_json(q.model_dump(mode="json"))
            return
        from .ui import render

        entry = catalog.entry_of(q)
        render.questionnaire(q, entry.origin, str(entry.path))
        if (warning := key_warning(q)) is not None:
            render.warning(warning)


def _read_answers(answers: str | None, answers_file: Path | None) -> str:
    from .errors import InputFileError, Problem

    if (answers is None) == (answers_file is None):
        _usage(
            "give the answers with either --answers TEXT (or - for stdin) or --answers-file FILE"
        )
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
    from .catalog import open_questionnaire
    from .result import score as score_answers

    catalog = _catalog(definitions)
    with _reporting(catalog):
        text = _read_answers(answers, answers_file)
        q = open_questionnaire(catalog, questionnaire, item_text)
        report = score_answers(q, text)
        from .ui import render

        if as_json or output is OutputFormat.json:
            _print_json(report.to_dict())
        elif output is OutputFormat.csv:
            from .io.csvout import write_csv
            from .result import CSV_COLUMNS

            write_csv(sys.stdout, CSV_COLUMNS, report.csv_rows())
        else:
            render.score(report)
        for warning in report.warnings:  # stderr, so also visible beside --json and csv
            render.warning(warning)


@app.command()
def validate(
    files: Annotated[
        list[Path],
        typer.Argument(
            metavar="FILE...",
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
    from .catalog import expand_paths, validate_files

    paths = expand_paths(files)
    # Overlays are checked against definitions in the folders being validated, too.
    folders = dict.fromkeys([*(definitions or []), *(p.parent for p in paths)])
    catalog = _catalog(list(folders))
    catalog.notices.clear()  # validate reports problems itself, not as notices
    found = validate_files(paths, catalog)
    if as_json:
        _print_json({file: [p.to_dict() for p in problems] for file, problems in found.items()})
    else:
        from .ui import render

        render.problems(found)
    if any(found.values()):
        raise typer.Exit(1)


@app.command()
def schema() -> None:
    """Print the JSON Schema of the definition format (for editors and CI).

    Example:  alliance schema > questionnaire.schema.json
    """
    from .schema import definition_schema

    _print_json(definition_schema())


def main() -> None:
    """Console-script entry point."""
    # Pydantic scans installed entry points for plugins on first validation (~15 ms); this
    # tool uses none.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    # Scoring is element-wise and reliability matrices are tiny: a BLAS thread pool buys
    # nothing and costs ~50 ms of start-up on every run. A user's own setting wins.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    try:
        app()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        raise SystemExit(130) from None
    except BrokenPipeError:
        raise SystemExit(0) from None
