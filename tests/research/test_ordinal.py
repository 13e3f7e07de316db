"""Ordinal reliability: polychoric correlations, ordinal alpha and omega, categorical omega.

Pinned against R (psych 2.2.9, lavaan 0.6.14, semTools 0.5.6) on the data sets in
tests/data/ordinal (values in tests/research/ordinalref.py); the building blocks checked
against values computed by hand; ``alliance reliability --ordinal`` end to end."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from alliance_cli.catalog import Catalog
from alliance_cli.cli import app
from alliance_cli.errors import ResponseError
from alliance_cli.research.batch import BatchOptions
from alliance_cli.research.mapfile import load_map
from alliance_cli.research.psychometrics.ordinal import (
    OrdinalSums,
    categorical_omega,
    ordinal_of,
)
from alliance_cli.research.psychometrics.polychoric import (
    CategorySums,
    brent_fmin,
    bvn_cdf,
    cor_smooth,
    ndtr,
    pair_rho,
    polychoric,
)
from alliance_cli.research.readers import chunked, read_table
from alliance_cli.research.reliability import reliability
from tests.research import ordinalref as ref

runner = CliRunner()
SETS = {
    "five": ref.FIVE,
    "seven": ref.SEVEN,
    "unequal": ref.UNEQUAL,
    "gap": ref.GAP,
    "missing": ref.MISSING,
    "smooth": ref.SMOOTH,
}
POINTS = {"five": 5, "seven": 7, "unequal": 5, "gap": 5, "missing": 5, "smooth": 4}


def codes(name: str) -> np.ndarray:
    """The data set's answers as category codes 0..K−1 (NaN: blank)."""
    lines = (ref.DATA / f"{name}.csv").read_text(encoding="utf-8").splitlines()[1:]
    rows = [[float(v) - 1 if v else math.nan for v in line.split(",")] for line in lines]
    return np.array(rows)


def counts(name: str) -> tuple[Any, Any]:
    x = codes(name)
    sums = CategorySums(x.shape[1], POINTS[name])
    sums.add(np.where(np.isnan(x), -1, x).astype(np.int64))
    return sums.select(np.arange(x.shape[1]), np.zeros(x.shape[1], dtype=np.bool_))


def lower(m: Any) -> np.ndarray:
    """R's ``m[lower.tri(m)]``: the lower triangle column by column."""
    m = np.asarray(m)
    return np.array([m[i, j] for j in range(m.shape[0]) for i in range(j + 1, m.shape[0])])


# -- pinned against R ----------------------------------------------------------------------


def test_reference_file_and_pasted_values_agree() -> None:
    text = (ref.DATA / "reference.out").read_text(encoding="utf-8")
    assert "psych 2.2.9, lavaan 0.6.14, semTools 0.5.6" in text.splitlines()[0]
    found: dict[str, Any] = {"inf": math.inf}
    exec(text, found)  # the R output is Python literals
    for name, pinned in SETS.items():
        assert found[name.upper()] == pinned


@pytest.mark.parametrize("name", SETS)
def test_polychoric_matches_psych(name: str) -> None:
    r = SETS[name]
    p = polychoric(codes(name), POINTS[name])
    assert np.abs(lower(p.rho) - r["rho"]).max() < ref.RHO_TOL
    assert np.abs(lower(p.raw) - r["raw"]).max() < ref.RHO_TOL
    shape = r["tau_shape"]
    tau = np.array(r["tau"]).reshape(shape)
    # psych keeps the thresholds of the categories used in the data: here all of them
    mine = p.tau[:, : shape[1]]
    assert np.array_equal(np.isinf(mine), np.isinf(tau))  # an item short of the top: +inf
    finite = np.isfinite(tau)
    assert np.abs(mine[finite] - tau[finite]).max() < ref.TAU_TOL
    warned = " ".join(r["warnings"])
    assert p.global_thresholds == ("global set to FALSE" not in warned)
    assert p.smoothed == ("smoothing was done" in warned)
    if p.corrected_pairs:
        assert f"{p.corrected_pairs} cells were adjusted for 0 values" in warned
    else:
        assert "adjusted" not in warned


