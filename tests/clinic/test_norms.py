"""Local norms: the between-client SD of first sessions, with its reliability, from a real
history database; `alliance norms build|list`."""

from __future__ import annotations

import json
import math
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from alliance_cli.catalog import Catalog
from alliance_cli.cli import app
from alliance_cli.clinic.norms import ALPHA_SOURCE, build, stored
from alliance_cli.clinic.store import Store
from alliance_cli.definitions import load_definition
from alliance_cli.errors import UsageError
from alliance_cli.model import Questionnaire
from alliance_cli.result import score
from tests.helpers import definition_head, record
from tests.research.psychref import SIX_ITEMS, read

# Six 1–5 items, every item required: the clients kept are exactly the complete rows of
# tests/data/psych/six_items.csv, so the norm must equal what R psych computed on them.
SIX_YAML = (
    definition_head("six", "Six items (test)")
    + """\
response_scale: {min: 1, max: 5, labels: {1: low, 5: high}}
items: [{id: "1", text: a}, {id: "2", text: b}, {id: "3", text: c}, {id: "4", text: d},
        {id: "5", text: e}, {id: "6", text: f}]
scales:
  total: {name: Total, items: ["1", "2", "3", "4", "5", "6"], method: mean, higher_is: better,
          missing: {on_missing: withhold}}
"""
)
T0 = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)


@pytest.fixture
def six(tmp_path: Path) -> Questionnaire:
    (tmp_path / "defs").mkdir()
    path = tmp_path / "defs" / "six.yaml"
    path.write_text(SIX_YAML, "utf-8")
    return load_definition(path)


def answers(row: object) -> str:
    return ",".join("" if math.isnan(v) else str(int(v)) for v in row)  # type: ignore[attr-defined]


def when(n: int) -> str:
    return f"2026-{1 + n % 11:02d}-{1 + n % 28:02d}"


def complete(rows: np.ndarray) -> list[int]:
    """The rows with every item answered."""
    return [n for n, row in enumerate(rows) if not np.isnan(row).any()]


def fill(store: Store, q: Questionnaire, rows: object, later: bool = True) -> None:
    for n, row in enumerate(rows):  # type: ignore[call-overload]
        client = f"C-{n:04d}"
        record(store, q, score(q, answers(row)), client=client, session=1, when=when(n))
        if later and n % 3 == 0:  # a later session, always at the floor: must be ignored
            record(store, q, score(q, "1,1,1,1,1,1"), client=client, session=2, when="2026-12-01")


@pytest.mark.slow
def test_norm_of_first_sessions_matches_r_psych(tmp_path: Path, six: Questionnaire) -> None:
    with Store(tmp_path / "h.sqlite3") as store:
        fill(store, six, read("six_items"))
        [norm] = build(store, six, now=T0)
        assert [n.to_dict() for n in stored(store)] == [norm.to_dict()]
        assert store.audit()[-1]["action"] == "build-norm"
    ref = SIX_ITEMS["complete"]
    # 290 clients, 253 with every item answered (psych: n_complete); mean and SD of their
    # scale means as psych::describe, alpha as psych::alpha on the complete cases.
    assert (norm.n, norm.scale, norm.respondent) == (SIX_ITEMS["n_complete"][0], "total", "client")
    assert norm.mean == pytest.approx(SIX_ITEMS["mean"][0], abs=1e-9)
    assert norm.sd == pytest.approx(SIX_ITEMS["sd"][0], abs=1e-9)
    assert norm.reliability == pytest.approx(ref["raw_alpha"][0], abs=1e-6)
    assert norm.reliability_source == ALPHA_SOURCE
    dates = sorted(when(n) for n in complete(read("six_items")))
    assert (norm.first_date, norm.last_date) == (dates[0], dates[-1])
    assert (norm.built_at, norm.content_hash, norm.min_n) == (
        "2026-12-07T09:30:00+00:00",
        six.content_hash(),
        30,
    )


def test_too_few_clients_is_refused_and_nothing_is_stored(
    tmp_path: Path, six: Questionnaire
) -> None:
    with Store(tmp_path / "h.sqlite3") as store:
        fill(store, six, read("six_items")[:12])  # 12 clients, 11 complete first sessions
        with pytest.raises(UsageError) as caught:
            build(store, six)
        assert [p.message for p in caught.value.problems] == [
            "only 12 clients have a first six session (11 with a Total score); a local norm "
            "needs at least 30"
        ]
        assert stored(store) == []
        with pytest.raises(UsageError) as caught:
            build(store, six, scales=["totl"])
        assert caught.value.problems[0].message == 'six has no scale "totl" (scales: total)'


