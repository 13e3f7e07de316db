"""What every screen shares (the `ui` package is the only importer of rich; this module
holds the consoles, number formats and messages, the others one screen each).

Data goes to stdout, messages to stderr. User-supplied text (ids, labels, hints, paths) is
never passed through rich markup: it goes in as ``Text`` or through ``escape``. rich itself
drops colour when the stream is not a terminal or ``NO_COLOR`` is set.
"""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Iterable

from rich.console import Console
from rich.text import Text

from alliance_cli.errors import UserError
from alliance_cli.text import fmt_change, fmt_num


def _width() -> int | None:
    # A terminal (or COLUMNS) gives its own width; piped output gets a steady 100 columns
    # (rich would otherwise assume 80 and wrap).
    if os.environ.get("COLUMNS") or sys.stdout.isatty():
        return None
    return 100


def out() -> Console:
    return Console(highlight=False, soft_wrap=False, width=_width())


def err() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def num(x: float | None, digits: int = 2) -> str:
    """A score for people: at most ``digits`` decimals, no trailing zeros."""
    if x is None:
        return "–"
    return fmt_num(round(x, digits))


def change(value: float | None) -> str:
    """``+0.5``, ``-1``, ``±0``; empty for the first session."""
    return fmt_change(value)


def wrapped(console: Console, text: str, indent: str = "  ", style: str = "") -> None:
    """A paragraph wrapped to the console width, continuation lines indented; never cut.
    Control characters in recorded text (an escape sequence in a note) are shown as ``�``,
    never sent to the terminal."""
    text = "".join(c if c.isprintable() or c in "\t\n" else "\ufffd" for c in text)
    for line in textwrap.wrap(
        text,
        width=max(console.width, 40),
        subsequent_indent=indent,
        break_on_hyphens=False,
    ):
        console.print(Text(line, style=style), soft_wrap=True)


def error(exc: UserError) -> None:
    """A user error on stderr: every problem on its own line, then the hint."""
    console = err()
    for problem in exc.problems:
        console.print(Text("error: ", style="bold red") + Text(problem.render()))
    if exc.hint:
        console.print(Text(exc.hint))


def notices(lines: Iterable[str]) -> None:
    console = err()
    for line in lines:
        console.print(Text("notice: ", style="cyan") + Text(line))


def warning(line: str) -> None:
    err().print(Text("WARNING: ", style="bold yellow") + Text(line, style="yellow"))
