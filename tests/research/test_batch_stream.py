"""Batch runs in chunks: a chunked run writes exactly what a whole-file run writes (scores,
bad cells, codebook), whatever the chunk size and wherever the text reader splits the bytes;
a refusal found in a late chunk leaves nothing behind; the output formats; the progress bar
in a real terminal; the Dask engine."""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from alliance_cli.catalog import Catalog
from alliance_cli.cli import app
from alliance_cli.io.sinks import open_sink
from alliance_cli.options import InvalidPolicy
from alliance_cli.research import textread
from alliance_cli.research.batch import BatchOptions
from alliance_cli.research.readers import open_input, read_table
from alliance_cli.research.run import run_batch
from tests.helpers import batch as run
from tests.helpers import requires

runner = CliRunner()
CATALOG = Catalog(user_dirs=[])
WAI_SR = CATALOG.get("wai-sr")
HEADER = ["id", "session", *(f"wai_sr_{i}" for i in range(1, 13))]


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("ALLIANCE_DEFINITIONS", raising=False)


def messy_lines(n: int, seed: int, *, bad: bool = True) -> list[str]:
    """CSV lines of a WAI-SR export with what real files hold: blank lines, rows of empty
    cells, quoted ids with commas, quotes and line breaks, CRLF and LF line ends, short rows,
    blanks, labels, and (with ``bad``) out-of-range and unreadable answers."""
    rng = np.random.default_rng(seed)
    lines = [",".join(HEADER) + "\r\n"]
    for r in range(n):
        kind = rng.random()
        if kind < 0.04:
            lines.append("\n")
            continue
        if kind < 0.07:
            lines.append("," * (len(HEADER) - 1) + "\n")
            continue
        ident = f"P{r:04d}"
        if kind < 0.15:
            ident = f'"P{r:04d}, ""x""\nline two"'
        answers = []
        for _ in range(12):
            a = rng.random()
            if a < 0.05:
                answers.append("")
            elif a < 0.1:
                answers.append(str(rng.choice(["Always", "seldom", " Fairly often "])))
            elif bad and a < 0.13:
                answers.append(str(rng.choice(["9", "often-ish", "0"])))
            else:
                answers.append(str(rng.integers(1, 6)))
        if kind < 0.2:
            answers = answers[: int(rng.integers(3, 12))]  # a short row: padded with blanks
        end = "\r\n" if rng.random() < 0.5 else "\n"
        lines.append(",".join([ident, str(r % 5 + 1), *answers]) + end)
    return lines


def outputs(tmp_path: Path, name: str, data: Path, *args: str) -> tuple[int, bytes, bytes, str]:
    out, errors = tmp_path / f"{name}.csv", tmp_path / f"{name}.errors.csv"
    result = run(str(data), "-q", "wai-sr", "-o", str(out), "--errors", str(errors), *args)
    scores = out.read_bytes() if out.exists() else b""
    return result.exit_code, scores, errors.read_bytes(), result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("invalid", ["missing", "error"])
@pytest.mark.parametrize("chunk", ["10", "17", "64"])
def test_a_chunked_run_writes_what_a_whole_run_writes(
    tmp_path: Path, invalid: str, chunk: str
) -> None:
    data = tmp_path / "in.csv"
    data.write_bytes("".join(messy_lines(150, 7)).encode("utf-8"))
    common = ("--id", "id", "--id", "session", "--invalid", invalid)
    whole = outputs(tmp_path, "whole", data, *common)
    chunked = outputs(tmp_path, f"chunked{chunk}", data, *common, "--chunk-size", chunk)
    assert whole[0] == chunked[0] == (0 if invalid == "missing" else 65)
    assert whole[1] == chunked[1]
    assert whole[2] == chunked[2] and whole[2].count(b"\r\n") > 10  # the bad cells
    if invalid == "missing":
        rows = list(csv.DictReader(io.StringIO(chunked[1].decode())))
        assert any("\n" in r["id"] for r in rows)
        summary = [line for line in chunked[3].splitlines() if "(scored as missing)" in line]
        assert summary == [x for x in whole[3].splitlines() if "(scored as missing)" in x]
        assert len(summary) == 1
        codebook = json.loads((tmp_path / f"chunked{chunk}.csv.codebook.json").read_text())
        assert codebook["rows"] == len(rows) and codebook["inputs"][0]["rows"] == len(rows)
    else:
        assert chunked[1] == b"" and "bad cells in" in chunked[3]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 10_000), block=st.integers(16, 400), chunk=st.integers(10, 60))
