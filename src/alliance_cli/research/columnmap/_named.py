"""Columns named in a ``--map`` file or by ``--id``: by their name or, in a Qualtrics
export, their ImportId; a name that is one column's name and another's ImportId is refused."""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from alliance_cli import model as m
from alliance_cli.definitions import normalize_id, questionnaire_keys
from alliance_cli.errors import Problem
from alliance_cli.model import Questionnaire
from alliance_cli.research.columnmap._base import (
    Columns,
    ItemColumn,
    QuestionnaireColumns,
    one_per_item,
)
from alliance_cli.research.mapfile import CellRules, MapSource


def _positions(columns: Columns, name: str) -> list[int]:
    return [pos for pos, c in enumerate(columns) if c == name]


def _unknown_column(columns: Columns, name: str, file: str) -> str:
    known = [*columns, *filter(None, columns.import_ids)]
    return f'{file} has no column "{name}"{did_you_mean(name, known)}'


def did_you_mean(name: str, known: Sequence[str]) -> str:
    """``; did you mean "session"?`` naming up to three close names in ``known``; "" when
    none is close."""
    close = difflib.get_close_matches(name, list(dict.fromkeys(known)), n=3, cutoff=0.6)
    quoted = " or ".join(f'"{c}"' for c in close)
    return f"; did you mean {quoted}?" if close else ""


def _one_position(
    columns: Columns,
    name: str,
    file: str,
    where: str,
    problems: list[Problem],
    path: str = "",
) -> int | None:
    """The one column ``name`` gives: by its name or, failing that, its ImportId."""
    by_name = _positions(columns, name)
    by_import = [pos for pos, c in enumerate(columns.import_ids) if c == name]
    # One column's name and another's ImportId (the same column by both is fine).
    pair = next(((n, i) for n in by_name for i in by_import if n != i), None)
    if pair is not None:
        problems.append(
            Problem(
                "ambiguous-map-column",
                _ambiguous_name(columns, name, *pair, file),
                where,
                path,
            )
        )
        return None
    found = by_name or by_import
    if not found:
        problems.append(
            Problem("unknown-column", _unknown_column(columns, name, file), where, path)
        )
        return None
    if len(found) > 1:
        places = ", ".join(str(p + 1) for p in found)
        what = "named" if by_name else "with the ImportId"
        problems.append(
            Problem(
                "repeated-column",
                f'{file} has several columns {what} "{name}" (columns {places}); rename them',
                where,
                path,
            )
        )
        return None
    return found[0]


def _ambiguous_name(columns: Columns, name: str, named: int, imported: int, file: str) -> str:
    """A map name that is one column's name and another column's ImportId."""
    ids = columns.import_ids
    other = [
        f'"{alt}" for column {pos + 1}'
        for pos in (named, imported)
        for alt in dict.fromkeys((columns[pos], ids[pos]))
        if alt and alt != name
    ] or ["none (rename a column)"]
    return (
        f'"{name}" in {file} is both the name of column {named + 1} and the ImportId of '
        f"column {imported + 1}; use the other name of the column you mean: " + " or ".join(other)
    )


def resolve_ids(
    columns: Columns,
    names: Sequence[str],
    spec: MapSource | None,
    file: str,
    problems: list[Problem],
) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    for n, name in enumerate(names):
        where, path = (spec.where("ids", n), f"ids[{n}]") if spec else ("", "")
        pos = _one_position(columns, name, file, where, problems, path)
        if pos is not None and all(pos != p for _, p in out):
            out.append((columns[pos], pos))  # its name, also when given by ImportId
    return out


def from_map(
    columns: Columns,
    questionnaires: Sequence[Questionnaire],
    spec: MapSource,
    global_missing: Sequence[str],
    taken: dict[int, str],
    file: str,
    problems: list[Problem],
    named: set[str],
) -> dict[str, QuestionnaireColumns]:
    """The questionnaires the map names (their ids go into ``named``, so that a map with
    problems is not followed by an automatic attempt)."""
    out: dict[str, QuestionnaireColumns] = {}
    for key, qspec in spec.map.questionnaires.items():
        path = ("questionnaires", key)
        q = next((q for q in questionnaires if normalize_id(key) in questionnaire_keys(q)), None)
        if q is None:
            asked = ", ".join(q.id for q in questionnaires)
            problems.append(
                Problem(
                    "map-questionnaire",
                    f'the map names "{key}", which is not among the questionnaires asked for '
                    f"(-q {asked})",
                    spec.where(*path, key=True),
                    m.render_path(path),
                )
            )
            continue
        named.add(q.id)
        by_item: dict[str, list[ItemColumn]] = {}
        for name, col in qspec.columns.items():
            where = spec.where(*path, "columns", name, key=True)
            if col.item not in q.item_ids():
                problems.append(
                    Problem(
                        "unknown-item",
                        q.describe_unknown_item(col.item),
                        spec.where(*path, "columns", name),
                        m.render_path((*path, "columns", name)),
                    )
                )
                continue
            pos = _one_position(
                columns, name, file, where, problems, m.render_path((*path, "columns", name))
            )
            if pos is None:
                continue
            if pos in taken:
                problems.append(
                    Problem(
                        "column-twice",
                        f'column "{name}" is already used as {taken[pos]}',
                        where,
                        m.render_path((*path, "columns", name)),
                    )
                )
                continue
            taken[pos] = f"{q.id} item {col.item}"
            rules = CellRules.of(
                [*global_missing, *qspec.missing, *col.missing], qspec.recode | col.recode
            )
            by_item.setdefault(col.item, []).append(ItemColumn(col.item, columns[pos], pos, rules))
        items = one_per_item(
            q, by_item, spec.where(*path, key=True), problems, file, m.render_path(path)
        )
        if items is not None:
            out[q.id] = QuestionnaireColumns(q, items, "map file")
    return out
