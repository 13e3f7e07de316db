"""The benchmark data: a WAI-SR export (id, session, wai_sr_1..wai_sr_12 answered 1–5, ~2% blank).

Items share one latent factor (plus a goal/task/bond facet), so reliability is realistic.
Generated once per row count and seed, then cached in the temp folder.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

ITEMS = [f"wai_sr_{i}" for i in range(1, 13)]
SCALES = {
    "goal": [4, 6, 8, 11],
    "task": [1, 2, 10, 12],
    "bond": [3, 5, 7, 9],
    "goal_task": [4, 6, 8, 11, 1, 2, 10, 12],
    "total": list(range(1, 13)),
}
BLANK_RATE = 0.02
SESSIONS = 8


def data_file(rows: int, seed: int = 20240604) -> Path:
    """Path of the cached CSV with ``rows`` responses, written if it is not there yet."""
    folder = Path(tempfile.gettempdir()) / "alliance-bench"
    folder.mkdir(exist_ok=True)
    path = folder / f"wai-sr-{rows}-{seed}.csv"
    if path.exists():
        return path
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    with tmp.open("w", encoding="utf-8") as out:
        out.write(",".join(["id", "session", *ITEMS]) + "\n")
        for start in range(0, rows, BLOCK):
            # Blocks of rows, each from its own seed, so that ten million rows need no more
            # memory than one block.
            out.write(_block(start, min(BLOCK, rows - start), seed + start // BLOCK))
    tmp.replace(path)
    return path


BLOCK = 1_000_000


def _block(start: int, rows: int, seed: int) -> str:
    rng = np.random.default_rng(seed)
    facet_of = np.zeros(12, dtype=np.int64)
    for f, name in enumerate(("goal", "task", "bond")):
        facet_of[np.array(SCALES[name]) - 1] = f
    general = rng.normal(size=(rows, 1))
    facets = rng.normal(size=(rows, 3))[:, facet_of]
    latent = 3.6 + 0.8 * general + 0.4 * facets + 0.7 * rng.normal(size=(rows, 12))
    answers = np.clip(np.rint(latent), 1, 5).astype(np.int64)
    text = answers.astype(str).astype(object)
    text[rng.random(size=(rows, 12)) < BLANK_RATE] = ""
    index = np.arange(start, start + rows)
    ids = np.char.add("p", np.char.zfill((index // SESSIONS + 1).astype(str), 7))
    sessions = (index % SESSIONS + 1).astype(str)
    cells = np.column_stack([ids.astype(object), sessions.astype(object), text])
    return "".join(",".join(row) + "\n" for row in cells.tolist())
