"""No output of any command can replace the history database, its journal files or a backup
of it: the same path, a relative path, a symbolic link, a hard link (one rule in
``io/targets.py``; a test per writing option)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alliance_cli.cli import app
from alliance_cli.clinic.store import Store
from alliance_cli.errors import UsageError
from alliance_cli.io.atomic import atomic_write
from alliance_cli.io.targets import refuse_database
from tests.helpers import TINY_YAML

runner = CliRunner()
HEADER = "id," + ",".join(f"wai_sr_{i:02d}" for i in range(1, 13))


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A history database with one client, at $ALLIANCE_DB."""
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("COLUMNS", raising=False)
    path = tmp_path / "data" / "history.sqlite3"
    monkeypatch.setenv("ALLIANCE_DB", str(path))
    defs = tmp_path / "defs"
    defs.mkdir()
    (defs / "tiny.yaml").write_text(TINY_YAML, encoding="utf-8")
    monkeypatch.setenv("ALLIANCE_DEFINITIONS", str(defs))
    result = runner.invoke(
        app,
        [
            "score",
            "tiny",
            "-d",
            str(defs),
            "--answers",
            "5,1,4,4",
            "--client",
            "C-1",
            "--new-client",
        ],
    )
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture
def batch_input(tmp_path: Path) -> Path:
    path = tmp_path / "in.csv"
    path.write_text(HEADER + "\nP1," + ",".join(["4"] * 12) + "\n", encoding="utf-8")
    return path


def intact(db: Path) -> None:
    """The database is still an SQLite file with its client."""
    with Store(db) as store:
        assert [c.code for c in store.clients()] == ["C-1"]


def refused(args: list[str], target: Path, db: Path) -> None:
    result = runner.invoke(app, args)
    assert "Traceback" not in result.output
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        f"error: {target}: is an SQLite database (the history database, its journal or a "
        "backup); alliance never writes over one: choose another file\n"
    )
    intact(db)


def test_export_output_is_the_database(db: Path) -> None:
    # Today: the CSV replaces the database and the command exits 0.
    refused(["export", "--client", "C-1", "-o", str(db)], db, db)


