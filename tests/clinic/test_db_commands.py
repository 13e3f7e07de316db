"""`alliance db check|backup|restore` and what `delete-client` does about backups, on real
SQLite files (a concurrent writer process, a real terminal for the confirmation)."""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import sqlite3
import stat
import sys
from multiprocessing.synchronize import Event
from pathlib import Path

import pexpect
import pytest
from typer.testing import CliRunner

from alliance_cli.cli import app
from alliance_cli.clinic.store import Answer, NewAdministration, Store, files, maintenance
from alliance_cli.clinic.store.migrations import LATEST
from tests.helpers import codes, run

runner = CliRunner()
NOTE = "ZEBRA-NOTE-4711 moved to Ulm"
CLINICIAN = "Dr-Quokka-Unique"
VALUES = (5.0, 1.0, 4.0, 4.0)


def new(client: str, note: str | None = None, clinician: str | None = None) -> NewAdministration:
    return NewAdministration(
        client=client,
        questionnaire_id="tiny",
        questionnaire_version="1",
        content_hash="h1",
        answers=[Answer(i, v, "answered") for i, v in zip("abcd", VALUES, strict=True)],
        respondent="client",
        administered_at="2026-11-01",
        note=note,
        clinician=clinician,
        actor="tester",
        new_client=True,  # each code is saved once
    )


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("COLUMNS", raising=False)
    path = tmp_path / "data" / "history.sqlite3"
    monkeypatch.setenv("ALLIANCE_DB", str(path))
    with Store(path) as store:
        store.save(new("C-KEEP"))
        store.save(new("C-GONE", note=NOTE, clinician=CLINICIAN))
    return path


# -- check ------------------------------------------------------------------------------


def test_check_of_a_sound_database(db: Path) -> None:
    backup = maintenance.backup(db)
    result = run("db", "check")
    assert result.exit_code == 0, result.output
    size = backup.stat().st_size
    assert result.stdout == (
        f"database: {db}\n"
        f"schema version: {LATEST} (this alliance knows up to {LATEST})\n"
        "integrity: ok\n"
        "foreign keys: ok\n"
        "backups: 1\n"
        f"  {backup}  {maintenance.files.made(backup)}  {size:,} bytes\n"
        "client codes: ok\n"
    )


