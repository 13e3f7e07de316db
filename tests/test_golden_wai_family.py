"""Golden tests for the bundled WAI-family and HAq-II definitions.

Every expected score below is computed by hand from the key in /work/shared/INSTRUMENTS.md and
written as a literal with its arithmetic in a comment; nothing here re-implements the engine.
Reverse keying is ``min + max - x``: 8 - x on the 1–7 WAI scales, 7 - x on the 1–6 HAq-II.
The metadata tests copy the keys from INSTRUMENTS.md literally, so a typo in a YAML key fails.
"""

from __future__ import annotations

import pytest

from alliance_cli.catalog import Catalog, bundled_dir
from alliance_cli.definitions import load_definition, normalize_id
from alliance_cli.model import KeyStatus, Method, Questionnaire
from alliance_cli.result import ScaleResult, score

FILES = ("wai-sr-t", "wai-s", "wai", "haq-ii")


def load(qid: str) -> Questionnaire:
    return load_definition(bundled_dir() / f"{qid}.yaml")


def answers(*values: int | None) -> str:
    """Positional answer text; None is a blank (missing) answer."""
    return ",".join("" if v is None else str(v) for v in values)


def scales(q: Questionnaire, text: str) -> dict[str, ScaleResult]:
    return {s.id: s for s in score(q, text).scales}


def assert_scored(s: ScaleResult, mean: float, total: float, answered: int, prorated: bool):
    assert not s.withheld
    assert s.withheld_reason is None
    assert s.score == pytest.approx(mean)  # every scale here uses method: mean
    assert s.mean == pytest.approx(mean)
    assert s.sum == pytest.approx(total)
    assert s.answered == answered
    assert s.prorated is prorated


def assert_withheld(s: ScaleResult, answered: int, reason: str):
    assert s.withheld
    assert s.score is None and s.sum is None and s.mean is None
    assert s.answered == answered
    assert s.prorated is False
    assert s.withheld_reason == reason


# -- metadata against INSTRUMENTS.md ----------------------------------------------------------

WAI_SR_KEY = {
    "goal": ({"4", "6", "8", "11"}, set()),
    "task": ({"1", "2", "10", "12"}, set()),
    "bond": ({"3", "5", "7", "9"}, set()),
    "goal_task": ({"4", "6", "8", "11", "1", "2", "10", "12"}, set()),
    "total": ({str(i) for i in range(1, 13)}, set()),
}
WAI_S_KEY = {
    "bond": ({"3", "5", "7", "9"}, set()),
    "task": ({"1", "2", "8", "12"}, set()),
    "goal": ({"4", "6", "10", "11"}, {"4", "10"}),
    "total": ({str(i) for i in range(1, 13)}, {"4", "10"}),
}
WAI_TASK = {"2", "4", "7", "11", "13", "15", "16", "18", "24", "31", "33", "35"}
WAI_BOND = {"1", "5", "8", "17", "19", "20", "21", "23", "26", "28", "29", "36"}
WAI_GOAL = {"3", "6", "9", "10", "12", "14", "22", "25", "27", "30", "32", "34"}
WAI_REVERSE = {"1", "3", "7", "9", "10", "11", "12", "15", "20", "27", "29", "31", "33", "34"}
WAI_KEY = {
    "task": (WAI_TASK, {"7", "11", "15", "31", "33"}),
    "bond": (WAI_BOND, {"1", "20", "29"}),
    "goal": (WAI_GOAL, {"3", "9", "10", "12", "27", "34"}),
    "total": ({str(i) for i in range(1, 37)}, WAI_REVERSE),
}
HAQ_KEY = {"total": ({str(i) for i in range(1, 20)}, {"4", "8", "11", "16", "19"})}

META = {
    # id: (key_status, respondent, n items, min, max, key, required answers per scale)
    "wai-sr-t": (
        KeyStatus.partial,
        "therapist",
        12,
        1,
        5,
        WAI_SR_KEY,
        {"goal": 3, "task": 3, "bond": 3, "goal_task": 6, "total": 9},
    ),
    "wai-s": (
        KeyStatus.partial,
        "client",
        12,
        1,
        7,
        WAI_S_KEY,
        {"goal": 3, "task": 3, "bond": 3, "total": 9},
    ),
    "wai": (
        KeyStatus.unverified,
        "client",
        36,
        1,
        7,
        WAI_KEY,
        {"task": 9, "bond": 9, "goal": 9, "total": 27},  # 0.75 x 12 = 9, 0.75 x 36 = 27
    ),
    "haq-ii": (
        KeyStatus.partial,
        "client",
        19,
        1,
        6,
        HAQ_KEY,
        {"total": 16},  # 0.8 x 19 = 15.2 -> 16
    ),
}


