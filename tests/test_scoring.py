"""Tests of the vectorized scoring engine (``alliance_cli.scoring``).

Hand-computed expectations are literals with their arithmetic in a comment; the property tests
(hypothesis) check invariants over random answer matrices for the ``tiny`` fixture, a bipolar
scale built here, and the bundled WAI-S (reverse items), SRS (0.1 steps, cutoff) and CARE
("does not apply" code 6, prorating).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alliance_cli.definitions import load_definition
from alliance_cli.model import Questionnaire
from alliance_cli.scoring import (
    ANSWERED,
    INVALID,
    MISSING,
    NOT_APPLICABLE,
    WITHHELD_INVALID,
    WITHHELD_NONE,
    WITHHELD_TOO_FEW,
    Reason,
    Scores,
    cell_reasons,
    cell_states,
    reason_of,
    score_matrix,
)

NAN = math.nan
PROPERTY = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# -- building definitions ----------------------------------------------------------------


def make(
    items: list[str],
    scales: dict[str, Any],
    response_scale: dict[str, Any] | None = None,
    **extra: Any,
) -> Questionnaire:
    """A minimal valid questionnaire with the given items, scales and response scale."""
    return Questionnaire.model_validate(
        {
            "id": "built",
            "title": "Built in a test",
            "version": "1",
            "respondent": "client",
            "construct": "testing",
            "citations": [{"text": "Test fixture."}],
            "licence": "Test fixture.",
            "key_status": "verified",
            "key_sources": ["Written for the test suite."],
            "response_scale": response_scale or {"min": 1, "max": 5},
            "items": [{"id": i, "text": f"hint {i}"} for i in items],
            "scales": scales,
            **extra,
        }
    )


def variant(q: Questionnaire, **update: Any) -> Questionnaire:
    """``q`` re-validated with some top-level fields replaced."""
    data = q.model_dump()
    data.update(update)
    return Questionnaire.model_validate(data)


def without_reverse(q: Questionnaire) -> Questionnaire:
    """The same questionnaire with no reverse items anywhere."""
    data = q.model_dump()
    for scale in data["scales"].values():
        scale["reverse"] = []
    return Questionnaire.model_validate(data)


BIPOLAR_SCALE = {"min": -3, "max": 3, "exclude": [0]}


def bipolar() -> Questionnaire:
    """-3..+3 without zero; "pole" reverses p2 (reverse of x is -3 + 3 - x = -x)."""
    return make(
        ["p1", "p2", "p3", "p4"],
        {
            "pole": {
                "name": "Pole",
                "items": ["p1", "p2", "p3"],
                "reverse": ["p2"],
                "method": "sum",
                "higher_is": "better",
                "missing": {"min_answered": 2, "on_missing": "prorate"},
            },
            "other": {"name": "Other", "items": ["p4"], "method": "mean", "higher_is": "better"},
        },
        response_scale=BIPOLAR_SCALE,
    )


def sixteen() -> Questionnaire:
    """A 16-item sum subscale needing 75% (ceil(0.75 * 16) = 12 items)."""
    ids = [f"i{n}" for n in range(1, 17)]
    return make(
        ids,
        {
            "sub": {
                "name": "Sub",
                "items": ids,
                "method": "sum",
                "higher_is": "better",
                "missing": {"min_proportion": 0.75, "on_missing": "prorate"},
            }
        },
    )


@pytest.fixture
def wai_s(bundled: Path) -> Questionnaire:
    return load_definition(bundled / "wai-s.yaml")


@pytest.fixture
def srs(bundled: Path) -> Questionnaire:
    return load_definition(bundled / "srs.yaml")


@pytest.fixture
def care(bundled: Path) -> Questionnaire:
    return load_definition(bundled / "care.yaml")


@pytest.fixture(params=["tiny", "bipolar", "wai-s", "srs", "care"])
def anyq(request: pytest.FixtureRequest, tiny: Questionnaire, bundled: Path) -> Questionnaire:
    if request.param == "tiny":
        return tiny
    if request.param == "bipolar":
        return bipolar()
    return load_definition(bundled / f"{request.param}.yaml")


# -- strategies ------------------------------------------------------------------------------


def allowed_answers(q: Questionnaire, item_id: str) -> list[float]:
    rs = q.scale_of(item_id)
    n = round((rs.max - rs.min) / rs.step)
    points = [round(rs.min + k * rs.step, 10) for k in range(n + 1)]
    return [p for p in points if rs.is_answer(p)]


def cells(q: Questionnaire, item_id: str, *, invalid: bool = True) -> st.SearchStrategy[float]:
    """Any cell of an item: mostly allowed answers, some blanks, "does not apply" codes and
    (when ``invalid``) out-of-range, off-grid or excluded values."""
    rs = q.scale_of(item_id)
    options: list[st.SearchStrategy[float]] = [
        st.sampled_from(allowed_answers(q, item_id)),
        st.sampled_from(allowed_answers(q, item_id)),
        st.sampled_from(allowed_answers(q, item_id)),
        st.just(NAN),
    ]
    if rs.not_applicable is not None:
        options.append(st.sampled_from(rs.not_applicable.values))
    if invalid:
        bad = [rs.min - rs.step, rs.max + rs.step, rs.min + rs.step / 2, *rs.exclude]
        options.append(st.sampled_from(bad))
    return st.one_of(options)


def matrices(
    q: Questionnaire, *, invalid: bool = True, max_rows: int = 12
) -> st.SearchStrategy[np.ndarray]:
    row = st.tuples(*(cells(q, i, invalid=invalid) for i in q.item_ids()))
    return st.lists(row, min_size=1, max_size=max_rows).map(
        lambda rows: np.array(rows, dtype=np.float64)
    )


def assert_scores_equal(a: Scores, b: Scores) -> None:
    np.testing.assert_array_equal(a.states, b.states)
    assert a.scales.keys() == b.scales.keys()
    for sid in a.scales:
        for f in dataclasses.fields(a.scales[sid]):
            np.testing.assert_array_equal(
                getattr(a.scales[sid], f.name), getattr(b.scales[sid], f.name), err_msg=sid
            )
    assert a.item_rule_hits.keys() == b.item_rule_hits.keys()
    for rid in a.item_rule_hits:
        np.testing.assert_array_equal(a.item_rule_hits[rid], b.item_rule_hits[rid])


def stack(parts: list[Scores]) -> Scores:
    """Row-wise concatenation of one-row results."""
    first = parts[0]
    scales = {
        sid: dataclasses.replace(
            first.scales[sid],
            **{
                f.name: np.concatenate([getattr(p.scales[sid], f.name) for p in parts])
                for f in dataclasses.fields(first.scales[sid])
                if f.name != "id"
            },
        )
        for sid in first.scales
    }
    return Scores(
        states=np.concatenate([p.states for p in parts]),
        scales=scales,
        item_rule_hits={
            rid: np.concatenate([p.item_rule_hits[rid] for p in parts])
            for rid in first.item_rule_hits
        },
    )


# -- properties ------------------------------------------------------------------------------


@pytest.mark.slow
@PROPERTY
@given(data=st.data())
def test_scores_respect_range_withholding_and_prorating(anyq: Questionnaire, data: Any) -> None:
    q = anyq
    x = data.draw(matrices(q))
    result = score_matrix(q, x)
    states = cell_states(q, x)
    np.testing.assert_array_equal(result.states, states)
    position = {i: j for j, i in enumerate(q.item_ids())}
    for sid, scale in q.scales.items():
        s = result.scales[sid]
        n = len(scale.items)
        need = scale.missing.required(n)
        lo, hi = q.scale_range(sid)
        st_ = states[:, [position[i] for i in scale.items]]
        invalid = (st_ == INVALID).any(axis=1)
        kept = s.withheld == WITHHELD_NONE

        np.testing.assert_array_equal(s.answered, (st_ == ANSWERED).sum(axis=1))
        np.testing.assert_array_equal(s.not_applicable, (st_ == NOT_APPLICABLE).sum(axis=1))
        np.testing.assert_array_equal(s.withheld[invalid], WITHHELD_INVALID)
        np.testing.assert_array_equal(
            s.withheld[~invalid], np.where(s.answered[~invalid] < need, WITHHELD_TOO_FEW, 0)
        )

        # Scored rows: inside the scale's range, POMP in [0, 100], sum = mean × items.
        assert np.all(s.score[kept] >= lo - 1e-9), sid
        assert np.all(s.score[kept] <= hi + 1e-9), sid
        assert np.all((s.pomp[kept] >= -1e-9) & (s.pomp[kept] <= 100 + 1e-9)), sid
        np.testing.assert_allclose(s.sum[kept], s.mean[kept] * n, rtol=1e-12, atol=1e-9)
        assert not np.isnan(s.score[kept]).any()

        # Withheld rows: every number is NaN and no band fires.
        for field in (s.score, s.sum, s.mean, s.z, s.t, s.pomp):
            assert np.isnan(field[~kept]).all(), sid
        assert (s.band[~kept] == -1).all()
        assert not s.band_hits[~kept].any()

        # Prorated: some but not too many items missing; unprorated scored rows are complete.
        assert (s.prorated <= kept).all()
        assert (s.answered[s.prorated] < n).all()
        assert (s.answered[s.prorated] >= need).all()
        assert (s.answered[kept & ~s.prorated] == n).all()
        np.testing.assert_array_equal((s.answered + s.missing + s.not_applicable)[~invalid], n)


@pytest.mark.slow
@PROPERTY
@given(data=st.data())
def test_many_rows_equal_each_row_alone(anyq: Questionnaire, data: Any) -> None:
    x = data.draw(matrices(anyq))
    together = score_matrix(anyq, x)
    alone = stack([score_matrix(anyq, row) for row in x])  # 1-D input: one row
    assert_scores_equal(together, alone)
    assert_scores_equal(together, stack([score_matrix(anyq, x[r : r + 1]) for r in range(len(x))]))


@pytest.mark.slow
@PROPERTY
@given(data=st.data())
def test_engine_never_mutates_its_input(anyq: Questionnaire, data: Any) -> None:
    x = data.draw(matrices(anyq))
    before = x.copy()
    score_matrix(anyq, x)
    cell_states(anyq, x)
    score_matrix(anyq, x[0])  # a 1-D view of the same memory
    np.testing.assert_array_equal(x, before)
    as_list = x.tolist()
    score_matrix(anyq, as_list)
    np.testing.assert_array_equal(np.array(as_list), before)


def mirror(q: Questionnaire, x: np.ndarray, items: tuple[str, ...]) -> np.ndarray:
    """``x`` with the answered cells of ``items`` replaced by ``min + max - x``."""
    out = x.copy()
    ok = cell_states(q, x) == ANSWERED
    for j, item_id in enumerate(q.item_ids()):
        if item_id in items:
            rs = q.scale_of(item_id)
            out[ok[:, j], j] = rs.min + rs.max - x[ok[:, j], j]
    return out


@pytest.mark.slow
@pytest.mark.parametrize("name", ["tiny", "wai-s", "bipolar"])
@PROPERTY
@given(data=st.data())
def test_reverse_keying_scores_mirrored_answers_as_unreversed(
    name: str, tiny: Questionnaire, bundled: Path, data: Any
) -> None:
    """Reversed items answered ``lo + hi - x`` score exactly like the unreversed definition
    answered ``x``. Reversal omitted or applied twice breaks this (the mirrored answers would
    then be scored as themselves)."""
    if name == "tiny":
        q = tiny
    elif name == "bipolar":
        q = bipolar()
    else:
        q = load_definition(bundled / f"{name}.yaml")
    plain = without_reverse(q)
    x = data.draw(matrices(q, invalid=False))
    for sid, scale in q.scales.items():
        if not scale.reverse:
            continue
        m = mirror(q, x, scale.reverse)
        np.testing.assert_array_equal(mirror(q, m, scale.reverse), x)  # an involution
        keyed, unkeyed = score_matrix(q, m).scales[sid], score_matrix(plain, x).scales[sid]
        np.testing.assert_allclose(keyed.sum, unkeyed.sum, rtol=0, atol=1e-9)
        np.testing.assert_allclose(keyed.score, unkeyed.score, rtol=0, atol=1e-9)
        # and the other way round: the definition scores x as the plain one scores mirror(x)
        np.testing.assert_allclose(
            score_matrix(q, x).scales[sid].sum, score_matrix(plain, m).scales[sid].sum, atol=1e-9
        )


def test_reverse_keying_is_not_a_no_op(tiny: Questionnaire) -> None:
    # warmth = a + (1 + 5 - b): a=5, b=1 → 5 + 5 = 10; unreversed it would be 5 + 1 = 6
    s = score_matrix(tiny, [5, 1, 3, 3]).scales["warmth"]
    assert s.sum[0] == 10.0
    assert score_matrix(without_reverse(tiny), [5, 1, 3, 3]).scales["warmth"].sum[0] == 6.0


# -- cell states -------------------------------------------------------------------------------


def test_cell_states_tiny(tiny: Questionnaire) -> None:
    x = [
        [1, 5, 3, 4],  # all allowed
        [0, 6, 2.5, 9],  # below min, above max, off grid, the "does not apply" code
        [NAN, NAN, 9, NAN],
        [math.inf, -math.inf, 1e300, 8],  # 8: neither an answer nor the n/a code 9
    ]
    np.testing.assert_array_equal(
        cell_states(tiny, x),
        [
            [ANSWERED] * 4,
            [INVALID, INVALID, INVALID, NOT_APPLICABLE],
            [MISSING, MISSING, NOT_APPLICABLE, MISSING],
            [INVALID] * 4,
        ],
    )


def test_cell_states_srs_off_grid(srs: Questionnaire) -> None:
    x = [
        [7.35, 7.3, 10.0, 0.0],
        [0.1 + 0.2, 10.1, -0.1, 9.999],  # 0.30000000000000004 is on the 0.1 grid
    ]
    np.testing.assert_array_equal(
        cell_states(srs, x),
        [[INVALID, ANSWERED, ANSWERED, ANSWERED], [ANSWERED, INVALID, INVALID, INVALID]],
    )
    s = score_matrix(srs, x).scales["total"]
    np.testing.assert_array_equal(s.withheld, [WITHHELD_INVALID, WITHHELD_INVALID])


def test_a_huge_answer_is_invalid_without_a_numpy_warning(srs: Questionnaire) -> None:
    # 1e308 / 0.1 overflowed: "RuntimeWarning: overflow encountered in divide" on stderr
    # before the error message (found by the answers fuzz suite).
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        states = cell_states(srs, [[1e308, -1e308, 5.0, 5.0]])
    np.testing.assert_array_equal(states, [[INVALID, INVALID, ANSWERED, ANSWERED]])


def test_cell_states_excluded_zero() -> None:
    q = bipolar()
    np.testing.assert_array_equal(
        cell_states(q, [[0, -3, 3, 1], [0.5, 4, -1, NAN]]),
        [[INVALID, ANSWERED, ANSWERED, ANSWERED], [INVALID, INVALID, ANSWERED, MISSING]],
    )


def test_cell_reasons_say_why_a_cell_is_not_an_answer(tiny: Questionnaire) -> None:
    ok, na, gone = Reason.ok, Reason.not_applicable, Reason.missing
    out, off = Reason.out_of_range, Reason.off_grid
    x = [
        [1, 5, 3, 4],
        [0, 6, 2.5, 9],  # below min, above max, off grid, the "does not apply" code
        [NAN, NAN, 9, NAN],
        [math.inf, -math.inf, 1e300, 8],  # 8: above max, and no n/a code
        [5.0000009, 0.9999991, 9.0000009, 2.0000011],  # within the tolerance; 2.0000011 not
    ]
    np.testing.assert_array_equal(
        cell_reasons(tiny, x),
        [[ok] * 4, [out, out, off, na], [gone, gone, na, gone], [out] * 4, [ok, ok, na, off]],
    )
    # Out of range wins over off the grid, and off the grid over excluded.
    np.testing.assert_array_equal(
        cell_reasons(bipolar(), [[0, 0.5, 4.5, -0.0000001]]),
        [[Reason.excluded, off, out, Reason.excluded]],
    )
    assert [r.code for r in (out, off, Reason.excluded)] == ["out-of-range", "off-grid", "excluded"]


@pytest.mark.slow
@PROPERTY
@given(data=st.data())
def test_one_rule_for_a_matrix_one_value_and_the_model(anyq: Questionnaire, data: Any) -> None:
    x = data.draw(matrices(anyq, max_rows=4))
    reasons = cell_reasons(anyq, x)
    np.testing.assert_array_equal(cell_states(anyq, x), np.minimum(reasons, INVALID))
    for j, item_id in enumerate(anyq.item_ids()):
        rs = anyq.scale_of(item_id)
        for value, reason in zip(x[:, j].tolist(), reasons[:, j].tolist(), strict=True):
            assert reason_of(rs, value) == reason
            assert rs.is_answer(value) == (reason == Reason.ok)


def test_care_not_applicable_code(care: Questionnaire) -> None:
    row = [5, 5, 5, 5, 4, 4, 4, 4, 6, 6]
    np.testing.assert_array_equal(cell_states(care, row)[0], [ANSWERED] * 8 + [NOT_APPLICABLE] * 2)
    s = score_matrix(care, row).scales["total"]
    # answered 5+5+5+5+4+4+4+4 = 36 over 8 items → mean 4.5; sum prorated 4.5 × 10 = 45
    assert (s.mean[0], s.sum[0], s.score[0]) == (4.5, 45.0, 45.0)
    assert (s.answered[0], s.missing[0], s.not_applicable[0]) == (8, 0, 2)
    assert s.prorated[0]
    # a third "does not apply" leaves 7 of the 8 needed
    s3 = score_matrix(care, [5, 5, 5, 5, 4, 4, 4, 6, 6, 6]).scales["total"]
    assert s3.withheld[0] == WITHHELD_TOO_FEW and math.isnan(s3.score[0])


def test_invalid_cell_withholds_only_scales_containing_it(tiny: Questionnaire) -> None:
    x = [
        [6, 4, 3, 3],  # a is in warmth and work: both withheld
        [5, 4, 3, 7],  # d is only in work: warmth = 5 + (6 - 4) = 7
        [5, 4, 3, 3],  # valid: warmth 7; work (3 + 3 + 5) / 3 = 11/3
    ]
    r = score_matrix(tiny, x)
    warmth, work = r.scales["warmth"], r.scales["work"]
    np.testing.assert_array_equal(warmth.withheld, [WITHHELD_INVALID, WITHHELD_NONE, WITHHELD_NONE])
    np.testing.assert_array_equal(
        work.withheld, [WITHHELD_INVALID, WITHHELD_INVALID, WITHHELD_NONE]
    )
    np.testing.assert_array_equal(warmth.score, [NAN, 7.0, 7.0])
    assert math.isnan(work.score[1])
    assert work.score[2] == pytest.approx(3.6666666667)  # (3 + 3 + 5) / 3


def test_missing_and_not_applicable_counts(tiny: Questionnaire) -> None:
    # work = [c, d, a]: a n/a, c blank, d answered → 1 answered of the 2 needed
    r = score_matrix(tiny, [9, 4, NAN, 3])
    work, warmth = r.scales["work"], r.scales["warmth"]
    assert (work.answered[0], work.missing[0], work.not_applicable[0]) == (1, 1, 1)
    assert work.withheld[0] == WITHHELD_TOO_FEW
    assert warmth.withheld[0] == WITHHELD_TOO_FEW  # withhold rule: both a and b required
    assert not work.prorated[0] and not warmth.prorated[0]


# -- bands and item rules ----------------------------------------------------------------------


def banded() -> Questionnaire:
    """Four 1–5 items summed (4–20) with overlapping bands to check edges and the order."""
    return make(
        ["a", "b", "c", "d"],
        {
            "total": {
                "name": "Total",
                "items": ["a", "b", "c", "d"],
                "method": "sum",
                "higher_is": "better",
                "bands": [
                    {"id": "low", "label": "low", "below": 10, "source": "t"},
                    {"id": "lowish", "label": "lowish", "at_most": 12, "source": "t"},
                    {"id": "mid", "label": "mid", "at_least": 10, "below": 15, "source": "t"},
                    {"id": "high", "label": "high", "above": 17, "source": "t"},
                ],
            }
        },
    )


def test_band_edges_and_first_match() -> None:
    rows = [
        [3, 2, 2, 2],  # 9: below 10, at most 12 → [T, T, F, F], first 0
        [3, 3, 2, 2],  # 10: not below 10; at most 12; at least 10 → [F, T, T, F], first 1
        [3, 3, 3, 3],  # 12: at most 12 (edge) and in mid → [F, T, T, F], first 1
        [4, 3, 3, 3],  # 13: only mid → [F, F, T, F], first 2
        [4, 4, 4, 3],  # 15: not below 15, not above 17 → none, -1
        [5, 4, 4, 4],  # 17: not above 17 (edge) → none, -1
        [5, 5, 4, 4],  # 18: above 17 → [F, F, F, T], first 3
    ]
    s = score_matrix(banded(), rows).scales["total"]
    np.testing.assert_array_equal(s.score, [9, 10, 12, 13, 15, 17, 18])
    np.testing.assert_array_equal(
        s.band_hits,
        [
            [True, True, False, False],
            [False, True, True, False],
            [False, True, True, False],
            [False, False, True, False],
            [False, False, False, False],
            [False, False, False, False],
            [False, False, False, True],
        ],
    )
    np.testing.assert_array_equal(s.band, [0, 1, 1, 2, -1, -1, 3])


def test_srs_cutoff_below_versus_at_most(srs: Questionnaire) -> None:
    rows = [
        [9.0, 9.0, 9.0, 8.9],  # 35.9 → below 36
        [9.0, 9.0, 9.0, 9.0],  # 36 exactly → not below 36
        [8.9, 9.1, 9.0, 9.0],  # 36 from 0.1 steps (floating point) → not below 36
        [9.0, 9.0, 9.0, 9.1],  # 36.1
    ]
    s = score_matrix(srs, rows).scales["total"]
    np.testing.assert_allclose(s.score, [35.9, 36.0, 36.0, 36.1])
    np.testing.assert_array_equal(s.band, [0, -1, -1, -1])
    band = srs.scales["total"].bands[0].model_dump()
    band.update(below=None, at_most=36)
    scales = srs.model_dump()["scales"]
    scales["total"]["bands"] = [band]
    at_most = score_matrix(variant(srs, scales=scales), rows).scales["total"]
    np.testing.assert_array_equal(at_most.band, [0, 0, 0, -1])


def test_item_rules_hit_only_answered_cells_of_listed_items(tiny: Questionnaire) -> None:
    rules = [
        {"id": "low-ac", "items": ["a", "c"], "below": 3, "message": "m", "source": "s"},
        {"id": "high-ac", "items": ["a", "c"], "at_least": 4, "message": "m", "source": "s"},
        {"id": "any-low", "at_most": 1, "message": "m", "source": "s"},
    ]
    q = variant(tiny, item_rules=rules)
    x = [
        [1, 1, 1, NAN],  # low-ac: a, c (b is not listed); any-low: a, b, c (d blank)
        [9, 5, 6, 5],  # a is n/a (9 ≥ 4 but not an answer), c=6 invalid, b and d unlisted
        [4, 2, 5, 1],  # high-ac: a and c; any-low: d
    ]
    hits = score_matrix(q, x).item_rule_hits
    np.testing.assert_array_equal(
        hits["low-ac"], [[True, False, True, False], [False] * 4, [False] * 4]
    )
    np.testing.assert_array_equal(
        hits["high-ac"], [[False] * 4, [False] * 4, [True, False, True, False]]
    )
    np.testing.assert_array_equal(
        hits["any-low"], [[True, True, True, False], [False] * 4, [False, False, False, True]]
    )


# -- standard scores and POMP -------------------------------------------------------------------


def test_standard_scores_against_norm(tiny: Questionnaire) -> None:
    x = [
        [4, 3, 4, 4],  # work = (4 + 4 + 4) / 3 = 4; z = (4 - 3) / 0.5 = 2; T = 50 + 20 = 70
        [2, 3, 2, 2],  # work = 2; z = (2 - 3) / 0.5 = -2; T = 50 - 20 = 30
        [5, 3, 4, NAN],  # prorated (4 + 5) / 2 = 4.5; z = 1.5 / 0.5 = 3; T = 80
        [5, 3, NAN, NAN],  # 1 of 3 answered (2 needed): withheld, z and T NaN
    ]
    work = score_matrix(tiny, x).scales["work"]
    np.testing.assert_allclose(work.score, [4.0, 2.0, 4.5, NAN])
    np.testing.assert_allclose(work.z, [2.0, -2.0, 3.0, NAN])
    np.testing.assert_allclose(work.t, [70.0, 30.0, 80.0, NAN])
    # POMP on the mean metric 1–5: 100 (4 - 1) / 4 = 75; 25; 100 × 3.5 / 4 = 87.5
    np.testing.assert_allclose(work.pomp, [75.0, 25.0, 87.5, NAN])
    np.testing.assert_array_equal(work.prorated, [False, False, True, False])


def test_no_norm_gives_nan_standard_scores(tiny: Questionnaire) -> None:
    warmth = score_matrix(tiny, [5, 1, 3, 3]).scales["warmth"]
    assert warmth.score[0] == 10.0  # 5 + (6 - 1)
    assert math.isnan(warmth.z[0]) and math.isnan(warmth.t[0])
    assert warmth.pomp[0] == 100.0  # sum range 2–10: 100 (10 - 2) / 8


# -- hand-computed special scales ---------------------------------------------------------------


def test_bipolar_scale_without_zero_and_reverse_item() -> None:
    q = bipolar()
    assert q.scale_range("pole") == (-9.0, 9.0)
    x = [
        [2, -3, 1, 3],  # 2 + (-(-3)) + 1 = 6
        [3, 2, -1, -2],  # 3 + (-2) + (-1) = 0
        [-3, 3, -3, 1],  # -3 + (-3) + (-3) = -9, the minimum
        [2, -3, NAN, 1],  # prorated: (2 + 3) / 2 = 2.5 per item; sum 2.5 × 3 = 7.5
        [2, NAN, NAN, 1],  # 1 of 3 answered (2 needed): withheld
    ]
    pole = score_matrix(q, x).scales["pole"]
    np.testing.assert_array_equal(pole.sum, [6.0, 0.0, -9.0, 7.5, NAN])
    np.testing.assert_array_equal(pole.mean, [2.0, 0.0, -3.0, 2.5, NAN])
    # POMP 100 (sum + 9) / 18: 15/18 → 83.33…, 50, 0, 16.5/18 → 91.66…
    np.testing.assert_allclose(pole.pomp, [83.3333333333, 50.0, 0.0, 91.6666666667, NAN])
    np.testing.assert_array_equal(pole.prorated, [False, False, False, True, False])
    np.testing.assert_array_equal(pole.withheld, [0, 0, 0, 0, WITHHELD_TOO_FEW])


def test_sixteen_items_with_proportion_rule() -> None:
    q = sixteen()
    assert q.scales["sub"].missing.required(16) == 12
    twelve = [5, 4, 3, 2] * 3 + [NAN] * 4
    eleven = [5, 4, 3, 2] * 3 + [NAN] * 4
    eleven[0] = NAN
    full = [5, 4, 3, 2] * 4
    s = score_matrix(q, [twelve, eleven, full]).scales["sub"]
    # 12 answered: (5 + 4 + 3 + 2) × 3 = 42, mean 42 / 12 = 3.5, prorated sum 3.5 × 16 = 56
    # 11 answered: withheld; all 16: (5 + 4 + 3 + 2) × 4 = 56, not prorated
    np.testing.assert_array_equal(s.answered, [12, 11, 16])
    np.testing.assert_array_equal(s.score, [56.0, NAN, 56.0])
    np.testing.assert_array_equal(s.mean, [3.5, NAN, 3.5])
    np.testing.assert_array_equal(s.prorated, [True, False, False])
    np.testing.assert_array_equal(s.withheld, [WITHHELD_NONE, WITHHELD_TOO_FEW, WITHHELD_NONE])
    np.testing.assert_array_equal(s.missing, [4, 5, 0])


def test_wai_s_goal_reverse_items(wai_s: Questionnaire) -> None:
    answers = {"4": 2, "6": 6, "10": 1, "11": 5}
    row = [answers.get(i, 4) for i in wai_s.item_ids()]
    goal = score_matrix(wai_s, row).scales["goal"]
    # goal = [(8 - 2) + 6 + (8 - 1) + 5] / 4 = (6 + 6 + 7 + 5) / 4 = 24 / 4 = 6
    assert goal.score[0] == 6.0
    assert goal.sum[0] == 24.0


def test_shape_is_checked(tiny: Questionnaire) -> None:
    with pytest.raises(ValueError, match="rows × 4 matrix"):
        score_matrix(tiny, [1, 2, 3])
    empty = score_matrix(tiny, np.empty((0, 4)))
    assert empty.scales["work"].score.shape == (0,)
