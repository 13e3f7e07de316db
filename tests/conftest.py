"""Shared fixtures: a tiny two-scale questionnaire and paths to the bundled library."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from alliance_cli.catalog import bundled_dir
from alliance_cli.definitions import load_definition
from alliance_cli.model import Questionnaire

TINY_YAML = """\
# A tiny questionnaire for tests: two scales, one reverse item, a "does not apply" code.
id: tiny
title: Tiny test questionnaire
version: "1"
respondent: client
construct: testing
citations:
  - text: Test fixture, not a real instrument.
licence: Public domain test fixture.
key_status: verified
key_sources: [Written for the test suite.]
response_scale:
  min: 1
  max: 5
  labels: {1: Never, 2: Rarely, 3: Sometimes, 4: Often, 5: Always}
  not_applicable: {values: [9], label: Does not apply}
items:
  - {id: a, text: first hint}
  - {id: b, text: "second hint, reversed in warmth"}
  - {id: c, text: third hint}
  - {id: d, text: fourth hint}
scales:
  warmth:
    name: Warmth
    items: [a, b]
    reverse: [b]
    method: sum
    higher_is: better
    bands:
      - {id: low, label: low warmth, below: 4, message: Warmth is low., source: test}
  work:
    name: Work
    items: [c, d, a]
    method: mean
    higher_is: better
    missing: {min_answered: 2, on_missing: prorate}
    norms:
      - {population: test sample, source: test, mean: 3, sd: 0.5}
"""

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def tiny_path(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_YAML, encoding="utf-8")
    return path


@pytest.fixture
def tiny(tiny_path: Path) -> Questionnaire:
    return load_definition(tiny_path)


@pytest.fixture
def bundled() -> Path:
    return bundled_dir()


@pytest.fixture(autouse=True)
def _isolated_user_dirs(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Never read the developer's own definitions or overlays."""
    home = tmp_path_factory.mktemp("config")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))  # remembered damage checks
    monkeypatch.delenv("ALLIANCE_DEFINITIONS", raising=False)


def record(store: Any, q: Questionnaire, report: Any, *, client: str, **details: Any) -> Any:
    """``history.record`` for tests about what a record shows, not how it is filed: the
    client is registered first when new (filing itself is tested in test_filing.py)."""
    from alliance_cli.clinic.history import record as file_record

    if store.find_client(client) is None:
        store.new_client(client)
    return file_record(store, q, report, client=client, **details)


def definition_head(qid: str, title: str) -> str:
    """The fields every test definition needs before its scale and items (YAML)."""
    return (
        f'id: {qid}\ntitle: {title}\nversion: "1"\nrespondent: client\nconstruct: testing\n'
        "citations: [{text: Test fixture.}]\nlicence: Test fixture.\nkey_status: verified\n"
        "key_sources: [Test fixture.]\n"
    )


def pty_env(tmp_path: Path, code: str, columns: int) -> dict[str, str]:
    """Environment of a command run in a pseudo-terminal, with a database where ``code`` is
    registered."""
    import os

    from alliance_cli.clinic.store import Store

    with Store(tmp_path / "history.sqlite3") as store:
        store.new_client(code)
    return {
        **os.environ,
        "ALLIANCE_DB": str(tmp_path / "history.sqlite3"),
        "NO_COLOR": "1",
        "COLUMNS": str(columns),
        "TERM": "xterm",
    }


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The fuzz suites' case counts (bounded in the default run, long under ``-m fuzz``)."""
    from .fuzzkit import summary

    for line in summary():
        terminalreporter.write_line(line)
