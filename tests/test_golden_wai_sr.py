"""Golden tests for the WAI-SR (Hatcher & Gillaspy 2006), computed by hand from the key.

Key (shared/INSTRUMENTS.md): Goal = 4, 6, 8, 11 · Task = 1, 2, 10, 12 · Bond = 3, 5, 7, 9 ·
Goal+Task = the 8 Goal and Task items · Total = all 12. No reverse items. Scale 1–5. The mean
is the score, the sum is reported beside it. Project default: a 4-item subscale needs 3
answers, Goal+Task 6 of 8, Total 9 of 12; missing items are prorated.
"""

from __future__ import annotations

import pytest

from alliance_cli.catalog import bundled_dir
from alliance_cli.definitions import load_definition
from alliance_cli.model import KeyStatus
from alliance_cli.result import ScoreReport, score


@pytest.fixture(scope="module")
def wai_sr():  # type: ignore[no-untyped-def]
    return load_definition(bundled_dir() / "wai-sr.yaml")


def by_id(report: ScoreReport) -> dict[str, tuple]:  # type: ignore[type-arg]
    return {s.id: (s.score, s.sum, s.answered, s.prorated, s.withheld) for s in report.scales}


def test_key_matches_the_scoring_facts(wai_sr) -> None:  # type: ignore[no-untyped-def]
    assert wai_sr.key_status is KeyStatus.verified
    assert wai_sr.item_ids() == [str(i) for i in range(1, 13)]
    expected = {
        "goal": ["4", "6", "8", "11"],
        "task": ["1", "2", "10", "12"],
        "bond": ["3", "5", "7", "9"],
        "goal_task": ["4", "6", "8", "11", "1", "2", "10", "12"],
        "total": [str(i) for i in range(1, 13)],
    }
    assert {sid: list(s.items) for sid, s in wai_sr.scales.items()} == expected
    assert all(s.reverse == () for s in wai_sr.scales.values())
    assert all(s.method.value == "mean" for s in wai_sr.scales.values())
    rs = wai_sr.response_scale
    assert (rs.min, rs.max, rs.step) == (1, 5, 1)
    assert list(rs.labels.values()) == [
        "Seldom",
        "Sometimes",
        "Fairly often",
        "Very often",
        "Always",
    ]
    needs = {sid: s.missing.required(len(s.items)) for sid, s in wai_sr.scales.items()}
    assert needs == {"goal": 3, "task": 3, "bond": 3, "goal_task": 6, "total": 9}


def test_complete_answers(wai_sr) -> None:  # type: ignore[no-untyped-def]
    report = score(wai_sr, "5,4,4,5,3,4,5,4,4,5,4,4")
    assert by_id(report) == {
        "goal": (4.25, 17, 4, False, False),  # items 4,6,8,11 = 5+4+4+4 = 17 / 4
        "task": (4.5, 18, 4, False, False),  # items 1,2,10,12 = 5+4+5+4 = 18 / 4
        "bond": (4.0, 16, 4, False, False),  # items 3,5,7,9 = 4+3+5+4 = 16 / 4
        "goal_task": (4.375, 35, 8, False, False),  # 17 + 18 = 35 / 8
        "total": (4.25, 51, 12, False, False),  # 17 + 18 + 16 = 51 / 12
    }
    total = report.scales[-1]
    assert total.pomp == pytest.approx(81.25)  # (4.25 − 1) / (5 − 1) × 100
    assert report.flags == [] and report.warnings == []


@pytest.mark.parametrize(
    ("value", "mean", "sums"), [("1", 1.0, (4, 4, 4, 8, 12)), ("5", 5.0, (20, 20, 20, 40, 60))]
)
def test_floor_and_ceiling(wai_sr, value: str, mean: float, sums: tuple) -> None:  # type: ignore[no-untyped-def, type-arg]
    report = score(wai_sr, ",".join([value] * 12))
    assert [s.score for s in report.scales] == [mean] * 5
    assert tuple(s.sum for s in report.scales) == sums
    assert [s.pomp for s in report.scales] == [0.0 if value == "1" else 100.0] * 5


def test_missing_answers_are_prorated(wai_sr) -> None:  # type: ignore[no-untyped-def]
    # 1=2 2=3 3=– 4=5 5=1 6=4 7=2 8=– 9=3 10=4 11=5 12=1
    got = by_id(score(wai_sr, "2,3,,5,1,4,2,,3,4,5,1"))
    # goal: 4,6,11 = 5+4+5 = 14 of 3 → 14/3 = 4.6667; sum 14/3 × 4 = 18.6667
    assert got["goal"] == pytest.approx((14 / 3, 56 / 3, 3, True, False))
    # task: 1,2,10,12 = 2+3+4+1 = 10 → 2.5, complete
    assert got["task"] == (2.5, 10, 4, False, False)
    # bond: 5,7,9 = 1+2+3 = 6 of 3 → 2.0; sum 2.0 × 4 = 8
    assert got["bond"] == (2.0, 8, 3, True, False)
    # goal+task: 5+4+5 + 2+3+4+1 = 24 of 7 → 3.428571; sum 24/7 × 8
    assert got["goal_task"] == pytest.approx((24 / 7, 192 / 7, 7, True, False))
    # total: 30 of 10 → 3.0; sum 3.0 × 12 = 36
    assert got["total"] == (3.0, 36, 10, True, False)


def test_too_few_answers_withhold(wai_sr) -> None:  # type: ignore[no-untyped-def]
    report = score(wai_sr, "5,5,,,,,5,5,5,5,5,5")  # items 3, 4, 5, 6 missing
    got = {s.id: s for s in report.scales}
    assert got["goal"].withheld and got["goal"].score is None  # 8, 11 answered: 2 < 3
    assert got["goal"].withheld_reason == "2 of 4 items answered; at least 3 needed"
    assert got["bond"].withheld  # 7, 9 answered: 2 < 3
    assert (got["task"].score, got["task"].prorated) == (5.0, False)  # 1, 2, 10, 12 all 5
    assert (got["goal_task"].score, got["goal_task"].prorated) == (5.0, True)  # 6 of 8
    assert got["total"].withheld_reason == "8 of 12 items answered; at least 9 needed"


def test_labels_score_like_numbers(wai_sr) -> None:  # type: ignore[no-untyped-def]
    text = (
        "always,very often,fairly often,sometimes,seldom,Always,VERY OFTEN,Fairly Often,"
        "Sometimes,Seldom,always,seldom"
    )
    # 1=5 2=4 3=3 4=2 5=1 6=5 7=4 8=3 9=2 10=1 11=5 12=1
    got = {s.id: s.score for s in score(wai_sr, text).scales}
    assert got == {
        "goal": 3.75,  # 2+5+3+5 = 15 / 4
        "task": 2.75,  # 5+4+1+1 = 11 / 4
        "bond": 2.5,  # 3+1+4+2 = 10 / 4
        "goal_task": 3.25,  # 26 / 8
        "total": 3.0,  # 36 / 12
    }
