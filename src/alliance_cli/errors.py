"""The error catalogue: every check in the library reports :class:`Problem` values.

The library never prints or exits. It raises a :class:`UserError` subclass carrying one or
more problems; ``cli/`` renders them on stderr and exits with the class's ``exit_code``.
Anything that is not a ``UserError`` is a bug and keeps its traceback.

Exit codes (documented in the README):

====  =================================================================
0     success
1     ``alliance validate`` found problems in a definition; ``alliance batch`` scored no row
2     command-line usage error (unknown option, missing argument, a value not allowed
      such as a client code with spaces)
3     questionnaire not found
4     invalid answers (wrong count, out of range, unknown item, not a number)
5     a definition or item-text file used by the command is invalid
6     a file could not be read or written
7     the history database cannot be used (newer schema, no such client or record)
65    ``alliance batch``: cells of the data file cannot be scored (sysexits EX_DATAERR)
====  =================================================================
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

# Characters that would break a problem's one line (user text such as a YAML key may hold
# them): shown escaped, as Python writes them.
_LINE_BREAKING = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong, with its place.

    ``location`` is ``file:line:col`` (or just ``file``) when known; ``path`` is the dotted
    path inside the document (``scales.goal.items[3]``); ``code`` is a stable identifier that
    tests and tools can match on.
    """

    code: str
    message: str
    location: str = ""
    path: str = ""

    def to_dict(self) -> dict[str, str]:
        return {
            "location": self.location,
            "path": self.path,
            "code": self.code,
            "message": self.message,
        }

    def render(self) -> str:
        """``location path: message`` with empty parts left out, on one line."""
        head = " ".join(part for part in (self.location, self.path) if part)
        line = f"{head}: {self.message}" if head else self.message
        return _LINE_BREAKING.sub(lambda c: c.group().encode("unicode_escape").decode(), line)


class AllianceError(Exception):
    """Base class of every error the library raises on purpose."""


class UserError(AllianceError):
    """Something the user can fix. Carries problems and the CLI exit code."""

    exit_code = 1

    def __init__(self, problems: Iterable[Problem] | Problem | str, *, hint: str = "") -> None:
        if isinstance(problems, str):
            problems = [Problem("error", problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: tuple[Problem, ...] = tuple(problems)
        self.hint = hint
        super().__init__(self.render())

    def render(self) -> str:
        lines = [p.render() for p in self.problems]
        if self.hint:
            lines.append(self.hint)
        return "\n".join(lines)


class DefinitionError(UserError):
    """A questionnaire definition or item-text overlay is invalid."""

    exit_code = 5


class NotFoundError(UserError):
    """No questionnaire with the requested id (the hint carries "did you mean")."""

    exit_code = 3


class ResponseError(UserError):
    """Answers that cannot be scored: bad values, wrong count, unknown items."""

    exit_code = 4


class InputFileError(UserError):
    """A file could not be read or written."""

    exit_code = 6


FORMATS_HINT = "pip install 'alliance-cli[formats]'"
"""How to get the optional libraries of Excel, SPSS and Stata files (read and written)."""


class UsageError(UserError):
    """An option value that is not allowed (a client code with spaces, an unknown modality)."""

    exit_code = 2


class StoreError(UserError):
    """The history database cannot do what was asked."""

    exit_code = 7


class BatchDataError(UserError):
    """Cells of a batch data file that cannot be scored (out of range, not a number or label,
    a missing or repeated response id). ``failures`` holds the table of every bad cell (a
    pandas DataFrame with the columns file, row, column, value, code, problem)."""

    exit_code = 65

    def __init__(
        self,
        problems: Iterable[Problem] | Problem | str,
        *,
        failures: object = None,
        total: int | None = None,
        hint: str = "",
        several: bool = False,
        written_to: Path | None = None,
    ) -> None:
        super().__init__(problems, hint=hint)
        self.failures = failures
        self.total = total
        """How many bad cells there are (``failures`` may hold only the first ones)."""
        self.several = several
        """The run had several inputs: each cell names its file."""
        self.written_to = written_to
        """Where every bad cell was written (``--errors``), if anywhere."""
