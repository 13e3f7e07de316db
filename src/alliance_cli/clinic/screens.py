"""The screens of an interview: plain frozen data the interview hands to a :class:`Prompter`
(``ui/prompter.py`` in the terminal, a scripted one in tests), and the Prompter protocol."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from alliance_cli.clinic.alerts import Alert
from alliance_cli.clinic.history import Series
from alliance_cli.clinic.store import Administration
from alliance_cli.result import ScoreReport
from alliance_cli.text import fmt_num


@dataclass(frozen=True)
class Choice:
    value: float
    label: str

    @property
    def code(self) -> str:
        return fmt_num(self.value)


@dataclass(frozen=True)
class ItemScreen:
    title: str
    number: int
    total: int
    text: str
    choices: tuple[Choice, ...]
    """The labelled points of the scale (every point, or only some such as the ends)."""
    every_point_labelled: bool
    scale: str
    """The allowed range: ``1–5``, ``0–10 in steps of 0.1``."""
    decimals: bool
    not_applicable: Choice | None
    current: str | None
    """The answer already given (``4 Very often``, ``skipped``), kept by Enter."""
    current_value: float | None
    """Its value (NaN when skipped)."""
    can_skip: bool
    notices: tuple[str, ...] = ()
    help: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReviewRow:
    number: int
    item: str
    text: str
    answer: str


@dataclass(frozen=True)
class ReviewScreen:
    title: str
    rows: tuple[ReviewRow, ...]
    notices: tuple[str, ...] = ()
    help: tuple[str, ...] = ()


@dataclass(frozen=True)
class DraftOffer:
    title: str
    client: str
    session: int
    done: int
    total: int
    started: str
    notices: tuple[str, ...] = ()


@dataclass(frozen=True)
class ResultScreen:
    administration: Administration
    report: ScoreReport
    series: Series
    """This questionnaire's sessions for the respondent, this one included."""
    alerts: list[Alert]
    """The alerts that fire at this session."""
    marked: list[Alert] = field(default_factory=list)
    """Every alert of the series, for the earlier sessions' marks."""


@dataclass(frozen=True)
class ThankYouScreen:
    message: str = "Thank you. Your answers have been saved."


@dataclass(frozen=True)
class LeftScreen:
    done: int
    total: int
    saved: bool
    resume: str
    """The command that continues the draft."""
    interrupted: bool = False


Question = ItemScreen | ReviewScreen | DraftOffer
Final = ResultScreen | ThankYouScreen | LeftScreen


class Prompter(Protocol):
    def ask(self, screen: Question) -> str:
        """Show a screen and return the line typed (EOFError when input has ended)."""

    def show(self, screen: Final) -> None:
        """Show a closing screen."""