@pytest.mark.parametrize("name", SETS)
def test_ordinal_alpha_and_omega_match_psych(name: str) -> None:
    r = SETS[name]
    tables, margins = counts(name)
    k = margins.shape[0]
    o = ordinal_of(tables, margins, tuple(f"v{j}" for j in range(k)), (1.0, 2.0))
    assert abs(o.ordinal_alpha - r["ordinal_alpha"][0]) < ref.ALPHA_TOL
    assert abs(o.ordinal_omega - r["ordinal_omega"][0]) < ref.OMEGA_TOL
    assert o.smoothed == (name == "smooth")
    assert any("smoothed" in n for n in o.notes) == (name == "smooth")


@pytest.mark.parametrize("name", ["five", "seven", "unequal"])
def test_categorical_omega_matches_semtools(name: str) -> None:
    r = SETS[name]
    tables, margins = counts(name)
    k = margins.shape[0]
    o = ordinal_of(tables, margins, tuple(f"v{j}" for j in range(k)), (1.0,))
    assert abs(o.categorical_omega - r["categorical_omega"][0]) < ref.CAT_OMEGA_TOL
    # the DWLS loadings are lavaan's
    assert np.abs(np.array(o.loadings) - r["lavaan_loadings"]).max() < 5e-5


def test_categorical_omega_with_missing_answers_as_lavaan_pairwise() -> None:
    """Pairwise tables and thresholds from every answer: lavaan's missing = "pairwise"
    (its WLSMV weights count pairs slightly differently: 2.3e-5 apart)."""
    tables, margins = counts("missing")
    o = ordinal_of(tables, margins, tuple("abcdef"), (1.0,))
    assert abs(o.categorical_omega - ref.MISSING["categorical_omega"][0]) < (
        ref.CAT_OMEGA_PAIRWISE_TOL
    )
    assert np.abs(np.array(o.loadings) - ref.MISSING["lavaan_loadings"]).max() < 5e-4


def test_categorical_omega_with_an_unused_middle_category() -> None:
    """Nobody answers 2 to g2: lavaan recodes g2's answers 1, 3, 4, 5 to 1..4; we keep the
    questionnaire's values (a tied threshold), so the reliability is that of the sum score
    the researcher computes. The loadings agree; the coefficients differ by 1.6e-3."""
    r = ref.GAP
    tables, margins = counts("gap")
    o = ordinal_of(tables, margins, tuple(f"v{j}" for j in range(5)), (1.0,))
    assert np.abs(np.array(o.loadings) - r["lavaan_loadings"]).max() < 5e-5
    assert 1e-3 < r["categorical_omega"][0] - o.categorical_omega < 2e-3
    # lavaan's coding: drop g2's tied threshold and the values agree
    lam = np.array(o.loadings)
    tau = np.array(o.thresholds)
    kept = [tau[1][0], tau[1][2], tau[1][3], math.inf]
    recoded = np.array([t if j != 1 else kept for j, t in enumerate(tau)])
    raw = polychoric(codes("gap"), 5).raw
    assert abs(categorical_omega(recoded, lam, raw) - r["categorical_omega"][0]) < 2e-5


# -- the building blocks, by hand ----------------------------------------------------------


@pytest.mark.parametrize("r", [-0.99, -0.8, -0.5, -0.2, 0.0, 0.3, 0.6, 0.9, 0.95, 0.999])
def test_bivariate_normal_at_the_origin(r: float) -> None:
    # Sheppard: Φ₂(0, 0; r) = 1/4 + asin(r) / (2π)
    assert abs(bvn_cdf(0.0, 0.0, r) - (0.25 + math.asin(r) / (2 * math.pi))) < 1e-15


def test_bivariate_normal_limits_and_independence() -> None:
    h, k = np.array([-1.3, 0.4, 2.0]), np.array([0.7, -0.2, 1.1])
    assert np.allclose(bvn_cdf(h, k, 0.0), ndtr(h) * ndtr(k), atol=1e-15)
    assert np.allclose(bvn_cdf(h, np.inf, 0.5), ndtr(h), atol=1e-15)
    assert np.all(bvn_cdf(h, -np.inf, 0.5) == 0)
    # r = 1: Φ(min(h, k)); r = −1: max(0, Φ(h) − Φ(−k))
    assert np.allclose(bvn_cdf(h, k, 1.0), ndtr(np.minimum(h, k)), atol=1e-15)
    assert np.allclose(bvn_cdf(h, k, -1.0), np.maximum(0, ndtr(h) - ndtr(-k)), atol=1e-15)