@pytest.mark.parametrize("qid", FILES)
def test_metadata_matches_instruments(qid: str) -> None:
    status, respondent, n, lo, hi, key, required = META[qid]
    q = load(qid)
    assert q.id == qid
    assert q.key_status is status
    assert q.respondent.value == respondent
    assert q.item_ids() == [str(i) for i in range(1, n + 1)]
    assert (q.response_scale.min, q.response_scale.max, q.response_scale.step) == (lo, hi, 1)
    assert all(item.response_scale is None for item in q.items)
    assert set(q.scales) == set(key)
    for scale_id, (items, reverse) in key.items():
        scale = q.scales[scale_id]
        assert len(scale.items) == len(items), scale_id  # no duplicates hidden by the set
        assert set(scale.items) == items, scale_id
        assert set(scale.reverse) == reverse, scale_id
        assert scale.method is Method.mean
        assert scale.higher_is.value == "better"
        assert scale.missing.on_missing.value == "prorate"
        assert scale.missing.required(len(scale.items)) == required[scale_id], scale_id


def test_wai_subscales_partition_the_items() -> None:
    q = load("wai")
    subscales = [set(q.scales[s].items) for s in ("task", "bond", "goal")]
    assert set.union(*subscales) == set(q.item_ids()) == set(q.scales["total"].items)
    assert sum(len(s) for s in subscales) == 36  # no item in two subscales
    # every reverse item is reversed in its own subscale and in the total
    assert set(q.scales["total"].reverse) == WAI_REVERSE
    for scale in subscales:
        sid = next(k for k in ("task", "bond", "goal") if set(q.scales[k].items) == scale)
        assert set(q.scales[sid].reverse) == WAI_REVERSE & scale


def test_response_labels() -> None:
    seven = {
        1: "Never",
        2: "Rarely",
        3: "Occasionally",
        4: "Sometimes",
        5: "Often",
        6: "Very often",
        7: "Always",
    }
    assert load("wai-s").response_scale.labels == seven
    assert load("wai").response_scale.labels == seven
    assert load("wai-sr-t").response_scale.labels == {
        1: "Seldom",
        2: "Sometimes",
        3: "Fairly often",
        4: "Very often",
        5: "Always",
    }
    labels = load("haq-ii").response_scale.labels
    assert {k: v.casefold() for k, v in labels.items()} == {
        1: "strongly disagree",
        2: "disagree",
        3: "slightly disagree",
        4: "slightly agree",
        5: "agree",
        6: "strongly agree",
    }


def test_haq_ii_norm_is_reliability_only() -> None:
    (norm,) = load("haq-ii").scales["total"].norms
    assert norm.reliability == 0.88
    assert norm.population == "Spanish version, patient form"
    assert norm.mean is None and norm.sd is None and norm.n is None


def test_wai_sr_t_mirrors_wai_sr_key() -> None:
    client, therapist = load("wai-sr"), load("wai-sr-t")
    assert {k: s.items for k, s in client.scales.items()} == {
        k: s.items for k, s in therapist.scales.items()
    }


@pytest.mark.parametrize("qid", FILES)
def test_key_warning_and_overlay_pointer(qid: str) -> None:
    q = load(qid)
    report = score(q, ",".join(["1"] * len(q.items)))
    expected = {"partial": "is partially checked, not verified", "unverified": "is unverified"}
    assert report.warnings[0].startswith(
        f"the scoring key of {qid} {expected[q.key_status.value]} against a primary source"
    )
    header = (bundled_dir() / f"{qid}.yaml").read_text(encoding="utf-8")
    assert f"{qid}.item-text.yaml" in header and "--item-text FILE" in header


