"""Alerts over a client's series, with the numbers computed by hand in the comments."""

from __future__ import annotations

from pathlib import Path

import pytest

from alliance_cli.alerts import Alert, series_alerts
from alliance_cli.catalog import bundled_dir
from alliance_cli.definitions import load_definition, validate_text
from alliance_cli.history import client_series, record
from alliance_cli.model import Questionnaire
from alliance_cli.result import score
from alliance_cli.store import Store

# SRS answers (four 0–10 items) that add up to each total used below.
SRS = {
    40: "10,10,10,10",
    39.8: "10,10,9.9,9.9",
    39.5: "9.9,9.9,9.9,9.8",
    38.1: "9.6,9.5,9.5,9.5",
    38: "9.5,9.5,9.5,9.5",
    36.4: "9.1,9.1,9.1,9.1",
    36.2: "9.1,9.1,9,9",
    36.1: "9.1,9,9,9",
    36: "9,9,9,9",
    31: "7.8,7.8,7.7,7.7",
    30.5: "7.7,7.6,7.6,7.6",
    30: "7.5,7.5,7.5,7.5",
    26: "6.5,6.5,6.5,6.5",
}


def load(name: str) -> Questionnaire:
    return load_definition(bundled_dir() / f"{name}.yaml")


def alerts_for(
    tmp_path: Path, q: Questionnaire, answers: list[str], sessions: list[int] | None = None
) -> list[Alert]:
    with Store(tmp_path / "h.sqlite3") as store:
        store.new_client("C-1")
        for n, text in enumerate(answers):
            record(
                store, q, score(q, text), client="C-1", session=sessions[n] if sessions else None
            )
        [series] = client_series(store.history("C-1"), lambda qid: q)
    return series_alerts(series)


def rules(found: list[Alert]) -> list[tuple[str, int]]:
    return [(a.rule, a.session) for a in found]


def test_srs_drop_and_cutoff(tmp_path: Path) -> None:
    found = alerts_for(tmp_path, load("srs"), [SRS[38.1], SRS[38], SRS[36], SRS[26]])
    # 38.1 → 38 is a fall of 0.1 (< 1); 38 → 36 a fall of 2; 36 → 26 a fall of 10, below 36.
    drops = [a for a in found if a.rule == "drop"]
    assert [(a.session, a.numbers["fall"]) for a in drops] == [
        (3, pytest.approx(2)),
        (4, pytest.approx(10)),
    ]
    assert drops[0].message == (
        "Session 3: Total fell 2 from session 2 (38 → 36); a fall of 1 or more is worth raising."
    )
    assert "OpenFIT" in drops[0].source
    [cut] = [a for a in found if a.rule == "cutoff"]
    assert (cut.session, cut.numbers["score"], cut.kind) == (4, 26, "concern")
    assert cut.source.startswith("SRS cutoff 36 (Duncan et al. 2003)")
    # 36 itself is not below 36.
    assert all(a.session != 3 for a in found if a.rule == "cutoff")


def test_wai_sr_reliable_fall_with_the_clients_own_sd(tmp_path: Path) -> None:
    q = load("wai-sr")
    found = alerts_for(
        tmp_path,
        q,
        [
            "5,5,5,5,5,5,4,4,4,4,4,4",  # total mean 4.5
            "4,4,4,4,4,4,4,4,4,4,4,4",  # 4.0
            "5,5,5,5,5,5,4,4,4,4,4,4",  # 4.5
            "3,3,3,3,3,3,3,3,3,3,3,3",  # 3.0
        ],
    )
    [rc] = [a for a in found if a.rule == "reliable_change"]
    # Sessions 2 and 3 have fewer than 3 earlier scores: no client SD yet. Session 4: SD of
    # 4.5, 4.0, 4.5 = 0.288675; S_diff = √2 × 0.288675 × √(1 − .92) = 0.115470;
    # RCI = (3.0 − 4.5) / 0.115470 = −12.99 < −1.96.
    assert rc.session == 4
    assert rc.numbers["sd"] == pytest.approx(0.288675, abs=1e-6)
    assert rc.numbers["s_diff"] == pytest.approx(0.115470, abs=1e-6)
    assert rc.numbers["rci"] == pytest.approx(-12.9904, abs=1e-4)
    assert rc.numbers["sd_source"] == "the client's own earlier scores"
    assert rc.numbers["reliability"] == 0.92
    assert "Jacobson & Truax (1991)" in rc.source
    # Rupture: the earlier SD (0.289) is below 10% of the 1–5 range (0.4), which stands in
    # for a sample SD; 4.5 → 3.0 falls 1.5 > 2 × 0.4.
    [rupture] = [a for a in found if a.rule == "rupture"]
    assert (rupture.session, rupture.numbers["sd"]) == (4, pytest.approx(0.4))
    assert rupture.numbers["sd_source"] == "10% of the scale's range (no norm SD)"
    assert rupture.numbers["status"] == "not repaired yet (watch the next 2 sessions)"
    assert {a.scale for a in found} == {"total"}  # WAI-SR watches its total only


