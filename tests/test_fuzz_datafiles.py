"""Fuzzing the data-file inputs of ``alliance batch`` (and, on a sample, ``alliance
reliability``): CSV, TSV, Excel, SPSS, Stata and Parquet files.

Each case starts from a valid file made by the format's own writer (the csv module, openpyxl,
pyreadstat, pyarrow) holding random answers to a bundled questionnaire — missing, "does not
apply" and bad cells among them — and then mutates it: bytes for text, zip members and cells
for Excel, bytes and column types for the binary formats. Whatever alliance does must be
documented (:func:`fuzzkit.check`), and what it does is checked against an independent reading
of the file (the writer library's own reader) and the independent scorer in
:mod:`tests.reference`:

- exit 0: every data row the file holds is in the output, and each row's scores equal the
  reference's; no cell the reference refuses was accepted;
- exit 65: nothing written, and the reference finds a cell that is not an allowed answer (or a
  blank or repeated id);
- exit 1: the reference gives no row a score.
"""

from __future__ import annotations

import csv
import importlib
import io
import json
import random
import re
import tempfile
import warnings
import zipfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import strategies as st

from . import reference
from .fuzzkit import Outcome, budgets, check, invoke, invoke_process, snapshot

# An exception a native reader's callback swallowed is "Exception ignored" on a user's stderr.
pytestmark = pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
REPO = Path(__file__).resolve().parents[1]
PREFIX = {"wai-sr": "wai_sr_", "wai-s": "wais_", "care": "care", "srs": "srs", "haq-ii": "haq"}
DEFS = {q: reference.load(REPO / "questionnaires" / f"{q}.yaml") for q in PREFIX}
EXTRA = {"xlsx": "openpyxl", "sav": "pyreadstat", "dta": "pyreadstat", "parquet": "pyarrow"}


def need(fmt: str) -> Any:
    """The format's writer library; missing, the test fails saying which extra to install."""
    name = EXTRA.get(fmt)
    if name is None:
        return None
    try:
        return importlib.import_module(name)
    except ImportError:
        pytest.fail(f"{fmt} fuzzing needs {name}: pip install -e '.[test]' (the formats extra)")


# -- the answers ------------------------------------------------------------------------------


def grid(q: str) -> list[float]:
    rs = DEFS[q]["response_scale"]
    low, high, step = float(rs["min"]), float(rs["max"]), float(rs.get("step", 1))
    return [round(low + k * step, 10) for k in range(round((high - low) / step) + 1)]


def bad_values(q: str) -> list[Any]:
    rs = DEFS[q]["response_scale"]
    low, high = rs["min"], rs["max"]
    step = float(rs.get("step", 1))
    return [high + 1, low - 1, 99, low + step / 2, -0.0 - 3.5]


def labels(q: str) -> list[tuple[float, str]]:
    return [(float(k), str(v)) for k, v in DEFS[q]["response_scale"].get("labels", {}).items()]


def has_na(q: str) -> bool:
    return bool(reference.na_codes(DEFS[q], reference.item_ids(DEFS[q])[0]))


class Data:
    """What was written: a questionnaire, its column names, and rows of (id, cells)."""

    def __init__(self, q: str, header: list[str], rows: list[list[Any]]) -> None:
        self.q, self.header, self.rows = q, header, rows


