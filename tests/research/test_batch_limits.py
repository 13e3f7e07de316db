"""Output limits are checked before the work (issue 10 §4): more rows than an Excel sheet
holds are refused at the first chunk that crosses the limit, before that chunk is scored, or
before any row is scored when the input's row count is known; nothing is written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl  # the [test] extra: missing fails, never skips
import pytest
from typer.testing import CliRunner

from alliance_cli.io import excelsink
from alliance_cli.research import engines
from tests.helpers import batch as run

runner = CliRunner()
WAI = ",".join(f"wai{i}" for i in range(1, 13))


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("ALLIANCE_DEFINITIONS", raising=False)


@pytest.fixture
def scored(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The last input row of every chunk scored."""
    seen: list[int] = []
    real = engines.score_part

    def counting(job: Any) -> Any:
        if len(job.table):
            seen.append(int(job.table.rows[-1]))
        return real(job)

    monkeypatch.setattr(engines, "score_part", counting)
    return seen


@pytest.mark.slow
@pytest.mark.parametrize("extra", [[], ["--center", "id"]], ids=["plain", "center"])
def test_a_million_rows_to_excel_are_refused_at_the_crossing_chunk(
    tmp_path: Path, scored: list[int], extra: list[str]
) -> None:
    """--center reads twice: its first pass (which builds no output) checks the limit too."""
    data = tmp_path / "big.csv"
    line = ",".join(["3"] * 12) + "\n"
    with data.open("w", encoding="utf-8") as f:
        f.write(f"id,{WAI}\n")
        for start in range(0, 1_048_576, 65_536):
            f.write("".join(f"p{k},{line}" for k in range(start, start + 65_536)))
    out = tmp_path / "out" / "scores.xlsx"
    out.parent.mkdir()
    args = [str(data), "-q", "wai-sr", "-o", str(out), "--errors", str(out.parent / "bad.csv")]
    result = run(*args, "--chunk-size", "100000", *extra)
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {out}: too many rows for an Excel file: the output reaches 1,048,576 rows at "
        "row 1,048,577 of " + str(data) + "; an Excel sheet holds at most 1,048,575 data rows; "
        "write .csv or .parquet\nnothing was written\n"
    )
    assert list(out.parent.iterdir()) == []  # no scores, codebook, bad cells or temp file
    # Ten chunks of 100,000 rows were scored; the eleventh, which crosses, never was.
    assert scored and max(scored) == 1_000_001 and len(scored) == 10


def write_xlsx(path: Path, rows: int) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["id", *WAI.split(",")])
    for k in range(rows):
        sheet.append([f"p{k}", *[3] * 12])
    book.save(path)
    return path


def test_a_known_row_count_is_refused_before_any_row_is_scored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scored: list[int]
) -> None:
    monkeypatch.setattr(excelsink, "EXCEL_ROWS", 11)  # header + 10 data rows
    data = write_xlsx(tmp_path / "in.xlsx", 12)
    out = tmp_path / "out.xlsx"
    result = run(str(data), "-q", "wai-sr", "-o", str(out), "--chunk-size", "10")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        f"error: {out}: too many rows for an Excel file: the output reaches 12 rows; an Excel "
        "sheet holds at most 10 data rows"
    )
    assert scored == [] and not out.exists()
    # The long shape counts a row per response × scale (WAI-SR: 5 scales).
    two, three = write_xlsx(tmp_path / "two.xlsx", 2), write_xlsx(tmp_path / "three.xlsx", 3)
    long = ("-q", "wai-sr", "--shape", "long", "-o")
    assert run(str(two), *long, str(tmp_path / "two-out.xlsx")).exit_code == 0
    result = run(str(three), *long, str(out))
    assert result.exit_code == 2 and "the output reaches 15 rows;" in result.stderr
    assert not out.exists()


def test_exactly_the_limit_is_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(excelsink, "EXCEL_ROWS", 11)
    data = tmp_path / "in.csv"
    data.write_text(
        f"id,{WAI}\n" + "".join(f"p{k}," + ",".join(["4"] * 12) + "\n" for k in range(10))
    )
    out = tmp_path / "out.xlsx"
    assert run(str(data), "-q", "wai-sr", "-o", str(out), "--chunk-size", "10").exit_code == 0
    rows = list(openpyxl.load_workbook(out)["scores"].iter_rows(values_only=True))
    assert len(rows) == 11 and rows[-1][:3] == (11, "p9", 4)
    data.write_text(data.read_text() + "p10," + ",".join(["4"] * 12) + "\n")
    result = run(str(data), "-q", "wai-sr", "-o", str(out), "--chunk-size", "10")
    assert result.exit_code == 2 and "at row 12 of" in result.stderr


def test_redcap_rows_dropped_while_scored_are_not_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--complete-only keeps 2 of 4 rows: they fit a sheet of 2 data rows, not one of 1."""
    header = "record_id,redcap_event_name,redcap_repeat_instrument,redcap_repeat_instance,"
    lines = [header + WAI + ",wai_complete\n"]
    for record, complete in (("1", "2"), ("2", "0"), ("3", "2"), ("4", "1")):
        lines.append(f"{record},baseline_arm_1,,," + ",".join(["3"] * 12) + f",{complete}\n")
    data = tmp_path / "r.csv"
    data.write_text("".join(lines), encoding="utf-8")
    out = tmp_path / "out.xlsx"
    monkeypatch.setattr(excelsink, "EXCEL_ROWS", 3)
    args = [str(data), "-q", "wai-sr", "--complete-only", "-o", str(out)]
    assert run(*args).exit_code == 0
    rows = list(openpyxl.load_workbook(out)["scores"].iter_rows(values_only=True))
    assert [r[1] for r in rows[1:]] == ["1", "3"]
    out.unlink()
    monkeypatch.setattr(excelsink, "EXCEL_ROWS", 2)
    result = run(*args)
    assert result.exit_code == 2 and "the output reaches 2 rows;" in result.stderr
    assert not out.exists()
