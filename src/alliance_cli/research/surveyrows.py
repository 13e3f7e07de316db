"""Which rows of a survey export a run scores, and why each other row is left out.

**The count** (:class:`RowCounts`): every row read is either scored or left out for a named
reason — not finished (Qualtrics ``--finished-only``, decided in
:func:`~alliance_cli.research.surveys.prepare`), not complete (REDCap ``--complete-only``), or not a
row of the scored forms (REDCap). Counts add up over chunks and inputs; the batch summary,
the codebook and ``reliability`` render them.

**REDCap forms** (:func:`form_rows`). A REDCap export has a row per record and event and a
row per instance of a repeating instrument; each row holds the fields of some forms only. A
field's form is the one whose status column (``<form>_complete``, or ``Complete?`` in a label
export) is the next at or after it (REDCap writes each form's fields, then its status). A row
belongs to a form when

* it is a repeat row (``redcap_repeat_instrument`` = F) and the form is F — by its raw name
  where the status column gives it (``F_complete``); a label export (the instrument as its
  label, the status as ``Complete?``) by the next rule, as REDCap fills only F's status on
  F's rows;
* it is an event row and the form's status cell is filled (REDCap leaves it blank for forms
  not on that event, and for repeating instruments).

A questionnaire's rows are the event rows of the forms holding its items, and every row
with an answer in its item columns (an answer is never taken for another form's blank; this
also covers an export without a form's status column). A repeat row without an answer of
the questionnaire is another instrument's row, whatever status column follows its items;
so is any row without an answer when no status column follows an item (an export without
``<form>_complete`` columns: the run says so once, :func:`unknown_forms`), and
``--complete-only`` then refuses. With ``complete_only``, a row of the questionnaire counts
only when each of its forms on that row has status 2 (``Complete``); a status that is none
of REDCap's is a bad cell. A row is kept when it is a (complete) row of at least one scored
questionnaire; on a kept row, another questionnaire's cells are blank with the reason
(:data:`ROLE_TEXT`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from alliance_cli.errors import Problem, UsageError
from alliance_cli.text import normalize_label

if TYPE_CHECKING:
    from alliance_cli.research.columnmap import FileMapping
    from alliance_cli.research.readers import TextTable

NOT_FINISHED = "not finished (--finished-only)"
NOT_COMPLETE = "not complete (--complete-only)"
OTHER_FORM = "not a row of the scored forms"
REASONS = (NOT_FINISHED, NOT_COMPLETE, OTHER_FORM)

# A questionnaire's part in a kept row.
ITS_ROW, ANOTHER_FORM, FORM_NOT_COMPLETE, ANOTHER_RESPONSE = 0, 1, 2, 3
ROLE_TEXT = {
    ANOTHER_FORM: "not a row of this questionnaire's form (another REDCap form's row)",
    FORM_NOT_COMPLETE: "its REDCap form is not complete on this row (--complete-only)",
    ANOTHER_RESPONSE: "a response to another questionnaire (scored as that one)",
}

LABEL_COMPLETE = "complete?"
# A form's status, raw or as a label export writes it: only 2 (Complete) is complete.
NO_STATUS = -2  # a form status cell that is none of REDCap's
_STATUS = {"0": 0, "1": 1, "2": 2, "incomplete": 0, "unverified": 1, "complete": 2, "": -1}
STATUS_ALLOWED = "0, 1, 2, Incomplete, Unverified, Complete or blank"


@dataclass(frozen=True)
class RowCounts:
    """The rows read, and how many were left out for each of :data:`REASONS`."""

    read: int = 0
    left_out: tuple[int, ...] = field(default=(0,) * len(REASONS))

    @classmethod
    def of(
        cls, read: int, *, not_finished: int = 0, not_complete: int = 0, other_form: int = 0
    ) -> RowCounts:
        return cls(read, (not_finished, not_complete, other_form))

    def __add__(self, other: RowCounts) -> RowCounts:
        return RowCounts(
            self.read + other.read,
            tuple(a + b for a, b in zip(self.left_out, other.left_out, strict=True)),
        )

    @property
    def scored(self) -> int:
        return self.read - sum(self.left_out)

    def reasons(self) -> dict[str, int]:
        """Rows left out per reason, those with none left out."""
        return {r: n for r, n in zip(REASONS, self.left_out, strict=True) if n}

    def describe(self) -> str:
        """``31 not finished (--finished-only), 350 scored``."""
        parts = [f"{n:,} {reason}" for reason, n in self.reasons().items()]
        return ", ".join([*parts, f"{self.scored:,} scored"])

    def to_dict(self) -> dict[str, Any]:
        return {"read": self.read, "left_out": self.reasons(), "scored": self.scored}


def total(counts: Sequence[RowCounts]) -> RowCounts:
    out = RowCounts()
    for c in counts:
        out = out + c
    return out


def is_status_column(name: str) -> bool:
    """A form's status column: ``<form>_complete``, or ``Complete?`` in a label export."""
    if normalize_label(name) == LABEL_COMPLETE:
        return True
    return name.endswith("_complete") and len(name) > len("_complete")


