"""The Typer app: parse → one library call → render → exit code.

Only the command that is run is imported (:mod:`alliance_cli.cli._app` has the table of
commands), and library modules are imported inside the commands, so that ``alliance --help``
and ``alliance score`` stay light (no pandas on these paths; a test checks ``sys.modules``).
A :class:`~alliance_cli.errors.UserError` becomes a clear message on stderr and its
documented exit code; anything else is a bug and keeps its traceback.
"""

from alliance_cli.cli._app import app
from alliance_cli.cli._common import main

__all__ = ["app", "main"]
