"""`alliance batch`: batch scores equal single scores, every bad cell with its place, mapping,
text ids, encodings and delimiters, shapes, codebook, formula escaping, dry runs."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from alliance_cli.catalog import Catalog
from alliance_cli.errors import BatchDataError, UsageError
from alliance_cli.model import Method, Questionnaire
from alliance_cli.options import InvalidPolicy
from alliance_cli.research.batch import BatchOptions, refuses
from alliance_cli.research.columnmap import map_columns
from alliance_cli.research.mapfile import load_map
from alliance_cli.research.readers import read_table
from alliance_cli.research.run import InMemory, run_batch
from alliance_cli.result import CSV_COLUMNS, ScoreReport, score
from alliance_cli.text import fmt_num
from tests.helpers import batch as run

runner = CliRunner()
CATALOG = Catalog(user_dirs=[])
WAI_SR = CATALOG.get("wai-sr")


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("ALLIANCE_DEFINITIONS", raising=False)


def write(path: Path, header: list[str], rows: list[list[str]], sep: str = ",") -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, delimiter=sep, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def read_csv(path: Path | str) -> list[dict[str, str]]:
    text = path if isinstance(path, str) else path.read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def cell(x: Any) -> str:
    """A value as the CSV writer puts it."""
    if x is None:
        return ""
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


def wai_rows(n: int, seed: int = 0) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    return [[f"P{r:03d}", *(str(v) for v in rng.integers(1, 6, 12))] for r in range(n)]


WAI_HEADER = ["id", *(f"wai_sr_{i:02d}" for i in range(1, 13))]


# -- batch equals single scoring -----------------------------------------------------------------


def random_answer(rng: np.random.Generator, q: Questionnaire, item_id: str) -> str:
    """Any text a single `alliance score` accepts: numbers in several spellings, labels in
    any case, blanks, "does not apply" words and codes."""
    rs = q.scale_of(item_id)
    r = rng.random()
    if r < 0.08:
        return str(rng.choice(["", "  "]))
    if r < 0.16 and rs.not_applicable is not None:
        na = rs.not_applicable
        return str(rng.choice(["n/a", "NA", na.label.upper(), fmt_num(na.values[0])]))
    if r < 0.35 and rs.labels:
        label = str(rng.choice(list(rs.labels.values())))
        return str(rng.choice([label, label.lower(), label.upper(), f" {label} "]))
    points = [
        round(rs.min + k * rs.step, 6)
        for k in range(round((rs.max - rs.min) / rs.step) + 1)
        if not any(abs(rs.min + k * rs.step - x) < 1e-9 for x in rs.exclude)
    ]
    v = float(rng.choice(points))
    if rs.step < 1:
        return f"{v:.1f}"
    return str(rng.choice([fmt_num(v), f"{v:.1f}", f" {fmt_num(v)}"]))


def check_wide_row(row: dict[str, str], q: Questionnaire, report: ScoreReport) -> None:
    """The row's columns of ``q`` against a single score: the full set (``--columns all``)
    when the row has it, else the compact set."""
    flags = {r[1]: r[CSV_COLUMNS.index("flags")] for r in report.csv_rows()}
    full = f"{q.id}.{report.scales[0].id}.prorated" in row
    for s in report.scales:
        stem = f"{q.id}.{s.id}"
        assert row[stem] == cell(s.score), (stem, row)
        assert row[f"{stem}.answered"] == str(s.answered)
        if full:
            if s.method is Method.mean:
                assert row[f"{stem}.sum"] == cell(s.sum)
            else:
                assert f"{stem}.sum" not in row
            assert row[f"{stem}.prorated"] == cell(s.prorated)
            assert row[f"{stem}.withheld_reason"] == (s.withheld_reason or "")
        scale = q.scales[s.id]
        if full or scale.bands:
            assert row[f"{stem}.band"] == (s.band or "")
        else:
            assert f"{stem}.band" not in row
        if full or any(b.flag for b in scale.bands) or q.item_rules:
            assert row[f"{stem}.flags"] == flags[s.id]
        else:
            assert f"{stem}.flags" not in row
    if not full:
        reasons = [f"{s.id} ({s.withheld_reason})" for s in report.scales if s.withheld]
        assert row[f"{q.id}.withheld"] == "; ".join(reasons)


@pytest.mark.parametrize("qid", ["wai-s", "wai-sr", "srs", "care", "haq-ii"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_batch_scores_equal_single_scores_on_random_data(
    tmp_path: Path, qid: str, seed: int
) -> None:
    q = CATALOG.get(qid)
    rng = np.random.default_rng(seed)
    answers = [[random_answer(rng, q, i) for i in q.item_ids()] for _ in range(150)]
    header = ["id", *(f"{qid}_{i}" for i in q.item_ids())]
    data = write(tmp_path / "in.csv", header, [[f"{r:04d}", *a] for r, a in enumerate(answers)])
    out = tmp_path / "out.csv"
    columns = "all" if seed == 3 else "compact"
    result = run(str(data), "-q", qid, "-o", str(out), "--id", "id", "--columns", columns)
    assert result.exit_code == 0, result.stderr
    rows = read_csv(out)
    assert [r["row"] for r in rows] == [str(n + 2) for n in range(150)]
    assert [r["id"] for r in rows] == [f"{n:04d}" for n in range(150)]
    for row, typed in zip(rows, answers, strict=True):
        check_wide_row(row, q, score(q, typed))


def test_long_shape_equals_score_csv_rows(tmp_path: Path) -> None:
    q = CATALOG.get("srs")
    rng = np.random.default_rng(7)
    answers = [[random_answer(rng, q, i) for i in q.item_ids()] for _ in range(40)]
    header = ["client", *(f"srs{i}" for i in q.item_ids())]
    data = write(tmp_path / "in.csv", header, [[f"c{r}", *a] for r, a in enumerate(answers)])
    result = run(str(data), "-q", "srs", "--shape", "long", "--columns", "all")
    assert result.exit_code == 0, result.stderr
    rows = read_csv(result.stdout)
    assert len(rows) == 40 * len(q.scales)
    keep = [c for c in CSV_COLUMNS if c not in ("name", "min", "max", "z", "t", "pomp")]
    for n, typed in enumerate(answers):
        expected = [dict(zip(CSV_COLUMNS, r, strict=True)) for r in score(q, typed).csv_rows()]
        got = rows[n * len(q.scales) : (n + 1) * len(q.scales)]
        for e, g in zip(expected, got, strict=True):
            assert g["row"] == str(n + 2) and g["client"] == f"c{n}"
            assert {k: g[k] for k in keep} == {k: cell(e[k]) for k in keep}


def test_two_questionnaires_in_one_file(tmp_path: Path) -> None:
    srs = CATALOG.get("srs")
    rng = np.random.default_rng(11)
    wai = [[random_answer(rng, WAI_SR, i) for i in WAI_SR.item_ids()] for _ in range(30)]
    srs_answers = [[random_answer(rng, srs, i) for i in srs.item_ids()] for _ in range(30)]
    header = [*WAI_HEADER[1:], "srs_relationship", "srs_goals", "srs_approach", "srs_overall"]
    data = write(
        tmp_path / "in.csv", header, [a + b for a, b in zip(wai, srs_answers, strict=True)]
    )
    out = tmp_path / "out.csv"
    assert run(str(data), "-q", "wai-sr", "-q", "srs", "-o", str(out)).exit_code == 0
    for row, a, b in zip(read_csv(out), wai, srs_answers, strict=True):
        check_wide_row(row, WAI_SR, score(WAI_SR, a))
        check_wide_row(row, srs, score(srs, b))


def test_library_scores_without_the_cli(tmp_path: Path) -> None:
    data = write(tmp_path / "in.csv", WAI_HEADER, wai_rows(5))
    kept = InMemory()
    batch = run_batch([read_table(data)], [WAI_SR], output=kept)
    assert batch.rows == 5 and batch.bad_cells == 0 and not batch.refused
    assert kept.table["wai-sr.total"].tolist() == [
        score(WAI_SR, r[1:]).scales[-1].score for r in wai_rows(5)
    ]


# -- bad cells ----------------------------------------------------------------------------------


def bad_file(tmp_path: Path) -> Path:
    rows = wai_rows(6)
    rows[0][3] = "8"  # row 2, wai_sr_03: out of range
    rows[1][1] = "often-ish"  # row 3, wai_sr_01: a word that is no label of the scale
    rows[1][12] = "2.5"  # row 3, wai_sr_12: off the grid
    rows[2][2] = "4..5"  # row 4, wai_sr_02: not a number (nor a word)
    rows[4][5] = "n/a"  # row 7 (a blank line is row 5): no "does not apply" on WAI-SR
    path = write(tmp_path / "bad.csv", WAI_HEADER, rows)
    lines = path.read_text().splitlines()
    lines.insert(4, "")  # a blank line keeps its row number
    path.write_text("\n".join(lines) + "\n")
    return path


EXPECTED_BAD = [
    ("2", "wai_sr_03", "8", "out-of-range"),
    ("3", "wai_sr_01", "often-ish", "unknown-label"),
    ("3", "wai_sr_12", "2.5", "off-grid"),
    ("4", "wai_sr_02", "4..5", "not-a-number"),
    ("7", "wai_sr_05", "n/a", "no-not-applicable"),
]


def test_every_bad_cell_is_reported_with_its_row_and_column_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    out, errors = tmp_path / "out.csv", tmp_path / "errors.csv"
    result = run(str(bad_file(tmp_path)), "-q", "wai-sr", "-o", str(out), "--errors", str(errors))
    assert result.exit_code == 65
    assert not out.exists() and not Path(f"{out}.codebook.json").exists()
    assert result.stderr.startswith("error: 5 bad cells in 4 rows\n")
    found = read_csv(errors)
    assert [(r["row"], r["column"], r["value"], r["code"]) for r in found] == EXPECTED_BAD
    allowed = "allowed: 1–5 (1 Seldom, 2 Sometimes, 3 Fairly often, 4 Very often, 5 Always)"
    assert found[0]["problem"] == f"out of range; {allowed}"
    assert found[1]["problem"] == f"not a label of the scale; {allowed}"
    assert found[2]["problem"] == f"not on the scale's steps; {allowed}"
    assert found[3]["problem"] == f"not a number; {allowed}"
    assert found[4]["problem"].startswith('means "does not apply", which this item does not')
    assert list(found[0]) == ["file", "row", "column", "value", "code", "problem"]
    assert stat.S_IMODE(os.stat(errors).st_mode) == 0o600
    assert "often-ish" in result.stderr and "allowed in wai_sr_03, wai_sr_01, wai_sr_12" in (
        result.stderr.replace("\n", " ")
    )
    assert f"every bad cell was written to {errors}" in result.stderr


def test_library_raises_with_the_failure_table(tmp_path: Path) -> None:
    with pytest.raises(BatchDataError) as caught:
        run_batch([read_table(bad_file(tmp_path))], [WAI_SR])
    table = caught.value.failures
    assert caught.value.exit_code == 65
    assert [tuple(r) for r in table[["row", "column", "value", "code"]].astype(str).values] == [
        tuple(e) for e in EXPECTED_BAD
    ]


@pytest.mark.parametrize(
    ("bad", "answer_bad", "invalid", "stops"),
    [
        (0, 0, InvalidPolicy.error, False),
        (1, 1, InvalidPolicy.error, True),  # any bad cell
        (0, 0, InvalidPolicy.missing, False),
        (2, 2, InvalidPolicy.missing, False),  # bad answers: scored as missing
        (3, 2, InvalidPolicy.missing, True),  # and a bad id: always an error
        (1, 0, InvalidPolicy.missing, True),
    ],
)
def test_the_one_refusal_rule(
    bad: int, answer_bad: int, invalid: InvalidPolicy, stops: bool
) -> None:
    assert refuses(bad, answer_bad, invalid) is stops


def test_the_library_error_says_where_every_bad_cell_went(tmp_path: Path) -> None:
    good = write(tmp_path / "good.csv", WAI_HEADER, wai_rows(3))
    errors = tmp_path / "bad-cells.csv"
    with pytest.raises(BatchDataError) as caught:
        run_batch([read_table(good), read_table(bad_file(tmp_path))], [WAI_SR], errors=errors)
    assert caught.value.several and caught.value.written_to == errors
    assert [r["row"] for r in read_csv(errors)] == [e[0] for e in EXPECTED_BAD]


def test_only_the_first_twenty_are_shown(tmp_path: Path) -> None:
    rows = wai_rows(30)
    for r in rows:
        r[1] = "0"
    result = run(str(write(tmp_path / "in.csv", WAI_HEADER, rows)), "-q", "wai-sr")
    assert result.exit_code == 65
    assert "error: 30 bad cells in 30 rows; the first 20 follow" in result.stderr
    assert "… and 10 more" in result.stderr
    assert result.stdout == ""


def test_invalid_missing_scores_bad_cells_as_missing(tmp_path: Path) -> None:
    out, errors = tmp_path / "out.csv", tmp_path / "errors.csv"
    result = run(
        str(bad_file(tmp_path)),
        "-q",
        "wai-sr",
        "-o",
        str(out),
        "--invalid",
        "missing",
        "--errors",
        str(errors),
    )
    assert result.exit_code == 0, result.stderr
    assert (
        "5 bad cells (scored as missing): 1 out-of-range, 1 unknown-label, 1 off-grid, "
        "1 not-a-number, 1 no-not-applicable" in result.stderr
    )
    assert len(read_csv(errors)) == 5
    rows = wai_rows(6)
    rows[0][3] = rows[1][1] = rows[1][12] = rows[2][2] = rows[4][5] = ""
    got = read_csv(out)
    assert [r["row"] for r in got] == ["2", "3", "4", "6", "7", "8"]
    for row, typed in zip(got, rows, strict=True):
        check_wide_row(row, WAI_SR, score(WAI_SR, typed[1:]))


def test_missing_and_duplicate_ids_are_bad_cells(tmp_path: Path) -> None:
    rows = wai_rows(5)
    rows[2][0] = rows[0][0]
    rows[3][0] = " "
    data = write(tmp_path / "in.csv", WAI_HEADER, rows)
    errors = tmp_path / "e.csv"
    result = run(str(data), "-q", "wai-sr", "--id", "id", "--errors", str(errors))
    assert result.exit_code == 65
    assert [
        (r["row"], r["column"], r["value"], r["code"], r["problem"]) for r in read_csv(errors)
    ] == [
        ("4", "id", "P000", "duplicate-id", "duplicate response id; first at row 2"),
        ("5", "id", " ", "missing-id", "missing id: the response cannot be identified"),
    ]
    # --invalid missing does not excuse an id problem.
    again = run(str(data), "-q", "wai-sr", "--id", "id", "--invalid", "missing")
    assert again.exit_code == 65 and "(a missing or repeated id is always an error)" in again.stderr


def test_duplicates_across_files_and_composite_ids(tmp_path: Path) -> None:
    header = ["client", "session", *WAI_HEADER[1:]]
    a = write(tmp_path / "a.csv", header, [["c1", "1", *r[1:]] for r in wai_rows(2)])
    b = write(
        tmp_path / "b.csv",
        header,
        [["c1", str(s), *r[1:]] for s, r in [(2, wai_rows(1)[0]), (1, wai_rows(1)[0])]],
    )
    errors = tmp_path / "e.csv"
    result = run(
        str(a), str(b), "-q", "wai-sr", "--id", "client", "--id", "session", "--errors", str(errors)
    )
    assert result.exit_code == 65
    assert read_csv(errors) == [
        {
            "file": str(a),
            "row": "3",
            "column": "client, session",
            "value": "c1, 1",
            "code": "duplicate-id",
            "problem": "duplicate response id; first at row 2",
        },
        {
            "file": str(b),
            "row": "3",
            "column": "client, session",
            "value": "c1, 1",
            "code": "duplicate-id",
            "problem": f"duplicate response id; first at row 2 of {a}",
        },
    ]


# -- mapping ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("qid", "names"),
    [
        ("wai-sr", [f"wai{i}" for i in range(1, 13)]),
        ("wai-sr", [f"WAI_{i}" for i in range(1, 13)]),
        ("wai-sr", [f"wai_sr_{i:02d}" for i in range(1, 13)]),
        ("wai-sr", [f"WAISR{i}" for i in range(1, 13)]),
        ("wai-sr", [f"wai-sr item {i}" for i in range(1, 13)]),
        ("wai-s", [f"wais_{i}" for i in range(1, 13)]),
        ("srs", ["srs_relationship", "SRS Goals", "srs.approach", "srs_overall"]),
        ("ors", ["ORS_individual", "ors_interpersonal", "ors_social", "ors_overall"]),
    ],
)
def test_automatic_mapping_patterns(qid: str, names: list[str]) -> None:
    q = CATALOG.get(qid)
    found = map_columns(["id", *names, "note"], [q], file="f.csv")
    (qc,) = found.questionnaires
    assert [(c.item, c.column) for c in qc.items] == list(zip(q.item_ids(), names, strict=True))
    assert qc.how == "automatic"
    assert [n for n, _ in found.ids] == ["id", "note"] and not found.ids_declared


def test_automatic_mapping_prefers_the_exact_id_and_keeps_others_apart() -> None:
    wai_s = CATALOG.get("wai-s")
    columns = [f"wai_sr_{i}" for i in range(1, 13)] + [f"wais{i}" for i in range(1, 13)]
    found = map_columns(columns, [WAI_SR, wai_s], file="f.csv")
    assert [c.column for c in found.questionnaires[0].items] == columns[:12]
    assert [c.column for c in found.questionnaires[1].items] == columns[12:]


def test_ambiguous_columns_are_refused_with_the_candidates(tmp_path: Path) -> None:
    data = write(tmp_path / "in.csv", [f"wai{i}" for i in range(1, 13)], [["1"] * 12])
    result = run(str(data), "-q", "wai-sr", "-q", "wai-s")
    assert result.exit_code == 2
    assert f'error: column "wai1" in {data} could be wai-s item "1" or wai-sr item "1"' in (
        result.stderr
    )
    assert "--map MAP.yaml" in result.stderr


def test_an_item_matched_twice_or_items_without_columns_are_refused() -> None:
    columns = [f"wai{i}" for i in range(1, 12)] + ["WAI_1"]
    with pytest.raises(UsageError) as caught:
        map_columns(columns, [WAI_SR], file="f.csv")
    messages = [p.message for p in caught.value.problems]
    assert messages == [
        'wai-sr item "1" is matched by the columns "wai1" and "WAI_1" in f.csv',
        'wai-sr: no column in f.csv for item "12" (11 of 12 items found)',
    ]
    with pytest.raises(UsageError) as none:
        map_columns(["id", "x1"], [WAI_SR], file="f.csv")
    assert none.value.problems[0].message == (
        "wai-sr: no item columns found in f.csv (looked for names like wai_sr_1, waisr1, wai1)"
    )


MAP = """\
ids: [participant]
missing: [-99, refused]
questionnaires:
  WAI_SR:
    columns:
      Q1: 1
      Q2: 2
      Q3: {item: 3, recode: {"0": 1}}
      Q4: 4
      Q5: 5
      Q6: 6
      Q7: 7
      Q8: 8
      Q9: 9
      Q10: 10
      Q11: 11
      Q12: 12
    recode: {Strongly agree: 5, "6": 5}
    missing: [999]
