"""`alliance reliability` takes batch's input options with batch's meaning, names only its own
options in its hints, labels the ICCs as psych does, and reads its input in chunks: the
results do not depend on the chunk size and equal the whole-matrix psychometrics."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from alliance_cli.catalog import Catalog
from alliance_cli.cli import app
from alliance_cli.research import psychometrics as pm
from alliance_cli.research.batch import BatchOptions
from alliance_cli.research.mapfile import load_map
from alliance_cli.research.psychometrics import _base
from alliance_cli.research.readers import open_input
from alliance_cli.research.reliability import reliability
from tests.research.psychref import DATA, DEFS, SESSIONS, UNBALANCED, close

runner = CliRunner()


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("ALLIANCE_DEFINITIONS", raising=False)


def rows_of(name: str) -> list[list[str]]:
    with (DATA / f"{name}.csv").open(newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def write(
    path: Path, rows: list[list[str]], *, delimiter: str = ",", encoding: str = "utf-8"
) -> Path:
    with path.open("w", newline="", encoding=encoding) as f:
        csv.writer(f, delimiter=delimiter).writerows(rows)
    return path


def run(cmd: str, *args: str) -> object:
    result = runner.invoke(app, [cmd, *args])
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def as_json(defs: Path, data: Path, qid: str, *args: str) -> dict:  # type: ignore[type-arg]
    result = run(
        "reliability",
        str(data),
        "-q",
        qid,
        "-d",
        str(defs),
        "--map",
        str(mapfile(defs, qid)),
        "--json",
        *args,
    )
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    return json.loads(result.stdout)  # type: ignore[attr-defined,no-any-return]


def mapfile(defs: Path, qid: str) -> Path:
    return defs.parent / f"map-{qid}.yaml"


# -- 1. batch's input options, with batch's meaning ---------------------------------------


def test_encoding_sep_missing_and_id_as_batch(defs: Path, tmp_path: Path) -> None:
    """A Latin-1, semicolon-separated export with -99 for a missing answer and a participant
    column (with an accented id) gives exactly what the clean UTF-8 CSV with blanks gives."""
    rows = rows_of("six_items")
    coded = [["pid", *rows[0]]] + [
        [f"Zoë{r}", *(c if c.strip() else "-99" for c in row)] for r, row in enumerate(rows[1:])
    ]
    latin = write(tmp_path / "latin.csv", coded, delimiter=";", encoding="latin-1")
    expected = as_json(defs, DATA / "six_items.csv", "psix")
    got = as_json(
        defs,
        latin,
        "psix",
        "--encoding",
        "latin-1",
        "--sep",
        ";",
        "--missing",
        "-99",
        "--id",
        "pid",
    )
    assert got["scales"] == expected["scales"]
    assert got["rows"] == len(rows) - 1
    # Without --missing the -99 are bad cells, as in batch.
    refused = run(
        "reliability",
        str(latin),
        "-q",
        "psix",
        "-d",
        str(defs),
        "--map",
        str(mapfile(defs, "psix")),
        "--encoding",
        "latin-1",
        "--sep",
        ";",
    )
    assert refused.exit_code == 65  # type: ignore[attr-defined]


def test_invalid_missing_and_errors_file(defs: Path, tmp_path: Path) -> None:
    rows = rows_of("six_items")
    bad = [row[:] for row in rows]
    bad[3][5] = "9"  # i6 of the third response: out of 1–5; the file's row 4
    data = write(tmp_path / "bad.csv", bad)
    blanked = [row[:] for row in rows]
    blanked[3][5] = ""
    expected = as_json(defs, write(tmp_path / "blank.csv", blanked), "psix")
    errors = tmp_path / "bad-cells.csv"
    got = as_json(defs, data, "psix", "--invalid", "missing", "--errors", str(errors))
    assert got["scales"] == expected["scales"]
    with errors.open(newline="", encoding="utf-8") as f:
        cells = list(csv.DictReader(f))
    assert [(c["row"], c["column"], c["value"], c["code"]) for c in cells] == [
        ("4", "i6", "9", "out-of-range")
    ]
    refused = run(
        "reliability",
        str(data),
        "-q",
        "psix",
        "-d",
        str(defs),
        "--map",
        str(mapfile(defs, "psix")),
        "--errors",
        str(tmp_path / "again.csv"),
    )
    assert refused.exit_code == 65  # type: ignore[attr-defined]
    assert f"every bad cell was written to {tmp_path / 'again.csv'}" in " ".join(
        refused.stderr.split()  # type: ignore[attr-defined]
    )
    assert (tmp_path / "again.csv").exists()


def test_invalid_missing_says_how_many_cells_it_blanked(tmp_path: Path) -> None:
    """As batch does: the bad cells scored as missing are counted by problem on stderr (the
    same line batch prints) and in the JSON; none is no line."""
    wai = [f"wai_sr_{i}" for i in range(1, 13)]
    rows = [["id", *wai]] + [
        [f"P{r}", *(str(1 + (r * i + r) % 5) for i in range(12))] for r in range(8)
    ]
    rows[2][3], rows[4][5] = "9", "often"  # out of 1–7; a text that is no label
    data = write(tmp_path / "bad.csv", rows)
    line = "2 bad cells (scored as missing): 1 out-of-range, 1 unknown-label"
    batch = run("batch", str(data), "-q", "wai-sr", "--invalid", "missing", "-o", "-")
    assert line in batch.stderr.splitlines()  # type: ignore[attr-defined]
    result = run("reliability", str(data), "-q", "wai-sr", "--invalid", "missing", "--json")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert f"notice: {line}" in result.stderr.splitlines()  # type: ignore[attr-defined]
    doc = json.loads(result.stdout)  # type: ignore[attr-defined]
    assert doc["bad_cells"] == {"count": 2, "by_problem": {"out-of-range": 1, "unknown-label": 1}}
    table = run("reliability", str(data), "-q", "wai-sr", "--invalid", "missing")
    assert f"notice: {line}" in table.stderr.splitlines()  # type: ignore[attr-defined]
    clean = write(tmp_path / "clean.csv", [rows[0], rows[1], rows[3], rows[5], rows[6]])
    none = run("reliability", str(clean), "-q", "wai-sr", "--invalid", "missing", "--json")
    assert "bad cell" not in none.stderr  # type: ignore[attr-defined]
    assert json.loads(none.stdout)["bad_cells"] == {"count": 0, "by_problem": {}}  # type: ignore[attr-defined]


def test_id_is_checked(defs: Path, tmp_path: Path) -> None:
    rows = rows_of("six_items")
    coded = [["pid", *rows[0]]] + [[f"P{min(r, 5)}", *row] for r, row in enumerate(rows[1:])]
    result = run(
        "reliability",
        str(write(tmp_path / "ids.csv", coded)),
        "-q",
        "psix",
        "-d",
        str(defs),
        "--map",
        str(mapfile(defs, "psix")),
        "--id",
        "pid",
    )
    assert result.exit_code == 65  # type: ignore[attr-defined]
    assert "duplicate response id; first at row 7" in result.stderr  # type: ignore[attr-defined]


def test_chunk_size_option_gives_the_same_json(defs: Path) -> None:
    data = DATA / "sessions_unbalanced.csv"
    whole = as_json(defs, data, "psess", "--by", "client")
    assert as_json(defs, data, "psess", "--by", "client", "--chunk-size", "10") == whole


# -- 2. hints name only the command's own options -----------------------------------------


def options_in(text: str) -> set[str]:
    return set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", text))


def help_options(cmd: str) -> set[str]:
    result = run(cmd, "--help")
    return options_in(result.stdout)  # type: ignore[attr-defined]


def hint_scenarios(tmp_path: Path) -> list[tuple[str, list[str]]]:
    """Inputs that make batch and reliability print each of the hints on their input path."""
    wai = [f"wai_sr_{i}" for i in range(1, 13)]
    good = ["3"] * 12
    files = {
        "bad-cells": [wai, ["9", *good[1:]]],
        "unmapped": [["x1", "x2"], ["1", "2"]],
        "ambiguous": [[*wai, "wai1"], [*good, "3"]],
        "duplicate": [["pid", *wai], ["a", *good], ["a", *good]],
        "ragged": [[*wai], [*good, "3", "3"]],
        "output-column": [["row", *wai], ["1", *good]],
    }
    paths = {k: write(tmp_path / f"{k}.csv", v) for k, v in files.items()}
    latin = tmp_path / "latin.csv"
    latin.write_bytes(",".join(wai).encode() + b"\n" + ",".join(good[1:]).encode() + b",\xe9\n")
    redcap = write(tmp_path / "redcap.csv", [["record_id", *wai], ["1", *good]])
    qualtrics = write(
        tmp_path / "qualtrics.csv",
        [["ResponseId", "IPAddress", *wai], ["Response ID", "IP", *wai], ["R1", "1.2.3.4", *good]],
    )
    bad_map = tmp_path / "bad-map.yaml"
    bad_map.write_text("questionnaires: {wai-sr: {columns: {x: 99}}}\n", encoding="utf-8")
    q = ["-q", "wai-sr"]
    return [
        ("bad cells", [str(paths["bad-cells"]), *q]),
        (
            "bad cells, --invalid missing, ids",
            [str(paths["duplicate"]), *q, "--id", "pid", "--invalid", "missing"],
        ),
        ("unmapped", [str(paths["unmapped"]), *q]),
        ("ambiguous", [str(paths["ambiguous"]), *q]),
        ("encoding", [str(latin), *q]),
        ("ragged", [str(paths["ragged"]), *q]),
        ("sep", [str(paths["bad-cells"]), *q, "--sep", "ab"]),
        ("finished-only", [str(paths["bad-cells"]), *q, "--finished-only"]),
        ("complete-only", [str(paths["bad-cells"]), *q, "--complete-only"]),
        ("complete-only, redcap", [str(redcap), *q, "--complete-only"]),
        ("qualtrics", [str(qualtrics), *q]),
        ("map", [str(paths["bad-cells"]), *q, "--map", str(bad_map)]),
        ("output column", [str(paths["output-column"]), *q]),
        ("sheet", [str(paths["bad-cells"]), *q, "--sheet", "x"]),
        ("workbook, items on another sheet", [str(workbook(tmp_path / "two.xlsx")), *q]),
    ]


def workbook(path: Path) -> Path:
    """A workbook whose first sheet holds a note and whose second holds the answers."""
    import openpyxl

    book = openpyxl.Workbook()
    note = book.active
    note.title = "about"
    note.append(["note"])
    note.append(["collected in 2026"])
    data = book.create_sheet("answers")
    data.append([f"wai_sr_{i}" for i in range(1, 13)])
    data.append([3] * 12)
    book.save(path)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("cmd", ["batch", "reliability"])
def test_every_hint_names_an_option_of_its_command(cmd: str, tmp_path: Path) -> None:
    own = help_options(cmd)
    named: dict[str, set[str]] = {}
    for what, args in hint_scenarios(tmp_path):
        out = tmp_path / "out.csv"
        extra = ["-o", str(out)] if cmd == "batch" else []
        result = run(cmd, *args, *extra)
        text = result.stderr + result.stdout  # type: ignore[attr-defined]
        if result.exit_code != 0:  # type: ignore[attr-defined]
            assert "error:" in text, (what, text)
        named[what] = options_in(text)
        # A hint that sends to a command's help sends to this one's.
        assert set(re.findall(r"alliance ([a-z]+) --help", text)) <= {cmd}, (what, text)
    foreign = {what: sorted(opts - own) for what, opts in named.items() if opts - own}
    assert foreign == {}
    # The scenarios do reach the hints that name options.
    assert {"--errors", "--missing", "--invalid"} <= named["bad cells"]
    assert "--encoding" in named["encoding"] and "--sep" in named["ragged"]
    assert "--map" in named["unmapped"] and "--source" in named["finished-only"]
    assert {"--sheet", "--map"} <= named["workbook, items on another sheet"]
    # The map format the hints point to is in this command's help.
    assert "questionnaires:" in run(cmd, "--help").stdout  # type: ignore[attr-defined]


def test_a_mistyped_session_column_is_named_with_the_close_names(defs: Path) -> None:
    data = DATA / "sessions.csv"
    base = ["reliability", str(data), "-q", "psess", "-d", str(defs)]
    result = run(
        *base, "--map", str(mapfile(defs, "psess")), "--by", "client", "--session", "sesion"
    )
    assert result.exit_code == 2  # type: ignore[attr-defined]
    assert result.stderr.splitlines() == [  # type: ignore[attr-defined]
        f'error: {data}: has no column named "sesion"; did you mean "session"?',
        "--session takes the name of the session column",
    ]
    result = run(*base, "--by", "Client")
    assert result.exit_code == 2  # type: ignore[attr-defined]
    assert result.stderr.splitlines() == [  # type: ignore[attr-defined]
        f'error: {data}: has no column named "Client"; did you mean "client"?',
        "--by takes the name of the client column",
    ]


def test_session_without_by_hint(defs: Path) -> None:
    result = run(
        "reliability",
        str(DATA / "sessions.csv"),
        "-q",
        "psess",
        "-d",
        str(defs),
        "--session",
        "session",
    )
    assert result.exit_code == 2  # type: ignore[attr-defined]
    assert options_in(result.stderr) <= help_options("reliability")  # type: ignore[attr-defined]


# -- 3. labels as psych names them -----------------------------------------------------------


def test_icc_labels_and_json_keys(defs: Path) -> None:
    data = DATA / "sessions_unbalanced.csv"
    (scale,) = as_json(defs, data, "psess", "--by", "client")["scales"]
    close(scale["icc"]["icc1"], UNBALANCED["ICC1"], 1e-9)
    close(scale["icc"]["icc1k"], UNBALANCED["ICC2"], 1e-9)
    assert "icc2" not in scale["icc"]
    assert scale["score_basis"] == "complete cases"
    table = run(
        "reliability",
        str(data),
        "-q",
        "psess",
        "-d",
        str(defs),
        "--map",
        str(mapfile(defs, "psess")),
        "--by",
        "client",
    )
    out = " ".join(table.stdout.split())  # type: ignore[attr-defined]
    assert "ICC(2)" not in out
    assert (
        "ICC1 0.414 · ICC1k 0.781 (Shrout–Fleiss ICC(1,1) and ICC(1,k); psych::statsBy "
        "ICC1 and ICC2)"
    ) in out
    assert "mean 3.41 · SD" not in out  # the basis is said next to mean and SD
    assert re.search(r"complete-case mean \d+\.\d\d · SD \d+\.\d\d", out), out


# -- 4. chunks: the same results whatever the chunk size, equal to the whole matrix -----------


def streamed(defs: Path, name: str, qid: str, chunk: int, **kw: str) -> dict:  # type: ignore[type-arg]
    q = Catalog(user_dirs=[defs]).get(qid)
    spec = load_map(mapfile(defs, qid))
    opened = open_input(DATA / f"{name}.csv", chunk_rows=chunk)
    return reliability([opened], [q], BatchOptions(spec=spec), **kw).to_dict()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "kw"),
    [
        ("six_items", {}),
        ("ceiling", {}),
        ("sessions", {"by": "client", "session": "session"}),
        ("sessions_unbalanced", {"by": "client"}),
    ],
)
def test_chunk_sizes_give_identical_results(
    defs: Path, name: str, kw: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks of 1, 7 and 10,000 rows give the same numbers to the last bit — also across
    the fixed blocks the moments are summed in (made small here, so that the 200–332 rows
    span several) — and those equal the psychometrics of the whole matrix to 1e-12."""
    monkeypatch.setattr(_base, "_BLOCK_ROWS", 50)
    qid = DEFS[name.removesuffix("_unbalanced")][0]
    results = [streamed(defs, name, qid, chunk, **kw) for chunk in (1, 7, 10_000)]
    assert results[0] == results[1] == results[2]
    (scale,) = results[0]["scales"]
    q = Catalog(user_dirs=[defs]).get(qid)
    raw = np.genfromtxt(DATA / f"{name}.csv", delimiter=",", skip_header=1)
    x = raw[:, -len(q.items) :]
    items = pm.scale_items(q, "all", x)
    d = pm.describe(items)
    a = pm.alpha(items.values)
    om = pm.omega(items.values)
    got = [
        scale["n_complete"],
        scale["mean"],
        scale["sd"],
        scale["floor_pct"],
        scale["ceiling_pct"],
        scale["alpha"]["raw_alpha"],
        scale["alpha"]["std_alpha"],
        scale["alpha"]["ci_lower"],
        scale["omega"]["omega_total"],
        *(i["r_drop"] for i in scale["alpha"]["items"]),
        *(i["alpha_if_deleted"] for i in scale["alpha"]["items"]),
    ]
    want = [
        d.n_complete,
        d.mean,
        d.sd,
        d.floor_pct,
        d.ceiling_pct,
        a.raw_alpha,
        a.std_alpha,
        a.ci_lower,
        om.omega_total,
        *(i.r_drop for i in a.items),
        *(i.alpha_if_deleted for i in a.items),
    ]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    if "by" in kw:
        icc = pm.icc1(items.score, raw[:, 0])
        close((scale["icc"]["icc1"], scale["icc"]["icc1k"]), (icc.icc1, icc.icc1k), 1e-12)
        ref = SESSIONS if name == "sessions" else UNBALANCED
        close(scale["icc"]["icc1"], ref["ICC1"], 1e-9)
    if "session" in kw:
        ml = pm.multilevel_reliability(items.values, raw[:, 0], raw[:, 1])
        m = scale["multilevel"]
        close(
            (m["rkf"], m["r1r"], m["rkr"], m["rc"], m["rkrn"], m["rcn"]),
            (ml.rkf, ml.r1r, ml.rkr, ml.rc, ml.rkrn, ml.rcn),
            1e-12,
        )