def test_brent_finds_a_minimum_as_r_optimize() -> None:
    # optimize(function(x) (x - 0.3)^2, c(-1, 1))$minimum = 0.3 (to its tolerance)
    assert abs(brent_fmin(lambda x: (x - 0.3) ** 2, -1.0, 1.0) - 0.3) < 1e-8
    assert abs(brent_fmin(lambda x: abs(x + 0.71), -1.0, 1.0) + 0.71) < 1e-4


def test_a_table_of_independent_answers_has_rho_zero() -> None:
    rows, cols = np.array([10, 30, 60]), np.array([20, 50, 30])
    table = np.outer(rows, cols)  # proportions are the product of the margins
    rho, fixed = pair_rho(table)
    assert abs(rho) < 1e-4 and fixed == 0


def test_empty_pairs_and_zero_cells() -> None:
    assert math.isnan(pair_rho(np.zeros((3, 3), dtype=np.int64))[0])
    # off the global path a zero cell counts as 0.5 answers (psych's correct = .5)
    table = np.array([[10, 0, 0], [3, 20, 2], [0, 5, 30]])
    rho, fixed = pair_rho(table)
    assert fixed == 1 and 0.8 < rho < 1
    # a single category left: no correlation
    assert math.isnan(pair_rho(np.array([[5, 7, 0], [0, 0, 0], [0, 0, 0]]))[0])


def test_smoothing_as_cor_smooth() -> None:
    r = np.array([[1.0, 0.9, -0.9], [0.9, 1.0, 0.9], [-0.9, 0.9, 1.0]])
    s, smoothed, low = cor_smooth(r)
    assert smoothed and low < 0
    assert np.allclose(np.diag(s), 1) and np.linalg.eigvalsh(s)[0] > 0
    same, again, _ = cor_smooth(np.eye(3))
    assert not again and same is not None and np.array_equal(same, np.eye(3))


def test_counts_do_not_depend_on_the_blocks() -> None:
    x = codes("missing")
    c = np.where(np.isnan(x), -1, x).astype(np.int64)
    whole, parts = CategorySums(6, 5), CategorySums(6, 5)
    whole.add(c)
    for start in range(0, len(c), 37):
        parts.add(c[start : start + 37])
    assert np.array_equal(whole.tables, parts.tables)
    assert np.array_equal(whole.margins, parts.margins)
    # the table of a pair is the crosstab of the rows answering both
    both = (c[:, 0] >= 0) & (c[:, 1] >= 0)
    hand = np.zeros((5, 5), dtype=np.int64)
    np.add.at(hand, (c[both, 0], c[both, 1]), 1)
    assert np.array_equal(whole.table(0, 1), hand)
    assert np.array_equal(whole.table(1, 0), hand.T)


def test_a_constant_item_is_refused() -> None:
    x = codes("five")[:, :3].copy()
    x[:, 1] = 4
    with pytest.raises(ResponseError, match="fewer than two different answers"):
        polychoric(x, 5)


# -- a questionnaire: keying, response scales, the command --------------------------------

DEFINITION = """\
id: ord
title: Ordinal test
version: "1"
respondent: client
construct: testing
citations:
  - text: Test fixture, not a real instrument.
licence: Public domain test fixture.
key_status: verified
key_sources: [Written for the test suite.]
response_scale: {min: 1, max: 5}
items:
  - {id: i1, text: item 1}
  - {id: i2, text: item 2}
  - {id: i3, text: item 3}
  - {id: i4, text: item 4}
  - {id: i5, text: item 5}
  - {id: vas, text: a line, response_scale: {min: 0, max: 10, step: 0.1}}
scales:
  all:
    name: All items
    items: [i1, i2, i3, i4, i5]
    reverse: [i3]
    method: sum
    higher_is: better
  line:
    name: With the line
    items: [i1, i2, vas]
    method: sum
    higher_is: better
"""


HEADER = "i1,i2,i3,i4,i5,vas"
MAP = "questionnaires:\n  ord: {columns: {i1: i1, i2: i2, i3: i3, i4: i4, i5: i5, vas: vas}}\n"


def options(defs: Path) -> BatchOptions:
    (defs.parent / "map.yaml").write_text(MAP, encoding="utf-8")
    return BatchOptions(spec=load_map(defs.parent / "map.yaml"))


