"""Alerts over a client's series, with the numbers computed by hand in the comments."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from alliance_cli.catalog import bundled_dir
from alliance_cli.clinic.alerts import Alert, series_alerts
from alliance_cli.clinic.history import client_series
from alliance_cli.clinic.store import Store
from alliance_cli.definitions import load_definition, validate_text
from alliance_cli.model import Questionnaire
from alliance_cli.result import score
from tests.helpers import record

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
        [series] = client_series(store, store.history("C-1"), lambda qid: q)
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


# WAI-SR totals (means of 12 items) used below: 54/12 = 4.5, 50/12, 53/12, 37/12.
W45 = "5,5,5,5,5,5,4,4,4,4,4,4"
W417 = "5,5,4,4,4,4,4,4,4,4,4,4"
W442 = "5,5,5,5,5,4,4,4,4,4,4,4"
W308 = "4,3,3,3,3,3,3,3,3,3,3,3"


def test_reliable_change_never_uses_the_clients_own_sd(tmp_path: Path) -> None:
    # The case: earlier totals 4.5, 4.17, 4.42 have SD 0.17; with it, old code
    # reported "RCI −20.42 … SD 0.17 from the client's own earlier scores". That SD is the
    # client's fluctuation, not measurement error: without a reference SD there is no RCI.
    found = alerts_for(tmp_path, load("wai-sr"), [W45, W417, W442, W308])
    [rc] = [a for a in found if a.rule == "reliable_change"]
    assert (rc.kind, rc.session, rc.numbers) == ("info", 4, {})
    assert rc.message == (
        "Session 4: reliable change of Total not computed, because there is no reference SD: "
        "none is published for it, and the practice has no norm of its own yet (`alliance "
        "norms build -q wai-sr`); a client's own session-to-session spread is not one."
    )
    # Rupture detection is ipsative: there the client's own SD (0.17) is legitimate, but
    # never below the floor of 6.25% of the 1–5 range (0.25); 4.42 → 3.08 falls 1.33 > 0.5.
    [rupture] = [a for a in found if a.rule == "rupture"]
    assert (rupture.session, rupture.numbers["sd"]) == (4, 0.25)
    assert rupture.numbers["sd_source"] == "the floor of 6.25% of the 1–5 range"
    assert rupture.numbers["status"] == "not repaired yet (watch the next 2 sessions)"
    assert rupture.source.startswith("Adapted from Stiles")
    assert {a.scale for a in found} == {"total"}  # WAI-SR watches its total only


def local_norm(q: Questionnaire, sd: float = 0.61, built: str = "2026-12-07T10:00:00+00:00"):  # type: ignore[no-untyped-def]
    from alliance_cli.clinic.norms import LocalNorm

    return LocalNorm(
        questionnaire=q.id,
        version=q.version,
        content_hash=q.content_hash(),
        scale="total",
        respondent="client",
        n=48,
        mean=3.9,
        sd=sd,
        first_date="2026-01-04",
        last_date="2026-11-30",
        reliability=0.92,
        reliability_source="Hanson, Curry & Bandalos (2002), Educational and Psychological "
        "Measurement",
        min_n=30,
        built_at=built,
        id=1,
    )


def test_reliable_change_with_the_practices_norm_names_it(tmp_path: Path) -> None:
    q = load("wai-sr")
    with Store(tmp_path / "h.sqlite3") as store:
        for text in (W45, W417, W442, W308):
            record(store, q, score(q, text), client="C-1")
        [series] = client_series(store, store.history("C-1"), lambda qid: q)
    found = series_alerts(series, local=[local_norm(q, 9.9, "2026-01-01"), local_norm(q)])
    [rc] = [a for a in found if a.rule == "reliable_change"]
    # The newest norm: S_diff = √2 × 0.61 × √(1 − .92) = 0.244; RCI = (37/12 − 4.5) / 0.244
    # = −5.81.
    assert rc.kind == "concern" and rc.numbers["rci"] == pytest.approx(-5.806, abs=1e-3)
    assert rc.numbers["basis"] == "local" and rc.numbers["norm_id"] == 1
    assert rc.message == (
        "Session 4: Total 3.08 is a reliable fall from the baseline 4.5 (session 1): "
        "RCI -5.81, beyond ±1.96; SD 0.61 from the practice's norm of 2026-12-07, n = 48, "
        "clients' first sessions 2026-01-04…2026-11-30; reliability .92 from Hanson, Curry "
        "& Bandalos (2002), Educational and Psychological Measurement (the definition "
        "publishes no SD)."
    )
    # A norm built under another version of the definition is not used, and that is said.
    stale = local_norm(q).__class__(**{**local_norm(q).to_dict(), "content_hash": "x"})
    [note] = [a for a in series_alerts(series, local=[stale]) if a.rule == "reliable_change"]
    assert note.kind == "info" and "was built under another version of the wai-sr" in note.message


def test_high_then_falling_is_a_prompt(tmp_path: Path) -> None:
    found = alerts_for(
        tmp_path,
        load("wai-sr"),
        ["5,5,5,5,5,5,4,4,4,4,4,4", "4,4,4,4,4,4,4,4,4,4,4,4", "4,4,4,4,4,4,3,3,3,3,3,3"],
    )
    # Started at 87.5% of the maximum ((4.5 − 1) / 4) and fell twice: 4.5 → 4.0 → 3.5.
    [pattern] = [a for a in found if a.rule == "high_then_falling"]
    assert (pattern.session, pattern.kind) == (3, "prompt")
    # Falls of 0.5 are not more than 2 × 0.25 (the floor, 6.25% of the range): no rupture.
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


def test_a_published_norm_sd_takes_precedence(tmp_path: Path) -> None:
    q = with_norm(0.5)
    with Store(tmp_path / "h.sqlite3") as store:
        for text in ("5,5,5,5,5,5,4,4,4,4,4,4", "3,3,3,3,3,3,3,3,3,4,4,4"):  # 4.5, 3.25
            record(store, q, score(q, text), client="C-1")
        [series] = client_series(store, store.history("C-1"), lambda qid: q)
    found = series_alerts(series, local=[local_norm(q)])
    [rc] = [a for a in found if a.rule == "reliable_change"]
    # S_diff = √2 × 0.5 × √0.08 = 0.2; RCI = (3.25 − 4.5) / 0.2 = −6.25
    assert (rc.numbers["basis"], rc.numbers["sd"]) == ("published", 0.5)
    assert rc.numbers["rci"] == pytest.approx(-6.25)
    assert rc.message.endswith(
        "RCI -6.25, beyond ±1.96; SD 0.5 from the published norm (WAI-family reliability "
        "generalization (modal alpha); Hanson, Curry & Bandalos (2002), Educational and "
        "Psychological Measurement), reliability .92 from Hanson, Curry & Bandalos (2002), "
        "Educational and Psychological Measurement; a published norm takes precedence over "
        "the practice's own."
    )
    # The rupture rule never takes a norm's between-client SD: the floor (0.25) after one
    # session; 1.25 > 2 × 0.25.
    [rupture] = [a for a in found if a.rule == "rupture"]
    assert (rupture.numbers["sd"], rupture.numbers["floor"]) == (0.25, 0.25)


def test_the_larger_of_the_clients_own_sd_and_the_floor(tmp_path: Path) -> None:
    found = alerts_for(
        tmp_path,
        load("wai-sr"),
        [
            "5,5,5,5,5,5,5,5,5,5,5,5",
            "3,3,3,3,3,3,3,3,3,3,3,3",
            "5,5,5,5,5,5,5,5,5,5,5,5",
            "4,4,4,4,4,4,3,3,3,3,3,3",  # 5 → 3.5
        ],
    )
    ruptures = [(a.session, a.numbers["sd"]) for a in found if a.rule == "rupture"]
    # Session 2: no client SD yet, the floor 0.25: 5 → 3 falls 2 > 0.5. Session 4: client SD
    # of 5, 3, 5 = 1.1547 > 0.25, so 5 → 3.5 (1.5) is not more than 2 × 1.1547.
    assert ruptures == [(2, 0.25)]


def test_ors_published_reliable_change_in_points(tmp_path: Path) -> None:
    q = load("ors")
    found = alerts_for(tmp_path, q, ["5,5,5,5", "4,4,4,3.1", "4,4,4,2.9"])
    # baseline 20; 15.1 is a fall of 4.9 (< 5); 14.9 a fall of 5.1 (≥ 5).
    [rc] = [a for a in found if a.rule == "reliable_change"]
    assert rc.session == 3 and rc.numbers["fall"] == pytest.approx(5.1)
    assert rc.numbers["basis"] == "points" and rc.numbers["points"] == 5
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
    # Earlier SD of 36, 36.4, 36.2 is 0.2, below the SRS floor of 6.25% of 0–40 (2.5
    # points). 36.2 → 26 falls 10.2 > 2 × 2.5; repaired when ≥ 36.2 − 0.5 × 2.5 = 34.95: 36.1.
    [rupture] = [a for a in found if a.rule == "rupture"]
    assert rupture.session == 4
    assert rupture.numbers["sd"] == pytest.approx(2.5)
    assert rupture.numbers["sd_source"] == "the floor of 6.25% of the 0–40 range"
    assert rupture.numbers["repaired"] is True and rupture.kind == "info"
    assert rupture.numbers["status"] == "repaired at session 5"


def test_srs_rupture_of_seven_points_is_found_and_repaired(tmp_path: Path) -> None:
    # The case: 39, 39, 39, 39, 32, 38.8. The old fallback SD (10% of the range, 4)
    # needed a fall of more than 8 points. Now: the client's own SD (0) is below the floor
    # (2.5 points), so 39 → 32 (7) > 2 × 2.5 is a rupture, repaired by 38.8 ≥ 39 − 1.25.
    t39, t32, t388 = "9.8,9.8,9.7,9.7", "8,8,8,8", "9.7,9.7,9.7,9.7"
    found = alerts_for(tmp_path, load("srs"), [t39, t39, t39, t39, t32, t388])
    [rupture] = [a for a in found if a.rule == "rupture"]
    assert (rupture.session, rupture.kind, rupture.numbers["status"]) == (
        5,
        "info",
        "repaired at session 6",
    )
    assert rupture.message == (
        "Session 5: possible rupture: Total fell 7 (39 → 32), more than 2 SD (SD 2.5 from "
        "the floor of 6.25% of the 0–40 range); repaired means back to 37.75 within 2 "
        "sessions; "
        "repaired at session 6."
    )
    # The definition states the rule, its parameters and that it is our adaptation.
    assert rupture.source.startswith("Adapted from Stiles et al. (2004)")
    assert "floor" in rupture.source and "this project's" in rupture.source
    # The floor is justified by the ORS's published reliable change on the same format.
    assert "Miller et al. (2003)" in rupture.source and "6.25%" in rupture.source


def test_rupture_unrepaired_with_k_1_then_returned_late(tmp_path: Path) -> None:
    text = (bundled_dir() / "srs.yaml").read_text("utf-8").replace("    k: 2\n", "    k: 1\n")
    q, problems = validate_text(text, "srs.yaml", Questionnaire)
    assert problems == [] and q is not None and q.alerts.rupture.k == 1
    series = [SRS[36], SRS[36.4], SRS[36.2], SRS[30], SRS[30.5], SRS[31]]
    found = alerts_for(tmp_path, q, series)
    # SD 2.5 (the floor); 36.2 → 30 falls 6.2 > 1 × 2.5; 30.5 and 31 stay below 34.95.
    [rupture] = [a for a in found if a.rule == "rupture"]
    assert rupture.numbers["status"] == "not repaired within 2 sessions"
    assert rupture.kind == "concern" and rupture.numbers["returned_at"] is None
    # A later session back at the pre-drop level updates the status, outside the window.
    later = alerts_for(tmp_path / "b", q, [*series, SRS[31], SRS[36]])
    [rupture] = [a for a in later if a.rule == "rupture" and a.session == 4]
    assert rupture.numbers["status"] == "returned at session 8, after the 2-session window"
    assert rupture.numbers["returned_at"] == 8 and rupture.kind == "concern"


def test_reliable_change_says_when_it_cannot_run(tmp_path: Path) -> None:
    found = alerts_for(tmp_path, load("srs"), [SRS[38], SRS[36]])
    [note] = [a for a in found if a.rule == "reliable_change"]
    assert note.kind == "info" and note.session == 2
    assert "reliable change of Total not computed, because there is no reference SD" in (
        note.message
    )
    # Hints for definition authors are not for the clinician reading alerts.
    for a in found:
        assert "add a norm" not in a.message and "alerts.reliable_change" not in a.message


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
            "alerts:\n  cutoff: {enabled: false}\n  missing: {enabled: false}\n",
        )
        .replace("  reliable_change:\n", "  reliable_change:\n    enabled: false\n")
    )
    q, problems = validate_text(text, "srs.yaml", Questionnaire)
    assert problems == [] and q is not None
    found = alerts_for(tmp_path, q, [SRS[26], SRS[26]], sessions=[1, 3])
    assert rules(found) == []


def test_a_drop_threshold_needs_a_source() -> None:
    text = (
        (bundled_dir() / "wai-sr.yaml")
        .read_text("utf-8")
        .replace("\nalerts:\n", "\nalerts:\n  drop: {at_least: 1}\n")
    )
    _, problems = validate_text(text, "w.yaml", Questionnaire)
    assert [p.render().split(" ", 1)[1] for p in problems] == [
        "alerts.drop.source: a rule with at_least needs its source"
    ]


def test_watched_scales_must_exist() -> None:
    text = (
        (bundled_dir() / "wai-sr.yaml")
        .read_text("utf-8")
        .replace("\nalerts:\n", "\nalerts:\n  scales: [totl]\n")
    )
    _, problems = validate_text(text, "w.yaml", Questionnaire)
    assert [p.render().split(" ", 1)[1] for p in problems] == [
        'alerts.scales[0]: scale "totl" is not defined (scales are "goal", "task", "bond", '
        '"goal_task", "total")'
    ]


@pytest.mark.slow
def test_hints_for_authors_only_in_show_and_validate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from alliance_cli.cli import app

    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "400")
    runner = CliRunner()
    note = (
        "note: reliable change of Total (total) has no published reference: add the `sd` of a "
        "reference sample to a norm under scales.total.norms (reliability .92 is given), or a "
        "published amount as `alerts.reliable_change.points` with its `source`; until then it "
        "needs the practice's own norm (`alliance norms build -q wai-sr`)"
    )
    shown = runner.invoke(app, ["show", "wai-sr"])
    assert shown.exit_code == 0 and note in shown.stderr
    path = str(bundled_dir() / "wai-sr.yaml")
    checked = runner.invoke(app, ["validate", path])
    assert (checked.exit_code, checked.stdout) == (0, "OK: 1 file valid\n")
    assert checked.stderr == f"{path}: {note}\n"
    # ORS publishes its amount: nothing to note.
    assert "note:" not in runner.invoke(app, ["show", "ors"]).stderr

    db = str(tmp_path / "h.sqlite3")
    assert runner.invoke(app, ["new-client", "C-1", "--db", db]).exit_code == 0
    said = []
    for answers in (W45, W417, W442, W308):
        scored = runner.invoke(
            app, ["score", "wai-sr", "--answers", answers, "--client", "C-1", "--db", db]
        )
        assert scored.exit_code == 0, scored.output
        said.append(scored.stdout + scored.stderr)
    history = runner.invoke(app, ["history", "C-1", "--db", db])
    as_json = runner.invoke(app, ["history", "C-1", "--db", db, "--json"])
    report = tmp_path / "r.html"
    assert runner.invoke(app, ["report", "C-1", "--db", db, "-o", str(report)]).exit_code == 0
    said += [history.stdout + history.stderr, as_json.stdout, report.read_text("utf-8")]
    assert "reliable change of Total not computed, because there is no reference SD" in said[-3]
    for text in said:
        for hint in ("add a norm", "add the `sd`", "alerts.reliable_change", "`reliability`"):
            assert hint not in text


def test_show_states_every_alert_rule_with_its_parameters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from typer.testing import CliRunner

    from alliance_cli.cli import app

    monkeypatch.setenv("NO_COLOR", "1")
    shown = CliRunner().invoke(app, ["show", "srs"], env={"COLUMNS": "80"})
    assert shown.exit_code == 0
    lines = shown.stdout.splitlines()
    start = lines.index("alert rules (watched: total):")
    # One paragraph per rule ("  name: …"), wrapped to the width with deeper-indented
    # continuation lines.
    rules = [m[1] for line in lines[start + 1 :] if (m := re.match(r"^  (\w+): ", line))]
    assert rules == [
        "cutoff",
        "drop",
        "reliable_change",
        "rupture",
        "divergence",
        "high_then_falling",
        "ceiling",
        "missing",
    ]
    end = next((i for i in range(start + 1, len(lines)) if not lines[i].strip()), len(lines))
    block = lines[start:end]
    assert max(len(line) for line in block) <= 80, block  # wrapped, not one 800-wide line
    text = " ".join(shown.stdout.split())
    assert (
        "rupture: a fall of more than 2 SD, SD the larger of the client's own (from 3 earlier "
        "sessions) and 6.25% of the range; repaired within 2 sessions at the pre-drop score "
        "less 0.5 SD. Source: Adapted from Stiles et al. (2004)" in text
    )
    ors = " ".join(CliRunner().invoke(app, ["show", "ors"]).stdout.split())
    assert "rupture: off" in ors
    assert "reliable_change: a fall of at least 5 points from the baseline" in ors


# -- a higher-is-worse scale: every rule reads the direction from `higher_is` ----------------


def worse_srs() -> Questionnaire:
    """The SRS with its total declared higher-is-worse (a test definition)."""
    text = (
        (bundled_dir() / "srs.yaml")
        .read_text("utf-8")
        .replace("higher_is: better", "higher_is: worse")
    )
    q, problems = validate_text(text, "srs-worse.yaml", Questionnaire)
    assert problems == [] and q is not None
    return q


def flat(total: float) -> str:
    """SRS answers with four equal items adding up to ``total``."""
    return ",".join([f"{total / 4:g}"] * 4)


def test_ceiling_on_a_higher_is_worse_scale_is_the_best_end(tmp_path: Path) -> None:
    q = worse_srs()
    # 0.8, 0.4, 0 on a 0–40 scale where lower is better: 98%, 99%, 100% of the best.
    found = alerts_for(tmp_path, q, [flat(0.8), flat(0.4), flat(0)])
    [ceiling] = [a for a in found if a.rule == "ceiling"]
    assert ceiling.session == 3 and ceiling.kind == "prompt"
    assert ceiling.message == (
        "Session 3: Total has been at the best end of the scale in all 3 sessions (≥ 95% of "
        "the best possible, 0). Scores this good every time can hide problems; invite "
        "honest, even critical, feedback."
    )
    # The worst end (raw 39.2, 39.6, 40) is not a ceiling of a good alliance.
    worst = alerts_for(tmp_path / "b", q, [flat(39.2), flat(39.6), flat(40)])
    assert "ceiling" not in {a.rule for a in worst}


def test_high_then_falling_on_a_higher_is_worse_scale(tmp_path: Path) -> None:
    q = worse_srs()
    # Started at 2 (95% of the best possible: (40 − 2) / 40), then worsened twice: 4, 6.
    found = alerts_for(tmp_path, q, [flat(2), flat(4), flat(6)])
    [pattern] = [a for a in found if a.rule == "high_then_falling"]
    assert (pattern.session, pattern.numbers["first_pomp"]) == (3, 95)
    assert "started at the best end (95% of the best possible)" in pattern.message
    # Starting at the worst end and improving is no such pattern.
    better = alerts_for(tmp_path / "b", q, [flat(38), flat(36), flat(34)])
    assert "high_then_falling" not in {a.rule for a in better}


def test_drop_and_rupture_on_a_higher_is_worse_scale(tmp_path: Path) -> None:
    q = worse_srs()
    # 2, 2, 2, then 8: a rise of 6 is a fall for the worse (≥ 1: a drop; > 2 × 2.5: a
    # rupture), repaired at 3.2 ≤ 2 + 0.5 × 2.5 = 3.25. The improvement 8 → 3.2 is no drop.
    found = alerts_for(tmp_path, q, [flat(2), flat(2), flat(2), flat(8), flat(3.2)])
    assert [(a.session, a.numbers["fall"]) for a in found if a.rule == "drop"] == [(4, 6)]
    [rupture] = [a for a in found if a.rule == "rupture"]
    assert rupture.session == 4 and rupture.numbers["repair_target"] == pytest.approx(3.25)
    assert rupture.numbers["status"] == "repaired at session 5"


def test_a_two_point_wobble_on_the_srs_is_no_rupture(tmp_path: Path) -> None:
    # 38, 38, 38, 35.9: a fall of 2.1, within 2 × 2.5 (the floor, 6.25% of 0–40).
    found = alerts_for(tmp_path, load("srs"), [SRS[38], SRS[38], SRS[38], "9,9,9,8.9"])
    assert "rupture" not in {a.rule for a in found}
    assert "drop" in {a.rule for a in found}  # the OpenFIT 1-point drop still says it


# -- the reference of reliable change is one sample ------------------------------------------


def with_norms(extra: str) -> Questionnaire:
    """WAI-SR whose total has, after its published reliability (.92), the norms in ``extra``."""
    text = (
        (bundled_dir() / "wai-sr.yaml")
        .read_text("utf-8")
        .replace("        reliability: 0.92\n", "        reliability: 0.92\n" + extra)
    )
    q, problems = validate_text(text, "wai-sr.yaml", Questionnaire)
    assert problems == [] and q is not None
    return q


SD_ONLY = "      - {population: Sample A, source: Author A (2001), sd: 0.5}\n"
BOTH = "      - {population: Sample B, source: Author B (2002), sd: 0.4, reliability: 0.84}\n"


def test_reliable_change_prefers_a_norm_with_both_sd_and_reliability() -> None:
    from alliance_cli.clinic.change import basis

    ref = basis(with_norms(SD_ONLY + BOTH), "total", "client")
    assert not isinstance(ref, str)
    # Sample B gives both: its SD and its reliability, never A's SD with the .92 of another.
    assert (ref.sd, ref.reliability) == (0.4, 0.84)
    assert "different samples" not in ref.text and "Sample B" in ref.text


def test_reliable_change_says_when_sd_and_reliability_come_from_different_samples(
    tmp_path: Path,
) -> None:
    q = with_norms(SD_ONLY)
    with Store(tmp_path / "h.sqlite3") as store:
        for text in ("5,5,5,5,5,5,4,4,4,4,4,4", "3,3,3,3,3,3,3,3,3,4,4,4"):  # 4.5, 3.25
            record(store, q, score(q, text), client="C-1")
        [series] = client_series(store, store.history("C-1"), lambda qid: q)
    [rc] = [a for a in series_alerts(series) if a.rule == "reliable_change"]
    assert (rc.numbers["sd"], rc.numbers["reliability"]) == (0.5, 0.92)
    assert (
        "SD 0.5 from the published norm (Sample A; Author A (2001)), reliability .92 from "
        "the published norm (WAI-family reliability generalization (modal alpha); Hanson, "
        "Curry & Bandalos (2002), Educational and Psychological Measurement) (different "
        "samples)" in rc.message
    )