def test_the_text_reader_gives_the_same_rows_wherever_it_splits_the_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int, block: int, chunk: int
) -> None:
    data = tmp_path / f"in{seed}.csv"
    data.write_bytes("".join(messy_lines(60, seed)).encode("utf-8"))
    expected = read_table(data)
    monkeypatch.setattr(textread, "BLOCK_BYTES", block)
    parts = list(open_input(data, chunk_rows=chunk).chunks)
    assert all(len(p) <= chunk for p in parts)
    rows = np.concatenate([p.rows for p in parts])
    assert rows.tolist() == expected.rows.tolist()
    cells = [row for p in parts for row in p.frame.astype(object).values.tolist()]
    assert cells == expected.frame.astype(object).values.tolist()
    # The row numbers are the file's: the csv module counts the same rows.
    with data.open(newline="", encoding="utf-8") as f:
        records = list(csv.reader(f))
    kept = [k + 1 for k, r in enumerate(records) if k and any(c.strip() for c in r)]
    assert rows.tolist() == kept


def test_reading_in_small_blocks_keeps_encodings_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = "id;wai_sr_1\r\n" + "".join(f"Zoë-{k};{k % 5 + 1}\r\n" for k in range(40))
    for encoding in ("utf-8-sig", "cp1252", "utf-16"):
        path = tmp_path / f"{encoding}.csv"
        path.write_bytes(text.encode(encoding))
        monkeypatch.setattr(textread, "BLOCK_BYTES", 7)
        table = open_input(path, encoding=None if encoding == "utf-8-sig" else encoding)
        parts = list(table.chunks)
        ids = [v for p in parts for v in p.frame[0].tolist()]
        assert table.columns == ("id", "wai_sr_1") and ids == [f"Zoë-{k}" for k in range(40)]
        assert parts[0].rows[0] == 2 and parts[-1].rows[-1] == 41


def test_a_repeated_id_in_a_later_chunk_or_file_names_the_first(tmp_path: Path) -> None:
    lines = [",".join(HEADER)] + [f"P{r},1," + ",".join(["3"] * 12) for r in range(30)]
    lines.append("P3,1," + ",".join(["4"] * 12))  # row 32 repeats row 5
    first = tmp_path / "a.csv"
    first.write_text("\n".join(lines) + "\n")
    second = tmp_path / "b.csv"
    second.write_text(",".join(HEADER) + "\nP7,1," + ",".join(["2"] * 12) + "\n")
    out = tmp_path / "out.csv"
    errors = tmp_path / "bad.csv"
    result = run(
        str(first), str(second), "-q", "wai-sr", "--id", "id", "--id", "session",
        "--chunk-size", "10", "-o", str(out), "--errors", str(errors),
    )  # fmt: skip
    assert result.exit_code == 65 and not out.exists()
    bad = list(csv.DictReader(io.StringIO(errors.read_text())))
    assert [(b["file"], b["row"], b["value"], b["problem"]) for b in bad] == [
        (str(first), "32", "P3, 1", "duplicate response id; first at row 5"),
        (str(second), "2", "P7, 1", f"duplicate response id; first at row 9 of {first}"),
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "b.csv", "bad.csv"]


def test_a_bad_cell_in_the_last_chunk_leaves_no_output(tmp_path: Path) -> None:
    lines = [",".join(HEADER)] + [f"P{r},1," + ",".join(["3"] * 12) for r in range(95)]
    lines.append("P99,1," + ",".join(["3"] * 11 + ["6"]))
    data = tmp_path / "in.csv"
    data.write_text("\n".join(lines) + "\n")
    out = tmp_path / "scores.parquet"
    result = run(str(data), "-q", "wai-sr", "--chunk-size", "10", "-o", str(out))
    assert result.exit_code == 65
    assert "1 bad cell in 1 row" in result.stderr and "97" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


