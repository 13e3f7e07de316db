"""`alliance batch --center CLIENT_COL`: person means and within-client deviations per
scale, checked against hand-computed values (wai-sr: mean scales of 4, 8 and 12 items)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alliance_cli.cli import app

runner = CliRunner()
HEADER = "client,session," + ",".join(f"wai{j}" for j in range(1, 13))
ROWS = [
    "A,1," + ",".join("555544444444"),  # items 1–4: 5, items 5–12: 4
    "A,2," + ",".join("111122222222"),
    "B,1," + ",".join("333333333333"),
    "A,3," + ",".join([""] * 12),  # withheld: no score, but A's person mean
    ",1," + ",".join("222222222222"),  # blank client: no person mean
]


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("ALLIANCE_DEFINITIONS", raising=False)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "sessions.csv"
    path.write_text("\n".join([HEADER, *ROWS]) + "\n", encoding="utf-8")
    return path


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_person_mean_and_within_by_hand(data: Path) -> None:
    result = runner.invoke(app, ["batch", str(data), "-q", "wai-sr", "--center", "client"])
    assert result.exit_code == 0, result.output
    out = rows(result.stdout)
    # goal items 4, 6, 8, 11: A1 = (5+4+4+4)/4 = 4.25, A2 = (1+2+2+2)/4 = 1.75 → A mean 3
    assert [r["wai-sr.goal"] for r in out] == ["4.25", "1.75", "3", "", "2"]
    assert [r["wai-sr.goal.person_mean"] for r in out] == ["3", "3", "3", "3", ""]
    assert [r["wai-sr.goal.within"] for r in out] == ["1.25", "-1.25", "0", "", ""]
    # total: A1 = (4·5 + 8·4)/12 = 52/12, A2 = (4·1 + 8·2)/12 = 20/12 → A mean 3
    assert [r["wai-sr.total.person_mean"] for r in out] == ["3", "3", "3", "3", ""]
    within = [float(r["wai-sr.total.within"] or "nan") for r in out[:3]]
    assert within == pytest.approx([52 / 12 - 3, 20 / 12 - 3, 0.0], abs=1e-10)
    names = list(out[0])
    assert names.index("wai-sr.goal.person_mean") == names.index("wai-sr.goal") + 1
    assert names.index("wai-sr.goal.within") == names.index("wai-sr.goal") + 2


@pytest.mark.slow
def test_center_columns_in_the_codebook_and_long_shape(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "scores.csv"
    args = ["batch", str(data), "-q", "wai-sr", "--center", "client", "-o", str(out)]
    assert runner.invoke(app, args).exit_code == 0
    book = json.loads((tmp_path / "scores.csv.codebook.json").read_text(encoding="utf-8"))
    meaning = {c["name"]: c["meaning"] for c in book["columns"]}
    assert (
        "mean score of the response's client (column client)" in meaning["wai-sr.bond.person_mean"]
    )
    assert "minus the client's person mean" in meaning["wai-sr.bond.within"]
    long = runner.invoke(app, [*args[:-2], "--shape", "long"])
    assert long.exit_code == 0, long.output
    goal = [r for r in rows(long.stdout) if r["scale"] == "goal"]
    assert [(r["person_mean"], r["within"]) for r in goal] == [
        ("3", "1.25"),
        ("3", "-1.25"),
        ("3", "0"),
        ("3", ""),
        ("", ""),
    ]


def test_without_center_no_columns_and_unknown_column_is_a_usage_error(data: Path) -> None:
    plain = runner.invoke(app, ["batch", str(data), "-q", "wai-sr"])
    assert "person_mean" not in plain.stdout
    bad = runner.invoke(app, ["batch", str(data), "-q", "wai-sr", "--center", "patient"])
    assert bad.exit_code == 2
    assert f'{data}: has no column named "patient"' in bad.stderr
