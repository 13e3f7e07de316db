"""The app: its command table, and its group that loads only the command that is run.

Building a command means importing its module and building its Typer parameters; doing
that for all of them costs more than running one. :data:`COMMANDS` names each command's
module and its one-line help, so that ``alliance --help`` lists every command, and a
mistyped name gets its close names, without importing any of them. A test checks the table
against the commands themselves (names, order and first help paragraph).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import Annotated, Any

import typer
from typer._click import Command
from typer.core import TyperCommand

from alliance_cli import __version__
from alliance_cli.cli._plain import PlainGroup, make_plain

# name: (module in alliance_cli.cli, the first paragraph of the command's help)
COMMANDS: dict[str, tuple[str, str]] = {
    "administer": (
        "administer",
        "Give a questionnaire in the terminal, one item at a time, and record it.",
    ),
    "batch": (
        "batch",
        "Score every response in data files, or refuse with every bad cell listed by row (as "
        "in the file, header counted) and column.",
    ),
    "cite": (
        "cite",
        "How to cite alliance and each questionnaire (citations, key status, licence), and a "
        "methods paragraph: scoring keys and their sources, reverse items, missing-data rules "
        "and proration, missing codes, reliability methods with their R equivalents. The "
        "codebook of `alliance batch` carries the same paragraph for its run.",
    ),
    "clients": (
        "clients",
        "List the clients in the history database: administrations, questionnaires, first "
        "and last dates.",
    ),
    "new-client": (
        "clients",
        "Register a client under a pseudonymous code (letters, digits, - and _), minting a "
        "random one such as C-7KQ2MX when none is given. Never use a name.",
    ),
    "history": (
        "clients",
        "A client's sessions per questionnaire and respondent, one line each (date, session, "
        "administration id, total, change, mark); a chart with a legend; alerts that explain "
        "themselves, repeats grouped; client vs therapist; means per clinician and modality.",
    ),
    "void": (
        "clients",
        "Void a recorded administration: it stays in the database, marked void, with an audit "
        "row (who, when, why); it no longer counts in the history.",
    ),
    "delete-client": (
        "clients",
        "Delete a client and all their records for good (overwritten in the file, not just "
        "hidden), and say which backups still hold them; --purge-backups removes them there "
        "too. Asks you to type the code, or give it with --confirm.",
    ),
    "report": (
        "clients",
        "Write a self-contained HTML report of a client's alliance (no network; charts "
        "inline): trajectories with cutoffs, alerts with their explanations, client vs "
        "therapist, sessions.",
    ),
    "list": ("definitions", "List the questionnaires: bundled ones and your own."),
    "show": (
        "definitions",
        "Show a questionnaire: items, scales, rules, cutoffs, norms, sources, licence.",
    ),
    "validate": (
        "definitions",
        "Check definition files and report every problem with file:line:col.",
    ),
    "schema": (
        "definitions",
        "Print the JSON Schema of the definition format (for editors and CI).",
    ),
    "export": (
        "export",
        "Export recorded administrations as CSV for supervision or a study, rescored by the "
        "current definitions, with a codebook describing every column.",
    ),
    "reliability": (
        "reliability",
        "Reliability of every scale: N, complete-case mean, SD, floor/ceiling, Cronbach's "
        "alpha (Feldt 95% CI), standardized alpha, omega total, item–total r and alpha if "
        "deleted — as R psych computes them; with --by, ICC1 and ICC1k (psych::ICC's names, "
        "Shrout & Fleiss ICC(1,1) and ICC(1,k); the values of psych::statsBy's ICC1 and "
        "ICC2). Data are read and checked as `alliance batch` does, with its input options "
        "(a bad cell: exit 65), in chunks: memory stays flat as rows grow.",
    ),
    "quality": (
        "quality",
        "Careless-response screening: per questionnaire how many responses each flag catches "
        "— longstring (Johnson 2005), IRV (Dunn et al. 2018), Mahalanobis D² and "
        "psychometric synonyms/antonyms (Meade & Craig 2012), seconds per item (Huang et al. "
        "2012) — with R careless's indices, each threshold stated and configurable. Data are "
        "read and checked as `alliance batch` does, twice (item means and covariances "
        "first).",
    ),
    "score": (
        "score",
        "Score one administration of a questionnaire (and record it with --client).",
    ),
    "db": ("db", "Check, back up and restore the history database."),
    "fhir": ("fhir", "Convert to FHIR R4: a definition as a Questionnaire with its scoring."),
    "redcap": (
        "redcap",
        "REDCap data dictionaries from definitions, and definitions from dictionaries.",
    ),
    "norms": (
        "norms",
        "The practice's own norms for reliable change, from clients' first sessions.",
    ),
    "qualtrics": (
        "qualtrics",
        "Read a Qualtrics survey file (.qsf): write the --map file that scores its export.",
    ),
}


def load_command(name: str) -> Command:
    """Import the module of command ``name`` and build that command alone (a plain one)."""
    from typer.main import get_command_from_info, get_command_name, get_group_from_info

    importlib.import_module(f"alliance_cli.cli.{COMMANDS[name][0]}")
    built: Command | None = None
    for info in app.registered_commands:
        if (info.name or get_command_name(getattr(info.callback, "__name__", ""))) == name:
            built = get_command_from_info(
                info,
                pretty_exceptions_short=app.pretty_exceptions_short,
                rich_markup_mode=app.rich_markup_mode,
            )
    for group in app.registered_groups:
        if group.name == name:
            built = get_group_from_info(
                group,
                pretty_exceptions_short=app.pretty_exceptions_short,
                rich_markup_mode=app.rich_markup_mode,
                suggest_commands=app.suggest_commands,
            )
    if built is None:  # a table entry whose module does not register it: a bug
        raise LookupError(f"alliance_cli.cli.{COMMANDS[name][0]} has no command {name!r}")
    make_plain(built)
    return built


class _Commands(Mapping[str, Command]):
    """Every command of the table by name, in its order; each built when first looked up."""

    def __init__(self, built: Mapping[str, Command]) -> None:
        self._built = dict(built)

    def __getitem__(self, name: str) -> Command:
        if name not in self._built:
            if name not in COMMANDS:
                raise KeyError(name)
            self._built[name] = load_command(name)
        return self._built[name]

    def __contains__(self, name: object) -> bool:
        return name in COMMANDS

    def __iter__(self) -> Iterator[str]:
        return iter(COMMANDS)

    def __len__(self) -> int:
        return len(COMMANDS)


class LazyGroup(PlainGroup):
    """The app's group: commands from :data:`COMMANDS`, each loaded when it is run (or
    completed); its help lists them from the table."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.commands = _Commands(self.commands)  # type: ignore[assignment]

    def format_help(self, ctx: Any, formatter: Any) -> None:
        loaded = self.commands
        listed: dict[str, Command] = {
            name: TyperCommand(name=name, help=help) for name, (_, help) in COMMANDS.items()
        }
        self.commands = listed
        try:
            super().format_help(ctx, formatter)
        finally:
            self.commands = loaded


app = typer.Typer(
    name="alliance",
    cls=LazyGroup,
    help="Score therapeutic working-alliance questionnaires, locally.\n\n"
    "Example:  alliance score wai-sr --answers 5,4,4,5,3,4,5,4,4,5,4,4",
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


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