@pytest.mark.slow
def test_qualtrics_header_rows_and_finished_only_across_chunks(tmp_path: Path) -> None:
    header = ["StartDate", "Finished", "ResponseId", *(f"wai_sr_{i}" for i in range(1, 13))]
    texts = ["Start Date", "Finished", "Response ID", *(f"Q{i} text" for i in range(1, 13))]
    imports = [json.dumps({"ImportId": f"QID{i}"}) for i in range(len(header))]
    rows = [
        ["2024-01-01", "1" if r % 3 else "0", f"R_{r}", *(["-99"] + ["4"] * 11)] for r in range(40)
    ]
    data = tmp_path / "q.csv"
    with data.open("w", newline="") as f:
        csv.writer(f).writerows([header, texts, imports, *rows])
    common = ("-q", "wai-sr", "--finished-only", "--id", "ResponseId")
    whole = run(str(data), *common, "-o", str(tmp_path / "w.csv"))
    chunked = run(str(data), *common, "--chunk-size", "10", "-o", str(tmp_path / "c.csv"))
    assert whole.exit_code == chunked.exit_code == 0
    assert (tmp_path / "w.csv").read_bytes() == (tmp_path / "c.csv").read_bytes()
    scored = list(csv.DictReader(io.StringIO((tmp_path / "c.csv").read_text())))
    assert [r["row"] for r in scored][:3] == ["5", "6", "8"]  # three header rows; row 4 not done
    assert len(scored) == 26 and all(r["wai-sr.total.answered"] == "11" for r in scored)


@pytest.mark.slow
def test_center_over_chunks_equals_center_over_the_whole_file(tmp_path: Path) -> None:
    data = tmp_path / "in.csv"
    data.write_bytes("".join(messy_lines(80, 3, bad=False)).encode())
    for shape in ("wide", "long"):
        args = ("-q", "wai-sr", "--center", "session", "--shape", shape)
        run(str(data), *args, "-o", str(tmp_path / "w.csv"))
        run(str(data), *args, "--chunk-size", "10", "-o", str(tmp_path / "c.csv"))
        whole, chunked = (tmp_path / "w.csv").read_bytes(), (tmp_path / "c.csv").read_bytes()
        assert whole == chunked and b"person_mean" in whole


@pytest.mark.parametrize("fmt", ["tsv", "parquet", "xlsx", "sav"])
def test_every_output_format_holds_the_csv_values(tmp_path: Path, fmt: str) -> None:
    import pandas as pd

    data = tmp_path / "in.csv"
    data.write_bytes("".join(messy_lines(40, 5, bad=False)).encode())
    full = ("--columns", "all")  # a column of each type: text, number, integer, boolean
    run(str(data), "-q", "wai-sr", "-o", str(tmp_path / "s.csv"), *full)
    out = tmp_path / f"s.{fmt}"
    result = run(str(data), "-q", "wai-sr", "-o", str(out), "--chunk-size", "10", *full)
    assert result.exit_code == 0 and out.stat().st_mode & 0o777 == 0o600
    book = json.loads((tmp_path / f"s.{fmt}.codebook.json").read_text())
    assert book["format"] == fmt
    expected = pd.read_csv(tmp_path / "s.csv", keep_default_na=False, dtype=str)
    if fmt == "tsv":
        got = pd.read_csv(out, sep="\t", keep_default_na=False, dtype=str)
    elif fmt == "parquet":
        got = pd.read_parquet(out)
    elif fmt == "xlsx":
        got = pd.read_excel(out, sheet_name="scores", dtype=object)
    else:
        import pyreadstat

        got, meta = pyreadstat.read_sav(str(out))
        labels = dict(zip(meta.column_names, meta.column_labels, strict=True))
        assert labels["wai_sr.goal"].startswith("wai-sr.goal: ")
        got.columns = [labels[c].split(": ", 1)[0] for c in got.columns]
    assert list(got.columns) == list(expected.columns)
    for column in ("row", "wai-sr.total", "wai-sr.goal.answered", "wai-sr.bond.prorated"):
        want = expected[column].tolist()
        have = got[column].tolist()
        if fmt != "tsv":
            have = [
                "" if v is None or v != v else str(v).lower() if isinstance(v, bool | np.bool_)
                else format(float(v), "g") if column != "row" else str(int(v))
                for v in have
            ]  # fmt: skip
            if column == "wai-sr.bond.prorated" and fmt == "sav":
                have = ["true" if v == "1" else "false" for v in have]
            want = [format(float(v), "g") if v and column == "wai-sr.total" else v for v in want]
        assert have == want, column


