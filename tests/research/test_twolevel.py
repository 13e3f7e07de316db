"""Within- and between-client alphas (Geldhof et al. 2014) of unbalanced repeated measures,
pinned against R lavaan's saturated two-level model; and ``alliance reliability --by``.

The literals below are the output of ``tests/data/psych/twolevel.R`` (R 4.2.2, lavaan
0.6.14) on the CSVs beside it (``generate.py`` wrote them), pasted verbatim; the tests never
need R. lavaan stops its optimiser (nlminb, default tolerances) about 3e-5 short of the
maximum, so the covariance matrices are compared to 1e-4 and the alphas to 1e-5; the
balanced set is also checked against the closed-form estimates, computed here with pandas.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from alliance_cli.catalog import Catalog
from alliance_cli.cli import app
from alliance_cli.errors import ResponseError
from alliance_cli.research import psychometrics as pm
from alliance_cli.research.batch import BatchOptions
from alliance_cli.research.mapfile import load_map
from alliance_cli.research.readers import read_table
from alliance_cli.research.reliability import Reliability, reliability
from tests.research.psychref import DATA, close, definition

# fmt: off
# ---- pasted from tests/data/psych/twolevel.out ---------------------------------------------
# R version 4.2.2 Patched (2022-11-10 r83330), lavaan 0.6.14
TWOLEVEL = dict(
    n_rows=(225,),
    n_clients=(40,),
    within=(
        0.997562437737164, 0.393419116927799, 0.410305247804244, 0.285970704698133,
        0.261301703312622, 0.393419116927799, 0.934990827392734, 0.369592669650325,
        0.198732042540627, 0.158107027070019, 0.410305247804244, 0.369592669650325,
        0.770434063402511, 0.308219654404218, 0.268450653630196, 0.285970704698133,
        0.198732042540627, 0.308219654404218, 0.697604857394561, 0.115395388031447,
        0.261301703312622, 0.158107027070019, 0.268450653630196, 0.115395388031447,
        0.59049104006636,
    ),
    between=(
        0.881973997676732, 0.689957213457986, 0.567838681669175, 0.548015031000339,
        0.411313400907383, 0.689957213457986, 0.849078131870871, 0.437773525928537,
        0.557498818130411, 0.319317869355511, 0.567838681669175, 0.437773525928537,
        0.629101119716551, 0.41628871694259, 0.316095962034577, 0.548015031000339,
        0.557498818130411, 0.41628871694259, 0.669260060988961, 0.442249497350777,
        0.411313400907383, 0.319317869355511, 0.316095962034577, 0.442249497350777,
        0.460534562336135,
    ),
    mean=(
        4.32989362395572, 4.39785333130912, 4.35656737862547, 4.35303822221255,
        4.25580282166602,
    ),
    loglik=(-1477.4727397892,),
    alpha_within=(0.726514530023482,),
    alpha_between=(0.911896088962524,),
    min_eigen_between=(0.0692265239776393,),
)
BALANCED = dict(
    n_rows=(160,),
    n_clients=(40,),
    within=(
        1.04999388904719, 0.56250116550727, 0.424999211392108, 0.43749616818169,
        0.185419375846091, 0.56250116550727, 1.18125356788986, 0.497915418829072,
        0.46666295374163, 0.391670335555152, 0.424999211392108, 0.497915418829072,
        1.14582734345179, 0.264578309532969, 0.231248973632102, 0.43749616818169,
        0.46666295374163, 0.264578309532969, 0.881244049924803, 0.154166411641856,
        0.185419375846091, 0.391670335555152, 0.231248973632102, 0.154166411641856,
        0.654169083158453,
    ),
    between=(
        0.896116635938293, 0.576174339475074, 0.488294876010699, 0.497278699157148,
        0.475509437853318, 0.576174339475074, 0.696510655627359, 0.38685137211293,
        0.386031348262392, 0.4931555940659, 0.488294876010699, 0.38685137211293,
        0.556521388054317, 0.377222449001231, 0.282804919302021, 0.497278699157148,
        0.386031348262392, 0.377222449001231, 0.394969786476352, 0.320357371790077,
        0.475509437853318, 0.4931555940659, 0.282804919302021, 0.320357371790077,
        0.545181558820904,
    ),
    mean=(
        4.4375, 4.16875, 4.3125, 4.20625,
        4.275,
    ),
    loglik=(-1123.43932531629,),
    alpha_within=(0.744425430955066,),
    alpha_between=(0.918719448520488,),
    min_eigen_between=(0.0580589460355266,),
)
SESSIONS = dict(
    n_rows=(200,),
    n_clients=(40,),
    within=(
        0.647499936340573, 0.151250118579509, 0.0962503050612738, 0.124999997698224,
        0.151250118579509, 0.529999719093712, 0.186249862118497, 0.15999995453977,
        0.0962503050612738, 0.186249862118497, 0.564999996662499, 0.217499939382578,
        0.124999997698224, 0.15999995453977, 0.217499939382578, 0.504999898353282,
    ),
    between=(
        0.256100212347382, 0.190549929359997, 0.256349959826391, 0.120500084930146,
        0.190549929359997, 0.178400042074313, 0.142549897019931, 0.0664999442932353,
        0.256349959826391, 0.142549897019931, 0.174099894457737, 0.0992500528995162,
        0.120500084930146, 0.0664999442932353, 0.0992500528995162, 0.0843751014748311,
    ),
    mean=(
        3.42, 3.46, 3.47, 3.475,
    ),
    loglik=(-894.711509594099,),
    alpha_within=(0.605987183767299,),
    alpha_between=(0.955336092573828,),
    min_eigen_between=(-0.0466066710539308,),
)
UNBALANCED = dict(
    n_rows=(303,),
    n_clients=(60,),
    within=(
        0.67001277696977, 0.168702716020468, 0.140338575339272, 0.114045358248779,
        0.168702716020468, 0.586386910951833, 0.20306760625971, 0.153352352141486,
        0.140338575339272, 0.20306760625971, 0.567135625810846, 0.139291478930544,
        0.114045358248779, 0.153352352141486, 0.139291478930544, 0.518926256526596,
    ),
    between=(
        0.195984747455533, 0.201410974898778, 0.214624529236251, 0.156780309532276,
        0.201410974898778, 0.166094941279736, 0.170396075810498, 0.154106714378402,
        0.214624529236251, 0.170396075810498, 0.17947968970537, 0.15604939931369,
        0.156780309532276, 0.154106714378402, 0.15604939931369, 0.137785480562138,
    ),
    mean=(
        3.44885652091156, 3.38256075564829, 3.37136295801707, 3.39695899725851,
    ),
    loglik=(-1370.93857934832,),
    alpha_within=(0.586146982126208,),
    alpha_between=(1.00821960221209,),
    min_eigen_between=(-0.0361878562138059,),
)
# ---- end of pasted --------------------------------------------------------------------------
# fmt: on

COV_TOL, ALPHA_TOL = 1e-4, 1e-5
SETS = {"twolevel": TWOLEVEL, "twolevel_balanced": BALANCED}
runner = CliRunner()


def frame(name: str) -> tuple[pd.DataFrame, list[str]]:
    d = pd.read_csv(DATA / f"{name}.csv")
    return d, [c for c in d.columns if c.startswith("i")]


def square(values: tuple[float, ...]) -> np.ndarray:
    k = math.isqrt(len(values))
    return np.asarray(values, dtype=float).reshape(k, k)  # symmetric: order does not matter


def test_pasted_literals_are_the_committed_r_output() -> None:
    text = Path(__file__).read_text(encoding="utf-8")
    block = text.split("twolevel.out ---")[1].split("\n", 1)[1].split("# ---- end of pasted")[0]
    assert block == (DATA / "twolevel.out").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", SETS)
def test_estimates_and_alphas_match_lavaan(name: str) -> None:
    d, items = frame(name)
    ref = SETS[name]
    fit = pm.within_between_of(d[items].to_numpy(float), d["client"].to_numpy())
    assert (fit.n_rows, fit.n_clients) == (ref["n_rows"][0], ref["n_clients"][0])
    close(fit.within.ravel(), square(ref["within"]).ravel(), COV_TOL)
    close(fit.between.ravel(), square(ref["between"]).ravel(), COV_TOL)
    close(fit.mean, ref["mean"], COV_TOL)
    close(fit.loglik, ref["loglik"], 1e-6)
    a = pm.two_level_alpha(d[items].to_numpy(float), d["client"].to_numpy())
    close((a.alpha_within, a.alpha_between), ref["alpha_within"] + ref["alpha_between"], ALPHA_TOL)
    assert (a.n_clients, a.n_rows) == (ref["n_clients"][0], ref["n_rows"][0])


def test_the_unbalanced_set_is_what_the_issue_describes() -> None:
    d, items = frame("twolevel")
    complete = d.dropna(subset=items)
    sessions = complete.groupby("client").size()
    assert (sessions.min(), sessions.max(), sessions.size) == (1, 12, 40)
    assert len(items) == 5 and len(complete) < len(d)  # rows with a blank item are left out


def test_balanced_data_give_the_closed_form_estimates() -> None:
    """On balanced data the ML estimates are the MANOVA ones (when Σ_B is positive definite):
    Σ_W = pooled within-client scatter / (N − G), Σ_B = cov(client means, ddof 0) − Σ_W / n."""
    d, items = frame("twolevel_balanced")
    n = d.groupby("client").size().iloc[0]
    means = d.groupby("client")[items].mean()
    dev = d[items] - means.loc[d["client"]].to_numpy()
    within = dev.T @ dev / (len(d) - len(means))
    between = means.cov(ddof=0) - within / n
    fit = pm.within_between_of(d[items].to_numpy(float), d["client"].to_numpy())
    close(fit.within.ravel(), within.to_numpy().ravel(), 1e-12)
    close(fit.between.ravel(), between.to_numpy().ravel(), 1e-12)
    k = len(items)
    by_hand = [k / (k - 1) * (1 - np.trace(c) / c.sum()) for c in (within.values, between.values)]
    a = pm.two_level_alpha(d[items].to_numpy(float), d["client"].to_numpy())
    close((a.alpha_within, a.alpha_between), tuple(by_hand), 1e-12)


@pytest.mark.parametrize(
    ("name", "ref"), [("sessions", SESSIONS), ("sessions_unbalanced", UNBALANCED)]
)
def test_a_between_matrix_that_is_not_positive_definite_is_refused(name: str, ref: dict) -> None:  # type: ignore[type-arg]
    """lavaan returns these Σ_B with a negative eigenvalue (and an alpha between above 1 for
    the unbalanced set): not computed, with lavaan's eigenvalue in the reason."""
    assert ref["min_eigen_between"][0] < 0
    d, items = frame(name)
    with pytest.raises(ResponseError) as err:
        pm.two_level_alpha(d[items].to_numpy(float), d["client"].to_numpy())
    (problem,) = err.value.problems
    assert problem.code == "between-boundary"
    assert problem.message == (
        "not computed, because the between-client covariance matrix is not positive definite "
        f"(smallest eigenvalue {ref['min_eigen_between'][0]:.3g}): for some item or "
        "combination of items the client means vary no more than their sessions explain"
    )