@pytest.fixture
def study(tmp_path: Path) -> tuple[Path, Path]:
    """The definition, and a CSV of gap.csv's answers with i3 written reversed."""
    defs = tmp_path / "defs"
    defs.mkdir()
    (defs / "ord.yaml").write_text(DEFINITION, encoding="utf-8")
    x = codes("gap") + 1
    x[:, 2] = 6 - x[:, 2]
    vas = np.round(np.linspace(0, 10, len(x)), 1)
    lines = [HEADER]
    lines += [",".join(f"{int(v)}" for v in row) + f",{t}" for row, t in zip(x, vas, strict=True)]
    data = tmp_path / "study.csv"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return defs, data


def test_reverse_items_are_keyed_before_the_polychorics(study: tuple[Path, Path]) -> None:
    defs, data = study
    q = Catalog(user_dirs=[defs]).get("ord")
    result = reliability([read_table(data)], [q], options(defs), ordinal=True)
    s = next(s for s in result.scales if s.scale == "all")
    assert s.ordinal is not None
    # keyed, the answers are gap.csv's own: psych's values on it
    assert np.abs(lower(s.ordinal.rho) - ref.GAP["rho"]).max() < ref.RHO_TOL
    assert abs(s.ordinal.ordinal_alpha - ref.GAP["ordinal_alpha"][0]) < ref.ALPHA_TOL
    assert abs(s.ordinal.ordinal_omega - ref.GAP["ordinal_omega"][0]) < ref.OMEGA_TOL
    assert s.ordinal.categories == (1.0, 2.0, 3.0, 4.0, 5.0)
    line = next(s for s in result.scales if s.scale == "line")
    assert line.ordinal is None
    assert line.notes == (
        "ordinal: not computed, because item vas has more than 8 response points (a "
        "visual-analogue or 0–10 item is continuous; psych::polychoric takes at most 8 "
        "categories)",
    )


def test_chunks_give_the_same_result(study: tuple[Path, Path]) -> None:
    defs, data = study
    q = Catalog(user_dirs=[defs]).get("ord")
    whole = reliability([read_table(data)], [q], options(defs), ordinal=True)
    parts = reliability([chunked(read_table(data), 29)], [q], options(defs), ordinal=True)
    assert whole.to_dict() == parts.to_dict()


def test_not_asked_not_computed(study: tuple[Path, Path]) -> None:
    defs, data = study
    q = Catalog(user_dirs=[defs]).get("ord")
    result = reliability([read_table(data)], [q], options(defs))
    assert all(s.ordinal is None for s in result.scales)
    assert all(s["ordinal"] is None for s in result.to_dict()["scales"])


