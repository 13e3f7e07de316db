"""What a code review found in `db backup|restore`, `delete-client --purge-backups` and the
damaged-database hint, on real SQLite files: a damaged or busy current database, a folder or
a text file as `--db`, clashing codes in the backups, a mistyped `--db` for a reading
command."""

from __future__ import annotations

import os
import random
import re
import sqlite3
import sys
import tempfile
from pathlib import Path

import pexpect
import pytest
from typer.testing import CliRunner

from alliance_cli.cli import app
from alliance_cli.clinic.store import Answer, NewAdministration, Store, files, maintenance
from tests.helpers import codes, run

runner = CliRunner()


def new(client: str, note: str = "n") -> NewAdministration:
    return NewAdministration(
        client=client,
        questionnaire_id="tiny",
        questionnaire_version="1",
        content_hash="h1",
        answers=[Answer(i, 3.0, "answered") for i in "abcd"],
        respondent="client",
        administered_at="2026-11-01",
        note=note + " " + "x" * 300,
        actor="tester",
        new_client=True,
    )


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("COLUMNS", raising=False)
    path = tmp_path / "data" / "history.sqlite3"
    monkeypatch.setenv("ALLIANCE_DB", str(path))
    with Store(path) as store:
        for n in range(30):  # some 10 pages, so that one in the middle can be damaged
            store.save(new(f"C-{n:03d}"))
    return path