def answers(q: str, rng: random.Random, *, text: bool) -> Data:
    """Random rows: mostly allowed answers, some missing, "does not apply" where the
    questionnaire offers it, and (in about half the files) a few bad cells; ``text`` adds
    labels and words (cells of a text column)."""
    items = reference.item_ids(DEFS[q])
    header = ["id", *(PREFIX[q] + i for i in items)]
    values = grid(q)
    dirty = rng.random() < 0.5
    rows: list[list[Any]] = []
    for r in range(rng.randint(0, 8)):
        ident: Any = f"p{r:03d}"
        if dirty and rng.random() < 0.08:
            ident = rng.choice(["", "p000"])  # a missing or (usually) repeated id
        cells: list[Any] = [ident]
        missing_rate = rng.choice([0.0, 0.1, 0.4])
        for _ in items:
            roll = rng.random()
            if roll < missing_rate:
                cells.append(rng.choice(["", "."] if text else [None]))
            elif has_na(q) and roll < missing_rate + 0.08:
                cells.append(rng.choice(["NA", 6] if text else [6]))
            elif dirty and roll > 0.97:
                choices = bad_values(q) + (["x", "never-ish", "1e999"] if text else [])
                cells.append(rng.choice(choices))
            elif text and roll > 0.93 and labels(q):
                _, label = rng.choice(labels(q))
                cells.append(rng.choice([label, label.upper(), label.lower()]))
            else:
                cells.append(rng.choice(values))
        rows.append(cells)
    return Data(q, header, rows)


def text_cell(value: Any) -> str:
    """A written value as the text a reader gives (an Excel boolean as ``true``/``false``)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


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
            if any(c is not None and c == c and str(c) != "" for c in r)
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


def compare(outcome: Outcome, out: Path, verdict: Verdict, q: str) -> None:
    """The output of a run that succeeded: every record of the file, each with the
    reference's scores."""
    codebook = json.loads(out.with_name(out.name + ".codebook.json").read_text("utf-8"))
    rows = list(csv.DictReader(io.StringIO(out.read_text("utf-8"), newline="")))
    assert codebook["row_accounting"]["read"] == verdict.count, (outcome.stderr, verdict.count)
    assert len(rows) == verdict.count, (outcome.stderr, verdict.count)
    for row in rows:
        assert row["id"] in verdict.rows, (row, sorted(verdict.rows))
        expected = verdict.scores(row["id"])
        if expected is None:
            continue
        for scale, value in expected.items():
            got = row[f"{q}.{scale}"]
            shown = f"row {row['row']} id {row['id']!r} {q}.{scale}: {got!r} != {value}"
            assert reference.close(float(got) if got else None, value), shown


def mapping_of(out: Path, q: str) -> dict[str, str]:
    """Which column alliance read each item from (its codebook; the reading is ours)."""
    codebook = json.loads(out.with_name(out.name + ".codebook.json").read_text("utf-8"))
    (entry,) = codebook["mapping"]
    (mapped,) = [m for m in entry["questionnaires"] if m["id"] == q]
    return {str(m["item"]): str(m["column"]) for m in mapped["items"]}


def delimiter_of(out: Path) -> str:
    codebook = json.loads(out.with_name(out.name + ".codebook.json").read_text("utf-8"))
    name = codebook["inputs"][0].get("delimiter", "comma")
    return {"comma": ",", "tab": "\t", "semicolon": ";", "pipe": "|"}.get(name, name)


# -- writing a valid file ---------------------------------------------------------------------


def write_text(path: Path, data: Data, rng: random.Random, delimiter: str) -> None:
    """With the csv module: the line end, the quoting and a byte-order mark vary."""
    with path.open("w", encoding=rng.choice(["utf-8", "utf-8-sig"]), newline="") as f:
        writer = csv.writer(
            f,
            delimiter=delimiter,
            lineterminator=rng.choice(["\n", "\r\n"]),
            quoting=rng.choice([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]),
        )
        writer.writerow(data.header)
        for row in data.rows:
            writer.writerow([text_cell(v) for v in row])


def write_xlsx(path: Path, data: Data, edits: Sequence[tuple[int, int, Any]]) -> None:
    """With openpyxl; ``edits`` put odd values into cells (row, column from 1) first."""
    openpyxl = need("xlsx")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(data.header)
    for row in data.rows:
        sheet.append([None if v == "" else v for v in row])
    for r, c, value in edits:
        sheet.cell(row=r, column=c, value=value)
    book.save(path)


