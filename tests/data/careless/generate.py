"""Writes screen.csv: 40 responses to 8 items (1–5), items 1–4 one pole of a factor and
items 5–8 the other (so both psychometric synonyms and antonyms exist), with a
straight-liner, a random responder, missing answers that break runs, a row of one answer and
a blank row. Run once; the CSV is committed (the R reference is computed on it)."""

import csv

import numpy as np

rng = np.random.default_rng(14)
rows = []
for _ in range(34):
    t = rng.normal(0, 1)
    noise = rng.normal(0, 0.5, 8)
    sign = np.array([1, 1, 1, 1, -1, -1, -1, -1])
    rows.append(np.clip(np.round(3 + sign * 1.2 * t + noise), 1, 5).astype(object))
rows.append(np.array([3] * 8, dtype=object))  # straight-liner
rows.append(rng.integers(1, 6, 8).astype(object))  # random
rows.append(np.array([4, 4, None, 4, 4, 4, 2, 2], dtype=object))  # a missing answer breaks the run
rows.append(np.array([5, 5, 5, 1, 1, None, None, 1], dtype=object))
rows.append(np.array([None, None, None, 2, None, None, None, None], dtype=object))  # one answer
rows.append(np.array([None] * 8, dtype=object))  # blank row
with open("screen.csv", "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["id", *(f"i{j}" for j in range(1, 9))])
    for r, row in enumerate(rows, 1):
        w.writerow([f"p{r:02d}", *("" if v is None else int(v) for v in row)])
