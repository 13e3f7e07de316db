"""One part of an export as cells, column by column: the administrations' metadata, and
their questionnaire's answers scored as one matrix (:class:`Scored`) — a row per
administration × scale (long) or per administration (wide). See :mod:`.export`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from alliance_cli import scoring
from alliance_cli.clinic.store import Administration, Store, bulk
from alliance_cli.io.csvout import Cell
from alliance_cli.model import Questionnaire
from alliance_cli.result import FlagHit, flags_cell, score_number, withheld_reason_text


def day(administered_at: str) -> date:
    return date.fromisoformat(administered_at[:10])


Line = tuple[str, str, int, Administration, str | None]


def meta_cells(
    lines: list[Line],
    by_id: dict[str, Questionnaire],
    first: dict[str, date],
    deidentify: bool,
) -> dict[str, list[Cell]]:
    """The metadata columns: who, when, which questionnaire and definition."""
    admins = [line[3] for line in lines]
    current = {qid: q.content_hash() for qid, q in by_id.items()}
    cells: dict[str, list[Cell]] = {"client": [line[0] for line in lines]}
    if deidentify:
        cells["day"] = [(day(a.administered_at) - first[a.client]).days for a in admins]
    else:
        cells["administration"] = [a.id for a in admins]
        cells["date"] = [a.administered_at for a in admins]
    cells |= {
        "session": [a.session for a in admins],
        "respondent": [a.respondent for a in admins],
        "clinician": [a.clinician for a in admins],
        "modality": [a.modality for a in admins],
        "questionnaire": [line[1] for line in lines],
        "recorded_version": [a.questionnaire_version for a in admins],
        "current_version": [by_id[line[1]].version for line in lines],
        "definition_changed": [a.content_hash != current[q] for (_, q, _, a, _) in lines],
    }
    if not deidentify:
        cells["note"] = [a.note for a in admins]
    return cells


def long_cells(
    lines: list[Line], scored: dict[str, Scored], names: list[str]
) -> dict[str, list[Cell]]:
    """A row per administration × scale: the scale's score, its counts and flags (``names``:
    the long shape's columns)."""
    scales = [(scored[q].q.scales[s], scored[q].scales[s], r) for (_, q, r, _, s) in lines if s]
    cells: dict[str, list[Cell]] = {
        "scale": [line[4] for line in lines],
        "method": [scale.method.value for scale, _, _ in scales],
        "items": [len(scale.items) for scale, _, _ in scales],
    }
    for name in names:
        if name not in cells:
            cells[name] = [values[name][r] for _, values, r in scales]
    return cells


def wide_cells(
    lines: list[Line], scored: dict[str, Scored], names: list[str]
) -> dict[str, list[Cell]]:
    """A row per administration: its questionnaire's item and scale columns (the other
    questionnaires' columns empty)."""
    rows = [scored[q].wide_cells(r) for (_, q, r, _, _) in lines]
    return {name: [row.get(name) for row in rows] for name in names}


def _numbers(values: Any) -> list[float | None]:
    """An engine column as the score document gives it (:func:`score_number`)."""
    return [score_number(v) for v in values.tolist()]


@dataclass(frozen=True)
class Scored:
    """One questionnaire's administrations scored as one matrix, and each row's cells."""

    q: Questionnaire
    x: Any
    scores: scoring.Scores
    scales: dict[str, dict[str, list[Any]]]

    @classmethod
    def of(cls, store: Store, q: Questionnaire, group: list[Administration]) -> Scored:
        x = bulk.answer_matrix(store, group, q.item_ids())
        scores = scoring.score_matrix(q, x)
        scales: dict[str, dict[str, list[Any]]] = {}
        flags = flags_cells(q, scores)
        for sid, scale in q.scales.items():
            s = scores.scales[sid]
            withheld = (s.withheld != scoring.WITHHELD_NONE).tolist()
            labels = [b.label for b in scale.bands]
            scales[sid] = {
                "score": _numbers(s.score),
                "sum": _numbers(s.sum),
                "mean": _numbers(s.mean),
                "answered": s.answered.tolist(),
                "missing": s.missing.tolist(),
                "not_applicable": s.not_applicable.tolist(),
                "prorated": s.prorated.tolist(),
                "withheld": withheld,
                "withheld_reason": [
                    withheld_reason_text(q, sid, s, r) if w else None
                    for r, w in enumerate(withheld)
                ],
                "band": [labels[b] if b >= 0 else None for b in s.band.tolist()],
                "flags": flags[sid],
            }
        return cls(q, x, scores, scales)

    def wide_cells(self, r: int) -> dict[str, Cell]:
        qid = self.q.id
        row: dict[str, Cell] = {}
        states = self.scores.states[r]
        for j, item in enumerate(self.q.item_ids()):
            row[f"{qid}.item.{item}"] = score_number(self.x[r, j])
        not_applicable = [
            item for j, item in enumerate(self.q.item_ids()) if states[j] == scoring.NOT_APPLICABLE
        ]
        row[f"{qid}.not_applicable"] = ";".join(not_applicable) or None
        for sid, cells in self.scales.items():
            row[f"{qid}.{sid}"] = cells["score"][r]
            row[f"{qid}.{sid}.status"] = (
                "withheld"
                if cells["withheld"][r]
                else "prorated"
                if cells["prorated"][r]
                else "complete"
            )
        return row


def flags_cells(q: Questionnaire, scores: scoring.Scores) -> dict[str, list[str | None]]:
    """Per scale, per row, its ``flags`` cell (:func:`~alliance_cli.result.flags_cell`) from
    the flags the engine fired — band flags in scale and band order, then item-rule hits in
    rule and item order, as the score document lists them — made once per distinct set."""
    kinds: list[FlagHit] = []
    columns: list[Any] = []
    for sid, scale in q.scales.items():
        for b, band in enumerate(scale.bands):
            if band.flag:
                kinds.append(FlagHit("band", band.id, sid, None))
                columns.append(scores.scales[sid].band_hits[:, b])
    for rule in q.item_rules:
        for j, item in enumerate(q.item_ids()):
            kinds.append(FlagHit("item_rule", rule.id, None, item))
            columns.append(scores.item_rule_hits[rule.id][:, j])
    rows = len(scores.states)
    if not kinds:
        return {sid: [None] * rows for sid in q.scales}
    fired, inverse = np.unique(np.column_stack(columns), axis=0, return_inverse=True)
    row_set: list[int] = inverse.reshape(-1).tolist()
    cells: dict[str, list[str | None]] = {}
    for sid, scale in q.scales.items():
        made = [
            flags_cell(sid, scale.items, [k for k, hit in zip(kinds, hits, strict=True) if hit])
            or None
            for hits in fired.tolist()
        ]
        cells[sid] = [made[k] for k in row_set]
    return cells
