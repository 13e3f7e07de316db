"""Golden tests for the bundled SRS, ORS and CARE definitions.

Every expected score is worked out by hand (the arithmetic is in a comment beside it) and
written as a literal; the metadata is checked literally against the shared scoring-facts file
(INSTRUMENTS.md), so a typo in a YAML file fails here.
"""

from __future__ import annotations

import pytest

from alliance_cli.catalog import bundled_dir
from alliance_cli.definitions import load_definition
from alliance_cli.errors import ResponseError
from alliance_cli.model import Direction, KeyStatus, Method, OnMissing, Questionnaire
from alliance_cli.result import ScaleResult, ScoreReport, score


@pytest.fixture(scope="module")
def srs() -> Questionnaire:
    return load_definition(bundled_dir() / "srs.yaml")


@pytest.fixture(scope="module")
def ors() -> Questionnaire:
    return load_definition(bundled_dir() / "ors.yaml")


@pytest.fixture(scope="module")
def care() -> Questionnaire:
    return load_definition(bundled_dir() / "care.yaml")


def total(report: ScoreReport) -> ScaleResult:
    (result,) = [s for s in report.scales if s.id == "total"]
    return result


def flag_ids(report: ScoreReport) -> list[tuple[str, str, str | None]]:
    return [(f.kind, f.id, f.item) for f in report.flags]


# -- metadata, literally as in INSTRUMENTS.md ------------------------------------------------


def test_srs_metadata(srs: Questionnaire) -> None:
    assert srs.id == "srs"
    assert srs.aliases == ("session-rating-scale",)
    assert srs.key_status is KeyStatus.verified
    assert srs.item_ids() == ["1", "2", "3", "4"]
    rs = srs.response_scale
    assert (rs.min, rs.max, rs.step) == (0, 10, 0.1)
    assert rs.exclude == ()
    assert rs.not_applicable is None
    assert sorted(rs.labels) == [0, 10]  # labels only at the two ends
    assert list(srs.scales) == ["total"]
    t = srs.scales["total"]
    assert t.items == ("1", "2", "3", "4")
    assert t.reverse == ()
    assert t.method is Method.sum
    assert t.higher_is is Direction.better
    assert t.missing.on_missing is OnMissing.withhold
    assert t.missing.required(4) == 4  # all four items required
    assert srs.scale_range("total") == (0, 40)
    (band,) = t.bands
    assert band.id == "possible-problem"
    assert (band.below, band.at_most, band.above, band.at_least) == (36, None, None, None)
    assert band.flag is True
    assert band.message == (
        "A total below 36 suggests the alliance may be strained; worth discussing with the client."
    )
    (rule,) = srs.item_rules
    assert rule.id == "item-below-9"
    assert (rule.below, rule.at_most, rule.above, rule.at_least) == (9, None, None, None)
    assert rule.items is None  # applies to every item
    assert "vendor guidance" in rule.source.lower()
    assert "not a validated cutoff" in rule.source
    sources = " ".join(srs.key_sources)
    assert '"< 36"' in sources and '"<= 36"' in sources
    assert "at_most: 36" in sources
    assert "34" in sources and "Chinese" in sources
    assert "Miller, Duncan & Johnson" in srs.licence and "2002" in srs.licence


def test_ors_metadata(ors: Questionnaire) -> None:
    assert ors.id == "ors"
    assert ors.aliases == ("outcome-rating-scale",)
    assert ors.key_status is KeyStatus.verified
    assert "outcome" in ors.construct_ and "SRS" in ors.construct_
    assert ors.item_ids() == ["1", "2", "3", "4"]
    rs = ors.response_scale
    assert (rs.min, rs.max, rs.step) == (0, 10, 0.1)
    assert sorted(rs.labels) == [0, 10]
    t = ors.scales["total"]
    assert list(ors.scales) == ["total"]
    assert t.items == ("1", "2", "3", "4")
    assert t.reverse == ()
    assert t.method is Method.sum
    assert t.higher_is is Direction.better
    assert t.missing.required(4) == 4
    assert ors.scale_range("total") == (0, 40)
    (band,) = t.bands  # only the adult cutoff is an active band
    assert band.id == "clinical-range"
    assert (band.below, band.at_most, band.above, band.at_least) == (25, None, None, None)
    assert band.flag is True
    assert ors.item_rules == ()
    text = " ".join(ors.key_sources) + " " + (ors.notes or "")
    assert "32" in text  # children 6–12 (CORS)
    assert "28" in text and "unverified" in text  # adolescents 13–17
    assert "5 points" in text  # reliable change


