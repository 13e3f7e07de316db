"""Write the deterministic data sets behind tests/research/test_psychometrics.py.

Run from the repository root: ``python tests/data/psych/generate.py``. The CSVs are committed;
``reference.R`` computes the R ``psych`` values that the tests pin. Items are already keyed
(reverse items reversed), except ``unreversed.csv``, whose item ``i3`` was deliberately left
un-reversed. Blank cells are missing answers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def _likert(latent: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Round a continuous response onto lo..hi."""
    return np.clip(np.rint(latent), lo, hi)


def _one_factor(
    rng: np.random.Generator,
    n: int,
    loadings: list[float],
    lo: int,
    hi: int,
    centre: float,
    spread: float,
) -> np.ndarray:
    f = rng.standard_normal(n)
    lam = np.asarray(loadings)
    e = rng.standard_normal((n, lam.size)) * np.sqrt(1 - lam**2)
    z = f[:, None] * lam + e
    return _likert(centre + spread * z, lo, hi)


def _blank(rng: np.random.Generator, x: np.ndarray, share: float) -> np.ndarray:
    x = x.copy()
    x[rng.random(x.shape) < share] = np.nan
    return x


def _write(name: str, header: list[str], rows: np.ndarray) -> None:
    lines = [",".join(header)]
    for row in rows:
        lines.append(",".join("" if np.isnan(v) else str(int(v)) for v in row))
    (HERE / name).write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    rng = np.random.default_rng(20240604)

    # 1. Six 1..5 items, one factor, ~3% blank cells.
    x = _one_factor(rng, 300, [0.75, 0.7, 0.65, 0.6, 0.55, 0.45], 1, 5, 3.6, 1.0)
    _write("six_items.csv", [f"i{j}" for j in range(1, 7)], _blank(rng, x, 0.03))

    # 2. Five 1..7 items, item i3 left un-reversed (it loads negatively), ~2% blank.
    x = _one_factor(rng, 250, [0.7, 0.65, -0.6, 0.6, 0.5], 1, 7, 4.5, 1.4)
    _write("unreversed.csv", [f"i{j}" for j in range(1, 6)], _blank(rng, x, 0.02))

    # 3. Eight 0..4 items, complete, piled up at the ceiling (floor and ceiling cases).
    x = _one_factor(rng, 200, [0.8, 0.75, 0.7, 0.7, 0.65, 0.6, 0.55, 0.5], 0, 4, 3.4, 1.2)
    x[:3] = 0  # a few respondents at the floor
    _write("ceiling.csv", [f"i{j}" for j in range(1, 9)], x)

    # 4. Repeated measures, balanced and complete: 40 clients x 5 sessions x 4 items (1..5).
    #    Client level + client-by-session level + item noise (Shrout & Lane 2012 design).
    n_clients, n_sessions, loads = 40, 5, np.array([0.8, 0.7, 0.7, 0.6])
    client = rng.standard_normal(n_clients) * 0.8
    trend = np.linspace(-0.3, 0.3, n_sessions)
    rows = []
    for c in range(n_clients):
        item_bias = rng.standard_normal(loads.size) * 0.2
        for s in range(n_sessions):
            occasion = client[c] + trend[s] + rng.standard_normal() * 0.5
            z = 3.5 + loads * occasion + item_bias + rng.standard_normal(loads.size) * 0.55
            rows.append([c + 1, s + 1, *_likert(z, 1, 5)])
    _write("sessions.csv", ["client", "session", "i1", "i2", "i3", "i4"], np.array(rows, float))

    # 5. Repeated measures, unbalanced: 60 clients with 2..9 sessions, some blank items.
    rows = []
    for c in range(60):
        level = rng.standard_normal() * 0.7
        for s in range(int(rng.integers(2, 10))):
            occasion = level + rng.standard_normal() * 0.6
            z = 3.4 + loads * occasion + rng.standard_normal(loads.size) * 0.6
            rows.append([c + 1, s + 1, *_likert(z, 1, 5)])
    arr = np.array(rows, float)
    arr[:, 2:] = _blank(rng, arr[:, 2:], 0.02)
    _write("sessions_unbalanced.csv", ["client", "session", "i1", "i2", "i3", "i4"], arr)

    # 6. Two-level data for the within/between alphas (twolevel.R, lavaan): 40 clients with
    #    1..12 sessions, five 1..7 items; different loadings within and between clients, a
    #    little item bias per client, ~2% blank cells. Its own seed: sets 1-5 stay as they are.
    rng = np.random.default_rng(20261207)
    within, between = np.array([0.8, 0.7, 0.6, 0.5, 0.4]), np.array([0.9, 0.8, 0.8, 0.7, 0.6])
    rows = []
    for c in range(40):
        level = rng.standard_normal()
        bias = rng.standard_normal(5) * 0.5
        for s in range(int(rng.integers(1, 13))):
            state = rng.standard_normal()
            z = 4.2 + between * level + bias + within * state + rng.standard_normal(5) * 0.7
            rows.append([c + 1, s + 1, *_likert(z, 1, 7)])
    arr = np.array(rows, float)
    arr[:, 2:] = _blank(rng, arr[:, 2:], 0.02)
    _write("twolevel.csv", ["client", "session", *(f"i{j}" for j in range(1, 6))], arr)

    # 7. The same model, balanced and complete: 40 clients x 4 sessions.
    rows = []
    for c in range(40):
        level = rng.standard_normal()
        bias = rng.standard_normal(5) * 0.5
        for s in range(4):
            state = rng.standard_normal()
            z = 4.2 + between * level + bias + within * state + rng.standard_normal(5) * 0.7
            rows.append([c + 1, s + 1, *_likert(z, 1, 7)])
    header = ["client", "session", *(f"i{j}" for j in range(1, 6))]
    _write("twolevel_balanced.csv", header, np.array(rows, float))


if __name__ == "__main__":
    main()
