"""A damaged, foreign, unknown-version or too-open history database: one clear message and
exit 7 (never a traceback), private permissions restored with a notice."""

from __future__ import annotations

import os
import random
import re
import shutil
import sqlite3
import stat
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from alliance_cli.cli import app
from alliance_cli.clinic.store import Answer, NewAdministration, Store
from alliance_cli.clinic.store.migrations import LATEST
from alliance_cli.errors import StoreError
from tests.helpers import run
from tests.subprocs import alliance_process, file_size_limit

runner = CliRunner()
PAGE = 4096


def new(client: str, session: int, note: str | None = None) -> NewAdministration:
    return NewAdministration(
        client=client,
        questionnaire_id="tiny",
        questionnaire_version="1",
        content_hash="h1",
        answers=[Answer(i, float(session % 5 + 1), "answered") for i in "abcd"],
        respondent="client",
        administered_at="2026-11-01",
        session=session,
        note=note,
        actor="tester",
        new_client=session == 1,
    )


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database of 40 clients × 5 sessions (some 30 pages), built once."""
    path = tmp_path_factory.mktemp("template") / "history.sqlite3"
    with Store(path) as store:
        for c in range(40):
            for s in range(1, 6):
                store.save(new(f"C-{c:03d}", s, note=f"note {c} {s} " + "x" * 200))
    assert not Path(f"{path}-wal").exists()  # checkpointed: the file alone is the database
    return path


@pytest.fixture
def db(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the template, at $ALLIANCE_DB."""
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("COLUMNS", raising=False)
    path = tmp_path / "data" / "history.sqlite3"
    path.parent.mkdir(mode=0o700)
    shutil.copy(template, path)
    path.chmod(0o600)
    monkeypatch.setenv("ALLIANCE_DB", str(path))
    return path


def damage_middle_page(path: Path) -> None:
    """Random bytes over a whole page in the middle of the file (not the header)."""
    pages = path.stat().st_size // PAGE
    assert pages >= 10
    with open(path, "r+b") as f:
        f.seek(pages // 2 * PAGE)
        f.write(random.Random(7).randbytes(PAGE))


@pytest.mark.slow
def test_damage_in_the_middle_of_the_file_gives_exit_7_and_the_way_back(db: Path) -> None:
    made = run("db", "backup")
    assert made.exit_code == 0, made.output
    (backup,) = db.parent.glob("history.sqlite3.manual-*.bak")
    damage_middle_page(db)
    result = run("history", "C-001")
    assert result.exit_code == 7, result.output
    lines = result.stderr.splitlines()
    assert re.fullmatch(
        rf"error: {re.escape(str(db))}: the history database is damaged \(.+\); nothing was "
        "changed",
        lines[0],
    ), lines[0]
    when = result.stderr.split(f"{backup} (")[1][:16]
    assert lines[1:] == [
        f"newest backups: {backup} ({when})",
        f"restore one with: alliance db restore {backup}",
    ]
    # ... and that command works.
    restored = run("db", "restore", str(backup), "--yes")
    assert restored.exit_code == 0, restored.output
    assert run("history", "C-001").exit_code == 0
    (aside,) = db.parent.glob("history.sqlite3.before-restore-*.bak")
    assert restored.stderr == (
        f"restored {db} from {backup}; the database it replaced is kept as {aside}\n"
    )


def test_damage_that_only_reading_finds_is_converted_at_the_store_boundary(db: Path) -> None:
    """Text that no longer decodes passes SQLite's quick check; reading it fails later,
    inside the command: still one message and exit 7."""
    with sqlite3.connect(db) as raw:
        raw.execute("UPDATE administrations SET note = CAST(x'c328ff' AS TEXT) WHERE id = 7")
    raw.close()
    result = run("history", "C-001")
    assert result.exit_code == 7, result.output
    assert result.stderr.startswith(f"error: {db}: the history database is damaged (Could not")
    assert "restore a copy kept elsewhere with: alliance db restore FILE" in result.stderr


def test_a_csv_over_the_database_is_reported_as_damage(db: Path) -> None:
    db.write_text("client,score\nC-1,4\n", encoding="utf-8")
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    result = run("clients")
    assert result.exit_code == 7
    assert result.stderr.startswith(
        f"error: {db}: the history database is damaged (file is not a database)"
    )


@pytest.mark.parametrize("version", [-3, LATEST + 7])
def test_unknown_schema_version_is_not_an_index_error(db: Path, version: int) -> None:
    with sqlite3.connect(db) as raw:
        raw.execute(f"PRAGMA user_version = {version}")
    raw.close()
    result = run("clients")
    assert result.exit_code == 7, result.output
    assert result.stderr.splitlines()[0] == (
        f"error: {db}: not an alliance database of a known version (schema version "
        f"{version}; this alliance knows 1 to {LATEST})"
    )


def test_another_programs_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    other = tmp_path / "notes.sqlite3"
    with sqlite3.connect(other) as raw:
        raw.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
    raw.close()
    result = run("clients", "--db", str(other))
    assert result.exit_code == 7
    assert result.stderr.splitlines()[0] == (
        f"error: {other}: not an alliance database of a known version (schema version 0; "
        f"this alliance knows 1 to {LATEST})"
    )
    with sqlite3.connect(other) as raw:
        tables = [r[0] for r in raw.execute("SELECT name FROM sqlite_master")]
    raw.close()
    assert tables == ["notes"]  # no alliance tables added to it


def test_loose_permissions_are_tightened_with_a_notice(db: Path) -> None:
    db.chmod(0o644)
    result = run("clients", "--json")
    assert result.exit_code == 0
    assert result.stderr == f"notice: {db} was readable by others (0644); set to 0600\n"
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    again = run("clients", "--json")
    assert again.stderr == ""
    # A backup beside it holds every record too (copied back from a USB stick, say).
    backup = db.with_name(db.name + ".manual-20261201T100000Z.bak")
    shutil.copy(db, backup)
    backup.chmod(0o644)
    third = run("clients", "--json")
    assert third.stderr == f"notice: {backup} was readable by others (0644); set to 0600\n"
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600


def test_library_raises_store_errors_not_sqlite_errors(db: Path) -> None:
    damage_middle_page(db)
    with pytest.raises(StoreError) as caught:
        Store(db)
    assert caught.value.problems[0].code == "database-damaged"
    assert caught.value.exit_code == 7


def test_quick_check_runs_on_open(db: Path) -> None:
    """Opening the store alone (no table read) finds a damaged page: the check runs on
    open. Its cost is measured by ``bench/quick_check.py``, not here (a wall-clock bound
    fails on a loaded machine)."""
    damage_middle_page(db)
    with pytest.raises(StoreError) as caught:
        Store(db)
    assert caught.value.problems[0].code == "database-damaged"


def test_migration_backups_never_overwrite_one_another(db: Path) -> None:
    from alliance_cli.clinic.store import files

    first = files.backup_name(db, "v1")
    first.write_bytes(b"x")
    second = files.backup_name(db, "v1")
    assert second != first and second.name.endswith("-2.bak")
    os.unlink(first)


@pytest.mark.parametrize("given", ["folder", ""])
def test_a_folder_given_as_database_is_refused_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, given: str
) -> None:
    folder = tmp_path / "folder"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    monkeypatch.chdir(folder if given == "" else tmp_path)
    result = run("clients", "--db", given)
    assert result.exit_code == 7
    shown = "." if given == "" else given
    assert result.stderr == f"error: {shown}: is not a file: give the database file\n"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755  # its mode never changed


