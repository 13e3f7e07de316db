"""Edges of ``alliance batch`` found by an acceptance test and a review: outputs checked
before anything is written, a huge bad cell shortened on the terminal (whole in --errors),
hints that name what fixes the bad cells shown, and --center noticing an input rewritten
between its two passes."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import run, write
from tests.subprocs import alliance_process, file_size_limit

# The CLI helpers and the environment fixture of the survey tests.

WAI = [f"wai_sr_{i:02d}" for i in range(1, 13)]


def rows_of(text: str) -> list[dict[str, str]]:
    limit = csv.field_size_limit(1 << 24)
    try:
        return list(csv.DictReader(io.StringIO(text)))
    finally:
        csv.field_size_limit(limit)


def said(result: Any) -> list[str]:
    return [" ".join(line.split()) for line in result.stderr.splitlines()]


def wai_file(path: Path, rows: int = 3) -> Path:
    return write(path, [["id", *WAI], *([f"P{r}", *(["3"] * 12)] for r in range(rows))])


# -- outputs checked before anything is written ----------------------------------------------------


@pytest.mark.parametrize("where", ["file.txt/cb.json", "no/such/folder/cb.json"])
def test_an_unwritable_codebook_is_refused_before_any_output(tmp_path: Path, where: str) -> None:
    """As root too: a path under a regular file, or in a missing folder, cannot be written."""
    (tmp_path / "file.txt").write_text("not a folder\n", encoding="utf-8")
    src = wai_file(tmp_path / "in.csv")
    book = tmp_path / where
    result = run("batch", str(src), "-q", "wai-sr", "-o", "-", "--codebook", str(book))
    assert result.exit_code == 6, result.output
    assert result.stdout == ""
    why = "Not a directory" if where.startswith("file.txt") else "No such file or directory"
    assert said(result) == [f"error: {book}: cannot write the file: {why}"]
    out = tmp_path / "o.csv"
    errors = tmp_path / where.replace("cb.json", "bad.csv")
    again = run("batch", str(src), "-q", "wai-sr", "-o", str(out), "--errors", str(errors))
    assert again.exit_code == 6, again.output
    assert said(again) == [f"error: {errors}: cannot write the file: {why}"]
    assert not out.exists() and not (tmp_path / "o.csv.codebook.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt", "in.csv"]


# -- a huge bad cell -------------------------------------------------------------------------------


def test_a_huge_bad_cell_is_shortened_on_the_terminal_and_whole_in_the_errors_file(
    tmp_path: Path,
) -> None:
    huge = "x" * 200_000
    lines = [["id", *WAI], ["P1", huge, *(["3"] * 11)], ["P2", *(["3"] * 12)]]
    src = write(tmp_path / "in.csv", lines)
    errors = tmp_path / "bad.csv"
    result = run("batch", str(src), "-q", "wai-sr", "--errors", str(errors))
    assert result.exit_code == 65
    assert len(result.stderr.splitlines()) < 30
    assert "… (200,000 characters)" in result.stderr and result.stderr.count("x") == 40
    (written,) = rows_of(errors.read_text(encoding="utf-8"))
    assert written["value"] == huge and written["column"] == "wai_sr_01"


# -- hints after bad cells -------------------------------------------------------------------------


@pytest.mark.filterwarnings("error::RuntimeWarning")  # a warning is noise on a user's stderr
def test_a_huge_number_is_out_of_range_without_a_numpy_warning(tmp_path: Path) -> None:
    """Found by the data-file fuzzing: 1e308 on the SRS's 0.1 grid overflowed to inf steps,
    and numpy's "RuntimeWarning: overflow encountered in divide", with the source line,
    reached stderr above the bad-cell table."""
    src = write(
        tmp_path / "in.csv",
        [["id", "srs1", "srs2", "srs3", "srs4"], ["p1", "1e308", "2", "3", "4"]],
    )
    result = run("batch", str(src), "-q", "srs", "--id", "id", "-o", str(tmp_path / "out.csv"))
    assert result.exit_code == 65, result.output
    assert said(result)[:4] == [
        "error: 1 bad cell in 1 row",
        "row column value problem",
        "─" * 37,
        "2 srs1 1e308 out of range",
    ]
    assert not (tmp_path / "out.csv").exists()


def test_the_bad_cells_hint_names_codes_that_are_not_already_missing(tmp_path: Path) -> None:
    lines = [["id", *WAI], ["P1", "-99", *(["3"] * 11)]]
    result = run("batch", str(write(tmp_path / "in.csv", lines)), "-q", "wai-sr")
    assert result.exit_code == 65
    assert said(result)[-1] == (
        "nothing was written. --errors FILE writes every bad cell; codes that mark a missing "
        "answer (-99, 999) go in --missing CODE or the map; --invalid missing scores bad "
        "answers as missing"
    )


def test_a_bad_form_status_gets_a_hint_that_fixes_it(tmp_path: Path) -> None:
    srs = [f"srs_{i}" for i in range(1, 5)]
    header = ["Record ID", "Event Name", *srs, "Complete?"]
    lines = [header, ["1", "S1", "9", "8", "9", "10", "Done"], ["2", "S1", "7", "8", "6", "9", "2"]]
    src = write(tmp_path / "r.csv", lines)
    result = run("batch", str(src), "-q", "srs", "--complete-only")
    assert result.exit_code == 65, result.output
    assert said(result)[-1] == (
        "nothing was written. --errors FILE writes every bad cell; a REDCap form status is 0, "
        "1, 2, Incomplete, Unverified, Complete or blank: correct those cells, or leave out "
        "--complete-only to score every row"
    )


# -- --center: an input rewritten between the two passes -------------------------------------------


def test_center_notices_an_input_rewritten_with_the_same_rows(tmp_path: Path) -> None:
    from alliance_cli.catalog import Catalog
    from alliance_cli.errors import InputFileError
    from alliance_cli.io.sinks import open_sink
    from alliance_cli.research.batch import BatchOptions
    from alliance_cli.research.readers import Opened, open_input
    from alliance_cli.research.run import run_batch

    lines = [["client", *WAI], *([f"C{r % 2}", *(["3"] * 12)] for r in range(6))]
    data = write(tmp_path / "a.csv", lines)
    before = os.stat(data)
    opens: list[int] = []

    def open_all() -> list[Opened]:
        if opens:  # between the passes: one answer changed, the same size and rows
            lines[1][1] = "4"
            write(data, lines)
            os.utime(data, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000))
            assert os.stat(data).st_size == before.st_size
        opens.append(1)
        return [open_input(data, chunk_rows=2)]

    out = tmp_path / "out.csv"
    with pytest.raises(InputFileError) as caught:
        run_batch(
            open_all(),
            [Catalog(user_dirs=[]).get("wai-sr")],
            BatchOptions(center="client"),
            output=lambda columns: open_sink("csv", out, columns),
            reopen=open_all,
        )
    problem = caught.value.problems[0]
    assert (problem.location, problem.message) == (
        str(data),
        "changed while it was read (--center reads the input twice: once for the "
        "person means, once to write); nothing was written",
    )
    assert caught.value.exit_code == 6
    assert not out.exists() and len(opens) == 2


@pytest.mark.slow
def test_a_codebook_that_cannot_be_written_leaves_the_old_output(tmp_path: Path) -> None:
    """The codebook is written before the scores land: when it fails (a full disk; here a
    file size limit that the small scores file fits and the codebook does not), the run
    exits 6 and the output file keeps its old content — never new scores without their
    codebook."""
    src = write(tmp_path / "in.csv", [["id", *WAI], ["a", *"123451234512"], ["b", *"5" * 12]])
    out = tmp_path / "scores.csv"
    out.write_text("old\n", encoding="utf-8")

    # In the child, files past 4 KB cannot be written.
    args = ("batch", str(src), "-q", "wai-sr", "-o", str(out))
    result = alliance_process(*args, preexec_fn=file_size_limit(4096))
    assert result.returncode == 6, result.stderr
    assert f"error: {out}.codebook.json: cannot write the file" in result.stderr
    assert "Traceback" not in result.stderr
    assert out.read_text(encoding="utf-8") == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "scores.csv"]


def test_scores_that_cannot_land_take_their_pending_codebook_with_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The codebook waits in its temporary file until the scores land; when they cannot
    (here: their commit fails), the library run removes that file itself — with no
    run-wide registry of pending files (a library caller has none)."""
    from alliance_cli.catalog import Catalog
    from alliance_cli.errors import InputFileError, Problem
    from alliance_cli.io.sinks import DelimitedSink, open_sink
    from alliance_cli.research.outputs import pending_codebook
    from alliance_cli.research.readers import read_table
    from alliance_cli.research.run import run_batch

    def full_disk(self: DelimitedSink) -> None:
        raise InputFileError(Problem("file-unwritable", "cannot write the file: disk full"))

    monkeypatch.setattr(DelimitedSink, "commit", full_disk)
    src = write(tmp_path / "in.csv", [["id", *WAI], ["a", *"123451234512"]])
    out = tmp_path / "out"
    out.mkdir()
    scores = out / "scores.csv"
    with pytest.raises(InputFileError):
        run_batch(
            [read_table(src)],
            [Catalog(user_dirs=[]).get("wai-sr")],
            output=lambda columns: open_sink("csv", scores, columns),
            before_commit=lambda batch: pending_codebook(batch, scores),
        )
    assert sorted(p.name for p in out.iterdir()) == []  # no scores, no codebook, no temporary
