"""Nothing altered: formula escaping leaves numbers alone in every output (batch CSV, TSV, XLSX
and --errors; export), and one CSV writer writes a number one way everywhere (issue 10 §2)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import openpyxl  # the [test] extra: missing fails, never skips
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from alliance_cli.catalog import Catalog
from alliance_cli.clinic.history import record
from alliance_cli.clinic.store import Store
from alliance_cli.io.columns import Column
from alliance_cli.io.csvout import write_csv
from alliance_cli.io.sinks import DelimitedSink
from alliance_cli.result import score
from tests.helpers import TINY_YAML, run

runner = CliRunner()

# Written unchanged: numbers, whatever their first character.
NUMBERS = ["-1.5", "+2", "-0.25", "1e-3", "-7", "-1e-3", "+.5", "-5.", "-007", "-1E+5"]
# Neutralised with a leading ': formulas, and text that merely starts like a number.
FORMULAS = [
    '=HYPERLINK("http://x","y")',
    "@SUM(A1)",
    "-2+3",
    "+1 2",
    "\tx",
    "\rx",
    "-inf",
    "+nan",
    "-1_000",
    "-0x1F",
    "-1,5",
    "-1.5 ",
    "-1.5\n",
    "-١٢",  # Arabic-Indic digits are not ASCII digits
    "-",
    "+",
    "-.",
    "-e5",
    "-1e",
]
# Neither: left alone because they do not start like a formula at all.
PLAIN = ["1_000", "inf", "nan", " -1.5", "0x1F", "", "abc"]


def expected(cell: str) -> str:
    return "'" + cell if cell in FORMULAS else cell


def test_the_rule_a_number_is_never_escaped() -> None:
    from alliance_cli.io.csvout import formula_mask  # the rule's one home (new)

    cells = NUMBERS + FORMULAS + PLAIN
    mask = formula_mask(pa.array(cells, type=pa.string())).to_pylist()
    assert dict(zip(cells, mask, strict=True)) == {c: c in FORMULAS for c in cells}


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("ALLIANCE_DEFINITIONS", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")


def batch_input(path: Path) -> list[str]:
    """A WAI-SR file whose two kept (non-item) columns hold every test cell; row 3's first
    item holds the cell too, so that each bad one reaches the --errors file. Returns the
    cells in row order."""
    cells = NUMBERS + FORMULAS + PLAIN
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "covariate", *(f"wai{i}" for i in range(1, 13))])
        for k, cell in enumerate(cells):
            items = ["3"] * 12
            items[0] = cell if cell.strip() else "3"
            writer.writerow([f"p{k}", cell, *items])
    return cells


def read_text(path: Path, sep: str = ",") -> pd.DataFrame:
    return pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)


@pytest.mark.parametrize("fmt", ["csv", "tsv", "xlsx"])
def test_batch_carries_numbers_unchanged_and_neutralises_formulas(tmp_path: Path, fmt: str) -> None:
    cells = batch_input(tmp_path / "in.csv")
    out, errors = tmp_path / f"out.{fmt}", tmp_path / "bad.csv"
    args = ["batch", str(tmp_path / "in.csv"), "-q", "wai-sr", "-o", str(out)]
    result = run(*args, "--invalid", "missing", "--errors", str(errors))
    assert result.exit_code == 0, result.output
    if fmt == "xlsx":
        sheet = openpyxl.load_workbook(out)["scores"]
        rows = [list(r) for r in sheet.iter_rows(values_only=True)]
        frame = pd.DataFrame(rows[1:], columns=rows[0]).fillna("")
    else:
        frame = read_text(out, "\t" if fmt == "tsv" else ",")
    # XML reads a CR in text back as LF (its line-end normalisation; not an escape).
    crlf = (lambda c: c.replace("\r", "\n")) if fmt == "xlsx" else (lambda c: c)
    assert frame["covariate"].tolist() == [crlf(expected(c)) for c in cells]
    # The errors file: each bad first item's value, carried as the rule says.
    bad = read_text(errors)
    bad = bad[bad["column"] == "wai1"]
    source = pd.read_csv(tmp_path / "in.csv", dtype=str, keep_default_na=False)["wai1"]
    written = bad["value"].tolist()
    assert written == [expected(source[int(r) - 2]) for r in bad["row"]]
    assert {"-1.5", "-7", "-0.25", "'@SUM(A1)", "'-2+3"} <= set(written)
    book = json.loads(Path(f"{out}.codebook.json").read_text(encoding="utf-8"))
    assert "unless the text is a number" in book["csv"]["formula_escape"]


def test_batch_without_escaping_writes_every_cell_as_read(tmp_path: Path) -> None:
    cells = batch_input(tmp_path / "in.csv")
    out = tmp_path / "out.csv"
    args = ["batch", str(tmp_path / "in.csv"), "-q", "wai-sr", "-o", str(out)]
    assert run(*args, "--invalid", "missing", "--no-escape-formulas").exit_code == 0
    assert read_text(out)["covariate"].tolist() == cells


def test_export_carries_numbers_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLIANCE_DB", str(tmp_path / "db" / "history.sqlite3"))
    defs = tmp_path / "defs"
    defs.mkdir()
    (defs / "tiny.yaml").write_text(TINY_YAML, encoding="utf-8")
    tiny = Catalog(user_dirs=[defs]).get("tiny")
    notes = ["-1.5", "+2", "-2+3", "@SUM(A1)"]
    clinicians = ["-7", "+44", "=1+2", "-0.25"]
    with Store(tmp_path / "db" / "history.sqlite3") as store:
        store.new_client("-12")
        for k, (note, who) in enumerate(zip(notes, clinicians, strict=True)):
            when = f"2026-05-0{k + 1}"
            record(store, tiny, score(tiny, "5,1,4,4"), client="-12", when=when, note=note,
                   clinician=who)  # fmt: skip
    out = tmp_path / "out.csv"
    assert run("export", "--all", "--shape", "wide", "-o", str(out), "-d", str(defs)).exit_code == 0
    frame = read_text(out)
    assert frame["client"].tolist() == ["-12"] * 4
    assert frame["note"].tolist() == [expected_export(n) for n in notes]
    assert frame["clinician"].tolist() == [expected_export(c) for c in clinicians]


def expected_export(cell: str) -> str:
    return cell if cell.lstrip("+-").replace(".", "", 1).isdigit() else "'" + cell


@pytest.mark.slow
@settings(max_examples=80, deadline=None)
@given(
    st.one_of(
        st.lists(st.one_of(st.none(), st.floats(allow_infinity=False)), min_size=1, max_size=8),
        st.lists(st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)), min_size=1, max_size=8),
    )
)
def test_export_and_batch_write_a_number_alike(
    values: list[float | None] | list[int | None],
) -> None:
    """The export's writer (Python rows) and batch's sink (a pandas column) give the same
    bytes for the same numbers (today 1e-07 against 1e-7)."""
    exported = io.StringIO(newline="")
    write_csv(exported, ["x"], [[v] for v in values])
    streamed = io.BytesIO()
    sink = DelimitedSink(streamed, [Column("x", "number", "a number")])
    floats = any(isinstance(v, float) for v in values)
    sink.write(pd.DataFrame({"x": pd.Series(values, dtype="float64" if floats else "Int64")}))
    sink.commit()
    assert streamed.getvalue().decode("utf-8") == exported.getvalue()


def test_the_python_row_writer_takes_mixed_and_huge_cells() -> None:
    out = io.StringIO(newline="")
    rows = [[2**70, True, "x", -1.5], [1, 1, None, float("nan")], [None, "=1", 3.5, "-1.5"]]
    write_csv(out, ["a", "b", "c", "=d"], rows)
    assert out.getvalue() == (
        "a,b,c,'=d\r\n1180591620717411303424,true,x,-1.5\r\n1,1,,\r\n,'=1,3.5,-1.5\r\n"
    )