def test_check_json_equals_the_library_result(db: Path) -> None:
    result = run("db", "check", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == maintenance.check(db).to_dict()
    assert json.loads(result.stdout)["ok"] is True


def test_check_finds_a_broken_foreign_key_and_exits_7(db: Path) -> None:
    with sqlite3.connect(db) as raw:
        raw.execute("PRAGMA foreign_keys = OFF")
        raw.execute("DELETE FROM clients WHERE code = 'C-KEEP'")
    raw.close()
    result = run("db", "check")
    assert result.exit_code == 7
    assert "foreign keys: 2 broken" in result.stdout  # its administration and audit row
    assert result.stderr.splitlines()[0] == f"error: {db}: 2 rows refer to missing rows"


def test_check_of_a_damaged_file_reports_rather_than_crashes(db: Path) -> None:
    with open(db, "r+b") as f:
        f.seek(4096)
        f.write(b"\xff" * 4096)
    result = run("db", "check")
    assert result.exit_code == 7
    assert "integrity: FAILED" in result.stdout
    assert result.stderr.startswith(f"error: {db}: integrity check failed: ")


def test_check_without_a_database(tmp_path: Path) -> None:
    missing = tmp_path / "none.sqlite3"
    result = run("db", "check", "--db", str(missing))
    assert result.exit_code == 7
    assert result.stderr == (
        f"error: {missing}: there is no history database here\n"
        "check --db or $ALLIANCE_DB; `alliance new-client` creates one\n"
    )
    assert not missing.exists()


# -- backup -----------------------------------------------------------------------------


def test_backup_is_a_private_verified_copy(db: Path, tmp_path: Path) -> None:
    target = tmp_path / "copy.bak"
    result = run("db", "backup", "-o", str(target))
    assert result.exit_code == 0, result.output
    assert result.stderr == f"backed up {db} to {target}\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert codes(target) == ["C-GONE", "C-KEEP"]
    assert not Path(f"{target}-wal").exists()  # one self-contained file
    maintenance.verify(target)


def test_backup_and_check_leave_no_log_files_behind(db: Path, tmp_path: Path) -> None:
    # Read with mode=ro, the WAL database kept the -wal and -shm files SQLite made for the
    # reader, also after a backup that failed (found by the arguments fuzz).
    folder = tmp_path / "data"
    (folder / "a-folder").mkdir()
    before = sorted(p.name for p in folder.iterdir())
    failed = run("db", "backup", "-o", str(folder / "a-folder"))
    assert failed.exit_code == 6, failed.stderr
    assert sorted(p.name for p in folder.iterdir()) == before
    assert run("db", "check").exit_code == 0
    assert run("db", "backup", "-o", str(tmp_path / "b.bak")).exit_code == 0
    assert sorted(p.name for p in folder.iterdir()) == before
    # Nothing can be written through the reading connection.
    with contextlib.closing(files.open_for_reading(db)) as raw, pytest.raises(sqlite3.Error):
        raw.execute("DELETE FROM clients")
    assert codes(db) == ["C-GONE", "C-KEEP"]


def test_backup_never_overwrites_an_earlier_backup(db: Path, tmp_path: Path) -> None:
    target = tmp_path / "copy.bak"
    assert run("db", "backup", "-o", str(target)).exit_code == 0
    again = run("db", "backup", "-o", str(target))
    assert again.exit_code == 2
    assert "is an SQLite database" in again.stderr


def _writer(path: str, started: Event, copied: Event, limit: int = 5000) -> None:
    """Saves one administration after another: signals after its 11th, and goes on until
    it has saved 20 more after the first copy was taken (so the copies are made while it
    writes, however slow the machine), or until ``limit``."""
    with Store(path) as store:
        after = 0
        for n in range(limit):
            store.save(new(f"W-{n:04d}"))
            if n == 10:
                started.set()
            if copied.is_set():
                after += 1
                if after == 20:
                    return


@pytest.mark.slow
def test_backup_is_consistent_while_another_process_writes(db: Path, tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    started, copied = ctx.Event(), ctx.Event()
    writer = ctx.Process(target=_writer, args=(str(db), started, copied))
    writer.start()
    assert started.wait(60)
    copies = []
    for n in range(5):
        target = tmp_path / f"during-{n}.bak"
        assert run("db", "backup", "-o", str(target)).exit_code == 0
        copies.append(target)
        copied.set()
    writer.join(120)
    assert writer.exitcode == 0
    sizes = set()
    for copy in copies:
        with sqlite3.connect(copy) as raw:
            assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            admins = raw.execute("SELECT COUNT(*) FROM administrations").fetchone()[0]
            answers = raw.execute("SELECT COUNT(*) FROM answers").fetchone()[0]
            clients = raw.execute("SELECT COUNT(*) FROM clients").fetchone()[0]
        raw.close()
        # Every save is one transaction: a copy holds whole administrations only.
        assert answers == 4 * admins and clients == admins
        sizes.add(admins)
    with Store(db) as store:
        final = store.count()
    # The first copy was made while the writer wrote: after its 11th save, and before its
    # last (it saved 20 more after that copy).
    assert 2 + 11 <= min(sizes) <= final - 20


# -- restore ----------------------------------------------------------------------------


def test_restore_replaces_atomically_and_keeps_the_current_aside(db: Path) -> None:
    backup = maintenance.backup(db)
    with Store(db) as store:
        store.save(new("C-LATER"))
    result = run("db", "restore", str(backup), "--yes")
    assert result.exit_code == 0, result.output
    (aside,) = db.parent.glob("history.sqlite3.before-restore-*.bak")
    assert codes(db) == ["C-GONE", "C-KEEP"]
    assert codes(aside) == ["C-GONE", "C-KEEP", "C-LATER"]
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    with Store(db) as store:  # and it is usable
        store.save(new("C-AFTER"))


def test_restore_without_a_terminal_needs_yes(db: Path) -> None:
    backup = maintenance.backup(db)
    result = run("db", "restore", str(backup))
    assert result.exit_code == 2
    assert "to restore without a terminal, add --yes" in result.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"client,score\n", "is not an SQLite database; nothing restored"),
        (
            None,
            "not an alliance database of a known version (schema version 0; this alliance "
            f"knows 1 to {LATEST}): not an alliance backup this alliance can restore; nothing "
            "restored, the history database is unchanged",
        ),
    ],
)
def test_restore_verifies_the_file_first(
    db: Path, tmp_path: Path, content: bytes | None, message: str
) -> None:
    source = tmp_path / "source.bak"
    if content is None:
        with sqlite3.connect(source) as raw:
            raw.execute("CREATE TABLE notes (text TEXT)")
        raw.close()
    else:
        source.write_bytes(content)
    before = codes(db)
    result = run("db", "restore", str(source), "--yes")
    assert result.exit_code == 7
    # One line: no hint to restore into the file just refused.
    assert result.stderr.splitlines() == [f"error: {source}: {message}"]
    assert codes(db) == before
    assert not list(db.parent.glob("*.bak"))


