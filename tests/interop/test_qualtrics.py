"""`alliance qualtrics import`: hand-written survey files (our own wording) → map → batch.

Every expected score is computed by hand in the comments; the export CSVs are written here
as Qualtrics writes them (export tags, question text, ImportIds, then the answers)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from alliance_cli.catalog import Catalog
from alliance_cli.errors import InputFileError, UsageError
from alliance_cli.interop.qualtrics import qsf_map
from alliance_cli.research.mapfile import load_map
from tests.helpers import batch, requires, rows_of, run, write

# WAI-SR: Goal = 4, 6, 8, 11 · Task = 1, 2, 10, 12 · Bond = 3, 5, 7, 9 (means, 1–5).
FORWARD = ["Seldom", "Sometimes", "Fairly often", "Very often", "Always"]


def _choices(labels: list[str], ids: list[str]) -> dict[str, Any]:
    return {i: {"Display": label} for i, label in zip(ids, labels, strict=True)}


def matrix(
    tag: str, qid: str, labels: list[str], recodes: dict[str, str] | None, **extra: Any
) -> dict[str, Any]:
    """A 12-statement single-answer matrix; scale points 1..n showing ``labels``."""
    ids = [str(i) for i in range(1, len(labels) + 1)]
    payload: dict[str, Any] = {
        "QuestionID": qid,
        "DataExportTag": tag,
        "QuestionText": "How has our work felt lately?",
        "QuestionType": "Matrix",
        "Selector": "Likert",
        "SubSelector": "SingleAnswer",
        "Choices": {str(i): {"Display": f"our own hint {i}"} for i in range(1, 13)},
        "ChoiceOrder": [str(i) for i in range(1, 13)],
        "Answers": _choices(labels, ids),
        "AnswerOrder": ids,
        **extra,
    }
    if recodes is not None:
        payload["RecodeValues"] = recodes
    return {"SurveyID": "SV_test", "Element": "SQ", "PrimaryAttribute": qid, "Payload": payload}


def mc(tag: str, qid: str, labels: list[str], ids: list[str], recodes: list[str]) -> dict[str, Any]:
    payload = {
        "QuestionID": qid,
        "DataExportTag": tag,
        "QuestionText": f"<p>Our own hint for {tag}</p>",
        "QuestionType": "MC",
        "Selector": "SAVR",
        "Choices": _choices(labels, ids),
        "ChoiceOrder": ids,
        "RecodeValues": dict(zip(ids, recodes, strict=True)),
    }
    return {"SurveyID": "SV_test", "Element": "SQ", "PrimaryAttribute": qid, "Payload": payload}


def block(*qids: str, kind: str = "Default") -> dict[str, Any]:
    return {
        "Type": kind,
        "ID": f"BL_{kind}",
        "BlockElements": [{"Type": "Question", "QuestionID": q} for q in qids],
    }


def qsf(
    path: Path, questions: list[dict[str, Any]], blocks: list[dict[str, Any]] | None = None
) -> Path:
    elements: list[dict[str, Any]] = []
    if blocks is not None:
        elements.append({"SurveyID": "SV_test", "Element": "BL", "Payload": blocks})
    elements += questions
    doc = {
        "SurveyEntry": {"SurveyID": "SV_test", "SurveyName": "alliance test"},
        "SurveyElements": elements,
    }
    path.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    return path


def export(path: Path, tags: list[str], rows: list[list[str]]) -> Path:
    """A Qualtrics CSV export: tags, question text, ImportIds, then a row per response."""
    meta = ["StartDate", "Finished", "ResponseId"]
    lines = [
        [*meta, *tags],
        ["Start Date", "Finished", "Response ID", *(f"How has our work felt? - {t}" for t in tags)],
        ['{"ImportId":"startDate"}', '{"ImportId":"finished"}', '{"ImportId":"_recordId"}']
        + [f'{{"ImportId":"QID{i}"}}' for i in range(len(tags))],
    ]
    for r, row in enumerate(rows):
        lines.append(["2026-11-02 10:00:00", "1", f"R_{r:04d}", *row])
    return write(path, lines)


def scores(text: str) -> list[dict[str, str]]:
    keep = ("ResponseId", "wai-sr.goal", "wai-sr.task", "wai-sr.bond", "wai-sr.total")
    return [{k: r[k] for k in keep} for r in rows_of(text)]


def import_map(tmp_path: Path, survey: Path, *extra: str) -> Path:
    out = tmp_path / "map.yaml"
    result = run("qualtrics", "import", str(survey), "-q", "wai-sr", "-o", str(out), *extra)
    assert result.exit_code == 0, result.output
    return out


# Respondent R_0000, as the definition scores items 1..12: 5 4 5 4 3 5 2 5 1 4 5 5
#   Goal (4,6,8,11) = (4+5+5+5)/4 = 4.75; Task (1,2,10,12) = (5+4+4+5)/4 = 4.5;
#   Bond (3,5,7,9) = (5+3+2+1)/4 = 2.75; Total = 48/12 = 4.
# Respondent R_0001: item 1 = 3, the rest 1: Goal 1, Task (3+1+1+1)/4 = 1.5, Bond 1,
#   Total 14/12 = 1.1666666667 (as batch writes it, ten decimals).
DEFINITION_VALUES = [
    [5, 4, 5, 4, 3, 5, 2, 5, 1, 4, 5, 5],
    [3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
]
EXPECTED = [
    {
        "ResponseId": "R_0000",
        "wai-sr.goal": "4.75",
        "wai-sr.task": "4.5",
        "wai-sr.bond": "2.75",
        "wai-sr.total": "4",
    },
    {
        "ResponseId": "R_0001",
        "wai-sr.goal": "1",
        "wai-sr.task": "1.5",
        "wai-sr.bond": "1",
        "wai-sr.total": "1.1666666667",
    },
]


def test_reversed_recodes_score_always_as_always(tmp_path: Path) -> None:
    # The survey shows Always first and recodes it to 1: the export writes 6 - answer.
    survey = qsf(
        tmp_path / "s.qsf",
        [matrix("alliance", "QID7", FORWARD[::-1], {str(i): str(i) for i in range(1, 6)})],
        [block("QID7")],
    )
    spec = import_map(tmp_path, survey, "--question", "alliance")
    written = yaml.safe_load(spec.read_text(encoding="utf-8"))
    assert written["questionnaires"]["wai-sr"]["recode"] == {"1": 5, "2": 4, "3": 3, "4": 2, "5": 1}
    assert written["questionnaires"]["wai-sr"]["columns"]["alliance_12"] == {"item": "12"}
    assert oct(spec.stat().st_mode & 0o777) == "0o600"
    load_map(spec)  # a valid map file
    tags = [f"alliance_{i}" for i in range(1, 13)]
    raw = [[str(6 - v) for v in row] for row in DEFINITION_VALUES]
    data = export(tmp_path / "export.csv", tags, raw)
    result = batch(str(data), "-q", "wai-sr", "--map", str(spec))
    assert result.exit_code == 0, result.output
    assert scores(result.stdout) == EXPECTED
    result = run("qualtrics", "import", str(survey), "-q", "wai-sr", "--question", "alliance",
                 "-o", str(tmp_path / "again.yaml"), "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["how"] == "question order" and len(summary["items"]) == 12
    assert summary["items"][11] == {"item": "12", "column": "alliance_12", "question": "alliance",
                                    "recode": {"1": 5, "2": 4, "3": 3, "4": 2, "5": 1}}  # fmt: skip
    result = run("qualtrics", "import", str(survey), "-q", "wai-sr", "--json")
    assert result.exit_code == 2 and "write the map with -o FILE" in result.stderr


def test_questions_by_export_tag_with_odd_choice_ids_and_a_trashed_question(tmp_path: Path) -> None:
    # Twelve multiple-choice questions tagged wai_sr_1 … wai_sr_12 (batch's own name
    # pattern). Choice ids 10..14 are not the answers; the recodes 1..5 are, except on
    # wai_sr_3, recoded 11..15. Labels carry HTML and odd case. A deleted question in the
    # Trash block, tagged wai_sr_01 (item 1 again), must not count.
    labels = ["Seldom", "<b>Sometimes</b>", "fairly OFTEN", "Very  often", "Always&nbsp;"]
    ids = ["10", "11", "12", "13", "14"]
    questions = [
        mc(
            f"wai_sr_{i}",
            f"QID{i}",
            labels,
            ids,
            [str(v + (10 if i == 3 else 0)) for v in range(1, 6)],
        )
        for i in range(1, 13)
    ]
    trashed = mc("wai_sr_01", "QID99", labels, ids, ["5", "4", "3", "2", "1"])
    survey = qsf(
        tmp_path / "s.qsf",
        [*questions, trashed],
        [block(*(f"QID{i}" for i in range(1, 13))), block("QID99", kind="Trash")],
    )
    spec = import_map(tmp_path, survey)
    written = yaml.safe_load(spec.read_text(encoding="utf-8"))["questionnaires"]["wai-sr"]
    assert "recode" not in written  # recodes differ per column: written per column
    assert written["columns"]["wai_sr_1"] == {
        "item": "1",
        "recode": {"1": 1, "2": 2, "3": 3, "4": 4, "5": 5},
    }
    assert written["columns"]["wai_sr_3"]["recode"] == {"11": 1, "12": 2, "13": 3, "14": 4, "15": 5}
    assert "wai_sr_01" not in written["columns"]
    # R_0002 left item 4 unanswered (-99, Qualtrics' "seen but not answered"): Goal is
    # prorated from items 6, 8, 11 = 4; Total = 44/11 = 4.
    raw = [[str(v + (10 if j == 2 else 0)) for j, v in enumerate(row)] for row in DEFINITION_VALUES]
    raw.append(["4", "4", "14", "-99", *(["4"] * 8)])
    data = export(tmp_path / "export.csv", [f"wai_sr_{i}" for i in range(1, 13)], raw)
    result = batch(str(data), "-q", "wai-sr", "--map", str(spec))
    assert result.exit_code == 0, result.output
    third = {
        "ResponseId": "R_0002",
        "wai-sr.goal": "4",
        "wai-sr.task": "4",
        "wai-sr.bond": "4",
        "wai-sr.total": "4",
    }
    assert scores(result.stdout) == [*EXPECTED, third]


def test_statement_tags_and_choice_order(tmp_path: Path) -> None:
    wai = Catalog().get("wai-sr")
    forward = {str(i): str(i) for i in range(1, 6)}
    # Statements shown in reverse order: the first shown (choice 12) is item 1.
    shuffled = matrix(
        "alliance", "QID3", FORWARD, forward, ChoiceOrder=[str(i) for i in range(12, 0, -1)]
    )
    found = qsf_map(qsf(tmp_path / "a.qsf", [shuffled]), wai, questions=["alliance"])
    assert [(c.column, c.item) for c in found.columns][:2] == [
        ("alliance_12", "1"),
        ("alliance_11", "2"),
    ]
    assert found.how == "question order"
    # Statement export tags name the columns, and the names find the items.
    own = {str(i): f"WAI_SR_item{i}" for i in range(1, 13)}
    tagged = matrix("block_a", "QID4", FORWARD, forward, ChoiceDataExportTags=own)
    found = qsf_map(qsf(tmp_path / "b.qsf", [tagged]), wai)
    assert found.how == "export tags"
    assert {c.column: c.item for c in found.columns} == {
        f"WAI_SR_item{i}": str(i) for i in range(1, 13)
    }


def test_does_not_apply_maps_to_the_items_code(tmp_path: Path) -> None:
    care = Catalog().get("care")
    labels = ["Poor", "Fair", "Good", "Very good", "Excellent", "Does not apply"]
    ids = ["1", "2", "3", "4", "5", "6"]
    questions = [
        mc(f"care_{i}", f"QID{i}", labels, ids, ["1", "2", "3", "4", "5", "0"])
        for i in range(1, 11)
    ]
    found = qsf_map(qsf(tmp_path / "c.qsf", questions), care)
    na = care.response_scale.not_applicable
    assert na is not None
    assert found.columns[0].recode == {"1": 1, "2": 2, "3": 3, "4": 4, "5": 5, "0": na.values[0]}


# -- refusals ----------------------------------------------------------------------------


def refused(tmp_path: Path, survey: Path, *extra: str) -> Any:
    result = run("qualtrics", "import", str(survey), "-q", "wai-sr", *extra)
    assert not (tmp_path / "map.yaml").exists()
    return result


def test_a_missing_recode_is_refused_with_the_question_named(tmp_path: Path) -> None:
    recodes = {"1": "1", "2": "2", "4": "4", "5": "5"}
    survey = qsf(tmp_path / "s.qsf", [matrix("alliance", "QID7", FORWARD, recodes)])
    result = refused(tmp_path, survey, "--question", "alliance", "-o", str(tmp_path / "map.yaml"))
    assert result.exit_code == 2
    assert (
        f'{survey} question "alliance" (QID7): scale point "Fairly often" (id 3) has no '
        "recode value" in result.stderr
    )
    assert "Recode Values" in result.stderr  # the hint says how to fix it
    # No RecodeValues at all: choice ids are never taken for answers; every point is named.
    bare = qsf(tmp_path / "b.qsf", [matrix("alliance", "QID7", FORWARD, None)])
    with pytest.raises(UsageError) as caught:
        qsf_map(bare, Catalog().get("wai-sr"), questions=["alliance"])
    assert [p.code for p in caught.value.problems] == ["no-recode"] * 5


def test_labels_and_recodes_that_contradict_are_refused(tmp_path: Path) -> None:
    wai = Catalog().get("wai-sr")
    odd = ["Seldom", "Sometimes", "Now and then", "Very often", "Always"]
    clash = {"1": "1", "2": "2", "3": "3", "4": "4", "5": "1"}  # Always and Seldom both 1
    words = {"1": "1", "2": "2", "3": "three", "4": "4", "5": "5"}
    survey = qsf(
        tmp_path / "s.qsf",
        [
            matrix("first", "QID1", odd, {str(i): str(i) for i in range(1, 6)}),
            matrix("second", "QID2", FORWARD, clash),
            matrix("third", "QID3", FORWARD, words),
        ],
    )
    got = []
    for tag in ("first", "second", "third"):
        with pytest.raises(UsageError) as caught:
            qsf_map(survey, wai, questions=[tag])
        got.append([p.render() for p in caught.value.problems])
    where = f"{survey} question"
    assert got == [
        [
            f'{where} "first" (QID1): scale point "Now and then" (id 3) is no label of the '
            'definition\'s scale ("Seldom", "Sometimes", "Fairly often", "Very often", "Always")'
        ],
        [
            f'{where} "second" (QID2): recode value 1 is given to both "Seldom" and "Always", '
            "which the definition scores differently"
        ],
        [
            f'{where} "third" (QID3): scale point "Fairly often" (id 3) has the recode value '
            '"three", not a number'
        ],
    ]


def test_question_order_refusals(tmp_path: Path) -> None:
    forward = {str(i): str(i) for i in range(1, 6)}
    text_entry = {
        "Element": "SQ",
        "Payload": {"QuestionID": "QID9", "DataExportTag": "notes", "QuestionType": "TE"},
    }
    survey = qsf(tmp_path / "s.qsf", [matrix("alliance", "QID7", FORWARD, forward), text_entry])
    unknown = refused(tmp_path, survey, "--question", "aliance")
    assert unknown.exit_code == 2
    assert (
        f'{survey}: no question has the export tag "aliance"; did you mean alliance?'
        in unknown.stderr
    )
    assert "--question TAG" in unknown.stderr
    twice = refused(tmp_path, survey, "--question", "alliance", "--question", "alliance")
    assert (
        f"{survey}: the questions alliance, alliance have 24 columns; wai-sr has 12 items"
        in twice.stderr
    )
    notes = refused(tmp_path, survey, "--question", "notes")
    assert f'{survey} question "notes" (QID9): a TE question holds no items' in notes.stderr


def test_columns_no_pattern_finds_are_refused_with_the_order_option_named(tmp_path: Path) -> None:
    survey = qsf(
        tmp_path / "s.qsf",
        [matrix("alliance", "QID7", FORWARD, {str(i): str(i) for i in range(1, 6)})],
    )
    result = refused(tmp_path, survey)
    assert result.exit_code == 2
    assert "--question TAG" in result.stderr


def test_a_file_that_is_not_a_survey_file(tmp_path: Path) -> None:
    bad = tmp_path / "s.qsf"
    bad.write_text("{not json", encoding="utf-8")
    result = refused(tmp_path, bad)
    assert result.exit_code == 6
    assert f"{bad}: not a Qualtrics survey file (not JSON" in result.stderr
    bad.write_text('{"SurveyEntry": {}}', encoding="utf-8")
    with pytest.raises(InputFileError, match="no SurveyElements list"):
        qsf_map(bad, Catalog().get("wai-sr"))


def test_stdout_gets_the_same_map(tmp_path: Path) -> None:
    survey = qsf(
        tmp_path / "s.qsf",
        [matrix("alliance", "QID7", FORWARD, {str(i): str(i) for i in range(1, 6)})],
    )
    spec = import_map(tmp_path, survey, "--question", "alliance")
    result = run("qualtrics", "import", str(survey), "-q", "wai-sr", "--question", "alliance")
    assert result.exit_code == 0
    assert result.stdout == spec.read_text(encoding="utf-8")
    assert "mapped 12 columns to wai-sr's items by question order" in result.stderr


def test_attacks_markup_in_names_and_the_database_as_output(tmp_path: Path) -> None:
    # A tag and a label that look like rich markup are shown as written, not swallowed.
    labels = ["[bold]Always[/bold]", *FORWARD[3::-1]]
    survey = qsf(
        tmp_path / "s.qsf",
        [matrix("al[x1]", "QID7", labels, {str(i): str(i) for i in range(1, 6)})],
    )
    result = refused(tmp_path, survey, "--question", "al[x1]")
    assert result.exit_code == 2
    assert 'question "al[x1]" (QID7): scale point "[bold]Always[/bold]" (id 1)' in result.stderr
    # The history database is never an output.
    db = tmp_path / "history.sqlite3"
    assert run("new-client", "X1", "--db", str(db)).exit_code == 0
    before = db.read_bytes()
    ok = qsf(
        tmp_path / "ok.qsf",
        [matrix("alliance", "QID7", FORWARD, {str(i): str(i) for i in range(1, 6)})],
    )
    result = run(
        "qualtrics", "import", str(ok), "-q", "wai-sr", "--question", "alliance", "-o", str(db)
    )
    assert result.exit_code == 2
    assert "is an SQLite database" in result.stderr
    assert db.read_bytes() == before


def test_import_never_overwrites_its_survey_file(tmp_path: Path) -> None:
    survey = qsf(
        tmp_path / "s.qsf",
        [matrix("alliance", "QID7", FORWARD, {str(i): str(i) for i in range(1, 6)})],
    )
    before = survey.read_bytes()
    result = run(
        "qualtrics", "import", str(survey), "-q", "wai-sr",
        "--question", "alliance", "-o", str(survey),
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "the output would replace an input file" in result.output
    assert survey.read_bytes() == before


def test_nested_json_and_odd_block_elements_are_no_traceback(tmp_path: Path) -> None:
    deep = tmp_path / "deep.qsf"
    deep.write_text("[" * 100_000, encoding="utf-8")
    result = refused(tmp_path, deep)
    assert result.exit_code == 6, result.output
    assert f"{deep}: not a Qualtrics survey file" in result.stderr
    odd = block("QID7")
    odd["BlockElements"] = ["junk", 7, None, *odd["BlockElements"]]
    survey = qsf(
        tmp_path / "s.qsf",
        [matrix("alliance", "QID7", FORWARD, {str(i): str(i) for i in range(1, 6)})],
        [odd],
    )
    assert import_map(tmp_path, survey, "--question", "alliance").exists()
    result = run("qualtrics", "import", "/dev/zero", "-q", "wai-sr")
    assert result.exit_code == 6, result.output
    assert "not a regular file" in result.output


def test_soft_hyphens_in_labels_match_after_cleanup(tmp_path: Path) -> None:
    shy = [label[:3] + "&shy;" + label[3:] + "\u00ad" for label in FORWARD]
    survey = qsf(
        tmp_path / "s.qsf",
        [matrix("alliance", "QID7", shy, {str(i): str(i) for i in range(1, 6)})],
        [block("QID7")],
    )
    spec = import_map(tmp_path, survey, "--question", "alliance")
    written = yaml.safe_load(spec.read_text(encoding="utf-8"))
    assert written["questionnaires"]["wai-sr"]["recode"] == {"1": 1, "2": 2, "3": 3, "4": 4, "5": 5}


def test_a_full_stdout_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    requires(Path("/dev/full").exists(), "/dev/full (Linux)")

    survey = qsf(
        tmp_path / "s.qsf",
        [matrix("alliance", "QID7", FORWARD, {str(i): str(i) for i in range(1, 6)})],
    )
    args = ["qualtrics", "import", str(survey), "-q", "wai-sr", "--question", "alliance"]
    with open("/dev/full", "wb") as full:
        done = subprocess.run(
            [sys.executable, "-m", "alliance_cli", *args],
            stdout=full,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")},
            timeout=60,
        )
    assert done.returncode == 6, done.stderr
    assert b"Traceback" not in done.stderr
    assert b"stdout: cannot write the file" in done.stderr