def test_client_sums_hold_what_within_between_reliability_takes() -> None:
    """Per client the complete rows, their item sums, and the total cross-products of the
    complete rows (Geldhof et al. 2014's inputs), summed block by block, equal pandas'
    sums over the whole table; the ICC from them equals the whole-column ICC."""
    import pandas as pd

    from alliance_cli.research.psychometrics.groups import ClientSums

    s = np.genfromtxt(DATA / "sessions_unbalanced.csv", delimiter=",", skip_header=1)
    clients, x = s[:, 0].astype(np.int64) - 1, s[:, 2:]
    score = x.sum(axis=1)
    sums = ClientSums(x.shape[1])
    for start in range(0, len(x), 37):
        sums.add(x[start : start + 37], score[start : start + 37], clients[start : start + 37])
    complete = pd.DataFrame(x).assign(client=clients).dropna()
    by = complete.groupby("client")
    np.testing.assert_array_equal(sums.n, by.size().to_numpy())
    np.testing.assert_allclose(sums.sums, by.sum().to_numpy(), rtol=1e-14)
    items = complete.drop(columns="client").to_numpy()
    np.testing.assert_allclose(sums.sscp, items.T @ items, rtol=1e-14)
    close(sums.icc().icc1, UNBALANCED["ICC1"], 1e-9)
    close(sums.icc().icc1k, UNBALANCED["ICC2"], 1e-9)


