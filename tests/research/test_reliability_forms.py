"""`alliance reliability` on a REDCap export holding several questionnaires: each
questionnaire's statistics come from its own rows (the rows of its form), whatever else is
named; the others' rows are in none of its sums, its N or its row count.

The pinned alphas and Feldt intervals are R psych 2.2.9's
``psych::alpha(x)$total$raw_alpha`` and ``psych::alpha.ci(alpha, nrow(x), ncol(x))`` on the
rows of each form, read from the CSV that :func:`redcap_export` writes (seed 1)."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from alliance_cli.cli import app

runner = CliRunner()
SRS = [f"srs_{i}" for i in range(1, 5)]
CARE = [f"care_{i}" for i in range(1, 11)]

# psych::alpha on each form's rows of redcap_export(seed=1): (raw_alpha, CI lower, upper).
# fmt: off
R_ALPHA = {
    ("srs", False): (-0.116445121727872, -1.20649974285889, 0.509547117162283),
    ("srs", True): (0.012390072167868, -1.30003254590085, 0.662413141366638),
    ("care", False): (0.0147813807393329, -0.78315366809077, 0.548632206841259),
    ("care", True): (0.125380619738492, -0.808110269611097, 0.68698450908542),
}
# fmt: on


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("ALLIANCE_DEFINITIONS", raising=False)


def redcap_export(path: Path, seed: int = 1) -> Path:
    """A raw longitudinal REDCap export: 10 records × 2 events with the SRS (status 2 or 1),
    and CARE as a repeating instrument with 2 instances per record (status 2 or 0)."""
    rng = random.Random(seed)
    head = ["record_id", "redcap_event_name", "redcap_repeat_instrument"]
    header = [*head, "redcap_repeat_instance", *SRS, "srs_complete", *CARE, "care_complete"]
    lines = [header]
    for record in range(1, 11):
        for event in ("session_1_arm_1", "session_2_arm_1"):
            status = rng.choice(["2", "2", "1"])
            srs = [f"{rng.randint(0, 100) / 10:g}" for _ in SRS]
            lines.append([str(record), event, "", "", *srs, status, *[""] * 10, ""])
        for instance in ("1", "2"):
            status = rng.choice(["2", "2", "0"])
            care = [str(rng.randint(1, 5)) for _ in CARE]
            event = [str(record), "session_1_arm_1", "care", instance]
            lines.append([*event, *[""] * 5, *care, status])
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(lines)
    return path


def form_rows(path: Path, qid: str, complete_only: bool) -> list[dict[str, str]]:
    """The form's own rows, read from the file with the csv module."""
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    repeat = "care" if qid == "care" else ""
    return [
        r
        for r in rows
        if r["redcap_repeat_instrument"] == repeat
        and (not complete_only or r[f"{qid}_complete"] == "2")
    ]


def scales(path: Path, *args: str) -> dict[str, dict[str, Any]]:
    result = runner.invoke(app, ["reliability", str(path), *args, "--json"])
    assert result.exit_code == 0, result.output
    return {s["questionnaire"]: s for s in json.loads(result.stdout)["scales"]}


@pytest.mark.slow
@pytest.mark.parametrize("complete_only", [False, True])
def test_each_questionnaire_uses_only_its_own_rows(tmp_path: Path, complete_only: bool) -> None:
    src = redcap_export(tmp_path / "r.csv")
    flag = ["--complete-only"] if complete_only else []
    both = scales(src, "-q", "srs", "-q", "care", *flag)
    by_client = scales(src, "-q", "srs", "-q", "care", "--by", "record_id", *flag)
    for qid in ("srs", "care"):
        alone = scales(src, "-q", qid, *flag)[qid]
        assert both[qid] == alone  # whatever else is named
        own = form_rows(src, qid, complete_only)
        n, clients = len(own), len({r["record_id"] for r in own})
        assert (both[qid]["n_rows"], both[qid]["alpha"]["n_obs"]) == (n, n)
        assert both[qid]["n_complete"] == n  # every answer of its own rows is filled
        icc = by_client[qid]["icc"]
        assert (icc["n_obs"], icc["n_clients"]) == (n, clients)
        a = both[qid]["alpha"]
        got = (a["raw_alpha"], a["ci_lower"], a["ci_upper"])
        assert got == pytest.approx(R_ALPHA[(qid, complete_only)], abs=1e-9)
