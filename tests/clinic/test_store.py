"""The history database, on real SQLite files in temporary folders."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import stat
from pathlib import Path

import pytest

from alliance_cli.clinic.store import Answer, NewAdministration, Store, check_code, mint_code
from alliance_cli.clinic.store import connection as store_module
from alliance_cli.clinic.store.migrations import LATEST, MIGRATIONS
from alliance_cli.errors import StoreError, UsageError

ANSWERS = [
    Answer("a", 5.0, "answered"),
    Answer("b", None, "missing"),
    Answer("c", 9.0, "not_applicable"),
    Answer("d", 2.0, "answered"),
]


def new(client: str = "C-1", **kw: object) -> NewAdministration:
    base: dict[str, object] = dict(
        client=client,
        questionnaire_id="tiny",
        questionnaire_version="1",
        content_hash="h1",
        answers=ANSWERS,
        respondent="client",
        administered_at="2026-11-01",
        actor="tester",
    )
    base.update(kw)
    return NewAdministration(**base)  # type: ignore[arg-type]


def opened(path: Path | str, *codes: str) -> Store:
    """A store with clients registered (``C-1`` when none are named): a record is only ever
    filed under a registered client."""
    store = Store(path)
    for code in codes or ("C-1",):
        if store.find_client(code) is None:
            store.new_client(code)
    return store


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "history.sqlite3"


def test_files_are_private(db_path: Path) -> None:
    with opened(db_path) as store:
        store.save(new())
        assert mode(db_path.parent) == 0o700
        assert mode(db_path) == 0o600
        for suffix in ("-wal", "-shm"):
            assert mode(Path(f"{db_path}{suffix}")) == 0o600


def test_round_trip_keeps_item_level_answers_and_metadata(db_path: Path) -> None:
    with opened(db_path) as store:
        saved = store.save(new(clinician="Dr K", modality="video", note="first"))
    with Store(db_path) as store:  # a fresh connection reads the same
        [got] = store.history("C-1")
    assert got == saved
    assert got.answers == ANSWERS
    assert (got.session, got.respondent, got.clinician, got.modality, got.note, got.status) == (
        1,
        "client",
        "Dr K",
        "video",
        "first",
        "final",
    )
    assert got.values(["a", "b", "c", "d", "zz"])[0] == 5.0
    assert [str(v) for v in got.values(["b", "c", "zz"])] == ["nan", "9.0", "nan"]


def test_session_defaults_to_the_next_per_questionnaire_and_respondent(db_path: Path) -> None:
    with opened(db_path, "C-1", "C-2") as store:
        assert store.save(new()).session == 1
        assert store.save(new()).session == 2
        assert store.save(new(respondent="therapist")).session == 1
        assert store.save(new(questionnaire_id="srs")).session == 1
        assert store.save(new(session=7)).session == 7
        assert store.save(new()).session == 8
        assert store.save(new(client="C-2")).session == 1


def test_void_keeps_the_record_with_an_audit_row(db_path: Path) -> None:
    with opened(db_path) as store:
        first = store.save(new(note="private words"))
        store.void(first.id, "entered for the wrong client", actor="Dr K")
        assert store.history("C-1") == []
        [kept] = store.history("C-1", include_void=True)
        assert kept.status == "void" and kept.answers == ANSWERS
        audit = store.audit()
        assert [(a["action"], a["actor"], a["reason"]) for a in audit] == [
            ("record", "tester", None),
            ("void", "Dr K", "entered for the wrong client"),
        ]
        assert "private words" not in repr(audit) and "5.0" not in repr(audit)
        with pytest.raises(StoreError, match="already void"):
            store.void(first.id, "again")
        with pytest.raises(StoreError, match="no administration #999"):
            store.void(999, "x")
        with pytest.raises(UsageError, match="a reason is required"):
            store.void(first.id, "  ")


def test_reentry_replaces_and_voids_the_original(db_path: Path) -> None:
    with opened(db_path) as store:
        wrong = store.save(new())
        fixed = store.save(new(session=wrong.session, replaces=wrong.id))
        assert store.administration(wrong.id).status == "void"
        assert fixed.replaces == wrong.id
        assert [a.id for a in store.history("C-1")] == [fixed.id]


def test_a_failed_save_leaves_nothing_behind(db_path: Path) -> None:
    bad = [Answer("a", 5.0, "answered"), Answer("b", 1.0, "maybe")]  # state fails CHECK
    with Store(db_path) as store:
        with pytest.raises(sqlite3.IntegrityError):
            store.save(new(answers=bad, new_client=True))
        assert store.count() == 0
        assert store.db.execute("SELECT COUNT(*) FROM answers").fetchone()[0] == 0
        assert store.db.execute("SELECT COUNT(*) FROM clients").fetchone()[0] == 0
        assert store.audit() == []


def test_new_database_is_at_the_latest_schema(db_path: Path) -> None:
    with Store(db_path) as store:
        assert store.schema_version() == LATEST == len(MIGRATIONS)


def test_newer_database_is_refused(db_path: Path) -> None:
    Store(db_path).close()
    with sqlite3.connect(db_path) as raw:
        raw.execute(f"PRAGMA user_version = {LATEST + 1}")
    raw.close()
    with pytest.raises(StoreError) as info:
        Store(db_path)
    assert info.value.render() == (
        f"{db_path}: not an alliance database of a known version (schema version "
        f"{LATEST + 1}; this alliance knows 1 to {LATEST})\n"
        "a newer alliance wrote it: upgrade alliance to read it"
    )
    assert info.value.exit_code == 7


def test_migration_backs_up_first(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with opened(db_path) as store:
        store.save(new())
    later = [*MIGRATIONS, ["CREATE TABLE extra (x INTEGER)"]]
    monkeypatch.setattr(store_module, "MIGRATIONS", later)
    monkeypatch.setattr(store_module, "LATEST", len(later))
    with Store(db_path) as store:
        assert store.schema_version() == len(later)
        assert store.count() == 1
    [backup] = db_path.parent.glob(f"history.sqlite3.v{LATEST}-*.bak")
    assert mode(backup) == 0o600
    with sqlite3.connect(backup) as old:
        assert old.execute("PRAGMA user_version").fetchone()[0] == LATEST
        assert old.execute("SELECT COUNT(*) FROM administrations").fetchone()[0] == 1
    old.close()


def test_upgrade_from_schema_1_keeps_the_records(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "MIGRATIONS", MIGRATIONS[:1])
    monkeypatch.setattr(store_module, "LATEST", 1)
    with opened(db_path) as store:
        store.save(new())
        assert store.schema_version() == 1
    monkeypatch.undo()
    with Store(db_path) as store:
        assert store.schema_version() == LATEST
        assert len(store.history("C-1")) == 1
        with pytest.raises(StoreError, match="session 1 of tiny \\(client\\) is already"):
            store.save(new(session=1))
    assert len(list(db_path.parent.glob("history.sqlite3.v1-*.bak"))) == 1


def test_one_final_record_per_session(db_path: Path) -> None:
    with opened(db_path) as store:
        first = store.save(new(session=2))
        with pytest.raises(StoreError) as info:
            store.save(new(session=2))
        assert info.value.render() == (
            f"session 2 of tiny (client) is already recorded as administration #{first.id}\n"
            f"to correct it, re-enter with alliance score … --replaces {first.id}; "
            "or give another --session"
        )
        assert store.save(new(session=2, respondent="therapist")).session == 2
        # The database itself refuses a duplicate too.
        with pytest.raises(sqlite3.IntegrityError):
            store.db.execute(
                "INSERT INTO administrations (client_id, questionnaire_id, questionnaire_version,"
                " content_hash, session, administered_at, respondent, status, created_at)"
                " VALUES (1, 'tiny', '1', 'h', 2, '2026-01-01', 'client', 'final', 'x')"
            )


def test_a_reentry_replaces_only_the_same_clients_record(db_path: Path) -> None:
    with opened(db_path, "C-1", "C-OTHER") as store:
        other = store.save(new(client="C-OTHER"))
        mine = store.save(new())
        srs = store.save(new(questionnaire_id="srs"))
        for target in (other.id, srs.id):
            with pytest.raises(StoreError, match="is not this client's tiny"):
                store.save(new(replaces=target))
        assert store.administration(other.id).status == "final"
        fixed = store.save(new(replaces=mine.id))  # no --session: the replaced one's
        assert fixed.session == mine.session == 1
        with pytest.raises(StoreError, match="is void, not a final record"):
            store.save(new(replaces=mine.id))


def test_clients_summary(db_path: Path) -> None:
    with opened(db_path) as store:
        store.save(new(administered_at="2026-10-01"))
        store.save(new(questionnaire_id="srs", administered_at="2026-10-08"))
        voided = store.save(new(administered_at="2026-12-24"))
        store.void(voided.id, "mistake")
        store.new_client("C-EMPTY")
        summaries = store.clients()
    assert [(c.code, c.administrations, c.questionnaires, c.first, c.last) for c in summaries] == [
        ("C-1", 2, ["srs", "tiny"], "2026-10-01", "2026-10-08"),
        ("C-EMPTY", 0, [], None, None),
    ]


def test_codes(db_path: Path) -> None:
    assert check_code("AB-12_x") == "AB-12_X"  # canonical: upper case
    for bad in ("", "has space", "Jane Doe", "x" * 65, "[x1]", "é"):
        with pytest.raises(UsageError):
            check_code(bad)
    minted = {mint_code() for _ in range(200)}
    assert len(minted) == 200
    assert all(len(c) == 8 and c.startswith("C-") and check_code(c) for c in minted)
    with Store(db_path) as store:
        code = store.new_client()
        assert code in [c.code for c in store.clients()]
        with pytest.raises(StoreError, match="exists already"):
            store.new_client(code)


def test_delete_client_really_removes_the_data(db_path: Path) -> None:
    with opened(db_path, "ZQXCLIENTQZ", "C-KEEP") as store:
        assert store.db.execute("PRAGMA secure_delete").fetchone()[0] == 1
        store.save(new(client="ZQXCLIENTQZ", note="ZQXNOTEQZ"))
        keep = store.save(new(client="C-KEEP"))
        store.void(keep.id, "typo")
        assert store.delete_client("ZQXCLIENTQZ") == 1
        with pytest.raises(StoreError, match="no client ZQXCLIENTQZ"):
            store.history("ZQXCLIENTQZ")
        assert [c.code for c in store.clients()] == ["C-KEEP"]
        assert store.audit()[-1]["action"] == "delete-client"
        assert all(a["client_id"] != 1 for a in store.audit())
        # Gone from the files while the database is still open (WAL checkpointed).
        for part in db_path.parent.iterdir():
            blob = part.read_bytes()
            assert b"ZQXCLIENTQZ" not in blob and b"ZQXNOTEQZ" not in blob, part.name


def _save_many(path: str, worker: int, count: int) -> None:
    with opened(path, f"C-W{worker}") as store:
        for n in range(count):
            store.save(new(client=f"C-W{worker}", session=n + 1))


@pytest.mark.slow
def test_concurrent_writers_all_succeed(db_path: Path) -> None:
    Store(db_path).close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_save_many, args=(str(db_path), w, 100)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=300)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    with Store(db_path) as store:
        assert store.count() == 400
        assert sorted(len(store.history(f"C-W{w}")) for w in range(4)) == [100] * 4
        assert store.db.execute("SELECT COUNT(*) FROM answers").fetchone()[0] == 1600


def test_unwritable_location_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="cannot create the history database"):
        Store(blocker / "sub" / "db.sqlite3")
    assert os.path.exists(blocker)


@pytest.mark.slow
def test_a_selection_names_administrations_by_every_condition_given() -> None:
    """Selectors combine (status, clients, code, questionnaire, respondent, ids), and a list
    of ids longer than SQLite's 999 parameters is one parameter: 1,200 administrations read
    with their answers and, in bulk, as one matrix."""
    import math

    from alliance_cli.clinic.store import Selection, select

    with opened(":memory:", "C-1", "C-2") as store:
        a = store.save(new("C-1"))
        b = store.save(new("C-1", respondent="therapist"))
        c = store.save(new("C-2", questionnaire_id="srs"))
        store.void(c.id, "wrong client")
        d = store.save(new("C-2"))

        def ids(**given: object) -> list[int]:
            return [x.id for x in store.select_administrations(Selection(**given))]  # type: ignore[arg-type]

        assert ids() == [a.id, b.id, d.id]  # final ones (all session 1: by id)
        assert ids(statuses=("void",)) == [c.id]
        assert ids(code="C-1", respondent="therapist") == [b.id]
        assert ids(client_ids=[store.client_id("C-2", create=False)]) == [d.id]
        assert ids(statuses=("final", "void"), questionnaire_id="srs") == [c.id]
        assert ids(ids=[a.id, c.id]) == [a.id]
        assert ids(ids=[]) == []
        many = [store.save(new("C-1", session=n)).id for n in range(3, 1203)]
        read = store.select_administrations(Selection(ids=many))
        assert [x.id for x in read] == many and all(x.answers == ANSWERS for x in read)
        x = select.answer_matrix(store.db, read[::-1], ["d", "a", "b", "gone"])
        assert x.shape == (1200, 4) and (x[:, :2] == [2.0, 5.0]).all()
        assert all(math.isnan(v) for v in x[:, 2:].ravel())