def test_a_missing_client_column_is_named_in_every_file_before_reading(
    defs: Path, tmp_path: Path
) -> None:
    rows = rows_of("sessions")
    no_client = write(tmp_path / "a.csv", [row[1:] for row in rows])
    twice = write(tmp_path / "b.csv", [[row[0], *row] for row in rows])
    result = run(
        "reliability", str(DATA / "sessions.csv"), str(no_client), str(twice), "-q", "psess",
        "-d", str(defs), "--map", str(mapfile(defs, "psess")), "--by", "client",
    )  # fmt: skip
    assert result.exit_code == 2  # type: ignore[attr-defined]
    assert result.stderr.splitlines() == [  # type: ignore[attr-defined]
        f'error: {no_client}: has no column named "client"',
        f'error: {twice}: has more than one column named "client"',
        "--by takes the name of the client column",
    ]


@pytest.mark.slow
def test_rows_left_out_are_accounted_for_and_an_empty_run_exits_1(tmp_path: Path) -> None:
    """Section 1 for `reliability`: the rows that --finished-only leaves out are counted on
    stderr and in the JSON; a run that keeps no row warns and exits 1 unless --allow-empty."""
    from tests.helpers import answers, qualtrics

    src = qualtrics(tmp_path / "q.csv", answers(6), ["1", "0", "1", "True", "0", "1"])
    done = run("reliability", str(src), "-q", "wai-sr", "--finished-only", "--json")
    assert done.exit_code == 0, done.output
    doc = json.loads(done.stdout)
    assert doc["row_accounting"] == {
        "read": 6,
        "left_out": {"not finished (--finished-only)": 2},
        "scored": 4,
    }
    assert f"read 6 rows from {src}: 2 not finished (--finished-only), 4 scored" in " ".join(
        done.stderr.split()
    )
    assert {s["n_complete"] for s in doc["scales"]} == {4}
    everyone = run("reliability", str(src), "-q", "wai-sr", "--json")
    assert json.loads(everyone.stdout)["row_accounting"] == {"read": 6, "left_out": {}, "scored": 6}
    assert "read 6 rows" not in everyone.stderr  # nothing left out: nothing to account for

    unfinished = qualtrics(tmp_path / "u.csv", answers(2), ["0", "False"])
    empty = run("reliability", str(unfinished), "-q", "wai-sr", "--finished-only")
    assert empty.exit_code == 1 and empty.stdout == ""
    told = " ".join(empty.stderr.split())
    assert f"read 2 rows from {unfinished}: 2 not finished (--finished-only), 0 scored" in told
    assert "WARNING: no row was kept, so there is nothing to compute reliability on" in told
    allowed = run(
        "reliability", str(unfinished), "-q", "wai-sr", "--finished-only", "--allow-empty", "--json"
    )
    assert allowed.exit_code == 0, allowed.output
    assert json.loads(allowed.stdout)["row_accounting"]["scored"] == 0