def test_csv_to_stdout_is_written_only_when_the_run_succeeds(tmp_path: Path) -> None:
    data = tmp_path / "in.csv"
    data.write_bytes("".join(messy_lines(30, 2, bad=False)).encode())
    ok = run(str(data), "-q", "wai-sr", "--to", "tsv", "--chunk-size", "10")
    assert ok.exit_code == 0 and ok.stdout.startswith("row\tid\tsession\t")
    assert ok.stdout_bytes.count(b"\r\n") == 1 + len(read_table(data))
    bad = tmp_path / "bad.csv"
    bad.write_bytes("".join(messy_lines(30, 2, bad=False)).encode() + b"P9,1,7,7\n")
    refused = run(str(bad), "-q", "wai-sr", "--chunk-size", "10")
    assert refused.exit_code == 65 and refused.stdout == ""


def test_the_library_run_streams_to_any_binary_stream(tmp_path: Path) -> None:
    data = tmp_path / "in.csv"
    data.write_bytes("".join(messy_lines(50, 9)).encode())
    buffers: list[io.BytesIO] = []

    def sink(columns):  # type: ignore[no-untyped-def]
        buffers.append(io.BytesIO())
        return open_sink("csv", buffers[-1], columns)

    options = BatchOptions(invalid=InvalidPolicy.missing)
    batch = run_batch([open_input(data, chunk_rows=12)], [WAI_SR], options, output=sink)
    text = buffers[0].getvalue().decode()
    assert batch.written == len(read_table(data)) == text.count("\r\n") - text.count('\n"') - 1
    assert batch.bad_cells == sum(batch.failure_counts().values()) > 0


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_progress_follows_the_rows_scored_not_the_bytes_read_ahead(
    tmp_path: Path, encoding: str
) -> None:
    """The whole small file is read in one block at once; the share reported after each
    chunk is still that chunk's share of the rows (two files: the second continues)."""
    lines = [",".join(HEADER) + "\n"] + [
        f"P{r:05d},1," + ",".join(str(1 + (r + j) % 5) for j in range(12)) + "\n"
        for r in range(4000)
    ]
    files = [tmp_path / "a.csv", tmp_path / "b.csv"]
    for f in files:
        f.write_bytes("".join(lines).encode(encoding))
    seen: list[tuple[int, int, int | None]] = []
    opened = [open_input(f, encoding=encoding, chunk_rows=500) for f in files]
    run_batch(opened, [WAI_SR], progress=lambda *args: seen.append(args))
    size = sum(f.stat().st_size for f in files)
    assert len(seen) == 16 and all(total == size for _, _, total in seen)
    assert [rows for rows, _, _ in seen] == [500 * k for k in range(1, 17)]
    for rows, done, _ in seen:
        assert abs(done / size - rows / 8000) < 0.01, (rows, done)
    assert seen[-1][1] == size


@pytest.mark.slow
def test_a_terminal_shows_progress_and_a_pipe_does_not(tmp_path: Path) -> None:
    requires(sys.platform != "win32", "pseudo-terminals (POSIX)")
    import pexpect

    data = tmp_path / "in.csv"
    data.write_bytes("".join(messy_lines(3000, 4, bad=False)).encode())
    env = {**os.environ, "COLUMNS": "120", "TERM": "xterm"}
    env.pop("NO_COLOR", None)
    child = pexpect.spawn(
        sys.executable,
        ["-m", "alliance_cli", "batch", str(data), "-q", "wai-sr", "--chunk-size", "10",
         "-o", str(tmp_path / "o.csv")],
        env=env, timeout=120, encoding="utf-8", dimensions=(40, 120),
    )  # fmt: skip
    child.expect("rows/s")
    child.expect(r"wrote [\d,]+ rows")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    piped = run(str(data), "-q", "wai-sr", "-o", str(tmp_path / "p.csv"), "--chunk-size", "10")
    assert "rows/s" not in piped.stderr and "scoring" not in piped.stderr