def test_aliases_do_not_collide() -> None:
    owner: dict[str, str] = {}
    for q, _ in Catalog(include_bundled=True).all():
        for name in (q.id, *q.aliases):
            key = normalize_id(name)
            assert owner.setdefault(key, q.id) == q.id, f"{name} used by {owner[key]} and {q.id}"
    assert Catalog().get("wai-sf").id == "wai-s"
    assert Catalog().get("haq2").id == "haq-ii"
    assert Catalog().get("wai-36").id == "wai"
    assert Catalog().get("wai-sr-therapist").id == "wai-sr-t"


# -- WAI-SR-T (1–5, no reverse items) ---------------------------------------------------------


def test_wai_sr_t_complete() -> None:
    # items 1..12 = 4,3,5,2,4,3,5,4,3,5,2,4
    s = scales(load("wai-sr-t"), "4,3,5,2,4,3,5,4,3,5,2,4")
    # goal: items 4,6,8,11 = 2+3+4+2 = 11 / 4 = 2.75
    assert_scored(s["goal"], 2.75, 11, 4, False)
    # task: items 1,2,10,12 = 4+3+5+4 = 16 / 4 = 4.0
    assert_scored(s["task"], 4.0, 16, 4, False)
    # bond: items 3,5,7,9 = 5+4+5+3 = 17 / 4 = 4.25
    assert_scored(s["bond"], 4.25, 17, 4, False)
    # goal_task: 11 + 16 = 27 / 8 = 3.375
    assert_scored(s["goal_task"], 3.375, 27, 8, False)
    # total: 11 + 16 + 17 = 44 / 12 = 3.6667
    assert_scored(s["total"], 44 / 12, 44, 12, False)


def test_wai_sr_t_extremes() -> None:
    # No reverse items: all 1 gives the floor and all 5 the ceiling on every scale.
    q = load("wai-sr-t")
    low = scales(q, ",".join(["1"] * 12))
    high = scales(q, ",".join(["5"] * 12))
    # subscales: 4 x 1 = 4 / 4 = 1.0; goal_task 8 x 1 = 8; total 12 x 1 = 12
    for scale_id, n in {"goal": 4, "task": 4, "bond": 4, "goal_task": 8, "total": 12}.items():
        assert_scored(low[scale_id], 1.0, n, n, False)
        # n x 5 / n = 5.0; sums 20, 40, 60
        assert_scored(high[scale_id], 5.0, 5 * n, n, False)
        assert low[scale_id].pomp == pytest.approx(0)
        assert high[scale_id].pomp == pytest.approx(100)


def test_wai_sr_t_missing_prorates() -> None:
    # items 2 and 6 blank: 4,_,5,2,4,_,5,4,3,5,2,4
    s = scales(load("wai-sr-t"), "4,,5,2,4,,5,4,3,5,2,4")
    # goal: items 4,8,11 = 2+4+2 = 8 / 3 = 2.6667; sum 8/3 x 4 = 10.6667
    assert_scored(s["goal"], 8 / 3, 32 / 3, 3, True)
    # task: items 1,10,12 = 4+5+4 = 13 / 3 = 4.3333; sum 13/3 x 4 = 17.3333
    assert_scored(s["task"], 13 / 3, 52 / 3, 3, True)
    # bond: complete, 5+4+5+3 = 17 / 4 = 4.25
    assert_scored(s["bond"], 4.25, 17, 4, False)
    # goal_task: 8 + 13 = 21 / 6 = 3.5; sum 3.5 x 8 = 28
    assert_scored(s["goal_task"], 3.5, 28, 6, True)
    # total: 21 + 17 = 38 / 10 = 3.8; sum 3.8 x 12 = 45.6
    assert_scored(s["total"], 3.8, 45.6, 10, True)


def test_wai_sr_t_withholds() -> None:
    # items 4, 6, 8 blank: 5,4,3,_,2,_,1,_,5,4,3,2
    s = scales(load("wai-sr-t"), "5,4,3,,2,,1,,5,4,3,2")
    # goal: only item 11 answered -> 1 of 4 < 3
    assert_withheld(s["goal"], 1, "1 of 4 items answered; at least 3 needed")
    # task: items 1,2,10,12 = 5+4+4+2 = 15 / 4 = 3.75
    assert_scored(s["task"], 3.75, 15, 4, False)
    # bond: items 3,5,7,9 = 3+2+1+5 = 11 / 4 = 2.75
    assert_scored(s["bond"], 2.75, 11, 4, False)
    # goal_task: items 11,1,2,10,12 answered -> 5 of 8 < 6
    assert_withheld(s["goal_task"], 5, "5 of 8 items answered; at least 6 needed")
    # total: 9 answered (the minimum): 15 + 11 + 3 = 29 / 9 = 3.2222; sum 29/9 x 12 = 38.6667
    assert_scored(s["total"], 29 / 9, 29 * 12 / 9, 9, True)


