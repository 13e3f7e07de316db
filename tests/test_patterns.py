"""Notes on one form (``alliance_cli.patterns``): straight-lined, at the ceiling; information
beside the scores, never a flag."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alliance_cli.catalog import Catalog
from alliance_cli.definitions import load_definition
from alliance_cli.result import score
from tests.helpers import TINY_YAML, run

WAI_CEILING = (
    "at the ceiling: Goal (5), Task (5), Bond (5), Goal+Task (5) and Total (5) at the highest "
    "possible score (Terwee et al. 2007); a score there cannot rise, so a drop in a later "
    "session says more than this one does"
)


def test_a_wai_sr_all_fives_is_straight_lined_and_at_the_ceiling() -> None:
    report = score(Catalog().get("wai-sr"), "5 5 5 5 5 5 5 5 5 5 5 5")
    assert report.notes == [
        "all 12 answers 5: the same answer to every item (straight-lined; Johnson 2005)",
        WAI_CEILING,
    ]
    assert report.flags == []  # information, not an alert


def test_all_threes_is_straight_lined_only_and_a_varied_form_has_no_note() -> None:
    wai = Catalog().get("wai-sr")
    assert score(wai, "3 3 3 3 3 3 3 3 3 3 3 3").notes == [
        "all 12 answers 3: the same answer to every item (straight-lined; Johnson 2005)"
    ]
    assert score(wai, "4 5 4 4 5 5 5 5 5 5 5 5").notes == []  # a 4 in task, bond and goal
    assert (
        score(wai, "5 5 5 5 5 5 5 5 5 5 5 4")
        .notes[0]
        .startswith("at the ceiling: Goal (5) and Bond")
    )
    # item 12 unanswered: not straight-lined; every scale's (prorated) mean is still 5
    assert score(wai, "5,5,5,5,5,5,5,5,5,5,5,").notes == [WAI_CEILING]


def test_reverse_keyed_items_answered_alike_are_said_to_contradict_each_other() -> None:
    # HAq-II: items 4, 8, 11, 16, 19 reversed (7 - x), so all 6s are no ceiling
    report = score(Catalog().get("haq-ii"), ["6"] * 19)
    assert report.notes == [
        "all 19 answers 6: the same answer to every item (straight-lined; Johnson 2005); 5 of "
        "them are keyed in reverse, so the answers contradict each other: worth asking about "
        "before reading the scores"
    ]


def test_a_short_form_at_the_top_is_at_the_ceiling_but_not_straight_lined() -> None:
    # 4 lines (fewer than MIN_ITEMS = 5): the same mark throughout is unremarkable
    assert score(Catalog().get("srs"), "10 10 10 10").notes == [
        "at the ceiling: Total (40) at the highest possible score (Terwee et al. 2007); a "
        "score there cannot rise, so a drop in a later session says more than this one does"
    ]
    assert score(Catalog().get("srs"), "10 10 10 9.9").notes == []


@pytest.mark.parametrize(("direction", "noted"), [("better", True), ("worse", False)])
def test_only_a_scale_on_which_higher_is_better_has_a_ceiling(
    tmp_path: Path, direction: str, noted: bool
) -> None:
    path = tmp_path / "tiny.yaml"
    text = TINY_YAML.replace(
        "higher_is: better\n    missing", f"higher_is: {direction}\n    missing"
    )
    path.write_text(text, encoding="utf-8")
    q = load_definition(path)
    # warmth = a + (6 - b) = 10 (its maximum), work = mean(c, d, a) = 5 (its maximum)
    notes = score(q, "a=5 b=1 c=5 d=5").notes
    assert notes[0].startswith("at the ceiling: Warmth (10)")
    assert ("Work (5)" in notes[0]) is noted


def test_score_shows_the_notes_and_json_carries_them() -> None:
    result = run("score", "wai-sr", "-a", "5 5 5 5 5 5 5 5 5 5 5 5")
    assert result.exit_code == 0, result.output
    assert "note: all 12 answers 5: the same answer to every item" in " ".join(
        result.stdout.split()
    )
    assert "WARNING" not in result.stderr
    doc = json.loads(run("score", "wai-sr", "-a", "3 3 3 3 3 3 3 3 3 3 3 3", "--json").stdout)
    assert doc["notes"] == [
        "all 12 answers 3: the same answer to every item (straight-lined; Johnson 2005)"
    ]
    assert (
        json.loads(run("score", "wai-sr", "-a", "1 2 3 4 5 1 2 3 4 5 1 2", "--json").stdout)[
            "notes"
        ]
        == []
    )