def test_restore_refuses_a_damaged_backup(db: Path) -> None:
    backup = maintenance.backup(db)
    with open(backup, "r+b") as f:
        f.seek(4096)
        f.write(b"\x00\x01" * 2048)
    result = run("db", "restore", str(backup), "--yes")
    assert result.exit_code == 7
    assert result.stderr.startswith(f"error: {backup}: fails the integrity check")


def test_restore_refuses_the_database_itself(db: Path) -> None:
    result = run("db", "restore", str(db), "--yes")
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {db}: is the history database itself; give a backup to restore\n"
    )


def test_restore_never_replays_a_stale_log(db: Path) -> None:
    """The current database's -wal goes aside with it, not into the restored file. A log
    that cannot be folded in is the one a crashed command leaves next to a database whose
    first page is damaged: its records are then replayed into whatever file has the name."""
    backup = maintenance.backup(db)
    holder = Store(db)
    holder.db.execute("PRAGMA wal_autocheckpoint = 0")
    holder.save(new("C-IN-WAL"))
    log = Path(f"{db}-wal").read_bytes()  # as a command killed now leaves it
    holder.db.close()
    Path(f"{db}-wal").write_bytes(log)
    assert len(log) > 4096
    with open(db, "r+b") as f:
        f.write(b"\xff" * 100)  # the header: nothing can lock or fold the log into it
    result = run("db", "restore", str(backup), "--yes")
    assert result.exit_code == 0, result.output
    assert codes(db) == ["C-GONE", "C-KEEP"]
    (aside,) = db.parent.glob("history.sqlite3.before-restore-*.bak")
    assert Path(f"{aside}-wal").read_bytes() == log


@pytest.mark.slow
def test_restore_asks_in_a_terminal(db: Path) -> None:

    backup = maintenance.backup(db)
    env = {**os.environ, "ALLIANCE_DB": str(db), "NO_COLOR": "1", "TERM": "xterm"}
    child = pexpect.spawn(
        sys.executable,
        ["-m", "alliance_cli", "db", "restore", str(backup)],
        env=env,
        encoding="utf-8",
        timeout=10,
    )
    child.expect("2 clients, 2 administrations")
    child.expect(r"Restore it\? The current database is kept as a backup \[y/N\]: ")
    child.sendline("n")
    child.expect("nothing restored")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1
    assert not list(db.parent.glob("*.before-restore-*.bak"))


# -- delete-client and backups ----------------------------------------------------------


