"""Sessions are filed under the right client, with the right facts (issue 9, section 2):
case-insensitive client codes (and the migration of old databases), no client created as a
side effect, re-entries that keep what they do not change, and dates that can be true."""

from __future__ import annotations

import json
import sqlite3
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alliance_cli.catalog import Catalog
from alliance_cli.clinic import history
from alliance_cli.clinic.history import parse_when, record
from alliance_cli.clinic.store import Store
from alliance_cli.clinic.store.migrations import LATEST, MIGRATIONS
from alliance_cli.errors import StoreError, UsageError
from alliance_cli.result import score
from tests.helpers import run

runner = CliRunner()
SRS = "9,9,9,9"
OLD_SCHEMA = 2  # the schema of every database written before codes were case-insensitive


@pytest.fixture(autouse=True)
def _env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    db = tmp_path / "history.sqlite3"
    monkeypatch.setenv("ALLIANCE_DB", str(db))
    return db


def codes(db: Path) -> list[str]:
    with Store(db) as store:
        return [c.code for c in store.clients()]


# -- 1. client codes are case-insensitive ------------------------------------------------------


@pytest.mark.slow
def test_a_code_in_any_case_is_the_same_client(_env: Path) -> None:
    assert run("new-client", "c-abcdef").stdout == "C-ABCDEF\n"
    again = run("new-client", "C-ABCDEF")
    assert again.exit_code == 7
    assert again.stderr == "error: client C-ABCDEF exists already\n"
    recorded = run("score", "srs", "-a", SRS, "--client", "c-AbCdEf", "--date", "2026-10-01")
    assert recorded.exit_code == 0, recorded.stderr
    assert recorded.stderr == (
        "recorded administration #1: client C-ABCDEF, session 1, srs (client), 2026-10-01\n"
    )
    assert run("history", "c-abcdef").exit_code == 0
    assert json.loads(run("history", "c-abcdef", "--json").stdout)["client"] == "C-ABCDEF"
    exported = run("export", "--client", "c-abcdef", "-o", "-")
    assert exported.stdout.splitlines()[1].startswith("C-ABCDEF,1,2026-10-01,")
    assert codes(_env) == ["C-ABCDEF"]
    with Store(_env) as store:
        assert store.find_client("c-abcdef") == "C-ABCDEF"
        assert [a.client for a in store.history("C-abcdef")] == ["C-ABCDEF"]
        with pytest.raises(UsageError, match="is not allowed"):
            store.find_client("C-ABCDEF\n")  # a pasted line end is not part of a code


def _old_database(path: Path) -> None:
    """A history database as written before codes were case-insensitive: ``c-abc`` and
    ``C-ABC`` (one client or two?), a lower-case ``c-solo``, an upper-case ``C-UP``."""
    raw = sqlite3.connect(path)
    for migration in MIGRATIONS[:OLD_SCHEMA]:
        for statement in migration:
            raw.execute(statement)
    raw.execute(f"PRAGMA user_version = {OLD_SCHEMA}")
    clients = {"c-abc": 1, "C-ABC": 2, "c-solo": 1, "C-UP": 0}
    for n, (code, count) in enumerate(clients.items(), start=1):
        raw.execute("INSERT INTO clients (id, code, created_at) VALUES (?, ?, 'x')", (n, code))
        for session in range(1, count + 1):
            raw.execute(
                "INSERT INTO administrations (client_id, questionnaire_id, questionnaire_version,"
                " content_hash, session, administered_at, respondent, created_at) VALUES"
                " (?, 'srs', '1', 'h', ?, '2026-01-0' || ?, 'client', 'x')",
                (n, session, session),
            )
    raw.commit()
    raw.close()