def test_a_published_reliability_is_paired_and_named(tmp_path: Path) -> None:
    q = Catalog().get("wai-sr")
    rows = read("six_items")
    with Store(tmp_path / "h.sqlite3") as store:
        for n, row in enumerate(rows[:40]):
            text = answers(list(row) + list(row))  # twelve items from the six
            record(store, q, score(q, text), client=f"C-{n:03d}", when="2026-03-02")
        [norm] = build(store, q, min_n=30)
    assert norm.reliability == 0.92
    assert norm.reliability_source == (
        "Hanson, Curry & Bandalos (2002), Educational and Psychological Measurement "
        "(WAI-family reliability generalization (modal alpha))"
    )


def test_a_published_reliability_is_not_lent_to_another_respondent(tmp_path: Path) -> None:
    # A therapist rating the client form is another population than the definition's norm
    # (clients): the norm pairs with alpha of the therapist's own ratings, said so.
    q = Catalog().get("wai-sr")
    rows = read("six_items")
    with Store(tmp_path / "h.sqlite3") as store:
        for n, row in enumerate(rows[:40]):
            text = answers(list(row) + list(row))
            record(store, q, score(q, text), client=f"C-{n:03d}", when="2026-03-02")
            record(
                store,
                q,
                score(q, text),
                client=f"C-{n:03d}",
                when="2026-03-02",
                respondent="therapist",
            )
        norms = build(store, q, min_n=30)
    by = {n.respondent: n for n in norms}
    assert by["client"].reliability == 0.92
    assert by["therapist"].reliability_source == ALPHA_SOURCE
    assert by["therapist"].reliability != 0.92


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_norms_cli_build_list_and_json(tmp_path: Path, six: Questionnaire) -> None:
    db = tmp_path / "h.sqlite3"
    with Store(db) as store:
        fill(store, six, read("six_items")[:40], later=False)
    defs = str(tmp_path / "defs")
    code, out, err = run(
        "norms", "build", "-q", "six", "-d", defs, "--db", str(db), "--min-n", "50"
    )
    assert (code, out) == (2, "")
    kept = len(complete(read("six_items")[:40]))
    assert err == (
        f"error: only 40 clients have a first six session ({kept} with a Total score); a local "
        "norm needs at least 50\n"
    )
    code, out, _ = run("norms", "build", "-q", "six", "-d", defs, "--db", str(db), "--json")
    assert code == 0
    [built] = json.loads(out)
    assert (built["n"], built["questionnaire"], built["reliability_source"]) == (
        kept,
        "six",
        ALPHA_SOURCE,
    )
    code, out, _ = run("norms", "list", "--db", str(db), "--json")
    assert code == 0 and json.loads(out) == [built]
    code, out, _ = run("norms", "list", "--db", str(db))
    assert code == 0 and "six 1" in out and "Total" not in out and "total" in out
    # The norm holds aggregates only: no client code anywhere in its row.
    with sqlite3.connect(db) as raw:
        row = raw.execute("SELECT * FROM norms").fetchone()
    assert not any("C-" in str(v) for v in row)


def test_norms_cli_refuses_an_unknown_questionnaire(tmp_path: Path) -> None:
    Store(tmp_path / "h.sqlite3").close()
    code, out, err = run("norms", "build", "-q", "wai-rs", "--db", str(tmp_path / "h.sqlite3"))
    assert code == 3 and out == "" and 'no questionnaire "wai-rs"' in err


def test_min_n_has_a_floor_of_ten(tmp_path: Path, six: Questionnaire) -> None:
    with (
        Store(tmp_path / "h.sqlite3") as store,
        pytest.raises(UsageError, match=r"a local norm needs at least 10 clients \(not 3\)"),
    ):
        build(store, six, min_n=3)
    code, out, err = run(
        "norms", "build", "-q", "srs", "--db", str(tmp_path / "h.sqlite3"), "--min-n", "3"
    )
    assert (code, out, err) == (2, "", "error: a local norm needs at least 10 clients (not 3)\n")
    code, out, err = run("norms", "build", "-q", "srs", "--db", str(tmp_path / "h.sqlite3"))
    assert (code, err) == (
        2,
        "error: no client has a first srs session; a local norm needs at least 30\n",
    )


def test_another_respondents_few_ratings_do_not_block(tmp_path: Path, six: Questionnaire) -> None:
    with Store(tmp_path / "h.sqlite3") as store:
        fill(store, six, read("six_items")[:40], later=False)
        for n in range(3):  # a therapist filled in the client form for three clients
            record(
                store, six, score(six, "3,3,4,4,5,5"), client=f"C-{n:04d}", respondent="therapist"
            )
        skipped: list[str] = []
        [norm] = build(store, six, skipped=skipped)
    assert norm.respondent == "client"
    assert skipped == [
        "only 3 clients have a first six session (therapist); a local norm needs at least 30 "
        "(no norm for these)"
    ]
