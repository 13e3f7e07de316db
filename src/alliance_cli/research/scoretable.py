"""The output table of ``alliance batch``, built from the engine's arrays, and what each of its
columns means (for the codebook).

Every row starts with ``row`` (the response's row number in its file, header counted), then
``file`` when there are several inputs, then the id columns as text, exactly as read.

* **wide** — one row per response; per questionnaire and scale: ``<q>.<scale>`` (the
  score) and ``<q>.<scale>.answered``; ``.band`` when the scale has bands and ``.flags``
  when it can raise a flag (a flagged band, or the questionnaire's item rules); then one
  ``<q>.withheld`` per questionnaire: the scales whose score was withheld in that row, each
  with its reason (``goal (0 of 4 items answered; at least 3 needed); total (…)``), empty
  when none was. With ``--center CLIENT``, ``.person_mean`` and ``.within`` after the score
  (added by :func:`alliance_cli.research.centring.add_centre`).
* **long** — one row per response × scale: ``questionnaire``, ``scale``, ``score``,
  ``answered``, ``withheld_reason`` (and ``band`` / ``flags`` when some scale of the run has
  bands / can flag); with ``--center``, ``person_mean`` and ``within`` at the end.

``--columns all`` gives the full set instead: wide, per scale the score, ``.sum`` (where the
score is a mean), ``.answered``, ``.prorated``, ``.withheld_reason``, ``.band`` and
``.flags``; long, the columns of ``alliance export --shape long``
(:func:`alliance_cli.codebook.long_columns`) after ``questionnaire``. Either way the
columns depend on the definitions and options, never on the data.

The cells of each scale (rounded numbers; withheld reasons, flags and band labels, each text
built once per distinct case) come from :func:`alliance_cli.research.values.scale_cells`. Also
here: a named column of the inputs as text (:func:`client_column`, for ``--center``, ``--by``
and ``--session``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from alliance_cli import scoring
from alliance_cli.codebook import long_columns
from alliance_cli.errors import Problem, UsageError
from alliance_cli.io.columns import Column
from alliance_cli.model import Method, Questionnaire
from alliance_cli.research.columnmap import FileMapping, did_you_mean
from alliance_cli.research.readers import TextTable, blank_cells
from alliance_cli.research.values import can_flag, scale_cells, with_role, withheld_scales
from alliance_cli.text import fmt_num


def build_table(
    table: TextTable,
    mapping: FileMapping,
    questionnaires: Sequence[Questionnaire],
    scores: dict[str, tuple[Any, scoring.Scores]],
    shape: str,
    *,
    base: Sequence[str] | None = None,
    several: bool = False,
    roles: dict[str, Any] | None = None,
    columns: str = "compact",
) -> tuple[Any, tuple[Column, ...]]:
    """The output rows of one table (a whole input or a chunk of it) and the column
    descriptions. ``base`` names the kept columns of the whole run (the union over its
    inputs; a column this input lacks is empty); ``several`` adds the ``file`` column;
    ``roles`` gives per questionnaire the rows that are not its own (REDCap forms,
    :mod:`alliance_cli.research.surveyrows`): their scores are empty, with the reason;
    ``columns`` is ``compact`` or ``all`` (see the module docstring)."""
    names = tuple(base) if base is not None else base_names([mapping])
    frame, base_columns = _base(table, mapping, names, several, mapping.ids_declared)
    full = columns == "all"
    roles = roles or {}
    if shape == "long":
        out, described = _long(frame, questionnaires, scores, roles, full)
    else:
        out, described = _wide(frame, questionnaires, scores, roles, full)
    own = [c.name for c in described]
    if clash := repeated(own):
        raise UsageError(
            Problem(
                "output-column",
                "the output would have two columns named "
                + ", ".join(f'"{n}"' for n in clash)
                + " (a scale id is also the name of a questionnaire's column)",
            ),
            hint="give --columns all (it has no <questionnaire>.withheld column)",
        )
    check_unique([c.name for c in base_columns + described])
    return out, tuple(base_columns + described)


def base_names(mappings: Sequence[FileMapping]) -> tuple[str, ...]:
    """The kept (id) columns of a run: each input's, in order of first appearance; a name
    repeated within one input gets `` (2)``, `` (3)`` …"""
    names: dict[str, None] = {}
    for mapping in mappings:
        names.update(dict.fromkeys(_unique([name for name, _ in _carried(mapping)])))
    return tuple(names)


def _carried(mapping: FileMapping) -> tuple[tuple[str, int], ...]:
    """The input columns carried into the output: the ids (or every non-item column), then
    the columns kept unchecked."""
    return (*mapping.ids, *mapping.kept)


def repeated(names: Sequence[str]) -> list[str]:
    """The names that occur more than once, sorted (counted once: linear in the columns)."""
    return sorted(name for name, n in Counter(names).items() if n > 1)


def check_unique(names: Sequence[str]) -> None:
    """Refuse an output with two columns of one name (an input column carried under the
    name of a column the output makes)."""
    if twice := repeated(names):
        raise UsageError(
            Problem(
                "output-column",
                "the output would have two columns named "
                + ", ".join(f'"{n}"' for n in twice)
                + " (an input column has the name of an output column)",
            ),
            hint="the output makes its own row (and, with several inputs, file) and "
            "<questionnaire>.<scale>… columns: rename that input column, or leave it out by "
            "naming the input columns to keep with --id (or ids: in the map)",
        )


def _base(
    table: TextTable, mapping: FileMapping, names: Sequence[str], several: bool, declared: bool
) -> tuple[Any, list[Column]]:
    added = ["row", "file"] if several else ["row"]
    check_unique([*added, *names])
    carried = _carried(mapping)
    own = dict(zip(_unique([name for name, _ in carried]), [p for _, p in carried], strict=True))
    kept = {name for name, _ in mapping.kept}
    data: dict[str, Any] = {"row": table.rows}
    if several:
        data["file"] = pd.Series(table.name, index=range(len(table)), dtype=object)
    for name in names:
        if name in own:
            data[name] = table.frame[own[name]].reset_index(drop=True)
        else:
            data[name] = pd.Series(None, index=range(len(table)), dtype=object)
    frame = pd.DataFrame(data, index=range(len(table)))
    columns = [
        Column(
            "row",
            "integer",
            "the response's row number in its input file, the header row counted",
            "2 or more",
        )
    ]
    if several:
        columns.append(Column("file", "text", "the input file of the row"))
    meaning = (
        "id column, as in the input file (with the other id columns it identifies the response)"
        if declared
        else "kept from the input file as it is (not an item column)"
    )
    unchecked = "kept from the input file as it is, unchecked (blanks and repeats allowed)"
    for name in names:
        columns.append(Column(str(name), "text", unchecked if name in kept else meaning))
    return frame, columns


def check_column(inputs: Sequence[Any], name: str, option: str) -> None:
    """Raise a :class:`UsageError` naming each input (a table, or an opened input: anything
    with a name and columns) without column ``name``, or with it twice."""
    problems = []
    for table in inputs:
        where = [k for k, c in enumerate(table.columns) if c == name]
        if len(where) != 1:
            how = "has more than one column" if where else "has no column"
            close = "" if where else did_you_mean(name, table.columns)
            problems.append(Problem("no-client-column", f'{how} named "{name}"{close}', table.name))
    if problems:
        what = {"--session": "session", "--duration-column": "duration"}.get(option, "client")
        raise UsageError(problems, hint=f"{option} takes the name of the {what} column")


def client_column(inputs: Sequence[TextTable], name: str, option: str) -> Any:
    """The text of column ``name`` over every input's rows (None where blank); a
    :class:`UsageError` names each file without that column, or with it twice."""
    check_column(inputs, name, option)
    parts = []
    for table in inputs:
        k = table.columns.index(name)
        text = table.frame[k].to_numpy(dtype=object)
        parts.append(np.where(blank_cells(table.frame[k]), None, text))
    return np.concatenate(parts) if parts else np.empty(0, dtype=object)


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out


def _wide(
    base: Any,
    questionnaires: Sequence[Questionnaire],
    scores: dict[str, tuple[Any, scoring.Scores]],
    roles: dict[str, Any],
    full: bool,
) -> tuple[Any, list[Column]]:
    data: dict[str, Any] = {}
    columns: list[Column] = []
    for q in questionnaires:
        result = scores[q.id][1]
        reasons: list[tuple[str, Any]] = []
        for sid, scale in q.scales.items():
            s = result.scales[sid]
            cells = scale_cells(q, sid, s, result, mean=False, role=roles.get(q.id))
            lo, hi = q.scale_range(sid)
            stem = f"{q.id}.{sid}"
            n_items = len(scale.items)
            data[stem] = cells["score"]
            columns.append(
                Column(
                    stem,
                    "number",
                    f"{q.id} {scale.name}: {scale.method.value} of the keyed items "
                    f"({scale.missing.describe(n_items)}); empty when withheld",
                    f"{fmt_num(lo)}–{fmt_num(hi)}",
                )
            )
            if full and scale.method is Method.mean:
                data[f"{stem}.sum"] = cells["sum"]
                columns.append(
                    Column(
                        f"{stem}.sum",
                        "number",
                        f"{q.id} {scale.name}: sum of the keyed items (prorated: mean × "
                        f"{n_items}); empty when withheld",
                    )
                )
            data[f"{stem}.answered"] = s.answered
            columns.append(
                Column(f"{stem}.answered", "integer", "items answered", f"0 to {n_items}")
            )
            if full:
                data[f"{stem}.prorated"] = s.prorated
                data[f"{stem}.withheld_reason"] = cells["reason"]
                columns += [
                    Column(
                        f"{stem}.prorated",
                        "boolean",
                        "true when scored from fewer items than the scale has",
                        ["true", "false"],
                    ),
                    Column(
                        f"{stem}.withheld_reason",
                        "text",
                        "why the score was withheld, or that the row is not this "
                        "questionnaire's (REDCap: another form's row); empty when scored",
                    ),
                ]
            reasons.append((sid, cells["reason"]))
            if full or scale.bands:
                data[f"{stem}.band"] = cells["band"]
                columns.append(
                    Column(
                        f"{stem}.band",
                        "text",
                        "label of the band the score lies in; empty when none",
                        [b.label for b in scale.bands] or None,
                    )
                )
            if full or can_flag(q, sid):
                data[f"{stem}.flags"] = cells["flags"]
                columns.append(
                    Column(
                        f"{stem}.flags",
                        "text",
                        "flags raised, separated by ';': flagged band ids, and item-rule ids on "
                        "the scale's items as rule:item; empty when none",
                    )
                )
        if not full:
            data[f"{q.id}.withheld"] = with_role(
                withheld_scales(reasons, len(base)), roles.get(q.id)
            )
            columns.append(
                Column(
                    f"{q.id}.withheld",
                    "text",
                    f"{q.id}: the scales whose score was withheld in this row, each with the "
                    "reason, as scale (reason), separated by '; ', or that the row is not "
                    "this questionnaire's (REDCap: another form's row); empty when every score "
                    "was given",
                )
            )
    table = pd.concat([base, pd.DataFrame(data, index=base.index)], axis=1)
    return table, columns


def _long(
    base: Any,
    questionnaires: Sequence[Questionnaire],
    scores: dict[str, tuple[Any, scoring.Scores]],
    roles: dict[str, Any],
    full: bool,
) -> tuple[Any, list[Column]]:
    n = len(base)
    described = long_columns(questionnaires)
    if not full:
        scales = [(q, sid) for q in questionnaires for sid in q.scales]
        wanted = {"scale", "score", "answered", "withheld_reason"}
        wanted |= {"band"} if any(q.scales[sid].bands for q, sid in scales) else set()
        wanted |= {"flags"} if any(can_flag(q, sid) for q, sid in scales) else set()
        described = [c for c in described if c.name in wanted]
    keep = {"_row", "_order", "questionnaire", *(c.name for c in described)}
    blocks: list[dict[str, Any]] = []
    for qi, q in enumerate(questionnaires):
        result = scores[q.id][1]
        for si, (sid, scale) in enumerate(q.scales.items()):
            s = result.scales[sid]
            cells = scale_cells(q, sid, s, result, mean=True, role=roles.get(q.id))
            blocks.append(
                {
                    "_row": np.arange(n),
                    "_order": np.full(n, qi * 10_000 + si),
                    "questionnaire": np.full(n, q.id, dtype=object),
                    "scale": np.full(n, sid, dtype=object),
                    "method": np.full(n, scale.method.value, dtype=object),
                    "score": cells["score"],
                    "sum": cells["sum"],
                    "mean": cells["mean"],
                    "items": np.full(n, len(scale.items), dtype=np.int64),
                    "answered": s.answered,
                    "missing": s.missing,
                    "not_applicable": s.not_applicable,
                    "prorated": s.prorated,
                    "withheld": s.withheld != scoring.WITHHELD_NONE,
                    "withheld_reason": cells["reason"],
                    "band": cells["band"],
                    "flags": cells["flags"],
                }
            )
    stacked = {key: np.concatenate([b[key] for b in blocks]) for key in blocks[0] if key in keep}
    order = np.lexsort((stacked.pop("_order"), stacked["_row"]))
    rows = stacked.pop("_row")[order]
    scores_part = pd.DataFrame({k: v[order] for k, v in stacked.items()})
    table = pd.concat([base.iloc[rows].reset_index(drop=True), scores_part], axis=1)
    columns = [
        Column(
            "questionnaire",
            "text",
            "questionnaire id (see questionnaires below)",
            [q.id for q in questionnaires],
        ),
        *described,
    ]
    return table, columns