# -- WAI-S (1–7, items 4 and 10 reversed as 8 - x in goal and total) --------------------------


def test_wai_s_complete() -> None:
    # items 1..12 = 6,5,7,3,6,5,7,6,5,2,6,4
    s = scales(load("wai-s"), "6,5,7,3,6,5,7,6,5,2,6,4")
    # goal: items 4r,6,10r,11 = (8-3)+5+(8-2)+6 = 5+5+6+6 = 22 / 4 = 5.5
    assert_scored(s["goal"], 5.5, 22, 4, False)
    # task: items 1,2,8,12 = 6+5+6+4 = 21 / 4 = 5.25
    assert_scored(s["task"], 5.25, 21, 4, False)
    # bond: items 3,5,7,9 = 7+6+7+5 = 25 / 4 = 6.25
    assert_scored(s["bond"], 6.25, 25, 4, False)
    # total: 22 + 21 + 25 = 68 / 12 = 5.6667
    assert_scored(s["total"], 68 / 12, 68, 12, False)


def test_wai_s_reverse_items_at_the_floor() -> None:
    # all 4 except items 4 = 1 and 10 = 1
    s = scales(load("wai-s"), "4,4,4,1,4,4,4,4,4,1,4,4")
    # goal: (8-1)+4+(8-1)+4 = 7+4+7+4 = 22 / 4 = 5.5   (unreversed it would be 10 / 4)
    assert_scored(s["goal"], 5.5, 22, 4, False)
    # task and bond untouched: 4 x 4 = 16 / 4 = 4.0
    assert_scored(s["task"], 4.0, 16, 4, False)
    assert_scored(s["bond"], 4.0, 16, 4, False)
    # total: 10 x 4 + 7 + 7 = 54 / 12 = 4.5
    assert_scored(s["total"], 4.5, 54, 12, False)


def test_wai_s_reverse_item_at_the_ceiling() -> None:
    # all 4 except item 4 = 7
    s = scales(load("wai-s"), "4,4,4,7,4,4,4,4,4,4,4,4")
    # goal: (8-7)+4+(8-4)+4 = 1+4+4+4 = 13 / 4 = 3.25
    assert_scored(s["goal"], 3.25, 13, 4, False)
    # total: 11 x 4 + 1 = 45 / 12 = 3.75
    assert_scored(s["total"], 3.75, 45, 12, False)


def test_wai_s_missing_prorates() -> None:
    # items 2 and 10 blank: 6,_,7,3,6,5,7,6,5,_,6,4
    s = scales(load("wai-s"), "6,,7,3,6,5,7,6,5,,6,4")
    # goal: items 4r,6,11 = (8-3)+5+6 = 16 / 3 = 5.3333; sum 16/3 x 4 = 21.3333
    assert_scored(s["goal"], 16 / 3, 64 / 3, 3, True)
    # task: items 1,8,12 = 6+6+4 = 16 / 3 = 5.3333; sum 21.3333
    assert_scored(s["task"], 16 / 3, 64 / 3, 3, True)
    # bond: complete 7+6+7+5 = 25 / 4 = 6.25
    assert_scored(s["bond"], 6.25, 25, 4, False)
    # total: 16 + 16 + 25 = 57 / 10 = 5.7; sum 5.7 x 12 = 68.4
    assert_scored(s["total"], 5.7, 68.4, 10, True)


