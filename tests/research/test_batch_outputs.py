"""Excel, Parquet and SPSS outputs of ``alliance batch`` (io/binsinks.py, excelsink.py,
savsink.py), read back with the real reader libraries."""

from __future__ import annotations

import io
import math
import os
import sys
from pathlib import Path

import numpy as np
import openpyxl  # the [test] extra: missing fails, never skips
import pandas as pd
import pyarrow.parquet as pq  # the [test] extra
import pyreadstat  # the [test] extra: missing fails, never skips
import pytest

from alliance_cli.errors import InputFileError, UsageError
from alliance_cli.io import excelsink, savsink
from alliance_cli.io.columns import Column
from alliance_cli.io.sinks import open_sink

BANDS = ["low", "high"]
COLUMNS = [
    Column("row", "integer", "row of the input file", "2 or more"),
    Column("id", "text", "response id"),
    Column("wai-sr.goal", "number", "WAI-SR Goal: mean of the keyed items"),
    Column("wai-sr.goal.withheld", "boolean", "true when withheld", ["true", "false"]),
    Column("wai-sr.goal.band", "text", "band label", BANDS),
    Column("note", "text", "free text"),
]
NAMES = [c.name for c in COLUMNS]


def chunks() -> list[pd.DataFrame]:
    """3 rows with object text columns, then 2 rows with str and Categorical ones."""
    first = pd.DataFrame(
        {
            "row": np.array([2, 3, 4], dtype=np.int64),
            "id": pd.Series(["a1", "a2", None], dtype=object),
            "wai-sr.goal": np.array([3.25, np.nan, 5.0]),
            "wai-sr.goal.withheld": np.array([False, True, False]),
            "wai-sr.goal.band": pd.Series(["low", None, "high"], dtype=object),
            "note": pd.Series(["=1+2", None, "plain"], dtype=object),
        }
    )
    second = pd.DataFrame(
        {
            "row": np.array([5, 6], dtype=np.int64),
            "id": pd.Series(["b1", "b2"], dtype="str"),
            "wai-sr.goal": np.array([np.nan, 1.5]),
            "wai-sr.goal.withheld": np.array([True, False]),
            "wai-sr.goal.band": pd.Categorical([None, "low"], categories=BANDS),
            "note": pd.Series(["-x", None], dtype="str"),
        }
    )
    return [first, second]


def write(fmt: str, path: Path, *, escape: bool = True, frames: list | None = None) -> Path:
    sink = open_sink(fmt, path, COLUMNS, escape_formulas=escape)
    for frame in chunks() if frames is None else frames:
        sink.write(frame)
    assert sink.rows == (5 if frames is None else sum(len(f) for f in frames))
    sink.commit()
    return path


def assert_only(folder: Path, *names: str) -> None:
    """Nothing else in the folder: no pending temp file left behind."""
    assert sorted(p.name for p in folder.iterdir()) == sorted(names)


def mode(path: Path) -> int:
    return os.stat(path).st_mode & 0o777


# -- Parquet --------------------------------------------------------------------------------------


def test_parquet_round_trip(tmp_path: Path) -> None:
    path = write("parquet", tmp_path / "scores.parquet")
    table = pq.read_table(path)
    assert table.column_names == NAMES
    assert [str(f.type) for f in table.schema] == [
        "int64",
        "string",
        "double",
        "bool",
        "string",
        "string",
    ]
    assert table.to_pydict() == {
        "row": [2, 3, 4, 5, 6],
        "id": ["a1", "a2", None, "b1", "b2"],
        "wai-sr.goal": [3.25, None, 5.0, None, 1.5],
        "wai-sr.goal.withheld": [False, True, False, True, False],
        "wai-sr.goal.band": ["low", None, "high", None, "low"],
        # no formula escaping in Parquet: the text is stored exactly
        "note": ["=1+2", None, "plain", "-x", None],
    }
    assert table.column("wai-sr.goal").null_count == 2
    assert table.schema.field("wai-sr.goal").metadata == {
        b"description": b"WAI-SR Goal: mean of the keyed items"
    }
    assert table.schema.metadata[b"generator"] == b"alliance"
    assert pq.ParquetFile(path).metadata.num_row_groups == 2
    assert mode(path) == 0o600
    assert_only(tmp_path, "scores.parquet")


def test_parquet_to_a_stream() -> None:
    out = io.BytesIO()
    sink = open_sink("parquet", out, COLUMNS)
    sink.write(chunks()[0])
    sink.commit()
    table = pq.read_table(io.BytesIO(out.getvalue()))
    assert table.column("row").to_pylist() == [2, 3, 4]


# -- Excel ----------------------------------------------------------------------------------------