def test_a_bug_in_our_own_sql_keeps_its_traceback(db: Path) -> None:
    """Only what SQLite says about the file becomes a user message: a broken constraint is
    a bug in alliance and must stay visible as one."""
    with pytest.raises(sqlite3.IntegrityError), Store(db) as store:
        store.db.execute("INSERT INTO clients (code, created_at) VALUES ('C-000', 'x')")


@pytest.mark.slow
def test_a_full_disk_at_commit_is_exit_7_and_stores_nothing(db: Path) -> None:
    """The disk filling as a record is committed (here: a file size limit, which fails the
    write as a full disk does): exit 7 with one message, nothing stored, integrity intact."""
    with sqlite3.connect(db) as con:
        before = con.execute("SELECT count(*) FROM administrations").fetchone()[0]

    # In the child, writes past 4 KB fail with EFBIG.
    answers = ["--answers", "5,4,4,5,3,4,5,4,4,5,4,4", "--client", "C-001", "--session", "9"]
    result = alliance_process(
        "score",
        "wai-sr",
        *answers,
        env={"ALLIANCE_DB": str(db)},
        preexec_fn=file_size_limit(4096),
    )
    assert result.returncode == 7, result.stderr
    assert result.stderr.startswith(
        f"error: {db}: cannot write to the history database: the disk is full (or a file "
        "size limit was reached); nothing was stored, the database is as it was"
    ), result.stderr
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("SELECT count(*) FROM administrations").fetchone()[0] == before


@pytest.mark.slow
def test_a_recording_command_that_fails_leaves_no_new_database(tmp_path: Path) -> None:
    # Each refused the record (exit 2) but left the empty database it had just created.
    srs = ["score", "srs", "-a", "9,9,9,9"]
    cases: list[tuple[list[str], int, str]] = [
        ([*srs, "-c", "bad code!", "--new-client"], 2, 'client code "bad code!" is not allowed'),
        ([*srs, "-c", "C1", "--new-client", "--date", "2999-01-01"], 2, "is in the future"),
        ([*srs, "-c", "C1"], 2, "C1 is not a client"),
        ([*srs, "-c", "C1", "--new-client", "--replaces", "5"], 7, "no administration #5"),
        (["new-client", "bad!"], 2, 'client code "bad!" is not allowed'),
    ]
    for args, code, message in cases:
        db = tmp_path / "new" / "h.db"
        result = runner.invoke(app, [*args, "--db", str(db)])
        assert (result.exit_code, result.stdout) == (code, ""), (args, result.stderr)
        assert message in result.stderr, (args, result.stderr)
        assert [p.name for p in db.parent.iterdir()] == [], args
    # A database that was there already stays, as does one a command filled.
    assert runner.invoke(app, [*srs, "-c", "C1", "--new-client", "--db", str(db)]).exit_code == 0
    assert runner.invoke(app, [*srs, "-c", "bad code!", "--db", str(db)]).exit_code == 2
    with Store(db) as store:
        assert [c.code for c in store.clients()] == ["C1"]