def test_a_pair_of_items_without_a_correlation_leaves_omega_empty_with_a_notice(
    tmp_path: Path,
) -> None:
    """Found by the data-file fuzzing: CARE items 4 and 8 are answered together on three
    rows, where item 4 is always 2, so they have no pairwise correlation; omega is left
    empty with the reason (it was a LinAlgError traceback), alpha is still given."""
    src = write(
        tmp_path / "care.csv",
        [
            ["id", *(f"care{i}" for i in range(1, 11))],
            ["p0", "5", "3", "3", "2", "3", "1", "3", "5", "5", "3"],
            ["p1", "3", "1", "3", "2", "4", "5", "5", "1", "4", "1"],
            ["p2", "3", "", "1", "", "", "4", "", "4", "", "5"],
            ["p3", "5", "5", "3", "5", "3", "3", "2", "", "1", "2"],
            ["p4", "1", "5", "5", "2", "5", "4", "4", "3", "5", "5"],
            ["p5", "", "", "", "", "", "", "2", "", "", "5"],
        ],
    )
    done = run("reliability", str(src), "-q", "care", "--id", "id", "--json")
    assert done.exit_code == 0, done.output
    (scale,) = json.loads(done.stdout)["scales"]
    assert scale["omega"] is None and scale["alpha"] is not None
    reason = (
        "omega: no correlation between items 4 and 8 (too few rows answer both, or one of"
        " them never varies on those rows); omega is not defined"
    )
    assert scale["notes"] == [reason]
    assert f"notice: care total: {reason}" in done.stderr


