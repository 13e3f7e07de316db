"""Scoring stored administrations in bulk: `export --all`, `clients` and `history`.

Builds, in a temporary folder, a history database of 5,000 clients x 20 SRS sessions
(100,000 administrations; the first client recorded through the library, the others
copied from it in SQL with fresh random answers on the SRS's 0.1 grid) and a database
holding only the first client. Each command runs in fresh processes; the script prints the
median wall time, CPU time (user + system: steadier than wall time on a shared machine)
and peak memory (max RSS) of each and the ratios the issue sets:

- `export --all` of 100,000 administrations: <= 3 s, memory flat: peak <= 1.5x that of the
  same export of the one-client database (the export is read, scored and written a part of
  whole clients at a time);
- `history` of one client: <= 1.2x its time in the database holding only that client.

Usage:  python bench/export.py [--clients 5000] [--sessions 20] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from alliance_cli import Catalog, score
from alliance_cli.clinic.history import record
from alliance_cli.clinic.store import Store

FIRST = "C-000001"


def build(folder: Path, clients: int, sessions: int) -> tuple[Path, Path]:
    """The one-client database and the big one (the first client plus copies)."""
    rng = random.Random(7)
    q = Catalog.from_environment([]).get("srs")
    small = folder / "one.sqlite3"
    with Store(small) as store:
        start = date(2024, 1, 8)
        for n in range(sessions):
            answers = ",".join(f"{rng.randint(50, 100) / 10:g}" for _ in range(4))
            when = (start + timedelta(weeks=n)).isoformat()
            record(store, q, score(q, answers), client=FIRST, when=when, new_client=n == 0)
    big = folder / "big.sqlite3"
    shutil.copyfile(small, big)
    db = sqlite3.connect(big)
    db.create_function("answer", 0, lambda: rng.randint(0, 100) / 10)
    with db:
        first_admin = db.execute("SELECT MIN(id) FROM administrations").fetchone()[0]
        per_client = sessions
        for c in range(2, clients + 1):
            code = f"C-{c:06d}"
            cid = db.execute(
                "INSERT INTO clients (code, created_at) SELECT ?, created_at FROM clients"
                " WHERE id = 1",
                (code,),
            ).lastrowid
            for s in range(per_client):
                aid = db.execute(
                    "INSERT INTO administrations (client_id, questionnaire_id,"
                    " questionnaire_version, content_hash, session, administered_at,"
                    " respondent, clinician, modality, note, status, created_at)"
                    " SELECT ?, questionnaire_id, questionnaire_version, content_hash, session,"
                    " administered_at, respondent, clinician, modality, note, status, created_at"
                    " FROM administrations WHERE id = ?",
                    (cid, first_admin + s),
                ).lastrowid
                db.execute(
                    "INSERT INTO answers (administration_id, position, item, value, state)"
                    " SELECT ?, position, item, answer(), state FROM answers"
                    " WHERE administration_id = ?",
                    (aid, first_admin + s),
                )
    db.close()
    os.chmod(big, 0o600)
    return small, big


def run(args: list[str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak memory (MB) of ``alliance ARGS`` in a fresh
    process."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "alliance_cli", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    err = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"alliance {' '.join(args)} failed: {err}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def median_of(runs: int, args: list[str]) -> tuple[float, float, float]:
    results = [run(args) for _ in range(runs)]
    return (
        statistics.median(t for t, _, _ in results),
        statistics.median(c for _, c, _ in results),
        max(m for _, _, m in results),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        began = time.perf_counter()
        small, big = build(folder, opts.clients, opts.sessions)
        total = opts.clients * opts.sessions
        print(f"built {total:,} administrations in {time.perf_counter() - began:.1f} s")
        out = str(folder / "out.csv")
        rows = []
        for label, db in (("one client", small), (f"{opts.clients:,} clients", big)):
            for command in (
                ["export", "--all", "-o", out],
                ["clients", "--json"],
                ["history", FIRST, "--json"],
            ):
                t, cpu, mb = median_of(opts.runs, [*command, "--db", str(db)])
                rows.append((label, command[0], t, cpu, mb))
                print(f"{label:>15}  {command[0]:<8} {t:7.2f} s  {cpu:7.2f} s CPU  {mb:7.0f} MB")
        times = {(label, cmd): (t, cpu, mb) for label, cmd, t, cpu, mb in rows}
        big_label = f"{opts.clients:,} clients"
        export_t, export_cpu, export_mb = times[(big_label, "export")]
        _, _, small_mb = times[("one client", "export")]
        hist = times[(big_label, "history")][0] / times[("one client", "history")][0]
        print()
        print(
            f"export --all of {total:,}: {export_t:.2f} s, {export_cpu:.2f} s CPU (target <= 3 s)"
        )
        print(
            f"export peak memory: {export_mb:.0f} MB = {export_mb / small_mb:.2f}x the one-client "
            "export (target <= 1.5x)"
        )
        print(f"history of one client: {hist:.2f}x its time alone (target <= 1.2x)")


if __name__ == "__main__":
    main()
