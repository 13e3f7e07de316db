"""Rescoring a stored history with the engine."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from alliance_cli.clinic.history import client_series, parse_when, record
from alliance_cli.clinic.store import Store
from alliance_cli.definitions import load_definition
from alliance_cli.errors import UsageError
from alliance_cli.result import score
from tests.helpers import TINY_YAML


def test_a_corrected_definition_rescores_the_past_and_says_so(tmp_path: Path) -> None:
    old_path = tmp_path / "old.yaml"
    old_path.write_text(TINY_YAML, "utf-8")
    old = load_definition(old_path)
    with Store(tmp_path / "h.sqlite3") as store:
        store.new_client("C-1")
        record(store, old, score(old, "5,1,4,4"), client="C-1", when="2026-01-01")
        record(store, old, score(old, "2,4,4,4"), client="C-1", when="2026-01-08")
        # The key is corrected: item b is no longer reversed for warmth.
        new_path = tmp_path / "new.yaml"
        new_path.write_text(TINY_YAML.replace("reverse: [b]", "reverse: []"), "utf-8")
        new = load_definition(new_path)
        [series] = client_series(store, store.history("C-1"), lambda qid: new)
    # warmth = a + b: session 1 = 5 + 1 = 6, session 2 = 2 + 4 = 6 (reversed it was 10 and 4)
    assert series.scores("warmth") == [6.0, 6.0]
    assert series.changes("warmth") == [None, 0.0]
    assert [s.definition_changed for s in series.sessions] == [True, True]
    [unchanged] = store_series(tmp_path, old)
    assert [s.definition_changed for s in unchanged.sessions] == [False, False]
    assert unchanged.scores("warmth") == [10.0, 4.0]  # 5 + (6 − 1); 2 + (6 − 4)
    assert unchanged.changes("warmth") == [None, -6.0]


def store_series(tmp_path: Path, q):  # type: ignore[no-untyped-def]
    with Store(tmp_path / "h.sqlite3") as store:
        return client_series(store, store.history("C-1"), lambda qid: q)


def test_changes_skip_withheld_sessions(tmp_path: Path, tiny) -> None:  # type: ignore[no-untyped-def]
    with Store(tmp_path / "h.sqlite3") as store:
        store.new_client("C-1")
        for answers in ("4,2,3,3", "4,,3,3", "2,2,3,3"):  # warmth withheld in the second
            record(store, tiny, score(tiny, answers), client="C-1")
        [series] = client_series(store, store.history("C-1"), lambda qid: tiny)
    assert series.scores("warmth") == [8.0, None, 6.0]  # 4 + (6 − 2); –; 2 + 4
    assert series.changes("warmth") == [None, None, -2.0]


def test_dates() -> None:
    assert parse_when("2026-03-04") == "2026-03-04"
    assert parse_when("2026-03-04T09:30") == "2026-03-04T09:30"
    before = date.today().isoformat()
    today = parse_when(None)
    assert today in (before, date.today().isoformat())  # today, also across midnight
    with pytest.raises(UsageError):
        parse_when("04/03/2026")