@pytest.mark.filterwarnings("error::RuntimeWarning")  # a warning is noise on a user's stderr
def test_a_scale_total_that_never_varies_has_no_alpha(tmp_path: Path) -> None:
    """Found by the data-file fuzzing: the WAI-SR goal items (4, 6, 8, 11) sum to 12 on every
    row, so the total's variance 1'C1 is 0 and alpha (1 − tr C / 1'C1) is not defined: shown
    as –, null in the JSON (it was a division by zero: -inf and a RuntimeWarning)."""
    header = ["id", *(f"wai{i}" for i in range(1, 13))]
    rows = [
        ["a", "1", "2", "3", "1", "4", "5", "2", "1", "3", "4", "5", "1"],
        ["b", "3", "2", "1", "5", "4", "1", "2", "5", "3", "1", "1", "1"],
        ["c", "2", "3", "4", "3", "2", "3", "4", "3", "2", "3", "3", "2"],
        ["d", "4", "4", "4", "3", "3", "3", "2", "3", "2", "2", "3", "4"],
    ]
    src = write(tmp_path / "wai.csv", [header, *rows])
    done = run("reliability", str(src), "-q", "wai-sr", "--json")
    assert done.exit_code == 0, done.output
    goal = json.loads(done.stdout)["scales"][0]
    assert goal["scale"] == "goal"
    assert (goal["alpha"]["raw_alpha"], goal["alpha"]["std_alpha"]) == (None, None)
    table = run("reliability", str(src), "-q", "wai-sr")
    assert "alpha – (95% CI – to –, Feldt) · standardized – (psych::alpha)" in table.stdout


