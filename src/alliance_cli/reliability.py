"""The reliability table of every scale in data files (``alliance reliability``).

The files are read, mapped and checked exactly as ``alliance batch`` does
(:func:`alliance_cli.batch.score_batch`: a bad cell stops the run with the table of every
bad cell), a slice of rows at a time. Each questionnaire's checked answers
(:attr:`~alliance_cli.batch.Batch.matrices`) give every pairwise moment in one pass
(:func:`~alliance_cli.psychometrics.pairwise`); each scale takes its keyed rows and columns
of those (:func:`~alliance_cli.psychometrics.keyed_items`, ``Pairwise.keyed``), and every
number comes from :mod:`alliance_cli.psychometrics` (``alpha_of``, ``omega_of``,
``describe``, ``icc1``, ``multilevel_reliability``), which is pinned against R ``psych``:

* N complete, mean, SD, floor and ceiling % — :func:`~alliance_cli.psychometrics.describe`
  (complete cases; Terwee et al. 2007);
* Cronbach's alpha with Feldt's 95% CI, standardized alpha, corrected item–total r and
  alpha if item deleted, pairwise as ``psych::alpha`` —
  :func:`~alliance_cli.psychometrics.alpha` (Cronbach 1951; Feldt 1965);
* McDonald's omega total from a one-factor minres model, as ``psych::omega`` —
  :func:`~alliance_cli.psychometrics.omega` (McDonald 1999);
* with a client column: ICC(1) of the scale score across clients, as ``psych::statsBy`` —
  :func:`~alliance_cli.psychometrics.icc1` (Shrout & Fleiss 1979; Bliese 2000); with a
  session column too, the ``psych::mlr`` variance components and reliabilities —
  :func:`~alliance_cli.psychometrics.multilevel_reliability` (Shrout & Lane 2012); and,
  balanced or not, alpha within and between clients from the ML two-level covariance
  matrices, as R lavaan — :func:`~alliance_cli.psychometrics.two_level_alpha` (Geldhof,
  Preacher & Zyphur 2014).

The scale score for the ICC is the score of the complete cases (every item answered), the
sum or mean of the keyed items as the scale's method says; rows with a blank client (or
session) cell are left out. A statistic that cannot be computed for a scale (a constant item,
an unbalanced design) is left empty with the reason in ``notes``; nothing is printed here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from . import psychometrics as pm
from .errors import Problem, ResponseError, UsageError
from .model import Questionnaire

if TYPE_CHECKING:
    from .batch import BatchOptions
    from .io.readers import TextTable


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

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: what ``--json`` prints (NaN becomes null)."""
        return {
            "inputs": list(self.inputs),
            "rows": self.rows,
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
                        "warnings": list(s.warnings),
                        "notes": list(s.notes),
                    }
                )
                for s in self.scales
            ],
        }


def _clean(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def reliability(
    inputs: Sequence[TextTable],
    questionnaires: Sequence[Questionnaire],
    options: BatchOptions | None = None,
    *,
    by: str | None = None,
    session: str | None = None,
) -> Reliability:
    """The reliability table of every scale of ``questionnaires`` in ``inputs``.

    Raises :class:`UsageError` for ``session`` without ``by`` or a client/session column
    that is not in every file, and what :func:`~alliance_cli.batch.score_batch` raises
    (unmappable columns, :class:`~alliance_cli.errors.BatchDataError` for bad cells)."""
    from .batch import BatchOptions, score_batch
    from .batchtable import client_column

    if session and not by:
        raise UsageError(
            Problem("session-without-by", "--session needs the client column too"),
            hint="add --by CLIENT_COL",
        )
    batch = score_batch(inputs, questionnaires, options or BatchOptions(), build=False, score=False)
    clients = _codes(client_column(batch.inputs, by, "--by")) if by else None
    sessions = _codes(client_column(batch.inputs, session, "--session")) if session else None
    scales = tuple(
        s
        for q in batch.questionnaires
        for s in _questionnaire(q, batch.matrices[q.id], clients, sessions)
    )
    return Reliability(tuple(t.name for t in inputs), batch.rows, by, session, scales)


def _codes(column: Any) -> Any:
    """Integer codes of a client or session column, −1 where blank (None):
    grouping by hashing once, instead of sorting the text for every scale."""
    import pandas as pd  # type: ignore[import-untyped]  # lazily: importing stays cheap

    codes, _ = pd.factorize(np.asarray(column, dtype=object))
    return codes


def _questionnaire(
    q: Questionnaire, x: Any, clients: Any, sessions: Any
) -> tuple[ScaleReliability, ...]:
    """Every scale of one questionnaire from its answers ``x`` (:attr:`Batch.matrices
    <alliance_cli.batch.Batch.matrices>`: NaN wherever not an answer, as
    :func:`~alliance_cli.psychometrics.answered` gives): every pairwise moment is taken in
    one pass (:func:`~alliance_cli.psychometrics.pairwise`); each scale's statistics come
    from its rows and columns of those (keyed)."""
    answers = x
    moments = pm.pairwise(answers)
    groups = None
    if clients is not None:
        keep = clients >= 0  # rows with a client (and a session)
        if sessions is not None:
            keep &= sessions >= 0
        groups = _Groups(None if keep.all() else np.flatnonzero(keep), clients, sessions)
    return tuple(_scale(q, pm.keyed_items(q, sid, answers), moments, groups) for sid in q.scales)


@dataclass(frozen=True, eq=False)
class _Groups:
    """The rows with a client (and a session): their indices (None: every row) and codes."""

    rows: Any
    all_clients: Any
    all_sessions: Any

    def pick(self, a: Any) -> Any:
        return a if self.rows is None else a[self.rows]

    @cached_property
    def clients(self) -> Any:
        return self.pick(self.all_clients)

    @cached_property
    def sessions(self) -> Any:
        return None if self.all_sessions is None else self.pick(self.all_sessions)


def _scale(
    q: Questionnaire, items: pm.ScaleItems, moments: pm.Pairwise, groups: _Groups | None
) -> ScaleReliability:
    notes: list[str] = []

    def attempt(what: str, compute: Any) -> Any:
        try:
            return compute()
        except ResponseError as exc:
            note = f"{what}: " + "; ".join(p.message for p in exc.problems)
            notes.append(note)
            return None

    labels = items.item_ids
    scale = moments.keyed(items)
    a = attempt("alpha", lambda: pm.alpha_of(scale, labels=labels))
    om = attempt("omega", lambda: pm.omega_of(scale, labels=labels))
    icc = ml = tl = None
    if groups is not None:
        g = groups
        icc = attempt("ICC(1)", lambda: pm.icc1(g.pick(items.score), g.clients))
        if g.sessions is not None:
            ml = attempt(
                "multilevel",
                lambda: pm.multilevel_reliability(g.pick(items.values), g.clients, g.sessions),
            )
        tl = attempt(
            "alpha within/between",
            lambda: pm.two_level_alpha(g.pick(items.values), g.clients, labels),
        )
    sid = items.scale_id
    return ScaleReliability(
        questionnaire=q.id,
        scale=sid,
        name=q.scales[sid].name,
        items=labels,
        descriptives=pm.describe(items),
        alpha=a,
        omega=om,
        icc=icc,
        multilevel=ml,
        two_level=tl,
        notes=tuple(notes),
    )