def test_high_then_falling_is_a_prompt(tmp_path: Path) -> None:
    found = alerts_for(
        tmp_path,
        load("wai-sr"),
        ["5,5,5,5,5,5,4,4,4,4,4,4", "4,4,4,4,4,4,4,4,4,4,4,4", "4,4,4,4,4,4,3,3,3,3,3,3"],
    )
    # Started at 87.5% of the maximum ((4.5 − 1) / 4) and fell twice: 4.5 → 4.0 → 3.5.
    [pattern] = [a for a in found if a.rule == "high_then_falling"]
    assert (pattern.session, pattern.kind) == (3, "prompt")
    # Falls of 0.5 are not more than 2 × 0.4 (10% of the range): no rupture.
    assert "rupture" not in {a.rule for a in found}


def with_norm(sd: float) -> Questionnaire:
    text = (
        (bundled_dir() / "wai-sr.yaml")
        .read_text("utf-8")
        .replace("reliability: 0.92", f"reliability: 0.92\n        mean: 4.0\n        sd: {sd}")
    )
    q, problems = validate_text(text, "wai-sr.yaml", Questionnaire)
    assert problems == [] and q is not None
    return q


def test_a_norm_sd_is_used_from_the_second_session(tmp_path: Path) -> None:
    found = alerts_for(
        tmp_path,
        with_norm(0.5),
        [
            "5,5,5,5,5,5,4,4,4,4,4,4",  # 4.5
            "3,3,3,3,3,3,3,3,3,4,4,4",  # (27 + 12) / 12 = 3.25
        ],
    )
    [rc] = [a for a in found if a.rule == "reliable_change"]
    # S_diff = √2 × 0.5 × √0.08 = 0.2; RCI = (3.25 − 4.5) / 0.2 = −6.25
    assert rc.numbers["sd_source"] == "the definition's norm"
    assert rc.numbers["rci"] == pytest.approx(-6.25)
    [rupture] = [a for a in found if a.rule == "rupture"]
    # 1.25 > 2 × 0.5 (the norm SD; no client SD after one session)
    assert (rupture.numbers["sd"], rupture.numbers["sd_source"]) == (0.5, "the definition's norm")


def test_the_larger_of_the_clients_and_the_norms_sd(tmp_path: Path) -> None:
    found = alerts_for(
        tmp_path,
        with_norm(0.1),
        [
            "5,5,5,5,5,5,5,5,5,5,5,5",
            "3,3,3,3,3,3,3,3,3,3,3,3",
            "5,5,5,5,5,5,5,5,5,5,5,5",
            "4,4,4,4,4,4,3,3,3,3,3,3",  # 5 → 3.5
        ],
    )
    ruptures = [(a.session, a.numbers["sd"]) for a in found if a.rule == "rupture"]
    # Session 2: no client SD yet, norm SD 0.1: 5 → 3 falls 2 > 0.2. Session 4: client SD of
    # 5, 3, 5 = 1.1547 > 0.1, so 5 → 3.5 (1.5) is not more than 2 × 1.1547.
    assert ruptures == [(2, 0.1)]


def test_ors_published_reliable_change_in_points(tmp_path: Path) -> None:
    q = load("ors")
    found = alerts_for(tmp_path, q, ["5,5,5,5", "4,4,4,3.1", "4,4,4,2.9"])
    # baseline 20; 15.1 is a fall of 4.9 (< 5); 14.9 a fall of 5.1 (≥ 5).
    [rc] = [a for a in found if a.rule == "reliable_change"]
    assert rc.session == 3 and rc.numbers["fall"] == pytest.approx(5.1)
    assert "Miller et al. 2003" in rc.source


