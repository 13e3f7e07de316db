"""The terminal edge: a stream that cannot encode our symbols, arguments that are not
UTF-8, a signal while worker threads compute. Every case runs the real program in a
subprocess, since each is a property of the process (its streams, argv, signal handlers)."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from alliance_cli.store import Store

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
