"""Recording administrations from the command line, and reading them back."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from alliance_cli.clinic.store import Store
from tests.helpers import DATA, LONG_NAME, MARKUP_NOTE, build_history, run


@pytest.fixture(autouse=True)
def _env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    db = tmp_path / "private" / "history.sqlite3"
    monkeypatch.setenv("ALLIANCE_DB", str(db))
    return db


def test_score_without_client_stores_nothing(_env: Path) -> None:
    assert run("score", "srs", "-a", "9,9,9,9").exit_code == 0
    assert not _env.exists()


def test_recording_then_history(_env: Path) -> None:
    first = run(
        "score",
        "srs",
        "-a",
        "9,9,9,9.5",
        "--client",
        "C-1",
        "--date",
        "2026-10-01",
        "--clinician",
        "K",
        "--modality",
        "in-person",
        "--new-client",
    )
    assert first.exit_code == 0
    assert first.stderr == (
        "recorded administration #1: client C-1, session 1, srs (client), 2026-10-01\n"
    )
    second = run(
        "score",
        "srs",
        "-a",
        "9,8.5,8,9",
        "--client",
        "C-1",
        "--date",
        "2026-10-08",
        "--modality",
        "video",
        "--json",
    )
    doc = json.loads(second.stdout)
    assert doc["recorded"] == {
        "administration": 2,
        "client": "C-1",
        "session": 2,
        "respondent": "client",
        "warnings": [],
    }
    history = run("history", "C-1")
    assert history.exit_code == 0
    assert [line.rstrip() for line in history.stdout.splitlines()][:5] == [
        "srs · client · Session Rating Scale v3.0",
        "date         session   id   Total   change",
        "─" * 46,
        "2026-10-01         1   #1    36.5",
        "2026-10-08         2   #2    34.5       -2   ▼",  # the drop outranks the cutoff
    ]
    alerts = "\n".join(line.rstrip() for line in history.stdout.splitlines()[5:])
    assert "\n! Session 2: Total 34.5 — Total below 36: A total below 36 " in alerts
    assert "\n▼ Session 2: Total fell 2 from session 1 (36.5 → 34.5)" in alerts
    assert "  rule drop · source: A fall of 1 point or more" in alerts
    data = json.loads(run("history", "C-1", "--json").stdout)
    [series] = data["series"]
    assert [(a["rule"], a["kind"], a["session"]) for a in series["alerts"]] == [
        ("cutoff", "concern", 2),
        ("drop", "concern", 2),
        ("reliable_change", "info", 2),
    ]
    totals = [
        (s["session"], s["scales"][0]["score"], s["scales"][0]["change"])
        for s in series["sessions"]
    ]
    assert totals == [(1, 36.5, None), (2, 34.5, -2.0)]
    assert series["sessions"][1]["flags"][0]["rule"] == "Total below 36"


def test_recording_prints_this_session_against_earlier_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The recording view shows the sessions as `history` does (the score table above it
    # has every scale of this session), and fits 80 columns: nothing cut with "…".
    monkeypatch.setenv("COLUMNS", "80")
    run("score", "wai-sr", "-a", "5,5,5,5,5,5,5,5,5,5,5,5", "--client", "C-2", "--new-client")
    run("score", "wai-sr", "-a", "4,4,5,4,4,4,4,4,4,4,4,4", "--client", "C-2", "--clinician", "X")
    result = run(
        "score",
        "wai-sr",
        "-a",
        "4,4,4,4,4,4,4,4,4,4,4,4",
        "--client",
        "C-2",
        "--clinician",
        "Dr. Annemarie Konstantinopoulou-Vandersteen",
    )
    rows = [line.split() for line in result.stdout.splitlines() if line[:4] == "2026"]
    # Total (a mean of 12 items): 5, then 49/12 = 4.08 (−0.92), then 4 (−0.08): started at
    # the maximum and fell twice, the high-then-falling prompt ("?") of this session; session
    # 2 keeps its mark as in `history` (R: a fall of 0.92, more than 2 × the 0.25 floor).
    assert [row[1:] for row in rows] == [
        ["1", "#1", "5"],
        ["2", "#2", "4.08", "-0.92", "R"],
        ["3", "#3", "4", "-0.08", "?"],
    ]
    assert "? Session 3: Total started high" in result.stdout
    assert "…" not in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= 80


def test_void_and_reentry_keep_the_original(_env: Path) -> None:
    run("score", "srs", "-a", "1,1,1,1", "--client", "C-3", "--new-client")
    voided = run("void", "1", "--reason", "typed the wrong numbers")
    assert voided.exit_code == 0
    assert voided.stderr == "voided administration #1 (client C-3, session 1, srs)\n"
    again = run("score", "srs", "-a", "9,9,9,9", "--client", "C-3", "--session", "1")
    assert again.exit_code == 0
    data = json.loads(run("history", "C-3", "--json").stdout)
    assert [s["scales"][0]["score"] for s in data["series"][0]["sessions"]] == [36.0]
    with Store(_env) as store:
        assert store.administration(1).status == "void"
        assert [a["action"] for a in store.audit()] == ["record", "void", "record"]
    missing = run("void", "99", "--reason", "x")
    assert missing.exit_code == 7
    assert missing.stderr == "error: no administration #99\n"


def test_clients_and_new_client() -> None:
    minted = run("new-client").stdout.strip()
    assert minted.startswith("C-") and len(minted) == 8
    run("new-client", "C-9")
    run("score", "srs", "-a", "9,9,9,9", "--client", "C-9", "--date", "2026-01-02")
    rows = json.loads(run("clients", "--json").stdout)
    assert [(r["code"], r["administrations"]) for r in rows] == sorted([(minted, 0), ("C-9", 1)])
    assert run("new-client", "C-9").exit_code == 7


def test_bad_client_code_date_and_modality_are_usage_errors() -> None:
    bad_code = run("score", "srs", "-a", "9,9,9,9", "--client", "Jane Doe")
    assert bad_code.exit_code == 2
    assert bad_code.stderr.startswith('error: client code "Jane Doe" is not allowed')
    bad_date = run("score", "srs", "-a", "9,9,9,9", "--client", "C-1", "--date", "1.2.2026")
    assert bad_date.exit_code == 2
    assert bad_date.stderr == 'error: date "1.2.2026" is not YYYY-MM-DD or YYYY-MM-DDTHH:MM\n'
    assert (
        run("score", "srs", "-a", "9,9,9,9", "--client", "C-1", "--modality", "zoom").exit_code == 2
    )


def test_unknown_client_history_exits_7() -> None:
    assert run("new-client", "X-1").exit_code == 0
    result = run("history", "C-NONE")
    assert result.exit_code == 7
    assert result.stderr.splitlines()[1] == "`alliance clients` lists the codes"


def test_delete_client_needs_the_code_twice(_env: Path) -> None:
    run("score", "srs", "-a", "9,9,9,9", "--client", "C-DEL", "--note", "private", "--new-client")
    refused = run("delete-client", "C-DEL", "--confirm", "C-DE")
    assert refused.exit_code == 2
    assert run("history", "C-DEL").exit_code == 0
    typed = run("delete-client", "C-DEL", stdin="C-DEL\n")
    # CliRunner's stdin is not a terminal: it must ask for --confirm instead of prompting.
    assert typed.exit_code == 2 and "--confirm" in typed.stderr
    # Codes are case-insensitive: the code typed in lower case confirms the stored one.
    done = run("delete-client", "c-del", "--confirm", "C-Del")
    assert done.exit_code == 0
    assert done.stderr == "deleted client C-DEL and 1 administration\n"
    assert run("history", "C-DEL").exit_code == 7


def test_newer_database_is_refused_with_exit_7(_env: Path) -> None:
    import sqlite3

    run("new-client", "C-1")
    with sqlite3.connect(_env) as raw:
        raw.execute("PRAGMA user_version = 999")
    raw.close()
    result = run("clients")
    assert result.exit_code == 7
    assert "schema version 999" in result.stderr


def test_recording_shows_this_sessions_alerts() -> None:
    run("score", "srs", "-a", "9.5,9.5,9.5,9.5", "--client", "C-4", "--new-client")
    result = run("score", "srs", "-a", "9,9,9,8.5", "--client", "C-4")
    # Each alert is led by its chart mark, as in `history`: ▼ a drop, ! past the cutoff.
    assert "▼ Session 2: Total fell 2.5 from session 1 (38 → 35.5)" in result.stdout
    assert "! Session 2: Total 35.5 — Total below 36" in result.stdout
    assert "Session 1:" not in result.stdout
    # The next recording lists session 2 with its mark, as `history` does, and tells only
    # the new session's alerts.
    third = run("score", "srs", "-a", "9.5,9.5,9.5,9.5", "--client", "C-4")
    rows = {
        line.split()[1]: line.split()[4:]
        for line in third.stdout.splitlines()
        if line[:4] == "2026"
    }
    assert rows["2"] == ["-2.5", "▼"] and rows["3"] == ["+2.5"]
    assert "Session 2:" not in third.stdout


# ---------------------------------------------------------------------------------------
# The history a clinician reads: golden files at 80 and 120 columns.
#
# The expected output is kept in tests/data/history/*.txt and compared exactly. After a
# deliberate change of the layout (or of an alert's wording), regenerate them with
#
#     ALLIANCE_REGENERATE_GOLDEN=1 python -m pytest tests/clinic/test_cli_history.py -k golden
#
# and read the diff (`git diff tests/data/history`) before committing it.

GOLDEN = DATA / "history"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("columns", "options", "golden"),
    [
        (80, [], "history-80.txt"),
        (80, ["--scales", "--notes"], "history-80-scales-notes.txt"),
        (120, ["--scales", "--notes"], "history-120-scales-notes.txt"),
    ],
)
def test_history_golden(
    _env: Path, monkeypatch: pytest.MonkeyPatch, columns: int, options: list[str], golden: str
) -> None:
    code = build_history(_env)
    monkeypatch.setenv("COLUMNS", str(columns))
    result = run("history", code, *options)
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    path = GOLDEN / golden
    if os.environ.get("ALLIANCE_REGENERATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")
    # What the golden files must show, whatever their layout (a regenerated file that breaks
    # one of these is wrong):
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= columns
    assert "…" not in text  # nothing truncated
    assert "2026-09-27         9" in text  # the full date, one line per session
    headings = [line for line in lines if line.startswith(("ors ·", "srs ·", "wai-sr"))]
    assert [h.split(" · ")[:2] for h in headings] == [
        ["ors", "client"],
        ["srs", "client"],
        ["wai-sr", "client"],
        ["wai-sr-t", "therapist"],
    ]
    # Repeated alerts told once, with the source once.
    assert "! Total below 25 in sessions 1–7 (18, 20, 21, 23, 23, 24.5, 24):" in text
    assert text.count("rule cutoff · source: ORS adult clinical cutoff 25") == 1
    assert "○ No wai-sr recorded in sessions 5–9;" in text
    # Subscales only with --scales; notes (user text, verbatim) only with --notes.
    table_heads = [line.split() for line in lines if line.startswith("date ")]
    assert all(("Goal+Task" in head) == ("--scales" in options) for head in table_heads[2:])
    joined = " ".join(" ".join(lines).split())
    assert f"by clinician: {LONG_NAME} " in joined and " · [x1] K. Ng " in joined
    if "--notes" in options:
        assert f"session 2 (#5, {LONG_NAME}, in-person): {MARKUP_NOTE}" in joined
    else:
        assert MARKUP_NOTE not in joined
        assert "2 sessions with a note (--notes shows them)" in joined


def test_note_given_with_score_is_shown_verbatim_by_history_notes() -> None:
    note = "[x1] said [/] and [bold]no[/bold] — keep"
    run("new-client", "C-N")
    run("score", "srs", "-a", "9,9,9,9", "--client", "C-N", "--note", note, "--date", "2026-01-02")
    shown = run("history", "C-N", "--notes")
    assert shown.exit_code == 0
    assert f"  session 1 (#1): {note}\n" in shown.stdout
    assert note not in run("history", "C-N").stdout
    # A note cannot drive the terminal: control characters are shown, not sent.
    run("score", "srs", "-a", "9,9,9,9", "--client", "C-N", "--note", "a\x1b[31mred\x07")
    shown = run("history", "C-N", "--notes").stdout
    assert "\x1b" not in shown and "\x07" not in shown
    assert "  session 2 (#2): a\ufffd[31mred\ufffd\n" in shown


@pytest.mark.parametrize("last", ["wai-sr-t", "wai-sr"])
def test_recording_the_form_that_completes_a_swinging_gap_shows_it(last: str) -> None:
    # The gap (client − therapist) goes from +0.42 to −1.25: beyond 2 × 0.25 (the floor).
    client = {1: "5,5,5,5,5,5,4,4,4,4,4,4", 2: "3,3,3,3,3,3,3,3,3,3,3,3"}
    therapist = {1: "5,4,4,4,4,4,4,4,4,4,4,4", 2: "5,5,5,4,4,4,4,4,4,4,4,4"}
    first = last == "wai-sr"
    for n in (1, 2):
        forms = [("wai-sr", client[n]), ("wai-sr-t", therapist[n])]
        if n == 2 and first:
            forms.reverse()
        for qid, answers in forms:
            extra = ["--new-client"] if (n, qid) == (1, "wai-sr") else []
            result = run(
                "score", qid, "-a", answers, "--client", "C-9", "--session", str(n), *extra
            )
            assert result.exit_code == 0, result.output
    assert "≠ Session 2: possible rupture the therapist did not see" in result.stdout
