"""psychometrics: reliability that matches R psych, pinned against values R computed.

The literals below are the output of ``tests/data/psych/reference.R`` (R 4.2.2, psych 2.2.9)
on the CSVs beside it, pasted verbatim; the tests never need R. Tolerances follow the
project's promise (issue 4 §5): alpha and item statistics 1e-6, omega and ``mlr`` 1e-3.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from alliance_cli.definitions import load_definition
from alliance_cli.errors import ResponseError
from alliance_cli.model import Method, Questionnaire
from alliance_cli.research import psychometrics as pm
from alliance_cli.scoring import score_matrix

DATA = Path(__file__).parent / "data" / "psych"

# fmt: off
# ---- pasted from tests/data/psych/reference.out -----------------------------------------
# R version 4.2.2 Patched (2022-11-10 r83330), psych 2.2.9
SIX_ITEMS = dict(
    n_complete=(253,),
    mean=(3.58432147562582,),
    sd=(0.634060525390784,),
    floor_pct=(0,),
    ceiling_pct=(0.395256916996047,),
    raw_alpha=(0.752931966215922,),
    std_alpha=(0.751786282040326,),
    ci=(
        0.706960607525593, 0.793854818346876,
    ),
    n=(
        290, 287, 295, 294,
        288, 295,
    ),
    item_mean=(
        3.57241379310345, 3.58536585365854, 3.56271186440678, 3.54421768707483,
        3.59375, 3.53898305084746,
    ),
    item_sd=(
        0.946637301781401, 0.926793359987362, 0.959361023368198, 1.01343394555685,
        0.936054344144419, 0.898414504647342,
    ),
    r_drop=(
        0.582284514224632, 0.529572411463254, 0.536485442107218, 0.507548156099606,
        0.466994610875934, 0.333217708394446,
    ),
    alpha_drop=(
        0.692306897377456, 0.707346572371455, 0.704994681930315, 0.713291095903231,
        0.724058869243761, 0.756999680625957,
    ),
    std_alpha_drop=(
        0.691116656399199, 0.705526346268953, 0.703319055277946, 0.711590378686528,
        0.723136416270539, 0.757467904382187,
    ),
    complete=dict(
        raw_alpha=(0.756091344153142,),
        std_alpha=(0.755268208113019,),
        ci=(
            0.706401087624453, 0.799867092826842,
        ),
        n=(
            253, 253, 253, 253,
            253, 253,
        ),
        item_mean=(
            3.61264822134387, 3.60474308300395, 3.58893280632411, 3.58102766798419,
            3.60079051383399, 3.51778656126482,
        ),
        item_sd=(
            0.955434592571018, 0.918233095169773, 0.9537915396053, 1.01102834024917,
            0.927275925735883, 0.897903113861499,
        ),
        r_drop=(
            0.579843447808816, 0.545598502245634, 0.539335604069902, 0.496889574053323,
            0.462987205112925, 0.355140620109065,
        ),
        alpha_drop=(
            0.697516959973526, 0.70777789844252, 0.708909278678106, 0.721030381593302,
            0.729486695054426, 0.755844393118437,
        ),
        std_alpha_drop=(
            0.696872544430004, 0.706456690187414, 0.707496857399969, 0.71944156020163,
            0.729036642109955, 0.756412958193208,
        ),
    ),
    loadings=(
        0.699393002663742, 0.62866859443908, 0.636659255675082, 0.593272738879437,
        0.546900218504136, 0.382627416448614,
    ),
    u2=(
        0.510849427824995, 0.604775798365991, 0.594664992163251, 0.648027457302491,
        0.700900151000129, 0.853596260181859,
    ),
    omega_tot=(0.756587417590749,),
    omega_h=(0.756636921604263,),
    omega_tot_noflip=(0.756587417590749,),
)
UNREVERSED = dict(
    n_complete=(222,),
    mean=(22.9099099099099,),
    sd=(3.17099282038925,),
    floor_pct=(0,),
    ceiling_pct=(0,),
    raw_alpha=(0.176871184066028,),
    std_alpha=(0.176646994699136,),
    ci=(
        0.00377036866189939, 0.32784480229782,
    ),
    n=(
        241, 245, 245, 246,
        245,
    ),
    item_mean=(
        4.60580912863071, 4.5469387755102, 4.50612244897959, 4.60569105691057,
        4.61632653061224,
    ),
    item_sd=(
        1.30631776892773, 1.34394544568978, 1.30453310586166, 1.32287879112235,
        1.24784189749243,
    ),
    r_drop=(
        0.269879116424939, 0.252509332701399, -0.476807070959445, 0.307038323645801,
        0.265816302832633,
    ),
    alpha_drop=(
        -0.07953308804631, -0.065153870710839, 0.614439176007354, -0.13239809263137,
        -0.0615184261873371,
    ),
    std_alpha_drop=(
        -0.07888221897894, -0.0587596365512386, 0.613684904750211, -0.125550794801862,
        -0.0723571538624421,
    ),
    complete=dict(
        raw_alpha=(0.195655831414394,),
        std_alpha=(0.189940951740456,),
        ci=(
            0.0153511865054059, 0.351593858787999,
        ),
        n=(
            222, 222, 222, 222,
            222,
        ),
        item_mean=(
            4.63063063063063, 4.56306306306306, 4.47747747747748, 4.62612612612613,
            4.61261261261261,
        ),
        item_sd=(
            1.28639190194604, 1.33964457553682, 1.28933563057441, 1.324957898193,
            1.27041640781752,
        ),
        r_drop=(
            0.289577048469238, 0.244438495485918, -0.468614124393318, 0.30157749930643,
            0.286998757826009,
        ),
        alpha_drop=(
            -0.0667954249021771, -0.0215082405924679, 0.617381441533984, -0.0913213029432685,
            -0.0599534366328814,
        ),
        std_alpha_drop=(
            -0.0773041953845901, -0.0228630558678293, 0.617253630794534, -0.0928245620211211,
            -0.0750980856972824,
        ),
    ),
    loadings=(
        0.576381562175994, 0.585010640854772, -0.607498555863074, 0.544066227871208,
        0.431041112030641,
    ),
    u2=(
        0.66778429478356, 0.657762550086689, 0.630945504624279, 0.703991939689995,
        0.814203559739389,
    ),
    omega_tot=(0.684254969552047,),
    omega_h=(0.684208303745313,),
    omega_tot_noflip=(0.404986995423206,),
)
CEILING = dict(
    n_complete=(200,),
    mean=(25.32,),
    sd=(5.47975717468095,),
    floor_pct=(1.5,),
    ceiling_pct=(7.5,),
    raw_alpha=(0.858131653336087,),
    std_alpha=(0.858319035143341,),
    ci=(
        0.826352252839337, 0.886028309361009,
    ),
    n=(
        200, 200, 200, 200,
        200, 200, 200, 200,
    ),
    item_mean=(
        3.25, 3.1, 3.2, 3.17,
        3.25, 3.095, 3.15, 3.105,
    ),
    item_sd=(
        0.975838770767314, 0.99243368701167, 0.907810885049896, 0.977690849392038,
        0.944436233419163, 0.985306625233304, 0.922907792777723, 1.02431494450078,
    ),
    r_drop=(
        0.700639706897964, 0.722700722709535, 0.62467533134632, 0.699863525994256,
        0.561615109319404, 0.613434239261436, 0.46239770391295, 0.446935825906162,
    ),
    alpha_drop=(
        0.829311168582972, 0.826402049791832, 0.838753309909359, 0.829384021670563,
        0.845630238697844, 0.839719871292215, 0.856257218652393, 0.859780239654483,
    ),
    std_alpha_drop=(
        0.829522592424744, 0.827234847314771, 0.838655779560918, 0.829835890604585,
        0.845792542667889, 0.839972131856561, 0.857131638309554, 0.858894467031732,
    ),
    complete=dict(
        raw_alpha=(0.858131653336087,),
        std_alpha=(0.858319035143341,),
        ci=(
            0.826352252839337, 0.886028309361009,
        ),
        n=(
            200, 200, 200, 200,
            200, 200, 200, 200,
        ),
        item_mean=(
            3.25, 3.1, 3.2, 3.17,
            3.25, 3.095, 3.15, 3.105,
        ),
        item_sd=(
            0.975838770767314, 0.99243368701167, 0.907810885049896, 0.977690849392038,
            0.944436233419163, 0.985306625233304, 0.922907792777723, 1.02431494450078,
        ),
        r_drop=(
            0.700639706897964, 0.722700722709535, 0.62467533134632, 0.699863525994256,
            0.561615109319404, 0.613434239261436, 0.46239770391295, 0.446935825906162,
        ),
        alpha_drop=(
            0.829311168582972, 0.826402049791832, 0.838753309909359, 0.829384021670563,
            0.845630238697844, 0.839719871292215, 0.856257218652393, 0.859780239654483,
        ),
        std_alpha_drop=(
            0.829522592424744, 0.827234847314771, 0.838655779560918, 0.829835890604585,
            0.845792542667889, 0.839972131856561, 0.857131638309554, 0.858894467031732,
        ),
    ),
    loadings=(
        0.775971068370246, 0.792440608799201, 0.678145459053633, 0.768983305564017,
        0.613765548347286, 0.661249558003177, 0.492605171863255, 0.478333025574327,
    ),
    u2=(
        0.397868901052339, 0.372037881525952, 0.540118736364938, 0.408664675763838,
        0.623291851661955, 0.562749022040603, 0.757340144653573, 0.77119751664491,
    ),
    omega_tot=(0.862030667697415,),
    omega_h=(0.861542333047749,),
    omega_tot_noflip=(0.862030667697415,),
)
SESSIONS = dict(
    components=(
        0.155245726495725, 0.0237660256410254, -0.00278311965811963, 0.132275641025643,
        0.0306997863247854, 0.00312499999999968, 0.402708333333333,
    ),
    RkF=(0.890004114613882,),
    R1R=(0.388239674629085,),
    RkR=(0.760372024143422,),
    Rc=(0.567821824748477,),
    RkRn=(0.754188534890906,),
    Rcn=(0.578884588790199,),
    ICC1=(0.380281472853567,),
    ICC2=(0.754189773205339,),
    ICC_shrout_fleiss_1_1=(0.380281472853567,),
)
UNBALANCED = dict(
    ICC1=(0.414058786770208,),
    ICC2=(0.781115141884532,),
)
FELDT = dict(
    qf=(
        2.92911249312326, 0.270162139362321,
    ),
    ci=(
        0.414177501375347, 0.945967572127536,
    ),
)
HEYWOOD = dict(
    loadings=(
        1.04758678430031, 0.78280012298288, 0.782800122989045, 0.336955475831332,
    ),
)
# ---- end of pasted R output ---------------------------------------------------------------
# fmt: on

Ref = dict[str, Any]
SETS: dict[str, Ref] = {"six_items": SIX_ITEMS, "unreversed": UNREVERSED, "ceiling": CEILING}
RANGES = {
    "six_items": (1, 5, Method.mean),
    "unreversed": (1, 7, Method.sum),
    "ceiling": (0, 4, Method.sum),
}
ALPHA_TOL, OMEGA_TOL, MLR_TOL = 1e-6, 1e-3, 1e-3


def read(name: str) -> np.ndarray:
    """A CSV of numbers with a header row; blank cells become NaN."""
    return np.asarray(
        np.genfromtxt(DATA / f"{name}.csv", delimiter=",", skip_header=1), dtype=float
    )


def close(actual: object, expected: tuple[float, ...], tol: float) -> None:
    a = np.atleast_1d(np.asarray(actual, dtype=float))
    np.testing.assert_allclose(a, np.asarray(expected, dtype=float), rtol=0, atol=tol)


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


def check_alpha(a: pm.Alpha, ref: Ref) -> None:
    close(a.raw_alpha, ref["raw_alpha"], ALPHA_TOL)
    close(a.std_alpha, ref["std_alpha"], ALPHA_TOL)
    close((a.ci_lower, a.ci_upper), ref["ci"], ALPHA_TOL)
    close([s.n for s in a.items], ref["n"], 0)
    close([s.mean for s in a.items], ref["item_mean"], ALPHA_TOL)
    close([s.sd for s in a.items], ref["item_sd"], ALPHA_TOL)
    close([s.r_drop for s in a.items], ref["r_drop"], ALPHA_TOL)
    close([s.alpha_if_deleted for s in a.items], ref["alpha_drop"], ALPHA_TOL)
    close([s.std_alpha_if_deleted for s in a.items], ref["std_alpha_drop"], ALPHA_TOL)


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
    close(pm._f_quantile(0.975, 9, 18), FELDT["qf"][:1], 1e-9)
    close(pm._f_quantile(0.025, 9, 18), FELDT["qf"][1:], 1e-9)
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
    _, _, r = pm._pairwise(read("ceiling"))
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
    _, _, r = pm._pairwise(read("six_items"))
    psi = np.linspace(0.4, 0.8, r.shape[0])
    _, grad, _ = pm._minres_fit(psi, r)
    h = 1e-6
    numeric = [
        (pm._minres_fit(psi + h * e, r)[0] - pm._minres_fit(psi - h * e, r)[0]) / (2 * h)
        for e in np.eye(r.shape[0])
    ]
    np.testing.assert_allclose(grad, numeric, atol=1e-8)


def test_f_quantile_inverts_the_incomplete_beta() -> None:
    for p, d1, d2 in [(0.025, 4.0, 20.0), (0.975, 299.0, 1495.0), (0.5, 999_999.0, 5e6)]:
        f = pm._f_quantile(p, d1, d2)
        assert abs(pm._beta_inc(d1 / 2, d2 / 2, d1 * f / (d1 * f + d2)) - p) < 1e-12


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
    expected: Ref = globals()[ref]
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
    return load_definition(Path(__file__).parents[1] / "questionnaires" / "wai.yaml")


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
    text = Path(__file__).read_text(encoding="utf-8")
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
