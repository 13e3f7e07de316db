"""Outputs that are not regular files: a FIFO (or device) is written into, never replaced, and
only when the run succeeds; it gets no codebook next to it and is CSV without an extension. A
symbolic link is written through: the file it points to is replaced, the link stays.

Only FIFOs made in ``tmp_path`` are written to; ``/dev/null`` is only looked at. Every read
of a FIFO is non-blocking with a deadline, so a regression fails instead of hanging.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import select
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from alliance_cli.errors import InputFileError, UsageError
from alliance_cli.io.atomic import Output, atomic_write
from alliance_cli.io.outputs import Outputs
from alliance_cli.io.sinks import output_format
from alliance_cli.io.targets import codebook_path, in_place
from alliance_cli.research.outputs import check_output
from tests.helpers import Drain, is_fifo, requires
from tests.helpers import batch as run


@pytest.fixture(autouse=True)
def _posix() -> None:
    requires(hasattr(os, "mkfifo"), "FIFOs (POSIX)")


HEADER = ["id", "session", *(f"wai_sr_{i}" for i in range(1, 13))]
TIMEOUT = 20.0


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("ALLIANCE_DEFINITIONS", raising=False)


def wai_csv(path: Path, rows: int = 3, *, bad: bool = False) -> Path:
    """A tiny WAI-SR export; with ``bad`` its last row has an out-of-range answer (9)."""
    lines = [",".join(HEADER)] + [f"P{r},1," + ",".join(["3"] * 12) for r in range(rows)]
    if bad:
        lines.append("P99,1," + ",".join(["3"] * 11 + ["9"]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@contextlib.contextmanager
def silent(fifo: Path) -> Iterator[None]:
    """A reader that must get no byte, and end-of-file: a discarded output opens the FIFO
    and closes it unwritten, so that a pipeline reading it ends instead of waiting."""
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        yield
        ready, _, _ = select.select([fd], [], [], 5)
        assert ready == [fd], "the FIFO was left open-ended: its reader would wait forever"
        assert os.read(fd, 1 << 16) == b""
    finally:
        os.close(fd)


def leftovers(*folders: Path) -> list[str]:
    """Temporary or codebook files left in ``folders``."""
    return sorted(
        p.name
        for folder in folders
        for p in folder.iterdir()
        if p.name.startswith(".") or p.name.endswith(".codebook.json")
    )


# -- alliance batch into a FIFO -------------------------------------------------------------


@pytest.mark.parametrize("name", ["scores.csv", "scores"])
def test_batch_writes_the_csv_into_a_fifo_and_leaves_it_a_fifo(tmp_path: Path, name: str) -> None:
    data = wai_csv(tmp_path / "plain.csv")
    expected = tmp_path / "regular.csv"
    assert run(str(data), "-q", "wai-sr", "-o", str(expected)).exit_code == 0
    (tmp_path / "regular.csv.codebook.json").unlink()
    fifo = tmp_path / name
    os.mkfifo(fifo)
    drain = Drain(fifo)
    result = run(str(data), "-q", "wai-sr", "-o", str(fifo))
    got = drain.result()
    assert result.exit_code == 0, result.stderr
    assert got == expected.read_bytes()  # CSV also without an extension
    assert [r["id"] for r in csv.DictReader(io.StringIO(got.decode()))] == ["P0", "P1", "P2"]
    assert is_fifo(fifo)
    assert leftovers(tmp_path) == []  # no codebook sidecar, no temporary file
    assert f"wrote 3 rows to {fifo} in " in result.stderr
    assert "codebook" not in result.stderr


def test_a_refused_run_writes_nothing_into_the_fifo_and_the_bad_cells_into_theirs(
    tmp_path: Path,
) -> None:
    data = wai_csv(tmp_path / "plain.csv", bad=True)
    fifo, fifo2 = tmp_path / "fifo.csv", tmp_path / "fifo2.csv"
    os.mkfifo(fifo)
    os.mkfifo(fifo2)
    with silent(fifo):
        errors = Drain(fifo2)
        result = run(str(data), "-q", "wai-sr", "-o", str(fifo), "--errors", str(fifo2))
        bad = errors.result()
    assert result.exit_code == 65
    assert "1 bad cell in 1 row" in result.stderr
    found = list(csv.DictReader(io.StringIO(bad.decode())))
    assert [(r["row"], r["column"], r["value"]) for r in found] == [("5", "wai_sr_12", "9")]
    assert is_fifo(fifo) and is_fifo(fifo2)
    assert leftovers(tmp_path) == []


def test_a_refused_run_without_errors_file_leaves_the_fifo_alone(tmp_path: Path) -> None:
    data = wai_csv(tmp_path / "plain.csv", bad=True)
    fifo = tmp_path / "out"
    os.mkfifo(fifo)
    with silent(fifo):
        result = run(str(data), "-q", "wai-sr", "-o", str(fifo))
    assert result.exit_code == 65 and is_fifo(fifo)
    assert leftovers(tmp_path) == []


def test_a_codebook_asked_for_is_written_where_asked(tmp_path: Path) -> None:
    data = wai_csv(tmp_path / "plain.csv")
    fifo, book = tmp_path / "out", tmp_path / "book.json"
    os.mkfifo(fifo)
    drain = Drain(fifo)
    result = run(str(data), "-q", "wai-sr", "-o", str(fifo), "--to", "tsv", "--codebook", str(book))
    got = drain.result()
    assert result.exit_code == 0, result.stderr
    assert got.startswith(b"row\tid\tsession\t") and is_fifo(fifo)
    assert '"format": "tsv"' in book.read_text(encoding="utf-8")
    assert stat.S_IMODE(book.stat().st_mode) == 0o600
    assert f"(codebook: {book})" in result.stderr


# -- the rules: format, codebook, same-path check -----------------------------------------------


def test_the_format_of_a_fifo_without_extension_is_csv(tmp_path: Path) -> None:
    fifo = tmp_path / "out"
    os.mkfifo(fifo)
    assert output_format(fifo) == "csv"
    assert output_format(fifo, "tsv") == "tsv"
    named = tmp_path / "out.parquet"
    os.mkfifo(named)
    assert output_format(named) == "parquet"  # the extension still speaks
    with pytest.raises(UsageError, match="cannot tell the format"):
        output_format(tmp_path / "regular")  # a file to create still needs one


def test_no_default_codebook_for_fifos_and_one_fifo_per_output(tmp_path: Path) -> None:
    fifo, regular = tmp_path / "out", tmp_path / "out.csv"
    os.mkfifo(fifo)
    assert in_place(fifo) and not in_place(regular) and not in_place(tmp_path)
    assert codebook_path(fifo) is None
    assert codebook_path(fifo, tmp_path / "b.json") == tmp_path / "b.json"
    assert codebook_path(regular) == tmp_path / "out.csv.codebook.json"
    assert codebook_path(None) is None
    # A FIFO's reader ends at the first output's end: a second would wait forever.
    with pytest.raises(UsageError, match="three paths"):
        check_output(fifo, [tmp_path / "in.csv"], errors=fifo)
    with pytest.raises(UsageError, match="three paths"):
        check_output(regular, [tmp_path / "in.csv"], errors=regular)
    if os.path.exists(os.devnull) and stat.S_ISCHR(os.stat(os.devnull).st_mode):
        null = Path(os.devnull)
        check_output(null, [tmp_path / "in.csv"], errors=null)  # a device takes both


def test_dev_null_is_written_in_place_as_csv_without_codebook() -> None:
    requires(
        os.path.exists("/dev/null") and stat.S_ISCHR(os.stat("/dev/null").st_mode),
        "/dev/null as a character device",
    )
    # Only the decisions are checked: nothing is written to the real device.
    null = Path("/dev/null")
    assert in_place(null)
    assert output_format(null) == "csv"
    assert codebook_path(null) is None
    check_output(null, [Path("in.csv")], errors=null)


# -- Output and atomic_write -----------------------------------------------------------


def test_pending_file_on_a_fifo_copies_on_commit_and_nothing_on_discard(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with silent(fifo):
        pending = Output(fifo)
        pending.write(b"half a table")
        spool = Path(pending.tmp)
        assert spool.parent != tmp_path and stat.S_IMODE(spool.stat().st_mode) == 0o600
        pending.discard()
        assert not spool.exists()
    drain = Drain(fifo)
    pending = Output(fifo)
    pending.write(b"a,b\r\n")
    pending.write(b"1,2\r\n")
    pending.commit()
    assert drain.result() == b"a,b\r\n1,2\r\n"
    assert is_fifo(fifo) and not Path(pending.tmp).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo"]


def test_atomic_write_into_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "report"
    os.mkfifo(fifo)
    drain = Drain(fifo)
    assert atomic_write(fifo, lambda s: s.write("zoë\r\n")) == fifo
    assert drain.result() == "zoë\r\n".encode()
    assert is_fifo(fifo) and sorted(p.name for p in tmp_path.iterdir()) == ["report"]


def test_writing_through_a_symlink_replaces_the_file_it_points_to(tmp_path: Path) -> None:
    real_dir, link_dir = tmp_path / "real", tmp_path / "links"
    real_dir.mkdir()
    link_dir.mkdir()
    target = real_dir / "scores.csv"
    target.write_bytes(b"old\r\n")
    target.chmod(0o644)
    link = link_dir / "scores.csv"
    link.symlink_to(os.path.relpath(target, link_dir))
    pending = Output(link)
    assert Path(pending.tmp).parent == real_dir  # same file system as the file it replaces
    pending.write(b"new\r\n")
    pending.commit()
    assert link.is_symlink() and link.resolve() == target.resolve()
    assert target.read_bytes() == b"new\r\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600  # private, as any output
    assert sorted(p.name for p in real_dir.iterdir()) == ["scores.csv"]
    assert sorted(p.name for p in link_dir.iterdir()) == ["scores.csv"]
    # A failed write leaves both as they were.
    pending = Output(link)
    pending.write(b"half")
    pending.discard()
    assert link.is_symlink() and target.read_bytes() == b"new\r\n"
    assert sorted(p.name for p in real_dir.iterdir()) == ["scores.csv"]
    # atomic_write (export, report, codebook) does the same.
    atomic_write(link, lambda s: s.write("text\r\n"))
    assert link.is_symlink() and target.read_bytes() == b"text\r\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_a_dangling_symlink_creates_its_file_and_stays_a_link(tmp_path: Path) -> None:
    link = tmp_path / "out.csv"
    link.symlink_to("made.csv")
    atomic_write(link, lambda s: s.write("x\r\n"))
    assert link.is_symlink() and (tmp_path / "made.csv").read_bytes() == b"x\r\n"
    assert stat.S_IMODE((tmp_path / "made.csv").stat().st_mode) == 0o600


def test_a_loop_of_links_and_a_folder_are_refused_untouched(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.symlink_to("b")
    b.symlink_to("a")
    with pytest.raises(InputFileError, match="symbolic links"):
        Output(a)
    assert a.is_symlink() and b.is_symlink()
    with pytest.raises(InputFileError, match="directory"):
        Output(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]


def test_a_regular_file_is_still_replaced_privately(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_bytes(b"old")
    target.chmod(0o644)
    before = target.stat().st_ino
    pending = Output(target)
    assert Path(pending.tmp).parent == tmp_path
    pending.write(b"new")
    pending.commit()
    assert target.read_bytes() == b"new" and target.stat().st_ino != before
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_a_descriptor_link_is_written_into_not_replaced(tmp_path: Path) -> None:
    requires(sys.platform.startswith("linux"), "/dev/fd links into /proc (Linux)")
    # As `-o /dev/stdout >> log`: append to the file the descriptor holds, keep the file.
    log = tmp_path / "log.csv"
    log.write_bytes(b"earlier\r\n")
    fd = os.open(log, os.O_WRONLY | os.O_APPEND)
    try:
        via = Path(f"/dev/fd/{fd}")
        assert in_place(via) and output_format(via) == "csv" and codebook_path(via) is None
        before = log.stat().st_ino
        pending = Output(via)
        pending.write(b"a,b\r\n")
        pending.commit()
    finally:
        os.close(fd)
    assert log.read_bytes() == b"earlier\r\na,b\r\n" and log.stat().st_ino == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.csv"]


def test_descriptor_names_are_written_in_place_on_every_system(tmp_path: Path) -> None:
    """/dev/stdout, /dev/stderr and /dev/fd/N are descriptors (on Linux through /proc, on
    macOS and the BSDs without it): never replaced, even when they lead to a regular file."""
    for name in ("/dev/stdout", "/dev/stderr"):
        if os.path.exists(name):
            assert in_place(Path(name)), name
    with open(tmp_path / "log.txt", "w", encoding="utf-8") as handle:
        assert in_place(Path(f"/dev/fd/{handle.fileno()}"))


def test_an_interrupt_removes_pending_files_nobody_holds(tmp_path: Path) -> None:
    """A signal may strike between creating an output's temporary file and handing it to
    the code that would discard it; the CLI then removes every pending file."""
    with Outputs() as run:
        done = Output(tmp_path / "kept.csv")
        done.write(b"a\r\n")
        done.commit()
        orphan = Output(tmp_path / "lost.csv")
        orphan.write(b"half")
        assert any(p.name.startswith(".lost.csv.") for p in tmp_path.iterdir())
        run.discard()
        assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.csv"]
        orphan.discard()  # still safe afterwards
        Output(tmp_path / "dropped.csv").write(b"half")  # held by nobody at all
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.csv"]  # left with the run
    assert Outputs.current() is None


ORPHAN = """
import os, signal, sys
from pathlib import Path
from alliance_cli.cli import _common
from alliance_cli.io.atomic import Output