def test_a_likelihood_rising_beyond_the_boundary_is_refused() -> None:
    """Seven clients with 1 to 6 sessions and four items: the likelihood grows without bound
    as Σ_B leaves the positive definite cone (lavaan 0.6.14 does not converge on it)."""
    rows = (
        "1,3,5,4,3 1,4,4,7,3 1,3,3,6,3 1,4,3,6,5 2,3,5,3,3 2,6,5,4,4 2,5,5,3,4 3,6,5,5,5 "
        "3,4,3,3,4 4,2,4,5,4 5,6,4,5,5 5,3,3,4,2 5,2,3,5,3 6,4,4,5,6 6,4,3,5,5 6,3,3,2,5 "
        "6,6,4,5,7 6,5,5,5,6 6,5,4,4,6 7,4,5,6,7 7,4,5,5,7 7,3,3,4,5 7,5,4,5,7"
    )
    data = np.array([row.split(",") for row in rows.split()], dtype=float)
    with pytest.raises(ResponseError) as err:
        pm.two_level_alpha(data[:, 1:], data[:, 0])
    assert err.value.problems[0].message == (
        "not computed, because the between-client covariance matrix is not positive definite "
        "(no maximum inside it): for some item or combination of items the client means vary "
        "no more than their sessions explain"
    )


