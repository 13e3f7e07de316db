"""`alliance batch` / `alliance reliability` on Excel, SPSS, Stata and Parquet inputs: the
same scores as the CSV path, bad cells at their file rows, text ids kept, SPSS user-missing
values as missing answers, and a clear exit 6 when the optional libraries are absent."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl  # the [test] extra: missing fails, never skips
import pandas as pd  # the [test] extra
import pyarrow as pa  # the [test] extra
import pyarrow.parquet as pq  # the [test] extra
import pyreadstat  # the [test] extra: missing fails, never skips
import pytest
from typer.testing import CliRunner

from alliance_cli.cli import app
from alliance_cli.research.readers import open_input, read_input

runner = CliRunner()
HEADER = ["id", *(f"wai_sr_{i:02d}" for i in range(1, 13))]
ITEMS = HEADER[1:]
LABELS = {1.0: "Seldom", 2.0: "Sometimes", 3.0: "Fairly often", 4.0: "Very often", 5.0: "Always"}


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("ALLIANCE_DEFINITIONS", raising=False)


def run(*args: str, command: str = "batch"):  # type: ignore[no-untyped-def]
    result = runner.invoke(app, [command, *args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def read_csv(path: Path | str) -> list[dict[str, str]]:
    text = path if isinstance(path, str) else path.read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def answers(n: int, seed: int = 0) -> list[list[int | None]]:
    """Item answers 1..5 with some missing."""
    rng = np.random.default_rng(seed)
    rows: list[list[int | None]] = []
    for _ in range(n):
        row: list[int | None] = [int(v) for v in rng.integers(1, 6, len(ITEMS))]
        if rng.random() < 0.4:
            row[int(rng.integers(0, len(ITEMS)))] = None
        rows.append(row)
    return rows


def ids(n: int) -> list[str]:
    return [f"{r:03d}" for r in range(n)]  # "000", "001", ... must stay text


def write_csv(path: Path, id_values: list[str], rows: list[list[Any]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(HEADER)
        for i, row in zip(id_values, rows, strict=True):
            writer.writerow([i, *("" if v is None else v for v in row)])
    return path


def write_xlsx(
    path: Path, id_values: list[str], rows: list[list[Any]], *, title: str = "Sheet"
) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = title
    sheet.append(HEADER)
    for i, row in zip(id_values, rows, strict=True):
        sheet.append([i, *row])
    book.save(path)
    return path


def frame(id_values: list[str], rows: list[list[Any]]) -> Any:
    data: dict[str, Any] = {"id": id_values}
    for k, name in enumerate(ITEMS):
        data[name] = [np.nan if r[k] is None else float(r[k]) for r in rows]
    return pd.DataFrame(data)


def write_sav(path: Path, id_values: list[str], rows: list[list[Any]], **kwargs: Any) -> Path:
    labels = {name: LABELS for name in ITEMS}
    pyreadstat.write_sav(frame(id_values, rows), str(path), variable_value_labels=labels, **kwargs)
    return path


def write_dta(path: Path, id_values: list[str], rows: list[list[Any]]) -> Path:
    pyreadstat.write_dta(frame(id_values, rows), str(path))
    return path


def write_parquet(path: Path, id_values: list[str], rows: list[list[Any]]) -> Path:
    columns: dict[str, Any] = {"id": pa.array(id_values, pa.string())}
    for k, name in enumerate(ITEMS):
        columns[name] = pa.array([r[k] for r in rows], pa.int64())
    pq.write_table(pa.table(columns), path)
    return path


WRITERS = {"xlsx": write_xlsx, "sav": write_sav, "dta": write_dta, "parquet": write_parquet}


@pytest.mark.parametrize("fmt", list(WRITERS))
def test_scores_equal_the_csv_paths_scores(tmp_path: Path, fmt: str) -> None:
    n = 25
    data = answers(n, seed=7)
    expected = run(str(write_csv(tmp_path / "in.csv", ids(n), data)), "-q", "wai-sr", "--id", "id")
    assert expected.exit_code == 0, expected.stderr
    path = WRITERS[fmt](tmp_path / f"in.{fmt}", ids(n), data)
    got = run(str(path), "-q", "wai-sr", "--id", "id")
    assert got.exit_code == 0, got.stderr
    assert read_csv(got.stdout) == read_csv(expected.stdout)
    assert [r["id"] for r in read_csv(got.stdout)][:3] == ["000", "001", "002"]
    assert [r["row"] for r in read_csv(got.stdout)] == [str(r) for r in range(2, n + 2)]


@pytest.mark.slow
@pytest.mark.parametrize("fmt", list(WRITERS))
def test_reliability_equals_the_csv_paths(tmp_path: Path, fmt: str) -> None:
    n = 40
    data = [[v if v is not None else 3 for v in row] for row in answers(n, seed=3)]
    csv_path = write_csv(tmp_path / "in.csv", ids(n), data)
    expected = run(str(csv_path), "-q", "wai-sr", "--json", command="reliability")
    got = run(
        str(WRITERS[fmt](tmp_path / f"in.{fmt}", ids(n), data)),
        "-q",
        "wai-sr",
        "--json",
        command="reliability",
    )
    assert expected.exit_code == got.exit_code == 0, got.stderr
    mine, theirs = json.loads(got.stdout), json.loads(expected.stdout)
    assert mine.pop("inputs") == [str(tmp_path / f"in.{fmt}")]
    assert theirs.pop("inputs") == [str(csv_path)]
    assert mine == theirs


def test_excel_bad_cells_report_the_sheet_row_and_column(tmp_path: Path) -> None:
    data = answers(4, seed=1)
    data[1][2] = 8  # data row 2: sheet row 3
    path = write_xlsx(tmp_path / "in.xlsx", ids(4), data)
    book = openpyxl.load_workbook(path)
    sheet = book.active
    sheet.insert_rows(4)  # a blank row keeps its number: data rows 3, 4 → sheet rows 5, 6
    sheet.cell(row=6, column=6, value="often-ish")  # wai_sr_05
    book.save(path)
    errors = tmp_path / "errors.csv"
    result = run(str(path), "-q", "wai-sr", "--errors", str(errors), "-o", str(tmp_path / "o.csv"))
    assert result.exit_code == 65
    assert [(r["row"], r["column"], r["value"], r["code"]) for r in read_csv(errors)] == [
        ("3", "wai_sr_03", "8", "out-of-range"),
        ("6", "wai_sr_05", "often-ish", "unknown-label"),
    ]
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize("fmt", ["sav", "dta", "parquet"])
def test_record_formats_report_record_number_plus_one(tmp_path: Path, fmt: str) -> None:
    data = answers(5, seed=2)
    data[3][0] = 7  # record 4 → row 5
    path = WRITERS[fmt](tmp_path / f"in.{fmt}", ids(5), data)
    errors = tmp_path / "errors.csv"
    result = run(str(path), "-q", "wai-sr", "--errors", str(errors))
    assert result.exit_code == 65
    assert [(r["row"], r["column"], r["value"], r["code"]) for r in read_csv(errors)] == [
        ("5", "wai_sr_01", "7", "out-of-range")
    ]


def test_text_ids_survive_in_xlsx_and_parquet(tmp_path: Path) -> None:
    id_values = ["007", "NA", "1e3", "0042"]
    data = answers(4, seed=4)
    for path in (
        write_xlsx(tmp_path / "in.xlsx", id_values, data),
        write_parquet(tmp_path / "in.parquet", id_values, data),
    ):
        result = run(str(path), "-q", "wai-sr", "--id", "id")
        assert result.exit_code == 0, result.stderr
        assert [r["id"] for r in read_csv(result.stdout)] == id_values
        assert list(read_input(path).frame[0]) == id_values


def test_spss_user_missing_values_are_missing_answers_not_errors(tmp_path: Path) -> None:
    n = 6
    data: list[list[Any]] = [list(r) for r in answers(n, seed=5)]
    data[0][0] = 99
    data[2][4] = 99
    data[3][5] = -9
    declared = write_sav(
        tmp_path / "declared.sav",
        ids(n),
        data,
        missing_ranges={
            "wai_sr_01": [99, {"lo": -9, "hi": -1}],
            "wai_sr_05": [99],
            "wai_sr_06": [{"lo": -9, "hi": -1}],
        },
    )
    blanked = [[None if v in (99, -9) else v for v in row] for row in data]
    expected = run(str(write_csv(tmp_path / "in.csv", ids(n), blanked)), "-q", "wai-sr")
    got = run(str(declared), "-q", "wai-sr")
    assert got.exit_code == 0, got.stderr
    assert read_csv(got.stdout) == read_csv(expected.stdout)
    # The same codes without a declaration are bad cells.
    undeclared = run(str(write_sav(tmp_path / "plain.sav", ids(n), data)), "-q", "wai-sr")
    assert undeclared.exit_code == 65
    assert "error: 3 bad cells in 3 rows" in undeclared.stderr


def test_spss_value_labels_keep_the_numeric_codes(tmp_path: Path) -> None:
    path = write_sav(tmp_path / "in.sav", ids(2), answers(2, seed=6))
    table = read_input(path)
    assert set(table.frame[1]) <= {"1", "2", "3", "4", "5", ""}
    assert table.format == "sav" and table.delimiter_name == "none (sav)"


@pytest.mark.slow
def test_sheet_by_name_or_position(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "in.xlsx", ids(3), answers(3, seed=8), title="Intake")
    book = openpyxl.load_workbook(path)
    other = book.create_sheet("Week 2")
    other.append(HEADER)
    other.append(["x1", *[5] * 12])
    book.save(path)
    first = run(str(path), "-q", "wai-sr")
    assert first.exit_code == 0 and len(read_csv(first.stdout)) == 3
    for choice in ("Week 2", "2"):
        got = run(str(path), "-q", "wai-sr", "--sheet", choice)
        assert got.exit_code == 0, got.stderr
        assert [r["id"] for r in read_csv(got.stdout)] == ["x1"]
    missing = run(str(path), "-q", "wai-sr", "--sheet", "Week 3")
    assert missing.exit_code == 6
    assert 'no sheet "Week 3"; the workbook has "Intake", "Week 2"' in missing.stderr
    rel = run(str(path), "-q", "wai-sr", "--sheet", "Intake", command="reliability")
    assert rel.exit_code == 0, rel.stderr


@pytest.mark.parametrize(
    ("fmt", "module"),
    [("xlsx", "openpyxl"), ("sav", "pyreadstat"), ("dta", "pyreadstat"), ("parquet", "pyarrow")],
)
def test_a_missing_library_is_exit_6_with_the_install_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str, module: str
) -> None:
    path = WRITERS[fmt](tmp_path / f"in.{fmt}", ids(2), answers(2))
    for name in list(sys.modules):
        if name == module or name.startswith(f"{module}."):
            monkeypatch.setitem(sys.modules, name, None)  # makes `import` raise ImportError
    monkeypatch.setitem(sys.modules, module, None)
    for command in ("batch", "reliability"):
        result = run(str(path), "-q", "wai-sr", command=command)
        assert result.exit_code == 6
        assert "pip install 'alliance-cli[formats]'" in result.stderr
        assert f"needs {module}" in result.stderr


@pytest.mark.slow
def test_unreadable_files_are_exit_6(tmp_path: Path) -> None:
    for fmt in WRITERS:
        broken = tmp_path / f"broken.{fmt}"
        broken.write_bytes(b"not really")
        result = run(str(broken), "-q", "wai-sr")
        assert result.exit_code == 6, (fmt, result.stderr)
        assert f"cannot read as .{fmt}" in result.stderr
    assert run(str(tmp_path / "gone.xlsx"), "-q", "wai-sr").exit_code == 6
    empty = openpyxl.Workbook()
    empty.save(tmp_path / "empty.xlsx")
    result = run(str(tmp_path / "empty.xlsx"), "-q", "wai-sr")
    assert result.exit_code == 6 and "the sheet is empty" in result.stderr


def test_spss_value_labels_that_contradict_the_scale_stop_the_run(tmp_path: Path) -> None:
    """Codes 1..5 labelled Always..Seldom (reversed): reading the codes would score every
    answer backwards without a word, so the run stops and names the column and the codes;
    a map that recodes the column is the user's decision and runs."""
    reversed_labels = {6.0 - k: text for k, text in LABELS.items()}
    data = answers(3, seed=8)
    path = tmp_path / "rev.sav"
    labels = {name: LABELS for name in ITEMS} | {"wai_sr_03": reversed_labels}
    pyreadstat.write_sav(frame(ids(3), data), str(path), variable_value_labels=labels)
    result = run(str(path), "-q", "wai-sr")
    assert result.exit_code == 2 and not result.stdout
    # Also when the file is recognised as a REDCap export (converted to SPSS).
    redcap = frame(ids(3), data)
    redcap.insert(1, "redcap_event_name", ["week_1_arm_1"] * 3)
    as_redcap = tmp_path / "redcap.sav"
    pyreadstat.write_sav(redcap, str(as_redcap), variable_value_labels=labels)
    assert run(str(as_redcap), "-q", "wai-sr").exit_code == 2
    told = " ".join(result.stderr.split())
    assert 'column "wai_sr_03" (wai-sr item 3): the file\'s value labels say 1 = "Always"' in told
    assert "wai_sr_01" not in told and "recode" in told
    spec = tmp_path / "map.yaml"
    spec.write_text(
        "questionnaires:\n  wai-sr:\n    columns:\n"
        + "".join(f"      wai_sr_{i:02d}: {i}\n" for i in range(1, 13) if i != 3)
        + "      wai_sr_03: {item: 3, recode: {1: 5, 2: 4, 4: 2, 5: 1}}\n",
        encoding="utf-8",
    )
    recoded = run(str(path), "-q", "wai-sr", "--map", str(spec))
    assert recoded.exit_code == 0, recoded.stderr
    flipped = [[6 - v if k == 2 else v for k, v in enumerate(row)] for row in data]
    expected = run(str(write_csv(tmp_path / "in.csv", ids(3), flipped)), "-q", "wai-sr")
    assert read_csv(recoded.stdout) == read_csv(expected.stdout)


