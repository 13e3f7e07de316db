"""The terminal :class:`~alliance_cli.clinic.administer.Prompter`: rich screens, lines read with
``input()`` (so it works in any terminal and under pexpect).

Every piece of user or definition text goes in as ``Text`` — never through rich markup — and
nothing is said by colour alone: the current answer is marked ``›`` and notices ``!``, so
the screens read the same with ``NO_COLOR``. The screen is cleared before each question
(only on a terminal), so a client handed the keyboard sees one item at a time and nothing
printed before.
"""

from __future__ import annotations

from collections.abc import Callable

from rich import box
from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from alliance_cli.clinic.screens import (
    DraftOffer,
    Final,
    ItemScreen,
    LeftScreen,
    Question,
    ResultScreen,
    ReviewScreen,
    ThankYouScreen,
)
from alliance_cli.ui import history, render
from alliance_cli.ui import score as score_screen

ITEM_PROMPT = "Answer: "
REVIEW_PROMPT = "Submit? "
OFFER_PROMPT = "Continue it? [Y/n/q] "


class TerminalPrompter:
    """Screens on ``console`` (stdout), answers from ``read`` (``input``)."""

    def __init__(self, console: Console | None = None, read: Callable[[str], str] = input) -> None:
        self.console = console or render.out()
        self.read = read

    def ask(self, screen: Question) -> str:
        self.console.clear()
        if isinstance(screen, ItemScreen):
            self._item(screen)
            prompt = ITEM_PROMPT
        elif isinstance(screen, ReviewScreen):
            self._review(screen)
            prompt = REVIEW_PROMPT
        else:
            self._offer(screen)
            prompt = OFFER_PROMPT
        return self.read(prompt)

    def show(self, screen: Final) -> None:
        if isinstance(screen, ResultScreen):
            self.console.clear()
            score_screen.recorded(screen.administration)
            score_screen.score(screen.report)
            self.console.print()
            history.recent(screen.series, screen.alerts, screen.marked)
            for warning in screen.report.warnings:
                render.warning(warning)
        elif isinstance(screen, ThankYouScreen):
            self.console.clear()
            self.console.print(Text(screen.message, style="bold"))
        else:
            self._left(screen)

    # -- screens -----------------------------------------------------------------------

    def _item(self, s: ItemScreen) -> None:
        c = self.console
        c.print(Text(s.title, style="dim"))
        c.print(Text(f"Item {s.number} of {s.total}", style="bold"))
        c.print()
        c.print(Text(s.text, style="bold"))
        c.print()
        choices = list(s.choices)
        if s.every_point_labelled:
            if s.not_applicable is not None:
                choices.append(s.not_applicable)
            width = max(len(choice.code) for choice in choices)
            for choice in choices:
                mark = "›" if choice.value == s.current_value else " "
                c.print(Text(f" {mark} {choice.code:>{width}}  ") + Text(choice.label))
        else:
            ends = "   …   ".join(f"{ch.code} = {ch.label}" for ch in choices)
            c.print(Text(f"   {ends}" if ends else f"   {s.scale}"))
            kind = "decimals allowed, such as 7.5" if s.decimals else "whole numbers"
            c.print(Text(f"   Type a number {s.scale} ({kind})."))
            if s.not_applicable is not None:
                na = s.not_applicable
                c.print(Text(f"   {na.code} or n/a = ") + Text(na.label))
        if s.current is not None:
            c.print()
            c.print(Text("Current answer: ") + Text(s.current) + Text(" (Enter keeps it)"))
        self._notices_and_help(s.notices, s.help)
        keys = ["b back"] + (["s skip"] if s.can_skip else []) + ["? help", "q stop for now"]
        c.print()
        c.print(Text("A number or the first letters of an answer · " + " · ".join(keys)))

    def _review(self, s: ReviewScreen) -> None:
        c = self.console
        c.print(Text(s.title, style="dim"))
        c.print(Text("Your answers", style="bold"))
        table = Table(box=box.SIMPLE_HEAD, show_edge=False)
        table.add_column("item", justify="right")
        table.add_column("")
        table.add_column("answer")
        for row in s.rows:
            table.add_row(Text(str(row.number)), Text(row.text), Text(row.answer))
        c.print(table)
        self._notices_and_help(s.notices, s.help)
        c.print(
            Text(
                "Enter or y submits · a number changes that item's answer · ? help · q stop for now"
            )
        )

    def _offer(self, s: DraftOffer) -> None:
        c = self.console
        c.print(Text(s.title, style="dim"))
        c.print(
            Text(
                f"There is an unfinished draft for {s.client} (session {s.session}, "
                f"{s.done} of {s.total} items done, started {s.started})."
            )
        )
        self._notices_and_help(s.notices, ())
        c.print(Text("y or Enter continues it · n discards it and starts again · q leaves"))

    def _left(self, s: LeftScreen) -> None:
        console = render.err()
        head = "Interrupted. " if s.interrupted else ""
        if s.saved:
            console.print(
                Text(f"{head}Draft saved: {s.done} of {s.total} items done. To continue: ")
                + Text(s.resume, style="bold")
            )
        else:
            console.print(Text(f"{head}Nothing was answered, so nothing was saved."))

    def _notices_and_help(self, notices: tuple[str, ...], help_lines: tuple[str, ...]) -> None:
        if notices:
            self.console.print()
        for line in notices:
            self.console.print(Text("! ", style="bold red") + Text(line, style="bold"))
        if help_lines:
            self.console.print()
            for line in help_lines:
                self.console.print(Padding(Text(line), (0, 0, 0, 2), expand=False))


_KEYS = {"y": "y", "yes": "y", "n": "n", "no": "n", "q": "q", "quit": "q"}


def ask_unknown_client(code: str, close: list[str], read: Callable[[str], str] = input) -> str:
    """Ask what to do with a client code that is not registered, on stderr (so that data
    on stdout stays clean). Returns a registered code from ``close``, ``"new"`` (register
    ``code``) or ``"quit"``; end of input quits."""
    if close:
        also = f" (also close: {', '.join(close[1:])})" if close[1:] else ""
        question = (
            f"{code} is not a client. Did you mean {close[0]}?{also} "
            f"[y = use {close[0]} / n = new client / q = quit] "
        )
        choices = {"y": close[0], "n": "new", "q": "quit"}
    else:
        question = f"{code} is not a client. Register it as a new client? [y = yes / q = quit] "
        choices = {"y": "new", "n": "quit", "q": "quit"}
    console = render.err()
    while True:
        console.print(Text(question), end="")
        try:
            key = _KEYS.get(read("").strip().casefold())
        except EOFError:
            console.print()  # end the question's line
            return "quit"
        if key is not None:
            return choices[key]
        console.print(Text("! Type y, n or q, then Enter." if close else "! Type y or q."))