def frame_of(data: Data, change: str | None, rng: random.Random) -> Any:
    """The rows as a pandas frame: numeric item columns (text cells of the answers become
    NaN), text ids; ``change`` alters one column's type as a hurried researcher would."""
    import numpy as np
    import pandas as pd

    columns: dict[str, Any] = {"id": [str(r[0]) for r in data.rows]}
    for k, name in enumerate(data.header[1:], start=1):
        cells = [r[k] for r in data.rows]
        columns[name] = [float(v) if isinstance(v, int | float) else np.nan for v in cells]
    frame = pd.DataFrame(columns)
    if not data.rows:
        return frame
    name = rng.choice(data.header[1:])
    if change == "text":  # strings where numbers were
        words = ["", " 3 ", "NA", "x", "2.5", ".", "1,5", "Always"]
        frame[name] = [text_cell(v) if v == v else rng.choice(words) for v in frame[name]]
    elif change == "nonfinite":
        at = rng.randrange(len(frame))
        frame.loc[at, name] = rng.choice([np.inf, -np.inf, np.nan, 1e300, -0.0])
    elif change == "int":
        frame[name] = frame[name].fillna(1).round().astype("int64")
    elif change == "numeric-id":
        frame["id"] = [float(k) for k in range(len(frame))]
    return frame


def write_binary(path: Path, fmt: str, data: Data, change: str | None, rng: random.Random) -> None:
    frame = frame_of(data, change, rng)
    if fmt == "parquet":
        need("parquet")
        frame.to_parquet(path, engine="pyarrow", index=False)
        return
    pyreadstat = need(fmt)
    write = pyreadstat.write_sav if fmt == "sav" else pyreadstat.write_dta
    try:
        write(frame, str(path))
    except Exception:  # the writer refuses the change (Stata and infinities): write it plain
        path.unlink(missing_ok=True)
        write(frame_of(data, None, rng), str(path))


# -- mutations --------------------------------------------------------------------------------

PAYLOADS = [
    b'"',
    b'""',
    b"\r",
    b"\n",
    b"\r\n",
    b"\0",
    b",",
    b"\t",
    b";",
    b"|",
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"\xe9",
    b"caf\xe9",
    b"\xc3\xa9",
    b"\xff",
    b"7",
    b" ",
    b"id",
    b"-1",
    b"9" * 140_000,  # a cell past the csv module's field limit
]
TEXT_EDITS = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "insert",
                "insert",
                "delete",
                "replace",
                "truncate",
                "long-row",
                "short-row",
                "repeat-name",
                "blank-name",
                "repeat-line",
            ]
        ),
        st.floats(0, 1),
        st.sampled_from(PAYLOADS),
    ),
    max_size=3,
)


def mutate_text(raw: bytes, edits: Sequence[tuple[str, float, bytes]], delimiter: str) -> bytes:
    sep = delimiter.encode()
    for kind, where, payload in edits:
        at = int(where * len(raw))
        lines = raw.split(b"\n")
        line = min(int(where * len(lines)), len(lines) - 1)
        if kind == "insert":
            raw = raw[:at] + payload + raw[at:]
        elif kind == "delete":
            raw = raw[:at] + raw[at + 1 + len(payload) % 7 :]
        elif kind == "replace" and raw:
            at = min(at, len(raw) - 1)
            raw = raw[:at] + payload[:1] + raw[at + 1 :]
        elif kind == "truncate":
            raw = raw[:at]
        elif kind == "long-row":
            lines[line] = lines[line].rstrip(b"\r") + sep + payload[:20]
            raw = b"\n".join(lines)
        elif kind == "short-row":
            lines[line] = lines[line].rsplit(sep, 1)[0]
            raw = b"\n".join(lines)
        elif kind == "repeat-name":
            names = lines[0].split(sep)
            names[-1] = names[0]
            raw = b"\n".join([sep.join(names), *lines[1:]])
        elif kind == "blank-name":
            names = lines[0].split(sep)
            names[min(int(where * len(names)), len(names) - 1)] = b""
            raw = b"\n".join([sep.join(names), *lines[1:]])
        elif kind == "repeat-line":
            raw = b"\n".join([*lines[: line + 1], lines[line], *lines[line + 1 :]])
    return raw


