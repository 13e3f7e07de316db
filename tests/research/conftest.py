"""Fixtures of the research tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.research.psychref import DEFS, definition


@pytest.fixture
def defs(tmp_path: Path) -> Path:
    folder = tmp_path / "defs"
    folder.mkdir()
    for qid, k, lo, hi, method in DEFS.values():
        (folder / f"{qid}.yaml").write_text(definition(qid, k, lo, hi, method), encoding="utf-8")
        columns = ", ".join(f"i{j}: i{j}" for j in range(1, k + 1))
        (tmp_path / f"map-{qid}.yaml").write_text(
            f"questionnaires:\n  {qid}: {{columns: {{{columns}}}}}\n", encoding="utf-8"
        )
    return folder