"""


def test_map_file_with_recodes_missing_codes_and_ids(tmp_path: Path) -> None:
    mapping = tmp_path / "map.yaml"
    mapping.write_text(MAP)
    header = ["participant", *(f"Q{i}" for i in range(1, 13)), "wai1"]
    rows = [
        ["007", "-99", "strongly AGREE", "0", "6", "refused", "999", *["3"] * 6, "x"],
        ["NA", *["4"] * 12, "x"],
    ]
    out = tmp_path / "out.csv"
    result = run(
        str(write(tmp_path / "in.csv", header, rows)),
        "-q",
        "wai-sr",
        "--map",
        str(mapping),
        "-o",
        str(out),
    )
    assert result.exit_code == 0, result.stderr
    got = read_csv(out)
    assert list(got[0])[:2] == ["row", "participant"] and "wai1" not in got[0]
    assert [r["participant"] for r in got] == ["007", "NA"]
    check_wide_row(got[0], WAI_SR, score(WAI_SR, ["", "5", "1", "5", "", "", *["3"] * 6]))
    check_wide_row(got[1], WAI_SR, score(WAI_SR, ["4"] * 12))
    book = json.loads(Path(f"{out}.codebook.json").read_text())
    items = book["mapping"][0]["questionnaires"][0]["items"]
    assert book["mapping"][0]["ids"] == ["participant"]
    assert items[2] == {
        "item": "3",
        "column": "Q3",
        "missing": ["refused", "-99", "999"],
        "recode": {"strongly agree": 5.0, "0": 1.0, "6": 5.0},
    }


def test_a_recoded_value_out_of_range_says_so(tmp_path: Path) -> None:
    mapping = tmp_path / "map.yaml"
    mapping.write_text(MAP.replace('{"0": 1}', '{"0": 9}'))
    header = ["participant", *(f"Q{i}" for i in range(1, 13))]
    data = write(tmp_path / "in.csv", header, [["1", "1", "1", "0", *["2"] * 9]])
    with pytest.raises(BatchDataError) as caught:
        run_batch([read_table(data)], [WAI_SR], BatchOptions(spec=load_map(mapping)))
    assert caught.value.failures["problem"].tolist() == [
        "out of range (recoded to 9); allowed: 1–5 (1 Seldom, 2 Sometimes, 3 Fairly often, "
        "4 Very often, 5 Always)"
    ]


def test_map_file_problems_are_located(tmp_path: Path) -> None:
    mapping = tmp_path / "map.yaml"
    mapping.write_text(
        "idz: [x]\nquestionnaires:\n  wai-sr:\n    columns: {Q1: 1}\n    recode: 5\n"
    )
    result = run(
        str(write(tmp_path / "in.csv", ["Q1"], [["1"]])), "-q", "wai-sr", "--map", str(mapping)
    )
    assert result.exit_code == 2
    assert f'error: {mapping}:1:1 idz: unknown key "idz"; did you mean "ids"?' in result.stderr
    assert f"error: {mapping}:5:13 questionnaires.wai-sr.recode:" in result.stderr


def test_map_file_refers_to_columns_and_items_that_exist(tmp_path: Path) -> None:
    mapping = tmp_path / "map.yaml"
    mapping.write_text(
        "ids: [partcipant]\nquestionnaires:\n  wai-sr:\n    columns: {Q1: 1, Q2: 13, Qx: 2}\n"
    )
    data = write(tmp_path / "in.csv", ["participant", "Q1", "Q2", "Q3"], [["1", "1", "1", "1"]])
    with pytest.raises(UsageError) as caught:
        run_batch([read_table(data)], [WAI_SR], BatchOptions(spec=load_map(mapping)))
    assert [p.render() for p in caught.value.problems] == [
        f'{mapping}:1:7 ids[0]: {data} has no column "partcipant"; did you mean "participant"?',
        f'{mapping}:4:26 questionnaires.wai-sr.columns.Q2: item "13" is not defined in wai-sr '
        '(items are "1"…"12")',
        f'{mapping}:4:30 questionnaires.wai-sr.columns.Qx: {data} has no column "Qx"',
        f'{mapping}:3:3 questionnaires.wai-sr: wai-sr: no column in {data} for items "2"…"12" '
        "(1 of 12 items found)",
    ]


def test_missing_codes_on_the_command_line(tmp_path: Path) -> None:
    rows = wai_rows(2)
    rows[0][1], rows[1][2] = "-99", "NA"
    data = write(tmp_path / "in.csv", WAI_HEADER, rows)
    assert run(str(data), "-q", "wai-sr").exit_code == 65
    result = run(str(data), "-q", "wai-sr", "--missing", "-99", "--missing", "NA")
    assert result.exit_code == 0, result.stderr
    got = read_csv(result.stdout)
    rows[0][1] = rows[1][2] = ""
    for row, typed in zip(got, rows, strict=True):
        check_wide_row(row, WAI_SR, score(WAI_SR, typed[1:]))


# -- reading ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_ids_stay_text_and_formulas_are_escaped(tmp_path: Path) -> None:
    ids = ["007", "NA", "=HYPERLINK(1)", "+1", "-2", "@x", "1e3", "0.50"]
    data = write(
        tmp_path / "in.csv",
        WAI_HEADER,
        [[i, *r[1:]] for i, r in zip(ids, wai_rows(8), strict=True)],
    )
    result = run(str(data), "-q", "wai-sr", "--id", "id")
    assert result.exit_code == 0, result.stderr
    assert [r["id"] for r in read_csv(result.stdout)] == [
        "007",
        "NA",
        "'=HYPERLINK(1)",
        "+1",  # numbers are never escaped
        "-2",
        "'@x",
        "1e3",
        "0.50",
    ]
    plain = run(str(data), "-q", "wai-sr", "--id", "id", "--no-escape-formulas")
    assert [r["id"] for r in read_csv(plain.stdout)] == ids


@pytest.mark.slow
def test_bom_tsv_semicolons_and_encodings(tmp_path: Path) -> None:
    rows = wai_rows(3)
    expected = [score(WAI_SR, r[1:]).scales[-1].score for r in rows]
    text = "\n".join("\t".join(r) for r in [WAI_HEADER, *rows]) + "\n"
    for name, raw, extra in [
        ("bom.csv", ("\ufeff" + text.replace("\t", ",")).encode(), []),
        ("tab.tsv", text.encode(), []),
        ("tab.txt", text.encode(), []),
        ("semi.csv", text.replace("\t", ";").encode(), []),
        ("pipe.dat", text.replace("\t", "|").encode(), ["--sep", "|"]),
        (
            "latin.csv",
            text.replace("\t", ",").replace("P000", "Pé").encode("cp1252"),
            ["--encoding", "cp1252"],
        ),
    ]:
        path = tmp_path / name
        path.write_bytes(raw)
        result = run(str(path), "-q", "wai-sr", *extra)
        assert result.exit_code == 0, (name, result.stderr)
        got = read_csv(result.stdout)
        assert [float(r["wai-sr.total"]) for r in got] == expected, name
        assert got[0]["id"] == ("Pé" if name == "latin.csv" else "P000")


def test_stdin_and_a_file_in_the_wrong_encoding(tmp_path: Path) -> None:
    text = "\n".join(",".join(r) for r in [WAI_HEADER, *wai_rows(2)]) + "\n"
    result = run("-", "-q", "wai-sr", stdin=text)
    assert result.exit_code == 0, result.stderr
    assert [r["row"] for r in read_csv(result.stdout)] == ["2", "3"]
    assert "read 2 rows from stdin" in result.stderr
    bad = tmp_path / "bad.csv"
    bad.write_bytes(text.replace("P000", "P\xe9").encode("latin-1"))
    wrong = run(str(bad), "-q", "wai-sr")
    assert wrong.exit_code == 6
    assert "is not valid utf-8-sig" in wrong.stderr and "--encoding" in wrong.stderr


@pytest.mark.slow
def test_unreadable_inputs_and_options(tmp_path: Path) -> None:
    assert run(str(tmp_path / "gone.csv"), "-q", "wai-sr").exit_code == 6
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b\n1,2\n1,2,3\n")
    result = run(str(ragged), "-q", "wai-sr")
    assert (
        result.exit_code == 6
        and "ragged.csv: row 3 has 3 cells; the header has 2\n" in result.stderr
    )
    assert run(str(ragged), "-q", "wai-sr", "--sep", "ab").exit_code == 2
    assert run(str(ragged), "-q", "wai-sr", "--encoding", "nope").exit_code == 2
    assert run(str(ragged), "-q", "nope").exit_code == 3
    data = write(tmp_path / "in.csv", WAI_HEADER, wai_rows(1))
    unknown = run(str(data), "-q", "wai-sr", "-o", str(tmp_path / "x.docx"))
    assert unknown.exit_code == 2 and 'extension ".docx"' in unknown.stderr
    assert not (tmp_path / "x.docx").exists()
    assert run(str(data), "-q", "wai-sr", "--to", "sav").exit_code == 2  # binary to stdout
    assert run(str(data), "-q", "wai-sr", "-o", str(data)).exit_code == 2
    named_row = write(tmp_path / "r.csv", ["row", *WAI_HEADER[1:]], wai_rows(1))
    clash = run(str(named_row), "-q", "wai-sr")
    assert clash.exit_code == 2
    assert 'the output would have two columns named "row"' in clash.stderr
    assert run(str(named_row), "-q", "wai-sr", "--id", "row").exit_code == 2


@pytest.mark.slow
def test_a_file_with_only_a_header_scores_nothing(tmp_path: Path) -> None:
    data = tmp_path / "h.csv"
    data.write_text(",".join(WAI_HEADER) + "\n")
    for shape in ("wide", "long"):
        refused = run(str(data), "-q", "wai-sr", "--shape", shape)
        assert refused.exit_code == 1 and refused.stdout == ""
        assert "WARNING: no row was scored" in refused.stderr
        result = run(str(data), "-q", "wai-sr", "--shape", shape, "--allow-empty")
        assert result.exit_code == 0 and len(read_csv(result.stdout)) == 0
        assert "read 0 rows from" in result.stderr


# -- output ---------------------------------------------------------------------------------------


def test_output_file_codebook_and_summary(tmp_path: Path) -> None:
    data = write(tmp_path / "in.csv", WAI_HEADER, wai_rows(4))
    out = tmp_path / "out.csv"
    result = run(str(data), "-q", "wai-sr", "-o", str(out))
    assert result.exit_code == 0
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    lines = result.stderr.splitlines()
    assert f"read 4 rows from {data}" in lines
    assert "wai-sr: 4 scored on every scale, 0 with a score withheld" in lines
    assert "no bad cells" in lines
    assert lines[-1].startswith(f"wrote 4 rows to {out} (codebook: {out}.codebook.json) in ")
    assert lines[-1].endswith(" s")
    assert "1=wai_sr_01" in result.stderr  # the mapping table
    book = json.loads(Path(f"{out}.codebook.json").read_text())
    assert book["rows"] == 4 and book["shape"] == "wide" and book["data_file"] == "out.csv"
    assert book["inputs"] == [
        {
            "file": str(data),
            "rows": 4,
            "header_rows": 1,
            "delimiter": "comma",
            "encoding": "utf-8-sig",
        }
    ]
    names = [c["name"] for c in book["columns"]]
    assert names == list(read_csv(out)[0])
    (q,) = book["questionnaires"]
    assert q["id"] == "wai-sr" and q["content_hash"] == WAI_SR.content_hash()
    assert all("reverse" in s and "missing_rule" in s for s in q["scales"])
    assert book["bad_cells"]["count"] == 0


def test_long_shape_row_order_and_several_files(tmp_path: Path) -> None:
    a = write(tmp_path / "a.csv", WAI_HEADER, wai_rows(2, seed=1))
    b = write(tmp_path / "b.csv", WAI_HEADER, [["Q9", *wai_rows(1, seed=2)[0][1:]]])
    result = run(str(a), str(b), "-q", "wai-sr", "--shape", "long", "--id", "id")
    assert result.exit_code == 0, result.stderr
    rows = read_csv(result.stdout)
    scales = list(WAI_SR.scales)
    assert [(r["file"], r["row"], r["scale"]) for r in rows] == [
        (str(f), n, s) for f, n in [(a, "2"), (a, "3"), (b, "2")] for s in scales
    ]
    assert list(rows[0])[:4] == ["row", "file", "id", "questionnaire"]


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    out, errors = tmp_path / "out.csv", tmp_path / "e.csv"
    data = write(tmp_path / "in.csv", WAI_HEADER, wai_rows(3))
    result = run(str(data), "-q", "wai-sr", "-o", str(out), "--errors", str(errors), "--dry-run")
    assert result.exit_code == 0
    assert "dry run, nothing written: a run would write 3 rows" in result.stderr
    assert "1=wai_sr_01" in result.stderr and "read 3 rows" in result.stderr
    bad = run(
        str(bad_file(tmp_path)),
        "-q",
        "wai-sr",
        "-o",
        str(out),
        "--errors",
        str(errors),
        "--dry-run",
    )
    assert bad.exit_code == 65
    assert "a run would stop at the bad cells (exit 65)" in bad.stderr
    assert "often-ish" in bad.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "in.csv"]


@pytest.mark.slow
def test_pandas_stays_off_the_help_path() -> None:
    code = (
        "import sys\n"
        "from alliance_cli.cli import main\n"
        "sys.argv = ['alliance', 'batch', '--help']\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "print('PANDAS=' + str('pandas' in sys.modules), file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "PANDAS=False" in proc.stderr
    assert "Example:  alliance batch study.csv -q wai-sr -o scores.csv" in proc.stdout


def test_unknown_id_column_and_a_map_for_another_questionnaire(tmp_path: Path) -> None:
    data = write(tmp_path / "in.csv", ["participant", *WAI_HEADER[1:]], wai_rows(1))
    result = run(str(data), "-q", "wai-sr", "--id", "partcipant")
    assert result.exit_code == 2
    assert f'error: {data} has no column "partcipant"; did you mean "participant"?' in (
        result.stderr
    )
    mapping = tmp_path / "map.yaml"
    mapping.write_text("questionnaires:\n  srs:\n    columns: {a: 1}\n")
    other = run(str(data), "-q", "wai-sr", "--map", str(mapping))
    assert other.exit_code == 2
    assert (
        f'error: {mapping}:2:3 questionnaires.srs: the map names "srs", which is not among the '
        "questionnaires asked for (-q wai-sr)" in other.stderr
    )


def test_columns_that_look_like_unknown_items_are_kept_with_a_notice(tmp_path: Path) -> None:
    data = write(tmp_path / "in.csv", [*WAI_HEADER, "wai_sr_13"], [[*wai_rows(1)[0], "x"]])
    result = run(str(data), "-q", "wai-sr")
    assert result.exit_code == 0
    assert (
        'notice: column "wai_sr_13" looks like an item of wai-sr, which has no item "13"; kept '
        "as it is" in result.stderr
    )
    assert read_csv(result.stdout)[0]["wai_sr_13"] == "x"


def test_stdout_has_no_codebook_unless_asked(tmp_path: Path) -> None:
    data = write(tmp_path / "in.csv", WAI_HEADER, wai_rows(2))
    result = run(str(data), "-q", "wai-sr", "-o", "-")
    assert result.exit_code == 0 and len(read_csv(result.stdout)) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]
    book = tmp_path / "book.json"
    assert run(str(data), "-q", "wai-sr", "--codebook", str(book)).exit_code == 0
    assert json.loads(book.read_text())["data_file"] is None
