"""Every row accounted for: REDCap rows judged by the form they belong to (events, repeating
instruments), rows left out counted by reason, an empty run refused unless --allow-empty,
covariates carried (--keep, --keep-all, Qualtrics ExternalReference), and NA / . read as
missing answers (R, pandas, SAS, Stata exports)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import rows_of, run, write

# The CLI helpers and the environment fixture of the survey tests.

WAI = [f"wai_sr_{i:02d}" for i in range(1, 13)]
SRS = [f"srs_{i}" for i in range(1, 5)]
CARE = [f"care_{i}" for i in range(1, 11)]
DATA = Path(__file__).parents[1] / "data"


def said(result: Any) -> list[str]:
    return [" ".join(line.split()) for line in result.stderr.splitlines()]


# -- REDCap: SRS on events, CARE as a repeating instrument ---------------------------------------

SRS_A, SRS_B, SRS_C = ["9", "8.5", "9", "10"], ["7", "8", "6", "9"], ["10", "10", "10", "10"]
CARE_A, CARE_B = ["5"] * 10, ["4", "4", "5", "4", "4", "4", "5", "4", "4", "4"]
CARE_C, CARE_D = ["3"] * 9 + ["6"], ["2", "3"] * 5
# (record, event, repeat instrument, instance, age, demographics, srs, srs status, care, care
# status): a demographics-only baseline row, SRS event rows, CARE repeat rows.
EXPORT = [
    ("1", "baseline", "", "", "34", "2", None, "", None, ""),
    ("1", "session_1", "care", "1", "", "", None, "", CARE_A, "2"),
    ("1", "session_1", "", "", "", "", SRS_A, "2", None, ""),
    ("1", "session_2", "", "", "", "", SRS_B, "1", None, ""),
    ("1", "session_2", "care", "1", "", "", None, "", CARE_B, "2"),
    ("2", "session_1", "", "", "", "", SRS_C, "2", None, ""),
    ("2", "session_1", "care", "1", "", "", None, "", CARE_C, "0"),
    ("2", "session_1", "care", "2", "", "", None, "", CARE_D, "2"),
]
STATUS_LABEL = {"0": "Incomplete", "1": "Unverified", "2": "Complete", "": ""}


def redcap_export(path: Path, labels: bool) -> Path:
    """A longitudinal export as REDCap writes it: raw (names, codes) or labels (REDCap's
    "labels" option: headers, events, instrument and statuses as labels)."""
    if labels:
        head = ["Record ID", "Event Name", "Repeat Instrument", "Repeat Instance", "Age"]
        header = [*head, "Complete?", *SRS, "Complete?", *CARE, "Complete?"]
    else:
        head = ["record_id", "redcap_event_name", "redcap_repeat_instrument"]
        header = [*head, "redcap_repeat_instance", "age", "demographics_complete"]
        header += [*SRS, "srs_complete", *CARE, "care_complete"]
    lines = [header]
    for record, event, instrument, instance, age, demo, srs, s_st, care, c_st in EXPORT:
        if labels:
            event = event.replace("_", " ").title() + " (Arm 1: Arm 1)"
            instrument = "CARE Measure" if instrument else ""
            demo, s_st, c_st = STATUS_LABEL[demo], STATUS_LABEL[s_st], STATUS_LABEL[c_st]
        else:
            event += "_arm_1"
        srs, care = srs or [""] * 4, care or [""] * 10
        lines.append([record, event, instrument, instance, age, demo, *srs, s_st, *care, c_st])
    return write(path, lines)


def total(values: list[str], *, prorate_to: int | None = None) -> str:
    """A sum by hand; with ``prorate_to``, CARE's "does not apply" (6) left out and the
    mean of the rest times ``prorate_to``."""
    answered = [float(v) for v in values if prorate_to is None or v != "6"]
    x = sum(answered) if prorate_to is None else sum(answered) / len(answered) * prorate_to
    return f"{x:g}"


@pytest.mark.parametrize("labels", [False, True])
def test_complete_only_judges_each_row_by_its_own_form(tmp_path: Path, labels: bool) -> None:
    src = redcap_export(tmp_path / "r.csv", labels)
    out = tmp_path / "o.csv"
    result = run("batch", str(src), "-q", "srs", "-q", "care", "--complete-only", "-o", str(out))
    assert result.exit_code == 0, result.output
    got = rows_of(out.read_text(encoding="utf-8"))
    # Rows 3, 4, 6, 7 and 9 of the file: every complete SRS and every complete CARE.
    assert [r["row"] for r in got] == ["3", "4", "6", "7", "9"]
    srs_total = {r["row"]: r["srs.total"] for r in got}
    care_total = {r["row"]: r["care.total"] for r in got}
    assert srs_total == {"3": "", "4": total(SRS_A), "6": "", "7": total(SRS_C), "9": ""}
    assert care_total == {
        "3": total(CARE_A),
        "4": "",
        "6": total(CARE_B),
        "7": "",
        "9": total(CARE_D),
    }
    other = "not a row of this questionnaire's form (another REDCap form's row)"
    # Once per questionnaire in the compact output, never as a withheld score.
    assert [r["srs.withheld"] for r in got] == [other, "", other, "", other]
    assert [r["care.withheld"] for r in got] == ["", other, "", other, ""]
    lines = said(result)
    assert f"read 8 rows from {src}: 2 not complete (--complete-only), 1 not a row of the " \
        "scored forms, 5 scored" in lines  # fmt: skip
    assert "srs: 2 scored on every scale, 0 with a score withheld, 3 rows of another form" in lines
    assert "care: 3 scored on every scale, 0 with a score withheld, 2 rows of another form" in lines
    book = json.loads((tmp_path / "o.csv.codebook.json").read_text(encoding="utf-8"))
    assert book["row_accounting"] == {
        "read": 8,
        "left_out": {"not complete (--complete-only)": 2, "not a row of the scored forms": 1},
        "scored": 5,
        "files": [
            {
                "file": str(src),
                "read": 8,
                "left_out": {
                    "not complete (--complete-only)": 2,
                    "not a row of the scored forms": 1,
                },
                "scored": 5,
            }
        ],
    }


@pytest.mark.parametrize("labels", [False, True])
def test_rows_of_another_form_are_never_withheld_scores(tmp_path: Path, labels: bool) -> None:
    src = redcap_export(tmp_path / "r.csv", labels)
    result = run("batch", str(src), "-q", "srs")
    assert result.exit_code == 0, result.output
    got = rows_of(result.stdout)
    assert [r["row"] for r in got] == ["4", "5", "7"]  # the SRS rows, whatever their status
    assert [r["srs.total"] for r in got] == [total(SRS_A), total(SRS_B), total(SRS_C)]
    lines = said(result)
    assert f"read 8 rows from {src}: 5 not a row of the scored forms, 3 scored" in lines
    assert "srs: 3 scored on every scale, 0 with a score withheld" in lines
    care = run("batch", str(src), "-q", "care", "--shape", "long", "--columns", "all")
    assert care.exit_code == 0, care.output
    long = rows_of(care.stdout)
    assert [(r["row"], r["score"], r["prorated"]) for r in long] == [
        ("3", total(CARE_A), "false"),
        ("6", total(CARE_B), "false"),
        ("8", total(CARE_C, prorate_to=10), "true"),
        ("9", "25", "false"),
    ]
    assert "care: 4 scored on every scale, 0 with a score withheld" in said(care)


def test_reliability_takes_the_rows_of_the_questionnaires_form(tmp_path: Path) -> None:
    src = redcap_export(tmp_path / "r.csv", False)
    rel = run("reliability", str(src), "-q", "srs", "-q", "care", "--complete-only", "--json")
    assert rel.exit_code == 0, rel.output
    doc = json.loads(rel.stdout)
    assert doc["rows"] == 5
    assert [(s["questionnaire"], s["n_complete"]) for s in doc["scales"]] == [
        ("srs", 2),
        ("care", 3),
    ]


# -- an empty result -------------------------------------------------------------------------------


def test_a_run_that_scores_nothing_warns_and_exits_1(tmp_path: Path) -> None:
    lines = [["record_id", "redcap_event_name", *SRS, "srs_complete"]]
    lines += [["1", "s1_arm_1", *SRS_A, "1"], ["2", "s1_arm_1", *SRS_B, "0"]]
    src = write(tmp_path / "r.csv", lines)
    out = tmp_path / "o.csv"
    result = run("batch", str(src), "-q", "srs", "--complete-only", "-o", str(out))
    assert result.exit_code == 1
    assert f"read 2 rows from {src}: 2 not complete (--complete-only), 0 scored" in said(result)
    assert (
        "WARNING: no row was scored, so nothing was written; --allow-empty writes the empty output"
    ) in said(result)
    assert not out.exists() and not (tmp_path / "o.csv.codebook.json").exists()
    dry = run("batch", str(src), "-q", "srs", "--complete-only", "--dry-run")
    assert dry.exit_code == 1 and "WARNING: no row was scored" in dry.stderr
    allowed = run(
        "batch", str(src), "-q", "srs", "--complete-only", "--allow-empty", "-o", str(out)
    )
    assert allowed.exit_code == 0, allowed.output
    with out.open(newline="", encoding="utf-8") as f:
        written = list(csv.reader(f))
    assert len(written) == 1 and written[0][:4] == [
        "row",
        "record_id",
        "redcap_event_name",
        "srs.total",
    ]
    header_only = write(tmp_path / "h.csv", [WAI])
    empty = run("batch", str(header_only), "-q", "wai-sr")
    assert empty.exit_code == 1 and empty.stdout == ""
    assert run("batch", str(header_only), "-q", "wai-sr", "--allow-empty").stdout.startswith(
        "row,wai-sr.goal"
    )


@pytest.mark.slow
def test_a_run_where_every_score_is_withheld_warns_and_exits_1(tmp_path: Path) -> None:
    """Rows read but no score in any of them (a wrong mapping, missing codes not given):
    as a run that keeps no row, a warning naming why, nothing written, exit 1."""
    lines = [["id", *SRS], ["a", "", "", "", ""], ["b", "NA", "NA", ".", ""]]
    src = write(tmp_path / "d.csv", lines)
    out = tmp_path / "o.csv"
    result = run("batch", str(src), "-q", "srs", "-o", str(out))
    assert result.exit_code == 1, result.output
    assert "srs: 0 scored on every scale, 2 with a score withheld" in said(result)
    assert (
        "WARNING: no row has a score (every score was withheld: check the column mapping and "
        "the --missing codes), so nothing was written; --allow-empty writes it anyway"
    ) in said(result)
    assert not out.exists() and not (tmp_path / "o.csv.codebook.json").exists()
    dry = run("batch", str(src), "-q", "srs", "--dry-run")
    assert dry.exit_code == 1
    assert "WARNING: no row has a score (every score was withheld" in " ".join(said(dry))
    allowed = run("batch", str(src), "-q", "srs", "--allow-empty", "-o", str(out))
    assert allowed.exit_code == 0, allowed.output
    assert [(r["row"], r["srs.total"]) for r in rows_of(out.read_text(encoding="utf-8"))] == [
        ("2", ""),
        ("3", ""),
    ]
    # One scale scored in one row is a result: written, exit 0.
    some = write(tmp_path / "s.csv", [["id", *SRS], ["a", "", "", "", ""], ["b", *SRS_A]])
    assert run("batch", str(some), "-q", "srs", "-o", str(out)).exit_code == 0


# -- covariates ---------------------------------------------------------------------------------


def test_keep_carries_columns_unchecked_and_byte_for_byte(tmp_path: Path) -> None:
    header = ["pid", "age", "site", "dose", *WAI]
    values = [("034", "A", "1.50"), ("", "A", "1e3"), ("51", "A", "0.10"), ("NA", "B", " 7 ")]
    lines = [header] + [[f"P{r}", *v, *(["3"] * 12)] for r, v in enumerate(values)]
    src = write(tmp_path / "d.csv", lines)
    result = run(
        "batch", str(src), "-q", "wai-sr", "--id", "pid", "--keep", "age", "--keep", "dose"
    )
    assert result.exit_code == 0, result.output
    got = rows_of(result.stdout)
    assert list(got[0])[:4] == ["row", "pid", "age", "dose"] and "site" not in got[0]
    assert [(r["age"], r["dose"]) for r in got] == [(v[0], v[2]) for v in values]
    assert "left out of the output (1; --keep COL carries one): site" in said(result)
    every = run("batch", str(src), "-q", "wai-sr", "--id", "pid", "--keep-all")
    assert every.exit_code == 0, every.output
    assert [(r["age"], r["site"], r["dose"]) for r in rows_of(every.stdout)] == values
    typo = run("batch", str(src), "-q", "wai-sr", "--id", "pid", "--keep", "agee")
    assert typo.exit_code == 2
    assert f'error: {src} has no column "agee"; did you mean "age"?' in said(typo)


def test_qualtrics_external_reference_is_kept_by_default(tmp_path: Path) -> None:
    tags = ["StartDate", "IPAddress", "Finished", "ResponseId", "ExternalReference", *WAI]
    text = ["Start Date", "IP Address", "Finished", "Response ID", "External Data Reference"]
    text += [f"Item {i}" for i in range(1, 13)]
    imports = [
        '{"ImportId":"startDate"}', '{"ImportId":"ipAddress"}', '{"ImportId":"finished"}',
        '{"ImportId":"_recordId"}', '{"ImportId":"externalDataReference"}',
        *(f'{{"ImportId":"QID5_{i}"}}' for i in range(1, 13)),
    ]  # fmt: skip
    body = [
        ["2024-03-01", "10.0.0.1", "1", "R_1", "P-007", *(["4"] * 12)],
        ["2024-03-02", "10.0.0.2", "1", "R_2", "", *(["5"] * 12)],
        ["2024-03-03", "10.0.0.3", "1", "R_3", "P-007", *(["3"] * 12)],
    ]
    src = write(tmp_path / "q.csv", [tags, text, imports, *body])
    result = run("batch", str(src), "-q", "wai-sr")
    assert result.exit_code == 0, result.output
    got = rows_of(result.stdout)
    assert [r["ExternalReference"] for r in got] == ["P-007", "", "P-007"]  # unchecked
    assert "IPAddress" not in got[0] and "StartDate" not in got[0]
    named = rows_of(run("batch", str(src), "-q", "wai-sr", "--keep", "IPAddress").stdout)
    assert [r["IPAddress"] for r in named] == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]


# -- NA and . as missing answers ------------------------------------------------------------------


def test_na_and_dot_are_missing_answers_where_the_item_has_no_does_not_apply(
    tmp_path: Path,
) -> None:
    answers = [["4"] * 12, ["4"] * 12, ["4"] * 12]
    answers[0][0] = "NA"
    answers[1][4] = "."
    answers[2][7] = ""
    src = write(tmp_path / "d.csv", [["id", *WAI], *([f"P{r}", *a] for r, a in enumerate(answers))])
    result = run("batch", str(src), "-q", "wai-sr")
    assert result.exit_code == 0, result.output
    got = rows_of(result.stdout)
    assert [r["wai-sr.total.answered"] for r in got] == ["11", "11", "11"]
    assert [r["wai-sr.total"] for r in got] == ["4", "4", "4"]


def test_na_on_an_item_that_offers_does_not_apply_is_said(tmp_path: Path) -> None:
    care = [["4"] * 10, ["4"] * 10]
    care[0][2] = "NA"
    care[1][6] = "."
    src = write(tmp_path / "d.csv", [["id", *CARE], *([f"P{r}", *a] for r, a in enumerate(care))])
    result = run("batch", str(src), "-q", "care", "--shape", "long", "--columns", "all")
    assert result.exit_code == 0, result.output
    got = rows_of(result.stdout)
    assert [(r["answered"], r["not_applicable"], r["missing"]) for r in got] == [
        ("9", "1", "0"),
        ("9", "0", "1"),
    ]
    assert (
        'NA read as "does not apply" in care_3 (its item offers that answer; --missing NA '
        "reads it as a missing answer)"
    ) in said(result)
    missing = run(
        "batch", str(src), "-q", "care", "--shape", "long", "--columns", "all", "--missing", "NA"
    )
    assert [r["missing"] for r in rows_of(missing.stdout)] == ["1", "1"]
    assert "NA read as" not in missing.stderr


def test_an_r_write_csv_export_scores_without_flags() -> None:
    """tests/data/r/wai_sr.csv was written by R's write.csv(df, row.names = FALSE)
    (tests/data/r/make.R): quoted header and text, unquoted numbers, NA for missing."""
    src = DATA / "r" / "wai_sr.csv"
    assert src.read_text(encoding="utf-8").startswith('"id","group","age","wai_sr_01"')
    result = run("batch", str(src), "-q", "wai-sr", "--id", "id", "--keep", "age")
    assert result.exit_code == 0, result.output
    got = rows_of(result.stdout)
    with src.open(newline="", encoding="utf-8") as f:
        given = list(csv.DictReader(f))
    for row, answers in zip(got, given, strict=True):
        items = [answers[c] for c in WAI if answers[c] != "NA"]
        assert row["id"] == answers["id"] and row["age"] == answers["age"]
        assert row["wai-sr.total.answered"] == str(len(items))
        assert float(row["wai-sr.total"]) == pytest.approx(sum(map(float, items)) / len(items))


def test_a_form_not_complete_on_a_kept_row_is_said_and_counted(tmp_path: Path) -> None:
    """SRS and ORS on the same event row: with --complete-only a row whose SRS is complete
    but whose ORS is not keeps its SRS score, and the ORS cells say why they are empty."""
    ors = [f"ors_{i}" for i in range(1, 5)]
    header = ["record_id", "redcap_event_name", *SRS, "srs_complete", *ors, "ors_complete"]
    lines = [
        header,
        ["1", "s1_arm_1", *SRS_A, "2", "5", "6", "7", "8", "1"],
        ["2", "s1_arm_1", *SRS_B, "0", "5", "6", "7", "8", "0"],
        ["3", "s1_arm_1", *SRS_C, "2", "4", "4", "4", "4", "2"],
    ]
    src = write(tmp_path / "r.csv", lines)
    result = run("batch", str(src), "-q", "srs", "-q", "ors", "--complete-only", "--errors",
                 str(tmp_path / "bad.csv"))  # fmt: skip
    assert result.exit_code == 0, result.output
    got = rows_of(result.stdout)
    assert [(r["row"], r["srs.total"], r["ors.total"]) for r in got] == [
        ("2", total(SRS_A), ""),
        ("4", total(SRS_C), "16"),
    ]
    assert got[0]["ors.withheld"] == (
        "its REDCap form is not complete on this row (--complete-only)"
    )
    lines_said = said(result)
    assert f"read 3 rows from {src}: 1 not complete (--complete-only), 2 scored" in lines_said
    assert "ors: 1 scored on every scale, 0 with a score withheld, 1 with its form not " \
        "complete" in lines_said  # fmt: skip


def test_rows_are_counted_the_same_in_chunks(tmp_path: Path) -> None:
    src = redcap_export(tmp_path / "r.csv", False)
    lines = list(csv.reader(io.StringIO(src.read_text(encoding="utf-8"))))
    body = [[str(int(r[0]) + 10 * k), *r[1:]] for k in range(4) for r in lines[1:]]
    big = write(tmp_path / "big.csv", [lines[0], *body])
    told = []
    for chunk in ("10", "1000"):
        result = run("batch", str(big), "-q", "srs", "-q", "care", "--complete-only",
                     "--chunk-size", chunk)  # fmt: skip
        assert result.exit_code == 0, result.output
        heads = ("read ", "srs: ", "care: ")
        told.append([line for line in said(result) if line.startswith(heads)])
    assert (
        told[0]
        == told[1]
        == [
            f"read 32 rows from {big}: 8 not complete (--complete-only), 4 not a row of the scored "
            "forms, 20 scored",
            "srs: 8 scored on every scale, 0 with a score withheld, 12 rows of another form",
            "care: 12 scored on every scale, 0 with a score withheld, 8 rows of another form",
        ]
    )


def test_keep_names_a_column_of_every_input(tmp_path: Path) -> None:
    one = write(tmp_path / "one.csv", [["pid", "age", *WAI], ["P1", "30", *(["3"] * 12)]])
    two = write(tmp_path / "two.csv", [["pid", "agee", *WAI], ["P2", "31", *(["3"] * 12)]])
    result = run("batch", str(one), str(two), "-q", "wai-sr", "--id", "pid", "--keep", "age")
    assert result.exit_code == 2
    assert said(result) == [
        f'error: {two} has no column "age"; did you mean "agee"?',
        "--keep takes the name of a column of every input file",
    ]


def test_an_empty_run_writes_no_errors_file_either(tmp_path: Path) -> None:
    src = write(tmp_path / "h.csv", [WAI])
    errors, out = tmp_path / "bad.csv", tmp_path / "o.csv"
    result = run("batch", str(src), "-q", "wai-sr", "--errors", str(errors), "-o", str(out))
    assert result.exit_code == 1 and not errors.exists() and not out.exists()
    allowed = run("batch", str(src), "-q", "wai-sr", "--errors", str(errors), "-o", str(out),
                  "--allow-empty")  # fmt: skip
    assert allowed.exit_code == 0 and errors.exists() and out.exists()
    book = json.loads((tmp_path / "o.csv.codebook.json").read_text(encoding="utf-8"))
    assert book["row_accounting"]["read"] == 0 and book["rows"] == 0


def test_an_answered_row_is_never_taken_for_another_forms_row(tmp_path: Path) -> None:
    """An export of selected fields without srs_complete: the SRS items' next status column
    is CARE's, blank on the SRS rows; their answers still make them SRS rows."""
    head = ["record_id", "redcap_event_name", "redcap_repeat_instrument"]
    header = [*head, "redcap_repeat_instance", *SRS, *CARE, "care_complete"]
    lines = [
        header,
        ["1", "s1_arm_1", "", "", *SRS_A, *[""] * 10, ""],
        ["1", "s1_arm_1", "care", "1", *[""] * 4, *CARE_A, "2"],
        ["2", "s1_arm_1", "", "", *SRS_C, *[""] * 10, ""],
    ]
    src = write(tmp_path / "r.csv", lines)
    result = run("batch", str(src), "-q", "srs")
    assert result.exit_code == 0, result.output
    got = [(r["row"], r["srs.total"]) for r in rows_of(result.stdout)]
    assert got[0] == ("2", total(SRS_A)) and got[-1] == ("4", total(SRS_C))
    # Answers without a complete status of their (assumed) form are not complete; the CARE
    # repeat row, without an SRS answer, is another instrument's row.
    complete = run("batch", str(src), "-q", "srs", "--complete-only")
    assert complete.exit_code == 1, complete.output
    assert (
        f"read 3 rows from {src}: 2 not complete (--complete-only), 1 not a row of the scored "
        "forms, 0 scored"
    ) in said(complete)