@dataclass(frozen=True)
class FormRows:
    """What :func:`form_rows` finds in one table (arrays over its rows)."""

    keep: Any
    """The rows kept: a (complete) row of at least one scored questionnaire."""
    roles: dict[str, Any]
    """Per questionnaire id, each row's :data:`ITS_ROW`, :data:`ANOTHER_FORM` or
    :data:`FORM_NOT_COMPLETE` (int8)."""
    bad: dict[int, Any]
    """Per status column (position), the rows whose status is none of REDCap's."""
    counts: RowCounts
    """The rows left out (``read`` is 0: the table's reader counts those)."""


def unknown_forms(columns: Sequence[str], mapping: FileMapping) -> list[str]:
    """The questionnaires with an item column that no form status column follows: their
    form cannot be told (an export without ``<form>_complete`` columns)."""
    return [qid for qid, found in _forms(columns, mapping).items() if found is None]


def _forms(columns: Sequence[str], mapping: FileMapping) -> dict[str, list[int] | None]:
    """Per questionnaire, the status columns of its items' forms (None: some item has none
    after it)."""
    statuses = [k for k, c in enumerate(columns) if is_status_column(c)]
    forms: dict[str, list[int] | None] = {}
    for qc in mapping.questionnaires:
        found: set[int] = set()
        for ic in qc.items:
            after = [k for k in statuses if k >= ic.position]
            if not after:
                break
            found.add(after[0])
        else:
            forms[qc.questionnaire.id] = sorted(found)
            continue
        forms[qc.questionnaire.id] = None
    return forms


def form_rows(
    table: TextTable,
    mapping: FileMapping,
    *,
    complete_only: bool,
    instrument: str | None,
) -> FormRows:
    """The rows of a REDCap export that are rows of each questionnaire's form (see the module
    text). ``instrument`` names the repeat-instrument column, if any."""
    import numpy as np

    forms = _forms(table.columns, mapping)
    if complete_only and (unknown := [qid for qid, f in forms.items() if f is None]):
        raise UsageError(
            Problem(
                "no-complete-column",
                "no form status column (<form>_complete, or Complete? in a label export) after "
                f"the item columns of {', '.join(unknown)}",
                table.name,
            ),
            hint="--complete-only needs REDCap's form status columns",
        )
    n = len(table.frame)
    belongs = _belongs(table, sorted({k for f in forms.values() for k in f or ()}), instrument)
    at = [k for k, c in enumerate(table.columns) if c == instrument]
    # A repeat row holds one instrument's fields: without an answer of a questionnaire, it is
    # another instrument's row, whatever status column follows the items.
    repeat = _filled(table, at[0]) if at else np.zeros(n, dtype=np.bool_)
    bad: dict[int, Any] = {}
    complete: dict[int, Any] = {}
    if complete_only:
        for k in belongs:
            status = _statuses(table, k)
            complete[k] = status == 2
            bad[k] = status == NO_STATUS
    roles: dict[str, Any] = {}
    for qc in mapping.questionnaires:
        ks = forms[qc.questionnaire.id]
        role = np.full(n, ITS_ROW, dtype=np.int8)
        answered = np.logical_or.reduce([_filled(table, ic.position) for ic in qc.items])
        mine = answered.copy()
        for k in ks or ():  # no status column tells: the rows with an answer
            mine |= belongs[k] & ~repeat
        if complete_only:
            assert ks is not None
            done = np.ones(n, dtype=np.bool_)
            for k in ks:
                done &= ~belongs[k] | complete[k]
            # answers without a complete status are not complete
            done &= ~answered | np.logical_or.reduce([complete[k] for k in ks])
            role[~done] = FORM_NOT_COMPLETE
        role[~mine] = ANOTHER_FORM
        roles[qc.questionnaire.id] = role
    stacked = np.stack(list(roles.values())) if roles else np.zeros((0, n), dtype=np.int8)
    keep = (stacked == ITS_ROW).any(axis=0)
    not_complete = ~keep & (stacked == FORM_NOT_COMPLETE).any(axis=0)
    counts = RowCounts.of(
        0, not_complete=int(not_complete.sum()), other_form=int((~keep & ~not_complete).sum())
    )
    return FormRows(keep, roles, bad, counts)


