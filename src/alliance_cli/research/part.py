"""Scoring one chunk of one input (:func:`score_part`): read, check and score its rows and
build its output rows. The same function serves every engine (this process, or Dask workers:
:mod:`alliance_cli.research.engines`), so a :class:`PartJob` is picklable."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from alliance_cli import scoring
from alliance_cli.io.columns import Column
from alliance_cli.model import Questionnaire
from alliance_cli.research.batch import BatchOptions, Counts, refuses
from alliance_cli.research.cells import failure_table, keep_rows, not_its_rows, read_questionnaire
from alliance_cli.research.centring import centre_scores
from alliance_cli.research.columnmap import FileMapping
from alliance_cli.research.ids import IdKeys, check_ids
from alliance_cli.research.readers import TextTable
from alliance_cli.research.scoretable import build_table, client_column
from alliance_cli.research.surveyrows import ANOTHER_FORM, FORM_NOT_COMPLETE, ITS_ROW, RowCounts


@dataclass(frozen=True)
class PartJob:
    """One chunk of one input to score: everything :func:`score_part` needs, picklable (so
    that another process or a Dask worker can run it)."""

    questionnaires: tuple[Questionnaire, ...]
    options: BatchOptions
    mapping: FileMapping
    file: int
    """The input's index among the run's inputs."""
    table: TextTable
    base: tuple[str, ...]
    """The run's kept (id) columns: the union over its inputs, so every chunk has them all."""
    several: bool
    """More than one input (adds the ``file`` column)."""
    build: bool = True
    """Build the output table (not for a dry run or reliability)."""
    keep_matrices: bool = False
    """Keep each questionnaire's answers (:attr:`Part.matrices`), for reliability."""
    score: bool = True
    """Score the scales (for the output and the counts); reliability needs only the
    checked answers."""
    groups: tuple[tuple[str, str], ...] = ()
    """Columns whose text each row carries out (:attr:`Part.groups`), each with the option
    that names it (reliability's ``--by`` and ``--session``)."""


@dataclass(frozen=True)
class Part:
    """What scoring one chunk gives."""

    table: Any
    """Output rows, or None (not built, or refused)."""
    columns: tuple[Column, ...]
    failures: Any
    """Bad cells of the chunk: :data:`~alliance_cli.research.cells.FAILURE_COLUMNS` plus
    ``_file`` and ``_position``."""
    answer_bad: int
    """How many of those are answer cells (the rest are ids)."""
    counts: tuple[Counts, ...]
    keys: IdKeys | None
    """The chunk's complete ids, for the check across chunks; None when no ids are
    declared."""
    matrices: dict[str, Any]
    rows: int = 0
    """Rows in the chunk (after the survey's row filters)."""
    file: int = 0
    clients: Any = None
    """With ``--center``: the client of each row (None where blank)."""
    row_counts: RowCounts = field(default_factory=RowCounts)
    """The chunk's rows read, and those left out by reason."""
    na_columns: tuple[str, ...] = ()
    """Item columns where ``NA`` was read as "does not apply"."""
    groups: tuple[Any, ...] = ()
    """The text of each of :attr:`PartJob.groups`' columns (None where blank)."""
    centre: Any = None
    """With ``--center``: the scores centring takes, rows × scales
    (:func:`~alliance_cli.research.centring.centre_scores`)."""
    roles: dict[str, Any] = field(default_factory=dict)
    """Per questionnaire, each row's part (:data:`~alliance_cli.research.surveyrows.ITS_ROW` …; no
    entry: every row is its row), as :func:`~alliance_cli.research.cells.keep_rows` gives it."""


def score_part(job: PartJob) -> Part:
    """Read, check and score one chunk: its bad cells (repeated ids within the chunk
    included), counts, and output rows. The same function serves every engine."""
    table, mapping, qs = job.table, job.mapping, job.questionnaires
    table, status_pieces, roles, row_counts = keep_rows(table, job.file, mapping)
    pieces: list[Any] = []
    matrices: dict[str, Any] = {}
    states: dict[str, Any] = {}
    na_columns: list[str] = []
    for qc in mapping.questionnaires:
        qid = qc.questionnaire.id
        x, states[qid], bad, na = read_questionnaire(table, job.file, qc.questionnaire, qc.items)
        if qid in roles:
            bad = not_its_rows(table, x, states[qid], bad, roles[qid] != ITS_ROW)
        pieces += bad
        na_columns += na
        matrices[qid] = x
    answer_bad = sum(len(p) for p in pieces)
    id_pieces, keys = check_ids(table, job.file, mapping)
    failures = failure_table(pieces + id_pieces + status_pieces, keep_place=True)
    refused = refuses(len(failures), answer_bad, job.options.invalid)
    if job.score or job.build:
        scores = {q.id: scoring.score_matrix(q, matrices[q.id], states[q.id]) for q in qs}
        scores = {q: _not_scored(s, roles.get(q)) for q, s in scores.items()}
        counts = tuple(_counts(q, scores[q.id], roles.get(q.id)) for q in qs)
    else:
        scores, counts = {}, ()
    out: Any = None
    columns: tuple[Column, ...] = ()
    if job.build and not refused:
        out, columns = build_table(
            table,
            mapping,
            qs,
            {q.id: (matrices[q.id], scores[q.id]) for q in qs},
            job.options.shape,
            base=job.base,
            several=job.several,
            roles=roles,
            columns=job.options.columns,
        )
    clients = centre = None
    if job.options.center and (job.score or job.build):
        clients = client_column([table], job.options.center, "--center")
        centre = centre_scores(qs, scores)
    return Part(
        out,
        columns,
        failures,
        answer_bad,
        counts,
        keys,
        {q.id: scoring.answers_only(matrices[q.id], states[q.id]) for q in qs}
        if job.keep_matrices
        else {},
        len(table),
        job.file,
        clients,
        row_counts,
        tuple(dict.fromkeys(na_columns)),
        tuple(client_column([table], name, option) for name, option in job.groups),
        centre,
        roles,
    )


def _not_scored(scores: scoring.Scores, role: Any) -> scoring.Scores:
    """The scores with the rows that are not the questionnaire's own (``role`` not
    ``ITS_ROW``) neither withheld nor missing: their cells were not read (see
    :func:`~alliance_cli.research.scoretable.build_table` for the reason shown)."""
    if role is None or (role == ITS_ROW).all():
        return scores
    other = role != ITS_ROW
    scales = {
        sid: replace(
            s,
            withheld=np.where(other, scoring.WITHHELD_NONE, s.withheld).astype(np.int8),
            missing=np.where(other, 0, s.missing),
        )
        for sid, s in scores.scales.items()
    }
    return replace(scores, scales=scales)


def _counts(q: Questionnaire, scores: scoring.Scores, role: Any) -> Counts:
    withheld = np.zeros(len(scores.states), dtype=np.bool_)
    some = np.zeros(len(scores.states), dtype=np.bool_)
    for s in scores.scales.values():
        withheld |= s.withheld != scoring.WITHHELD_NONE
        some |= s.withheld == scoring.WITHHELD_NONE
    if role is None:
        return Counts(q.id, int((~withheld).sum()), int(withheld.sum()), some_score=int(some.sum()))
    mine = role == ITS_ROW
    return Counts(
        q.id,
        int((mine & ~withheld).sum()),
        int(withheld.sum()),
        int((role == ANOTHER_FORM).sum()),
        int((role == FORM_NOT_COMPLETE).sum()),
        int((mine & some).sum()),
    )