XLSX_MEMBERS = [
    "xl/worksheets/sheet1.xml",
    "xl/sharedStrings.xml",
    "xl/workbook.xml",
    "[Content_Types].xml",
    "xl/_rels/workbook.xml.rels",
    "xl/styles.xml",
]
XLSX_EDIT = st.tuples(
    st.sampled_from(["truncate", "flip", "drop", "insert", "index"]),
    st.sampled_from(XLSX_MEMBERS),
    st.floats(0, 1),
    st.sampled_from(PAYLOADS[:20]),
)
XLSX_EDITS = st.lists(XLSX_EDIT, max_size=2)
ODD_CELLS = st.lists(
    st.tuples(
        st.integers(1, 12),
        st.integers(1, 22),
        st.sampled_from(
            [
                None,
                " 3 ",
                "3",
                2.5,
                True,
                "=1+1",
                "9" * 40_000,
                -0.0,
                1e308,
                "Always",
                "NA",
                "\u0663",
                "x",
                0,
                "id",
                "wai_sr_1",
                3.0000000001,
            ]
        ),
    ),
    max_size=3,
)


def mutate_zip(path: Path, edits: Sequence[tuple[str, str, float, bytes]]) -> None:
    with zipfile.ZipFile(path) as z:
        members = {i.filename: z.read(i) for i in z.infolist()}
    for kind, name, where, payload in edits:
        if name not in members:
            continue
        body = members[name]
        at = int(where * len(body))
        if kind == "truncate":
            members[name] = body[:at]
        elif kind == "flip" and body:
            at = min(at, len(body) - 1)
            members[name] = body[:at] + bytes([body[at] ^ 0x5A]) + body[at + 1 :]
        elif kind == "drop":
            del members[name]
        elif kind == "insert":
            members[name] = body[:at] + payload + body[at:]
        elif kind == "index":  # a shared-string index past the table
            members[name] = re.sub(rb"<v>\d+</v>", b"<v>99999</v>", body, count=1)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, body in members.items():
            z.writestr(name, body)


BYTE_EDIT = st.tuples(
    st.sampled_from(["flip", "truncate", "zero"]), st.floats(0, 1), st.integers(1, 255)
)
BYTE_EDITS = st.lists(BYTE_EDIT, max_size=3)


def mutate_bytes(raw: bytes, edits: Sequence[tuple[str, float, int]]) -> bytes:
    for kind, where, value in edits:
        if not raw:
            break
        at = min(int(where * len(raw)), len(raw) - 1)
        if kind == "flip":
            raw = raw[:at] + bytes([raw[at] ^ value]) + raw[at + 1 :]
        elif kind == "truncate":
            raw = raw[:at]
        elif kind == "zero":
            raw = raw[:at] + bytes(value) + raw[at + value :]
    return raw


# -- running one case -------------------------------------------------------------------------


# What Python's default warning filters hide from a user; any other warning reaches stderr.
HIDDEN = (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning)


