"""Delimited text input that used to be lost or end in a traceback (issue 11): a stray quote
in the header, ``csv.Error`` in the header, a huge data cell, UTF-16, a million columns and
aborts of the native reader at exit."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from alliance_cli.errors import UsageError
from alliance_cli.research.scoretable import check_unique
from alliance_cli.research.textread import MAX_COLUMNS, TextFile
from tests.helpers import run

# The CLI helpers and the environment fixture of the survey tests.

WAI = [f"wai{i}" for i in range(1, 13)]


def said(result: Any) -> list[str]:
    return [" ".join(line.split()) for line in result.stderr.splitlines()]


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def lines(path: Path, *rows: str) -> Path:
    """``rows`` written as they are (the csv module would quote what these tests break)."""
    path.write_bytes("".join(f"{row}\n" for row in rows).encode("utf-8"))
    return path


def answers(value: int, n: int = 12) -> str:
    return ",".join([str(value)] * n)


# -- the header row, read as Python's csv reads it -------------------------------------------------


def test_a_stray_quote_in_the_header_keeps_every_data_row(tmp_path: Path) -> None:
    """``id"`` is a name with a quote in it (as csv.reader has it), not the start of a quoted
    cell that swallows the file: both rows are read and scored, one with a stray quote too."""
    src = lines(
        tmp_path / "in.csv", f'id",{",".join(WAI)}', f"p1,{answers(3)}", f'p2",{answers(4)}'
    )
    with src.open(newline="", encoding="utf-8") as f:
        assert len(list(csv.reader(f))) == 3  # the reference: a header and two rows
    result = run("batch", str(src), "-q", "wai-sr", "-o", "-")
    assert result.exit_code == 0, result.output
    out = rows_of(result.stdout)
    # All twelve answers equal, so every WAI-SR scale mean is that answer.
    assert [(r["row"], r['id"'], r["wai-sr.total"], r["wai-sr.goal"]) for r in out] == [
        ("2", "p1", "3", "3"),
        ("3", 'p2"', "4", "4"),
    ]
    assert "read 2 rows" in result.stderr


def test_an_unclosed_quote_in_the_header_is_refused_with_its_line(tmp_path: Path) -> None:
    src = lines(tmp_path / "in.csv", f'id,"wai1,{",".join(WAI[1:])}', f"p1,{answers(3)}")
    result = run("batch", str(src), "-q", "wai-sr", "-o", str(tmp_path / "o.csv"))
    assert result.exit_code == 6, result.output
    assert said(result) == [
        f"error: {src}: line 1: cannot read the header row: a quote opened in the header row "
        "is never closed",
        "check the quoting of the header row, and the delimiter (--sep)",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]
    # A closed quote that holds a line break is a name: a header-only file has no rows.
    alone = lines(tmp_path / "alone.csv", f'id,"wai\n1",{",".join(WAI[1:])}')
    result = run("batch", str(alone), "-q", "wai-sr", "-o", str(tmp_path / "o.csv"))
    assert result.exit_code == 1, result.output
    assert "read 0 rows" in result.stderr


def test_a_bare_cr_in_the_header_is_a_clear_error(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_bytes(f"id,wa\ri1,{','.join(WAI[1:])}\np1,{answers(3)}\n".encode())
    result = run("batch", str(src), "-q", "wai-sr", "-o", str(tmp_path / "o.csv"))
    assert result.exit_code == 6, result.output
    assert said(result) == [
        f"error: {src}: line 1: cannot read the header row: a line break (a carriage return) "
        "inside an unquoted column name",
        "check the quoting of the header row, and the delimiter (--sep)",
    ]


def test_a_header_name_over_the_limit_is_a_clear_error(tmp_path: Path) -> None:
    """131,072 characters is csv's field limit; a longer name is refused on line 1 (exit 6)."""
    src = lines(tmp_path / "in.csv", f"id,{','.join(WAI)},{'x' * 131_073}", f"p1,{answers(3)},a")
    result = run("batch", str(src), "-q", "wai-sr", "-o", str(tmp_path / "o.csv"))
    assert result.exit_code == 6, result.output
    assert said(result) == [
        f"error: {src}: line 1: cannot read the header row: a column name is longer than "
        "131,072 characters",
        "check the quoting of the header row, and the delimiter (--sep)",
    ]
    ok = lines(tmp_path / "ok.csv", f"id,{','.join(WAI)},{'x' * 131_072}", f"p1,{answers(3)},a")
    assert run("batch", str(ok), "-q", "wai-sr", "-o", "-").exit_code == 0


