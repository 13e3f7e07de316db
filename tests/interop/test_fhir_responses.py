"""FHIR QuestionnaireResponses in: ``alliance score ID --fhir FILE`` and ``alliance batch
FILE.json|.ndjson -q ID`` (one response, a Bundle, NDJSON), on hand-written responses to the
tiny test questionnaire and to the bundled WAI-SR (linkIds are item ids; answers as
``valueCoding`` of alliance's answer system, ``valueInteger`` or ``valueDecimal``)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from alliance_cli.errors import InputFileError
from alliance_cli.interop.fhir_responses import one_response, read_resources, responses_table
from alliance_cli.model import Questionnaire
from tests.helpers import TINY_YAML, run

TINY_SYSTEM = "urn:alliance:questionnaire:tiny:answers"
TINY_URL = "urn:alliance:questionnaire:tiny"


def coding(value: object, system: str = TINY_SYSTEM) -> dict[str, Any]:
    return {"valueCoding": {"system": system, "code": str(value)}}


def response(
    rid: str,
    answers: dict[str, dict[str, Any]],
    *,
    questionnaire: str | None = f"{TINY_URL}|1",
    subject: str | None = None,
    authored: str = "2026-03-02T10:00:00Z",
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": rid,
        "status": "completed",
        "authored": authored,
        "item": [{"linkId": k, "answer": [v]} for k, v in answers.items()],
    }
    if questionnaire is not None:
        resource["questionnaire"] = questionnaire
    if subject is not None:
        resource["subject"] = {"reference": subject}
    return resource


# Three responses, scored by hand (warmth = a + reversed b (6 - b), a sum; work = the mean
# of c, d, a with at least 2 answered, prorated):
#   r1: a=5 b=2 c=4 d=3  -> warmth 5 + 4 = 9;  work (4 + 3 + 5) / 3 = 4
#   r2: a=2 b=5 c=1 d=   -> warmth 2 + 1 = 3;  work (1 + 2) / 2 = 1.5 (2 of 3 answered)
#   r3: a=4 b=4 c=5 d=9  -> warmth 4 + 2 = 6;  work (5 + 4) / 2 = 4.5 (d does not apply)
THREE = [
    response(
        "r1",
        {"a": coding(5), "b": coding(2), "c": {"valueInteger": 4}, "d": {"valueDecimal": 3.0}},
        subject="Patient/p1",
        authored="2026-03-01T10:00:00Z",
    ),
    response(
        "r2", {"a": coding(2), "b": {"valueInteger": 5}, "c": coding(1)}, subject="Patient/p2"
    ),
    response(
        "r3",
        {"a": coding(4), "b": coding(4), "c": coding(5), "d": coding(9)},
        questionnaire=TINY_URL,  # the canonical without |version is accepted
    ),
]
EXPECTED = [
    ("r1", "Patient/p1", "2026-03-01T10:00:00Z", "9", "4"),
    ("r2", "Patient/p2", "2026-03-02T10:00:00Z", "3", "1.5"),
    ("r3", "", "2026-03-02T10:00:00Z", "6", "4.5"),
]
SAME_AS_CSV = "id,tiny_a,tiny_b,tiny_c,tiny_d\nr1,5,2,4,3\nr2,2,5,1,\nr3,4,4,5,9\n"


@pytest.fixture
def defs(tmp_path: Path) -> Path:
    folder = tmp_path / "defs"
    folder.mkdir()
    (folder / "tiny.yaml").write_text(TINY_YAML, encoding="utf-8")
    return folder


@pytest.fixture
def tiny(defs: Path) -> Questionnaire:
    from alliance_cli.catalog import Catalog

    return Catalog(user_dirs=[defs]).get("tiny")


def ndjson(path: Path, resources: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in resources), encoding="utf-8")
    return path


def bundle(path: Path, resources: list[dict[str, Any]]) -> Path:
    entries = [{"fullUrl": f"urn:uuid:{n}", "resource": r} for n, r in enumerate(resources)]
    path.write_text(
        json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries}),
        encoding="utf-8",
    )
    return path


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def without(found: list[dict[str, str]], *columns: str) -> list[dict[str, str]]:
    return [{k: v for k, v in r.items() if k not in columns} for r in found]


def scores(text: str) -> list[tuple[str, ...]]:
    return [
        (r["id"], r["subject"], r["authored"], r["tiny.warmth"], r["tiny.work"]) for r in rows(text)
    ]


def test_ndjson_responses_score_as_by_hand(tmp_path: Path, defs: Path) -> None:
    result = run("batch", str(ndjson(tmp_path / "r.ndjson", THREE)), "-q", "tiny", "-d", str(defs))
    assert result.exit_code == 0, result.stderr
    assert scores(result.stdout) == EXPECTED
    assert [r["row"] for r in rows(result.stdout)] == ["1", "2", "3"]  # the resource index
    assert "a=tiny.a  b=tiny.b  c=tiny.c  d=tiny.d" in result.stderr


def test_fhir_scores_equal_the_same_answers_given_as_csv(tmp_path: Path, defs: Path) -> None:
    (tmp_path / "same.csv").write_text(SAME_AS_CSV, encoding="utf-8")
    by_csv = run("batch", str(tmp_path / "same.csv"), "-q", "tiny", "-d", str(defs), "--id", "id")
    by_fhir = run("batch", str(bundle(tmp_path / "b.json", THREE)), "-q", "tiny", "-d", str(defs))
    assert by_csv.exit_code == by_fhir.exit_code == 0, by_fhir.stderr
    assert without(
        rows(by_fhir.stdout), "row", "subject", "authored", "questionnaire_url"
    ) == without(rows(by_csv.stdout), "row")


def test_a_bundle_skips_other_resources_reads_groups_and_ignores_scale_items(
    tmp_path: Path, defs: Path
) -> None:
    grouped = {
        "resourceType": "QuestionnaireResponse",
        "id": "g1",
        "questionnaire": f"{TINY_URL}|1",
        "status": "completed",
        "item": [
            {"linkId": "scale.warmth", "answer": [{"valueDecimal": 99}]},
            {
                "linkId": "page1",
                "item": [
                    {"linkId": "a", "answer": [coding(5)]},
                    {"linkId": "b", "answer": [coding(2)]},
                ],
            },
            {"linkId": "c", "answer": [{"valueInteger": 4}]},
            {"linkId": "d", "answer": [{"valueInteger": 3}]},
        ],
    }
    patient = {"resourceType": "Patient", "id": "p1"}
    path = bundle(tmp_path / "b.json", [patient, grouped, patient, THREE[1]])
    result = run("batch", str(path), "-q", "tiny", "-d", str(defs))
    assert result.exit_code == 0, result.stderr
    found = rows(result.stdout)
    assert [(r["row"], r["id"], r["tiny.warmth"], r["tiny.work"]) for r in found] == [
        ("1", "g1", "9", "4"),  # 99 of the calculated item is not taken: the answers are
        ("2", "r2", "3", "1.5"),
    ]


def test_every_bad_answer_is_a_bad_cell_named_by_resource_index_and_link_id(
    tmp_path: Path, defs: Path
) -> None:
    bad = [
        THREE[0],
        response(
            "x2",
            {
                "a": coding(7),  # out of range
                "b": coding(2, "http://loinc.org"),  # another system's code
                "c": {"valueString": "often-ish"},
            },
        ),
        response("x3", {"a": {"valueInteger": 3}, "d": {"valueDecimal": 2.5}}),
        response("x4", {"b": {"valueCoding": {"display": "Often"}}}),  # a display, no code
    ]
    out, errors = tmp_path / "out.csv", tmp_path / "errors.csv"
    path = ndjson(tmp_path / "bad.ndjson", bad)
    result = run("batch", str(path), "-q", "tiny", "-d", str(defs), "-o", str(out), "--errors",
                 str(errors))  # fmt: skip
    assert result.exit_code == 65
    assert not out.exists()
    assert result.stderr.startswith("error: 5 bad cells in 3 rows\n")
    found = [(r["row"], r["column"], r["value"], r["code"]) for r in rows(errors.read_text())]
    assert found == [
        ("2", "tiny.a", "7", "out-of-range"),
        ("2", "tiny.b", "http://loinc.org|2", "unknown-label"),
        ("2", "tiny.c", '{"valueString": "often-ish"}', "unknown-label"),
        ("3", "tiny.d", "2.5", "off-grid"),
        ("4", "tiny.b", '{"display": "Often"}', "unknown-label"),
    ]


def test_invalid_missing_scores_bad_answers_as_missing_like_any_bad_cell(
    tmp_path: Path, defs: Path
) -> None:
    bad = [response("x1", {"a": coding(7), "b": coding(2), "c": coding(4), "d": coding(2)})]
    path = ndjson(tmp_path / "bad.ndjson", bad)
    result = run("batch", str(path), "-q", "tiny", "-d", str(defs), "--invalid", "missing")
    assert result.exit_code == 0, result.stderr
    (found,) = rows(result.stdout)
    assert (found["tiny.warmth"], found["tiny.work"]) == ("", "3")  # (4 + 2) / 2


def test_a_response_for_another_questionnaire_is_refused_by_name(
    tmp_path: Path, defs: Path
) -> None:
    others = [
        THREE[0],
        response("phq", {"1": {"valueInteger": 2}}, questionnaire="http://example.org/Q/phq-9"),
        response("v2", {"a": coding(3)}, questionnaire=f"{TINY_URL}|2"),
    ]
    out = tmp_path / "out.csv"
    path = ndjson(tmp_path / "mixed.ndjson", others)
    result = run("batch", str(path), "-q", "tiny", "-d", str(defs), "-o", str(out))
    assert result.exit_code == 6
    assert not out.exists()
    assert (
        f'error: {path} response 2 (id "phq"): is for questionnaire '
        '"http://example.org/Q/phq-9", not tiny\n'
    ) in result.stderr
    assert (
        f'error: {path} response 3 (id "v2"): is for version "2" of tiny; this definition '
        'is version "1"\n'
    ) in result.stderr


def test_bundled_wai_sr_by_fhir_equals_csv(tmp_path: Path) -> None:
    system = "urn:alliance:questionnaire:wai-sr:answers"
    answers = [[5, 4, 4, 5, 3, 4, 5, 4, 4, 5, 4, 4], [1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 1, 2]]
    resources = [
        response(
            f"w{n}",
            {str(k): coding(v, system) for k, v in enumerate(row, 1)},
            questionnaire="urn:alliance:questionnaire:wai-sr|" + _wai_version(),
        )
        for n, row in enumerate(answers, 1)
    ]
    header = "id," + ",".join(f"wai_sr_{k:02d}" for k in range(1, 13))
    lines = [header] + [f"w{n}," + ",".join(map(str, r)) for n, r in enumerate(answers, 1)]
    (tmp_path / "same.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    by_csv = run("batch", str(tmp_path / "same.csv"), "-q", "wai-sr", "--id", "id")
    by_fhir = run("batch", str(ndjson(tmp_path / "w.ndjson", resources)), "-q", "wai-sr")
    assert by_csv.exit_code == by_fhir.exit_code == 0, by_fhir.stderr
    fhir_rows = without(rows(by_fhir.stdout), "row", "subject", "authored", "questionnaire_url")
    assert fhir_rows == without(rows(by_csv.stdout), "row")
    assert fhir_rows[0]["wai-sr.goal"] != ""


def _wai_version() -> str:
    return _version("wai-sr")


def _version(qid: str) -> str:
    from alliance_cli.catalog import Catalog

    return Catalog().get(qid).version


def _vas(qid: str, rid: str, marks: list[float]) -> dict[str, Any]:
    answers = {str(k): {"valueDecimal": v} for k, v in enumerate(marks, 1)}
    return response(rid, answers, questionnaire=f"urn:alliance:questionnaire:{qid}|{_version(qid)}")


@pytest.mark.parametrize("chunk", ["10", "100"])
def test_a_bundle_of_two_questionnaires_scores_each_response_as_its_own(
    tmp_path: Path, chunk: str
) -> None:
    # export --all --format fhir writes SRS and ORS responses into one Bundle; -q srs -q ors
    # scores each response as the questionnaire it names, not as both
    mixed = bundle(
        tmp_path / "all.json",
        [
            _vas(q, f"{q[0]}{n}", [5, 6, 7, 8] if q == "ors" else [9, 9.5, 8, 10])
            for n in range(1, 7)
            for q in ("ors", "srs")
        ],
    )  # 12 responses: chunks of 10 end inside the Bundle
    result = run("batch", str(mixed), "-q", "srs", "-q", "ors", "--chunk-size", chunk)
    assert result.exit_code == 0, result.stderr
    found = {r["id"]: r for r in rows(result.stdout)}
    other = "a response to another questionnaire (scored as that one)"
    assert (found["o1"]["ors.total"], found["o1"]["ors.withheld"]) == ("26", "")
    assert (found["o1"]["srs.total"], found["o1"]["srs.withheld"]) == ("", other)
    assert (found["s1"]["srs.total"], found["s1"]["srs.withheld"]) == ("36.5", "")
    assert (found["s1"]["ors.total"], found["s1"]["ors.withheld"]) == ("", other)
    assert found["s1"]["questionnaire_url"] == f"urn:alliance:questionnaire:srs|{_version('srs')}"
    # no response is counted as withheld for the questionnaire it does not answer
    assert len(found) == 12
    assert {r["srs.total"] for r in found.values() if r["id"][0] == "o"} == {""}
    assert "srs: 6 scored on every scale, 0 with a score withheld" in result.stderr
    assert "ors: 6 scored on every scale, 0 with a score withheld" in result.stderr


def test_reliability_and_quality_read_fhir_too_each_response_as_its_own(tmp_path: Path) -> None:
    marks = {"ors": [[5, 6, 7, 8], [2, 3, 3, 4], [7, 7, 8, 9]], "srs": [[9, 9.5, 8, 10]] * 3}
    mixed = bundle(
        tmp_path / "all.json",
        [_vas(q, f"{q[0]}{n}", marks[q][n]) for n in range(3) for q in ("ors", "srs")],
    )
    result = run("reliability", str(mixed), "-q", "srs", "-q", "ors", "--json")
    assert result.exit_code == 0, result.stderr
    scales = {s["questionnaire"]: s for s in json.loads(result.stdout)["scales"]}
    assert (scales["ors"]["n_rows"], scales["ors"]["n_complete"]) == (3, 3)  # its own, not 6
    assert scales["ors"]["mean"] == pytest.approx((26 + 12 + 31) / 3)
    result = run("quality", str(mixed), "-q", "srs", "-q", "ors", "--json")
    assert result.exit_code == 0, result.stderr
    flags = {f["flag"]: f for f in json.loads(result.stdout)["flags"]}
    # every SRS response marks 9, 9.5, 8, 10: no run, no zero IRV; counted over its own 3
    assert (flags["srs.irv"]["computed"], flags["srs.irv"]["caught"]) == (3, 0)
    assert flags["ors.longstring"]["computed"] == 3


def test_ndjson_is_read_a_line_at_a_time(tmp_path: Path) -> None:
    from alliance_cli.interop.fhir_responses import iter_resources

    path = tmp_path / "r.ndjson"
    path.write_text(json.dumps(THREE[0]) + "\n" + json.dumps(THREE[1]) + "\n{oops\n", "utf-8")
    read = iter_resources(path, "r.ndjson")
    assert next(read)["id"] == "r1"  # given before the bad third line is parsed
    assert next(read)["id"] == "r2"
    with pytest.raises(InputFileError, match=r"r\.ndjson:3"):
        next(read)


# -- alliance score --fhir --------------------------------------------------------------------


def test_score_fhir_equals_score_answers(tmp_path: Path, defs: Path) -> None:
    path = tmp_path / "one.json"
    path.write_text(json.dumps(THREE[1]), encoding="utf-8")
    by_fhir = run("score", "tiny", "--fhir", str(path), "-d", str(defs), "--json")
    by_text = run("score", "tiny", "-a", "2,5,1,", "-d", str(defs), "--json")
    assert by_fhir.exit_code == by_text.exit_code == 0, by_fhir.stderr
    assert json.loads(by_fhir.stdout) == json.loads(by_text.stdout)
    scales = {s["id"]: s["score"] for s in json.loads(by_fhir.stdout)["scales"]}
    assert scales == {"warmth": 3, "work": 1.5}


def test_score_fhir_reports_bad_answers(tmp_path: Path, defs: Path) -> None:
    path = tmp_path / "one.json"
    path.write_text(json.dumps(response("x", {"a": coding(7), "zz": coding(1)})), "utf-8")
    result = run("score", "tiny", "--fhir", str(path), "-d", str(defs))
    assert result.exit_code == 4
    assert 'item "a"' in result.stderr and "7 is not allowed" in result.stderr


def test_score_fhir_scores_and_names_answers_to_link_ids_that_are_no_item(
    tmp_path: Path, defs: Path
) -> None:
    # as batch leaves out (and names) the columns that are no item
    answers = {"a": coding(5), "b": coding(2), "c": coding(4), "d": coding(3), "zz": coding(1)}
    path = tmp_path / "one.json"
    path.write_text(json.dumps(response("x", answers)), "utf-8")
    result = run("score", "tiny", "--fhir", str(path), "-d", str(defs), "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    note = 'not scored: answers to linkIds that are no item of this questionnaire: "zz"'
    assert report["warnings"] == [note]
    assert {s["id"]: s["score"] for s in report["scales"]} == {"warmth": 9, "work": 4}


def test_score_fhir_reads_standard_input(tmp_path: Path, defs: Path) -> None:
    text = json.dumps(
        response("x", {"a": coding(5), "b": coding(2), "c": coding(4), "d": coding(3)})
    )
    result = run("score", "tiny", "--fhir", "-", "-d", str(defs), "--json", stdin=text)
    assert result.exit_code == 0, result.stderr
    assert {s["id"]: s["score"] for s in json.loads(result.stdout)["scales"]} == {
        "warmth": 9,
        "work": 4,
    }
    result = run("score", "tiny", "--fhir", "-", "-d", str(defs), stdin="[]")
    assert result.exit_code == 6
    assert "error: stdin: not a FHIR resource" in result.stderr


def test_score_fhir_refuses_several_responses_other_questionnaires_and_both_inputs(
    tmp_path: Path, defs: Path
) -> None:
    several = ndjson(tmp_path / "r.ndjson", THREE)
    result = run("score", "tiny", "--fhir", str(several), "-d", str(defs))
    assert result.exit_code == 6
    assert f"error: {several}: holds 3 responses; score reads one\n" in result.stderr
    other = tmp_path / "other.json"
    other.write_text(json.dumps(response("o", {}, questionnaire="http://x.org/Q/gad7")), "utf-8")
    result = run("score", "tiny", "--fhir", str(other), "-d", str(defs))
    assert result.exit_code == 6
    assert '(id "o"): is for questionnaire "http://x.org/Q/gad7", not tiny' in result.stderr
    result = run("score", "tiny", "--fhir", str(other), "-a", "1,2,3,4", "-d", str(defs))
    assert result.exit_code == 2


# -- the reader itself ------------------------------------------------------------------------


def test_malformed_ndjson_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "r.ndjson"
    path.write_text(json.dumps(THREE[0]) + "\n\n" + '{"resourceType": \n', encoding="utf-8")
    with pytest.raises(InputFileError) as caught:
        read_resources(path)
    assert caught.value.problems[0].location == f"{path}:3"
    assert caught.value.exit_code == 6


def test_a_file_without_responses_or_not_fhir_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text('{"resourceType": "Patient", "id": "p"}', encoding="utf-8")
    with pytest.raises(InputFileError, match="no QuestionnaireResponse in the file"):
        read_resources(path)
    path.write_text('{"answers": [1, 2]}', encoding="utf-8")
    with pytest.raises(InputFileError, match="not a FHIR resource"):
        read_resources(path)


def test_the_table_has_ids_kept_date_and_every_answer_as_text(
    tmp_path: Path, tiny: Questionnaire
) -> None:
    extra = response("e", {"a": coding(3), "b": coding(1), "note": {"valueString": "hi"}})
    extra["item"][0]["answer"].append(coding(4))  # two answers to one item
    read = responses_table(ndjson(tmp_path / "r.ndjson", [*THREE, extra]), [tiny])
    table = read.table
    assert table.columns == ("id", "subject", "authored", "questionnaire_url", "tiny.a", "tiny.b",
                             "tiny.c", "tiny.d", "tiny.note")  # fmt: skip
    assert (read.ids, read.optional_ids) == (("id", "subject"), ("subject",))
    assert read.keep == ("authored", "questionnaire_url")
    assert (read.owner, dict(read.owners)) == (
        "questionnaire_url",
        {f"{TINY_URL}|1": "tiny", TINY_URL: "tiny"},  # THREE names tiny with and without version
    )
    assert table.rows.tolist() == [1, 2, 3, 4]
    assert table.frame.iloc[3].tolist() == ["e", "", "2026-03-02T10:00:00Z", f"{TINY_URL}|1",
                                            "3; 4", "1", "", "",
                                            '{"valueString": "hi"}']  # fmt: skip
    assert table.frame.iloc[0, 7] == "3"  # valueDecimal 3.0 reads as 3


def test_one_response_without_a_questionnaire_is_taken_as_the_one_scored(
    tmp_path: Path, tiny: Questionnaire
) -> None:
    path = tmp_path / "one.json"
    path.write_text(json.dumps(response("n", {"a": coding(2)}, questionnaire=None)), "utf-8")
    assert one_response(path, tiny).answers == {"a": "2"}


def test_a_map_file_names_the_link_id_columns_and_recodes_them(tmp_path: Path, defs: Path) -> None:
    spec = tmp_path / "map.yaml"
    spec.write_text(
        "questionnaires:\n  tiny: {columns: {tiny.a: a, tiny.b: b, tiny.c: c, "
        'tiny.d: {item: d, recode: {"3": 2}}}}\n',
        encoding="utf-8",
    )
    path = ndjson(tmp_path / "r.ndjson", THREE[:1])
    result = run("batch", str(path), "-q", "tiny", "-d", str(defs), "--map", str(spec))
    assert result.exit_code == 0, result.stderr
    (found,) = rows(result.stdout)
    assert (found["tiny.warmth"], found["tiny.work"]) == ("9", "3.6666666667")  # (4 + 2 + 5) / 3


# -- review fixes -----------------------------------------------------------------------------


def test_score_fhir_records_the_authored_date_and_warns_of_another_subject(
    tmp_path: Path, defs: Path
) -> None:
    from alliance_cli.clinic.store import Store

    db = tmp_path / "h.sqlite3"
    one = response(
        "x", {"a": coding(2)}, subject="Patient/C-OTHER1", authored="2026-03-01T23:30:00+01:00"
    )
    path = tmp_path / "one.json"
    path.write_text(json.dumps(one), "utf-8")
    result = run("score", "tiny", "--fhir", str(path), "-d", str(defs), "-c", "C-7KQ2MX",
                 "--new-client", "--db", str(db), "--json")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert 'names "Patient/C-OTHER1"' in result.stderr and "C-7KQ2MX" in result.stderr
    assert any("C-OTHER1" in w for w in json.loads(result.stdout)["recorded"]["warnings"])
    # --date wins over authored; the same client named by identifier gives no warning
    one["subject"] = {"identifier": {"system": "urn:alliance:client", "value": "C-7KQ2MX"}}
    path.write_text(json.dumps(one), "utf-8")
    result = run("score", "tiny", "--fhir", str(path), "-d", str(defs), "-c", "C-7KQ2MX",
                 "--db", str(db), "--date", "2026-02-01", "--session", "2")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "names" not in result.stderr
    with Store(db) as store:
        dates = [a.administered_at for a in store.history("C-7KQ2MX", "tiny")]
    assert sorted(dates) == ["2026-02-01", "2026-03-01"]


def test_a_subject_given_by_identifier_is_read_into_the_subject_column(
    tmp_path: Path, tiny: Questionnaire
) -> None:
    one = response("i", {"a": coding(2)})
    one["subject"] = {"identifier": {"system": "urn:alliance:client", "value": "C-7KQ2MX"}}
    read = responses_table(ndjson(tmp_path / "r.ndjson", [one, THREE[0]]), [tiny])
    assert read.table.frame[1].tolist() == ["C-7KQ2MX", "Patient/p1"]


def test_deep_nesting_a_device_and_a_huge_file_are_refused_naming_the_file(
    tmp_path: Path, defs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from alliance_cli.interop import fhir_responses

    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000, encoding="utf-8")
    for args in (("score", "tiny", "--fhir", str(deep)), ("batch", str(deep), "-q", "tiny")):
        result = run(*args, "-d", str(defs))
        assert result.exit_code == 6, result.stderr
        assert f"error: {deep}" in result.stderr and "nested too deeply" in result.stderr
    result = run("score", "tiny", "--fhir", "/dev/zero", "-d", str(defs))
    assert result.exit_code == 6 and "not a regular file" in result.stderr
    path = tmp_path / "one.json"
    path.write_text(json.dumps(THREE[0]), "utf-8")
    monkeypatch.setattr(fhir_responses, "MAX_FHIR_BYTES", 100)
    with pytest.raises(InputFileError, match="larger than the limit of 100 bytes"):
        read_resources(path)


def test_a_pretty_printed_document_is_refused_at_its_error_not_read_as_ndjson(
    tmp_path: Path,
) -> None:
    path = tmp_path / "one.json"
    text = json.dumps(THREE[0], indent=2)
    lines = text.splitlines()
    assert len(lines) > 21
    lines[20] = lines[20] + " oops"
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(InputFileError) as caught:
        read_resources(path)
    assert caught.value.problems[0].location == f"{path}:21:{len(lines[20]) - 3}"
    # NDJSON in a .json file is still read when its first line is a document alone
    assert len(read_resources(ndjson(tmp_path / "three.json", THREE))) == 3


def test_a_value_string_is_a_bad_cell_as_the_readme_says(tmp_path: Path, defs: Path) -> None:
    one = response("s", {"a": {"valueString": "5"}, "b": coding(2), "c": coding(4)})
    path = ndjson(tmp_path / "r.ndjson", [one])
    result = run("batch", str(path), "-q", "tiny", "-d", str(defs))
    assert result.exit_code == 65, result.stderr
    assert "tiny.a" in result.stderr and "valueString" in result.stderr
    single = tmp_path / "one.json"
    single.write_text(json.dumps(one), "utf-8")
    result = run("score", "tiny", "--fhir", str(single), "-d", str(defs))
    assert result.exit_code == 4 and "valueString" in result.stderr


def test_malformed_answers_and_items_are_reported_never_dropped(
    tmp_path: Path, defs: Path, tiny: Questionnaire
) -> None:
    one = response("m", {"b": coding(2), "c": coding(4)})
    one["item"].append({"linkId": "a", "answer": {"valueInteger": 5}})  # not a list
    read = responses_table(ndjson(tmp_path / "r.ndjson", [one]), [tiny])
    cell = read.table.frame.iloc[0, read.table.columns.index("tiny.a")]
    assert "not a list" in cell and '"valueInteger": 5' in cell
    result = run("batch", str(tmp_path / "r.ndjson"), "-q", "tiny", "-d", str(defs))
    assert result.exit_code == 65 and "tiny.a" in result.stderr
    grouped = response("g", {"b": coding(2)})
    grouped["item"].append({"linkId": "g", "item": {"linkId": "a", "answer": [coding(5)]}})
    path = ndjson(tmp_path / "g.ndjson", [grouped])
    result = run("batch", str(path), "-q", "tiny", "-d", str(defs))
    assert result.exit_code == 6
    assert 'response 1 (id "g"): item "g": its item is not a list' in result.stderr


def test_a_response_entered_in_error_is_refused_by_name(tmp_path: Path, defs: Path) -> None:
    wrong = response("w", {"a": coding(5), "b": coding(2)}) | {"status": "entered-in-error"}
    path = ndjson(tmp_path / "r.ndjson", [THREE[0], wrong])
    result = run("batch", str(path), "-q", "tiny", "-d", str(defs))
    assert result.exit_code == 6
    assert 'response 2 (id "w"): has status "entered-in-error"' in result.stderr
    single = tmp_path / "one.json"
    single.write_text(json.dumps(wrong), "utf-8")
    result = run("score", "tiny", "--fhir", str(single), "-d", str(defs))
    assert result.exit_code == 6 and "entered-in-error" in result.stderr
