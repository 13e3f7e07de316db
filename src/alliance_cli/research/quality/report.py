"""The screening report alone (``alliance quality``): the run of ``alliance batch --quality``
(:func:`~alliance_cli.research.run.run_batch`: the same reading, checking and two passes),
its per-response rows written to a file or nowhere, and the flag table as a result."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alliance_cli.io.columns import Column
from alliance_cli.model import Questionnaire
from alliance_cli.research.quality.screen import Screening
from alliance_cli.research.surveyrows import RowCounts

CARELESS = {
    "longstring": "careless::longstring (max rle length; a missing answer breaks a run)",
    "irv": "careless::irv (sd, n − 1, na.rm = TRUE)",
    "mahad": "careless::mahad → psych::outlier (pairwise covariance; answered items' terms)",
    "psychsyn": "careless::psychsyn (critval, resample_na = FALSE)",
    "psychant": "careless::psychant (critval, resample_na = FALSE)",
    "version": "careless 1.2.2, psych 2.2.9",
}
"""Which R function each index matches (``--json``: ``careless``)."""


class _Nowhere:
    """An output that keeps nothing: the report without ``-o``."""

    def __init__(self) -> None:
        self.columns: tuple[Column, ...] = ()
        self.rows = 0

    def __call__(self, columns: tuple[Column, ...]) -> _Nowhere:
        self.columns = tuple(columns)
        return self

    def write(self, frame: Any) -> None:
        self.rows += len(frame)

    def commit(self) -> None:
        pass

    def discard(self) -> None:
        pass


@dataclass(frozen=True)
class Quality:
    inputs: tuple[str, ...]
    rows: int
    screening: Screening
    accounting: RowCounts = field(default_factory=RowCounts)
    bad_cells: dict[str, int] = field(default_factory=dict)
    written: int = 0
    empty: bool = False
    """No response was screened, so nothing was written (without ``allow_empty``)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: what ``--json`` prints."""
        return {
            "careless": CARELESS,
            "inputs": list(self.inputs),
            "rows": self.rows,
            "row_accounting": self.accounting.to_dict(),
            "bad_cells": {"count": sum(self.bad_cells.values()), "by_problem": self.bad_cells},
            **self.screening.to_dict(),
        }


def quality_report(
    inputs: Sequence[Any],
    questionnaires: Sequence[Questionnaire],
    options: Any,
    *,
    survey: Any = None,
    sink: Callable[[tuple[Column, ...]], Any] | None = None,
    errors: Path | None = None,
    escape_formulas: bool = True,
    reopen: Callable[[], Sequence[Any]] | None = None,
    limit: Any = None,
    allow_empty: bool = False,
) -> Quality:
    """Screen ``inputs`` (``options.quality`` set) and write each response's indices
    through ``sink`` (None: nowhere); when no row is screened, nothing is written unless
    ``allow_empty`` (:attr:`Quality.empty`)."""
    from alliance_cli.research.run import run_batch

    batch = run_batch(
        inputs,
        questionnaires,
        options,
        survey=survey,
        output=sink if sink is not None else _Nowhere(),
        errors=errors,
        escape_formulas=escape_formulas,
        allow_empty=allow_empty,
        reopen=reopen,
        limit=limit,
    )
    assert batch.quality is not None
    return Quality(
        tuple(i.name for i in batch.inputs),
        batch.rows,
        batch.quality,
        batch.accounting,
        batch.failure_counts(),
        batch.written,
        bool(batch.empty) and not allow_empty,
    )
