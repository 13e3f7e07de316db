"""Chart marks and grouped alerts: one table and one grouping for the history and the report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alliance_cli.catalog import Catalog
from alliance_cli.cli import app
from alliance_cli.clinic.alertgroups import (
    CUTOFF,
    FALL,
    PROMPT,
    RUPTURE,
    group_alerts,
    legend,
    mark_for,
    session_marks,
    session_ranges,
)
from alliance_cli.clinic.alerts import Alert


def alert(rule: str, kind: str, session: int, **numbers: float | str) -> Alert:
    return Alert(
        rule, kind, "ors", "client", "total", session, f"Session {session}: x", "src", numbers
    )


@pytest.mark.parametrize(
    ("sessions", "text"),
    [
        ([4], "session 4"),
        ([2, 1], "sessions 1 and 2"),
        ([1, 2, 3, 4, 5, 6, 7], "sessions 1–7"),
        ([1, 2, 3, 5, 7, 8], "sessions 1–3, 5, 7 and 8"),
        ([3, 4, 7, 7], "sessions 3, 4 and 7"),
    ],
)
def test_session_ranges(sessions: list[int], text: str) -> None:
    assert session_ranges(sessions) == text


def test_information_notes_have_no_mark_and_the_strongest_mark_wins() -> None:
    repaired = alert("rupture", "info", 3)
    not_computed = alert("reliable_change", "info", 8)
    assert mark_for(repaired) is None and mark_for(not_computed) is None
    assert mark_for(alert("rupture", "concern", 3)) is RUPTURE
    assert mark_for(alert("reliable_change", "concern", 3)) is FALL
    assert mark_for(alert("high_then_falling", "prompt", 3)) is PROMPT
    assert mark_for(alert("a_rule_added_later", "concern", 3)).symbol == "*"  # type: ignore[union-attr]
    found = [
        repaired,
        alert("high_then_falling", "prompt", 3),
        alert("cutoff", "concern", 4),
        alert("drop", "concern", 4),
        not_computed,
    ]
    marks = session_marks(found, ["total"])
    assert {n: m.symbol for n, m in marks.items()} == {3: "?", 4: "▼"}
    assert legend(marks.values()) == [FALL, PROMPT]
    assert session_marks(found, ["goal"]) == {}  # another scale's alerts are not marked


def test_repeats_of_one_rule_are_one_group_with_the_source_once() -> None:
    ors = Catalog().get("ors")
    found = [
        alert("cutoff", "concern", n, score=s, band="clinical-range")
        for n, s in zip(range(1, 8), (18, 20, 21, 23, 23, 24.5, 24), strict=True)
    ]
    found.insert(3, alert("rupture", "concern", 4))
    found.append(alert("rupture", "info", 9))
    groups = group_alerts(ors, found)
    assert [(g.rule, g.sessions) for g in groups] == [
        ("cutoff", [1, 2, 3, 4, 5, 6, 7]),
        ("rupture", [4]),
        ("rupture", [9]),
    ]
    assert groups[0].message == (
        "Total below 25 in sessions 1–7 (18, 20, 21, 23, 23, 24.5, 24): A total below 25 is in "
        "the clinical range for adults."
    )
    assert groups[0].mark is CUTOFF and groups[0].source == "src"
    assert groups[1].message == "Session 4: x"  # ruptures are told one by one
    # A single alert is told as it is.
    assert group_alerts(ors, found[:1])[0].message == "Session 1: x"


def test_json_keeps_every_alert_and_adds_the_groups(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.helpers import build_history

    db = tmp_path / "h.sqlite3"
    monkeypatch.setenv("ALLIANCE_DB", str(db))
    code = build_history(db)
    result = CliRunner().invoke(app, ["history", code, "--json"])
    assert result.exit_code == 0, result.output
    [ors] = [s for s in json.loads(result.stdout)["series"] if s["questionnaire"] == "ors"]
    assert [a["session"] for a in ors["alerts"] if a["rule"] == "cutoff"] == list(range(1, 8))
    assert [(g["rule"], g["sessions"]) for g in ors["alert_groups"]] == [
        ("cutoff", list(range(1, 8)))
    ]


def test_a_long_source_is_told_once_per_list() -> None:
    # Two ruptures of one series are two groups (each tells its own story) with one long
    # source: shown in full under the first, "as above" under the second; JSON keeps both.
    first, second = alert("rupture", "concern", 3), alert("rupture", "concern", 7)
    other = Alert("cutoff", "concern", "ors", "client", "total", 5, "x", "elsewhere", {})
    groups = group_alerts(Catalog().get("ors"), [second, other, first])
    assert [(g.sessions, g.shown_source) for g in groups] == [
        ([3], "src"),
        ([5], "elsewhere"),
        ([7], "as above"),
    ]
    assert [g.to_dict()["source"] for g in groups] == ["src", "elsewhere", "src"]


def test_repeated_reliable_falls_are_one_group(tmp_path: Path) -> None:
    # ORS totals 30, 24, 24, 24: each later session is 6 points below the baseline 30, at
    # least the published 5 (Miller et al. 2003); the cutoff (below 25) fires at 2–4 too.
    from alliance_cli.clinic.overview import client_overview
    from alliance_cli.clinic.store import Store
    from alliance_cli.result import score
    from tests.helpers import record

    ors = Catalog().get("ors")
    with Store(tmp_path / "h.sqlite3") as store:
        for answers in ("8,8,7,7", "6,6,6,6", "6,6,6,6", "6,6,6,6"):
            record(store, ors, score(ors, answers), client="C-1")
        [w] = client_overview(store, "C-1", Catalog().get).watched
    groups = group_alerts(ors, w.alerts)
    [fall] = [g for g in groups if g.rule == "reliable_change"]
    assert fall.sessions == [2, 3, 4] and fall.mark is FALL
    assert fall.message == (
        "Total fell reliably from the baseline 30 in sessions 2–4 (24, 24, 24): each fall at "
        "least the published 5 points."
    )
    assert len([a for a in w.alerts if a.rule == "reliable_change"]) == 3  # JSON keeps all