@pytest.mark.slow
def test_the_dask_engine_returns_what_the_local_engine_returns(tmp_path: Path) -> None:
    data = tmp_path / "in.csv"
    data.write_bytes("".join(messy_lines(120, 11)).encode())
    common = ("--id", "id", "--id", "session", "--invalid", "missing", "--chunk-size", "25")
    local = outputs(tmp_path, "local", data, *common)
    dask = outputs(tmp_path, "dask", data, *common, "--engine", "dask")
    assert local[0] == dask[0] == 0, dask[3]
    assert local[1] == dask[1] and local[2] == dask[2] and local[1].count(b"\r\n") > 50
    stray = run(str(data), "-q", "wai-sr", "--scheduler", "tcp://127.0.0.1:1")
    assert stray.exit_code == 2 and "--scheduler needs --engine dask" in stray.stderr


def test_old_mac_line_ends_and_a_lone_quote_inside_a_cell(tmp_path: Path) -> None:
    path = tmp_path / "cr.csv"
    path.write_bytes(b"id,wai_sr_1\r1,3\r2,4\r\r3,5\r")
    table = read_table(path)
    assert table.rows.tolist() == [2, 3, 5] and table.frame[0].tolist() == ["1", "2", "3"]
    path.write_bytes(b'id,a\n1,5"x\n2,3\n\n3,"q\nz"\n4,1\n')
    table = read_table(path)
    assert table.rows.tolist() == [2, 3, 5, 6]
    assert table.frame.astype(object).values.tolist() == [
        ["1", '5"x'], ["2", "3"], ["3", "q\nz"], ["4", "1"]
    ]  # fmt: skip
    path.write_bytes(b'id,a\n1,5"x\n2,3\n\n3,"q\nz"\n4,1,9\n')
    result = run(str(path), "-q", "wai-sr")
    assert result.exit_code == 6 and "row 6 has 3 cells; the header has 2" in result.stderr


def test_help_names_the_extras_to_install() -> None:
    result = runner.invoke(app, ["batch", "--help"], env={"NO_COLOR": "1", "COLUMNS": "200"})
    assert "pip install 'alliance-cli[formats]'" in result.stdout
    assert "'alliance-cli[dask]'" in result.stdout
    for option in ("--chunk-size", "--engine", "--scheduler", "--to"):
        assert option in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize("signame", ["SIGTERM", "SIGHUP"])
def test_a_terminated_run_leaves_no_partial_output(tmp_path: Path, signame: str) -> None:
    """timeout(1) and job schedulers stop a run with SIGTERM, a closed terminal with SIGHUP:
    like Ctrl-C, the half-written output is discarded (exit 128 + the signal)."""
    requires(sys.platform != "win32", "POSIX signals")
    import signal
    import subprocess
    import time

    rng = np.random.default_rng(3)
    n = 400_000
    answers = rng.integers(1, 6, size=(n, 12)).astype(str)
    body = "\n".join(f"P{r},1," + ",".join(row) for r, row in enumerate(answers.tolist()))
    data = tmp_path / "in.csv"
    data.write_text(",".join(HEADER) + "\n" + body + "\n", encoding="utf-8")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    cmd = [sys.executable, "-m", "alliance_cli", "batch", str(data), "-q", "wai-sr"]
    proc = subprocess.Popen(
        [*cmd, "--chunk-size", "5000", "-o", str(out_dir / "scores.csv")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not any(out_dir.iterdir()) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert proc.poll() is None, "the run ended before it could be stopped"
    assert next(p.name for p in out_dir.iterdir()).startswith(".scores.csv.")  # writing
    proc.send_signal(getattr(signal, signame))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + getattr(signal, signame), err
    assert f"stopped by {signame}" in err and "Traceback" not in err
    assert list(out_dir.iterdir()) == []