@pytest.mark.filterwarnings("error::RuntimeWarning")  # a warning is noise on a user's stderr
def test_a_singular_correlation_matrix_gives_omega_without_a_warning(tmp_path: Path) -> None:
    """Found by the data-file fuzzing: three complete rows of twelve items make a singular
    correlation matrix whose inverse has a zero on its diagonal; the squared multiple
    correlation 1 − 1/0 printed numpy's "divide by zero" RuntimeWarning. psych clamps that
    smc to 0, as the uniqueness bounds do here: every scale gets an omega."""
    header = ["id", *(f"wai{i}" for i in range(1, 13))]
    rows = [
        ["p000", "1", "5", "4", "4", "3", "2", "3", "1", "5", "5", "3", "3"],
        ["p001", "", "", "", "5", "3", "2", "", "", "", "", "", ""],
        ["p002", "2", "4", "5", "4", "3", "3", "2", "5", "3", "3", "1", "3"],
        ["p003", "4", "4", "5", "5", "2", "3", "2", "3", "5", "3", "2", "4"],
    ]
    src = write(tmp_path / "wai.csv", [header, *rows])
    done = run("reliability", str(src), "-q", "wai-sr", "--id", "id", "--json")
    assert done.exit_code == 0, done.output
    scales = json.loads(done.stdout)["scales"]
    assert [s["scale"] for s in scales] == ["goal", "task", "bond", "goal_task", "total"]
    assert all(0 <= s["omega"]["omega_total"] <= 1 for s in scales), scales


def test_every_statistic_in_the_json_names_its_r_function(defs: Path) -> None:
    """The `psych` object is built from the one table cite uses (methods.RELIABILITY_METHODS):
    every statistic key a scale carries names its R function, lavaan's two-level model
    included, and says the same as cite's methods text."""
    from alliance_cli.research.methods import RELIABILITY_METHODS

    doc = as_json(defs, DATA / "sessions.csv", "psess", "--by", "client")
    scale = doc["scales"][0]
    for key in ("descriptives", "alpha", "omega", "icc", "multilevel", "two_level"):
        assert key in doc["psych"], key
    for key in ("alpha", "omega", "icc", "multilevel", "two_level"):
        assert key in scale, key
    assert "lavaan" in doc["psych"]["two_level"]
    for m in RELIABILITY_METHODS:
        assert f"{m.statistic}: {m.r}" in doc["psych"][m.result]