def damage(path: Path) -> None:
    pages = path.stat().st_size // 4096
    assert pages >= 6, pages
    with open(path, "r+b") as f:
        f.seek(pages // 2 * 4096)
        f.write(random.Random(3).randbytes(4096))


# -- 1. the confirmation of a restore reads the current database safely -----------------


@pytest.mark.slow
def test_restore_over_a_damaged_database_in_a_terminal(db: Path) -> None:
    backup = maintenance.backup(db)
    damage(db)
    env = {**os.environ, "ALLIANCE_DB": str(db), "NO_COLOR": "1", "TERM": "xterm"}
    child = pexpect.spawn(
        sys.executable,
        ["-m", "alliance_cli", "db", "restore", str(backup)],
        env=env,
        encoding="utf-8",
        timeout=15,
        dimensions=(40, 250),
    )
    child.expect("30 clients, 30 administrations")
    child.expect(re.escape(f"replaces: {db} (the current database cannot be read ("))
    child.expect(r"Restore it\? The current database is kept as a backup \[y/N\]: ")
    child.sendline("y")
    child.expect("restored ")
    child.expect(pexpect.EOF)
    child.close()
    assert "Traceback" not in (child.before or "")
    assert child.exitstatus == 0
    assert len(codes(db)) == 30


def test_describe_counts_what_another_process_holds_in_its_log(db: Path) -> None:
    holder = Store(db)
    holder.db.execute("PRAGMA wal_autocheckpoint = 0")
    holder.save(new("C-IN-WAL"))
    try:
        assert Path(f"{db}-wal").stat().st_size > 0
        assert maintenance.describe(db, current=True).startswith("31 clients, 31 administrations")
    finally:
        holder.close()


# -- 2. a folder or a file that is no database as --db -----------------------------------


def test_backup_of_a_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    result = run("db", "backup", "--db", str(folder))
    assert result.exit_code == 7
    assert result.stderr == f"error: {folder}: is not a file: give the database file\n"
    assert list(folder.iterdir()) == []


def test_backup_of_a_text_file_is_reported_not_a_traceback(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("client,score\nC-1,4\n" * 20, encoding="utf-8")
    result = run("db", "backup", "--db", str(text))
    assert result.exit_code == 7
    assert result.stderr.startswith(
        f"error: {text}: the history database is damaged (file is not a database)"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_describe_of_a_folder_says_it_cannot_be_read(tmp_path: Path) -> None:
    assert maintenance.describe(tmp_path, current=True).startswith(
        "the current database cannot be read ("
    )


# -- 3. purging clashing codes from backups ----------------------------------------------


def as_before_migration_3(path: Path, sql: str, *args: str) -> None:
    """Run ``sql`` as an alliance before case-insensitive codes could (lower-case codes),
    keeping the upper-case triggers of migration 3 afterwards."""
    raw = sqlite3.connect(path)
    with raw:
        triggers = [
            r[0] for r in raw.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger'")
        ]
        for name in ("client_codes_upper_on_insert", "client_codes_upper_on_update"):
            raw.execute(f"DROP TRIGGER {name}")
        raw.execute(sql, args)
        for trigger in triggers:
            raw.execute(trigger)
    raw.close()


def insert_raw(path: Path, code: str) -> None:
    as_before_migration_3(
        path, "INSERT INTO clients (code, created_at) VALUES (?, '2026-01-01')", code
    )


def test_purge_of_a_clashing_code_is_refused_and_purges_nothing(db: Path) -> None:
    insert_raw(db, "c-000")  # C-000 and c-000: two clients kept apart
    backup = maintenance.backup(db)
    result = run("delete-client", "c-000", "--confirm", "c-000", "--purge-backups")
    assert result.exit_code == 7, result.output
    assert "is stored in 2 forms that differ only in case" in result.stderr
    assert codes(backup) == codes(db)
    assert {"C-000", "c-000"} <= set(codes(backup))


def test_a_backup_where_the_code_clashes_is_left_alone_and_named(db: Path) -> None:
    insert_raw(db, "c-000")
    backup = maintenance.backup(db)
    # The database itself was tidied: c-000 got a new code.
    as_before_migration_3(db, "UPDATE clients SET code = 'C-000-2' WHERE code = 'c-000'")
    result = run("delete-client", "C-000", "--confirm", "C-000", "--purge-backups")
    assert result.exit_code == 0, result.output
    assert "C-000" not in codes(db)
    assert {"C-000", "c-000"} <= set(codes(backup))
    assert (
        f"notice: the backup {backup} holds C-000 in 2 forms that differ only in case "
        "(C-000, c-000): not purged; purge it by hand or delete the backup"
    ) in result.stderr.splitlines()


def test_purge_of_a_lower_case_code_in_a_v2_era_backup(db: Path) -> None:
    old = db.with_name(f"{db.name}.v2-20261101T000000Z.bak")
    maintenance.backup(db, old)
    as_before_migration_3(old, "UPDATE clients SET code = 'c-007' WHERE code = 'C-007'")
    result = run("delete-client", "C-007", "--confirm", "C-007", "--purge-backups")
    assert result.exit_code == 0, result.output
    assert f"removed C-007 from the backup {old}" in result.stderr
    assert "c-007" not in codes(old) and len(codes(old)) == 29


# -- 4. restore takes a lock and needs the log folded in ---------------------------------


@pytest.mark.slow
def test_restore_while_another_command_writes_is_refused(db: Path) -> None:
    backup = maintenance.backup(db)
    writer = sqlite3.connect(db, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO clients (code, created_at) VALUES ('C-NEW', 'x')")
    try:
        result = run("db", "restore", str(backup), "--yes")
    finally:
        writer.execute("COMMIT")
        writer.close()
    assert result.exit_code == 7, result.output
    assert result.stderr == (
        f"error: {db}: the history database is busy: close other alliance commands first; "
        "nothing restored\n"
    )
    assert "C-NEW" in codes(db)
    assert not list(db.parent.glob("*.before-restore-*")) + list(db.parent.glob("*.restoring-*"))


@pytest.mark.slow
def test_restore_while_another_command_has_it_open_is_refused(db: Path) -> None:
    """An idle command (an interview waiting at a prompt) would write its record into the
    replaced file, or on closing delete the restored database's -wal by name."""
    backup = maintenance.backup(db)
    with Store(db) as store:
        store.save(new("C-LATER"))
        result = run("db", "restore", str(backup), "--yes")
        store.save(new("C-LATEST"))
    assert result.exit_code == 7, result.output
    assert "the history database is busy: close other alliance commands first" in result.stderr
    assert {"C-LATER", "C-LATEST"} <= set(codes(db))


@pytest.mark.slow
def test_restore_refuses_when_the_log_cannot_be_folded_in(db: Path) -> None:
    """A reader on an older snapshot keeps frames out of the file: a restore then would
    leave the replaced database's last records only in the aside -wal."""
    backup = maintenance.backup(db)
    reader = sqlite3.connect(db, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT COUNT(*) FROM clients").fetchone()
    with Store(db) as store:
        store.db.execute("PRAGMA wal_autocheckpoint = 0")
        store.save(new("C-LATE"))
    try:
        result = run("db", "restore", str(backup), "--yes")
    finally:
        reader.close()
    assert result.exit_code == 7, result.output
    assert "the history database is busy: close other alliance commands first" in result.stderr
    assert "C-LATE" in codes(db)


@pytest.mark.slow
def test_delete_client_says_when_the_log_keeps_the_data(db: Path) -> None:
    reader = sqlite3.connect(db, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT COUNT(*) FROM clients").fetchone()
    try:
        result = run("delete-client", "C-001", "--confirm", "C-001")
    finally:
        reader.close()
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        "deleted client C-001 and 1 administration",
        f"notice: another alliance command has the database open: the deleted data may "
        f"linger in {db}-wal until other alliance commands close",
    ]


# -- 6. db backup -o - spools next to the database ---------------------------------------


def test_backup_to_stdout_spools_next_to_the_database(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "no-such-temp-folder"))
    result = runner.invoke(app, ["db", "backup", "-o", "-"])
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes[:16] == b"SQLite format 3\x00"
    assert not [p for p in db.parent.iterdir() if p.name.endswith(".tmp")]


# -- 7. the damaged-database hint names backups that work --------------------------------


def test_restore_hint_skips_damaged_and_half_made_copies(db: Path) -> None:
    good = maintenance.backup(db, db.with_name(f"{db.name}.manual-20261101T000000Z.bak"))
    os.utime(good, (1_700_000_000, 1_700_000_000))
    bad = db.with_name(f"{db.name}.before-restore-20261102T000000Z.bak")
    maintenance.backup(db, bad)
    damage(bad)
    leftover = db.with_name(f"{db.name}.restoring-20261103T000000Z.bak")
    maintenance.backup(db, leftover)
    damage(db)
    result = run("clients")
    assert result.exit_code == 7
    hint = result.stderr.splitlines()[1:]
    assert hint == [
        f"newest backups: {good} ({files.made(good)})",
        f"restore one with: alliance db restore {good}",
    ]


# -- 8. a reading command never creates a database ---------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["clients"],
        ["history", "C-001"],
        ["export", "--client", "C-001", "-o", "OUT"],
        ["report", "C-001", "-o", "OUT"],
        ["db", "check"],
    ],
)
def test_a_reading_command_refuses_a_database_that_is_not_there(
    tmp_path: Path, args: list[str]
) -> None:
    typo = tmp_path / "histroy.sqlite3"
    args = [str(tmp_path / "out") if a == "OUT" else a for a in args]
    result = run(*args, "--db", str(typo))
    assert result.exit_code == 7, result.output
    assert result.stderr == (
        f"error: {typo}: there is no history database here\n"
        "check --db or $ALLIANCE_DB; `alliance new-client` creates one\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_a_writing_command_still_creates_the_database(tmp_path: Path) -> None:
    path = tmp_path / "new" / "history.sqlite3"
    result = run("new-client", "C-FIRST", "--db", str(path))
    assert result.exit_code == 0, result.output
    assert codes(path) == ["C-FIRST"]
