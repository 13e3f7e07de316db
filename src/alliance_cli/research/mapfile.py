"""The ``--map`` file of ``alliance batch`` and how a cell's text is read by it.

A YAML file, validated like a definition (unknown keys with a suggestion, wrong types,
every problem at once with ``file:line:col``)::

    ids: [participant, session]         # together they identify one response
    missing: [-99, 999, "N/A", refused] # codes for a missing answer, in every item column
    questionnaires:
      wai-sr:
        columns: {Q1: 1, Q2: 2, Q3: {item: 3, recode: {"0": 1}}}
        recode: {"Strongly agree": 5}   # raw value → answer, for every column here
        missing: [88]                    # more codes, for this questionnaire only

Recodes and missing codes apply before a cell is read as an answer: numeric codes match
numerically (``-99`` matches ``-99.0``), text codes case-insensitively; a recode to ``null``
means missing. Which file columns exist is checked when the map is applied
(:mod:`alliance_cli.research.columnmap`).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from alliance_cli.definitions import Parsed, _locate, _read, parse_yaml
from alliance_cli.definitions import validate_text as _validate_text
from alliance_cli.errors import Problem, UsageError
from alliance_cli.modelbase import Id, Model
from alliance_cli.scoring import GRID_TOLERANCE
from alliance_cli.text import fmt_num, normalize_label

MAP_FIX_HINT = "--help shows the map format"

# -- the map file ------------------------------------------------------------------------------


def _as_text(value: Any) -> Any:
    # YAML reads `-99` and `6` as numbers and `Q1` as text; cells and names are text.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return fmt_num(value)
    return value


def _as_column_spec(value: Any) -> Any:
    # `Q1: 3` is short for `Q1: {item: 3}`.
    return value if isinstance(value, dict) else {"item": value}


Name = Annotated[str, BeforeValidator(_as_text), Field(min_length=1)]
Code = Annotated[str, BeforeValidator(_as_text), Field(min_length=1)]
Recodes = dict[Code, float | None]


class ColumnSpec(Model):
    """One column's item, with recodes and missing codes for that column alone."""

    item: Id
    recode: Recodes = Field(default_factory=dict, description="Raw value → answer (null: missing).")
    missing: list[Code] = Field(default_factory=list, description="Codes for a missing answer.")


class QuestionnaireSpec(Model):
    columns: dict[Name, Annotated[ColumnSpec, BeforeValidator(_as_column_spec)]] = Field(
        min_length=1, description="Column → item id (or {item, recode, missing})."
    )
    recode: Recodes = Field(default_factory=dict)
    missing: list[Code] = Field(default_factory=list)


class MapFile(Model):
    """A ``--map`` file: id columns, missing codes, and column → item per questionnaire."""

    ids: list[Name] = Field(default_factory=list, description="Columns identifying a response.")
    missing: list[Code] = Field(default_factory=list)
    questionnaires: dict[Name, QuestionnaireSpec] = Field(default_factory=dict)


@dataclass(frozen=True)
class MapSource:
    """A validated map file and the positions of its values (for located problems)."""

    map: MapFile
    source: str
    parsed: Parsed

    def where(self, *path: str | int, key: bool = False) -> str:
        return _locate(self.parsed, path, self.source, key=key)


def load_map(path: Path | str) -> MapSource:
    """Read and validate a map file; every problem at once, each with ``file:line:col``."""
    source = str(path)
    text = _read(Path(path))
    obj, problems = _validate_text(text, source, MapFile)
    problems = [_suggest_map_key(p) for p in problems]
    if obj is None:
        raise UsageError(problems, hint=MAP_FIX_HINT)
    return MapSource(obj, source, parse_yaml(text, source))


def _suggest_map_key(problem: Problem) -> Problem:
    # The definition loader suggests keys of the definition format; suggest the map's own.
    if problem.code != "unknown-key":
        return problem
    name = problem.message.split('"')[1]
    fields = {f for cls in (MapFile, QuestionnaireSpec, ColumnSpec) for f in cls.model_fields}
    close = difflib.get_close_matches(name, sorted(fields), n=1, cutoff=0.6)
    hint = f'; did you mean "{close[0]}"?' if close else ""
    return Problem(problem.code, f'unknown key "{name}"{hint}', problem.location, problem.path)


# -- how a cell's text is read -----------------------------------------------------------------


def number(token: str) -> float | None:
    """A finite number written in ``token`` (a decimal comma allowed), else None."""
    try:
        value = float(token.strip().replace(",", "."))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class CellRules:
    """Missing codes and recodes for one column. Numeric codes match numerically (``-99``
    matches ``-99.0``), text codes case-insensitively."""

    missing_text: frozenset[str] = frozenset()
    missing_numbers: tuple[float, ...] = ()
    recode_text: Mapping[str, float | None] = field(default_factory=dict)
    recode_numbers: tuple[tuple[float, float | None], ...] = ()

    @classmethod
    def of(cls, missing: Iterable[str], recode: Mapping[str, float | None]) -> CellRules:
        missing = list(missing)
        numbers = [number(c) for c in missing]
        recode_numbers = [(number(k), v) for k, v in recode.items()]
        return cls(
            missing_text=frozenset(
                normalize_label(c) for c, x in zip(missing, numbers, strict=True) if x is None
            ),
            missing_numbers=tuple(x for x in numbers if x is not None),
            recode_text={normalize_label(k): v for k, v in recode.items() if number(k) is None},
            recode_numbers=tuple((k, v) for k, v in recode_numbers if k is not None),
        )

    @property
    def empty(self) -> bool:
        return not (
            self.missing_text or self.missing_numbers or self.recode_text or self.recode_numbers
        )

    def is_missing(self, token: str) -> bool:
        x = number(token)
        if x is None:
            return normalize_label(token) in self.missing_text
        return any(abs(x - c) < GRID_TOLERANCE for c in self.missing_numbers)

    def recoded(self, token: str) -> tuple[bool, float | None]:
        """(True, value) when the map recodes ``token`` (value None: missing)."""
        x = number(token)
        if x is None:
            key = normalize_label(token)
            if key in self.recode_text:
                return True, self.recode_text[key]
            return False, None
        for code, value in self.recode_numbers:
            if abs(x - code) < GRID_TOLERANCE:
                return True, value
        return False, None

    def describe(self) -> dict[str, Any]:
        return {
            "missing": sorted(self.missing_text) + [fmt_num(x) for x in self.missing_numbers],
            "recode": {**self.recode_text, **{fmt_num(k): v for k, v in self.recode_numbers}},
        }