def test_care_metadata(care: Questionnaire) -> None:
    assert care.id == "care"
    assert care.aliases == ("care-measure",)
    assert care.key_status is KeyStatus.verified
    assert care.item_ids() == [str(i) for i in range(1, 11)]
    rs = care.response_scale
    assert (rs.min, rs.max, rs.step) == (1, 5, 1)
    assert rs.labels == {1: "Poor", 2: "Fair", 3: "Good", 4: "Very good", 5: "Excellent"}
    assert rs.not_applicable is not None
    assert rs.not_applicable.values == (6,)
    assert rs.not_applicable.label == "Does not apply"
    t = care.scales["total"]
    assert list(care.scales) == ["total"]
    assert t.items == tuple(str(i) for i in range(1, 11))
    assert t.reverse == ()
    assert t.method is Method.sum
    assert t.higher_is is Direction.better
    assert (t.missing.min_answered, t.missing.on_missing) == (8, OnMissing.prorate)
    assert care.scale_range("total") == (10, 50)
    assert t.bands == ()
    (norm,) = t.norms
    assert (norm.population, norm.n, norm.mean, norm.sd) == ("primary-care nurses", 774, 45.9, None)
    assert "48%" in (care.notes or "")
    assert care.licence == "Free to use with acknowledgement; © Stewart W. Mercer 2004."
    assert care.citations[0].doi == "10.1093/fampra/cmh621"


@pytest.mark.parametrize("qid", ["srs", "ors", "care"])
def test_header_points_to_item_text_overlay(qid: str) -> None:
    head = (bundled_dir() / f"{qid}.yaml").read_text(encoding="utf-8").split("\nid:")[0]
    assert "NOT the published item wording" in head
    assert f"{qid}.item-text.yaml" in head
    assert "`--item-text FILE`" in head


# -- SRS scoring ------------------------------------------------------------------------------


def test_srs_total_37_1_no_flags(srs: Questionnaire) -> None:
    r = score(srs, "9.2,9.3,9.1,9.5")
    # 9.2 + 9.3 + 9.1 + 9.5 = 37.1; every item >= 9, total >= 36
    assert total(r).score == 37.1
    assert total(r).withheld is False
    assert total(r).band is None
    assert r.flags == []
    assert r.warnings == []  # key is verified


def test_srs_total_37_1_item_rule_only(srs: Questionnaire) -> None:
    r = score(srs, "9.5,8.7,9,9.9")
    # 9.5 + 8.7 + 9.0 + 9.9 = 37.1: no band flag, but item 2 (8.7) is below 9
    assert total(r).score == 37.1
    assert flag_ids(r) == [("item_rule", "item-below-9", "2")]


def test_srs_total_35_9_band_fires(srs: Questionnaire) -> None:
    r = score(srs, "9,9,9,8.9")
    # 9 + 9 + 9 + 8.9 = 35.9 < 36
    assert total(r).score == 35.9
    assert total(r).band == "Possible alliance problem"
    band_flags = [f for f in r.flags if f.kind == "band"]
    (flag,) = band_flags
    assert flag.id == "possible-problem"
    assert "below 36" in flag.rule
    assert flag.value == 35.9
    assert flag.message.startswith("A total below 36 suggests the alliance may be strained")
    # item 4 (8.9) is also below 9
    assert ("item_rule", "item-below-9", "4") in flag_ids(r)


def test_srs_exactly_36_no_flag(srs: Questionnaire) -> None:
    r = score(srs, "9,9,9,9")
    # 9 + 9 + 9 + 9 = 36.0, not below 36; no item below 9
    assert total(r).score == 36
    assert total(r).band is None
    assert r.flags == []


