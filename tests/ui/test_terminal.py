"""The terminal edge: a stream that cannot encode our symbols, arguments that are not
UTF-8, a signal while worker threads compute. Every case runs the real program in a
subprocess, since each is a property of the process (its streams, argv, signal handlers)."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from alliance_cli.clinic.store import Store
from tests.subprocs import alliance_process

WAI_SR = "5,4,4,5,3,4,5,4,4,5,4,4"
HEADER = ["id", *(f"wai{i}" for i in range(1, 13))]


def alliance(*args: str | bytes, env: dict[str, str], timeout: float = 120):  # type: ignore[no-untyped-def]
    return subprocess.run(
        [sys.executable, "-m", "alliance_cli", *args],
        capture_output=True,
        env=env,
        timeout=timeout,
    )


def write_csv(path: Path, rows: list[list[object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([HEADER, *rows])
    return path


def _base_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "PYTHON", "LANG"))}
    env.update(NO_COLOR="1", COLUMNS="100", ALLIANCE_DB=str(tmp_path / "h.sqlite3"))
    return env


ASCII_TERMINALS = {
    "ioencoding": {"PYTHONIOENCODING": "ascii"},
    "posix": {"LC_ALL": "POSIX", "PYTHONCOERCECLOCALE": "0", "PYTHONUTF8": "0"},
}


@pytest.mark.slow
@pytest.mark.parametrize("terminal", sorted(ASCII_TERMINALS))
def test_ascii_terminal_gets_ascii_never_a_traceback(tmp_path: Path, terminal: str) -> None:
    utf8 = _base_env(tmp_path) | {"LC_ALL": "C.UTF-8"}
    ascii_env = _base_env(tmp_path) | ASCII_TERMINALS[terminal]
    # A record with an accented clinician and a note, made on a UTF-8 terminal.
    made = alliance(
        "score", "wai-sr", "-a", WAI_SR, "--client", "C-1", "--new-client",
        "--clinician", "Zoë", "--note", "café – ok", "--date", "2026-01-05", env=utf8,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    alliance("score", "wai-sr", "-a", "4,4,4,4,4,4,4,4,4,4,4,4", "--client", "C-1", env=utf8)
    rows: list[list[object]] = [[f"r{n}", *((n + i) % 5 + 1 for i in range(12))] for n in range(20)]
    good = write_csv(tmp_path / "good.csv", rows)
    bad = write_csv(tmp_path / "bad.csv", [*rows, ["r99", 9, *[1] * 11]])
    # (arguments, expected exit code, a piece of the output that had a non-ASCII symbol)
    cases: list[tuple[list[str], int, str]] = [
        (["list"], 0, "wai-sr"),
        (["show", "wai-s"], 0, "1-7"),
        (["score", "wai-sr", "-a", WAI_SR], 0, "Working Alliance Inventory - Short Revised"),
        (["history", "C-1"], 0, "Working Alliance Inventory - Short Revised"),
        (["batch", str(good), "-q", "wai-sr", "-o", str(tmp_path / "o.csv")], 0, "---"),
        (["batch", str(bad), "-q", "wai-sr", "-o", str(tmp_path / "b.csv")], 65, "1-5 (1 "),
        (["reliability", str(good), "-q", "wai-sr"], 0, " . complete-case mean"),
        (["cite", "wai-sr"], 0, "wai-sr"),
        (["--help"], 0, "+- Commands -"),
    ]
    for args, code, piece in cases:
        proc = alliance(*args, env=ascii_env)
        both = proc.stdout + proc.stderr
        assert b"Traceback" not in both, (args, proc.stderr.decode("ascii", "replace"))
        assert proc.returncode == code, (args, proc.stderr)
        assert both.isascii(), (args, [c for c in both.decode("utf-8", "replace") if ord(c) > 127])
        assert piece in both.decode("ascii"), (args, both.decode("ascii")[:2000])


@pytest.mark.slow
def test_arguments_that_are_not_utf8_are_refused_before_anything_is_written(
    tmp_path: Path,
) -> None:
    env = _base_env(tmp_path) | {"LC_ALL": "C.UTF-8"}
    db = Path(env["ALLIANCE_DB"])
    good = write_csv(tmp_path / "in.csv", [["r1", *[3] * 12]])
    out = tmp_path / "out"
    out.mkdir()
    record = ["score", "wai-sr", "-a", WAI_SR, "--client", "C-1", "--new-client"]
    cases: list[tuple[list[str | bytes], str]] = [
        ([*record, "--clinician", b"\xff"], '--clinician "\\xff"'),
        ([*record, b"--note=caf\xe9"], '--note "caf\\xe9"'),
        ([*record, "--note", b"caf\xe9 ok"], '--note "caf\\xe9 ok"'),
        (["batch", str(good), "-q", "wai-sr", "-o", os.fsencode(out) + b"/\xff.csv"],
         f'-o "{out}/\\xff.csv"'),
        (["show", b"wai\xff"], 'argument "wai\\xff"'),
    ]  # fmt: skip
    for args, named in cases:
        proc = alliance(*args, env=env)
        assert (proc.returncode, proc.stdout) == (2, b""), (args, proc.stderr)
        assert proc.stderr.decode() == f"error: {named} is not UTF-8 text (convert it to UTF-8)\n"
        assert not db.exists() and not any(out.iterdir()), args
    # A recorded administration cannot be voided with such a reason either: it stays valid.
    assert alliance(*record, env=env).returncode == 0
    proc = alliance("void", "1", "--reason", b"typo \xe9", env=env)
    assert (proc.returncode, proc.stderr) == (
        2,
        b'error: --reason "typo \\xe9" is not UTF-8 text (convert it to UTF-8)\n',
    )
    with Store(db) as store:
        assert store.administration(1).status != "void"
        assert [a["action"] for a in store.audit()] == ["record"]


@pytest.mark.slow
def test_utf8_arguments_in_an_ascii_locale_are_refused_naming_the_fix(tmp_path: Path) -> None:
    # The bytes are UTF-8, but with coercion and UTF-8 mode off Python decodes them with the
    # locale's ASCII into lone surrogates, which SQLite cannot store (a traceback before).
    env = _base_env(tmp_path) | ASCII_TERMINALS["posix"]
    db = Path(env["ALLIANCE_DB"])
    record = ["score", "srs", "-a", "5 5 5 5", "--client", "A1", "--new-client"]
    for extra, named in [
        (["--note", "café"], '--note "cafe"'),
        (["--clinician=Zoë"], '--clinician "Zoe"'),
    ]:
        proc = alliance(*record, *extra, env=env)
        assert (proc.returncode, proc.stdout) == (2, b""), proc.stderr
        assert proc.stderr.decode("ascii") == (  # the terminal's ASCII: e for é
            f"error: {named} cannot be read in this locale (its encoding is ascii); "
            "run alliance with LC_ALL=C.UTF-8 or PYTHONUTF8=1\n"
        )
        assert not db.exists()
    # The same argument is stored as typed with either fix.
    for code, fix in [("A1", {"LC_ALL": "C.UTF-8"}), ("A2", {"PYTHONUTF8": "1"})]:
        proc = alliance(
            *record[:4], "--client", code, "--new-client", "--note", "café", env=env | fix
        )
        assert proc.returncode == 0, proc.stderr
    with Store(db) as store:
        assert [a.note for code in ("A1", "A2") for a in store.history(code)] == ["café", "café"]


@pytest.mark.slow
@pytest.mark.parametrize("columns", ["0", "1", "5"])
def test_a_narrow_or_zero_columns_still_shows_every_message_and_table(
    tmp_path: Path, columns: str
) -> None:
    # COLUMNS=0 made rich print nothing at all (an error with exit 4 and no message, a score
    # with exit 0 and no table); COLUMNS=1 stacked the letters one per line.
    env = _base_env(tmp_path) | {"LC_ALL": "C.UTF-8", "COLUMNS": columns}
    bad = alliance("score", "wai-sr", "-a", "1,2,3", env=env)
    assert (bad.returncode, bad.stdout) == (4, b"")
    assert bad.stderr.decode().startswith('error: wai-sr has 12 items ("1"…"12") but 3 answers')
    good = alliance("score", "srs", "-a", "9,9,9,9", env=env)
    assert good.returncode == 0
    assert "Session Rating Scale" in good.stdout.decode(), good.stdout
    assert "36" in good.stdout.decode()  # the total, in one piece
    shown = alliance("--help", env=env)
    assert shown.returncode == 0 and b"Usage:" in shown.stdout and b"score" in shown.stdout


@pytest.mark.slow
def test_started_with_stdin_closed_every_command_says_so(tmp_path: Path) -> None:
    # `<&-` leaves Python without sys.stdin: six commands ended in an AttributeError
    # ('NoneType' object has no attribute 'isatty' / 'read'), found by the arguments fuzz.
    env = _base_env(tmp_path) | {"LC_ALL": "C.UTF-8"}
    db = env["ALLIANCE_DB"]
    assert (
        alliance("score", "srs", "-a", "9,9,9,9", "-c", "C1", "--new-client", env=env).returncode
        == 0
    )
    backup = tmp_path / "b.bak"
    assert alliance("db", "backup", "-o", str(backup), env=env).returncode == 0
    cases = [
        (["score", "srs", "-a", "9,9,9,9", "-c", "C2"], 2, "error: C2 is not a client."),
        (["administer", "srs", "-c", "C1"], 2, "error: administer needs a terminal"),
        (["delete-client", "C1"], 2, "error: to delete without a terminal, repeat the code"),
        (["db", "restore", str(backup), "--db", db], 2, "error: to restore without a terminal"),
        (
            ["batch", "-", "-q", "wai-sr"],
            6,
            "error: stdin: closed; pipe the data in or give a file",
        ),
        (["reliability", "-", "-q", "wai-sr"], 6, "error: stdin: closed; pipe the data in"),
        (["score", "srs", "--answers", "-"], 6, "error: stdin: closed; pipe the answers in"),
    ]
    for args, code, start in cases:
        proc = subprocess.run(
            [sys.executable, "-m", "alliance_cli", *args],
            capture_output=True,
            env=env,
            timeout=120,
            stdin=None,
            preexec_fn=lambda: os.close(0),
        )
        assert (proc.returncode, proc.stdout) == (code, b""), (args, proc.stderr)
        assert proc.stderr.decode().startswith(start), (args, proc.stderr)
    with Store(Path(db)) as store:
        assert [c.code for c in store.clients()] == ["C1"]


def _cpu_ticks(pid: int) -> dict[int, int]:
    """CPU time (clock ticks) of each thread of ``pid``, by thread id."""
    ticks = {}
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            fields = Path(f"/proc/{pid}/task/{task}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        ticks[int(task)] = int(fields[11]) + int(fields[12])  # utime + stime
    return ticks


@pytest.mark.slow
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_is_honoured_while_worker_threads_compute(
    tmp_path: Path, signum: int, code: int
) -> None:
    # 3,000,000 rows read as one chunk: seconds of scoring in a worker thread.
    buffer = io.StringIO()
    csv.writer(buffer).writerows(
        [f"r{n}", *((n * 7 + i * 3) % 5 + 1 for i in range(12))] for n in range(10_000)
    )
    block = buffer.getvalue()
    data = tmp_path / "big.csv"
    with data.open("w", newline="") as f:
        csv.writer(f).writerow(HEADER)
        for _ in range(300):
            f.write(block)
    env = _base_env(tmp_path) | {"LC_ALL": "C.UTF-8"}
    args = ["batch", str(data), "-q", "wai-sr", "-o", str(tmp_path / "out.csv")]
    proc = subprocess.Popen(
        [sys.executable, "-m", "alliance_cli", *args, "--chunk-size", "3000000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    # Wait until the main thread only waits (its CPU time stands still for half a second)
    # while another thread computes: the chunk is being scored.
    history: list[dict[int, int]] = []
    while proc.poll() is None:
        history = [*history[-5:], _cpu_ticks(proc.pid)]
        main = [h.get(proc.pid, -1) for h in history]
        others = [sum(h.values()) - h.get(proc.pid, 0) for h in history]
        if len(history) == 6 and len(set(main)) == 1 and others[-1] > others[0]:
            break
        time.sleep(0.1)
    assert proc.poll() is None, "the run ended before its worker threads were seen computing"
    before = sum(history[-1].values()) / os.sysconf("SC_CLK_TCK")
    started = time.monotonic()
    proc.send_signal(signum)
    _, status, usage = os.wait4(proc.pid, 0)
    took = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    # The work done after the signal: CPU time, which a busy machine does not inflate (the
    # old code finished scoring the chunk first: seconds of it).
    after = usage.ru_utime + usage.ru_stime - before
    assert proc.stderr is not None and proc.stdout is not None
    message = b"" if signum == signal.SIGINT else b"stopped by SIGTERM\n"  # ^C is shown
    assert (proc.returncode, proc.stderr.read(), proc.stdout.read()) == (code, message, b"")
    assert after < 1.0, f"{after:.2f} s of CPU after the signal"
    assert took < 10, f"ended {took:.1f} s after the signal"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.csv"]  # nothing half-written


@pytest.mark.slow
@pytest.mark.parametrize("terminal", sorted(ASCII_TERMINALS))
def test_ascii_terminal_keeps_data_whole(tmp_path: Path, terminal: str) -> None:
    """Data is not degraded: JSON escapes what the terminal cannot show, a CSV or a backup
    on stdout stays bytes (UTF-8), equal to what a UTF-8 terminal gets."""
    utf8 = _base_env(tmp_path) | {"LC_ALL": "C.UTF-8"}
    ascii_env = _base_env(tmp_path) | ASCII_TERMINALS[terminal]
    made = alliance(
        "score", "wai-sr", "-a", WAI_SR, "--client", "C-1", "--new-client",
        "--clinician", "Zoë", "--note", "café – ok", "--date", "2026-01-05", env=utf8,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    data = write_csv(tmp_path / "in.csv", [["r1", *[3] * 12]])
    for args in (
        ["history", "C-1", "--json"],
        ["show", "wai-sr", "--json"],
        ["batch", str(data), "-q", "wai-sr", "-o", "-", "--codebook", str(tmp_path / "cb")],
        ["export", "--all", "-o", "-"],
        ["score", "wai-s", "-a", WAI_SR, "-f", "csv"],
    ):
        want, got = alliance(*args, env=utf8), alliance(*args, env=ascii_env)
        assert (want.returncode, got.returncode) == (0, 0), (args, got.stderr)
        if "--json" in args or "json" in args:
            assert got.stdout.isascii() and json.loads(got.stdout) == json.loads(want.stdout)
        else:
            assert got.stdout == want.stdout, args
    backup = alliance("db", "backup", "-o", "-", env=ascii_env)
    assert backup.returncode == 0 and backup.stdout.startswith(b"SQLite format 3\x00")


def _closed_stdout(*args: str) -> subprocess.CompletedProcess[str]:
    """Run alliance with file descriptor 1 closed (``>&-``)."""
    return alliance_process(*args, stdout=None, preexec_fn=lambda: os.close(1))


@pytest.mark.slow
def test_a_closed_stdout_is_a_clear_error_and_no_hindrance_to_files(tmp_path: Path) -> None:
    """`alliance list >&-` fails as GNU tools do on a write error (one line, exit 6), never an
    AttributeError; a run that writes only files (-o) does not need stdout."""
    for args in (["list"], ["score", "wai-sr", "--answers", "5,4,4,5,3,4,5,4,4,5,4,4", "--json"]):
        result = _closed_stdout(*args)
        assert result.returncode == 6, result.stderr
        assert result.stderr == "error: standard output is closed, so nothing can be printed\n"
    data = tmp_path / "in.csv"
    items = ",".join(f"wai{i}" for i in range(1, 13))
    data.write_text(f"id,{items}\na,1,2,3,4,5,1,2,3,4,5,1,2\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    result = _closed_stdout("batch", str(data), "-q", "wai-sr", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert out.read_text(encoding="utf-8").splitlines()[1].startswith("2,a,")