def test_wai_s_withholds() -> None:
    # items 1, 2, 4, 8, 10 blank: _,_,7,_,6,5,7,_,5,_,6,4
    s = scales(load("wai-s"), ",,7,,6,5,7,,5,,6,4")
    # goal: items 6, 11 answered -> 2 of 4 < 3
    assert_withheld(s["goal"], 2, "2 of 4 items answered; at least 3 needed")
    # task: item 12 answered -> 1 of 4 < 3
    assert_withheld(s["task"], 1, "1 of 4 items answered; at least 3 needed")
    # bond: complete 7+6+7+5 = 25 / 4 = 6.25
    assert_scored(s["bond"], 6.25, 25, 4, False)
    # total: 7 of 12 answered < 9
    assert_withheld(s["total"], 7, "7 of 12 items answered; at least 9 needed")


# -- WAI, 36 items (1–7, 14 reverse items as 8 - x in subscale and total) ---------------------

WAI_COMPLETE = [
    2, 6, 3, 5, 6, 5, 2, 7, 1, 2, 3, 2,  # items 1-12
    6, 7, 1, 5, 7, 6, 6, 2, 5, 6, 6, 5,  # items 13-24
    4, 6, 3, 7, 1, 5, 2, 5, 1, 4, 6, 7,  # items 25-36
]  # fmt: skip


def wai_with(blank: set[int]) -> str:
    values: list[int | None] = list(WAI_COMPLETE)
    for item in blank:
        values[item - 1] = None
    return answers(*values)


def test_wai_complete() -> None:
    s = scales(load("wai"), answers(*WAI_COMPLETE))
    # task: 2=6, 4=5, 7r=8-2=6, 11r=8-3=5, 13=6, 15r=8-1=7, 16=5, 18=6, 24=5, 31r=8-2=6,
    #       33r=8-1=7, 35=6 -> 6+5+6+5+6+7+5+6+5+6+7+6 = 70 / 12 = 5.8333
    assert_scored(s["task"], 70 / 12, 70, 12, False)
    # bond: 1r=8-2=6, 5=6, 8=7, 17=7, 19=6, 20r=8-2=6, 21=5, 23=6, 26=6, 28=7, 29r=8-1=7,
    #       36=7 -> 6+6+7+7+6+6+5+6+6+7+7+7 = 76 / 12 = 6.3333
    assert_scored(s["bond"], 76 / 12, 76, 12, False)
    # goal: 3r=8-3=5, 6=5, 9r=8-1=7, 10r=8-2=6, 12r=8-2=6, 14=7, 22=6, 25=4, 27r=8-3=5,
    #       30=5, 32=5, 34r=8-4=4 -> 5+5+7+6+6+7+6+4+5+5+5+4 = 65 / 12 = 5.4167
    assert_scored(s["goal"], 65 / 12, 65, 12, False)
    # total: 70 + 76 + 65 = 211 / 36 = 5.8611
    assert_scored(s["total"], 211 / 36, 211, 36, False)


def test_wai_reverse_items_at_the_floor() -> None:
    # all 4 except item 1 = 1 (bond, reversed), item 34 = 1 (goal, reversed), item 2 = 7 (task)
    values = [4] * 36
    values[0], values[33], values[1] = 1, 1, 7
    s = scales(load("wai"), answers(*values))
    # task: 11 x 4 + 7 = 51 / 12 = 4.25
    assert_scored(s["task"], 4.25, 51, 12, False)
    # bond: 11 x 4 + (8-1) = 51 / 12 = 4.25   (unreversed it would be 45 / 12)
    assert_scored(s["bond"], 4.25, 51, 12, False)
    # goal: 11 x 4 + (8-1) = 51 / 12 = 4.25
    assert_scored(s["goal"], 4.25, 51, 12, False)
    # total: 33 x 4 + 7 + 7 + 7 = 153 / 36 = 4.25
    assert_scored(s["total"], 4.25, 153, 36, False)


def test_wai_missing_prorates() -> None:
    # items 7 (task, r), 20 (bond, r), 34 (goal, r) blank
    s = scales(load("wai"), wai_with({7, 20, 34}))
    # task: 70 - 6 (7r) = 64 / 11 = 5.8182; sum 64/11 x 12 = 69.8182
    assert_scored(s["task"], 64 / 11, 64 * 12 / 11, 11, True)
    # bond: 76 - 6 (20r) = 70 / 11 = 6.3636; sum 70/11 x 12 = 76.3636
    assert_scored(s["bond"], 70 / 11, 70 * 12 / 11, 11, True)
    # goal: 65 - 4 (34r) = 61 / 11 = 5.5455; sum 61/11 x 12 = 66.5455
    assert_scored(s["goal"], 61 / 11, 61 * 12 / 11, 11, True)
    # total: 64 + 70 + 61 = 195 / 33 = 5.9091; sum 195/33 x 36 = 212.7273
    assert_scored(s["total"], 195 / 33, 195 * 36 / 33, 33, True)