def test_an_old_database_migrates_and_reports_codes_that_clash(_env: Path) -> None:
    _old_database(_env)
    with Store(_env) as store:
        assert store.schema_version() == LATEST
        # The clash is said when the codes are converted (shown on stderr by the CLI) ...
        assert store.notices[-1:] == [
            "client codes are case-insensitive now, but these differ only in case and were "
            "kept apart: C-ABC, c-abc (nothing was merged; using such a code says how to give "
            "all but one a new code)"
        ]
        # Canonical where that merges nothing; the two forms of C-ABC kept as they were.
        assert sorted(c.code for c in store.clients()) == ["C-ABC", "C-SOLO", "C-UP", "c-abc"]
        assert [a.session for a in store.history("c-solo")] == [1]
        with pytest.raises(StoreError) as clash:
            store.history("C-Abc")
        assert clash.value.problems[0].message == (
            "client code C-ABC is stored in 2 forms that differ only in case: "
            "C-ABC (2 administrations), c-abc (1 administration)"
        )
        for attempt in (lambda: store.new_client("c-abc"), lambda: store.find_client("C-ABC")):
            with pytest.raises(StoreError, match="stored in 2 forms"):
                attempt()
        # The database keeps codes canonical from now on, whoever writes to it.
        with pytest.raises(sqlite3.IntegrityError, match="upper case"):
            store.db.execute("INSERT INTO clients (code, created_at) VALUES ('c-new', 'x')")
    result = run("history", "c-abc")
    assert result.exit_code == 7
    lines = result.stderr.splitlines()
    assert lines[0] == (
        f"error: {_env}: client code C-ABC is stored in 2 forms that differ only in case: "
        "C-ABC (2 administrations), c-abc (1 administration)"
    )
    assert lines[1].startswith("Client codes are case-insensitive now; nothing was merged")
    # ... and by `db check` (exit 7), until it is resolved.
    checked = run("db", "check")
    assert checked.exit_code == 7
    assert "client codes: 1 clash (codes that differ only in case)\n" in checked.stdout
    assert checked.stderr.splitlines()[0] == (
        "error: client codes that differ only in case: C-ABC, c-abc"
    )
    # Following the hint (a new code for one of them) ends the clash, and nothing is lost.
    with sqlite3.connect(_env) as raw:
        raw.execute("UPDATE clients SET code = 'C-ABC-2' WHERE code = 'c-abc'")
    raw.close()
    with Store(_env) as store:
        assert len(store.history("c-abc")) == 2 and len(store.history("c-abc-2")) == 1
        assert not any("case-insensitive" in n for n in store.notices)  # said once
    assert run("db", "check").exit_code == 0


# -- 2. an unknown code is never created as a side effect ---------------------------------------


def test_an_unknown_code_is_refused_with_the_closest_ones(_env: Path) -> None:
    run("new-client", "C-ABCDEF")
    run("new-client", "C-ABCDXY")
    run("new-client", "C-7KQ2MX")
    typo = run("score", "srs", "-a", SRS, "--client", "c-abcde")
    assert typo.exit_code == 2
    assert typo.stdout == ""
    assert typo.stderr == (
        "error: C-ABCDE is not a client. Did you mean C-ABCDEF or C-ABCDXY?\n"
        "To register C-ABCDE as a new client: add --new-client, or first run "
        "`alliance new-client C-ABCDE`.\n"
    )
    nothing_close = run("score", "srs", "-a", SRS, "--client", "Q")
    assert nothing_close.exit_code == 2
    assert nothing_close.stderr.splitlines()[0] == "error: Q is not a client."
    assert codes(_env) == ["C-7KQ2MX", "C-ABCDEF", "C-ABCDXY"]
    with Store(_env) as store:
        assert store.count() == 0


def test_new_client_registers_with_the_record_and_only_a_new_code(_env: Path) -> None:
    made = run("score", "srs", "-a", SRS, "--client", "c-new", "--new-client")
    assert made.exit_code == 0
    assert "client C-NEW, session 1" in made.stderr
    assert codes(_env) == ["C-NEW"]
    existing = run("score", "srs", "-a", SRS, "--client", "C-NEW", "--new-client")
    assert existing.exit_code == 7
    assert existing.stderr == (
        "error: client C-NEW exists already\nleave out --new-client to record for this client\n"
    )


def test_the_library_never_creates_a_client_by_looking_it_up(_env: Path) -> None:
    srs = Catalog().get("srs")
    with Store(_env) as store:
        store.new_client("C-ABCDEF")
        assert store.find_client("C-ABCDE") is None
        assert store.closest_clients("c-abcde") == ["C-ABCDEF"]
        with pytest.raises(UsageError, match=r"C-ABCDE is not a client\. Did you mean C-ABCDEF"):
            record(store, srs, score(srs, SRS), client="C-ABCDE")
        with pytest.raises(StoreError, match="no client C-ABCDE"):
            store.history("C-ABCDE")
        assert [c.code for c in store.clients()] == ["C-ABCDEF"] and store.count() == 0


# -- 3. a re-entry keeps the facts it does not change ---------------------------------------------


def test_a_reentry_keeps_date_session_clinician_modality_and_respondent(_env: Path) -> None:
    run("new-client", "C-R")
    first = run(
        "score", "srs", "-a", "1,1,1,1", "--client", "C-R", "--date", "2026-10-01",
        "--session", "3", "--clinician", "Dr K", "--modality", "video",
        "--respondent", "therapist", "--note", "private words",
    )  # fmt: skip
    assert first.exit_code == 0
    fixed = run("score", "srs", "-a", "9,9,9,9", "--client", "C-R", "--replaces", "1")
    assert fixed.exit_code == 0, fixed.stderr
    assert fixed.stderr == (
        "recorded administration #2: client C-R, session 3, srs (therapist), 2026-10-01\n"
    )
    moved = run(
        "score", "srs", "-a", "9,9,9,9", "--client", "C-R", "--replaces", "2",
        "--modality", "phone", "--date", "2026-10-02",
    )  # fmt: skip
    assert moved.exit_code == 0, moved.stderr
    with Store(_env) as store:
        kept = store.administration(2)
        assert (kept.session, kept.administered_at, kept.clinician, kept.modality) == (
            3,
            "2026-10-01",
            "Dr K",
            "video",
        )
        assert (kept.respondent, kept.note, kept.status) == ("therapist", "private words", "void")
        third = store.administration(3)
        assert (third.administered_at, third.modality, third.clinician) == (
            "2026-10-02",
            "phone",
            "Dr K",
        )
        audit = [(a["action"], a["administration_id"], a["reason"]) for a in store.audit()]
    assert audit == [
        ("record", 1, None),
        ("void", 1, "replaced by a re-entry for session 3"),
        ("record", 2, "re-entry of #1; changed: answers"),
        ("void", 2, "replaced by a re-entry for session 3"),
        ("record", 3, "re-entry of #2; changed: date, modality"),
    ]
    assert "private" not in repr(audit) and "9.0" not in repr(audit)


