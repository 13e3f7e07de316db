"""Shared fixtures: a tiny two-scale questionnaire and paths to the bundled library."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from alliance_cli.catalog import bundled_dir
from alliance_cli.definitions import load_definition
from alliance_cli.model import Questionnaire
from tests.helpers import TINY_YAML


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
    monkeypatch.delenv("COLUMNS", raising=False)  # output widths as a plain pipe gives them


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The fuzz suites' case counts (bounded in the default run, long under ``-m fuzz``)."""
    from tests.fuzz.fuzzkit import summary

    for line in summary():
        terminalreporter.write_line(line)
