"""`alliance batch --source`: Qualtrics (three or two header rows, -99, Finished, map keys by
ImportId, default Q5_1 tags) and REDCap (record/event/repeat ids, *_complete; raw or label
exports) exports, recognised or forced."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from alliance_cli.research.readers import read_table
from alliance_cli.research.surveys import detect, prepare
from tests.helpers import ITEMS, answers, qualtrics, rows_of, run, write


def scores(row: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in row.items() if k.startswith("wai-sr.")}


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
    # The response id is the id; other columns (metadata, other questions) stay out unless
    # asked for, and are never items.
    assert "Q99" not in out[0] and "IPAddress" not in out[0]
    told = " ".join(got.stderr.split())
    assert "id columns: ResponseId" in told
    assert "left out of the output (6; --keep COL carries one): StartDate," in told
    coded = run("batch", str(src), "-q", "wai-sr", "-o", str(tmp_path / "o.csv"))
    book = json.loads((tmp_path / "o.csv.codebook.json").read_text(encoding="utf-8"))
    assert coded.exit_code == 0 and book["mapping"][0]["left_out"] == [
        "StartDate", "EndDate", "Status", "Progress", "Finished", "Q99"
    ]  # fmt: skip
    kept = rows_of(
        run("batch", str(src), "-q", "wai-sr", "--id", "ResponseId", "--id", "Q99").stdout
    )
    assert [r["Q99"] for r in kept] == ["sure"] * 4 and scores(kept[0]) == scores(ref_rows[0])


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
    assert f"read 5 rows from {src}: 3 not finished (--finished-only), 2 scored" in (
        result.stderr.splitlines()
    )
    streamed = run("batch", str(src), "-q", "wai-sr", "--finished-only", "--chunk-size", "10")
    assert f"read 5 rows from {src}: 3 not finished (--finished-only), 2 scored" in (
        streamed.stderr.splitlines()
    )
    rel = run("reliability", str(src), "-q", "wai-sr", "--finished-only", "--json")
    assert rel.exit_code == 0, rel.output
    assert json.loads(rel.stdout)["rows"] == 2


def test_finished_only_needs_qualtrics(tmp_path: Path) -> None:
    ref = plain(tmp_path / "plain.csv", answers(2))
    result = run("batch", str(ref), "-q", "wai-sr", "--finished-only")
    assert result.exit_code != 0 and "Qualtrics" in result.output


def test_question_text_is_never_used_for_mapping(tmp_path: Path) -> None:
    tags = ["ResponseId", *(f"Q5_{i}" for i in range(1, 13))]
    text = ["Response ID", *reversed(ITEMS)]  # the question text names the items, backwards
    imports = ['{"ImportId":"_recordId"}', *(f'{{"ImportId":"QID5_{i}"}}' for i in range(1, 13))]
    data = answers(2, seed=5)
    src = write(
        tmp_path / "q.csv", [tags, text, imports, *([f"R_{r}", *d] for r, d in enumerate(data))]
    )
    result = run("batch", str(src), "-q", "wai-sr")
    assert result.exit_code == 0, result.output  # by the tags: Q5_j is item j
    assert "wai_sr" not in result.stdout + result.stderr
    ref = run("batch", str(plain(tmp_path / "plain.csv", data)), "-q", "wai-sr")
    assert [scores(r) for r in rows_of(result.stdout)] == [scores(r) for r in rows_of(ref.stdout)]
    odd = write(tmp_path / "odd.csv", [["ResponseId", *ITEMS], text, ["R_1", *data[0]]])
    tagged = [["ResponseId", *(f"X{i}" for i in range(12))], text, imports, ["R_1", *data[0]]]
    assert run("batch", str(write(tmp_path / "x.csv", tagged)), "-q", "wai-sr").exit_code == 2
    assert run("batch", str(odd), "-q", "wai-sr", "--source", "qualtrics").exit_code == 0


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


def write_map(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_qualtrics_map_names_columns_by_import_id(tmp_path: Path) -> None:
    data = answers(3, seed=7)
    src = qualtrics(tmp_path / "q.csv", data, ["1", "1", "1"])
    # Items by ImportId (QID5_j holds item j), one by its export tag; the id by its ImportId.
    columns = ", ".join(f"QID5_{i}: {i}" for i in range(1, 12))
    text = f"questionnaires:\n  wai-sr:\n    columns: {{{columns}, wai_sr_12: 12}}\n"
    spec = write_map(tmp_path / "map.yaml", f"ids: [_recordId]\n{text}")
    result = run("batch", str(src), "-q", "wai-sr", "--map", str(spec))
    assert result.exit_code == 0, result.output
    out = rows_of(result.stdout)
    assert [r["ResponseId"] for r in out] == [f"R_{r:015d}" for r in range(3)]
    assert "Q99" not in out[0]  # ids declared by the map: only they stay
    assert "1=wai_sr_01" in result.stderr and "12=wai_sr_12" in result.stderr
    ref = run("batch", str(plain(tmp_path / "plain.csv", data)), "-q", "wai-sr")
    assert [scores(r) for r in out] == [scores(r) for r in rows_of(ref.stdout)]
    # A legacy two-row export has no ImportIds.
    legacy = qualtrics(tmp_path / "legacy.csv", data, ["1", "1", "1"], import_row=False)
    old = run("batch", str(legacy), "-q", "wai-sr", "--map", str(spec))
    assert old.exit_code == 2
    assert f'{legacy} has no column "_recordId"' in old.stderr


def test_qualtrics_map_key_naming_two_columns_is_refused(tmp_path: Path) -> None:
    src = qualtrics(tmp_path / "q.csv", answers(1), ["1"])
    lines = list(csv.reader(io.StringIO(src.read_text(encoding="utf-8"))))
    lines[0][-1] = "QID5_2"  # the export tag of the last column is another column's ImportId
    write(src, lines)
    columns = ", ".join(f"QID5_{i}: {i}" for i in range(1, 13))
    spec = write_map(
        tmp_path / "map.yaml", f"questionnaires:\n  wai-sr:\n    columns: {{{columns}}}\n"
    )
    result = run("batch", str(src), "-q", "wai-sr", "--map", str(spec))
    assert result.exit_code == 2
    assert (
        f"error: {spec}:3:26 questionnaires.wai-sr.columns.QID5_2: "
        f'"QID5_2" in {src} is both the name of column 19 and the ImportId of column 8; use '
        'the other name of the column you mean: "QID9" for column 19 or "wai_sr_02" for '
        "column 8"
    ) in " ".join(result.stderr.split())


def default_tags(path: Path, groups: dict[int, list[list[str]]], order: list[int]) -> Path:
    """A Qualtrics export with default tags Q<n>_<k>: ``groups`` n → rows of answers,
    the columns of each group written in the sub-number ``order`` given (1-based)."""
    tags, text, imports = ["ResponseId"], ["Response ID"], ['{"ImportId":"_recordId"}']
    for n, rows in groups.items():
        subs = [k for k in order if k <= len(rows[0])]
        tags += [f"Q{n}_{k}" for k in subs]
        text += [f"Question {n} statement {k}" for k in subs]
        imports += [f'{{"ImportId":"QID{n}_{k}"}}' for k in subs]
    body = []
    for r in range(len(next(iter(groups.values())))):
        cells = [f"R_{r}"]
        for rows in groups.values():
            cells += [rows[r][k - 1] for k in order if k <= len(rows[0])]
        body.append(cells)
    return write(path, [tags, text, imports, *body])


def test_qualtrics_default_tags_are_items_in_order(tmp_path: Path) -> None:
    wai = answers(3, seed=11)
    srs = [["7", "8.5", "9", "10"], ["3", "4", "5", "6"], ["10", "9", "8", "7"]]
    order = [3, 1, 2, *range(4, 13)]  # the file's column order is not the item order
    src = default_tags(tmp_path / "q.csv", {5: wai, 7: srs}, order)
    result = run("batch", str(src), "-q", "wai-sr", "-q", "srs")
    assert result.exit_code == 0, result.output
    pairs = " ".join(result.stderr.split())
    assert "wai-sr automatic 1=Q5_1 2=Q5_2 3=Q5_3 4=Q5_4" in pairs
    assert "srs automatic 1=Q7_1 2=Q7_2 3=Q7_3 4=Q7_4" in pairs
    assert "notice: srs: its items are the Qualtrics question Q7_1 … Q7_4 in order" in pairs
    assert "id columns: ResponseId" in pairs
    srs_names = [f"srs_{i}" for i in range(1, 5)]
    ref_lines = [["ResponseId", *ITEMS, *srs_names]]
    ref_lines += [[f"R_{r}", *wai[r], *srs[r]] for r in range(3)]
    ref = run("batch", str(write(tmp_path / "ref.csv", ref_lines)), "-q", "wai-sr", "-q", "srs")
    assert ref.exit_code == 0, ref.output
    out, want = rows_of(result.stdout), rows_of(ref.stdout)
    assert [r["ResponseId"] for r in out] == ["R_0", "R_1", "R_2"]
    assert [{k: v for k, v in r.items() if "." in k} for r in out] == [
        {k: v for k, v in r.items() if "." in k} for r in want
    ]
    assert out[0]["srs.total"] == "34.5"


@pytest.mark.slow
def test_qualtrics_default_tags_ambiguous_or_not_fitting(tmp_path: Path) -> None:
    data = answers(1)
    two = default_tags(tmp_path / "two.csv", {5: data, 6: data}, list(range(1, 13)))
    result = run("batch", str(two), "-q", "wai-sr")
    assert result.exit_code == 2
    lines = [" ".join(line.split()) for line in result.stderr.splitlines()]
    assert (
        f"error: wai-sr: the columns Q5_1 … Q5_12 and Q6_1 … Q6_12 in {two} could each be its "
        "12 items; say which in a map file (--map MAP.yaml)"
    ) in lines
    one = default_tags(tmp_path / "one.csv", {5: data}, list(range(1, 13)))
    both = run("batch", str(one), "-q", "wai-sr", "-q", "wai-s")
    assert both.exit_code == 2
    assert (
        f"error: wai-s: the columns Q5_1 … Q5_12 in {one} could be the items of wai-sr or "
        "wai-s; say which in a map file (--map MAP.yaml)"
    ) in [" ".join(line.split()) for line in both.stderr.splitlines()]
    # Sub-numbers 1 … 12 with a gap, or one more than the items: not a group of the items.
    gap = default_tags(tmp_path / "gap.csv", {5: [[*d, "3"] for d in data]}, [*range(1, 12), 13])
    more = default_tags(tmp_path / "more.csv", {5: [[*d, "3"] for d in data]}, list(range(1, 14)))
    for src in (gap, more):
        refused = run("batch", str(src), "-q", "wai-sr")
        assert refused.exit_code == 2 and "no item columns found" in refused.stderr


# REDCap label exports: the same columns headed by their labels, statuses as labels.
R_LABELS = [
    "Record ID",
    "Event Name",
    "Repeat Instrument",
    "Repeat Instance",
    "Age",
    "Complete?",
    *ITEMS,
    "Complete?",
]
LABEL_KEYS = [
    ("1", "Baseline (Arm 1: Arm 1)", "", "", "Complete"),
    ("1", "Week 1 (Arm 1: Arm 1)", "WAI", "1", "complete"),
    ("1", "Week 1 (Arm 1: Arm 1)", "WAI", "2", "Unverified"),
    ("2", "Baseline (Arm 1: Arm 1)", "", "", "INCOMPLETE"),
]


def redcap_labels(
    path: Path,
    data: list[list[str]],
    keys: list[tuple[str, str, str, str, str]],
    header: list[str] = R_LABELS,
) -> Path:
    lines = [header]
    for (record, event, instrument, instance, complete), items in zip(keys, data, strict=True):
        demo = ["34", "Complete"] if not instrument else ["", ""]
        lines.append([record, event, instrument, instance, *demo, *items, complete])
    return write(path, lines)


@pytest.mark.parametrize("case", [str, str.lower])
def test_redcap_label_export_is_recognised_with_its_ids(tmp_path: Path, case: Any) -> None:
    data = answers(4, seed=3)
    src = redcap_labels(tmp_path / "r.csv", data, LABEL_KEYS, [case(c) for c in R_LABELS])
    assert detect(read_table(src)) == "redcap"
    result = run("batch", str(src), "-q", "wai-sr")
    assert result.exit_code == 0, result.output  # record 1 thrice: not a repeated id
    out = rows_of(result.stdout)
    names = [case(c) for c in R_LABELS[:4]]
    assert [tuple(r[n] for n in names) for r in out] == [k[:4] for k in LABEL_KEYS]
    assert list(out[0])[1:5] == names  # the ids, and no other input column
    ref = run("batch", str(plain(tmp_path / "plain.csv", data)), "-q", "wai-sr")
    assert [scores(r) for r in out] == [scores(r) for r in rows_of(ref.stdout)]
    # A repeat of record, event, instrument and instance is still a duplicate.
    again = redcap_labels(tmp_path / "again.csv", answers(5), [*LABEL_KEYS, LABEL_KEYS[2]])
    errors = tmp_path / "bad.csv"
    assert run("batch", str(again), "-q", "wai-sr", "--errors", str(errors)).exit_code == 65
    bad = rows_of(errors.read_text(encoding="utf-8"))
    assert [(b["row"], b["code"]) for b in bad] == [("6", "duplicate-id")]


def test_redcap_label_headers_with_source_redcap(tmp_path: Path) -> None:
    # No form status columns and a custom record id label: only --source redcap says so.
    header = ["Study ID", "event name", "REPEAT INSTRUMENT", "Repeat Instance", *ITEMS]
    data = answers(3)
    keys = [("A", "Baseline", "", ""), ("A", "Week 1", "WAI", "1"), ("A", "Week 1", "WAI", "2")]
    src = write(tmp_path / "r.csv", [header, *([*k, *d] for k, d in zip(keys, data, strict=True))])
    assert detect(read_table(src)) == "plain"
    result = run("batch", str(src), "-q", "wai-sr", "--source", "redcap")
    assert result.exit_code == 0, result.output
    out = rows_of(result.stdout)
    assert [tuple(r[n] for n in header[:4]) for r in out] == keys
    assert "id columns: Study ID, event name, REPEAT INSTRUMENT, Repeat Instance" in result.stderr


@pytest.mark.parametrize("labels", [True, False])
def test_complete_only_reads_status_labels(tmp_path: Path, labels: bool) -> None:
    # A label export, or a raw header with label values (REDCap's API, rawOrLabel=label).
    data = answers(4)
    data[3][0] = "9"  # bad, but in an incomplete form: dropped before checking
    if labels:
        src = redcap_labels(tmp_path / "r.csv", data, LABEL_KEYS)
        record, instance = "Record ID", "Repeat Instance"
    else:
        keys = [(*raw[:4], label[4]) for raw, label in zip(KEYS, LABEL_KEYS, strict=True)]
        src = redcap(tmp_path / "r.csv", data, keys)
        record, instance = "record_id", "redcap_repeat_instance"
    result = run("batch", str(src), "-q", "wai-sr", "--complete-only")
    assert result.exit_code == 0, result.output
    assert f"read 4 rows from {src}: 2 not complete (--complete-only), 2 scored" in (
        result.stderr.splitlines()
    )
    out = rows_of(result.stdout)
    assert [(r[record], r[instance]) for r in out] == [("1", ""), ("1", "1")]


def test_complete_only_reports_every_unknown_status(tmp_path: Path) -> None:
    """A status that is no REDCap status is a bad cell like any other: every one is
    reported (wherever the chunks end) and the run stops, --invalid missing or not."""
    n = 25
    statuses = ["Complete"] * n
    statuses[1] = statuses[12] = "Done"
    statuses[22] = "3"
    keys = [(str(r), "Week 1 (Arm 1: Arm 1)", "", "", status) for r, status in enumerate(statuses)]
    src = redcap_labels(tmp_path / "r.csv", answers(n), keys)
    allowed = (
        "not a REDCap form status; allowed: 0, 1, 2, Incomplete, Unverified, Complete or blank"
    )
    expected = [
        [str(r + 2), "Complete?", statuses[r], "bad-form-status", allowed] for r in (1, 12, 22)
    ]
    for chunk in ("10", "100"):
        errors = tmp_path / f"errors{chunk}.csv"
        result = run(
            "batch", str(src), "-q", "wai-sr", "--complete-only", "--chunk-size", chunk,
            "--errors", str(errors), "--invalid", "missing",
        )  # fmt: skip
        assert result.exit_code == 65 and result.stdout == ""
        assert "3 bad cells in 3 rows" in result.stderr
        with errors.open(newline="", encoding="utf-8") as handle:
            got = [row[1:] for row in csv.reader(handle)][1:]
        assert got == expected
    rel = run("reliability", str(src), "-q", "wai-sr", "--complete-only")
    assert rel.exit_code == 65 and "Done" in rel.stderr


def test_legacy_qualtrics_v_columns_take_response_id_from_the_second_row(tmp_path: Path) -> None:
    """Old Qualtrics exports tag the metadata V1…V10; "ResponseID" is V1's question text.
    It is the id, and the other metadata (here the e-mail address) stays out."""
    data = answers(3, seed=4)
    header = ["V1", "V2", "V5", *ITEMS]
    text = ["ResponseID", "ResponseSet", "EmailAddress", *(f"Item {i}" for i in range(1, 13))]
    body = [[f"R_{r}", "Default", f"p{r}@example.org", *d] for r, d in enumerate(data)]
    src = write(tmp_path / "legacy.csv", [header, text, *body])
    result = run("batch", str(src), "-q", "wai-sr", "--source", "qualtrics")
    assert result.exit_code == 0, result.output
    out = rows_of(result.stdout)
    assert [r["V1"] for r in out] == ["R_0", "R_1", "R_2"] and "V5" not in out[0]
    assert "id columns: V1" in " ".join(result.stderr.split())
    twice = write(tmp_path / "twice.csv", [header, text, *body, body[0]])
    repeated = run("batch", str(twice), "-q", "wai-sr", "--source", "qualtrics")
    assert repeated.exit_code == 65 and "duplicate response id" in repeated.stderr
