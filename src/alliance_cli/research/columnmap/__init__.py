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
Last, a questionnaire no name matches takes a group of Qualtrics' default tags ``Q5_1`` …
``Q5_k`` (one question number, sub-numbers 1 … k once each, k its number of items) in its
item order; when several groups fit it, or several questionnaires fit one group, it is
refused as ambiguous.

**Explicit.** A map file (:mod:`alliance_cli.research.mapfile`) names the columns of the
questionnaires it lists, with recodes and missing codes; the others are mapped automatically. A
name in the map (or ``--id``) is a column's name or, in a Qualtrics export, its ImportId
(``import_ids``); a name that is one column's name and another's ImportId is refused. Every problem
is reported at once, located in the map where it can be.
"""

from __future__ import annotations

from collections.abc import Sequence

from alliance_cli.errors import Problem, UsageError
from alliance_cli.model import Questionnaire
from alliance_cli.research.columnmap._auto import automatic
from alliance_cli.research.columnmap._base import (
    Columns,
    FileMapping,
    ItemColumn,
    QuestionnaireColumns,
)
from alliance_cli.research.columnmap._named import did_you_mean, from_map, resolve_ids
from alliance_cli.research.mapfile import MAP_FIX_HINT, MapSource

__all__ = [
    "MAP_HINT",
    "SHEET_HINT",
    "FileMapping",
    "ItemColumn",
    "QuestionnaireColumns",
    "did_you_mean",
    "map_columns",
]

MAP_HINT = (
    "name the columns in a map file (--map MAP.yaml; --help shows its format), or rename "
    "them <questionnaire>_<item> (wai_sr_1, srs_1, …)"
)
SHEET_HINT = "a workbook is read from its first sheet unless --sheet NAME|INDEX names another"


KEEP_HINT = "--keep takes the name of a column of every input file"


def map_columns(
    columns: Sequence[str],
    questionnaires: Sequence[Questionnaire],
    *,
    file: str,
    spec: MapSource | None = None,
    ids: Sequence[str] = (),
    missing: Sequence[str] = (),
    import_ids: Sequence[str] = (),
    keep: Sequence[str] = (),
    keep_all: bool = False,
    keep_default: Sequence[str] = (),
) -> FileMapping:
    """Resolve which column holds each item of each questionnaire in one file.

    ``ids`` (``--id``) win over the map's ``ids``; ``missing`` (``--missing``) adds to the
    map's codes. ``import_ids`` are the columns' ImportIds in a Qualtrics export (""
    where none), which the map and ``ids`` may use instead of the names. ``keep``
    (``--keep``) names columns carried into the output unchecked, ``keep_all`` every column
    that is neither an item nor an id, ``keep_default`` those the export keeps by default
    (present columns: Qualtrics ExternalReference). Raises
    :class:`UsageError` listing every problem (unknown or repeated columns, ambiguous or
    missing items)."""
    columns = Columns(columns, import_ids)
    problems: list[Problem] = []
    declared = list(ids) or (list(spec.map.ids) if spec else [])
    global_missing = [*missing, *(spec.map.missing if spec else [])]
    id_cols = resolve_ids(columns, declared, spec if not ids else None, file, problems)
    taken: dict[int, str] = {pos: "an id column" for _, pos in id_cols}
    mapped: dict[str, QuestionnaireColumns] = {}
    named: set[str] = set()
    if spec is not None:
        mapped = from_map(
            columns, questionnaires, spec, global_missing, taken, file, problems, named
        )
    notices: list[str] = []
    auto = [q for q in questionnaires if q.id not in named]
    if auto:
        found = automatic(columns, auto, global_missing, taken, file, problems, notices)
        mapped |= found
    unkept: list[Problem] = []
    kept = resolve_ids(columns, [*keep, *keep_default], None, file, unkept)
    if problems or unkept:
        hint = MAP_FIX_HINT if spec is not None else MAP_HINT
        raise UsageError(problems + unkept, hint=hint if problems else KEEP_HINT)
    used = set(taken)
    rest = [(name, pos) for pos, name in enumerate(columns) if pos not in used]
    if keep_all:
        kept = rest
    # Kept columns are neither ids nor (when no ids are declared) already kept.
    held = {pos for _, pos in (id_cols if declared else rest)}
    kept = [(name, pos) for name, pos in kept if pos not in held]
    if not declared:
        id_cols = rest
    return FileMapping(
        file=file,
        questionnaires=tuple(mapped[q.id] for q in questionnaires),
        ids=tuple(id_cols),
        ids_declared=bool(declared),
        notices=tuple(dict.fromkeys(notices)),
        left_out=tuple(name for name, pos in rest if all(pos != k for _, k in kept))
        if declared
        else (),
        kept=tuple(kept),
    )
