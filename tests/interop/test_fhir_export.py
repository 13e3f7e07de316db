"""``alliance export --format fhir``: a FHIR R4 Bundle of a QuestionnaireResponse per
administration and an Observation per scale score, checked with the ``fhir.resources`` R4B
models, against the CSV export's scores, through ``alliance batch`` (a round trip) and for
de-identification, on the shared realistic history (tests.helpers.build_history)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

from alliance_cli.catalog import Catalog
from tests.helpers import LONG_NAME, build_history, run


@pytest.fixture
def history(tmp_path: Path) -> tuple[Path, str]:
    db = tmp_path / "history.sqlite3"
    return db, build_history(db)


def fhir_export(db: Path, *args: str) -> dict[str, Any]:
    result = run("export", "--db", str(db), "--format", "fhir", "-o", "-", *args)
    assert result.exit_code == 0, result.stderr
    bundle = json.loads(result.stdout)
    Bundle.model_validate(bundle)  # every resource valid R4(B)
    return bundle


def csv_export(db: Path, *args: str) -> list[dict[str, str]]:
    result = run("export", "--db", str(db), "--shape", "wide", "-o", "-", *args)
    assert result.exit_code == 0, result.stderr
    return list(csv.DictReader(io.StringIO(result.stdout)))


def of_type(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def test_a_response_per_administration_and_an_observation_per_scale_as_the_csv_scores(
    history: tuple[Path, str],
) -> None:
    db, code = history
    bundle = fhir_export(db, "--client", code, "-q", "wai-sr")
    rows = csv_export(db, "--client", code, "-q", "wai-sr")
    responses = of_type(bundle, "QuestionnaireResponse")
    observations = of_type(bundle, "Observation")
    assert len(responses) == len(rows) == 4
    scales = list(Catalog().get("wai-sr").scales)
    assert len(observations) == 4 * len(scales)
    by_url = {e["fullUrl"]: e["resource"] for e in responses}
    for o in (e["resource"] for e in observations):
        (source,) = o["derivedFrom"]
        response = by_url[source["reference"]]  # derivedFrom resolves inside the Bundle
        assert o["effectiveDateTime"] == response["authored"]
        assert (
            o["subject"]
            == response["subject"]
            == {"identifier": {"system": "urn:alliance:client", "value": code}}
        )
    found = sorted(
        (
            by_url[o["derivedFrom"][0]["reference"]]["identifier"]["value"],
            o["code"]["coding"][0]["code"],
            o["valueQuantity"]["value"],
        )
        for o in (e["resource"] for e in observations)
    )
    expected = sorted(
        (r["administration"], scale, float(r[f"wai-sr.{scale}"])) for r in rows for scale in scales
    )
    assert found == expected
    first = responses[0]["resource"]
    assert first["questionnaire"].startswith("urn:alliance:questionnaire:wai-sr|")
    answers = {i["linkId"]: i["answer"][0] for i in first["item"]}
    assert answers["1"] == {
        "valueCoding": {
            "system": "urn:alliance:questionnaire:wai-sr:answers",
            "code": rows[0]["wai-sr.item.1"],
            "display": "Always",  # hand-checked: the first WAI-SR record answers 5
        }
    }
    assert answers["scale.goal"] == {"valueDecimal": float(rows[0]["wai-sr.goal"])}


def test_a_withheld_score_has_a_data_absent_reason_and_no_value(
    history: tuple[Path, str],
) -> None:
    db, code = history
    bundle = fhir_export(db, "--client", code, "-q", "srs")
    observations = [e["resource"] for e in of_type(bundle, "Observation")]
    withheld = [o for o in observations if "valueQuantity" not in o]
    (o,) = withheld  # the ninth SRS leaves an item blank, and the SRS total needs all four
    assert o["dataAbsentReason"]["coding"][0]["code"] == "not-performed"
    assert o["effectiveDateTime"] == "2026-09-27"


def test_the_fhir_export_scores_again_through_batch_as_recorded(
    history: tuple[Path, str], tmp_path: Path
) -> None:
    db, code = history
    path = tmp_path / "srs.json"
    path.write_text(json.dumps(fhir_export(db, "--client", code, "-q", "srs")), "utf-8")
    result = run("batch", str(path), "-q", "srs")
    assert result.exit_code == 0, result.stderr
    found = list(csv.DictReader(io.StringIO(result.stdout)))
    again = [r["srs.total"] for r in found]
    assert again == [r["srs.total"] for r in csv_export(db, "--client", code, "-q", "srs")]
    assert {r["subject"] for r in found} == {code}  # subject.identifier read back


def test_the_whole_export_scores_again_in_one_batch_run_of_all_its_questionnaires(
    history: tuple[Path, str], tmp_path: Path
) -> None:
    # one Bundle of SRS, ORS, WAI-SR and WAI-SR-T responses; each scored as its own
    db, _code = history
    path = tmp_path / "all.json"
    path.write_text(json.dumps(fhir_export(db, "--all")), "utf-8")
    qids = ("srs", "ors", "wai-sr", "wai-sr-t")
    result = run("batch", str(path), *(a for q in qids for a in ("-q", q)))
    assert result.exit_code == 0, result.stderr
    again: dict[str, list[str]] = {q: [] for q in qids}
    for row in csv.DictReader(io.StringIO(result.stdout)):
        (own,) = [q for q in qids if f"urn:alliance:questionnaire:{q}|" in row["questionnaire_url"]]
        again[own].append(row[f"{own}.total"])
        others = {row[f"{q}.withheld"] for q in qids if q != own}
        assert others == {"a response to another questionnaire (scored as that one)"}
    for q in qids:
        assert again[q] == [r[f"{q}.total"] for r in csv_export(db, "--all", "-q", q)], q
    assert all(again.values())


def test_deidentified_no_code_date_name_or_note_and_the_key_maps_back(
    history: tuple[Path, str], tmp_path: Path
) -> None:
    db, code = history
    out, key = tmp_path / "study.json", tmp_path / "key.csv"
    result = run("export", "--db", str(db), "--all", "--format", "fhir", "--deidentify",
                 "--key-file", str(key), "-o", str(out))  # fmt: skip
    assert result.exit_code == 0, result.stderr
    text = out.read_text(encoding="utf-8")
    Bundle.model_validate(json.loads(text))
    for secret in (code, "2026-", LONG_NAME, "K. Ng", "upset about work", "urn:alliance:admin"):
        assert secret not in text
    (entry,) = list(csv.DictReader(io.StringIO(key.read_text(encoding="utf-8"))))
    subjects = {e["resource"]["subject"]["identifier"]["value"] for e in json.loads(text)["entry"]}
    assert subjects == {entry["study_id"]} and entry["client"] == code
    assert "effectiveDateTime" not in text and "authored" not in text


def test_fhir_takes_no_codebook(history: tuple[Path, str], tmp_path: Path) -> None:
    db, code = history
    out = tmp_path / "x.json"
    result = run("export", "--db", str(db), "--client", code, "--format", "fhir", "-o", str(out),
                 "--codebook", str(tmp_path / "cb.json"))  # fmt: skip
    assert result.exit_code == 2
    assert "--codebook goes with --format csv" in result.stderr
    assert not out.exists()
    result = run("export", "--db", str(db), "--client", code, "--format", "fhir", "-o", str(out))
    assert result.exit_code == 0 and out.exists()
    assert not Path(f"{out}.codebook.json").exists()
    assert f"\nwrote 26 responses to {out}\n" in result.stderr  # a response each, not "rows"


@pytest.mark.parametrize(
    ("given", "named"),
    [
        (("--shape", "long"), "--shape goes"),
        (("--shape", "wide"), "--shape goes"),
        (("--no-escape-formulas",), "--no-escape-formulas goes"),
        (("--shape", "wide", "--no-escape-formulas"), "--shape and --no-escape-formulas go"),
    ],
)
def test_fhir_refuses_the_options_of_csv_instead_of_ignoring_them(
    history: tuple[Path, str], tmp_path: Path, given: tuple[str, ...], named: str
) -> None:
    db, code = history
    out = tmp_path / "x.json"
    result = run("export", "--db", str(db), "--client", code, "--format", "fhir", "-o", str(out),
                 *given)  # fmt: skip
    assert result.exit_code == 2
    assert f"error: {named} with --format csv, not fhir" in result.stderr
    assert not out.exists()


def test_a_does_not_apply_answer_is_its_code_with_its_label(tmp_path: Path) -> None:
    from alliance_cli.clinic.store import Store
    from alliance_cli.result import score
    from tests.helpers import record

    care = Catalog().get("care")
    db = tmp_path / "history.sqlite3"
    with Store(db) as store:
        answers = ["6", *["4"] * (len(care.item_ids()) - 1)]  # item 1 does not apply
        record(store, care, score(care, ",".join(answers)), client="C-1", when="2026-05-04")
    bundle = fhir_export(db, "--client", "C-1")
    (response,) = [e["resource"] for e in of_type(bundle, "QuestionnaireResponse")]
    first = response["item"][0]
    assert first == {
        "linkId": "1",
        "answer": [
            {
                "valueCoding": {
                    "system": "urn:alliance:questionnaire:care:answers",
                    "code": "6",
                    "display": "Does not apply",
                }
            }
        ],
    }
    assert response["authored"] == "2026-05-04"
