"""`alliance fhir questionnaire`: a definition as a FHIR R4 Questionnaire whose calculated
items score as alliance does — checked against a hand-read golden file, the fhir.resources
models, and the reference FHIRPath engine (npm `fhirpath`) on random responses."""

from __future__ import annotations

import json
import math
import random
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alliance_cli.catalog import Catalog
from alliance_cli.definitions import load_definition
from alliance_cli.interop import fhir_common as fc
from alliance_cli.interop.fhir_common import is_choice
from alliance_cli.interop.fhir_questionnaire import questionnaire
from alliance_cli.model import Questionnaire
from alliance_cli.scoring import score_matrix
from tests.helpers import BUNDLED, DATA, REPO, run

INTEROP = DATA / "interop"
MINI = INTEROP / "mini.yaml"
GOLDEN = INTEROP / "mini_fhir.questionnaire.json"
NODE = REPO / "tests" / "interop" / "node"
BUNDLED_IDS = sorted(p.stem for p in BUNDLED.glob("*.yaml"))


def bundled(qid: str) -> Questionnaire:
    return Catalog.from_environment().get(qid)


def by_link(resource: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["linkId"]: item for item in resource["item"]}


def test_golden_file_of_a_small_definition() -> None:
    result = run("fhir", "questionnaire", "mini_fhir", "-d", str(INTEROP))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == json.loads(GOLDEN.read_text("utf-8"))


def test_the_golden_file_says_what_the_definition_says() -> None:
    """Read by hand from mini.yaml, independent of the golden file's bytes."""
    doc = json.loads(GOLDEN.read_text("utf-8"))
    assert doc["url"] == "urn:alliance:questionnaire:mini_fhir"
    assert doc["version"] == "2.0"
    assert doc["id"] == "mini-fhir"  # "_" is not allowed in a resource id
    items = by_link(doc)
    assert list(items) == ["1", "2", "3", "v", "scale.core", "scale.pair", "scale.line"]
    options = items["2"]["answerOption"]
    assert [o["valueCoding"]["code"] for o in options] == ["1", "2", "3", "9"]
    assert [o["valueCoding"]["display"] for o in options] == ["Low", "Middle", "High", "Not for me"]
    assert {o["valueCoding"]["system"] for o in options} == {
        "urn:alliance:questionnaire:mini_fhir:answers"
    }
    # Weights are the answer values, also on the item that "core" reverses; "does not
    # apply" has none.
    assert [o.get("extension") for o in options] == [
        [{"url": fc.ITEM_WEIGHT, "valueDecimal": 1}],
        [{"url": fc.ITEM_WEIGHT, "valueDecimal": 2}],
        [{"url": fc.ITEM_WEIGHT, "valueDecimal": 3}],
        None,
    ]
    # The system is defined by a contained CodeSystem: same weights, none for "not for me"
    # (so an engine looking the code up finds no weight instead of asking a server).
    (answers,) = doc["contained"]
    assert answers["url"] == "urn:alliance:questionnaire:mini_fhir:answers"
    assert [
        (c["code"], c.get("extension", [{}])[0].get("valueDecimal")) for c in answers["concept"]
    ] == [("1", 1), ("2", 2), ("3", 3), ("9", None)]
    assert items["v"]["type"] == "decimal"
    assert items["v"]["extension"] == [
        {"url": fc.MIN_VALUE, "valueDecimal": 0},
        {"url": fc.MAX_VALUE, "valueDecimal": 10},
    ]
    core = items["scale.core"]
    assert core["readOnly"] is True and core["type"] == "decimal"
    keyed, calc = core["extension"]
    assert keyed["valueExpression"]["expression"] == (
        "(%resource.item.where(linkId = '1').answer.value.weight())"
        ".combine(4 - %resource.item.where(linkId = '2').answer.value.weight())"
        ".combine(%resource.item.where(linkId = '3').answer.value.weight())"
    )
    assert calc["url"] == fc.CALCULATED_EXPRESSION
    assert calc["valueExpression"]["expression"] == (
        "iif(%keyed.count() >= 2, iif(%keyed.count() = 3, %keyed.sum(), "
        "%keyed.sum() / %keyed.count() * 3))"
    )
    pair = items["scale.pair"]["extension"][1]["valueExpression"]["expression"]
    assert pair == "iif(%keyed.count() >= 1, %keyed.sum() / %keyed.count())"
    line = items["scale.line"]["extension"]
    # v's "does not apply" code (-1) lies outside 0..10: only numbers in range count.
    assert line[0]["valueExpression"]["expression"] == (
        "(%resource.item.where(linkId = 'v').answer.value.where($this >= 0 and $this <= 10))"
    )
    assert line[1]["valueExpression"]["expression"] == "iif(%keyed.count() = 1, %keyed.sum())"


def test_item_text_overlay_replaces_the_hints(tmp_path: Path) -> None:
    overlay = tmp_path / "w.item-text.yaml"
    overlay.write_text('questionnaire: wai-sr\nitems:\n  "3": "LICENSED WORDING THREE"\n', "utf-8")
    result = run("fhir", "questionnaire", "wai-sr", "--item-text", str(overlay))
    assert result.exit_code == 0, result.output
    items = by_link(json.loads(result.stdout))
    assert items["3"]["text"] == "LICENSED WORDING THREE"
    assert items["4"]["text"] == bundled("wai-sr").item("4").text


