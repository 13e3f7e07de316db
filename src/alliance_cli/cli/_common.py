"""The Typer app and what its commands share: options, error reporting, JSON output.

Library modules are imported inside the commands so that ``alliance --help`` and
``alliance score`` stay light (no pandas on these paths; a test checks ``sys.modules``).
A :class:`~alliance_cli.errors.UserError` becomes a clear message on stderr and its
documented exit code; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from .. import __version__

if TYPE_CHECKING:
    from ..catalog import Catalog

# -- help and usage errors in one plain style -------------------------------------------------
#
# Typer shows Python types in help (<bool>, <list[Path]>, [1<=x<=100000]) and boxes usage
# errors in rich panels with pydantic wording. Here every command shows what to type (its
# metavar, if any), prose re-flowed to the terminal, examples kept on their own lines; and
# every usage error becomes one `error:` line, a hint how to get help, and exit 2.


class _PlainOption(TyperOption):
    def display_type_rich(self, ctx: Any) -> str | None:
        return self.metavar or ""

    def _get_number_range_help_str(self) -> str | None:
        return None


class _PlainArgument(TyperArgument):
    def display_type_rich(self, ctx: Any) -> str | None:
        return None

    def _get_number_range_help_str(self) -> str | None:
        return None


def _plain_help(command: Any, ctx: Any) -> None:
    """Prepare a command's help: parameters without type names, prose re-flowed."""
    for param in command.get_params(ctx):
        if type(param) is TyperOption:
            param.__class__ = _PlainOption
            if param.type_descriptor.is_choice and "One of:" not in (param.help or ""):
                param.help = f"{param.help or ''} One of: {_choices(param)}.".strip()
        elif type(param) is TyperArgument:
            param.__class__ = _PlainArgument
    command.help = reflow(command.help or "")


def reflow(text: str) -> str:
    """Help text with each prose paragraph on one line (the terminal wraps it); a paragraph
    with indented lines (examples, a file excerpt) keeps its lines."""
    paragraphs = inspect.cleandoc(text).split("\n\n")
    preformatted = [any(line[:1].isspace() for line in p.splitlines()) for p in paragraphs]
    return "\n\n".join(
        p if keep else re.sub(r"\s*\n\s*", " ", p)
        for p, keep in zip(paragraphs, preformatted, strict=True)
    )


def _usage_pieces(command: Any, ctx: Any) -> list[str]:
    """``[OPTIONS] ID [CODE] FILE...``: arguments as in every other tool's usage line."""
    pieces = [command.options_metavar] if command.options_metavar else []
    for param in command.get_params(ctx):
        if isinstance(param, TyperArgument):
            name = param.metavar or (param.name or "").upper()
            name += "..." if param.nargs != 1 and not name.endswith("...") else ""
            pieces.append(name if param.required else f"[{name}]")
    return pieces


def _plain_error(exc: typer.TyperException) -> str:
    """A usage error as one sentence naming the option, the value and what is allowed."""
    param: Any = getattr(exc, "param", None)
    errors: Any = getattr(exc.__cause__, "errors", None)  # a pydantic ValidationError
    if param is not None and callable(errors) and errors() and "input" in errors()[0]:
        value = errors()[0]["input"]
        longs = [o for o in param.opts if o.startswith("--")]
        name = longs[0] if longs else param.metavar or (param.name or "").upper()
        desc, info = param.type_descriptor, param.type_descriptor.parameter_info
        if desc.is_choice:
            return f'{name} "{value}" is not one of: {_choices(param)}'
        if desc.annotation in (int, float):
            try:
                number = desc.annotation(value)
            except (TypeError, ValueError):
                what = "a whole number" if desc.annotation is int else "a number"
                return f'{name} "{value}" is not {what}'
            if info.min is not None and number < info.min:
                return f'{name} "{value}" must be at least {info.min}'
            if info.max is not None and number > info.max:
                return f'{name} "{value}" must be at most {info.max}'
        return f'{name} "{value}": {errors()[0]["msg"].removeprefix("Value error, ")}'
    message = exc.message if type(exc) is typer.BadParameter and param is None else ""
    message = message or exc.format_message()
    if message[1:2].islower():
        message = message[0].lower() + message[1:]
    return message.removesuffix(".")