def test_a_data_cell_over_the_csv_field_limit_is_a_bad_cell(tmp_path: Path) -> None:
    """A short row sends the run to the csv module (which pads it); the 140,000-character cell
    in it is a bad cell with its row and column (exit 65), not a failure of the file."""
    src = lines(
        tmp_path / "in.csv",
        f"id,{','.join(WAI)}",
        f'p1,{answers(3, 11)},"{"4" * 140_000}"',
        f"p2,{answers(3, 11)}",
    )
    bad = tmp_path / "bad.csv"
    result = run(
        "batch", str(src), "-q", "wai-sr", "-o", str(tmp_path / "o.csv"), "--errors", str(bad)
    )
    assert result.exit_code == 65, result.output
    limit = csv.field_size_limit(1 << 20)
    try:
        cells = rows_of(bad.read_text(encoding="utf-8"))
    finally:
        csv.field_size_limit(limit)
    assert [(c["row"], c["column"], len(c["value"])) for c in cells] == [("2", "wai12", 140_000)]


# -- UTF-16 ---------------------------------------------------------------------------------------


def utf16(path: Path, codec: str) -> Path:
    """What Excel's "Unicode text" and many Windows tools write (``utf-16`` adds the BOM)."""
    path.write_bytes(f"id,{','.join(WAI)}\np1,{answers(3)}\n".encode(codec))
    return path