def test_output_file_is_private(tmp_path: Path) -> None:
    target = tmp_path / "q.json"
    result = run("fhir", "questionnaire", "srs", "-o", str(target))
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert json.loads(target.read_text("utf-8"))["url"] == "urn:alliance:questionnaire:srs"


def test_unknown_questionnaire_is_refused() -> None:
    result = run("fhir", "questionnaire", "nope")
    assert result.exit_code != 0
    assert 'no questionnaire "nope"' in result.output


@pytest.mark.parametrize("qid", [*BUNDLED_IDS, "mini_fhir"])
def test_every_bundled_definition_is_a_valid_r4_questionnaire(qid: str) -> None:
    from fhir.resources.R4B.questionnaire import Questionnaire as FhirQuestionnaire

    q = load_definition(MINI) if qid == "mini_fhir" else bundled(qid)
    doc = questionnaire(q)
    parsed = FhirQuestionnaire.model_validate(doc)
    assert parsed.url == f"urn:alliance:questionnaire:{q.id}"
    assert len(parsed.item) == len(q.items) + len(q.scales)
    assert [i.linkId for i in parsed.item][-len(q.scales) :] == [f"scale.{s}" for s in q.scales]


# -- the reference FHIRPath engine ------------------------------------------------------


def random_answers(q: Questionnaire, n: int, seed: int) -> np.ndarray:
    """``n`` rows of answers: mostly allowed values, some blank (NaN), some "does not apply"."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        row = []
        for item in q.items:
            rs = q.scale_of(item.id)
            roll = rng.random()
            if roll < 0.12:
                row.append(math.nan)
            elif roll < 0.2 and rs.not_applicable is not None:
                row.append(rs.not_applicable.values[0])
            else:
                row.append(rng.choice(rs.points()))
        rows.append(row)
    return np.array(rows, dtype=float)


def response(q: Questionnaire, row: np.ndarray, index: int) -> dict[str, Any]:
    items = []
    for item, value in zip(q.items, row, strict=True):
        if math.isnan(value):
            continue
        if is_choice(q.scale_of(item.id)):
            answer: dict[str, Any] = {
                "valueCoding": {"system": fc.answer_system(q.id), "code": fc.answer_code(value)}
            }
        else:
            answer = {"valueDecimal": value}
        items.append({"linkId": item.id, "answer": [answer]})
    return {
        "resourceType": "QuestionnaireResponse",
        "id": f"r{index}",
        "questionnaire": fc.canonical(q.id, q.version),
        "status": "completed",
        "item": items,
    }


def fhirpath_scores(doc: dict[str, Any], responses: list[dict[str, Any]]) -> list[Any]:
    node = shutil.which("node")
    if node is None or not (NODE / "node_modules" / "fhirpath").is_dir():
        pytest.fail(
            "the FHIRPath check cannot run: it needs Node.js and `npm ci` in tests/interop/node "
            "(.ci/run does both when it can)"
        )
    out = subprocess.run(
        [node, str(NODE / "evaluate.js")],
        input=json.dumps({"questionnaire": doc, "responses": responses}),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return list(json.loads(out.stdout))


@pytest.mark.slow  # a Node.js child process per questionnaire
@pytest.mark.parametrize("qid", [*BUNDLED_IDS, "mini_fhir"])
def test_calculated_expressions_score_as_alliance_does(qid: str) -> None:
    from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

    q = load_definition(MINI) if qid == "mini_fhir" else bundled(qid)
    values = random_answers(q, 60, seed=len(qid))
    responses = [response(q, row, i) for i, row in enumerate(values)]
    QuestionnaireResponse.model_validate(responses[0])
    got = fhirpath_scores(questionnaire(q), responses)
    scores = score_matrix(q, values)
    withheld = prorated = 0
    for sid, scale in scores.scales.items():
        for i, expected in enumerate(scale.score):
            value = got[i][f"scale.{sid}"]
            if math.isnan(expected):
                withheld += 1
                assert value is None, (sid, i, values[i])
            else:
                prorated += bool(scale.prorated[i])
                assert value == pytest.approx(expected, rel=1e-9, abs=1e-9), (sid, i, values[i])
    # The random answers reach every branch the expressions have.
    assert withheld > 0 or all(s.missing.on_missing.value == "prorate" for s in q.scales.values())
    assert prorated > 0 or all(s.missing.on_missing.value == "withhold" for s in q.scales.values())


def cell(q: Questionnaire, item_id: str) -> st.SearchStrategy[float]:
    """An answer, a blank or a "does not apply" code of one item."""
    rs = q.scale_of(item_id)
    na = list(rs.not_applicable.values) if rs.not_applicable else []
    return st.sampled_from([*rs.points(), math.nan, *na])


MINI_Q = load_definition(MINI)


@pytest.mark.slow  # a Node.js child process per example
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(*(cell(MINI_Q, i) for i in MINI_Q.item_ids())), min_size=1, max_size=30))
def test_round_trip_equals_direct_scoring(
    rows: list[tuple[float, ...]],
) -> None:
    """Definition → Questionnaire → responses → scores by FHIRPath equals direct scoring."""
    values = np.array(rows, dtype=float)
    got = fhirpath_scores(
        questionnaire(MINI_Q), [response(MINI_Q, row, i) for i, row in enumerate(values)]
    )
    for sid, scale in score_matrix(MINI_Q, values).scales.items():
        expected = [None if math.isnan(x) else pytest.approx(x) for x in scale.score]
        assert [g[f"scale.{sid}"] for g in got] == expected