def test_export_output_is_a_relative_path_to_the_database(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(db.parent)
    refused(["export", "--client", "C-1", "-o", db.name], Path(db.name), db)


def test_export_output_is_a_symlink_to_the_database(db: Path, tmp_path: Path) -> None:
    link = tmp_path / "out.csv"
    link.symlink_to(db)
    refused(["export", "--client", "C-1", "-o", str(link)], link, db)
    assert link.is_symlink()


def test_export_output_is_a_hard_link_to_the_database(db: Path, tmp_path: Path) -> None:
    link = tmp_path / "out.csv"
    os.link(db, link)
    refused(["export", "--client", "C-1", "-o", str(link)], link, db)
    assert os.stat(link).st_ino == os.stat(db).st_ino


@pytest.mark.parametrize("suffix", ["-wal", "-shm", "-journal"])
def test_export_output_is_a_journal_file_of_the_database(db: Path, suffix: str) -> None:
    target = Path(f"{db}{suffix}")
    refused(["export", "--client", "C-1", "-o", str(target)], target, db)


def test_export_output_is_a_backup_of_the_database(db: Path, tmp_path: Path) -> None:
    backup = tmp_path / "elsewhere.bak"
    with sqlite3.connect(db) as source, sqlite3.connect(backup) as copy:
        source.backup(copy)
    before = backup.read_bytes()
    refused(["export", "--client", "C-1", "-o", str(backup)], backup, db)
    assert backup.read_bytes() == before


def test_export_codebook_is_the_database(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    refused(["export", "--client", "C-1", "-o", str(out), "--codebook", str(db)], db, db)
    assert not out.exists()  # refused before anything was written


def test_export_key_file_is_the_database(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    args = ["export", "--all", "--deidentify", "-o", str(out), "--key-file", str(db)]
    refused(args, db, db)
    assert not out.exists()


def test_report_output_is_the_database(db: Path) -> None:
    refused(["report", "C-1", "-o", str(db)], db, db)


@pytest.mark.parametrize("to", [[], ["--to", "csv"]])
def test_batch_output_is_the_database(db: Path, batch_input: Path, to: list[str]) -> None:
    # Today `--to csv` makes batch replace the database (without it, the extension stops it).
    refused(["batch", str(batch_input), "-q", "wai-sr", "-o", str(db), *to], db, db)


def test_batch_errors_file_is_the_database(db: Path, batch_input: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    args = ["batch", str(batch_input), "-q", "wai-sr", "-o", str(out), "--errors", str(db)]
    refused(args, db, db)
    assert not out.exists()


def test_batch_codebook_is_the_database(db: Path, batch_input: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    args = ["batch", str(batch_input), "-q", "wai-sr", "-o", str(out), "--codebook", str(db)]
    refused(args, db, db)
    assert not out.exists()


def test_db_backup_output_is_the_database(db: Path) -> None:
    refused(["db", "backup", "-o", str(db)], db, db)


def test_every_atomic_write_is_guarded(db: Path) -> None:
    """The library's own writer refuses too, without the CLI."""
    with pytest.raises(UsageError) as caught:
        atomic_write(db, lambda stream: stream.write("x"))
    assert caught.value.exit_code == 2
    intact(db)


def test_ordinary_files_and_new_paths_pass(db: Path, tmp_path: Path) -> None:
    text = tmp_path / "notes.csv"
    text.write_text("a,b\n", encoding="utf-8")
    refuse_database(text)
    refuse_database(tmp_path / "new.csv")
    refuse_database(tmp_path / "history.sqlite3-wal")  # no database beside it


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "mode", "where"),
    [
        (["export", "--client", "C-1", "-o", "-"], "ab", "stdout"),  # -o - >> "$ALLIANCE_DB"
        (["db", "backup", "-o", "-"], "ab", "stdout"),
        (["report", "C-1", "-o", "/dev/stdout"], "r+b", "/dev/stdout"),  # 1<>"$ALLIANCE_DB"
        (["export", "--client", "C-1", "-o", "/dev/stdout"], "r+b", "/dev/stdout"),
    ],
)
def test_standard_output_redirected_into_the_database(
    db: Path, args: list[str], mode: str, where: str
) -> None:
    # The shell, not alliance, opens the database here; writing into it is refused all the
    # same, and the file is not touched (the refusal comes before any byte is written).
    import subprocess
    import sys

    before = db.read_bytes()
    with open(db, mode) as shell_redirect:
        done = subprocess.run(
            [sys.executable, "-m", "alliance_cli", *args],
            stdout=shell_redirect,
            stderr=subprocess.PIPE,
            text=True,
            env=os.environ | {"NO_COLOR": "1"},
            timeout=60,
        )
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        f"error: {where}: is an SQLite database (the history database, its journal or a "
        "backup); alliance never writes over one: choose another file\n"
    )
    assert db.read_bytes() == before
    intact(db)


def test_a_link_another_user_planted_in_a_sticky_folder_is_not_followed(tmp_path: Path) -> None:
    """Linux's protected_symlinks rule, which a rename over the link's target would bypass:
    in a world-writable sticky folder (like /tmp) a link owned by another user is refused
    (exit 6, the reason named) and the file it points to is left as it was; a link of our
    own there is followed as before."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    victim = tmp_path / "mine.txt"
    victim.write_text("keep\n", encoding="utf-8")
    planted = shared / "scores.csv"
    planted.symlink_to(victim)
    other = 65534 if os.geteuid() != 65534 else 65533
    assert os.geteuid() == 0, "the test plants another user's link: it runs as root (CI does)"
    os.lchown(planted, other, other)
    data = tmp_path / "in.csv"
    items = ",".join(f"wai{i}" for i in range(1, 13))
    data.write_text(f"id,{items}\na,1,2,3,4,5,1,2,3,4,5,1,2\n", encoding="utf-8")
    result = runner.invoke(app, ["batch", str(data), "-q", "wai-sr", "-o", str(planted)])
    assert result.exit_code == 6, result.output
    assert "is a link another user put in a shared folder" in result.stderr
    assert victim.read_text(encoding="utf-8") == "keep\n"
    own = shared / "own.csv"
    own.symlink_to(tmp_path / "own-target.csv")
    ok = runner.invoke(app, ["batch", str(data), "-q", "wai-sr", "-o", str(own)])
    assert ok.exit_code == 0, ok.output
    assert (tmp_path / "own-target.csv").read_text(encoding="utf-8").startswith("row,id,")