def command():
    Output(Path(sys.argv[1]) / "scores.csv").write(b"half")  # held by nobody
    os.kill(os.getpid(), signal.SIGTERM)
    signal.pause()

_common.app = command
_common.main()
"""


def test_a_signal_leaves_no_pending_file_of_the_run(tmp_path: Path) -> None:
    """End to end: the entry point's Outputs removes a temporary file that no code holds
    any more when SIGTERM stops the run (without the run's registry it stays behind)."""
    import subprocess

    done = subprocess.run(
        [sys.executable, "-c", ORPHAN, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stderr) == (143, "stopped by SIGTERM\n")
    assert list(tmp_path.iterdir()) == []


def test_every_fifo_output_is_closed_when_the_command_writes_nothing(tmp_path: Path) -> None:
    """A dry run, a refused run and an input that cannot be read all end without output:
    every FIFO named as an output gets end-of-file, so that no reader waits forever."""
    bad = wai_csv(tmp_path / "bad.csv", bad=True)
    good = wai_csv(tmp_path / "good.csv")
    errors, book, out = tmp_path / "errors", tmp_path / "book", tmp_path / "out"
    for fifo in (errors, book, out):
        os.mkfifo(fifo)
    cases = [
        ((str(bad), "--dry-run", "--errors", str(errors)), errors, 65),
        ((str(bad), "-o", str(tmp_path / "o.csv"), "--codebook", str(book)), book, 65),
        ((str(tmp_path / "missing.csv"), "-o", str(out)), out, 6),
        ((str(good), "-q", "nope", "-o", str(out)), out, None),
    ]
    for args, fifo, code in cases:
        with silent(fifo):
            result = run(*args, "-q", "wai-sr")
        assert result.exit_code != 0 and (code is None or result.exit_code == code), args
        assert is_fifo(fifo)


@pytest.mark.slow
def test_a_signal_the_caller_ignores_stays_ignored(tmp_path: Path) -> None:
    """Under nohup (SIGHUP ignored) a hang-up does not stop the run. The input is a FIFO this
    test writes: the hang-ups are sent while alliance holds it open, waiting for the rows, so
    they arrive while the run is in progress (not before it starts or after it ends)."""
    import signal
    import subprocess

    rows = wai_csv(tmp_path / "rows.csv", rows=50).read_text(encoding="utf-8")
    data = tmp_path / "in.csv"
    os.mkfifo(data)
    out = tmp_path / "out.csv"
    proc = subprocess.Popen(
        [sys.executable, "-m", "alliance_cli", "batch", str(data), "-q", "wai-sr", "-o", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN),
    )
    with data.open("w", encoding="utf-8") as fifo:  # returns once alliance has opened it
        for _ in range(5):
            proc.send_signal(signal.SIGHUP)
        assert proc.poll() is None, "the run ended before its rows were written"
        fifo.write(rows)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out.exists() and "stopped by" not in err
