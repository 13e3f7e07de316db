"""What a data-file fuzz case writes: random answers to a bundled questionnaire (missing,
"does not apply" and bad cells among them), a valid file of each format made by the format's
own writer (the csv module, openpyxl, pyreadstat, pyarrow), and the mutations applied to it
(bytes for text, zip members and cells for Excel, bytes and column types for the binary
formats). The hypothesis strategies of the mutations live beside the functions that apply
them."""

from __future__ import annotations

import csv
import importlib
import random
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import strategies as st

from tests.fuzz import reference

REPO = Path(__file__).resolve().parents[2]
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
    """A written value as the text a reader gives (an Excel boolean as ``true``/``false``,
    a number to 15 significant digits, a whole one without ``.0``)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, float):
        return f"{value:.15g}"  # as a spreadsheet shows it: 15 significant digits
    return str(value)


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