def test_a_file_read_whole_reports_the_progress_of_its_chunks(tmp_path: Path) -> None:
    path = write_sav(tmp_path / "in.sav", ids(50), answers(50, seed=2))
    opened = open_input(path, chunk_rows=20)
    size = path.stat().st_size
    seen = []
    for chunk in opened.chunks:
        seen.append((len(chunk), opened.position()))
    assert seen == [(20, size * 20 // 50), (20, size * 40 // 50), (10, size)]


@pytest.mark.parametrize("fmt", ["sav", "dta"])
def test_a_repeated_variable_name_is_seen_as_in_a_csv_header(tmp_path: Path, fmt: str) -> None:
    """Found by the data-file fuzzing: a file with two variables named srs4 (a damaged name
    table) was read with the second renamed "srs4_duplicated1" by pyreadstat, a warning on
    stderr and the first scored silently. The name is given back, so the repeat is refused
    as in a CSV header (exit 2), nothing written."""
    columns = {"id": ["p1", "p2"], "srs1": [1.0, 2.0], "srs2": [3.0, 4.0], "srs3": [5.0, 6.0]}
    frame = pd.DataFrame({**columns, "srs4": [7.0, 8.0], "srsX": [9.0, 1.0]})
    src = tmp_path / f"dup.{fmt}"
    (pyreadstat.write_sav if fmt == "sav" else pyreadstat.write_dta)(frame, str(src))
    raw = src.read_bytes()
    assert raw.count(b"srsX") == 1
    src.write_bytes(raw.replace(b"srsX", b"srs4"))
    result = run(str(src), "-q", "srs", "--id", "id", "-o", str(tmp_path / "out.csv"))
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [
        f'error: srs item "4" is matched by the columns "srs4" and "srs4" in {src}',
        "name the columns in a map file (--map MAP.yaml; --help shows its format), or rename"
        " them <questionnaire>_<item> (wai_sr_1, srs_1, …)",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == [src.name]


def test_a_parquet_text_that_is_not_utf8_is_exit_6(tmp_path: Path) -> None:
    """A damaged string page (a byte that is not UTF-8 in a text column) is one clear error
    naming the file, not a UnicodeDecodeError traceback (found by the data-file fuzzing)."""
    frame = pd.DataFrame(
        {"id": ["person-a", "person-b"], **{f"wai{i}": ["3", "4"] for i in range(1, 13)}}
    )
    src = tmp_path / "in.parquet"
    frame.to_parquet(src, compression=None, index=False)
    raw = src.read_bytes()
    assert raw.count(b"person-b") >= 1
    src.write_bytes(raw.replace(b"person-b", b"person-\xb3"))
    result = runner.invoke(app, ["batch", str(src), "-q", "wai-sr", "--id", "id"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 6
    assert result.stderr.startswith(f"error: {src}: cannot read as .parquet: ")
    assert result.stdout == ""
