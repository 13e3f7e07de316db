"""The resolved mapping of one file's columns, and what both ways of finding it share."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from alliance_cli.errors import Problem
from alliance_cli.model import Questionnaire
from alliance_cli.research.mapfile import CellRules
from alliance_cli.text import id_list


class Columns(tuple[str, ...]):
    """A file's column names, with each column's second name a map may use instead: a
    Qualtrics export's ImportId (``QID5_1``; "" for a column without one)."""

    import_ids: tuple[str, ...]

    def __new__(cls, names: Iterable[str], import_ids: Iterable[str] = ()) -> Columns:
        self = super().__new__(cls, names)
        given = tuple(import_ids)[: len(self)]
        self.import_ids = given + ("",) * (len(self) - len(given))
        return self


@dataclass(frozen=True)
class ItemColumn:
    item: str
    column: str
    position: int
    """The column's place in the file (0-based), which tells repeated names apart."""
    rules: CellRules


@dataclass(frozen=True)
class QuestionnaireColumns:
    questionnaire: Questionnaire
    items: tuple[ItemColumn, ...]
    """In the questionnaire's item order."""
    how: str
    """``automatic`` or ``map file``."""


@dataclass(frozen=True)
class FileMapping:
    file: str
    questionnaires: tuple[QuestionnaireColumns, ...]
    ids: tuple[tuple[str, int], ...]
    """(name, position) of the id columns, or of every column kept as it is."""
    ids_declared: bool
    """True when the ids were given (--id, map ``ids``) and are checked (missing, repeated)."""
    notices: tuple[str, ...] = ()
    left_out: tuple[str, ...] = ()
    """Columns that are neither items nor declared ids nor kept: not copied into the
    output."""
    kept: tuple[tuple[str, int], ...] = ()
    """(name, position) of the columns carried into the output unchecked (``--keep``,
    ``--keep-all``, Qualtrics ExternalReference), besides the ids."""


def one_per_item(
    q: Questionnaire,
    by_item: dict[str, list[ItemColumn]],
    where: str,
    problems: list[Problem],
    file: str,
    path: str = "",
) -> tuple[ItemColumn, ...] | None:
    ok = True
    for item_id, found in by_item.items():
        if len(found) > 1:
            ok = False
            names = " and ".join(f'"{c.column}"' for c in found)
            problems.append(
                Problem(
                    "item-twice",
                    f'{q.id} item "{item_id}" is matched by the columns {names} in {file}',
                    where,
                    path,
                )
            )
    absent = [i for i in q.item_ids() if i not in by_item]
    if absent and by_item:
        ok = False
        problems.append(
            Problem(
                "items-without-column",
                f"{q.id}: no column in {file} for item{'s' * (len(absent) > 1)} "
                f"{id_list(absent)} ({len(by_item)} of {len(q.items)} items found)",
                where,
                path,
            )
        )
    elif absent:
        ok = False
        problems.append(
            Problem(
                "no-columns",
                f"{q.id}: no item columns found in {file} (looked for names like "
                f"{', '.join(_examples(q))})",
                where,
                path,
            )
        )
    return tuple(by_item[i][0] for i in q.item_ids()) if ok else None


def _examples(q: Questionnaire) -> list[str]:
    first = q.item_ids()[0]
    stem = q.id.replace("-", "_")
    family = re.split(r"[-_.]", q.id)[0]
    out = [f"{stem}_{first}", f"{stem.replace('_', '')}{first}"]
    if family != q.id:
        out.append(f"{family}{first}")
    return out