def test_wai_withholds() -> None:
    # blank: task 2,4,13; bond 5,8,17,19; goal 6,14,22 (10 items)
    s = scales(load("wai"), wai_with({2, 4, 13, 5, 8, 17, 19, 6, 14, 22}))
    # task: 9 answered (the minimum): 70 - (6+5+6) = 53 / 9 = 5.8889; sum 53/9 x 12 = 70.6667
    assert_scored(s["task"], 53 / 9, 53 * 12 / 9, 9, True)
    # bond: 8 of 12 < 9
    assert_withheld(s["bond"], 8, "8 of 12 items answered; at least 9 needed")
    # goal: 9 answered: 65 - (5+7+6) = 47 / 9 = 5.2222; sum 47/9 x 12 = 62.6667
    assert_scored(s["goal"], 47 / 9, 47 * 12 / 9, 9, True)
    # total: 26 of 36 < 27
    assert_withheld(s["total"], 26, "26 of 36 items answered; at least 27 needed")


# -- HAq-II (1–6, items 4, 8, 11, 16, 19 reversed as 7 - x) -----------------------------------

HAQ_COMPLETE = [5, 4, 6, 2, 5, 4, 5, 1, 6, 5, 3, 5, 6, 6, 4, 2, 3, 5, 1]


def test_haq_ii_complete() -> None:
    s = scales(load("haq-ii"), answers(*HAQ_COMPLETE))
    # forward items 1,2,3,5,6,7,9,10,12,13,14,15,17,18 = 5+4+6+5+4+5+6+5+5+6+6+4+3+5 = 69
    # reversed 4,8,11,16,19 = (7-2)+(7-1)+(7-3)+(7-2)+(7-1) = 5+6+4+5+6 = 26
    # total: 69 + 26 = 95 / 19 = 5.0
    assert_scored(s["total"], 5.0, 95, 19, False)


def test_haq_ii_reverse_items_at_the_floor() -> None:
    # all 3 except items 4 = 1 and 19 = 1
    values = [3] * 19
    values[3], values[18] = 1, 1
    s = scales(load("haq-ii"), answers(*values))
    # 14 forward items x 3 = 42; reversed 8,11,16 at 3 -> 3 x (7-3) = 12;
    # reversed 4,19 at 1 -> (7-1) + (7-1) = 12; total 42 + 12 + 12 = 66 / 19 = 3.4737
    assert_scored(s["total"], 66 / 19, 66, 19, False)


def test_haq_ii_reverse_item_at_the_ceiling() -> None:
    # all 3 except item 8 = 6
    values = [3] * 19
    values[7] = 6
    s = scales(load("haq-ii"), answers(*values))
    # 14 forward items x 3 = 42; reversed 4,11,16,19 at 3 -> 4 x (7-3) = 16;
    # reversed 8 at 6 -> (7-6) = 1; total 42 + 16 + 1 = 59 / 19 = 3.1053
    assert_scored(s["total"], 59 / 19, 59, 19, False)


def test_haq_ii_missing_prorates() -> None:
    # items 3, 11, 15 blank -> 16 answered (the minimum)
    values: list[int | None] = list(HAQ_COMPLETE)
    values[2] = values[10] = values[14] = None
    s = scales(load("haq-ii"), answers(*values))
    # 95 - 6 (item 3) - (7-3) (item 11r) - 4 (item 15) = 81 / 16 = 5.0625; sum x 19 = 96.1875
    assert_scored(s["total"], 5.0625, 96.1875, 16, True)


def test_haq_ii_withholds() -> None:
    # items 3, 11, 15, 19 blank -> 15 answered < 16
    values: list[int | None] = list(HAQ_COMPLETE)
    values[2] = values[10] = values[14] = values[18] = None
    s = scales(load("haq-ii"), answers(*values))
    assert_withheld(s["total"], 15, "15 of 19 items answered; at least 16 needed")
