"""`alliance reliability`: the library and the CLI give the R psych values pinned in
tests/research/psychref.py on the CSVs in tests/data/psych, read through the batch reader
and a map file; --json equals the library result; warnings and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alliance_cli.catalog import Catalog
from alliance_cli.cli import app
from alliance_cli.errors import BatchDataError
from alliance_cli.research.batch import BatchOptions
from alliance_cli.research.mapfile import load_map
from alliance_cli.research.readers import chunked, read_table
from alliance_cli.research.reliability import Reliability, reliability
from tests.research.psychref import (
    ALPHA_TOL,
    DATA,
    DEFS,
    MLR_TOL,
    OMEGA_TOL,
    SESSIONS,
    SETS,
    UNBALANCED,
    check_alpha,
    close,
)

runner = CliRunner()
ITEM_IDS = {f"i{j}" for j in range(1, 10)}


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("ALLIANCE_DEFINITIONS", raising=False)


def library(defs: Path, name: str, qid: str, **kw: str) -> Reliability:
    q = Catalog(user_dirs=[defs]).get(qid)
    spec = load_map(defs.parent / f"map-{qid}.yaml")
    return reliability([read_table(DATA / f"{name}.csv")], [q], BatchOptions(spec=spec), **kw)


def cli(defs: Path, data: str, qid: str, *args: str):  # type: ignore[no-untyped-def]
    mapfile = defs.parent / f"map-{qid}.yaml"
    extra = ["--map", str(mapfile)] if mapfile.exists() else []
    result = runner.invoke(app, ["reliability", data, "-q", qid, *args, "-d", str(defs), *extra])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result


@pytest.mark.parametrize("name", SETS)
def test_library_matches_r(defs: Path, name: str) -> None:
    (s,) = library(defs, name, DEFS[name][0]).scales
    ref = SETS[name]
    d = s.descriptives
    assert d.n_complete == ref["n_complete"][0]
    close(d.mean, ref["mean"], 1e-9)
    close(d.sd, ref["sd"], 1e-9)
    close((d.floor_pct, d.ceiling_pct), ref["floor_pct"] + ref["ceiling_pct"], 1e-9)
    assert s.alpha is not None and s.omega is not None
    check_alpha(s.alpha, ref)
    close(s.omega.omega_total, ref["omega_tot"], OMEGA_TOL)
    assert s.icc is None and s.multilevel is None and s.notes == ()


@pytest.mark.parametrize("name", SETS)
def test_json_matches_r_and_equals_the_library(defs: Path, name: str) -> None:
    qid = DEFS[name][0]
    result = cli(defs, str(DATA / f"{name}.csv"), qid, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data == library(defs, name, qid).to_dict()
    (scale,) = data["scales"]
    ref = SETS[name]
    close(scale["alpha"]["raw_alpha"], ref["raw_alpha"], ALPHA_TOL)
    close(scale["alpha"]["std_alpha"], ref["std_alpha"], ALPHA_TOL)
    close((scale["alpha"]["ci_lower"], scale["alpha"]["ci_upper"]), ref["ci"], ALPHA_TOL)
    close([i["r_drop"] for i in scale["alpha"]["items"]], ref["r_drop"], ALPHA_TOL)
    close([i["alpha_if_deleted"] for i in scale["alpha"]["items"]], ref["alpha_drop"], ALPHA_TOL)
    close(scale["omega"]["omega_total"], ref["omega_tot"], OMEGA_TOL)
    assert scale["n_complete"] == ref["n_complete"][0]


def test_repeated_measures_match_psych(defs: Path) -> None:
    (s,) = library(defs, "sessions", "psess", by="client", session="session").scales
    assert s.icc is not None and s.multilevel is not None
    close(s.icc.icc1, SESSIONS["ICC1"], 1e-9)
    close(s.icc.icc1k, SESSIONS["ICC2"], 1e-9)
    m = s.multilevel
    components = (
        m.var_id,
        m.var_time,
        m.var_items,
        m.var_id_time,
        m.var_id_items,
        m.var_time_items,
        m.var_residual,
    )
    close(components, SESSIONS["components"], MLR_TOL)
    close(
        (m.rkf, m.r1r, m.rkr, m.rc),
        SESSIONS["RkF"] + SESSIONS["R1R"] + SESSIONS["RkR"] + SESSIONS["Rc"],
        MLR_TOL,
    )
    close((m.rkrn, m.rcn), SESSIONS["RkRn"] + SESSIONS["Rcn"], MLR_TOL)


def test_unbalanced_sessions_give_icc_and_a_note(defs: Path, tmp_path: Path) -> None:
    (s,) = library(defs, "sessions_unbalanced", "psess", by="client", session="session").scales
    assert s.icc is not None and s.multilevel is None
    close(s.icc.icc1, UNBALANCED["ICC1"], 1e-9)
    close(s.icc.icc1k, UNBALANCED["ICC2"], 1e-9)
    assert len(s.notes) == 2 and s.notes[0].startswith("multilevel: multilevel reliability needs")
    assert s.notes[1].startswith("alpha within/between: not computed")  # see test_twolevel.py
    result = cli(defs, str(DATA / "sessions_unbalanced.csv"), "psess", "--by", "client")
    assert result.exit_code == 0
    assert "ICC1 0.414 · ICC1k 0.781" in result.stdout


def test_negative_item_warning_text(defs: Path) -> None:
    result = cli(defs, str(DATA / "unreversed.csv"), "punrev")
    assert result.exit_code == 0
    assert (
        "WARNING: punrev all: item i3 correlates negatively with the rest of the scale "
        "(corrected item–total r = -0.48): likely an un-reversed item"
    ) in " ".join(result.stderr.split())
    assert "i3 !" in result.stdout
    assert "alpha 0.177 (95% CI 0.004 to 0.328, Feldt) · standardized 0.177" in result.stdout
    # Statistics keep their decimals, so that a column lines up; counts get separators.
    rows = [r for r in map(str.split, result.stdout.splitlines()) if r and r[0][:2] in ITEM_IDS]
    assert len(rows) == 5 and all(r[-1].count(".") == 1 for r in rows)
    assert all(len(r[-1].split(".")[1]) == 3 and len(r[-2].split(".")[1]) == 2 for r in rows)
    clean = cli(defs, str(DATA / "six_items.csv"), "psix")
    assert "WARNING" not in clean.stderr


@pytest.mark.slow
def test_exit_codes(defs: Path, tmp_path: Path) -> None:
    six = str(DATA / "six_items.csv")
    assert cli(defs, six, "psix", "--session", "session").exit_code == 2
    no_column = cli(defs, six, "psix", "--by", "client")
    assert no_column.exit_code == 2
    assert 'has no column named "client"' in no_column.stderr
    assert cli(defs, six, "nope").exit_code == 3
    assert cli(defs, str(tmp_path / "missing.csv"), "psix").exit_code == 6
    bad = tmp_path / "bad.csv"
    bad.write_text("i1,i2,i3,i4,i5,i6\n1,2,3,4,5,9\n2,3,4,5,1,2\n3,3,3,3,3,3\n", encoding="utf-8")
    refused = cli(defs, str(bad), "psix")
    assert refused.exit_code == 65
    assert "1 bad cell in 1 row" in refused.stderr


def test_help_has_an_example() -> None:
    result = runner.invoke(app, ["reliability", "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.stdout


def test_no_pandas_at_module_top_level() -> None:
    import ast

    from alliance_cli.research import reliability as module

    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    top = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    names = {a.name for n in top if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module or "" for n in top if isinstance(n, ast.ImportFrom)}
    assert not any(name.split(".")[0] == "pandas" or name == "batch" for name in names)


def test_a_repeated_id_in_a_later_slice_names_the_first(tmp_path: Path) -> None:
    header = "id," + ",".join(f"wai_sr_{i}" for i in range(1, 13))
    rows = [f"P{r}," + ",".join(["3"] * 12) for r in range(10)] + ["P2," + ",".join(["4"] * 12)]
    data = tmp_path / "in.csv"
    data.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    q = Catalog(user_dirs=[]).get("wai-sr")
    with pytest.raises(BatchDataError) as caught:
        reliability([chunked(read_table(data), 4)], [q], BatchOptions(ids=("id",)))
    failures = caught.value.failures
    assert failures[["row", "code", "problem"]].values.tolist() == [
        [12, "duplicate-id", "duplicate response id; first at row 4"]
    ]