def test_an_empty_file_is_no_database_for_a_command_that_only_reads(tmp_path: Path) -> None:
    # `history` on an empty ALLIANCE_DB turned it into a database (schema written, mode
    # changed), then said "no client A1".
    db = tmp_path / "h.db"
    db.write_bytes(b"")
    db.chmod(0o644)
    for args in (["history", "A1"], ["clients"], ["norms", "list"]):
        result = runner.invoke(app, [*args, "--db", str(db)])
        assert (result.exit_code, result.stdout) == (7, ""), (args, result.stdout)
        assert result.stderr == (
            f"error: {db}: there is no history database here\n"
            "check --db or $ALLIANCE_DB; `alliance new-client` creates one\n"
        ), args
        assert (db.read_bytes(), stat.S_IMODE(db.stat().st_mode)) == (b"", 0o644), args
    # A command that records makes it the database.
    assert runner.invoke(app, ["new-client", "C1", "--db", str(db)]).exit_code == 0
    with Store(db) as store:
        assert [c.code for c in store.clients()] == ["C1"]


# -- the damage check, paid once per change of the file ----------------------------------------


def age(path: Path, seconds: float = 60) -> None:
    """Date the file's last change ``seconds`` back (past the racily-clean window)."""
    then = path.stat().st_mtime - seconds
    os.utime(path, (then, then))


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths ``PRAGMA quick_check`` runs on, in order."""
    from alliance_cli.clinic.store import files

    ran: list[str] = []
    real = files.check_intact

    def counted(db: sqlite3.Connection, path: str) -> None:
        ran.append(path)
        real(db, path)

    monkeypatch.setattr(files, "check_intact", counted)
    return ran


def test_a_clean_check_is_remembered_until_the_file_changes(db: Path, checks: list[str]) -> None:
    age(db)
    for _ in range(3):
        assert run("history", "C-001").exit_code == 0
    assert checks == [str(db)]  # checked once, then remembered
    assert run("score", "srs", "--answers", "5 5 5 5", "--client", "C-002").exit_code == 0
    assert checks == [str(db)]  # the write opened a file unchanged since its clean check
    age(db)
    assert not Path(f"{db}-wal").exists()  # closing checkpointed the write into the file
    assert run("history", "C-001").exit_code == 0
    assert run("history", "C-001").exit_code == 0
    assert checks == [str(db)] * 2  # changed by the write: checked again, once


def test_damage_after_a_remembered_check_is_found(db: Path, checks: list[str]) -> None:
    age(db)
    assert run("history", "C-001").exit_code == 0
    assert run("history", "C-001").exit_code == 0
    assert len(checks) == 1
    damage_middle_page(db)
    result = run("history", "C-001")
    assert result.exit_code == 7, result.output
    assert "the history database is damaged" in result.stderr


@pytest.mark.slow
def test_a_file_changed_just_now_is_checked_every_time(
    db: Path, checks: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Racily clean: within 2 s of a change another change could keep the same time. The
    clock is held 1 s after the change, so a slow machine cannot carry the runs past it."""
    from alliance_cli import cache

    os.utime(db)  # changed now
    changed = db.stat().st_mtime
    monkeypatch.setattr(cache, "time", SimpleNamespace(time=lambda: changed + 1.0))
    for _ in range(3):
        assert run("history", "C-001").exit_code == 0
    assert len(checks) == 3
    monkeypatch.setattr(
        cache, "time", SimpleNamespace(time=lambda: changed + cache.RACY_SECONDS + 1.0)
    )
    assert run("history", "C-001").exit_code == 0  # checked once more, then remembered
    assert run("history", "C-001").exit_code == 0
    assert len(checks) == 4


def test_db_check_always_reads_the_whole_file(db: Path) -> None:
    """Damage that kept the file's size and time (bit rot) is past the remembered check of a
    reading command, never past `db check`."""
    age(db)
    assert run("clients").exit_code == 0  # remembered
    before = db.stat()
    damage_middle_page(db)
    os.utime(db, ns=(before.st_atime_ns, before.st_mtime_ns))
    result = run("db", "check")
    assert result.exit_code == 7, result.output


def test_a_remembered_check_that_others_may_change_is_not_trusted(
    db: Path, checks: list[str]
) -> None:
    """A marker another user could have written (group- or world-writable) does not skip
    the damage check, as a remembered definition that others may change is not unpickled."""
    from alliance_cli import cache

    age(db)
    assert run("clients").exit_code == 0
    assert run("clients").exit_code == 0
    assert checks == [str(db)]  # checked once, then remembered
    marker = cache.entry_for("checked", db)
    assert marker is not None
    marker.chmod(0o666)
    assert run("clients").exit_code == 0
    assert checks == [str(db)] * 2