def test_srs_exactly_36_from_decimals_no_flag(srs: Questionnaire) -> None:
    r = score(srs, "9.1,8.9,9.3,8.7")
    # 9.1 + 8.9 + 9.3 + 8.7 = 36.0 (binary rounding must not tip it below 36)
    assert total(r).score == 36
    assert [f for f in r.flags if f.kind == "band"] == []
    assert flag_ids(r) == [
        ("item_rule", "item-below-9", "2"),
        ("item_rule", "item-below-9", "4"),
    ]


def test_srs_item_exactly_9_does_not_fire(srs: Questionnaire) -> None:
    r = score(srs, "9,10,10,10")
    # 9 + 10 + 10 + 10 = 39; 9 is not below 9
    assert total(r).score == 39
    assert r.flags == []


def test_srs_item_below_9_fires(srs: Questionnaire) -> None:
    r = score(srs, "10,10,8.9,10")
    # 10 + 10 + 8.9 + 10 = 38.9 (no band flag); item 3 is 8.9 < 9
    assert total(r).score == 38.9
    (flag,) = r.flags
    assert (flag.kind, flag.id, flag.item, flag.value) == ("item_rule", "item-below-9", "3", 8.9)
    assert flag.rule == "item 3 below 9"
    assert "below 9" in flag.message and "worth asking" in flag.message
    assert "Vendor guidance" in flag.source


def test_srs_missing_item_withholds_total(srs: Questionnaire) -> None:
    r = score(srs, "9.5,,9,9.9")
    t = total(r)
    assert t.score is None and t.sum is None
    assert t.withheld is True
    assert t.withheld_reason == "all 4 items are required; 3 answered"
    assert (t.answered, t.missing) == (3, 1)
    assert r.answers[1].state == "missing"
    assert r.flags == []  # answered items are all >= 9 and there is no total to band


def test_srs_decimal_on_grid_accepted(srs: Questionnaire) -> None:
    r = score(srs, "7.3,10,10,10")
    # 7.3 + 10 + 10 + 10 = 37.3
    assert total(r).score == 37.3
    assert r.answers[0].value == 7.3


def test_srs_off_grid_rejected(srs: Questionnaire) -> None:
    with pytest.raises(ResponseError) as info:
        score(srs, "7.35,10,10,10")
    (problem,) = info.value.problems
    assert problem.code == "bad-answer"
    # the rendered problem names the item and the allowed values
    assert problem.render() == 'item "1": 7.35 is not allowed; allowed: 0–10 in steps of 0.1'
    assert str(info.value) == problem.render()


def test_srs_out_of_range_rejected(srs: Questionnaire) -> None:
    with pytest.raises(ResponseError) as info:
        score(srs, "10,10,10.1,10")
    (problem,) = info.value.problems
    assert problem.render() == 'item "3": 10.1 is not allowed; allowed: 0–10 in steps of 0.1'


# -- ORS scoring ------------------------------------------------------------------------------


def test_ors_24_9_clinical_range(ors: Questionnaire) -> None:
    r = score(ors, "6.2,6.3,6.1,6.3")
    # 6.2 + 6.3 + 6.1 + 6.3 = 24.9 < 25
    assert total(r).score == 24.9
    assert total(r).band == "Clinical range (adults)"
    (flag,) = r.flags
    assert (flag.kind, flag.id, flag.rule) == ("band", "clinical-range", "Total below 25")


def test_ors_25_not_flagged(ors: Questionnaire) -> None:
    r = score(ors, "6.2,6.3,6.2,6.3")
    # 6.2 + 6.3 + 6.2 + 6.3 = 25.0, not below 25
    assert total(r).score == 25
    assert total(r).band is None
    assert r.flags == []


def test_ors_missing_item_withholds_total(ors: Questionnaire) -> None:
    r = score(ors, ",5,5,5")
    assert total(r).score is None
    assert total(r).withheld_reason == "all 4 items are required; 3 answered"


# -- CARE scoring -----------------------------------------------------------------------------


