"""Which column of a data file holds which item: automatic name patterns, or a ``--map`` file.

**Automatic.** A column belongs to an item when its name, normalised like questionnaire ids
(case folded; spaces, ``-``, ``_`` and ``.`` dropped), is a questionnaire key followed by the
item: ``wai1``, ``WAI_1``, ``wai_sr_01``, ``WAISR-item1``, ``wais_3`` (for ``wai-s``),
``srs_relationship``. Questionnaire keys are the id and its aliases (``waisr``, ``wais``) and,
less specific, the id's first part (``wai`` for ``wai-sr``). An item is its id (leading
zeros ignored, optionally after ``item``, ``i`` or ``q``) or, when the item's hint is written
``name: …`` (SRS, ORS), that name or its first word. A column matching several items at the
same level of specificity is ambiguous; so is an item matched by several columns; both are
refused with the candidates named, as is a questionnaire with items left without a column.

**Explicit.** A map file (:mod:`alliance_cli.mapfile`) names the columns of the questionnaires
it lists, with recodes and missing codes; the others are mapped automatically. Every problem
is reported at once, located in the map where it can be.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from . import model as m
from .definitions import normalize_id, questionnaire_keys
from .errors import Problem, UsageError
from .mapfile import MAP_FIX_HINT, CellRules, MapSource
from .model import Questionnaire

MAP_HINT = (
    "name the columns in a map file (--map MAP.yaml; see `alliance batch --help`), or rename "
    "them to a pattern such as wai_sr_1"
)
_ITEM_NUMBER = re.compile(r"(?:item|itm|i|q)?0*(\d+)")

# -- the resolved mapping ----------------------------------------------------------------------


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


def map_columns(
    columns: Sequence[str],
    questionnaires: Sequence[Questionnaire],
    *,
    file: str,
    spec: MapSource | None = None,
    ids: Sequence[str] = (),
    missing: Sequence[str] = (),
) -> FileMapping:
    """Resolve which column holds each item of each questionnaire in one file.

    ``ids`` (``--id``) win over the map's ``ids``; ``missing`` (``--missing``) adds to the
    map's codes. Raises :class:`UsageError` listing every problem (unknown or repeated columns,
    ambiguous or missing items)."""
    problems: list[Problem] = []
    declared = list(ids) or (list(spec.map.ids) if spec else [])
    global_missing = [*missing, *(spec.map.missing if spec else [])]
    id_cols = _resolve_ids(columns, declared, spec if not ids else None, file, problems)
    taken: dict[int, str] = {pos: "an id column" for _, pos in id_cols}
    mapped: dict[str, QuestionnaireColumns] = {}
    named: set[str] = set()
    if spec is not None:
        mapped = _from_map(
            columns, questionnaires, spec, global_missing, taken, file, problems, named
        )
    notices: list[str] = []
    auto = [q for q in questionnaires if q.id not in named]
    if auto:
        found = _automatic(columns, auto, global_missing, taken, file, problems, notices)
        mapped |= found
    if problems:
        raise UsageError(problems, hint=MAP_FIX_HINT if spec is not None else MAP_HINT)
    if not declared:
        used = set(taken)
        id_cols = [(name, pos) for pos, name in enumerate(columns) if pos not in used]
    return FileMapping(
        file=file,
        questionnaires=tuple(mapped[q.id] for q in questionnaires),
        ids=tuple(id_cols),
        ids_declared=bool(declared),
        notices=tuple(dict.fromkeys(notices)),
    )


def _positions(columns: Sequence[str], name: str) -> list[int]:
    return [pos for pos, c in enumerate(columns) if c == name]


def _unknown_column(columns: Sequence[str], name: str, file: str) -> str:
    close = difflib.get_close_matches(name, list(columns), n=3, cutoff=0.6)
    quoted = " or ".join(f'"{c}"' for c in close)
    hint = f"; did you mean {quoted}?" if close else ""
    return f'{file} has no column "{name}"{hint}'


def _one_position(
    columns: Sequence[str],
    name: str,
    file: str,
    where: str,
    problems: list[Problem],
    path: str = "",
) -> int | None:
    found = _positions(columns, name)
    if not found:
        problems.append(
            Problem("unknown-column", _unknown_column(columns, name, file), where, path)
        )
        return None
    if len(found) > 1:
        places = ", ".join(str(p + 1) for p in found)
        problems.append(
            Problem(
                "repeated-column",
                f'{file} has several columns named "{name}" (columns {places}); rename them',
                where,
                path,
            )
        )
        return None
    return found[0]


def _resolve_ids(
    columns: Sequence[str],
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
            out.append((name, pos))
    return out


def _from_map(
    columns: Sequence[str],
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
            by_item.setdefault(col.item, []).append(ItemColumn(col.item, name, pos, rules))
        items = _one_per_item(
            q, by_item, spec.where(*path, key=True), problems, file, m.render_path(path)
        )
        if items is not None:
            out[q.id] = QuestionnaireColumns(q, items, "map file")
    return out


def _one_per_item(
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
                f"{m.id_list(absent)} ({len(by_item)} of {len(q.items)} items found)",
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


def _prefixes(q: Questionnaire) -> list[tuple[int, str]]:
    """(specificity, key): 0 for the id and aliases, 1 for the id's first part."""
    exact = questionnaire_keys(q)
    family = normalize_id(re.split(r"[-_.\s]", q.id)[0])
    out = [(0, k) for k in sorted(exact, key=len, reverse=True)]
    if family not in exact and len(family) >= 2:
        out.append((1, family))
    return out


