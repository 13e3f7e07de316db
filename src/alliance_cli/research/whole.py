"""Whole tables in memory (:func:`score_batch`): every input scored a slice of rows at a
time by :func:`~alliance_cli.research.part.score_part`, the parts joined into one
:class:`~alliance_cli.research.batch.Batch` (output table, ``--center`` columns).
Inputs of any size are read in chunks by :func:`~alliance_cli.research.run.run_batch` instead."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from alliance_cli.io.columns import Column
from alliance_cli.model import Questionnaire
from alliance_cli.options import InvalidPolicy, Shape
from alliance_cli.research import surveys
from alliance_cli.research.batch import Batch, BatchOptions, Counts, map_all, refusal
from alliance_cli.research.cells import failure_table, keep_rows
from alliance_cli.research.centring import PersonMeans, add_centre, check_centre_names
from alliance_cli.research.columnmap import FileMapping
from alliance_cli.research.ids import IdRegistry
from alliance_cli.research.part import Part, PartJob, score_part
from alliance_cli.research.readers import DEFAULT_CHUNK_ROWS, TextTable
from alliance_cli.research.scoretable import base_names
from alliance_cli.research.texttable import slices

SLICE_ROWS = DEFAULT_CHUNK_ROWS
"""Rows :func:`score_batch` scores at a time (as many as a streamed chunk)."""


def score_batch(
    inputs: Sequence[TextTable],
    questionnaires: Sequence[Questionnaire],
    options: BatchOptions | None = None,
    *,
    check: bool = True,
    build: bool = True,
    score: bool = True,
) -> Batch:
    """Map, read, check and score ``inputs`` (whole tables in memory) on every questionnaire.

    Raises :class:`UsageError` when the columns cannot be mapped (every problem of every
    file at once) and, with ``check``, :class:`BatchDataError` carrying the table of every bad
    cell when the data cannot be scored as asked. Without ``check`` (a dry run) the result
    says ``refused`` instead and has no table. Without ``build`` only the counts are made;
    without ``score`` too, no counts (the cells are only read and checked)."""
    qs = tuple(questionnaires)
    options = options or BatchOptions()
    mappings = map_all(inputs, qs, options)
    if options.center:
        check_centre_names(mappings, qs, options.shape.value)
    base = base_names(mappings)
    registry = IdRegistry([t.name for t in inputs])
    parts: list[Part] = []
    kept: list[TextTable] = []
    for f, (table, mapping) in enumerate(zip(inputs, mappings, strict=True)):
        kept.append(keep_rows(table, f, mapping)[0])
        # In slices of rows, as a batch streams them: the temporaries of scoring stay small
        # (a few MB, not hundreds), which is several times faster on large tables.
        for _, piece in slices(table, SLICE_ROWS):
            job = PartJob(qs, options, mapping, f, piece, base, len(inputs) > 1, build, score=score)
            part = score_part(job)
            parts.append(replace(part, failures=registry.check(part.keys, part.failures)))
    failures = failure_table([p.failures for p in parts])
    answer_bad = sum(p.answer_bad for p in parts)
    refused = bool(len(failures)) and (
        options.invalid is InvalidPolicy.error or len(failures) > answer_bad
    )
    if refused and check:
        raise refusal(failures, options)
    counts = tuple(
        sum((p.counts[i] for p in parts), Counts(q.id, 0, 0))
        for i, q in enumerate(qs)
        if score or build
    )
    rows = tuple(
        sum((p.row_counts for p in parts if p.file == f), surveys.left_before(t))
        for f, t in enumerate(inputs)
    )
    na_columns = tuple(dict.fromkeys(c for p in parts for c in p.na_columns))
    out: Any = None
    columns: tuple[Column, ...] = ()
    if build and not refused:
        out, columns = join_parts(parts, qs, options, mappings)
    return Batch(
        tuple(kept), qs, mappings, options, failures, refused, out, columns, counts,
        row_counts=rows, na_columns=na_columns,
    )  # fmt: skip


def join_parts(
    parts: Sequence[Part],
    qs: Sequence[Questionnaire],
    options: BatchOptions,
    mappings: Sequence[FileMapping],
) -> tuple[Any, tuple[Column, ...]]:
    """The output tables of the parts as one, with ``--center`` columns added."""
    if not parts:
        return pd.DataFrame({"row": pd.Series([], dtype=np.int64)}), ()
    table = (
        pd.concat([p.table for p in parts], ignore_index=True) if len(parts) > 1 else parts[0].table
    )
    columns = parts[0].columns
    if options.center:
        means = PersonMeans(sum(len(q.scales) for q in qs), by_scale=options.shape is Shape.wide)
        for p in parts:
            means.add(p.clients, p.centre)
        clients = np.concatenate([p.clients for p in parts])
        table, columns = add_centre(
            table, columns, means.means(clients), qs, options.shape.value, options.center
        )
    return table, columns