def test_a_byte_that_is_not_utf8_is_named_by_its_line_and_place_in_it(tmp_path: Path) -> None:
    """The first body line is line 2: a Latin-1 "é" in the id of line 3 is named there, at
    byte 2 of that line (it was named "byte 29 (line 2)": the header's line went uncounted
    and the byte was counted from the start of the body)."""
    src = tmp_path / "latin.csv"
    src.write_bytes(f"id,{','.join(WAI)}\np1,{answers(3)}\np\xe9,{answers(4)}\n".encode("latin-1"))
    result = run("batch", str(src), "-q", "wai-sr", "-o", str(tmp_path / "out.csv"))
    assert result.exit_code == 6
    assert said(result) == [
        f"error: {src}: line 3, byte 2 is not valid utf-8-sig",
        "give the file's encoding with --encoding (for example cp1252 or latin-1)",
    ]
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.slow
def test_a_ragged_row_with_a_latin1_byte_is_one_clear_error(tmp_path: Path) -> None:
    """Found by the data-file fuzzing: a row with a cell too many that holds a Latin-1 byte.
    Arrow handed the row to the invalid-row handler after failing to decode it, and the
    UnicodeDecodeError came out on stderr as "Exception ignored in: ... Traceback"."""
    from tests.subprocs import alliance_process

    src = tmp_path / "ragged.csv"
    src.write_bytes(
        f"id,{','.join(WAI)}\np1,{answers(3)}\np2,{answers(3)},caf\xe9\n".encode("latin-1")
    )
    done = alliance_process("batch", src.name, "-q", "wai-sr", "-o", "out.csv", cwd=tmp_path)
    assert done.returncode == 6
    assert done.stdout == ""
    assert done.stderr.splitlines() == [  # "p2," + 12 answers + "," + "caf": 30 bytes before
        "error: ragged.csv: line 3, byte 31 is not valid utf-8-sig",
        "give the file's encoding with --encoding (for example cp1252 or latin-1)",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ragged.csv"]


def test_utf16_with_a_bom_is_named(tmp_path: Path) -> None:
    src = utf16(tmp_path / "in.csv", "utf-16")
    result = run("batch", str(src), "-q", "wai-sr", "-o", str(tmp_path / "o.csv"))
    assert result.exit_code == 6, result.output
    assert said(result) == [
        f"error: {src}: the file starts with a UTF-16 byte-order mark: it is not utf-8-sig text",
        "give its encoding with --encoding utf-16 (or save it as UTF-8)",
    ]
    again = run("batch", str(src), "-q", "wai-sr", "-o", "-", "--encoding", "utf-16")
    assert again.exit_code == 0, again.output
    assert [(r["id"], r["wai-sr.total"]) for r in rows_of(again.stdout)] == [("p1", "3")]


def test_utf16_without_a_bom_is_named_by_the_nul_in_its_header(tmp_path: Path) -> None:
    for codec in ("utf-16-le", "utf-16-be"):
        src = utf16(tmp_path / f"{codec}.csv", codec)
        result = run("batch", str(src), "-q", "wai-sr", "-o", str(tmp_path / "o.csv"))
        assert result.exit_code == 6, result.output
        assert said(result) == [
            f"error: {src}: the header row holds NUL characters: it is not utf-8-sig text",
            f"give its encoding with --encoding {codec} (or save it as UTF-8)",
        ]
        again = run("batch", str(src), "-q", "wai-sr", "-o", "-", "--encoding", codec)
        assert [(r["id"], r["wai-sr.total"]) for r in rows_of(again.stdout)] == [("p1", "3")]


def test_encoding_utf16_on_a_utf8_file_is_a_clear_error(tmp_path: Path) -> None:
    src = lines(tmp_path / "in.csv", f"id,{','.join(WAI)}", f"p1,{answers(3)}")
    result = run(
        "batch", str(src), "-q", "wai-sr", "-o", str(tmp_path / "o.csv"), "--encoding", "utf-16"
    )
    assert result.exit_code == 6, result.output
    assert said(result) == [
        f"error: {src}: byte 1 is not valid utf-16",
        "give the file's encoding with --encoding (for example cp1252 or latin-1)",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


# -- many columns ---------------------------------------------------------------------------------


def wide(path: Path, width: int) -> Path:
    names = ["id", *WAI, *(f"x{k}" for k in range(width - 13))]
    return lines(path, ",".join(names), ",".join(["p1", *["3"] * 12, *["a"] * (width - 13)]))


def test_more_columns_than_the_limit_are_refused_at_the_header(tmp_path: Path) -> None:
    src = wide(tmp_path / "in.csv", 50_000)
    result = run("batch", str(src), "-q", "wai-sr", "-o", str(tmp_path / "o.csv"))
    assert result.exit_code == 6, result.output
    assert said(result) == [
        f"error: {src}: the header row has 50,000 columns; at most 16,384 are read",
        "keep only the columns the batch needs (the ids and the items)",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


@pytest.mark.slow
def test_a_file_at_the_column_limit_is_read_whole(tmp_path: Path) -> None:
    opened = TextFile(wide(tmp_path / "in.csv", MAX_COLUMNS))
    assert len(opened.columns) == MAX_COLUMNS == 16_384
    frame, rows = opened.parse(next(opened.runs()))
    assert frame.shape == (1, MAX_COLUMNS) and list(rows) == [2]


@pytest.mark.slow
def test_repeated_output_names_are_found_among_a_million() -> None:
    """The output-name check counts once (it counted every name against every other)."""
    names = [f"x{k}" for k in range(1_000_000)]
    check_unique(names)
    with pytest.raises(UsageError) as caught:
        check_unique([*names, "x7", "row", "row"])
    assert '"row", "x7"' in str(caught.value.problems[0].message)


# -- error exits never abort ----------------------------------------------------------------------

FORKED_READS = """
import os, sys
from pathlib import Path
import pandas  # the children only read: everything is imported once, here
from alliance_cli.errors import UserError
from alliance_cli.research.textread import TextFile

def read(path):
    try:
        opened = TextFile(Path(path))
        for run in opened.runs():
            opened.parse(run)
    except UserError as exc:
        return exc.exit_code
    return 0

n, path = int(sys.argv[1]), sys.argv[2]
read(path)
codes = {}
for _ in range(n):
    pid = os.fork()
    if pid == 0:
        sys.exit(read(path))  # the interpreter's normal exit, where the abort happened
    code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    codes[code] = codes.get(code, 0) + 1
print(codes)
"""


@pytest.mark.slow
def test_error_exits_never_abort(tmp_path: Path) -> None:
    """A Latin-1 file and a ragged row, each read 200 times by a process of its own that then
    exits with the error's code: Arrow's reader threads aborted about 2% of those exits
    (SIGABRT, "terminate called without an active exception")."""
    latin = tmp_path / "latin.csv"
    with latin.open("w", encoding="latin-1", newline="") as f:
        csv.writer(f).writerows([["id", *WAI], ["pé", *["3"] * 12]])
    ragged = tmp_path / "ragged.csv"
    with ragged.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([["id", *WAI], ["p1", *["3"] * 14]])
    jobs = [
        subprocess.Popen(
            [sys.executable, "-c", FORKED_READS, "200", str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for path in (latin, ragged)
    ]
    for job in jobs:
        out, err = job.communicate(timeout=300)
        assert job.returncode == 0, err
        assert (out.strip(), err) == ("{6: 200}", "")


def test_a_line_blank_in_every_cell_is_no_row(tmp_path: Path) -> None:
    """An empty line, a line of spaces and a line of delimiters are not rows (not read, not
    counted), and a bad cell below them keeps its line's number (row 7 of the file)."""
    src = lines(
        tmp_path / "in.csv",
        f"id,{','.join(WAI)}",
        f"p1,{answers(3)}",
        "   ",
        "",
        "," * 12,
        f"p2,{answers(4)}",
        f"p3,{answers(5, 11)},9",
    )
    kept = run("batch", str(src), "-q", "wai-sr", "--id", "id", "--invalid", "missing")
    assert kept.exit_code == 0, kept.stderr
    assert [r["id"] for r in rows_of(kept.stdout)] == ["p1", "p2", "p3"]
    assert f"read 3 rows from {src}" in said(kept)
    refused = run("batch", str(src), "-q", "wai-sr", "--id", "id")
    assert refused.exit_code == 65
    assert "7 wai12 9 out of range" in said(refused)
