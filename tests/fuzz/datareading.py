"""The independent reading of a fuzzed data file: each file read by its writer library's
own reader (the csv module, openpyxl, pyreadstat, pandas), each cell classified by the
README's rules alone, and the reference scorer's verdict on the rows (:class:`Verdict`)."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tests.fuzz import reference
from tests.fuzz.datafiles import DEFS, text_cell

# -- the independent reading ------------------------------------------------------------------

VALID, MISSING, NOT_APPLICABLE, BAD, UNKNOWN = "valid", "missing", "na", "bad", "unknown"
_NUMBER = re.compile(r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?", re.ASCII)
_WORD = re.compile(r"[A-Za-z][A-Za-z -]*")


def classify(q: str, item: str, value: Any) -> tuple[str, Any]:
    """A cell as the README reads it: a number or a label of the scale (any case), empty,
    ``.`` and ``NA`` missing (``NA`` "does not apply" where the item offers it). A cell the
    README does not settle (control bytes, other scripts' digits) is UNKNOWN."""
    defn = DEFS[q]
    if value is None or (isinstance(value, float) and value != value):
        return MISSING, None
    if isinstance(value, bool):
        return UNKNOWN, None
    if isinstance(value, int | float):
        number = float(value)
    else:
        token = str(value).strip(" \t")
        if token in ("", "."):
            return MISSING, None
        if token == "NA":
            return (NOT_APPLICABLE, None) if reference.na_codes(defn, item) else (MISSING, None)
        if _NUMBER.fullmatch(token):
            number = float(token)
        elif _WORD.fullmatch(token):
            scale = reference.item_scale(defn, item)
            for point, label in (scale.get("labels") or {}).items():
                if str(label).casefold() == token.casefold():
                    return VALID, float(point)
            if token.casefold() in ("na", "n/a", "does not apply", "not applicable"):
                return UNKNOWN, None
            return BAD, None
        else:
            return UNKNOWN, None
    if number in reference.na_codes(defn, item):
        return NOT_APPLICABLE, None
    return (VALID, number) if reference.allowed(defn, item, number) else (BAD, None)


class Table:
    """A file as its writer library's reader sees it: column names and data records."""

    def __init__(self, header: Sequence[str], records: Sequence[Sequence[Any]]) -> None:
        self.header = [str(h) for h in header]
        self.records = [
            list(r) + [None] * (len(self.header) - len(r))
            for r in records
            # a row blank in every cell (an empty line, or only spaces and delimiters) is no
            # row: the README says so
            if any(c is not None and c == c and str(c).strip() != "" for c in r)
        ]

    def column(self, name: str) -> int | None:
        found = [k for k, h in enumerate(self.header) if h == name]
        return found[0] if len(found) == 1 else None


def read_text(path: Path, delimiter: str) -> Table | None:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    csv.field_size_limit(1 << 30)
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False))
    except csv.Error:
        return None
    if not rows:
        return None
    return Table(rows[0], [r for r in rows[1:] if r])


def read_xlsx(path: Path) -> Table | None:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        rows = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
        book.close()
    except Exception:
        return None
    if not rows:
        return None
    return Table(["" if h is None else text_cell(h) for h in rows[0]], rows[1:])


def read_frame(path: Path, fmt: str) -> Table | None:
    try:
        if fmt == "parquet":
            import pandas as pd

            frame = pd.read_parquet(path)
        else:
            import pyreadstat

            reader = pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta
            frame, _ = reader(str(path))
    except Exception:
        return None
    records = [[None if v is None else v for v in row] for row in frame.itertuples(index=False)]
    return Table([str(c) for c in frame.columns], records)


def reading(path: Path, fmt: str, delimiter: str) -> Table | None:
    if fmt in ("csv", "tsv"):
        return read_text(path, delimiter)
    if fmt == "xlsx":
        return read_xlsx(path)
    return read_frame(path, fmt)


class Verdict:
    """The reference's view of a file under a mapping (item -> column name)."""

    def __init__(self, table: Table, q: str, mapping: dict[str, str], id_column: str) -> None:
        self.q = q
        at = {item: table.column(name) for item, name in mapping.items()}
        ident = table.column(id_column)
        self.complete = ident is not None and all(k is not None for k in at.values())
        self.rows: dict[str, list[tuple[str, Any]] | None] = {}
        self.bad = self.bad_ids = False
        self.unknown = False
        ids = Counter(text_cell(r[ident]) for r in table.records) if ident is not None else {}
        for record in table.records if self.complete else []:
            key = text_cell(record[ident])  # type: ignore[index]
            if not key.strip() or ids[key] > 1:
                self.bad = self.bad_ids = True
            cells = [classify(q, item, record[k]) for item, k in at.items()]  # type: ignore[index]
            self.bad |= any(kind == BAD for kind, _ in cells)
            self.unknown |= any(kind == UNKNOWN for kind, _ in cells)
            self.rows[key] = cells
        self.items = list(mapping)
        self.count = len(table.records)

    def scores(self, key: str) -> dict[str, float | None] | None:
        """The reference's scores of the row with id ``key`` (None if a cell is UNKNOWN); a
        BAD cell is scored as missing (as ``--invalid missing`` does)."""
        cells = self.rows[key]
        if cells is None or any(kind == UNKNOWN for kind, _ in cells):
            return None
        answers: dict[str, reference.Answer] = {}
        for item, (kind, value) in zip(self.items, cells, strict=True):
            answers[item] = reference.NA if kind == NOT_APPLICABLE else value
        return reference.scale_scores(DEFS[self.q], answers)

    def any_score(self) -> bool:
        for key in self.rows:
            got = self.scores(key)
            if got is None or any(v is not None for v in got.values()):
                return True
        return False
