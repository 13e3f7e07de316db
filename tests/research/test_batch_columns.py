"""The columns of `alliance batch`: a compact default set that depends on the definitions and
options only, and `--columns all` for the full set (issue 10 §4)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import openpyxl  # the [test] extra: missing fails, never skips
import pyarrow.parquet as pq  # the [test] extra
import pyreadstat  # the [test] extra
import pytest
from typer.testing import CliRunner

from alliance_cli.catalog import Catalog
from alliance_cli.cli import app
from alliance_cli.io.savsink import spss_names
from alliance_cli.result import score
from tests.helpers import TINY_YAML
from tests.helpers import batch as run

runner = CliRunner()
WAI = [f"wai{i}" for i in range(1, 13)]
SRS = ["srs_relationship", "srs_goals", "srs_approach", "srs_overall"]
TINY = ["tiny_a", "tiny_b", "tiny_c", "tiny_d"]
HEADER = ["id", *WAI, *SRS, *TINY]

# By hand from the definitions: WAI-SR has five mean scales and neither bands nor item rules;
# SRS one sum scale with a flagged band and an item rule; tiny a banded scale (a band flags
# unless it says flag: false) and a plain one.
WIDE = [
    "row",
    "id",
    *(
        f"wai-sr.{s}{tail}"
        for s in ("goal", "task", "bond", "goal_task", "total")
        for tail in ("", ".answered")
    ),
    "wai-sr.withheld",
    "srs.total",
    "srs.total.answered",
    "srs.total.band",
    "srs.total.flags",
    "srs.withheld",
    "tiny.warmth",
    "tiny.warmth.answered",
    "tiny.warmth.band",
    "tiny.warmth.flags",
    "tiny.work",
    "tiny.work.answered",
    "tiny.withheld",
]
LONG = ["row", "id", "questionnaire", "scale", "score", "answered", "withheld_reason", "band",
        "flags"]  # fmt: skip
TINY_ALL = [
    "row",
    "id",
    "tiny.warmth",
    "tiny.warmth.answered",
    "tiny.warmth.prorated",
    "tiny.warmth.withheld_reason",
    "tiny.warmth.band",
    "tiny.warmth.flags",
    "tiny.work",
    "tiny.work.sum",
    "tiny.work.answered",
    "tiny.work.prorated",
    "tiny.work.withheld_reason",
    "tiny.work.band",
    "tiny.work.flags",
]


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    defs = tmp_path / "defs"
    defs.mkdir()
    (defs / "tiny.yaml").write_text(TINY_YAML, encoding="utf-8")
    quiet = TINY_YAML.replace("id: tiny", "id: quiet").replace(
        "message: Warmth is low.", "flag: false, message: Warmth is low."
    )
    (defs / "quiet.yaml").write_text(quiet, encoding="utf-8")
    monkeypatch.setenv("ALLIANCE_DEFINITIONS", str(defs))


def write(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def complete(k: int) -> list[str]:
    """Every scale scored, nothing flagged."""
    return [f"p{k}", *["4"] * 12, *["9"] * 4, *["4", "2", "4", "4"]]


def gappy(k: int) -> list[str]:
    """Some scales withheld, SRS flagged."""
    wai = ["", "", "", "", "3", "3", "3", "3", "3", "3", "3", "3"]
    return [f"p{k}", *wai, *["1", "1", "1", ""], *["", "5", "", "2"]]


def header(text: str) -> list[str]:
    return next(csv.reader(io.StringIO(text)))


QS = ["-q", "wai-sr", "-q", "srs", "-q", "tiny"]


@pytest.mark.parametrize(("shape", "expected"), [("wide", WIDE), ("long", LONG)])
def test_the_compact_columns_depend_on_the_definitions_not_the_data(
    tmp_path: Path, shape: str, expected: list[str]
) -> None:
    plain = write(tmp_path / "plain.csv", [complete(k) for k in range(3)])
    mixed = write(tmp_path / "mixed.csv", [gappy(0), complete(1), gappy(2)])
    first = run(str(plain), *QS, "--shape", shape)
    second = run(str(mixed), *QS, "--shape", shape)
    assert first.exit_code == second.exit_code == 0, second.stderr
    assert header(first.stdout) == header(second.stdout) == expected


def test_the_withheld_column_names_each_withheld_scale_and_why(tmp_path: Path) -> None:
    data = write(tmp_path / "in.csv", [gappy(0), complete(1)])
    result = run(str(data), *QS)
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    # By hand from tiny's rules: warmth needs both a and b; work 2 of c, d, a.
    assert rows[0]["tiny.withheld"] == (
        "warmth (all 2 items are required; 1 answered); "
        "work (1 of 3 items answered; at least 2 needed)"
    )
    # The others as single scoring words each reason.
    catalog = Catalog()
    for qid, answers in (("wai-sr", gappy(0)[1:13]), ("srs", gappy(0)[13:17])):
        report = score(catalog.get(qid), answers)
        reasons = [f"{s.id} ({s.withheld_reason})" for s in report.scales if s.withheld]
        assert rows[0][f"{qid}.withheld"] == "; ".join(reasons)
    assert rows[0]["wai-sr.withheld"] != ""
    assert rows[1]["wai-sr.withheld"] == rows[1]["srs.withheld"] == rows[1]["tiny.withheld"] == ""


def test_columns_all_gives_the_full_set(tmp_path: Path) -> None:
    data = write(tmp_path / "in.csv", [["p1", "4", "2", "4", "4"]], ["id", *TINY])
    result = run(str(data), "-q", "tiny", "--columns", "all")
    assert result.exit_code == 0, result.stderr
    assert header(result.stdout) == TINY_ALL
    long = run(str(data), "-q", "tiny", "--columns", "all", "--shape", "long")
    assert header(long.stdout) == [
        "row", "id", "questionnaire", "scale", "method", "score", "sum", "mean", "items",
        "answered", "missing", "not_applicable", "prorated", "withheld", "withheld_reason",
        "band", "flags",
    ]  # fmt: skip


def test_a_band_without_a_flag_gets_no_flags_column(tmp_path: Path) -> None:
    data = write(tmp_path / "in.csv", [["p1", "4", "2", "4", "4"]], ["id", "quiet_a", "quiet_b",
                 "quiet_c", "quiet_d"])  # fmt: skip
    result = run(str(data), "-q", "quiet")
    assert result.exit_code == 0, result.stderr
    assert header(result.stdout) == [
        "row", "id", "quiet.warmth", "quiet.warmth.answered", "quiet.warmth.band", "quiet.work",
        "quiet.work.answered", "quiet.withheld",
    ]  # fmt: skip
    long = run(str(data), "-q", "quiet", "--shape", "long")
    assert header(long.stdout) == LONG[:-1]


def test_center_goes_with_the_compact_columns(tmp_path: Path) -> None:
    rows = [["c1", "4", "2", "4", "4"], ["c1", "2", "4", "2", "2"]]
    data = write(tmp_path / "in.csv", rows, ["id", *TINY])
    result = run(str(data), "-q", "tiny", "--center", "id")
    assert result.exit_code == 0, result.stderr
    assert header(result.stdout) == [
        "row", "id", "tiny.warmth", "tiny.warmth.person_mean", "tiny.warmth.within",
        "tiny.warmth.answered", "tiny.warmth.band", "tiny.warmth.flags", "tiny.work",
        "tiny.work.person_mean", "tiny.work.within", "tiny.work.answered", "tiny.withheld",
    ]  # fmt: skip


@pytest.mark.parametrize("fmt", ["xlsx", "parquet", "sav", "tsv"])
def test_every_format_and_the_codebook_get_the_compact_columns(tmp_path: Path, fmt: str) -> None:
    data = write(tmp_path / "in.csv", [gappy(0), complete(1)])
    out = tmp_path / f"out.{fmt}"
    assert run(str(data), *QS, "-o", str(out)).exit_code == 0
    if fmt == "xlsx":
        names = [c.value for c in next(openpyxl.load_workbook(out)["scores"].iter_rows())]
    elif fmt == "parquet":
        names = pq.read_schema(out).names
    elif fmt == "sav":
        names = list(pyreadstat.read_sav(out, metadataonly=True)[1].column_names)
    else:
        names = out.read_text(encoding="utf-8").splitlines()[0].split("\t")
    assert names == (spss_names(WIDE) if fmt == "sav" else WIDE)
    book = json.loads(Path(f"{out}.codebook.json").read_text(encoding="utf-8"))
    assert [c["name"] for c in book["columns"]] == WIDE
    assert all(c["meaning"] for c in book["columns"])
    assert book["column_set"] == "compact"


def test_help_documents_the_column_sets() -> None:
    text = " ".join(runner.invoke(app, ["batch", "--help"], env={"COLUMNS": "200"}).stdout.split())
    assert "--columns" in text and "compact" in text and "all" in text


def test_a_scale_named_withheld_is_told_to_use_columns_all(tmp_path: Path) -> None:
    odd = TINY_YAML.replace("id: tiny", "id: odd").replace("  work:\n", "  withheld:\n")
    (tmp_path / "defs" / "odd.yaml").write_text(odd, encoding="utf-8")
    data = write(tmp_path / "in.csv", [["p1", "4", "2", "4", "4"]], ["id", "odd_a", "odd_b",
                 "odd_c", "odd_d"])  # fmt: skip
    result = run(str(data), "-q", "odd")
    assert result.exit_code == 2
    assert result.stderr == (
        'error: the output would have two columns named "odd.withheld" (a scale id is also the '
        "name of a questionnaire's column)\ngive --columns all (it has no <questionnaire>.withheld "
        "column)\n"
    )
    assert run(str(data), "-q", "odd", "--columns", "all").exit_code == 0