def quietly(entry: str, args: list[str], folder: Path) -> Outcome:
    """:func:`invoke`, failing on a warning a user would see on stderr (numpy's overflow, a
    library's UserWarning): noise above our message, often a sign of a wrong number."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        outcome = invoke(entry, args, cwd=folder)
    shown = [
        f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})"
        for w in seen
        if not issubclass(w.category, HIDDEN)
    ]
    assert not shown, f"alliance {args!r} warned on stderr: {shown}"
    return outcome


def run_case(fmt: str, path: Path, data: Data, *, exact: bool, reliability: bool) -> int:
    """``alliance batch`` on ``path``, checked; ``exact``: the file's structure is as written,
    so the exit code is known beforehand. Returns the exit code."""
    folder = path.parent
    q = data.q
    out = folder / "out.csv"
    args = ["batch", path.name, "-q", q, "--id", "id", "-o", out.name, "--no-escape-formulas"]
    before = snapshot(folder)
    outcome = quietly(fmt, args, folder)
    check(outcome, args=args, folder=folder, before=before)
    written = {"csv": ",", "tsv": "\t"}.get(fmt, "")
    mapping = {item: PREFIX[q] + item for item in reference.item_ids(DEFS[q])}
    if outcome.code == 0:
        mapping = mapping_of(out, q)
        delimiter = delimiter_of(out) if written else ""
        table = reading(path, fmt, delimiter)
        if written:
            assert table is not None, f"alliance read what Python's csv cannot: {outcome.stderr}"
        if table is not None:
            verdict = Verdict(table, q, mapping, "id")
            assert verdict.complete, (mapping, table.header)
            assert not verdict.bad, f"a bad cell or id was accepted: {outcome.stderr}"
            compare(outcome, out, verdict, q)
    else:
        table = reading(path, fmt, written)
        verdict = Verdict(table, q, mapping, "id") if table is not None else None
        if outcome.code == 65 and verdict is not None and verdict.complete:
            assert verdict.bad or verdict.unknown, f"exit 65 on allowed cells: {outcome.stderr}"
        if outcome.code == 1 and verdict is not None and verdict.complete:
            assert not verdict.any_score(), f"exit 1 though rows have scores: {outcome.stderr}"
    if exact:
        table = reading(path, fmt, written)
        assert table is not None
        verdict = Verdict(table, q, mapping, "id")
        if table.header == data.header and not verdict.unknown:
            expected = 65 if verdict.bad else (0 if verdict.any_score() else 1)
            assert outcome.code == expected, f"{args} -> {outcome.code}: {outcome.stderr}"
            if verdict.bad and not verdict.bad_ids:
                invalid_as_missing(fmt, path, verdict)
    if reliability:
        out.unlink(missing_ok=True)
        out.with_name(out.name + ".codebook.json").unlink(missing_ok=True)
        args = ["reliability", path.name, "-q", q, "--id", "id"]
        before = snapshot(folder)
        again = quietly(f"{fmt} reliability", args, folder)
        check(again, args=args, folder=folder, before=before)
        if outcome.code in (0, 65, 6):
            assert again.code == outcome.code, (outcome.stderr, again.stderr)
    return outcome.code


def invalid_as_missing(fmt: str, path: Path, verdict: Verdict) -> None:
    """``--invalid missing`` on a file with bad answers: each scored as missing, so the
    scores equal the reference's with those cells blank."""
    folder, q = path.parent, verdict.q
    out = folder / "out.csv"
    args = ["batch", path.name, "-q", q, "--id", "id", "-o", out.name, "--invalid", "missing"]
    before = snapshot(folder)
    outcome = quietly(fmt, [*args, "--no-escape-formulas"], folder)
    check(outcome, args=args, folder=folder, before=before)
    assert outcome.code == (0 if verdict.any_score() else 1), outcome.stderr
    if outcome.code == 0:
        compare(outcome, out, verdict, q)
        out.unlink()
        out.with_name(out.name + ".codebook.json").unlink()


def case_folder() -> Any:
    return tempfile.TemporaryDirectory(prefix="fz-data-")


QUESTIONNAIRES = st.sampled_from(sorted(PREFIX))
SEEDS = st.integers(0, 2**32 - 1)


# -- the suites -------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
@budgets(bounded=12, long=600)
def test_delimited_text(budget: Any, fmt: str) -> None:
    @budget.given(q=QUESTIONNAIRES, seed=SEEDS, edits=TEXT_EDITS)
    def case(q: str, seed: int, edits: list[tuple[str, float, bytes]]) -> None:
        rng = random.Random(seed)
        data = answers(q, rng, text=True)
        delimiter = "," if fmt == "csv" else "\t"
        with case_folder() as name:
            path = Path(name) / f"data.{fmt}"
            write_text(path, data, rng, delimiter)
            path.write_bytes(mutate_text(path.read_bytes(), edits, delimiter))
            run_case(fmt, path, data, exact=not edits, reliability=seed % 6 == 0)

    case()