def test_sufficient_statistics_give_what_the_rows_give() -> None:
    """``within_between(n, sums, sscp)`` from per-client sums taken with pandas (a client
    without complete rows among them) equals the convenience on the rows; client labels,
    row order and a shift of an item change nothing but the mean."""
    d, items = frame("twolevel")
    complete = d.dropna(subset=items)
    sums = complete.groupby("client")[items].sum()
    n = complete.groupby("client").size()
    sums.loc[999] = 0.0
    n.loc[999] = 0
    x = complete[items].to_numpy(float)
    fit = pm.within_between(n.to_numpy(), sums.to_numpy(), x.T @ x)
    rows = pm.within_between_of(d[items].to_numpy(float), d["client"].to_numpy())
    close(fit.within.ravel(), rows.within.ravel(), 1e-10)
    close(fit.between.ravel(), rows.between.ravel(), 1e-10)
    order = np.random.default_rng(1).permutation(len(d))
    shift = np.array([0, 0, 10, 0, 0])
    shifted = d[items].to_numpy(float)[order] + shift
    labels = np.array([f"c{c:03d}" for c in d["client"]])[order]
    moved = pm.within_between_of(shifted, labels)
    close(moved.within.ravel(), rows.within.ravel(), 1e-10)
    close(moved.between.ravel(), rows.between.ravel(), 1e-10)
    close(moved.mean, tuple(rows.mean + shift), 1e-10)


