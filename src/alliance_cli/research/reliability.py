"""The reliability table of every scale in data files (``alliance reliability``).

The files are read, mapped and checked exactly as ``alliance batch`` does, chunk by chunk
(:func:`alliance_cli.research.run.run_batch`: the same input options; a bad cell stops the run
with the table of every bad cell). Of each chunk only sums are kept (:class:`_Sums`), so
memory does not grow with the rows: per questionnaire, of its own rows only (in a REDCap
export, the rows of its form: another form's rows are in none of its sums, its N or its row
count, whatever else is named), the pairwise sums of its checked answers
(:class:`~alliance_cli.research.psychometrics.PairwiseSums`), per scale the complete-case score sums
(:class:`~alliance_cli.research.psychometrics.ScoreSums`); with a client column the per-client sums
(:class:`~alliance_cli.research.psychometrics.groups.ClientSums`: memory grows with the clients),
with a session column too the client × session cells
(:class:`~alliance_cli.research.psychometrics.groups.CellSums`: memory grows with the cells). Each
scale takes its keyed rows and columns of the pairwise moments (``Pairwise.keyed``), and every
number comes from :mod:`alliance_cli.research.psychometrics`, which is pinned against R ``psych``:

* N complete, mean, SD, floor and ceiling % of the complete cases (every item answered; never
  prorated) — :func:`~alliance_cli.research.psychometrics.describe` (Terwee et al. 2007);
* Cronbach's alpha with Feldt's 95% CI, standardized alpha, corrected item–total r and
  alpha if item deleted, pairwise as ``psych::alpha`` —
  :func:`~alliance_cli.research.psychometrics.alpha` (Cronbach 1951; Feldt 1965);
* McDonald's omega total from a one-factor minres model, as ``psych::omega`` —
  :func:`~alliance_cli.research.psychometrics.omega` (McDonald 1999);
* with a client column: ICC1 and ICC1k (psych::ICC's names; Shrout & Fleiss ICC(1,1) and
  ICC(1,k)) of the scale score across clients, the values of ``psych::statsBy``'s ICC1 and
  ICC2 — :func:`~alliance_cli.research.psychometrics.icc1` (Shrout & Fleiss 1979; Bliese 2000); with
  a session column too, the ``psych::mlr`` variance components and reliabilities —
  :func:`~alliance_cli.research.psychometrics.multilevel_reliability` (Shrout & Lane 2012); and,
  balanced or not, alpha within and between clients from the ML two-level covariance
  matrices, as R lavaan —
  :func:`~alliance_cli.research.psychometrics.alpha_within_between` (Geldhof,
  Preacher & Zyphur 2014);
* with ``ordinal``: from per-pair tables of category counts
  (:class:`~alliance_cli.research.psychometrics.OrdinalSums`: memory for items² ×
  categories² counts), the polychoric matrix as ``psych::polychoric``, ordinal alpha and
  omega (psych) and categorical omega (semTools) —
  :func:`~alliance_cli.research.psychometrics.ordinal_of` (Olsson 1979; Zumbo et al. 2007;
  Green & Yang 2009).

The sums are taken over blocks of a fixed number of rows whatever the chunk size, so that the
results do not depend on it. The scale score for the ICC is the score of the complete cases,
the sum or mean of the keyed items as the scale's method says; rows with a blank client (or
session) cell are left out. A statistic that cannot be computed for a scale (a constant item,
an unbalanced design) is left empty with the reason in ``notes``; nothing is printed here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from alliance_cli.errors import Problem, ResponseError, UsageError
from alliance_cli.model import Questionnaire
from alliance_cli.research import psychometrics as pm
from alliance_cli.research.methods import ORDINAL_METHODS, RELIABILITY_METHODS
from alliance_cli.research.psychometrics import _base
from alliance_cli.research.psychometrics.groups import Cells, CellSums, ClientSums
from alliance_cli.research.surveyrows import ITS_ROW, RowCounts
from alliance_cli.research.texttable import Opened, TextTable

if TYPE_CHECKING:
    from pathlib import Path

    from alliance_cli.research.batch import BatchOptions
    from alliance_cli.research.part import Part
    from alliance_cli.research.passes import Survey

PSYCH = {
    "descriptives": "mean, SD (n − 1), floor and ceiling % of the complete-case scale scores "
    "(rowSums or rowMeans of complete rows; not prorated)",
    **{
        key: "; ".join(f"{m.statistic}: {m.r}" for m in methods if m.result == key)
        for methods in [(*RELIABILITY_METHODS, *ORDINAL_METHODS)]
        for key in dict.fromkeys(m.result for m in methods)
    },
}
"""Which psych function each number of the result matches (``--json``: ``psych``)."""


@dataclass(frozen=True)
class ScaleReliability:
    """Every statistic of one scale; ``None`` where it was not asked for or not computable."""

    questionnaire: str
    scale: str
    name: str
    items: tuple[str, ...]
    descriptives: pm.Descriptives
    alpha: pm.Alpha | None
    omega: pm.Omega | None
    icc: pm.ICC | None
    multilevel: pm.Multilevel | None
    two_level: pm.TwoLevelAlpha | None
    notes: tuple[str, ...]
    """Why a statistic is empty."""
    ordinal: pm.OrdinalReliability | None = None
    """With ``ordinal``: the polychoric coefficients (:mod:`.psychometrics.ordinal`)."""

    @property
    def warnings(self) -> tuple[str, ...]:
        """A plain sentence for every item correlating negatively with the rest."""
        return self.alpha.warnings if self.alpha is not None else ()


@dataclass(frozen=True)
class Reliability:
    inputs: tuple[str, ...]
    rows: int
    by: str | None
    session: str | None
    scales: tuple[ScaleReliability, ...]
    accounting: RowCounts = field(default_factory=RowCounts)
    """The rows read, and those left out by reason (survey options, other forms' rows)."""
    bad_cells: dict[str, int] = field(default_factory=dict)
    """Bad cells scored as missing (``--invalid missing``) per problem, most frequent first."""

    def bad_cells_line(self) -> str | None:
        """Batch's line, ``2 bad cells (scored as missing): 1 out-of-range, …``; None
        without bad cells."""
        from alliance_cli.research.batch import bad_cells_line

        return bad_cells_line(self.bad_cells) if self.bad_cells else None

    def accounting_line(self) -> str | None:
        """``read 400 rows from a.csv: 31 not finished (--finished-only), 369 scored`` when
        a row was left out; None otherwise."""
        c = self.accounting
        if not c.reasons():
            return None
        files = ", ".join(self.inputs)
        return f"read {c.read:,} row{'s' * (c.read != 1)} from {files}: {c.describe()}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: what ``--json`` prints (NaN becomes null)."""
        return {
            "psych": PSYCH,
            "inputs": list(self.inputs),
            "rows": self.rows,
            "row_accounting": self.accounting.to_dict(),
            "bad_cells": {"count": sum(self.bad_cells.values()), "by_problem": self.bad_cells},
            "by": self.by,
            "session": self.session,
            "scales": [
                _clean(
                    {
                        "questionnaire": s.questionnaire,
                        "scale": s.scale,
                        "name": s.name,
                        "items": list(s.items),
                        **asdict(s.descriptives),
                        "alpha": asdict(s.alpha) if s.alpha else None,
                        "omega": asdict(s.omega) if s.omega else None,
                        "icc": asdict(s.icc) if s.icc else None,
                        "multilevel": asdict(s.multilevel) if s.multilevel else None,
                        "two_level": asdict(s.two_level) if s.two_level else None,
                        "ordinal": _ordinal_dict(s.ordinal) if s.ordinal else None,
                        "warnings": list(s.warnings),
                        "notes": list(s.notes),
                    }
                )
                for s in self.scales
            ],
        }


def _ordinal_dict(o: pm.OrdinalReliability) -> dict[str, Any]:
    """The ordinal coefficients for ``--json``: the polychoric matrix and the thresholds
    keyed by item id (a threshold past an end category the item's answers do not reach,
    ±inf, becomes null)."""
    return {
        "items": list(o.items),
        "categories": list(o.categories),
        "polychoric": {
            a: dict(zip(o.items, row, strict=True)) for a, row in zip(o.items, o.rho, strict=True)
        },
        "thresholds": dict(zip(o.items, (list(t) for t in o.thresholds), strict=True)),
        "ordinal_alpha": o.ordinal_alpha,
        "ordinal_omega": o.ordinal_omega,
        "categorical_omega": o.categorical_omega,
        "loadings": dict(zip(o.items, o.loadings, strict=True)),
        "global_thresholds": o.global_thresholds,
        "smoothed": o.smoothed,
        "corrected_pairs": o.corrected_pairs,
        "n_pairs_min": o.n_pairs_min,
        "notes": list(o.notes),
    }


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def reliability(
    inputs: Sequence[Opened | TextTable],
    questionnaires: Sequence[Questionnaire],
    options: BatchOptions | None = None,
    *,
    survey: Survey | None = None,
    by: str | None = None,
    session: str | None = None,
    errors: Path | None = None,
    ordinal: bool = False,
) -> Reliability:
    """The reliability table of every scale of ``questionnaires`` in ``inputs`` (opened
    inputs, read in their chunks; or whole tables); with ``ordinal``, each scale's
    polychoric matrix, ordinal alpha and omega and categorical omega too.

    The inputs are read and checked by :func:`~alliance_cli.research.run.run_batch`, which
    writes every bad cell to the CSV file ``errors``. Raises :class:`UsageError` for
    ``session`` without ``by`` or a client/session column that is not in a file, and what
    ``run_batch`` raises (unmappable columns, :class:`~alliance_cli.errors.BatchDataError`
    for bad cells)."""
    from alliance_cli.research.readers import chunked
    from alliance_cli.research.run import run_batch
    from alliance_cli.research.scoretable import check_column

    if session and not by:
        raise UsageError(
            Problem("session-without-by", "--session needs the client column too"),
            hint="add --by CLIENT_COL",
        )
    opened = [i if isinstance(i, Opened) else chunked(i) for i in inputs]
    groups = tuple(
        (name, option) for name, option in ((by, "--by"), (session, "--session")) if name
    )
    for name, option in groups:
        check_column(opened, name, option)  # every file named, before any is read
    sums = _Sums(questionnaires, len(groups), ordinal=ordinal)
    batch = run_batch(
        opened,
        questionnaires,
        options,
        survey=survey,
        errors=errors,
        collect=sums.add,
        groups=groups,
    )
    scales = tuple(s for q in batch.questionnaires for s in sums.scales(q))
    accounting = batch.accounting
    names = tuple(o.name for o in opened)
    return Reliability(names, batch.rows, by, session, scales, accounting, batch.failure_counts())


class _Codes:
    """Client (or session) codes 0, 1, … in order of first appearance over every chunk;
    −1 where blank (None)."""

    def __init__(self) -> None:
        self.index: dict[Any, int] = {}

    def __call__(self, labels: Any) -> Any:
        import pandas as pd  # type: ignore[import-untyped]  # lazily: importing stays cheap

        codes, uniques = pd.factorize(np.asarray(labels, dtype=object))
        index = self.index
        lookup = np.array([index.setdefault(u, len(index)) for u in uniques], dtype=np.int64)
        out = np.full(codes.size, -1, dtype=np.int64)
        known = codes >= 0
        out[known] = lookup[codes[known]]
        return out


class _Sums:
    """What a run keeps of its rows. Each questionnaire's rows are re-cut into blocks of a
    fixed number of rows whatever the chunks are, so that any chunk size gives the same sums
    to the bit; of each block: the pairwise sums of the answers, and per scale the
    complete-case score sums, with clients the per-client sums, with sessions the client ×
    session cells."""

    def __init__(self, qs: Sequence[Questionnaire], groups: int, *, ordinal: bool = False) -> None:
        """``groups``: 0, or 1 (clients), or 2 (clients and sessions); ``ordinal``: count
        the answers' categories too (:class:`~.psychometrics.ordinal.OrdinalSums`)."""
        self.by, self.session = groups > 0, groups > 1
        self.clients, self.sessions = _Codes(), _Codes()
        self.held: dict[str, list[tuple[Any, Any, Any]]] = {q.id: [] for q in qs}
        self.pairwise = {q.id: pm.PairwiseSums(len(q.items)) for q in qs}
        self.scores: dict[tuple[str, str], pm.ScoreSums] = {}
        self.groups: dict[tuple[str, str], ClientSums] = {}
        """Per (questionnaire, scale) with clients: ``n``, ``sums`` and ``sscp`` are the
        inputs of within/between-client reliability (Geldhof et al. 2014)."""
        self.cell_index = Cells()
        self.cells = {q.id: CellSums(len(q.items), self.cell_index) for q in qs}
        self.incomplete: dict[tuple[str, str], int] = {}
        self.qs = {q.id: q for q in qs}
        self.ordinal = {q.id: pm.OrdinalSums(q) for q in qs} if ordinal else {}

    def add(self, part: Part) -> None:
        """Take a chunk's answers (and clients and sessions)."""
        none = np.zeros(part.rows, dtype=np.int64)
        clients = self.clients(part.groups[0]) if self.by else none
        sessions = self.sessions(part.groups[1]) if self.session else none
        for qid, x in part.matrices.items():
            held = self.held[qid]
            if qid in part.roles:  # another form's rows are in none of its sums
                mine = part.roles[qid] == ITS_ROW
                held.append((x[mine], clients[mine], sessions[mine]))
            else:
                held.append((x, clients, sessions))
            if sum(len(h[0]) for h in held) >= _base._BLOCK_ROWS:
                self._blocks(self.qs[qid], final=False)

    def _blocks(self, q: Questionnaire, *, final: bool) -> None:
        """Sum every whole block of the rows held (with ``final``, the rest too)."""
        held = self.held[q.id]
        if not held:
            return
        x, c, s = (np.concatenate([h[i] for h in held]) for i in range(3))
        x = np.asfortranarray(x)  # column-major, as the items of a scale are taken
        size = _base._BLOCK_ROWS
        end = x.shape[0] if final else x.shape[0] - x.shape[0] % size
        for start in range(0, end, size):
            stop = min(start + size, end)
            self._block(q, x[start:stop], c[start:stop], s[start:stop])
        held[:] = [(x[end:], c[end:], s[end:])] if end < x.shape[0] else []

    def _block(self, q: Questionnaire, x: Any, clients: Any, sessions: Any) -> None:
        self.pairwise[q.id].add(x)
        if self.ordinal:
            self.ordinal[q.id].add(x)
        # The ICC and the within/between alphas take the rows with a client; psych::mlr
        # the rows with a client and a session (a blank session must not change the ICC).
        keep = clients >= 0 if self.by else None
        in_cell = cell = None
        if keep is not None and self.session:
            in_cell = keep & (sessions >= 0)
            cell = self.cell_index(clients[in_cell], sessions[in_cell])
            self.cells[q.id].add(x[in_cell], cell)
        for sid in q.scales:
            items = pm.keyed_items(q, sid, x)
            key = (q.id, sid)
            if key not in self.scores:
                self.scores[key] = pm.ScoreSums.of(items)
            self.scores[key].add(items.score)
            if keep is None:
                continue
            k = len(items.item_ids)
            group = self.groups.setdefault(key, ClientSums(k))
            group.add(items.values[keep], items.score[keep], clients[keep])
            if in_cell is not None:
                missed = int(np.isnan(items.values[in_cell]).any(axis=1).sum())
                self.incomplete[key] = self.incomplete.get(key, 0) + missed

    def scales(self, q: Questionnaire) -> tuple[ScaleReliability, ...]:
        """Every scale of ``q`` from the sums of every row."""
        self._blocks(q, final=True)
        moments = self.pairwise[q.id].result()
        return tuple(self._scale(q, sid, moments) for sid in q.scales)

    def _scale(self, q: Questionnaire, sid: str, moments: pm.Pairwise) -> ScaleReliability:
        notes: list[str] = []

        def attempt(what: str, compute: Any) -> Any:
            try:
                return compute()
            except ResponseError as exc:
                notes.append(f"{what}: " + "; ".join(p.message for p in exc.problems))
                return None

        items = pm.keyed_items(q, sid, np.empty((0, len(q.items))))
        key = (q.id, sid)
        labels = items.item_ids
        scale = moments.keyed(items)
        a = attempt("alpha", lambda: pm.alpha_of(scale, labels=labels))
        om = attempt("omega", lambda: pm.omega_of(scale, labels=labels))
        icc = ml = tl = None
        if self.by:
            groups = self.groups.get(key) or ClientSums(len(labels))
            icc = attempt("ICC1", groups.icc)
        if self.session:
            cells, missed = self.cells[q.id], self.incomplete.get(key, 0)
            ml = attempt(
                "multilevel",
                lambda: cells.multilevel(lambda v: pm.keyed_items(q, sid, v).values, missed),
            )
        if self.by:
            tl = attempt(
                "alpha within/between",
                lambda: pm.alpha_within_between(groups.n, groups.sums, groups.sscp, labels),
            )
        ordinal = None
        if self.ordinal:
            ordinal = attempt("ordinal", lambda: self.ordinal[q.id].scale(sid))
            if ordinal is not None:
                notes += [f"ordinal: {note}" for note in ordinal.notes]
        scores = self.scores.get(key) or pm.ScoreSums.of(items)
        return ScaleReliability(
            questionnaire=q.id,
            scale=sid,
            name=q.scales[sid].name,
            items=labels,
            descriptives=scores.descriptives(),
            alpha=a,
            omega=om,
            icc=icc,
            multilevel=ml,
            two_level=tl,
            notes=tuple(notes),
            ordinal=ordinal,
        )