def _choices(param: Any) -> str:
    return ", ".join(str(getattr(c, "value", c)) for c in param.type_descriptor.choices)


def _report_usage(exc: typer.TyperException) -> NoReturn:
    from ..errors import Problem, UsageError
    from ..ui import render

    ctx = getattr(exc, "ctx", None)
    hint = f"Try '{ctx.command_path} --help'." if ctx is not None else ""
    render.error(UsageError(Problem("usage", _plain_error(exc)), hint=hint))
    raise typer.Exit(exc.exit_code)


class PlainCommand(TyperCommand):
    """A command with plain help (see :func:`_plain_help`)."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        _plain_help(self, ctx)
        super().format_help(ctx, formatter)

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return _usage_pieces(self, ctx)


class PlainGroup(TyperGroup):
    """The app: plain help for itself and its command list, and every usage error of any
    command (unknown option, missing argument, a value not allowed, :func:`usage`) as one
    plain line."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        _plain_help(self, ctx)
        for command in self.commands.values():
            command.help = reflow(command.help or "")
        super().format_help(ctx, formatter)

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except typer.TyperException as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # the help is shown already
                raise
            _report_usage(exc)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except typer.TyperException as exc:
            _report_usage(exc)


_Command = TypeVar("_Command", bound=Callable[..., Any])


