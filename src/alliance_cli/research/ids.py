"""Response ids in a batch: a missing id, a repeated id within a chunk
(:func:`check_ids`) and across chunks and inputs (:class:`IdRegistry`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from alliance_cli.research import surveys
from alliance_cli.research.cells import failure_table
from alliance_cli.research.columnmap import FileMapping
from alliance_cli.research.readers import TextTable
from alliance_cli.research.values import first_at_of

_HASH_KEYS = ("alliance-ids-001", "alliance-ids-002")  # 16 characters each


def check_ids(table: TextTable, f: int, mapping: FileMapping) -> tuple[list[Any], IdKeys | None]:
    """A missing id (a blank id cell) and a repeated response id within the table (the same
    combination of id values again; reported at each repeat with the first's row); and the
    keys of the rows whose id is complete and first in the table, for :class:`IdRegistry`.

    Each id column is factorized once (pandas ``factorize``), so blanks, repeats and hashes
    are worked out per distinct value and combined as integers."""
    if not mapping.ids_declared:
        return [], None
    names = [name for name, _ in mapping.ids]
    optional = surveys.optional_ids(table)
    n = len(table)
    combined = np.zeros(n, dtype=np.int64)
    h1 = np.zeros(n, dtype=np.uint64)
    h2 = np.zeros(n, dtype=np.uint64)
    any_blank = np.zeros(n, dtype=np.bool_)
    pieces: list[Any] = []
    for name, pos in mapping.ids:
        column = table.frame[pos]
        codes, distinct = pd.factorize(column)
        values = np.asarray(distinct, dtype=object)
        blank = np.array([not str(v).strip() for v in values.tolist()], dtype=np.bool_)[codes]
        if name not in optional:
            any_blank |= blank
            if blank.any():
                pieces.append(
                    _id_piece(
                        table,
                        f,
                        pos,
                        blank,
                        name,
                        column.to_numpy()[blank],
                        "missing-id",
                        "missing id: the response cannot be identified",
                    )
                )
        if len(values) and combined.max(initial=0) > (1 << 62) // max(len(values), 1):
            combined = pd.factorize(combined)[0].astype(np.int64)
        combined = combined * len(values) + codes
        mix = np.uint64(0x9E3779B97F4A7C15)
        for h, key in ((h1, _HASH_KEYS[0]), (h2, _HASH_KEYS[1])):
            hashed = pd.util.hash_array(values, hash_key=key)[codes] if len(values) else h
            with np.errstate(over="ignore"):
                h *= mix
            h ^= hashed
    complete = ~any_blank
    rows = table.rows[complete]
    combined = combined[complete]
    repeated = pd.Series(combined).duplicated(keep="first").to_numpy()
    ids_frame = table.frame[[pos for _, pos in mapping.ids]].loc[complete].reset_index(drop=True)
    ids_frame.columns = names
    if repeated.any():
        group, _ = pd.factorize(combined)
        first_at = first_at_of(group)
        first_rows = rows[first_at[group[repeated]]]
        where = "duplicate response id; first at row " + first_rows.astype(str).astype(object)
        pieces.append(
            _id_piece(
                table,
                f,
                min(p for _, p in mapping.ids),
                repeated,
                ", ".join(names),
                _joined_ids(ids_frame.loc[repeated], names),
                "duplicate-id",
                where,
                rows=rows,
            )
        )
    first = ~repeated
    h1 = h1[complete][first]
    order = np.argsort(h1, kind="stable")  # here, in the worker: the registry takes runs
    keys = IdKeys(
        f,
        ", ".join(names),
        min(p for _, p in mapping.ids),
        h1[order],
        h2[complete][first][order],
        rows[first][order],
        ids_frame.loc[first].reset_index(drop=True),
        order,
    )
    return pieces, keys


@dataclass(frozen=True)
class IdKeys:
    """The complete response ids of a chunk (each first in it), for :class:`IdRegistry`."""

    file: int
    column: str
    position: int
    h1: Any
    """The first hash of each id, sorted; ``h2`` and ``rows`` in the same order."""
    h2: Any
    rows: Any
    ids: Any
    """The id columns of those rows in the chunk's order (a DataFrame), to show a repeat's
    value."""
    order: Any
    """Where each id of ``h1`` is in ``ids``."""


def _joined_ids(frame: Any, names: Sequence[str]) -> Any:
    value = frame[names[0]].astype(str)
    if len(names) > 1:
        value = value.str.cat([frame[n].astype(str) for n in names[1:]], sep=", ")
    return value.to_numpy(dtype=object)


def _id_piece(
    table: TextTable,
    f: int,
    position: int,
    mask: Any,
    column: str,
    value: Any,
    code: str,
    problem: Any,
    *,
    rows: Any = None,
) -> Any:
    return pd.DataFrame(
        {
            "_file": f,
            "_position": position,
            "file": table.name,
            "row": (table.rows if rows is None else rows)[mask],
            "column": column,
            "value": value,
            "code": code,
            "problem": problem,
        }
    )


class IdRegistry:
    """The response ids seen in earlier chunks and inputs, to find a repeat across them.

    Ids are kept as two independent 64-bit hashes of their text (a false repeat would need
    both to collide: about 1 in 10²⁵ for ten million ids) with the row and input of their
    first occurrence — 26 bytes per response — in a few runs sorted by the first hash (a
    new chunk's run is merged with the last run while that is not twice as long, so there
    are about log₂(chunks) runs and each id is merged about log₂(chunks) times)."""

    def __init__(self, files: Sequence[str]) -> None:
        self.files = list(files)
        self.runs: list[tuple[Any, Any, Any, Any]] = []  # h1, h2, row, file; sorted by h1

    def check(self, keys: IdKeys | None, failures: Any) -> Any:
        """A chunk's ``failures`` with the repeats of earlier ids among its ``keys`` added
        (and its ids remembered)."""
        if keys is None:
            return failures
        h1, h2 = keys.h1, keys.h2  # sorted by h1
        hit = np.zeros(len(h1), dtype=np.bool_)
        first_row = np.zeros(len(h1), dtype=np.int64)
        first_file = np.zeros(len(h1), dtype=np.int64)
        for r1, r2, rrow, rfile in self.runs:
            at = np.searchsorted(r1, h1)
            inside = at < len(r1)
            found = np.zeros(len(h1), dtype=np.bool_)
            found[inside] = (r1[at[inside]] == h1[inside]) & (r2[at[inside]] == h2[inside])
            found &= ~hit
            first_row[found] = rrow[at[found]]
            first_file[found] = rfile[at[found]]
            hit |= found
        if hit.any():
            back = keys.order[hit]  # positions in the chunk's ids
            where = "duplicate response id; first at row " + first_row[hit].astype(str).astype(
                object
            )
            names = np.array(self.files, dtype=object)[first_file[hit]]
            where = np.where(first_file[hit] != keys.file, where + " of " + names, where)
            repeats = pd.DataFrame(
                {
                    "_file": keys.file,
                    "_position": keys.position,
                    "file": self.files[keys.file],
                    "row": keys.rows[hit],
                    "column": keys.column,
                    "value": _joined_ids(keys.ids.iloc[back], list(keys.ids.columns)),
                    "code": "duplicate-id",
                    "problem": where,
                }
            )
            failures = failure_table([failures, repeats], keep_place=True)
        new = ~hit
        self.runs.append(
            (
                h1[new],
                h2[new],
                keys.rows[new],
                np.full(int(new.sum()), keys.file, dtype=np.int16),
            )
        )
        while len(self.runs) > 1 and len(self.runs[-2][0]) <= 2 * len(self.runs[-1][0]):
            last, before = self.runs.pop(), self.runs.pop()
            # Two sorted runs merged in linear time: each element of the shorter goes after
            # the elements of the longer that are not greater. One field at a time, so that
            # at most one field is held twice.
            place = np.searchsorted(before[0], last[0], side="right") + np.arange(len(last[0]))
            rest = np.ones(len(before[0]) + len(last[0]), dtype=np.bool_)
            rest[place] = False
            fields = []
            for k in range(4):
                merged = np.empty(len(rest), dtype=before[k].dtype)
                merged[place] = last[k]
                merged[rest] = before[k]
                fields.append(merged)
                before, last = _drop(before, k), _drop(last, k)
            self.runs.append((fields[0], fields[1], fields[2], fields[3]))
        return failures


def _drop(run: tuple[Any, ...], k: int) -> tuple[Any, ...]:
    """The run without its field ``k`` (so that its memory can go)."""
    return (*run[:k], None, *run[k + 1 :])