@pytest.mark.parametrize("labels", [False, True])
def test_an_export_without_form_status_columns_never_withholds_other_forms_rows(
    tmp_path: Path, labels: bool
) -> None:
    """The export of the first tests without the SRS and CARE status columns (REDCap's
    field selection leaves them out): a row with no answer of a questionnaire is another
    form's row (the CARE repeat rows for SRS, the SRS event rows for CARE), said once."""
    full = redcap_export(tmp_path / "full.csv", labels)
    with full.open(newline="", encoding="utf-8") as f:
        lines = [[c for k, c in enumerate(r) if k not in (10, 21)] for r in csv.reader(f)]
    assert lines[0][6:10] == SRS and lines[0][10:20] == CARE
    src = write(tmp_path / "r.csv", lines)
    out = tmp_path / "o.csv"
    result = run("batch", str(src), "-q", "srs", "-q", "care", "-o", str(out))
    assert result.exit_code == 0, result.output
    got = rows_of(out.read_text(encoding="utf-8"))
    other = "not a row of this questionnaire's form (another REDCap form's row)"
    srs_rows, care_rows = ["4", "5", "7"], ["3", "6", "8", "9"]
    assert [r["row"] for r in got] == ["3", "4", "5", "6", "7", "8", "9"]
    assert {r["row"]: r["srs.withheld"] for r in got if r["row"] in care_rows} == dict.fromkeys(
        care_rows, other
    )
    assert [r["srs.total"] for r in got if r["row"] in srs_rows] == [
        total(SRS_A),
        total(SRS_B),
        total(SRS_C),
    ]
    assert {r["row"]: r["care.withheld"] for r in got if r["row"] in srs_rows} == dict.fromkeys(
        srs_rows, other
    )
    lines_said = said(result)
    assert f"read 8 rows from {src}: 1 not a row of the scored forms, 7 scored" in lines_said
    assert "srs: 3 scored on every scale, 0 with a score withheld, 4 rows of another form" in (
        lines_said
    )
    assert "care: 4 scored on every scale, 0 with a score withheld, 3 rows of another form" in (
        lines_said
    )
    for qid in ("srs", "care"):
        notice = (
            f"notice: no <form>_complete column for {qid}: rows with no {qid} answer are taken "
            "as other forms' rows"
        )
        assert lines_said.count(notice) == 1
    complete = run("batch", str(src), "-q", "srs", "-q", "care", "--complete-only")
    assert complete.exit_code == 2
    assert [line for line in said(complete) if line.startswith("error:")] == [
        f"error: {src}: no form status column (<form>_complete, or Complete? in a label export) "
        "after the item columns of srs, care"
    ]