# -- 4. dates that can be true ---------------------------------------------------------------------


@pytest.mark.slow
def test_a_date_that_does_not_exist_or_lies_ahead_is_refused(_env: Path) -> None:
    run("new-client", "C-D")
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    later_today = (datetime.now() + timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M")
    cases = {
        "2026-02-30": 'error: date "2026-02-30": no such date\n',
        "2026-02-28T24:10": 'error: date "2026-02-28T24:10": no such time\n',
        tomorrow: f'error: date "{tomorrow}" is in the future\n',
        "1.2.2026": 'error: date "1.2.2026" is not YYYY-MM-DD or YYYY-MM-DDTHH:MM\n',
    }
    cases[later_today] = f'error: date "{later_today}" is in the future\n'  # today or not
    for when, message in cases.items():
        result = run("score", "srs", "-a", SRS, "--client", "C-D", "--date", when)
        assert (result.exit_code, result.stderr) == (2, message)
    assert parse_when("2024-02-29") == "2024-02-29"
    assert parse_when(date.today().isoformat()) == date.today().isoformat()
    with Store(_env) as store:
        assert store.count() == 0


def test_a_session_dated_before_an_earlier_one_is_stored_with_a_warning(_env: Path) -> None:
    run("new-client", "C-W")
    run("score", "srs", "-a", SRS, "--client", "C-W", "--date", "2026-10-08")
    result = run("score", "srs", "-a", SRS, "--client", "C-W", "--date", "2026-10-01", "--json")
    assert result.exit_code == 0
    warning = (
        "session 2 of srs (client) is dated 2026-10-01, but session 1 is dated 2026-10-08; "
        "check the date and the session number"
    )
    assert result.stderr.splitlines()[1] == f"WARNING: {warning}"
    assert result.stdout.count(warning) == 1  # also in --json, under "recorded"
    therapist = run(
        "score", "srs", "-a", SRS, "--client", "C-W", "--date", "2026-09-01",
        "--respondent", "therapist",
    )  # fmt: skip
    assert "WARNING" not in therapist.stderr  # another respondent's sessions are their own
    with Store(_env) as store:
        [first, second] = [a for a in store.history("C-W", "srs") if a.respondent == "client"]
        assert history.date_warnings(store, second) == [warning]
        assert history.date_warnings(store, first) == [
            "session 1 of srs (client) is dated 2026-10-08, but session 2 is dated "
            "2026-10-01; check the date and the session number"
        ]
    # However many sessions a date contradicts, one warning: a year typed wrong (1926)
    # before three sessions gives one line, naming two of them and the count of the rest.
    for when in ("2026-10-15", "2026-10-22"):
        run("score", "srs", "-a", SRS, "--client", "C-W", "--date", when)
    typo = run("score", "srs", "-a", SRS, "--client", "C-W", "--date", "1926-10-29")
    assert [line for line in typo.stderr.splitlines() if line.startswith("WARNING")] == [
        "WARNING: session 5 of srs (client) is dated 1926-10-29, but session 1 is dated "
        "2026-10-08, session 2 is dated 2026-10-01, 2 more sessions too; check the date and "
        "the session number"
    ]


def test_administer_warns_about_a_misordered_date_on_its_result_screen(_env: Path) -> None:
    from alliance_cli.clinic.administer import administer
    from alliance_cli.clinic.interview import Details
    from alliance_cli.clinic.screens import ResultScreen
    from tests.helpers import Script

    srs = Catalog().get("srs")
    with Store(_env) as store:
        store.new_client("C-A")
        record(store, srs, score(srs, SRS), client="C-A", when="2026-10-08")
        script = Script("9", "9", "9", "9", "")
        with pytest.raises(UsageError, match="C-B is not a client"):
            administer(store, srs, Details(client="C-B"), script)
        assert script.asked == []  # refused before the first item
        administer(store, srs, Details(client="c-a", when="2026-10-01"), script)
    [result] = script.shown
    assert isinstance(result, ResultScreen)
    assert result.administration.client == "C-A"
    assert result.report.warnings[-1] == (
        "session 2 of srs (client) is dated 2026-10-01, but session 1 is dated 2026-10-08; "
        "check the date and the session number"
    )