def test_ceiling_every_time_is_a_prompt(tmp_path: Path) -> None:
    found = alerts_for(tmp_path, load("srs"), [SRS[39.5], SRS[39.8], SRS[40]])
    [ceiling] = [a for a in found if a.rule == "ceiling"]
    # 39.5 / 40 = 98.75% ≥ 95% in all three sessions.
    assert (ceiling.session, ceiling.kind, ceiling.numbers["sessions"]) == (3, "prompt", 3)
    assert not [
        a
        for a in alerts_for(tmp_path / "b", load("srs"), [SRS[39.5], SRS[36.4], SRS[40]])
        if a.rule == "ceiling"
    ]  # 36.4 is 91%


def test_rupture_repaired(tmp_path: Path) -> None:
    found = alerts_for(tmp_path, load("srs"), [SRS[36], SRS[36.4], SRS[36.2], SRS[26], SRS[36.1]])
    # Earlier SD of 36, 36.4, 36.2 is 0.2, below 10% of the 0–40 range (4), which stands in.
    # 36.2 → 26 falls 10.2 > 2 × 4; repaired when ≥ 36.2 − 0.5 × 4 = 34.2: 36.1.
    [rupture] = [a for a in found if a.rule == "rupture"]
    assert rupture.session == 4
    assert rupture.numbers["sd"] == pytest.approx(4)
    assert rupture.numbers["sd_source"] == "10% of the scale's range (no norm SD)"
    assert rupture.numbers["repaired"] is True and rupture.kind == "info"
    assert rupture.numbers["status"] == "repaired at session 5"


def test_rupture_unrepaired_with_k_1(tmp_path: Path) -> None:
    text = (bundled_dir() / "srs.yaml").read_text("utf-8") + "  rupture: {k: 1}\n"
    q, problems = validate_text(text, "srs.yaml", Questionnaire)
    assert problems == [] and q is not None
    found = alerts_for(tmp_path, q, [SRS[36], SRS[36.4], SRS[36.2], SRS[30], SRS[30.5], SRS[31]])
    # SD 4 (as above); 36.2 → 30 falls 6.2 > 1 × 4; 30.5 and 31 stay below 36.2 − 2 = 34.2.
    [rupture] = [a for a in found if a.rule == "rupture"]
    assert rupture.numbers["sd"] == pytest.approx(4)
    assert rupture.numbers["status"] == "not repaired within 2 sessions"
    assert rupture.kind == "concern"


def test_reliable_change_says_when_it_cannot_run(tmp_path: Path) -> None:
    found = alerts_for(tmp_path, load("srs"), [SRS[38], SRS[36]])
    [note] = [a for a in found if a.rule == "reliable_change"]
    assert note.kind == "info" and note.session == 2
    assert "not computed: the srs definition gives no reliability" in note.message


def test_missing_sessions_and_withheld_scores(tmp_path: Path) -> None:
    found = alerts_for(tmp_path, load("srs"), [SRS[38], "9,9,,9", SRS[38]], sessions=[1, 2, 4])
    missing = [a for a in found if a.rule == "missing"]
    assert [(a.session, a.scale) for a in missing] == [(2, "total"), (3, None)]
    assert missing[0].message == (
        "Session 2: Total withheld (all 4 items are required; 3 answered)."
    )
    assert missing[1].message == "Session 3: no srs recorded (sessions 2 and 4 have one)."


def test_rules_can_be_switched_off(tmp_path: Path) -> None:
    text = (
        (bundled_dir() / "srs.yaml")
        .read_text("utf-8")
        .replace(
            "alerts:\n",
            "alerts:\n  cutoff: {enabled: false}\n  missing: {enabled: false}\n"
            "  reliable_change: {enabled: false}\n",
        )
    )
    q, problems = validate_text(text, "srs.yaml", Questionnaire)
    assert problems == [] and q is not None
    found = alerts_for(tmp_path, q, [SRS[26], SRS[26]], sessions=[1, 3])
    assert rules(found) == []


def test_a_drop_threshold_needs_a_source() -> None:
    text = (bundled_dir() / "wai-sr.yaml").read_text("utf-8") + "alerts:\n  drop: {at_least: 1}\n"
    _, problems = validate_text(text, "w.yaml", Questionnaire)
    assert [p.render().split(" ", 1)[1] for p in problems] == [
        "alerts.drop.source: a rule with at_least needs its source"
    ]


def test_watched_scales_must_exist() -> None:
    text = (bundled_dir() / "wai-sr.yaml").read_text("utf-8") + "alerts:\n  scales: [totl]\n"
    _, problems = validate_text(text, "w.yaml", Questionnaire)
    assert [p.render().split(" ", 1)[1] for p in problems] == [
        'alerts.scales[0]: scale "totl" is not defined (scales are "goal", "task", "bond", '
        '"goal_task", "total")'
    ]