class _App(typer.Typer):
    """Typer whose commands are :class:`PlainCommand` unless they say otherwise."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[_Command], _Command]:
        kwargs.setdefault("cls", PlainCommand)
        return super().command(*args, **kwargs)


app = _App(
    name="alliance",
    cls=PlainGroup,
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
        metavar="FOLDER",
        help="Extra folder of definition YAML files (repeat "
        "for several); overrides bundled ones with the same id.",
        show_default=False,
    ),
]
ItemTextOpt = Annotated[
    Path | None,
    typer.Option(
        "--item-text",
        metavar="FILE",
        help="Item-text overlay file with your licensed wording.",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
DbOpt = Annotated[
    Path | None,
    typer.Option(
        "--db",
        metavar="FILE",
        help="History database file (default: $ALLIANCE_DB, else history.sqlite3 in the user "
        "data folder).",
        show_default=False,
    ),
]
ClientArg = Annotated[str, typer.Argument(metavar="CODE", help="Client code (pseudonymous).")]


class Respondent(StrEnum):
    client = "client"
    therapist = "therapist"
    observer = "observer"


class Modality(StrEnum):
    in_person = "in-person"
    video = "video"
    phone = "phone"
    other = "other"


# Where a recorded administration belongs: shared by `score --client` and `administer`.
_RECORDING = "Recording"
SessionOpt = Annotated[
    int | None,
    typer.Option(
        "--session",
        metavar="N",
        min=1,
        max=100_000,
        show_default=False,
        help="Session number (default: the client's next one).",
        rich_help_panel=_RECORDING,
    ),
]
WhenOpt = Annotated[
    str | None,
    typer.Option(
        "--date",
        metavar="DATE",
        help="YYYY-MM-DD or YYYY-MM-DDTHH:MM (default: today).",
        show_default=False,
        rich_help_panel=_RECORDING,
    ),
]
RespondentOpt = Annotated[
    Respondent | None,
    typer.Option(
        "--respondent",
        metavar="WHO",
        case_sensitive=False,
        help="Who answers (default: the questionnaire's respondent).",
        show_default=False,
        rich_help_panel=_RECORDING,
    ),
]
ClinicianOpt = Annotated[
    str | None,
    typer.Option(
        "--clinician",
        metavar="NAME",
        help="Clinician's name or code.",
        show_default=False,
        rich_help_panel=_RECORDING,
    ),
]
ModalityOpt = Annotated[
    Modality | None,
    typer.Option(
        "--modality",
        metavar="MODE",
        case_sensitive=False,
        help="How the session took place.",
        show_default=False,
        rich_help_panel=_RECORDING,
    ),
]
NoteOpt = Annotated[
    str | None,
    typer.Option(
        "--note",
        metavar="WORDS",
        help="A short note kept with the record.",
        show_default=False,
        rich_help_panel=_RECORDING,
    ),
]


NewClientOpt = Annotated[
    bool,
    typer.Option(
        "--new-client",
        help="Register the --client code as a new client. Without it, a code that is not "
        "registered is refused (in a terminal: asked about).",
        rich_help_panel=_RECORDING,
    ),
]


def filing_client(store: Any, code: str, new_client: bool) -> tuple[str, bool]:
    """The client code a record goes under, and whether to register it. A code that is not
    registered is asked about in a terminal (the closest registered code, a new client, or
    quit); without a terminal the library refuses it, naming the closest codes."""
    if new_client or store.find_client(code) is not None or not sys.stdin.isatty():
        return code, new_client
    from ..errors import Problem, UsageError
    from ..store import check_code
    from ..ui.prompter import ask_unknown_client

    canonical = check_code(code)
    choice = ask_unknown_client(canonical, store.closest_clients(canonical))
    if choice == "quit":
        raise UsageError(Problem("not-a-client", f"{canonical} is not a client; nothing recorded"))
    return (canonical, True) if choice == "new" else (choice, False)


def open_store(db: Path | None) -> Any:
    """The history database (a ``Store``), at ``--db`` or the default place."""
    from ..store import Store, default_path

    return Store(db or default_path())


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
def reporting(catalog: Catalog | None = None) -> Iterator[None]:
    """Turn a UserError into its message and exit code; show the catalog's notices (an
    override, a skipped file, a folder that does not exist) whatever happens."""
    from ..errors import UserError

    try:
        yield
    except UserError as exc:
        from ..ui import render

        flush_notices(catalog)
        render.error(exc)
        raise typer.Exit(exc.exit_code) from None
    flush_notices(catalog)


def catalog_for(definitions: list[Path] | None) -> Catalog:
    from ..catalog import Catalog

    return Catalog.from_environment(definitions or [])


def flush_notices(catalog: Catalog | None) -> None:
    if catalog is not None and catalog.notices:
        from ..ui import render

        render.notices(catalog.notices)
        catalog.notices.clear()


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def usage(message: str) -> NoReturn:
    raise typer.BadParameter(message)


class Terminated(BaseException):
    """A termination signal, raised where the program is (like KeyboardInterrupt)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _terminate(signum: int, frame: object) -> None:
    raise Terminated(signum)


def _discard_pending() -> None:
    atomic = sys.modules.get("alliance_cli.io.atomic")  # never imported: nothing pending
    if atomic is not None:
        atomic.discard_pending()


def main() -> None:
    """Console-script entry point."""
    # Pydantic scans installed entry points for plugins on first validation (~15 ms); this
    # tool uses none.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    # Scoring is element-wise and reliability matrices are tiny: a BLAS thread pool buys
    # nothing and costs ~50 ms of start-up on every run. A user's own setting wins.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    # SIGTERM (timeout, job schedulers) and SIGHUP (a closed terminal) unwind like Ctrl-C,
    # so that a half-written output is discarded rather than left behind; a signal the
    # caller ignores (nohup) stays ignored.
    for name in ("SIGTERM", "SIGHUP"):
        number = getattr(signal, name, None)
        if number is not None and signal.getsignal(number) is not signal.SIG_IGN:
            signal.signal(number, _terminate)
    try:
        app()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        raise SystemExit(130) from None
    except Terminated as exc:
        sys.stderr.write(f"stopped by {signal.Signals(exc.signum).name}\n")
        raise SystemExit(128 + exc.signum) from None
    except BrokenPipeError:
        raise SystemExit(0) from None
    finally:
        # Whatever a command left pending (an interrupt between creating an output's
        # temporary file and handing it on): removed. Nothing is pending after a success.
        _discard_pending()