def test_care_complete(care: Questionnaire) -> None:
    r = score(care, "5,5,4,4,5,3,4,5,4,5")
    t = total(r)
    # 5+5+4+4+5+3+4+5+4+5 = 44; mean 44 / 10 = 4.4
    assert (t.score, t.sum, t.mean) == (44, 44, 4.4)
    assert (t.answered, t.missing, t.not_applicable) == (10, 0, 0)
    assert t.prorated is False
    assert t.withheld is False
    assert r.flags == []


def test_care_one_does_not_apply_prorated(care: Questionnaire) -> None:
    r = score(care, "5,5,4,4,4,3,does not apply,5,3,3")
    t = total(r)
    # 9 answered: 5+5+4+4+4+3+5+3+3 = 36; mean 36 / 9 = 4.0; total 4.0 × 10 = 40
    assert (t.score, t.mean) == (40, 4)
    assert (t.answered, t.missing, t.not_applicable) == (9, 0, 1)
    assert t.prorated is True
    assert r.answers[6].state == "not_applicable"
    assert r.answers[6].value == 6  # the data-entry code


def test_care_one_missing_prorated_non_integer(care: Questionnaire) -> None:
    r = score(care, "5,5,5,5,5,5,5,5,4,")
    t = total(r)
    # 9 answered: 8 × 5 + 4 = 44; mean 44 / 9 = 4.888…; total 440 / 9 = 48.888…
    assert t.score == pytest.approx(48.8888888889, abs=1e-9)
    assert t.mean == pytest.approx(4.8888888889, abs=1e-9)
    assert (t.answered, t.missing, t.not_applicable) == (9, 1, 0)
    assert t.prorated is True


def test_care_two_unanswered_prorated(care: Questionnaire) -> None:
    r = score(care, "Does Not Apply,5,4,4,5,,4,5,4,5")
    t = total(r)
    # 8 answered: 5+4+4+5+4+5+4+5 = 36; mean 36 / 8 = 4.5; total 4.5 × 10 = 45
    assert (t.score, t.sum, t.mean) == (45, 45, 4.5)
    assert (t.answered, t.missing, t.not_applicable) == (8, 1, 1)
    assert t.prorated is True
    assert t.withheld is False


def test_care_two_does_not_apply_codes_prorated(care: Questionnaire) -> None:
    r = score(care, "6,6,3,3,3,3,3,3,3,3")
    t = total(r)
    # 8 answered, all 3: sum 24; mean 3.0; total 3.0 × 10 = 30
    assert (t.score, t.mean) == (30, 3)
    assert (t.answered, t.missing, t.not_applicable) == (8, 0, 2)
    assert t.prorated is True


def test_care_three_unanswered_withheld(care: Questionnaire) -> None:
    r = score(care, "does not apply,,,5,5,5,5,5,5,5")
    t = total(r)
    assert t.score is None and t.sum is None and t.mean is None
    assert t.withheld is True
    assert t.withheld_reason == "7 of 10 items answered; at least 8 needed"
    assert (t.answered, t.missing, t.not_applicable) == (7, 2, 1)


def test_care_labels_case_insensitive(care: Questionnaire) -> None:
    r = score(
        care,
        "excellent,Very Good,GOOD,fair,Poor,EXCELLENT,very good,Good,FAIR,poor",
    )
    # 5 + 4 + 3 + 2 + 1 + 5 + 4 + 3 + 2 + 1 = 30; mean 3.0
    assert [a.value for a in r.answers] == [5, 4, 3, 2, 1, 5, 4, 3, 2, 1]
    assert (total(r).score, total(r).mean) == (30, 3)
    assert total(r).prorated is False


def test_care_out_of_range_rejected(care: Questionnaire) -> None:
    with pytest.raises(ResponseError) as info:
        score(care, "5,5,5,5,5,5,5,5,5,7")
    (problem,) = info.value.problems
    assert problem.render() == (
        'item "10": 7 is not allowed; allowed: 1–5 (1 Poor, 2 Fair, 3 Good, 4 Very good, '
        '5 Excellent), or 6 or "Does not apply" for does not apply'
    )
