"""`alliance batch --source`: Qualtrics (three or two header rows, -99, Finished) and REDCap
(record/event/repeat ids, *_complete) exports, recognised or forced."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from alliance_cli.cli import app
from alliance_cli.io.readers import read_table
from alliance_cli.io.surveys import detect, prepare

runner = CliRunner()
ITEMS = [f"wai_sr_{i:02d}" for i in range(1, 13)]


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("ALLIANCE_DEFINITIONS", raising=False)


def run(*args: str) -> Any:
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def write(path: Path, lines: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\r\n").writerows(lines)
    return path


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def answers(n: int, seed: int = 0) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    return [[str(v) for v in rng.integers(1, 6, 12)] for _ in range(n)]


def scores(row: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in row.items() if k.startswith("wai-sr.")}


# Qualtrics: export tags, question text (with item-like words that must not be used), ImportIds.
Q_META = ["StartDate", "EndDate", "Status", "Progress", "Finished", "ResponseId"]
Q_TEXT = ["Start Date", "End Date", "Response Type", "Progress", "Finished", "Response ID"]
Q_IMPORT = [
    '{"ImportId":"startDate","timeZone":"America/Denver"}',
    '{"ImportId":"endDate","timeZone":"America/Denver"}',
    '{"ImportId":"status"}',
    '{"ImportId":"progress"}',
    '{"ImportId":"finished"}',
    '{"ImportId":"_recordId"}',
]


def qualtrics(
    path: Path, data: list[list[str]], finished: list[str], *, import_row: bool = True
) -> Path:
    tags = [*Q_META, *ITEMS, "Q99"]
    text = [*Q_TEXT, *(f"wai_sr_{(i % 12) + 1:02d} - My therapist and I agree" for i in range(12))]
    text.append("wai_sr_01 again: how sure are you? (wai_sr_05)")
    imports = [
        *Q_IMPORT,
        *(f'{{"ImportId":"QID5_{i}"}}' for i in range(1, 13)),
        '{"ImportId":"QID9"}',
    ]
    lines = [tags, text] + ([imports] if import_row else [])
    for r, (items, done) in enumerate(zip(data, finished, strict=True)):
        meta = ["2024-03-01 10:00:00", "2024-03-01 10:09:00", "IP Address", "100", done]
        lines.append([*meta, f"R_{r:015d}", *items, "sure"])
    return write(path, lines)


def plain(path: Path, data: list[list[str]]) -> Path:
    return write(path, [["ResponseId", *ITEMS], *([f"R_{r:015d}", *d] for r, d in enumerate(data))])


@pytest.mark.parametrize("import_row", [True, False])
def test_qualtrics_scores_equal_plain_scores_and_minus_99_is_missing(
    tmp_path: Path, import_row: bool
) -> None:
    data = answers(4)
    data[1][3] = "-99"
    data[2][0] = "-99"
    src = qualtrics(tmp_path / "q.csv", data, ["1", "True", "0", "1"], import_row=import_row)
    expected = [[("" if v == "-99" else v) for v in d] for d in data]
    ref = plain(tmp_path / "plain.csv", expected)
    table = read_table(src)
    assert detect(table) == "qualtrics"
    got = run("batch", str(src), "-q", "wai-sr")
    want = run("batch", str(ref), "-q", "wai-sr")
    assert got.exit_code == 0, got.output
    out, ref_rows = rows_of(got.stdout), rows_of(want.stdout)
    assert [r["ResponseId"] for r in out] == [f"R_{r:015d}" for r in range(4)]
    assert [scores(r) for r in out] == [scores(r) for r in ref_rows]
    assert out[1]["wai-sr.total.answered"] == "11"
    assert "Q99" in out[0] and out[0]["Q99"] == "sure"  # kept as an id column, never an item


@pytest.mark.parametrize(("import_row", "first"), [(True, 4), (False, 3)])
def test_qualtrics_bad_cells_keep_file_row_numbers(
    tmp_path: Path, import_row: bool, first: int
) -> None:
    data = answers(3)
    data[2][4] = "7"
    src = qualtrics(tmp_path / "q.csv", data, ["1", "1", "1"], import_row=import_row)
    errors = tmp_path / "bad.csv"
    result = run("batch", str(src), "-q", "wai-sr", "--errors", str(errors))
    assert result.exit_code == 65
    bad = rows_of(errors.read_text(encoding="utf-8"))
    assert [(b["row"], b["column"], b["value"], b["code"]) for b in bad] == [
        (str(first + 2), "wai_sr_05", "7", "out-of-range")
    ]
    assert prepare(read_table(src)).header_rows == (3 if import_row else 2)


def test_qualtrics_multiline_question_text_counts_as_one_row(tmp_path: Path) -> None:
    data = answers(2)
    data[0][0] = "9"
    src = qualtrics(tmp_path / "q.csv", data, ["1", "1"])
    lines = list(csv.reader(io.StringIO(src.read_text(encoding="utf-8"))))
    lines[1][6] = "Line one\nwai_sr_02 line two"
    write(src, lines)
    errors = tmp_path / "bad.csv"
    assert run("batch", str(src), "-q", "wai-sr", "--errors", str(errors)).exit_code == 65
    assert rows_of(errors.read_text(encoding="utf-8"))[0]["row"] == "4"


def test_finished_only_keeps_finished_rows(tmp_path: Path) -> None:
    src = qualtrics(tmp_path / "q.csv", answers(5), ["1", "0", "True", "false", ""])
    result = run("batch", str(src), "-q", "wai-sr", "--finished-only")
    assert result.exit_code == 0, result.output
    assert [r["ResponseId"] for r in rows_of(result.stdout)] == [
        f"R_{0:015d}",
        f"R_{2:015d}",
    ]
    assert "read 2 rows" in result.stderr
    rel = run("reliability", str(src), "-q", "wai-sr", "--finished-only", "--json")
    assert rel.exit_code == 0, rel.output
    assert json.loads(rel.stdout)["rows"] == 2


def test_finished_only_needs_qualtrics(tmp_path: Path) -> None:
    ref = plain(tmp_path / "plain.csv", answers(2))
    result = run("batch", str(ref), "-q", "wai-sr", "--finished-only")
    assert result.exit_code != 0 and "Qualtrics" in result.output


def test_question_text_is_never_used_for_mapping(tmp_path: Path) -> None:
    tags = ["ResponseId", *(f"Q5_{i}" for i in range(1, 13))]
    text = ["Response ID", *ITEMS]  # the question text names the items exactly
    imports = ['{"ImportId":"_recordId"}', *(f'{{"ImportId":"QID5_{i}"}}' for i in range(1, 13))]
    src = write(tmp_path / "q.csv", [tags, text, imports, ["R_1", *answers(1)[0]]])
    result = run("batch", str(src), "-q", "wai-sr")
    assert result.exit_code == 2, result.output  # unmappable: the tags are Q5_1 …
    assert "wai_sr" not in result.stdout


def test_source_forces_and_disables_recognition(tmp_path: Path) -> None:
    # Tags and question text only, no Qualtrics metadata: not recognised on its own.
    data = answers(2)
    src = write(
        tmp_path / "q.csv",
        [["id", *ITEMS], ["Participant", *(f"Item {i}" for i in range(1, 13))]]
        + [[f"P{r}", *d] for r, d in enumerate(data)],
    )
    assert detect(read_table(src)) == "plain"
    assert run("batch", str(src), "-q", "wai-sr").exit_code == 65  # "Item 1" is a bad cell
    forced = run("batch", str(src), "-q", "wai-sr", "--source", "qualtrics")
    assert forced.exit_code == 0, forced.output
    assert [r["id"] for r in rows_of(forced.stdout)] == ["P0", "P1"]
    # A recognised export read as plain: the header rows are bad cells at rows 2 and 3.
    q = qualtrics(tmp_path / "q3.csv", answers(1), ["1"])
    errors = tmp_path / "bad.csv"
    result = run("batch", str(q), "-q", "wai-sr", "--source", "plain", "--errors", str(errors))
    assert result.exit_code == 65
    assert {b["row"] for b in rows_of(errors.read_text(encoding="utf-8"))} == {"2", "3"}


# REDCap raw exports: events, a repeating instrument, *_complete per form.
R_HEADER = [
    "record_id",
    "redcap_event_name",
    "redcap_repeat_instrument",
    "redcap_repeat_instance",
    "age",
    "demographics_complete",
    *ITEMS,
    "wai_complete",
]


def redcap(path: Path, data: list[list[str]], keys: list[tuple[str, str, str, str, str]]) -> Path:
    lines = [R_HEADER]
    for (record, event, instrument, instance, complete), items in zip(keys, data, strict=True):
        demo = ["34", "2"] if not instrument else ["", ""]
        lines.append([record, event, instrument, instance, *demo, *items, complete])
    return write(path, lines)


KEYS = [
    ("1", "baseline_arm_1", "", "", "2"),
    ("1", "week_1_arm_1", "wai", "1", "2"),
    ("1", "week_1_arm_1", "wai", "2", "1"),
    ("2", "baseline_arm_1", "", "", "0"),
]


def test_redcap_ids_and_scores(tmp_path: Path) -> None:
    data = answers(4, seed=3)
    src = redcap(tmp_path / "r.csv", data, KEYS)
    assert detect(read_table(src)) == "redcap"
    result = run("batch", str(src), "-q", "wai-sr")
    assert result.exit_code == 0, result.output
    out = rows_of(result.stdout)
    names = ("record_id", "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance")
    ids = [tuple(r[n] for n in names) for r in out]
    assert ids == [k[:4] for k in KEYS]
    assert "age" not in out[0] and "wai_complete" not in out[0]  # ids declared: only they stay
    ref = run("batch", str(plain(tmp_path / "plain.csv", data)), "-q", "wai-sr")
    assert [scores(r) for r in out] == [scores(r) for r in rows_of(ref.stdout)]


def test_redcap_repeated_response_is_a_duplicate_id(tmp_path: Path) -> None:
    keys = [*KEYS, ("1", "week_1_arm_1", "wai", "2", "2")]
    src = redcap(tmp_path / "r.csv", answers(5), keys)
    errors = tmp_path / "bad.csv"
    result = run("batch", str(src), "-q", "wai-sr", "--errors", str(errors))
    assert result.exit_code == 65
    bad = rows_of(errors.read_text(encoding="utf-8"))
    assert [(b["row"], b["code"]) for b in bad] == [("6", "duplicate-id")]
    assert "first at row 4" in bad[0]["problem"]


def test_complete_only(tmp_path: Path) -> None:
    data = answers(4)
    data[3][0] = "9"  # bad, but in an incomplete form: dropped before checking
    src = redcap(tmp_path / "r.csv", data, KEYS)
    result = run("batch", str(src), "-q", "wai-sr", "--complete-only")
    assert result.exit_code == 0, result.output
    out = rows_of(result.stdout)
    assert [(r["record_id"], r["redcap_repeat_instance"]) for r in out] == [("1", ""), ("1", "1")]
    errors = tmp_path / "bad.csv"
    assert run("batch", str(src), "-q", "wai-sr", "--errors", str(errors)).exit_code == 65
    assert rows_of(errors.read_text(encoding="utf-8"))[0]["row"] == "5"
    rel = run("reliability", str(src), "-q", "wai-sr", "--complete-only", "--json")
    assert rel.exit_code == 0, rel.output
    assert json.loads(rel.stdout)["rows"] == 2


def test_complete_only_needs_redcap(tmp_path: Path) -> None:
    src = qualtrics(tmp_path / "q.csv", answers(1), ["1"])
    result = run("batch", str(src), "-q", "wai-sr", "--complete-only")
    assert result.exit_code != 0 and "REDCap" in result.output


def test_redcap_forced_and_id_option_wins(tmp_path: Path) -> None:
    header = ["participant", "visit", *ITEMS, "wai_complete"]
    data = answers(2)
    src = write(tmp_path / "r.csv", [header, ["A", "1", *data[0], "2"], ["A", "2", *data[1], "2"]])
    assert detect(read_table(src)) == "plain"
    assert run("batch", str(src), "-q", "wai-sr").exit_code == 0
    forced = run("batch", str(src), "-q", "wai-sr", "--source", "redcap")
    assert forced.exit_code == 65  # the first column is the record id: A twice
    assert "duplicate" in forced.output
    both = run("batch", str(src), "-q", "wai-sr", "--source", "redcap", "--id", "participant")
    assert both.exit_code == 65
    ok = run(
        "batch",
        str(src),
        "-q",
        "wai-sr",
        "--source",
        "redcap",
        "--id",
        "participant",
        "--id",
        "visit",
    )
    assert ok.exit_code == 0, ok.output
    assert [r["visit"] for r in rows_of(ok.stdout)] == ["1", "2"]
