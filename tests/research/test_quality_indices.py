"""The careless-response indices by hand on a few rows (R careless's documented formulas):
ties, missing answers, constant rows, singular covariance, too few pairs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from alliance_cli.research.psychometrics._base import pairwise
from alliance_cli.research.quality import indices as ix
from alliance_cli.research.quality.rules import QualityOptions
from alliance_cli.research.quality.screen import Screening, fit
from tests.research.psychref import definition

nan = math.nan


def m(*rows: list[float]) -> np.ndarray:
    return np.array(rows, dtype=np.float64)


def test_longstring_by_hand_ties_and_missing_answers() -> None:
    x = m(
        [1, 1, 2, 2, 2, 3],  # runs 2, 3, 1 → 3
        [4, 4, 4, 4, 4, 4],  # straight-lined → 6
        [5, 5, nan, 5, 5, 5],  # the missing answer breaks the run (R's rle): 2, 1, 3 → 3
        [1, 2, 1, 2, 1, 2],  # no two alike → 1
        [nan, nan, 3, nan, nan, nan],  # one answer → 1
        [nan] * 6,  # no answer: empty here (careless's rle gives 1)
    )
    assert ix.longstring(x).tolist()[:5] == [3, 6, 3, 1, 1]
    assert math.isnan(ix.longstring(x)[5])


def test_irv_is_the_sample_sd_of_the_answers() -> None:
    x = m([1, 2, 3, 4], [3, 3, 3, 3], [1, nan, 5, nan], [2, nan, nan, nan], [nan] * 4)
    got = ix.irv(x)
    # sd(1:4) = sqrt(((1.5² + .5²) · 2) / 3) = sqrt(5 / 3); sd(c(1, 5)) = sqrt(8)
    assert got[0] == pytest.approx(math.sqrt(5 / 3), abs=1e-15)
    assert got[1] == 0.0
    assert got[2] == pytest.approx(math.sqrt(8), abs=1e-15)
    assert math.isnan(got[3]) and math.isnan(got[4])  # R's sd of one value is NA


def test_mahalanobis_by_hand_with_a_missing_answer() -> None:
    # Four rows of two items: means 2.5 and 2.5; covariance [[5/3, 1], [1, 5/3]].
    x = m([1, 2], [2, 1], [3, 4], [4, 3])
    moments = pairwise(x)
    assert moments.cov.ravel().tolist() == pytest.approx([5 / 3, 1, 1, 5 / 3])
    inv = np.linalg.inv(moments.cov)
    # det = 25/9 − 1 = 16/9; inverse = 9/16 [[5/3, −1], [−1, 5/3]]
    assert inv.ravel().tolist() == pytest.approx([15 / 16, -9 / 16, -9 / 16, 15 / 16])
    d2 = ix.mahalanobis(m([1, 2], [nan, 4], [nan, nan]), moments.mean, inv)
    # (−1.5, −0.5): 15/16·2.25 − 2·9/16·0.75 + 15/16·0.25 = (33.75 − 13.5 + 3.75)/16 = 1.5
    assert d2[0] == pytest.approx(1.5, abs=1e-14)
    # psych::outlier: the answered item's term only, 15/16 · 1.5² = 2.109375
    assert d2[1] == pytest.approx(2.109375, abs=1e-14)
    assert math.isnan(d2[2])


def test_chi_square_upper_tail_matches_r_pchisq() -> None:
    # R 4.2.2: sprintf("%.17g", pchisq(c(3.84, 21.026, 50), df, lower.tail = FALSE))
    r = {
        1: (0.050043521248705224, 4.5309284193313372e-06, 1.5374597944280343e-12),
        4: (0.42809232942062247, 0.00031293246161088209, 3.6108654048906463e-10),
        12: (0.98615345477384642, 0.050001015416942254, 1.3971121075428599e-06),
        13: (0.99277727855804321, 0.072415967253003019, 2.9814697870128372e-06),
    }
    for df, expected in r.items():
        got = ix.chi_square_upper(np.array([3.84, 21.026, 50.0]), df)
        assert got.tolist() == pytest.approx(expected, rel=1e-13)
    assert ix.chi_square_upper(np.array([nan, -1.0, 0.0]), 3)[1:].tolist() == [1.0, 1.0]


def test_item_pairs_strictly_above_the_threshold_in_carelesss_order() -> None:
    cor = np.array(
        [
            [1.0, 0.7, 0.6, -0.8],
            [0.7, 1.0, 0.61, -0.6],
            [0.6, 0.61, 1.0, nan],
            [-0.8, -0.6, nan, 1.0],
        ]
    )
    assert ix.item_pairs(cor, 0.6).tolist() == [[1, 0], [2, 1]]  # .6 itself is not > .6
    assert ix.item_pairs(cor, 0.6, antonyms=True).tolist() == [[3, 0]]
    assert ix.item_pairs(cor, -0.6, antonyms=True).tolist() == [[3, 0]]  # |critval|


def test_within_person_correlation_by_hand() -> None:
    pairs = np.array([[1, 0], [3, 2], [5, 4], [7, 6]])
    x = m(
        [1, 2, 3, 3, 5, 4, 2, 2],  # pairs (2,1) (3,3) (4,5) (2,2): r of a = 2,3,4,2 and b = 1,3,5,2
        [1, 2, 3, 3, nan, 4, 2, 2],  # pair 3 unanswered: 3 pairs left
        [1, 2, nan, 3, nan, 4, 2, 2],  # 2 pairs: too few (careless needs more than 2)
        [3, 3, 3, 3, 3, 3, 3, 3],  # constant: no correlation (NA in R)
    )
    r, n = ix.within_person_r(x, pairs)
    a, b = np.array([2, 3, 4, 2.0]), np.array([1, 3, 5, 2.0])
    assert r[0] == pytest.approx(np.corrcoef(a, b)[0, 1], abs=1e-15)
    # by hand: a − 2.75 = (−.75, .25, 1.25, −.75), b − 2.75 = (−1.75, .25, 2.25, −.75)
    assert r[0] == pytest.approx(4.75 / math.sqrt(2.75 * 8.75), abs=1e-15)
    assert r[1] == pytest.approx(np.corrcoef([2, 3, 2], [1, 3, 2])[0, 1], abs=1e-15)
    assert math.isnan(r[2]) and math.isnan(r[3])
    assert n.tolist() == [4, 3, 2, 4]


def test_seconds_per_item() -> None:
    assert ix.seconds_per_item(np.array([24.0, nan]), 12).tolist()[0] == 2.0


def _q(k: int):  # type: ignore[no-untyped-def]
    import yaml

    from alliance_cli.model import Questionnaire

    return Questionnaire.model_validate(yaml.safe_load(definition("pq", k, 1, 5, "mean")))


def test_constant_column_says_why_d2_is_not_computed() -> None:
    x = m([1, 3, 2], [2, 3, 4], [3, 3, 1], [5, 3, 2])
    f = fit(_q(3), pairwise(x), QualityOptions())
    assert f.inverse is None
    assert f.d2_note == (
        "not computed, because item i2 has the same answer in every response (a constant "
        "column makes the covariance matrix singular)"
    )
    s = Screening((f,), QualityOptions(), None)
    cols, _ = s.columns_for([x], None)
    assert np.isnan(cols["pq.mahad_d2"]).all() and np.isnan(cols["pq.mahad_p"]).all()
    assert cols["pq.mahad_flag"].isna().all()  # empty, never a silent False
    assert [c.note for c in s.counts if c.rule.flag == "pq.mahad"] == [f.d2_note]


def test_collinear_items_say_the_matrix_is_singular() -> None:
    x = m([1, 2, 3], [2, 3, 5], [3, 1, 4], [5, 2, 7])  # i3 = i1 + i2
    f = fit(_q(3), pairwise(x), QualityOptions())
    assert f.inverse is None
    assert f.d2_note is not None and "singular" in f.d2_note


def test_too_few_items_for_psychsyn() -> None:
    x = m([1, 2, 3], [2, 3, 4], [3, 4, 4], [5, 5, 5])  # 3 items: at most 3 pairs, here all
    f = fit(_q(3), pairwise(x), QualityOptions())
    assert f.synonyms is not None and len(f.synonyms) == 3
    two = fit(_q(2), pairwise(x[:, :2]), QualityOptions())
    assert two.synonyms is None
    assert two.synonyms_note == (
        "not computed, because 1 item pair of pq reach r > 0.6 and a within-person "
        "correlation needs at least 3 (careless::psychsyn)"
    )


def test_flags_and_their_counts() -> None:
    x = m([1, 2, 3, 4], [3, 3, 3, 3], [4, 4, nan, 4], [5, 4, 3, 1], [2, 1, 2, 1])
    f = fit(_q(4), pairwise(x), QualityOptions())
    s = Screening((f,), QualityOptions(longstring_share=0.5), None)
    cols, flagged = s.columns_for([x], None)
    # longstring ≥ 2 of 4: rows 2 (4) and 3 (2, the missing answer breaks 4 4 _ 4)
    assert cols["pq.longstring"].tolist() == [1, 4, 2, 1, 1]
    assert cols["pq.longstring_flag"].tolist() == [False, True, True, False, False]
    assert cols["pq.irv_flag"].tolist() == [False, True, True, False, False]  # IRV 0
    assert cols["quality_flags"].tolist()[:3] == [
        "",
        "pq.longstring; pq.irv",
        "pq.longstring; pq.irv",
    ]
    assert flagged.tolist() == [False, True, True, False, False]
    caught = {c.rule.flag: c.caught for c in s.counts}
    assert caught["pq.longstring"] == 2 and caught["pq.irv"] == 2
    assert s.screened == 5 and s.flagged == 2