def cells(path: Path, sheet: str = "scores") -> list[list[tuple[object, str]]]:
    book = openpyxl.load_workbook(path)
    return [[(c.value, c.data_type) for c in row] for row in book[sheet].iter_rows()]


def test_excel_round_trip(tmp_path: Path) -> None:
    path = write("xlsx", tmp_path / "scores.xlsx")
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["scores", "columns"]
    sheet = book["scores"]
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values == [
        NAMES,
        [2, "a1", 3.25, False, "low", "'=1+2"],
        [3, "a2", None, True, None, None],
        [4, None, 5, False, "high", "plain"],
        [5, "b1", None, True, None, "'-x"],
        [6, "b2", 1.5, False, "low", None],
    ]
    assert all(c.font.bold for c in sheet[1])
    assert not sheet["A2"].font.bold
    assert sheet.freeze_panes == "A2"
    assert sheet["D2"].data_type == "b" and sheet["D2"].value is False
    assert sheet["A2"].data_type == "n" and sheet["C2"].data_type == "n"
    assert sheet["F2"].data_type == "s"
    assert mode(path) == 0o600
    assert_only(tmp_path, "scores.xlsx")


def test_excel_codebook_sheet(tmp_path: Path) -> None:
    path = write("xlsx", tmp_path / "scores.xlsx")
    rows = [[v for v, _ in row] for row in cells(path, "columns")]
    assert rows[0] == ["name", "type", "meaning", "allowed"]
    assert rows[1] == ["row", "integer", "row of the input file", "2 or more"]
    assert rows[2] == ["id", "text", "response id", None]
    assert rows[5] == ["wai-sr.goal.band", "text", "band label", "low; high"]
    assert len(rows) == 1 + len(COLUMNS)


def test_excel_never_stores_a_formula_even_unescaped(tmp_path: Path) -> None:
    frame = chunks()[0].iloc[:1].copy()
    frame["note"] = pd.Series(["=1+2"], dtype=object)
    frame["id"] = pd.Series(["#N/A"], dtype=object)
    path = write("xlsx", tmp_path / "scores.xlsx", escape=False, frames=[frame])
    row = cells(path)[1]
    assert row[5] == ("=1+2", "s")
    assert row[1] == ("#N/A", "s")
    assert all(kind != "f" for _, kind in row)


def test_excel_replaces_characters_xml_cannot_hold(tmp_path: Path) -> None:
    frame = chunks()[0].iloc[:1].copy()
    frame["note"] = pd.Series(["a\x01b\tc"], dtype=object)
    path = write("xlsx", tmp_path / "scores.xlsx", frames=[frame])
    assert cells(path)[1][5] == ("a\ufffdb\tc", "s")


def test_excel_row_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(excelsink, "EXCEL_ROWS", 4)  # header + 3 data rows
    exact = write("xlsx", tmp_path / "exact.xlsx", frames=[chunks()[0]])
    assert len(cells(exact)) == 4

    target = tmp_path / "scores.xlsx"
    sink = open_sink("xlsx", target, COLUMNS)
    sink.write(chunks()[0])
    with pytest.raises(UsageError) as caught:
        sink.write(chunks()[1])
    problem = caught.value.problems[0]
    assert problem.code == "too-many-rows"
    assert "an Excel sheet holds at most 3 data rows; write .csv or .parquet" in problem.message
    assert problem.location == str(target)
    assert sink.rows == 3
    sink.discard()
    assert_only(tmp_path, "exact.xlsx")