def refusal(x: np.ndarray, clients: np.ndarray) -> tuple[str, str]:
    with pytest.raises(ResponseError) as err:
        pm.two_level_alpha(x, clients, labels=("a", "b", "c"))
    (problem,) = err.value.problems
    return problem.code, problem.message


def sample(clients: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    level = rng.standard_normal((clients, 1)) + rng.standard_normal((clients, 3)) * 0.8
    codes = np.repeat(np.arange(clients), rows)
    return np.rint(4 + level[codes] + rng.standard_normal((codes.size, 3))), codes


def test_edge_cases_are_refused_with_the_reason() -> None:
    x, codes = sample(30, 1)
    assert refusal(x, codes) == (
        "too-few-clients",
        "not computed, because fewer than two clients have two or more complete rows (here 0)",
    )
    x, codes = sample(3, 6)
    assert refusal(x, codes) == (
        "too-few-clients",
        "not computed, because there are no more clients than items (3 clients with a "
        "complete row, 3 items)",
    )
    x, codes = sample(30, 3)
    constant = x.copy()
    constant[:, 1] = 4
    assert refusal(constant, codes) == (
        "within-singular",
        "not computed, because the within-client covariance matrix is singular: item b never "
        "varies within a client",
    )
    per_client = x.copy()
    per_client[:, 2] = codes % 5  # varies between clients, never within one
    assert refusal(per_client, codes)[1].endswith("item c never varies within a client")
    dependent = x.copy()
    dependent[:, 2] = x[:, 0] + x[:, 1]
    assert refusal(dependent, codes) == (
        "within-singular",
        "not computed, because the within-client covariance matrix is singular: the items are "
        "linearly dependent within clients (too few repeated sessions, or one item a sum of "
        "others)",
    )
    x, codes = sample(30, 3)
    x[3, 0] = np.nan  # an incomplete row is left out, as if it were not there
    fit = pm.two_level_alpha(x, codes)
    assert fit == pm.two_level_alpha(np.delete(x, 3, axis=0), np.delete(codes, 3))
    assert (fit.n_clients, fit.n_rows) == (30, 89)


def test_one_row_clients_count_between_only() -> None:
    """Clients with a single session carry no within-client information but do inform Σ_B:
    dropping them changes α between, and the counts say how many took part."""
    d, items = frame("twolevel")
    d = d.dropna(subset=items)
    single = d.groupby("client")["client"].transform("size") == 1
    assert single.sum() >= 2
    every = pm.two_level_alpha(d[items].to_numpy(float), d["client"].to_numpy())
    repeated = pm.two_level_alpha(d.loc[~single, items].to_numpy(float), d.loc[~single, "client"])
    assert every.n_clients == repeated.n_clients + single.sum()
    assert every.alpha_between != repeated.alpha_between


# -- alliance reliability --by ----------------------------------------------------------------


@pytest.fixture
def defs(tmp_path: Path) -> Path:
    folder = tmp_path / "defs"
    folder.mkdir()
    (folder / "ptwo.yaml").write_text(definition("ptwo", 5, 1, 7, "sum"), encoding="utf-8")
    (folder / "psess.yaml").write_text(definition("psess", 4, 1, 5, "sum"), encoding="utf-8")
    for qid, k in (("ptwo", 5), ("psess", 4)):
        columns = ", ".join(f"i{j}: i{j}" for j in range(1, k + 1))
        (tmp_path / f"map-{qid}.yaml").write_text(
            f"questionnaires:\n  {qid}: {{columns: {{{columns}}}}}\n", encoding="utf-8"
        )
    return folder


def library(defs: Path, name: str, qid: str, **kw: str) -> Reliability:
    q = Catalog(user_dirs=[defs]).get(qid)
    spec = BatchOptions(spec=load_map(defs.parent / f"map-{qid}.yaml"))
    return reliability([read_table(DATA / f"{name}.csv")], [q], spec, **kw)


def run(defs: Path, name: str, qid: str, *args: str):  # type: ignore[no-untyped-def]
    mapfile = str(defs.parent / f"map-{qid}.yaml")
    data = str(DATA / f"{name}.csv")
    result = runner.invoke(
        app, ["reliability", data, "-q", qid, "-d", str(defs), "--map", mapfile, *args]
    )
    assert "Traceback" not in result.output
    assert result.exit_code == 0, result.output
    return result


def test_reliability_by_client_gives_the_within_and_between_alphas(defs: Path) -> None:
    (s,) = library(defs, "twolevel", "ptwo", by="client").scales
    assert s.two_level is not None and s.notes == ()
    close(
        (s.two_level.alpha_within, s.two_level.alpha_between),
        TWOLEVEL["alpha_within"] + TWOLEVEL["alpha_between"],
        ALPHA_TOL,
    )
    assert (s.two_level.n_clients, s.two_level.n_rows) == (40, 225)
    shown = run(defs, "twolevel", "ptwo", "--by", "client")
    assert (
        "alpha within clients 0.727 · between clients 0.912 (Geldhof et al. 2014; 40 "
        "clients, 225 rows)"
    ) in " ".join(shown.stdout.split())  # the line wraps at 80 columns
    data = json.loads(run(defs, "twolevel", "ptwo", "--by", "client", "--json").stdout)
    assert data == library(defs, "twolevel", "ptwo", by="client").to_dict()
    assert data["scales"][0]["two_level"] == {
        "alpha_within": s.two_level.alpha_within,
        "alpha_between": s.two_level.alpha_between,
        "n_clients": 40,
        "n_rows": 225,
    }


def test_unbalanced_sessions_name_the_within_and_between_alphas(defs: Path) -> None:
    (s,) = library(defs, "twolevel", "ptwo", by="client", session="session").scales
    assert s.multilevel is None and s.two_level is not None
    (note,) = s.notes
    assert note.startswith("multilevel: multilevel reliability needs every client rated once")
    assert note.endswith(
        "; for unbalanced sessions, alpha within and between clients (Geldhof et al. 2014) "
        "is given instead"
    )
    shown = run(defs, "twolevel", "ptwo", "--by", "client", "--session", "session")
    assert "alpha within clients 0.727 · between clients 0.912" in " ".join(shown.stdout.split())
    assert "for unbalanced sessions, alpha within and between clients" in " ".join(
        shown.stderr.split()
    )
    assert "mlr:" not in shown.stdout


def test_a_refused_two_level_alpha_is_a_note(defs: Path) -> None:
    shown = run(defs, "sessions_unbalanced", "psess", "--by", "client", "--json")
    (scale,) = json.loads(shown.stdout)["scales"]
    assert scale["two_level"] is None and scale["icc"] is not None
    assert scale["notes"] == [
        "alpha within/between: not computed, because the between-client covariance matrix "
        "is not positive definite (smallest eigenvalue -0.0362): for some item or "
        "combination of items the client means vary no more than their sessions explain"
    ]


@pytest.mark.slow
def test_a_numerically_singular_matrix_is_refused_not_a_traceback() -> None:
    """500 random answers (1–5, ~10% blank, 2% out of range, read as missing) of 40 clients:
    the fit meets a matrix that passes the eigenvalue test but cannot be inverted. Each
    scale either has its two alphas or the reason they are not computed — never a
    traceback."""
    data = DATA.parent / "reliability-singular.csv"
    args = ["reliability", str(data), "-q", "wai-sr", "--id", "id", "--invalid", "missing"]
    result = runner.invoke(app, [*args, "--by", "client", "--json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 0, result.output
    scales = json.loads(result.stdout)["scales"]
    assert [s["scale"] for s in scales] == ["goal", "task", "bond", "goal_task", "total"]
    for s in scales:
        notes = [n for n in s["notes"] if n.startswith("alpha within/between: ")]
        assert (s["two_level"] is None) == bool(notes), s
        assert all("not computed, because " in n for n in notes)
    assert any(s["two_level"] is None for s in scales)


def test_a_blank_session_does_not_change_the_icc_or_the_alphas(defs: Path, tmp_path: Path) -> None:
    """--session adds psych::mlr; the ICC and the within/between alphas take every row with a
    client, so a row whose session is blank stays in them (it leaves only the mlr cells)."""
    import csv

    with (DATA / "twolevel.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    for r, row in enumerate(rows[1:]):
        if r % 5 == 0:
            row[1] = ""  # the session column
    (tmp_path / "blank.csv").write_text(
        "\n".join(",".join(row) for row in rows) + "\n", encoding="utf-8"
    )
    q = Catalog(user_dirs=[defs]).get("ptwo")
    spec = BatchOptions(spec=load_map(defs.parent / "map-ptwo.yaml"))
    table = read_table(tmp_path / "blank.csv")
    (alone,) = reliability([table], [q], spec, by="client").scales
    (both,) = reliability([table], [q], spec, by="client", session="session").scales
    assert alone.icc is not None and alone.two_level is not None
    assert both.icc == alone.icc and both.two_level == alone.two_level
    assert alone.two_level.n_rows == 225  # every complete row with a client
