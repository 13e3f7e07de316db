"""Edges of the input options of `alliance batch` and `alliance reliability`: inputs that can
be read only once under --center (a FIFO, <(…)), columns --center adds that an input already
has, blank column names, and the texts reliability shares with batch."""

from __future__ import annotations

import os
import re
import subprocess
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alliance_cli.cli import app
from tests.subprocs import alliance_process

runner = CliRunner()
ITEMS = [f"wai{j}" for j in range(1, 13)]
ROWS = [
    "A,1," + ",".join("555544444444"),
    "A,2," + ",".join("111122222222"),
    "B,1," + ",".join("333333333333"),
]
TEXT = "\n".join(["client,session," + ",".join(ITEMS), *ROWS]) + "\n"
TIMEOUT = 120  # a run that blocks on its input fails here instead of hanging the suite


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("ALLIANCE_DEFINITIONS", raising=False)


def _feed(path: str) -> threading.Thread:
    """Write TEXT into the FIFO ``path`` once a reader opens it (a daemon: if no reader
    comes, it never keeps the tests from ending)."""

    def write() -> None:
        with open(path, "w", encoding="utf-8") as fifo:
            fifo.write(TEXT)

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


def _alliance(*args: str, pass_fds: tuple[int, ...] = ()) -> subprocess.CompletedProcess[str]:
    return alliance_process(*args, timeout=TIMEOUT, pass_fds=pass_fds)


def _expected(tmp_path: Path) -> str:
    """What --center writes for the same rows read from a regular file."""
    regular = tmp_path / "regular.csv"
    regular.write_text(TEXT, encoding="utf-8")
    result = runner.invoke(app, ["batch", str(regular), "-q", "wai-sr", "--center", "client"])
    assert result.exit_code == 0, result.output
    # goal items 4, 6, 8, 11: A = 4.25 and 1.75, mean 3 (by hand)
    assert ",4.25,3,1.25," in result.stdout
    return result.stdout


@pytest.mark.slow
def test_center_reads_a_named_fifo_from_a_private_copy(tmp_path: Path) -> None:
    fifo = str(tmp_path / "sessions.csv")
    os.mkfifo(fifo)
    _feed(fifo)
    out = tmp_path / "centred.csv"
    result = _alliance("batch", fifo, "-q", "wai-sr", "--center", "client", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert f"read 3 rows from {fifo}\n" in result.stderr
    assert out.read_text(encoding="utf-8") == _expected(tmp_path)


@pytest.mark.slow
def test_center_reads_a_process_substitution_from_a_private_copy(tmp_path: Path) -> None:
    # <(cat s.csv) is a pipe the shell names /dev/fd/N.
    read, write = os.pipe()

    def feed() -> None:
        with os.fdopen(write, "w", encoding="utf-8") as pipe:
            pipe.write(TEXT)

    threading.Thread(target=feed, daemon=True).start()
    try:
        name = f"/dev/fd/{read}"
        result = _alliance("batch", name, "-q", "wai-sr", "--center", "client", pass_fds=(read,))
    finally:
        os.close(read)
    assert result.returncode == 0, result.stderr
    assert f"read 3 rows from {name}\n" in result.stderr
    assert result.stdout == _expected(tmp_path)


@pytest.mark.parametrize(
    ("column", "shape", "clash"),
    [
        ("wai-sr.goal.person_mean", "wide", "wai-sr.goal.person_mean"),
        ("wai-sr.total.within", "wide", "wai-sr.total.within"),
        ("within", "long", "within"),
        ("person_mean", "long", "person_mean"),
    ],
)
def test_a_column_center_adds_is_refused_when_an_input_has_it(
    tmp_path: Path, column: str, shape: str, clash: str
) -> None:
    data = tmp_path / "s.csv"
    data.write_text(TEXT.replace("session", column, 1), encoding="utf-8")
    out = tmp_path / "out.csv"
    args = ["batch", str(data), "-q", "wai-sr", "--center", "client", "--shape", shape]
    result = runner.invoke(app, [*args, "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(
        f'error: the output would have two columns named "{clash}" (an input column has the '
        "name of an output column)\n"
    )
    assert "read 3 rows" not in result.stderr  # refused before the first pass
    assert not out.exists() and not Path(f"{out}.codebook.json").exists()


@pytest.mark.parametrize(
    ("command", "option"),
    [
        ("batch", "--keep"),
        ("batch", "--center"),
        ("batch", "--id"),
        ("reliability", "--by"),
        ("reliability", "--session"),
        ("reliability", "--id"),
    ],
)
@pytest.mark.parametrize("blank", ["", "  "])
def test_a_blank_column_name_is_a_usage_error(
    tmp_path: Path, command: str, option: str, blank: str
) -> None:
    data = tmp_path / "s.csv"
    data.write_text(TEXT, encoding="utf-8")
    more = ["--by", "client"] if option == "--session" else []
    result = runner.invoke(app, [command, str(data), "-q", "wai-sr", *more, option, blank])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert lines == [f"error: {option} takes a column name, not a blank"]
    assert result.stdout == ""


def _words(text: str) -> str:
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


def test_reliability_texts_say_what_reliability_does(tmp_path: Path) -> None:
    help_text = _words(runner.invoke(app, ["reliability", "--help"]).stdout)
    assert "keep every non-item column" not in help_text
    assert "Default: no id is checked" in help_text
    assert "reliability prints its empty result" in help_text
    data = tmp_path / "s.csv"
    data.write_text(TEXT.replace("A,1,5,", "A,1,9,", 1), encoding="utf-8")
    result = runner.invoke(app, ["reliability", str(data), "-q", "wai-sr"])
    assert result.exit_code == 65, result.output
    assert "no statistic was computed. --errors FILE writes every bad cell" in result.stderr
    assert "nothing was written" not in result.stderr
    batch = runner.invoke(app, ["batch", str(data), "-q", "wai-sr"])
    assert batch.exit_code == 65
    assert "nothing was written. --errors FILE writes every bad cell" in batch.stderr


@pytest.mark.slow
def test_center_reads_a_fifo_in_the_format_its_name_says(tmp_path: Path) -> None:
    """The private copy of a FIFO keeps the format of the FIFO's name (an .xlsx read as a
    workbook, not as text), as a regular file of that name would be read."""
    import openpyxl  # the [test] extra

    book = openpyxl.Workbook()
    for line in TEXT.splitlines():
        book.active.append(line.split(","))
    workbook = tmp_path / "book.xlsx"
    book.save(workbook)
    fifo = str(tmp_path / "sessions.xlsx")
    os.mkfifo(fifo)

    def write() -> None:
        with open(fifo, "wb") as pipe:
            pipe.write(workbook.read_bytes())

    threading.Thread(target=write, daemon=True).start()
    result = _alliance("batch", fifo, "-q", "wai-sr", "--center", "client")
    assert result.returncode == 0, result.stderr
    assert f"read 3 rows from {fifo}\n" in result.stderr
    assert result.stdout == _expected(tmp_path)