def test_excel_cell_too_long(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sink = open_sink("xlsx", tmp_path / "scores.xlsx", COLUMNS)
    monkeypatch.setattr(excelsink, "EXCEL_CELL_CHARS", 4)
    with pytest.raises(UsageError) as caught:
        sink.write(chunks()[0])  # "plain" has 5 characters
    assert caught.value.problems[0].code == "cell-too-long"
    assert "a text of 5 characters does not fit an Excel cell (at most 4)" in str(caught.value)
    sink.discard()
    assert_only(tmp_path)
    # a header too long for a cell is refused when the sink opens, leaving nothing behind
    with pytest.raises(UsageError):
        open_sink("xlsx", tmp_path / "scores.xlsx", COLUMNS)
    assert_only(tmp_path)


def test_excel_to_a_stream() -> None:
    out = io.BytesIO()
    sink = open_sink("xlsx", out, COLUMNS)
    sink.write(chunks()[1])
    sink.commit()
    book = openpyxl.load_workbook(io.BytesIO(out.getvalue()))
    assert [r[0] for r in book["scores"].iter_rows(values_only=True)] == ["row", 5, 6]


# -- SPSS -----------------------------------------------------------------------------------------


def test_sav_round_trip(tmp_path: Path) -> None:
    path = write("sav", tmp_path / "scores.sav")
    frame, meta = pyreadstat.read_sav(str(path), user_missing=True)
    names = ["row", "id", "wai_sr.goal", "wai_sr.goal.withheld", "wai_sr.goal.band", "note"]
    assert list(frame.columns) == names
    assert frame["row"].tolist() == [2.0, 3.0, 4.0, 5.0, 6.0]
    assert frame["id"].tolist() == ["a1", "a2", "", "b1", "b2"]
    goal = frame["wai_sr.goal"].tolist()
    assert goal[0] == 3.25 and goal[2] == 5.0 and goal[4] == 1.5
    assert math.isnan(goal[1]) and math.isnan(goal[3])
    assert frame["wai_sr.goal.withheld"].tolist() == [0.0, 1.0, 0.0, 1.0, 0.0]
    assert frame["wai_sr.goal.band"].tolist() == ["low", "", "high", "", "low"]
    assert frame["note"].tolist() == ["=1+2", "", "plain", "-x", ""]  # no escaping in SPSS
    assert meta.column_labels == [
        "row: row of the input file",
        "id: response id",
        "wai-sr.goal: WAI-SR Goal: mean of the keyed items",
        "wai-sr.goal.withheld: true when withheld",
        "wai-sr.goal.band: band label",
        "note: free text",
    ]
    assert meta.variable_value_labels == {"wai_sr.goal.withheld": {0: "false", 1: "true"}}
    types = meta.original_variable_types
    assert types["row"] == "F10.0"
    assert types["wai_sr.goal"] == "F8.2"
    assert types["wai_sr.goal.withheld"] == "F1.0"
    assert types["id"].startswith("A") and types["note"].startswith("A")
    assert meta.variable_measure["wai_sr.goal"] == "scale"
    assert meta.variable_measure["wai_sr.goal.withheld"] == "nominal"
    assert meta.variable_measure["note"] == "nominal"
    assert mode(path) == 0o600
    assert_only(tmp_path, "scores.sav")


def test_spss_names() -> None:
    names = savsink.spss_names(
        ["wai-sr.goal.withheld_reason", "row", "ROW", "to", "1x", "x" * 70, "x" * 70, "a.", "é"]
    )
    assert names == [
        "wai_sr.goal.withheld_reason",
        "row",
        "ROW_2",
        "v_to",
        "v_1x",
        "x" * 64,
        "x" * 62 + "_2",
        "a",
        "v__",
    ]


def test_spss_label_is_cut_to_256_bytes() -> None:
    label = savsink.spss_label(Column("q", "number", "ä" * 300))
    assert len(label.encode("utf-8")) <= 256
    assert label.startswith("q: ää") and label.endswith("…")


# -- all formats ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["parquet", "xlsx", "sav"])
def test_discard_leaves_nothing(tmp_path: Path, fmt: str) -> None:
    target = tmp_path / f"scores.{fmt}"
    target.write_bytes(b"old")
    sink = open_sink(fmt, target, COLUMNS)
    sink.write(chunks()[0])
    sink.discard()
    assert target.read_bytes() == b"old"
    assert_only(tmp_path, target.name)


@pytest.mark.parametrize("frames", [[], "empty chunk"])
@pytest.mark.parametrize("fmt", ["parquet", "xlsx", "sav"])
def test_zero_rows(tmp_path: Path, fmt: str, frames: object) -> None:
    written = [chunks()[0].iloc[:0]] if frames == "empty chunk" else []
    path = write(fmt, tmp_path / f"scores.{fmt}", frames=written)
    if fmt == "parquet":
        table = pq.read_table(path)
        assert table.num_rows == 0 and table.column_names == NAMES
        assert str(table.schema.field("note").type) == "string"
    elif fmt == "xlsx":
        assert [[v for v, _ in row] for row in cells(path)] == [NAMES]
    else:
        frame, meta = pyreadstat.read_sav(str(path))
        assert len(frame) == 0
        assert meta.column_labels[0] == "row: row of the input file"
        assert meta.original_variable_types["note"].startswith("A")  # still a string
        assert meta.original_variable_types["row"] == "F10.0"
    assert mode(path) == 0o600
    assert_only(tmp_path, path.name)


@pytest.mark.parametrize(("fmt", "library"), [("xlsx", "openpyxl"), ("sav", "pyreadstat")])
def test_missing_library(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str, library: str
) -> None:
    monkeypatch.setitem(sys.modules, library, None)  # import now raises ImportError
    with pytest.raises(InputFileError) as caught:
        open_sink(fmt, tmp_path / f"scores.{fmt}", COLUMNS)
    problem = caught.value.problems[0]
    assert problem.code == "format-unavailable"
    assert problem.message == (
        f"writing .{fmt} files needs {library}, which is not installed: "
        "pip install 'alliance-cli[formats]'"
    )
    assert_only(tmp_path)