@budgets(bounded=10, long=600)
def test_excel(budget: Any) -> None:
    need("xlsx")

    @budget.given(q=QUESTIONNAIRES, seed=SEEDS, cells=ODD_CELLS, edits=XLSX_EDITS)
    def case(q: str, seed: int, cells: list[Any], edits: list[Any]) -> None:
        rng = random.Random(seed)
        data = answers(q, rng, text=True)
        with case_folder() as name:
            path = Path(name) / "data.xlsx"
            write_xlsx(path, data, cells)
            if edits:
                mutate_zip(path, edits)
            run_case("xlsx", path, data, exact=not edits, reliability=seed % 6 == 0)

    case()


CHANGES = st.sampled_from([None, None, "text", "nonfinite", "int", "numeric-id"])


@pytest.mark.parametrize("fmt", ["sav", "dta", "parquet"])
@budgets(bounded=10, long=550)
def test_binary_formats(budget: Any, fmt: str) -> None:
    need(fmt)

    @budget.given(q=QUESTIONNAIRES, seed=SEEDS, change=CHANGES, edits=BYTE_EDITS)
    def case(q: str, seed: int, change: str | None, edits: list[Any]) -> None:
        rng = random.Random(seed)
        data = answers(q, rng, text=False)
        with case_folder() as name:
            path = Path(name) / f"data.{fmt}"
            write_binary(path, fmt, data, change, rng)
            if edits:
                path.write_bytes(mutate_bytes(path.read_bytes(), edits))
            run_case(fmt, path, data, exact=not edits, reliability=seed % 6 == 0)

    case()


def make_file(fmt: str, folder: Path, q: str, seed: int, edits: list[Any]) -> Path:
    """A written, then mutated file of ``fmt`` (the edits of that format's strategy)."""
    rng = random.Random(seed)
    path = folder / f"data.{fmt}"
    if fmt in ("csv", "tsv"):
        delimiter = "," if fmt == "csv" else "\t"
        write_text(path, answers(q, rng, text=True), rng, delimiter)
        path.write_bytes(mutate_text(path.read_bytes(), edits, delimiter))
    elif fmt == "xlsx":
        write_xlsx(path, answers(q, rng, text=True), [])
        mutate_zip(path, edits)
    else:
        change = rng.choice([None, "text", "nonfinite"])
        write_binary(path, fmt, answers(q, rng, text=False), change, rng)
        path.write_bytes(mutate_bytes(path.read_bytes(), edits))
    return path


PROCESS_EDITS = {
    # A Latin-1 byte or a ragged row among other edits: the error exits that aborted in
    # Arrow's reader threads; for the native readers, damaged bytes.
    "csv": st.tuples(st.floats(0, 1), st.sampled_from([b"caf\xe9", b"\xe9", b",x,y"]))
    .map(lambda t: ("insert", *t))
    .flatmap(lambda first: TEXT_EDITS.map(lambda more: [first, *more])),
    "xlsx": st.lists(XLSX_EDIT, min_size=1, max_size=2),
    "binary": st.lists(BYTE_EDIT, min_size=1, max_size=3),
}


@pytest.mark.parametrize("fmt", ["csv", "tsv", "xlsx", "sav", "dta", "parquet"])
@budgets(bounded=2, long=60)
def test_in_a_process(budget: Any, fmt: str) -> None:
    """What only a process shows: an abort at exit from a native reader (Arrow's CSV and
    Parquet readers, ReadStat) after an error; a documented exit otherwise."""
    need(fmt)
    key = "csv" if fmt in ("csv", "tsv") else "xlsx" if fmt == "xlsx" else "binary"

    @budget.given(q=QUESTIONNAIRES, seed=SEEDS, edits=PROCESS_EDITS[key])
    def case(q: str, seed: int, edits: list[Any]) -> None:
        with case_folder() as name:
            folder = Path(name)
            path = make_file(fmt, folder, q, seed, edits)
            args = ["batch", path.name, "-q", q, "--id", "id", "-o", "out.csv"]
            before = snapshot(folder)
            outcome = invoke_process(fmt, args, cwd=folder)
            check(outcome, args=args, folder=folder, before=before)
            assert "Warning: " not in outcome.stderr, outcome.stderr

    case()