def test_cli_json_and_table(study: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ALLIANCE_DEFINITIONS", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    defs, data = study
    opts = options(defs)
    args = ["reliability", str(data), "-q", "ord", "-d", str(defs), "--ordinal"]
    args += ["--map", str(defs.parent / "map.yaml")]
    out = runner.invoke(app, [*args, "--json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    q = Catalog(user_dirs=[defs]).get("ord")
    assert doc == reliability([read_table(data)], [q], opts, ordinal=True).to_dict()
    scale = doc["scales"][0]["ordinal"]
    assert scale["items"] == ["i1", "i2", "i3", "i4", "i5"]
    assert abs(scale["polychoric"]["i2"]["i1"] - ref.GAP["rho"][0]) < ref.RHO_TOL
    assert scale["polychoric"]["i1"]["i1"] == 1.0
    assert len(scale["thresholds"]["i3"]) == 4
    assert abs(scale["ordinal_alpha"] - ref.GAP["ordinal_alpha"][0]) < ref.ALPHA_TOL
    assert set(scale) >= {"ordinal_omega", "categorical_omega", "notes", "smoothed"}
    assert doc["scales"][1]["ordinal"] is None
    assert any("polychoric" in v for v in doc["psych"].values())
    table = runner.invoke(app, args)
    assert table.exit_code == 0, table.output
    alpha = f"{ref.GAP['ordinal_alpha'][0]:.3f}"
    assert f"ordinal (polychoric): alpha {alpha}" in table.stdout
    assert "ord line: ordinal: not computed, because item vas" in " ".join(table.output.split())


def test_an_item_never_answered_twice_differently(tmp_path: Path) -> None:
    defs = tmp_path / "defs"
    defs.mkdir()
    (defs / "ord.yaml").write_text(DEFINITION, encoding="utf-8")
    data = tmp_path / "flat.csv"
    rows = [HEADER] + [f"{1 + j % 5},{1 + j % 3},4,2,{1 + j % 4},5" for j in range(30)]
    data.write_text("\n".join(rows) + "\n", encoding="utf-8")
    q = Catalog(user_dirs=[defs]).get("ord")
    (s, _) = reliability([read_table(data)], [q], options(defs), ordinal=True).scales
    assert s.ordinal is None
    assert s.notes[-1] == (
        "ordinal: not computed, because items i3, i4 have fewer than two different answers "
        "(psych::polychoric drops such an item)"
    )


def test_ordinal_sums_skip_items_with_many_points(study: tuple[Path, Path]) -> None:
    defs, _ = study
    sums = OrdinalSums(Catalog(user_dirs=[defs]).get("ord"))
    assert sums.counted.tolist() == [True] * 5 + [False]
    assert sums.sums.big_k == 5


def test_cite_names_the_ordinal_methods_when_asked() -> None:
    plain = runner.invoke(app, ["cite", "wai-sr", "--json"])
    ordinal = runner.invoke(app, ["cite", "wai-sr", "--json", "--ordinal"])
    assert plain.exit_code == 0 and ordinal.exit_code == 0, ordinal.output
    without, with_ = json.loads(plain.stdout), json.loads(ordinal.stdout)
    assert "polychoric" not in without["methods"]
    text = with_["methods"]
    for name in (
        "polychoric correlations",
        "Olsson (1979)",
        "ordinal alpha (Zumbo, Gadermann & Zeisser (2007))",
        "ordinal omega total",
        "categorical omega",
        "Green & Yang (2009)",
        "Chalmers, 2018",
        "semTools::compRelSEM",
    ):
        assert name in text, name
    rs = [m["r"] for m in with_["reliability_methods"]]
    assert "psych::polychoric" in rs and "psych::polychoric" not in [
        m["r"] for m in without["reliability_methods"]
    ]
    shown = runner.invoke(app, ["cite", "wai-sr", "--ordinal"])
    assert "ordinal alpha" in " ".join(shown.stdout.split())


def test_items_never_answered_together_have_no_polychoric() -> None:
    x = codes("five")[:40, :3].copy()
    x[:20, 0] = np.nan
    x[20:, 1] = np.nan
    sums = CategorySums(3, 5)
    sums.add(np.where(np.isnan(x), -1, x).astype(np.int64))
    tables, margins = sums.select(np.arange(3), np.zeros(3, dtype=np.bool_))
    with pytest.raises(ResponseError, match="no polychoric correlation between items a and b"):
        ordinal_of(tables, margins, ("a", "b", "c"), (1.0,))


def test_json_threshold_past_an_unreached_end_is_null(tmp_path: Path) -> None:
    """unequal.csv's u3 never reaches 5: its last threshold is +inf, null in JSON; the
    note says psych's global = FALSE path was taken, with its corrected pairs."""
    defs = tmp_path / "defs"
    defs.mkdir()
    (defs / "ord.yaml").write_text(DEFINITION, encoding="utf-8")
    x = codes("unequal") + 1
    x[:, 2] = 6 - x[:, 2]  # written reversed: keyed by the scale, u3 is unequal.csv's own
    rows = [HEADER] + [",".join(f"{int(v)}" for v in row) + ",5" for row in x]
    data = tmp_path / "unequal.csv"
    data.write_text("\n".join(rows) + "\n", encoding="utf-8")
    q = Catalog(user_dirs=[defs]).get("ord")
    result = reliability([read_table(data)], [q], options(defs), ordinal=True)
    scale = result.to_dict()["scales"][0]
    assert scale["ordinal"]["thresholds"]["i3"][-1] is None
    assert all(t is not None for t in scale["ordinal"]["thresholds"]["i1"])
    assert scale["ordinal"]["global_thresholds"] is False
    assert scale["ordinal"]["corrected_pairs"] == 10
    assert any("global = FALSE; 10 pair tables had empty cells" in n for n in scale["notes"])
    ordinal = result.scales[0].ordinal
    assert ordinal is not None
    assert abs(ordinal.ordinal_alpha - ref.UNEQUAL["ordinal_alpha"][0]) < ref.ALPHA_TOL
    assert ordinal.thresholds[2][-1] == math.inf
    # keyed the other way round, i3 reaches the top answer and misses the lowest: psych
    # compares the highest answers only, so that is its global path (thresholds −inf first)
    poly = polychoric(x - 1, 5)  # the answers as written
    assert poly.global_thresholds and poly.tau[2][0] == -math.inf