def test_delete_client_names_the_backups_that_still_hold_them(db: Path) -> None:
    backup = maintenance.backup(db)
    result = run("delete-client", "C-GONE", "--confirm", "C-GONE")
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        "deleted client C-GONE and 1 administration\n"
        f"notice: the backup {backup} still holds C-GONE\n"
        "remove them with: alliance delete-client C-GONE --confirm C-GONE --purge-backups\n"
    )
    assert codes(backup) == ["C-GONE", "C-KEEP"]
    # No backup of its own: a deletion leaves no new copy of the client behind.
    assert list(db.parent.glob("*.bak")) == [backup]


def test_purge_backups_removes_every_trace_from_the_bytes(db: Path) -> None:
    first = maintenance.backup(db)
    second = maintenance.backup(db)
    run("delete-client", "C-GONE", "--confirm", "C-GONE")  # the database first ...
    result = run("delete-client", "C-GONE", "--confirm", "C-GONE", "--purge-backups")
    assert result.exit_code == 0, result.output  # ... then the backups, in a second run
    assert sorted(result.stderr.splitlines()) == sorted(
        [f"removed C-GONE from the backup {first}", f"removed C-GONE from the backup {second}"]
    )
    for backup in (first, second):
        assert codes(backup) == ["C-KEEP"]
        with sqlite3.connect(backup) as raw:
            assert raw.execute("SELECT COUNT(*) FROM answers").fetchone()[0] == 4
        raw.close()
    for file in db.parent.iterdir():
        data = file.read_bytes()
        for secret in (b"C-GONE", NOTE.encode(), CLINICIAN.encode()):
            assert secret not in data, (file.name, secret)


def test_delete_and_purge_in_one_run(db: Path) -> None:
    backup = maintenance.backup(db)
    result = run("delete-client", "C-GONE", "--confirm", "C-GONE", "--purge-backups")
    assert result.stderr == (
        f"deleted client C-GONE and 1 administration\nremoved C-GONE from the backup {backup}\n"
    )
    assert codes(backup) == ["C-KEEP"] and codes(db) == ["C-KEEP"]


def test_delete_client_nowhere_is_still_an_error(db: Path) -> None:
    result = run("delete-client", "C-NONE", "--confirm", "C-NONE", "--purge-backups")
    assert result.exit_code == 7
    assert result.stderr.startswith(f"error: no client C-NONE in {db}")


def test_backup_to_stdout(db: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["db", "backup", "-o", "-"])
    assert result.exit_code == 0, result.output
    assert result.stderr == f"backed up {db} to stdout\n"
    copy = tmp_path / "piped.bak"
    copy.write_bytes(result.stdout_bytes)
    assert codes(copy) == ["C-GONE", "C-KEEP"]
    assert not (Path.cwd() / "-").exists()


def test_restore_of_a_missing_file_is_exit_6(db: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nothere.bak"
    result = run("db", "restore", str(missing), "--yes")
    assert result.exit_code == 6
    assert result.stderr == (
        f"error: {missing}: cannot read the file: No such file or directory; nothing restored\n"
    )


@pytest.mark.slow
def test_delete_client_offers_to_purge_in_a_terminal(db: Path) -> None:

    backup = maintenance.backup(db)
    env = {**os.environ, "ALLIANCE_DB": str(db), "NO_COLOR": "1", "TERM": "xterm"}
    child = pexpect.spawn(
        sys.executable,
        ["-m", "alliance_cli", "delete-client", "C-GONE"],
        env=env,
        encoding="utf-8",
        timeout=10,
        dimensions=(40, 200),
    )
    child.expect("Type the code to confirm: ")
    child.sendline("C-GONE")
    child.expect(r"C-GONE is deleted from the database; 1 older backup\(s\) still hold C-GONE:")
    child.expect(r"Remove the client from them too\? \[y/N\]: ")
    child.sendline("y")
    child.expect("deleted client C-GONE and 1 administration")
    child.expect(f"removed C-GONE from the backup {backup}")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert codes(backup) == ["C-KEEP"]
