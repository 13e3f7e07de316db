"""Write the deterministic data sets behind tests/research/test_ordinal.py.

Run from the repository root: ``python tests/data/ordinal/generate.py``. The CSVs are
committed; ``reference.R`` computes the R values (psych, lavaan, semTools) that the tests pin.
Items are already keyed. Blank cells are missing answers.

* ``five.csv``: 12 items on 1..5, 500 rows, one factor, answers piled up at the ceiling (a
  WAI-SR-like set); complete.
* ``seven.csv``: 8 items on 1..7, 400 rows, ceiling pile-up; complete.
* ``unequal.csv``: 5 items on 1..5, 150 rows; item i3 never reaches 5 (psych's items of
  unequal numbers of categories: global = FALSE, zero cells corrected).
* ``gap.csv``: 5 items on 1..5, 300 rows; nobody answers 2 to item g2 (an unused middle
  category: an empty row in its tables).
* ``missing.csv``: 6 items on 1..5, 400 rows, about 12% of answers blank (pairwise tables).
* ``smooth.csv``: 4 items on 1..4, answered in three blocks of rows so that the pairwise
  polychoric matrix is not positive definite (psych smooths it).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def _one_factor(rng: np.random.Generator, n: int, loadings: list[float]) -> np.ndarray:
    lam = np.asarray(loadings)
    f = rng.standard_normal(n)
    return f[:, None] * lam + rng.standard_normal((n, lam.size)) * np.sqrt(1 - lam**2)


def _cut(z: np.ndarray, cuts: list[float]) -> np.ndarray:
    """Categories 1..len(cuts)+1 of a continuous response."""
    return np.searchsorted(np.asarray(cuts), z).astype(float) + 1


def _write(name: str, x: np.ndarray, prefix: str) -> None:
    cols = [f"{prefix}{j + 1}" for j in range(x.shape[1])]
    lines = [",".join(cols)]
    for row in x:
        lines.append(",".join("" if np.isnan(v) else str(int(v)) for v in row))
    (HERE / name).write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    rng = np.random.default_rng(20261207)
    ceiling5 = [-2.2, -1.5, -0.7, 0.1]  # most answers 4 or 5
    z = _one_factor(rng, 500, [0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.7, 0.6, 0.65, 0.72, 0.5, 0.68])
    _write("five.csv", _cut(z, ceiling5), "i")

    z = _one_factor(rng, 400, [0.6, 0.7, 0.75, 0.8, 0.65, 0.7, 0.55, 0.78])
    _write("seven.csv", _cut(z, [-2.3, -1.8, -1.2, -0.6, 0.0, 0.6]), "s")

    z = _one_factor(rng, 150, [0.6, 0.7, 0.65, 0.75, 0.7])
    x = _cut(z, [-1.5, -0.6, 0.2, 1.0])
    x[:, 2] = np.minimum(x[:, 2], 4)  # i3 never reaches 5
    _write("unequal.csv", x, "u")

    z = _one_factor(rng, 300, [0.7, 0.6, 0.75, 0.65, 0.7])
    x = _cut(z, [-1.6, -0.8, 0.0, 0.8])
    x[x[:, 1] == 2, 1] = 3  # nobody answers 2 to g2
    _write("gap.csv", x, "g")

    z = _one_factor(rng, 400, [0.6, 0.7, 0.65, 0.75, 0.7, 0.6])
    x = _cut(z, [-2.0, -1.2, -0.4, 0.5])
    x[rng.random(x.shape) < 0.12] = np.nan
    _write("missing.csv", x, "m")

    # Blocks of rows answering two of three items each: a, b and b, c correlate strongly
    # positively, a, c strongly negatively, so no positive definite matrix has all three.
    blocks = []
    for pair, sign in (((0, 1), 1.0), ((1, 2), 1.0), ((0, 2), -1.0)):
        f = rng.standard_normal(60)
        block = np.full((60, 4), np.nan)
        block[:, pair[0]] = _cut(f * 0.9 + rng.standard_normal(60) * 0.3, [-0.8, 0.0, 0.8])
        block[:, pair[1]] = _cut(sign * f * 0.9 + rng.standard_normal(60) * 0.3, [-0.8, 0.0, 0.8])
        block[:, 3] = _cut(f * 0.5 + rng.standard_normal(60) * 0.8, [-0.8, 0.0, 0.8])
        blocks.append(block)
    _write("smooth.csv", np.vstack(blocks), "p")


if __name__ == "__main__":
    main()
