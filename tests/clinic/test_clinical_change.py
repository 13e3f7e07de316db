"""Clinically significant change (Jacobson & Truax 1991): recovered, improved, unchanged,
deteriorated — computed baseline → latest, shown in history, its JSON and the report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alliance_cli.catalog import Catalog
from alliance_cli.cli import app
from alliance_cli.clinic.norms import build
from alliance_cli.clinic.overview import client_overview
from alliance_cli.clinic.store import Store
from alliance_cli.errors import UsageError
from alliance_cli.result import score
from tests.helpers import definition_head, record

# ORS answers (four 0–10 items) by total.
ORS = {
    18: "4.5,4.5,4.5,4.5",
    20: "5,5,5,5",
    22: "5.5,5.5,5.5,5.5",
    24: "6,6,6,6",
    26: "6.5,6.5,6.5,6.5",
    30: "7.5,7.5,7.5,7.5",
    32.3: "8.1,8.1,8.1,8",
}


def ors_change(store: Store, client: str, totals: list[float]):  # type: ignore[no-untyped-def]
    q = Catalog().get("ors")
    for t in totals:
        record(store, q, score(q, ORS[t]), client=client)
    [w] = client_overview(store, client, Catalog().get).watched
    return w.clinical_change


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "h.sqlite3")


def test_ors_improvement_that_crosses_the_cutoff_is_recovered(store: Store) -> None:
    # 18 → 32.3: +14.3 ≥ the published 5 points, from below 25 to 25 or above.
    [c] = ors_change(store, "C-1", [18, 20, 24, 32.3])
    assert (c.status, c.baseline, c.latest, c.cutoff) == ("recovered", 18, 32.3, 25)
    assert c.change == pytest.approx(14.3)
    assert (c.baseline_side, c.latest_side, c.rci) == ("below 25", "25 or above", None)
    assert c.message == (
        "Total recovered: 18 (session 1, below 25) → 32.3 (session 4, 25 or above), a change "
        "of +14.3; at least the 5 points of reliable change; cutoff 25."
    )
    assert "Miller et al. 2003" in c.source


@pytest.mark.slow
@pytest.mark.parametrize(
    ("totals", "status"),
    [
        ([26, 32.3], "improved"),  # reliable, but it started outside the clinical range
        ([18, 22], "unchanged"),  # +4 < 5
        ([20, 24], "unchanged"),  # +4 < 5, still below 25
        ([30, 24], "deteriorated"),  # −6
        ([18, 24, 18], "unchanged"),  # latest against the baseline, not the best session
    ],
)
def test_ors_categories(store: Store, totals: list[float], status: str) -> None:
    [c] = ors_change(store, "C-1", totals)
    assert c.status == status


def test_one_session_has_no_change_yet(store: Store) -> None:
    assert ors_change(store, "C-1", [18]) == []


def test_history_json_text_and_report_show_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: Store
) -> None:
    ors_change(store, "C-1", [18, 32.3])
    store.close()
    db = str(tmp_path / "h.sqlite3")
    monkeypatch.setenv("NO_COLOR", "1")
    runner = CliRunner()
    result = runner.invoke(app, ["history", "C-1", "--db", db, "--json"])
    assert result.exit_code == 0
    [series] = json.loads(result.stdout)["series"]
    [c] = series["clinical_change"]
    assert (c["scale"], c["status"], c["baseline"], c["latest"]) == ("total", "recovered", 18, 32.3)
    result = runner.invoke(app, ["history", "C-1", "--db", db])
    assert result.exit_code == 0
    assert (
        "= clinically significant change: Total recovered: 18 (session 1, below 25) → 32.3 "
        "(session 2, 25 or above), a change of +14.3; at least the 5 points of reliable "
        "change; cutoff 25." in " ".join(result.stdout.split())  # wrapped to the width
    )
    html = tmp_path / "r.html"
    result = runner.invoke(app, ["report", "C-1", "--db", db, "-o", str(html)])
    assert result.exit_code == 0
    assert '<p class="change" data-status="recovered">Clinically significant change: Total ' in (
        html.read_text("utf-8")
    )


def srs(*items: float) -> str:
    return ",".join(f"{round(x, 1):g}" for x in items)


def test_srs_with_the_practices_norm(store: Store) -> None:
    # SRS publishes a cutoff (below 36) but no SD: clinically significant change appears once
    # the practice has a norm. First, 30 clients whose four items are always equal: the
    # items correlate perfectly, alpha is 1 — no measurement error to pair with: refused.
    q = Catalog().get("srs")
    for n in range(30):
        base = 7.5 + 0.2 * (n % 10)
        record(store, q, score(q, srs(base, base, base, base)), client=f"C-{n:02d}")
    with pytest.raises(UsageError, match="Cronbach's alpha of the first srs sessions on Total"):
        build(store, q)
    for n in range(30, 60):
        base = 7.5 + 0.2 * (n % 10)
        items = srs(base + 0.1 * (n % 3), base, base - 0.1 * (n % 2), base + 0.3 * (n % 4 == 0))
        record(store, q, score(q, items), client=f"C-{n:02d}")
    [norm] = build(store, q)
    assert norm.n == 60 and norm.reliability_source.startswith("Cronbach's alpha")
    assert 0 < norm.reliability < 1
    record(store, q, score(q, "8,8,8,8"), client="X")  # 32
    record(store, q, score(q, "9.5,9.5,9.5,9.5"), client="X")  # 38
    [w] = client_overview(store, "X", Catalog().get).watched
    [c] = w.clinical_change
    # RCI = (38 − 32) / (√2 × SD × √(1 − alpha)), with the norm's own SD and alpha.
    s_diff = (2**0.5) * norm.sd * (1 - norm.reliability) ** 0.5
    assert c.rci == pytest.approx(6 / s_diff)
    assert c.status == ("recovered" if 6 / s_diff > 1.96 else "unchanged")
    assert (c.baseline_side, c.latest_side) == ("below 36", "36 or above")
    assert c.basis.startswith(f"SD {round(norm.sd, 2):g} from the practice's norm of ")


WORSE_YAML = (
    definition_head("distress", "Distress (test)")
    + """\
