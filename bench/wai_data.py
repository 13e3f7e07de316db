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
    ids = np.char.add("p", np.char.zfill((np.arange(rows) // SESSIONS + 1).astype(str), 7))
    sessions = (np.arange(rows) % SESSIONS + 1).astype(str)
    lines = [",".join(["id", "session", *ITEMS])]
    cells = np.column_stack([ids.astype(object), sessions.astype(object), text])
    lines += [",".join(row) for row in cells.tolist()]
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path
