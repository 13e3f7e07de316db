"""History views: the text chart, client-vs-therapist gaps, means per clinician and modality."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from alliance_cli.catalog import Catalog, bundled_dir
from alliance_cli.cli import app
from alliance_cli.clinic.history import record
from alliance_cli.clinic.overview import client_overview
from alliance_cli.clinic.store import Store
from alliance_cli.result import score
from alliance_cli.ui.chart import chart


def test_chart_reads_without_colour() -> None:
    lines = chart([1, 2, 3], [38.0, None, 30.0], lo=0, hi=40, cutoff=36, marks={3: "R"}, height=5)
    # y from 30 − 0.8 = 29.2 to 38 + 0.8 = 38.8 in 4 steps of 2.4: rows 38.8, 36.4, 34,
    # 31.6, 29.2; 38 → row 0, 36 → row 1 (the cutoff), 30 → row 4.
    assert lines == [
        "38.8 ┤ ●",
        "  36 ┤┄┄┄┄┄┄┄┄┄┄┄┄ cutoff",
        "     ┤",
        "     ┤",
        "29.2 ┤         ●",
        "     └────────────",
        "       1   2   3   session",
        "               R",
    ]
    assert all("\x1b" not in line for line in lines)


def test_a_score_below_the_cutoff_is_drawn_below_its_line() -> None:
    # ORS 18 … 33 with the cutoff 25: rows of 2.34 points, so 24 and 24.5 round onto the
    # cutoff's row; they are drawn on the row under it (below 25 is the clinical range).
    scores = [18.0, 20.0, 21.0, 23.0, 23.0, 24.5, 24.0, 32.3, 33.0]
    lines = chart(list(range(1, 10)), scores, lo=0, hi=40, cutoff=25)
    [cut] = [i for i, line in enumerate(lines) if line.endswith("cutoff")]
    assert "●" not in lines[cut]
    columns = {n: 7 + 4 * (n - 1) for n in range(1, 10)}  # the ● of session n
    for n, value in enumerate(scores, start=1):
        [row] = [i for i, line in enumerate(lines[:-2]) if line[columns[n] : columns[n] + 1] == "●"]
        assert (row > cut) == (value < 25), (n, value, row, cut)


def test_chart_of_nothing_is_empty() -> None:
    assert chart([1], [None], lo=0, hi=40) == []


def save(store: Store, qid: str, text: str, session: int, **kw: str) -> None:
    q = Catalog().get(qid)
    record(store, q, score(q, text), client="C-1", session=session, **kw)  # type: ignore[arg-type]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    opened = Store(tmp_path / "h.sqlite3")
    opened.new_client("C-1")
    return opened


def test_client_and_therapist_gap_widening(store: Store) -> None:
    # client totals 4.5, 4.5, 4.5; therapist 4.25, 4.0, 3.5 → gaps .25, .5, 1: widening.
    for n, (client, therapist) in enumerate(
        [
            ("5,5,5,5,5,5,4,4,4,4,4,4", "5,5,5,4,4,4,4,4,4,4,4,4"),
            ("5,5,5,5,5,5,4,4,4,4,4,4", "4,4,4,4,4,4,4,4,4,4,4,4"),
            ("5,5,5,5,5,5,4,4,4,4,4,4", "4,4,4,4,4,4,3,3,3,3,3,3"),
        ],
        start=1,
    ):
        save(store, "wai-sr", client, n)
        save(store, "wai-sr-t", therapist, n)
    overview = client_overview(store, "C-1", Catalog().get, "wai-sr")
    total = next(g for g in overview.gaps if g.scale == "total")
    assert (total.first.respondent, total.second.respondent) == ("client", "therapist")
    assert [g for _, _, g in total.values] == pytest.approx([0.25, 0.5, 1.0])
    assert total.trend == "widening"
    assert {g.scale for g in overview.gaps} == {"goal", "task", "bond", "goal_task", "total"}
    data = overview.to_dict()
    assert data["comparisons"][-1]["sessions"][2] == {
        "session": 3,
        "first": 4.5,
        "second": 3.5,
        "gap": 1.0,
    }


def test_a_gap_that_swings_is_not_stable_and_raises_a_concern(store: Store) -> None:
    # Session 1: client 4.5, therapist 49/12 = 4.08, gap +0.42. Session 2: client 3.0,
    # therapist 4.25, gap −1.25. The old trend called this "stable" (too few sessions for
    # its three-session pattern): the pattern of a rupture the therapist did not see.
    save(store, "wai-sr", "5,5,5,5,5,5,4,4,4,4,4,4", 1)
    save(store, "wai-sr-t", "5,4,4,4,4,4,4,4,4,4,4,4", 1)
    save(store, "wai-sr", "3,3,3,3,3,3,3,3,3,3,3,3", 2)
    save(store, "wai-sr-t", "5,5,5,4,4,4,4,4,4,4,4,4", 2)
    overview = client_overview(store, "C-1", Catalog().get, "wai-sr")
    total = next(g for g in overview.gaps if g.scale == "total")
    assert [round(g, 2) for _, _, g in total.values] == [0.42, -1.25]
    assert total.trend == "reversed"
    # One earlier gap: its own SD is not estimable, so the floor of the wai-sr rule (6.25%
    # of the 1–5 range = 0.25); the shift −1.67 is more than 2 × 0.25.
    j = total.judgement
    assert j is not None and j.beyond and (j.sd, j.k) == (0.25, 2)
    assert j.shift == pytest.approx(-1.25 - 5 / 12)
    client = next(w for w in overview.watched if w.series.questionnaire.id == "wai-sr")
    [alert] = [a for a in client.alerts if a.rule == "divergence"]
    assert (alert.kind, alert.session, alert.scale) == ("concern", 2, "total")
    assert alert.message == (
        "Session 2: possible rupture the therapist did not see: Total gap (client − therapist) "
        "-1.25 against +0.42 on average in 1 earlier session (the sign flipped), a shift of "
        "-1.67, more than 2 SD (SD 0.25 from the floor of 6.25% of the 1–5 range)."
    )
    assert alert.source.startswith("This project's convention")
    assert overview.to_dict()["comparisons"][-1]["trend"] == "reversed"


def test_a_swing_stays_named_after_the_gap_returns(store: Store) -> None:
    # Gaps +0.42 (s1), +0.5 (s2), −1.25 (s3: client 3.0, therapist 4.25), +0.5 (s4). At
    # session 3 the gap shifts −1.71 from the earlier mean 0.46, beyond 2 × 0.25 (floor);
    # at session 4 the shift is +0.61 against the mean −0.11 of three gaps whose own SD
    # (0.99) is larger than the floor: within 2 SD. The latest gap is stable, yet the
    # swing at session 3 stays in the history as the concern it was.
    save(store, "wai-sr", "5,5,5,5,5,5,4,4,4,4,4,4", 1)
    save(store, "wai-sr-t", "5,4,4,4,4,4,4,4,4,4,4,4", 1)
    save(store, "wai-sr", "5,5,5,5,5,5,4,4,4,4,4,4", 2)
    save(store, "wai-sr-t", "4,4,4,4,4,4,4,4,4,4,4,4", 2)
    save(store, "wai-sr", "3,3,3,3,3,3,3,3,3,3,3,3", 3)
    save(store, "wai-sr-t", "5,5,5,4,4,4,4,4,4,4,4,4", 3)
    save(store, "wai-sr", "5,5,5,5,5,5,4,4,4,4,4,4", 4)
    save(store, "wai-sr-t", "4,4,4,4,4,4,4,4,4,4,4,4", 4)
    overview = client_overview(store, "C-1", Catalog().get, "wai-sr")
    total = next(g for g in overview.gaps if g.scale == "total")
    assert [round(g, 2) for _, _, g in total.values] == [0.42, 0.5, -1.25, 0.5]
    assert [(j.session, j.beyond) for j in total.judged] == [(2, False), (3, True), (4, False)]
    # Within the rule again, yet never "stable" after a swing.
    assert (total.trend, total.trend_text) == ("returned", "returned after a swing at session 3")
    client = next(w for w in overview.watched if w.series.questionnaire.id == "wai-sr")
    found = [(a.session, a.kind) for a in client.alerts if a.rule == "divergence"]
    assert found == [(3, "concern")]


def test_a_gap_is_stable_only_within_the_rule(store: Store) -> None:
    # Gaps +0.42, then +0.5 (client 4.5, therapist 4.0): a shift of 0.08 < 0.5.
    save(store, "wai-sr", "5,5,5,5,5,5,4,4,4,4,4,4", 1)
    save(store, "wai-sr-t", "5,4,4,4,4,4,4,4,4,4,4,4", 1)
    overview = client_overview(store, "C-1", Catalog().get, "wai-sr")
    total = next(g for g in overview.gaps if g.scale == "total")
    assert (total.trend, total.judgement) == ("not judged", None)  # one shared session
    save(store, "wai-sr", "5,5,5,5,5,5,4,4,4,4,4,4", 2)
    save(store, "wai-sr-t", "4,4,4,4,4,4,4,4,4,4,4,4", 2)
    overview = client_overview(store, "C-1", Catalog().get, "wai-sr")
    total = next(g for g in overview.gaps if g.scale == "total")
    assert total.trend == "stable"
    assert not [a for w in overview.watched for a in w.alerts if a.rule == "divergence"]


def test_means_per_clinician_and_modality(store: Store) -> None:
    save(store, "srs", "9,9,9,9", 1, modality="in-person", clinician="A")
    save(store, "srs", "9.5,9.5,9.5,9.5", 2, modality="in-person", clinician="B")
    save(store, "srs", "8,8,8,8", 3, modality="video", clinician="A")
    save(store, "srs", "7,7,7,7", 4, modality="video", clinician="A")
    data = client_overview(store, "C-1", Catalog().get).to_dict()
    means = data["series"][0]["means"]["total"]
    # in-person: (36 + 38) / 2 = 37; video: (32 + 28) / 2 = 30; A: (36 + 32 + 28) / 3 = 32
    assert means["modality"] == {
        "in-person": {"mean": 37.0, "sessions": 2},
        "video": {"mean": 30.0, "sessions": 2},
    }
    assert means["clinician"] == {
        "A": {"mean": 32.0, "sessions": 3},
        "B": {"mean": 38.0, "sessions": 1},
    }


def test_history_command_shows_chart_gap_and_means(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "h.sqlite3"
    monkeypatch.setenv("ALLIANCE_DB", str(db))
    monkeypatch.setenv("NO_COLOR", "1")
    with Store(db) as store:
        store.new_client("C-1")
        save(store, "srs", "9,9,9,9", 1, modality="in-person")
        save(store, "srs", "8,8,8,8", 2, modality="video")
    result = CliRunner().invoke(app, ["history", "C-1"])
    assert result.exit_code == 0
    out = result.stdout
    assert "Total (srs, client) by session" in out
    assert "┄ cutoff" in out
    assert "mean Total by modality: in-person 36 (n=1) · video 32 (n=1)" in out
    assert "! Session 2: Total 32 — Total below 36" in out


def test_a_session_with_other_measures_but_no_srs_is_missing(store: Store) -> None:
    save(store, "ors", "5,5,5,5", 1)
    save(store, "srs", "9,9,9,9", 2)
    save(store, "ors", "5,5,5,5", 2)
    save(store, "ors", "5,5,5,5", 3)
    overview = client_overview(store, "C-1", Catalog().get)
    srs = next(w for w in overview.watched if w.series.questionnaire.id == "srs")
    missing = [(a.session, a.message) for a in srs.alerts if a.rule == "missing"]
    assert missing == [
        (1, "Session 1: no srs recorded (the client has other records at this session)."),
        (3, "Session 3: no srs recorded (the client has other records at this session)."),
    ]


def test_a_vanished_definition_does_not_hide_the_rest(tmp_path: Path, store: Store) -> None:
    from alliance_cli.definitions import load_definition
    from tests.helpers import TINY_YAML

    (tmp_path / "tiny.yaml").write_text(TINY_YAML, "utf-8")
    tiny = load_definition(tmp_path / "tiny.yaml")
    record(store, tiny, score(tiny, "5,1,4,4"), client="C-1")
    save(store, "srs", "9,9,9,9", 1)
    overview = client_overview(store, "C-1", Catalog().get)  # no tiny in this catalog
    assert [w.series.questionnaire.id for w in overview.watched] == ["srs"]
    assert overview.skipped == [
        "1 tiny administration (client) left out: no questionnaire "
        '"tiny" (known: care, haq-ii, ors, srs, wai, wai-s, wai-sr, '
        "wai-sr-t)"
    ]


def judged(q: object, gaps_: list[float]) -> list[bool]:
    from alliance_cli.clinic.divergence import judge_gap

    _, found = judge_gap(q, "total", list(range(1, len(gaps_) + 1)), gaps_)  # type: ignore[arg-type]
    return [j.beyond for j in found]


def test_divergence_threshold_is_more_than_k_sd() -> None:
    # WAI-SR: k = 2, floor 6.25% of the 1–5 range = 0.25; one earlier gap (no own SD):
    # a shift of 0.49 is within 2 × 0.25, 0.51 beyond, either way.
    q = Catalog().get("wai-sr")
    assert judged(q, [0.0, 0.49]) == [False]
    assert judged(q, [0.0, 0.51]) == [True]
    assert judged(q, [0.0, -0.49]) == [False]
    assert judged(q, [0.0, -0.51]) == [True]


def test_divergence_direction_on_a_higher_is_worse_pair() -> None:
    from alliance_cli.clinic.alerts import gap_alerts
    from alliance_cli.clinic.divergence import Gap, judge_gap
    from alliance_cli.clinic.history import Series
    from alliance_cli.definitions import validate_text
    from alliance_cli.model import Questionnaire

    text = (
        (bundled_dir() / "wai-sr.yaml")
        .read_text("utf-8")
        .replace("higher_is: better", "higher_is: worse")
    )
    worse, problems = validate_text(text, "wai-sr.yaml", Questionnaire)
    assert problems == [] and worse is not None
    kinds = {}
    for q in (Catalog().get("wai-sr"), worse):
        # The client now rates 0.51 higher than the therapist, relative to before.
        trend, found = judge_gap(q, "total", [1, 2], [0.0, 0.51])
        gap = Gap(
            "total",
            Series(q, "client", []),
            Series(q, "therapist", []),
            [1, 2],
            [(4, 4, 0.0), (4.51, 4, 0.51)],
            trend,
            found,
        )
        [alert] = gap_alerts(gap)
        kinds[q.scales["total"].higher_is.value] = (alert.kind, alert.message.split(":")[1])
    # Higher is better: the client rates the alliance better than the therapist does.
    assert kinds["better"] == (
        "prompt",
        " the therapist now rates Total worse than the client does, relative to before",
    )
    # Higher is worse: the client rates it worse — a rupture the therapist may not see.
    assert kinds["worse"] == ("concern", " possible rupture the therapist did not see")


def test_the_questionnaire_may_be_named_by_an_alias(store: Store) -> None:
    """`history -q` and `report -q` pass the name as typed: the overview resolves it (the
    commands no longer do), so an alias picks the same series and partner as the id."""
    save(store, "wai-sr", "5,5,5,5,5,5,4,4,4,4,4,4", 1)
    save(store, "wai-sr-t", "5,5,5,4,4,4,4,4,4,4,4,4", 1)
    save(store, "srs", "9,9,9,9", 1)
    by_id = client_overview(store, "C-1", Catalog().get, "wai-sr")
    by_alias = client_overview(store, "C-1", Catalog().get, "WAISR-Client")
    assert [w.series.questionnaire.id for w in by_alias.watched] == ["wai-sr", "wai-sr-t"]
    assert by_alias.to_dict() == by_id.to_dict()
