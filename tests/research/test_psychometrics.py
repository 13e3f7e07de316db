"""psychometrics: reliability that matches R psych, pinned against values R computed.

The literals below are the output of ``tests/data/psych/reference.R`` (R 4.2.2, psych 2.2.9)
on the CSVs beside it, pasted verbatim; the tests never need R. Tolerances follow the
project's promise (issue 4 §5): alpha and item statistics 1e-6, omega and ``mlr`` 1e-3.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import numpy as np
import pytest

from alliance_cli.definitions import load_definition
from alliance_cli.errors import ResponseError
from alliance_cli.model import Method, Questionnaire
from alliance_cli.research import psychometrics as pm
from alliance_cli.scoring import score_matrix
from tests.research import psychref
from tests.research.psychref import (
    DATA,
    FELDT,
    HEYWOOD,
    MLR_TOL,
    OMEGA_TOL,
    RANGES,
    SESSIONS,
    SETS,
    Ref,
    check_alpha,
    close,
    read,
)

# The numerical routines behind the statistics, tested on their own (the package does not
# export them).
alpha_mod = importlib.import_module("alliance_cli.research.psychometrics.alpha")
omega_mod = importlib.import_module("alliance_cli.research.psychometrics.omega")

# -- descriptives and alpha -----------------------------------------------------------------


@pytest.mark.parametrize("name", SETS)
def test_describe_matches_r(name: str) -> None:
    x = read(name)
    lo, hi, method = RANGES[name]
    k = x.shape[1]
    items = pm.ScaleItems(
        name,
        tuple(f"i{j}" for j in range(1, k + 1)),
        x,
        np.full(k, float(lo)),
        np.full(k, float(hi)),
        method,
    )
    d = pm.describe(items)
    ref = SETS[name]
    assert d.n_rows == x.shape[0]
    assert d.n_complete == ref["n_complete"][0]
    close(d.mean, ref["mean"], 1e-9)
    close(d.sd, ref["sd"], 1e-9)
    close(d.floor_pct, ref["floor_pct"], 1e-9)
    close(d.ceiling_pct, ref["ceiling_pct"], 1e-9)


@pytest.mark.parametrize("name", SETS)
def test_alpha_pairwise_matches_psych(name: str) -> None:
    check_alpha(pm.alpha(read(name)), SETS[name])


@pytest.mark.parametrize("name", SETS)
def test_alpha_complete_cases_matches_psych(name: str) -> None:
    a = pm.alpha(read(name), use="complete")
    check_alpha(a, SETS[name]["complete"])
    assert a.n_obs == SETS[name]["n_complete"][0]


def test_negative_item_total_correlation_warns() -> None:
    a = pm.alpha(read("unreversed"), labels=("i1", "i2", "i3", "i4", "i5"))
    assert [s.item for s in a.items if s.negative] == ["i3"]
    assert a.warnings == (
        "item i3 correlates negatively with the rest of the scale "
        "(corrected item–total r = -0.48): likely an un-reversed item",
    )
    assert pm.alpha(read("six_items")).warnings == ()
    assert pm.alpha(read("ceiling")).warnings == ()


def test_feldt_interval_by_hand() -> None:
    lower, upper = pm.feldt_ci(0.8, 10, 3)
    close((lower, upper), FELDT["ci"], 1e-9)
    close(alpha_mod._f_quantile(0.975, 9, 18), FELDT["qf"][:1], 1e-9)
    close(alpha_mod._f_quantile(0.025, 9, 18), FELDT["qf"][1:], 1e-9)
    assert np.isnan(pm.feldt_ci(0.8, 1, 3)[0])


def test_alpha_leaves_input_alone_and_rejects_constant_items() -> None:
    x = read("six_items")
    before = x.copy()
    pm.alpha(x)
    pm.omega(x)
    np.testing.assert_array_equal(x, before)
    x[:, 2] = 3.0
    with pytest.raises(ResponseError) as err:
        pm.alpha(x, labels=("a", "b", "c", "d", "e", "f"))
    assert err.value.problems[0].code == "constant-item"
    assert "item c" in str(err.value)


# -- omega -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SETS)
def test_omega_matches_psych(name: str) -> None:
    x, ref = read(name), SETS[name]
    om = pm.omega(x)
    close(om.factor.loadings, ref["loadings"], OMEGA_TOL)
    close(om.factor.uniquenesses, ref["u2"], OMEGA_TOL)
    close(om.omega_total, ref["omega_tot"], OMEGA_TOL)
    close(om.omega_h, ref["omega_h"], OMEGA_TOL)
    close(pm.omega(x, flip=False).omega_total, ref["omega_tot_noflip"], OMEGA_TOL)
    assert om.factor.converged


def test_omega_is_not_defined_where_a_pair_of_items_has_no_correlation() -> None:
    """Items b and c are answered together on two rows only, and c is 2 on both: their
    pairwise correlation does not exist, so there is no factor model (a ResponseError the
    reliability command shows as a notice), never a LinAlgError from a matrix with a NaN."""
    nan = np.nan
    x = np.array([[1, 2, 2], [2, 4, 2], [3, 3, nan], [4, nan, 4], [5, 5, nan]])
    with pytest.raises(ResponseError) as err:
        pm.omega(x, labels=("a", "b", "c"))
    assert err.value.problems[0].code == "no-correlation"
    assert "no correlation between items b and c" in str(err.value)


def test_omega_flips_the_unreversed_item_like_psych() -> None:
    om = pm.omega(read("unreversed"), labels=("i1", "i2", "i3", "i4", "i5"))
    assert om.flipped == ("i3",)
    assert om.factor.loadings[2] < 0
    assert pm.omega(read("six_items")).flipped == ()


def test_minres_heywood_case_reaches_the_bounded_minimum() -> None:
    r = np.array([[1, 0.9, 0.9, 0.3], [0.9, 1, 0.5, 0.3], [0.9, 0.5, 1, 0.3], [0.3, 0.3, 0.3, 1]])
    fit = pm.minres_one_factor(r)
    assert fit.heywood and fit.converged
    psych = np.array(HEYWOOD["loadings"])
    psych_objective = np.sum(np.tril(r - np.outer(psych, psych), -1) ** 2)
    assert fit.objective < psych_objective - 1e-4  # psych's L-BFGS-B stops short here
    close(fit.loadings, HEYWOOD["loadings"], 1e-2)  # ... but not far (6.6e-3)


def test_minres_solution_is_a_stationary_point() -> None:
    # At the minres optimum the model's diagonal equals the communalities it was fitted
    # with (Harman 1976): λ is the first eigenvector of R with λ² on the diagonal.
    r = pm.pairwise(read("ceiling")).cor
    fit = pm.minres_one_factor(r)
    lam = np.array(fit.loadings)
    a = r - np.diag(1 - lam**2)
    vals, vecs = np.linalg.eigh(a)
    np.testing.assert_allclose(np.abs(np.sqrt(vals[-1]) * vecs[:, -1]), np.abs(lam), atol=1e-8)


def test_minres_converges_on_many_random_scales() -> None:
    rng = np.random.default_rng(3)
    for _ in range(40):
        k = int(rng.integers(3, 20))
        lam = rng.uniform(-0.3, 0.95, k)
        x = rng.standard_normal((200, 1)) * lam + rng.standard_normal((200, k)) * np.sqrt(
            1 - lam**2
        )
        fit = pm.minres_one_factor(np.corrcoef(x.T))
        assert fit.converged


def test_minres_gradient_is_exact() -> None:
    r = pm.pairwise(read("six_items")).cor
    psi = np.linspace(0.4, 0.8, r.shape[0])
    _, grad, _ = omega_mod._minres_fit(psi, r)
    h = 1e-6
    numeric = [
        (omega_mod._minres_fit(psi + h * e, r)[0] - omega_mod._minres_fit(psi - h * e, r)[0])
        / (2 * h)
        for e in np.eye(r.shape[0])
    ]
    np.testing.assert_allclose(grad, numeric, atol=1e-8)


def test_f_quantile_inverts_the_incomplete_beta() -> None:
    for p, d1, d2 in [(0.025, 4.0, 20.0), (0.975, 299.0, 1495.0), (0.5, 999_999.0, 5e6)]:
        f = alpha_mod._f_quantile(p, d1, d2)
        assert abs(alpha_mod._beta_inc(d1 / 2, d2 / 2, d1 * f / (d1 * f + d2)) - p) < 1e-12


# -- repeated measures -----------------------------------------------------------------------


def test_multilevel_reliability_matches_psych_mlr() -> None:
    s = read("sessions")
    ml = pm.multilevel_reliability(s[:, 2:], s[:, 0], s[:, 1])
    assert (ml.n_clients, ml.n_sessions, ml.n_items) == (40, 5, 4)
    components = (
        ml.var_id,
        ml.var_time,
        ml.var_items,
        ml.var_id_time,
        ml.var_id_items,
        ml.var_time_items,
        ml.var_residual,
    )
    close(components, SESSIONS["components"], MLR_TOL)
    close(ml.rkf, SESSIONS["RkF"], MLR_TOL)
    close(ml.r1r, SESSIONS["R1R"], MLR_TOL)
    close(ml.rkr, SESSIONS["RkR"], MLR_TOL)
    close(ml.rc, SESSIONS["Rc"], MLR_TOL)
    close(ml.rkrn, SESSIONS["RkRn"], MLR_TOL)  # psych: nlme REML; here: nested ANOVA
    close(ml.rcn, SESSIONS["Rcn"], MLR_TOL)


def test_multilevel_reliability_refuses_an_unbalanced_design() -> None:
    s = read("sessions_unbalanced")
    with pytest.raises(ResponseError) as err:
        pm.multilevel_reliability(s[:, 2:], s[:, 0], s[:, 1])
    assert err.value.problems[0].code == "unbalanced-design"


@pytest.mark.parametrize(
    ("name", "ref"), [("sessions", "SESSIONS"), ("sessions_unbalanced", "UNBALANCED")]
)
def test_icc1_matches_psych_statsby(name: str, ref: str) -> None:
    s = read(name)
    expected: Ref = getattr(psychref, ref)
    icc = pm.icc1(s[:, 2:].sum(axis=1), s[:, 0])  # NaN sum (a blank item) is left out
    close(icc.icc1, expected["ICC1"], 1e-9)
    close(icc.icc1k, expected["ICC2"], 1e-9)


def test_icc1_balanced_is_shrout_fleiss() -> None:
    s = read("sessions")
    icc = pm.icc1(s[:, 2:].sum(axis=1), s[:, 0].astype(int).astype(str))
    close(icc.icc1, SESSIONS["ICC_shrout_fleiss_1_1"], 1e-9)
    assert (icc.n_clients, icc.n_obs, icc.mean_sessions) == (40, 200, 5.0)


# -- the keyed-matrix helper agrees with the engine --------------------------------------------


@pytest.fixture
def wai() -> Questionnaire:
    return load_definition(Path(__file__).parents[2] / "questionnaires" / "wai.yaml")


def random_answers(q: Questionnaire, rows: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    lo = np.array([q.scale_of(i).min for i in q.item_ids()])
    hi = np.array([q.scale_of(i).max for i in q.item_ids()])
    x = np.floor(lo + rng.random((rows, lo.size)) * (hi - lo + 1))
    x[rng.random(x.shape) < 0.01] = np.nan
    return x


@pytest.mark.parametrize("which", ["tiny", "wai"])
def test_scale_items_agree_with_the_engine(which: str, request: pytest.FixtureRequest) -> None:
    q: Questionnaire = request.getfixturevalue(which)
    x = random_answers(q, 400, seed=7)
    if which == "tiny":
        x[::17, 1] = 9  # "does not apply": unanswered for the helper as for the engine
    scores = score_matrix(q, x)
    for scale_id, scale in q.scales.items():
        items = pm.scale_items(q, scale_id, x)
        assert items.item_ids == tuple(scale.items)
        complete = ~np.isnan(items.values).any(axis=1)
        assert 0 < complete.sum() < x.shape[0]
        engine = scores.scales[scale_id]
        np.testing.assert_array_equal(complete, engine.answered == len(scale.items))
        mine = items.values.sum(axis=1) if scale.method is Method.sum else items.values.mean(axis=1)
        np.testing.assert_allclose(mine[complete], engine.score[complete], rtol=0, atol=1e-12)
        lo, hi = q.scale_range(scale_id)
        d = pm.describe(items)
        assert (d.minimum, d.maximum) == pytest.approx((lo, hi))


def test_scale_items_reverse_on_the_items_own_range(tiny: Questionnaire) -> None:
    x = np.array([[1.0, 2.0, 3.0, 4.0], [5.0, np.nan, 9.0, 2.0]])
    warmth = pm.scale_items(tiny, "warmth", x)  # items a, b; b reversed on 1..5
    np.testing.assert_array_equal(warmth.values, [[1.0, 4.0], [5.0, np.nan]])
    work = pm.scale_items(tiny, "work", x)  # items c, d, a; 9 = does not apply
    np.testing.assert_array_equal(work.values, [[3.0, 4.0, 1.0], [np.nan, 2.0, 5.0]])
    np.testing.assert_array_equal(x[1], [5.0, np.nan, 9.0, 2.0])  # caller's data untouched


def test_pasted_literals_are_the_committed_r_output() -> None:
    text = Path(psychref.__file__).read_text(encoding="utf-8")
    block = text.split("reference.out ---")[1].split("\n", 1)[1].split("# ---- end of pasted")[0]
    assert block == (DATA / "reference.out").read_text(encoding="utf-8")


def test_no_pandas_at_module_top_level() -> None:
    tree = ast.parse(Path(pm.__file__).read_text(encoding="utf-8"))
    top = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    names = {a.name for n in top if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module or "" for n in top if isinstance(n, ast.ImportFrom)}
    assert not any(name.split(".")[0] in {"pandas", "scipy"} for name in names)


@pytest.mark.parametrize("which", ["tiny", "wai"])
def test_one_pass_over_the_answers_gives_every_scale(
    which: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The questionnaire's moments, taken once in blocks of rows and keyed per scale, give
    each scale's moments, alpha and omega as computing that scale on its own does."""
    import pandas as pd

    from alliance_cli.research.psychometrics import _base
    from alliance_cli.scoring import ANSWERED, cell_states

    q: Questionnaire = request.getfixturevalue(which)
    x = random_answers(q, 1000, seed=11)
    if which == "tiny":
        x[::17, 2] = 9  # "does not apply"
    monkeypatch.setattr(_base, "_BLOCK_ROWS", 64)  # many blocks, a short last one
    answers = pm.answered(q, x)
    np.testing.assert_array_equal(answers, np.where(cell_states(q, x) == ANSWERED, x, np.nan))
    moments = pm.pairwise(answers)
    for scale_id in q.scales:
        items = pm.keyed_items(q, scale_id, answers)
        np.testing.assert_array_equal(items.values, pm.scale_items(q, scale_id, x).values)
        p, ref = moments.keyed(items), pd.DataFrame(items.values)
        np.testing.assert_allclose(p.cov, ref.cov().to_numpy(), rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(p.cor, ref.corr().to_numpy(), rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(p.mean, ref.mean().to_numpy(), rtol=1e-12)
        seen = (~np.isnan(items.values)).astype(float)
        np.testing.assert_array_equal(p.n, seen.T @ seen)
        labels = items.item_ids
        mine, alone = pm.alpha_of(p, labels=labels), pm.alpha(items.values, labels=labels)
        assert (mine.raw_alpha, mine.std_alpha, mine.ci_lower, mine.ci_upper) == pytest.approx(
            (alone.raw_alpha, alone.std_alpha, alone.ci_lower, alone.ci_upper), rel=1e-10
        )
        for a, b in zip(mine.items, alone.items, strict=True):
            assert (a.item, a.n) == (b.item, b.n)
            got = (a.mean, a.sd, a.r_drop, a.alpha_if_deleted, a.std_alpha_if_deleted)
            want = (b.mean, b.sd, b.r_drop, b.alpha_if_deleted, b.std_alpha_if_deleted)
            assert got == pytest.approx(want, rel=1e-10, nan_ok=True)
        if len(labels) > 2:
            om = pm.omega_of(p, labels=labels)
            assert om.omega_total == pytest.approx(pm.omega(items.values).omega_total, rel=1e-8)


def test_integer_codes_group_as_their_labels() -> None:
    rng = np.random.default_rng(3)
    labels = rng.choice(np.array(["p1", "p2", "p3", "p4"]), size=200)
    sessions = np.tile(np.arange(50), 4)
    score = rng.normal(size=200)
    codes = np.unique(labels, return_inverse=True)[1] * 5 + 2  # sparse integer codes
    assert pm.icc1(score, codes) == pm.icc1(score, labels)
    x = rng.normal(size=(200, 3))
    clients = np.repeat(np.array(["a", "b", "c", "d"]), 50)
    by_text = pm.multilevel_reliability(x, clients, sessions.astype(str))
    by_code = pm.multilevel_reliability(x, np.repeat([0, 3, 4, 9], 50), sessions)
    assert by_text.rkf == pytest.approx(by_code.rkf, rel=1e-12)  # the order of sessions aside
