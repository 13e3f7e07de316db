"""What the commands share: options, error reporting, JSON output, the entry point.

Library modules are imported inside the commands so that ``alliance --help`` and
``alliance score`` stay light (no pandas on these paths; a test checks ``sys.modules``).
A :class:`~alliance_cli.errors.UserError` becomes a clear message on stderr and its
documented exit code; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from alliance_cli.cli._app import app as app  # where the command modules register
from alliance_cli.options import Modality, Respondent

if TYPE_CHECKING:
    from alliance_cli.catalog import Catalog
    from alliance_cli.io.outputs import Outputs

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
    from alliance_cli.clinic.store import check_code
    from alliance_cli.errors import Problem, UsageError
    from alliance_cli.ui.prompter import ask_unknown_client

    canonical = check_code(code)
    choice = ask_unknown_client(canonical, store.closest_clients(canonical))
    if choice == "quit":
        raise UsageError(Problem("not-a-client", f"{canonical} is not a client; nothing recorded"))
    return (canonical, True) if choice == "new" else (choice, False)


def db_file(db: Path | None) -> Path:
    """The history database file: ``--db``, else the default place."""
    from alliance_cli.clinic.store import default_path

    return db or default_path()


def open_store(db: Path | None, *, create: bool = False) -> Any:
    """The history database (a ``Store``), at ``--db`` or the default place; what it had
    to tell (a file made private) is shown on stderr. Only commands that record give
    ``create``: for the others a database that is not there is an error."""
    from alliance_cli.clinic.store import Store

    store = Store(db_file(db), create=create)
    if store.notices:
        from alliance_cli.ui import render

        render.notices(store.notices)
    return store


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


@contextmanager
def reporting(catalog: Catalog | None = None) -> Iterator[None]:
    """Turn a UserError into its message and exit code (a refused batch: with its first bad
    cells, :func:`alliance_cli.ui.batch.refused`); show the catalog's notices (an override,
    a skipped file, a folder that does not exist) whatever happens."""
    from alliance_cli.errors import BatchDataError, UserError

    try:
        yield
    except UserError as exc:
        flush_notices(catalog)
        if isinstance(exc, BatchDataError):  # with its table of the first bad cells
            from alliance_cli.ui.batch import refused

            refused(exc)
        else:
            from alliance_cli.ui import render

            render.error(exc)
        raise typer.Exit(exc.exit_code) from None
    flush_notices(catalog)


def catalog_for(definitions: list[Path] | None) -> Catalog:
    from alliance_cli.catalog import Catalog

    return Catalog.from_environment(definitions or [])


def flush_notices(catalog: Catalog | None) -> None:
    if catalog is not None and catalog.notices:
        from alliance_cli.ui import render

        render.notices(catalog.notices)
        catalog.notices.clear()


def print_json(data: Any) -> None:
    from alliance_cli.ui.terminal import ascii_only

    typer.echo(json.dumps(data, indent=2, ensure_ascii=ascii_only()))


def usage(message: str) -> NoReturn:
    raise typer.BadParameter(message)


class Terminated(BaseException):
    """A termination signal, raised where the program is (like KeyboardInterrupt)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


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
    # caller ignores (nohup) stays ignored. Each is remembered: Typer turns Ctrl-C into a
    # plain exit 130.
    signalled: list[int] = []

    def on_signal(signum: int, frame: object) -> None:
        signalled.append(signum)
        raise KeyboardInterrupt if signum == signal.SIGINT else Terminated(signum)

    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        number = getattr(signal, name, None)
        if number is not None and signal.getsignal(number) is not signal.SIG_IGN:
            signal.signal(number, on_signal)
    from alliance_cli.io.outputs import Outputs
    from alliance_cli.ui.terminal import (
        ClosedOutput,
        degrade_streams,
        stand_in_for_closed_stdin,
        usable_columns,
    )

    degrade_streams()
    usable_columns()
    stand_in_for_closed_stdin()
    # The run's outputs: every temporary file an output makes is registered here before it
    # exists, and whatever is still pending when the block ends, however it ends (an
    # interrupt between creating an output's temporary file and handing it on), is removed.
    run = Outputs()
    try:
        with run:
            app()
    except ClosedOutput as exc:
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.write(f"error: {exc}\n")
        raise SystemExit(6) from None
    except KeyboardInterrupt:
        _stop(run, 130, "interrupted")
    except Terminated as exc:
        _stop(run, 128 + exc.signum, f"stopped by {signal.Signals(exc.signum).name}")
    except SystemExit as exc:
        if signalled:  # Typer's exit 130 for Ctrl-C, or a command's own (``administer``)
            _stop(run, exc.code if isinstance(exc.code, int) else 1 if exc.code else 0, None)
        raise
    except BrokenPipeError:
        raise SystemExit(0) from None


def _stop(run: Outputs, code: int, message: str | None) -> NoReturn:
    """End the process after a signal: outputs discarded, the message shown, and then at
    once — ``SystemExit`` would join the worker threads still computing a chunk nobody
    needs (seconds for a large one). What held a resource was closed as the signal's
    exception unwound the command."""
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # a second one: same end
        signal.signal(number, signal.SIG_IGN)
    run.discard()  # again: a second signal may have cut the first removal short
    with contextlib.suppress(OSError, ValueError):
        if message:
            sys.stderr.write(message + "\n")
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


def refuse_overwriting(outputs: list[Path | None], inputs: list[Path]) -> None:
    """Before a command reads anything: refuse an output (``-`` and None are stdout) that
    would replace one of its inputs, or two outputs on one file (as ``batch`` does)."""
    from alliance_cli.errors import Problem, UsageError
    from alliance_cli.io.targets import check_distinct

    files = [p for p in outputs if p is not None and str(p) != "-"]
    for path in files:
        if any(path.resolve() == p.resolve() for p in inputs):
            raise UsageError(
                Problem("same-file", "the output would replace an input file", str(path))
            )
    check_distinct(files, "the definition and the map need two paths")
