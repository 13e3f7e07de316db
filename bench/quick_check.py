"""Cost of the damage check on open: ``Store(path)`` running ``PRAGMA quick_check`` (nothing
remembered) and with the clean check remembered, against a bare SQLite open that reads every
row of the same file, on a database of 5,000 administrations built in a temp folder. Prints
the median wall times and their ratio; the figure quoted in ``store/files.py`` comes from
here. Usage:

    python bench/quick_check.py [--runs 7] [--administrations 5000]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from alliance_cli.clinic.store import Answer, NewAdministration, Store


def build(path: Path, administrations: int) -> None:
    with Store(path) as store:
        for n in range(administrations):
            client, session = f"C-{n // 10:04d}", n % 10 + 1
            store.save(
                NewAdministration(
                    client=client,
                    questionnaire_id="wai-sr",
                    questionnaire_version="1",
                    content_hash="h",
                    answers=[Answer(str(i), 3.0, "answered") for i in range(1, 13)],
                    respondent="client",
                    administered_at="2026-11-01",
                    session=session,
                    note="a session note " * 5,
                    actor="bench",
                    new_client=session == 1,
                )
            )


def bare(path: Path) -> None:
    db = sqlite3.connect(path)
    for table in ("clients", "administrations", "answers", "audit"):
        db.execute(f"SELECT * FROM {table}").fetchall()
    db.close()


def timed(work: object, path: Path) -> float:
    start = time.perf_counter()
    work(path)  # type: ignore[operator]
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--administrations", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "history.sqlite3"
        build(path, args.administrations)
        then = path.stat().st_mtime - 60  # past the 2-second racily-clean window
        os.utime(path, (then, then))
        opens, remembered, reads = [], [], []
        for run in range(args.runs):
            # A cache folder of its own: nothing remembered, the check runs.
            os.environ["XDG_CACHE_HOME"] = str(Path(folder) / f"cache{run}")
            opens.append(timed(lambda p: Store(p).close(), path))
            # The same folder again: the clean check is remembered (store/checked.py).
            remembered.append(timed(lambda p: Store(p).close(), path))
            reads.append(timed(bare, path))
        o, m, r = (statistics.median(x) for x in (opens, remembered, reads))
        size = path.stat().st_size / 1e6
        print(f"{size:.1f} MB: Store open with quick_check {o * 1000:.1f} ms, remembered")
        print(f"{m * 1000:.1f} ms; bare read of every row {r * 1000:.1f} ms, ratio {o / r:.2f}")


if __name__ == "__main__":
    main()