def _item_keys(q: Questionnaire) -> dict[str, str]:
    """Normalised names of each item (id; for ``name: …`` hints, the name and its first
    word). A name two items share is left out."""
    found: dict[str, set[str]] = {}
    for item in q.items:
        keys = {normalize_id(item.id)}
        if item.id.isdigit():
            keys.add(str(int(item.id)))
        if ":" in item.text:
            head = item.text.split(":", 1)[0]
            keys |= {normalize_id(head), normalize_id(head.split()[0]) if head.split() else ""}
        for key in keys - {""}:
            found.setdefault(key, set()).add(item.id)
    return {key: next(iter(ids)) for key, ids in found.items() if len(ids) == 1}


def _automatic(
    columns: Sequence[str],
    questionnaires: Sequence[Questionnaire],
    global_missing: Sequence[str],
    taken: dict[int, str],
    file: str,
    problems: list[Problem],
    notices: list[str],
) -> dict[str, QuestionnaireColumns]:
    prefixes = {q.id: _prefixes(q) for q in questionnaires}
    keys = {q.id: _item_keys(q) for q in questionnaires}
    rules = CellRules.of(global_missing, {})
    by_q: dict[str, dict[str, list[ItemColumn]]] = {q.id: {} for q in questionnaires}
    for pos, name in enumerate(columns):
        if pos in taken:
            continue
        norm = normalize_id(name)
        candidates: list[tuple[int, str, str]] = []
        for q in questionnaires:
            for tier, prefix in prefixes[q.id]:
                if not norm.startswith(prefix) or norm == prefix:
                    continue
                rest = norm[len(prefix) :]
                numbered = _ITEM_NUMBER.fullmatch(rest)
                key = str(int(numbered.group(1))) if numbered else rest
                if key in keys[q.id]:
                    candidates.append((tier, q.id, keys[q.id][key]))
                elif numbered and tier == 0:
                    notices.append(
                        f'column "{name}" looks like an item of {q.id}, which has no item '
                        f'"{key}"; kept as it is'
                    )
        if not candidates:
            continue
        best = min(t for t, _, _ in candidates)
        chosen = sorted({(qid, item) for t, qid, item in candidates if t == best})
        if len(chosen) > 1:
            options = " or ".join(f'{qid} item "{item}"' for qid, item in chosen)
            problems.append(
                Problem("ambiguous-column", f'column "{name}" in {file} could be {options}')
            )
            continue
        qid, item = chosen[0]
        by_q[qid].setdefault(item, []).append(ItemColumn(item, name, pos, rules))
    out: dict[str, QuestionnaireColumns] = {}
    for q in questionnaires:
        items = _one_per_item(q, by_q[q.id], "", problems, file)
        if items is not None:
            out[q.id] = QuestionnaireColumns(q, items, "automatic")
            for c in items:
                taken[c.position] = f"{q.id} item {c.item}"
    return out