def owned_rows(
    table: TextTable, mapping: FileMapping, owner: str, owners: dict[str, str]
) -> FormRows:
    """The rows of a table whose ``owner`` column names each row's questionnaire (``owners``:
    each text of it with the questionnaire's id; FHIR responses name theirs by canonical
    URL): a row is its questionnaire's only, :data:`ANOTHER_RESPONSE` to every other one.
    Every row is kept: its reader refused the rows of questionnaires not scored."""
    import numpy as np
    import pandas as pd  # type: ignore[import-untyped]

    at = table.columns.index(owner)
    codes, distinct = pd.factorize(table.frame[at])
    named = np.array([owners.get(str(v), "") for v in distinct.tolist()] + [""], dtype=object)
    of_row = named[codes]
    roles: dict[str, Any] = {}
    for qc in mapping.questionnaires:
        role = np.full(len(table.frame), ANOTHER_RESPONSE, dtype=np.int8)
        role[of_row == qc.questionnaire.id] = ITS_ROW
        roles[qc.questionnaire.id] = role
    return FormRows(np.ones(len(table.frame), dtype=np.bool_), roles, {}, RowCounts())


def _belongs(table: TextTable, statuses: Sequence[int], instrument: str | None) -> dict[int, Any]:
    """Per status column: the rows of its form (see the module text)."""
    import numpy as np
    import pandas as pd

    names = {
        k: table.columns[k].removesuffix("_complete")
        for k in statuses
        if normalize_label(table.columns[k]) != LABEL_COMPLETE
    }
    at = [k for k, c in enumerate(table.columns) if c == instrument]
    if at:
        codes, distinct = pd.factorize(table.frame[at[0]])
        values = [str(v).strip() for v in distinct.tolist()] + [""]
        known = {
            c.removesuffix("_complete")
            for c in table.columns
            if is_status_column(c) and normalize_label(c) != LABEL_COMPLETE
        }
        repeat = np.array([v in known for v in values], dtype=np.bool_)[codes]
    out: dict[int, Any] = {}
    for k in statuses:
        filled = _filled(table, k)
        if at and k in names:
            own = np.array([v == names[k] for v in values], dtype=np.bool_)[codes]
            filled = np.where(repeat, own, filled)
        elif at:
            filled = filled & ~repeat
        out[k] = filled
    return out


def _filled(table: TextTable, k: int) -> Any:
    import numpy as np
    import pandas as pd

    codes, distinct = pd.factorize(table.frame[k])
    filled = np.array([bool(str(v).strip()) for v in distinct.tolist()] + [False], dtype=np.bool_)
    return filled[codes]


def _status(cell: str) -> int | None:
    """0, 1 or 2 (``2.0`` too, as a spreadsheet may write it), -1 for blank, else None."""
    key = normalize_label(cell)
    if key in _STATUS:
        return _STATUS[key]
    try:
        x = float(key)
    except ValueError:
        return None
    return int(x) if x in (0.0, 1.0, 2.0) else None


def _statuses(table: TextTable, k: int) -> Any:
    """Column ``k`` as form statuses 0, 1, 2 (-1 blank, :data:`NO_STATUS` for a cell that
    is none of them), read once per distinct cell."""
    import numpy as np
    import pandas as pd

    codes, distinct = pd.factorize(table.frame[k])
    read = [_status(str(v)) for v in distinct.tolist()]
    status = np.array([NO_STATUS if x is None else x for x in read], dtype=np.int8)
    return status[codes] if len(codes) else np.zeros(0, dtype=np.int8)
