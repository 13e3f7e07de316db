"""The Typer app: parse → one library call → render → exit code.

Library modules are imported inside the commands so that ``alliance --help`` and
``alliance score`` stay light (no pandas on these paths; a test checks ``sys.modules``).
A :class:`~alliance_cli.errors.UserError` becomes a clear message on stderr and its
documented exit code; anything else is a bug and keeps its traceback.
"""

from alliance_cli.cli import (  # noqa: F401  (registers the commands)
    administer,
    batch,
    cite,
    clients,
    db,
    definitions,
    export,
    norms,
    reliability,
    score,
)
from alliance_cli.cli._common import app, main

__all__ = ["app", "main"]