response_scale: {min: 1, max: 5, labels: {1: low, 5: high}}
items: [{id: a, text: a}, {id: b, text: b}, {id: c, text: c}, {id: d, text: d}]
scales:
  total:
    name: Total
    items: [a, b, c, d]
    method: sum
    higher_is: worse
    bands: [{id: high, label: high, at_least: 12, message: High., source: test band}]
alerts:
  reliable_change: {points: 3, source: test amount}
"""
)


@pytest.mark.parametrize(
    ("answers", "status", "sides"),
    [
        (["4,4,4,4", "2,2,2,2"], "recovered", ("at least 12", "below 12")),  # 16 → 8
        (["4,4,4,4", "3,3,3,4"], "improved", ("at least 12", "at least 12")),  # 16 → 13
        (["2,2,2,2", "4,4,4,4"], "deteriorated", ("below 12", "at least 12")),  # 8 → 16
        (["2,2,2,2", "2,2,3,3"], "unchanged", ("below 12", "below 12")),  # 8 → 10
    ],
)
def test_a_scale_where_higher_is_worse(
    store: Store, answers: list[str], status: str, sides: tuple[str, str]
) -> None:
    from alliance_cli.definitions import validate_text
    from alliance_cli.model import Questionnaire

    q, problems = validate_text(WORSE_YAML, "distress.yaml", Questionnaire)
    assert problems == [] and q is not None
    for text in answers:
        record(store, q, score(q, text), client="C-1")
    [w] = client_overview(store, "C-1", lambda qid: q).watched
    [c] = w.clinical_change
    assert (c.status, (c.baseline_side, c.latest_side)) == (status, sides)
