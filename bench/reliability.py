"""Reliability benchmark: alliance on the full WAI-SR table against R `psych::alpha`.

Uses the batch benchmark's cached WAI-SR CSV (see bench/wai_data.py) and times, end to end in
fresh processes, alternating, in the same run:

  alliance   `alliance reliability FILE -q wai-sr` when that command exists; otherwise the
             library: pandas read of the 12 item columns → psychometrics.scale_items (total
             scale, keyed) → psychometrics.alpha + psychometrics.omega
  R          read.csv → psych::alpha on the 12 items

Prints the median wall times, each command's peak memory (the child's ru_maxrss) and the ratio
R / alliance (issue target: alliance about 2 s on 1,000,000 rows, R ~20 s; memory flat as rows
grow, as for `alliance batch`: compare --rows 1000000 with --rows 10000000).

With ``--ordinal``, the case of issue 14: `alliance reliability FILE -q wai-sr --ordinal`
(polychoric correlations, ordinal alpha/omega and categorical omega of the four WAI-SR
scales: 66 + 3 × 6 pairs) beside the same command without it; target ≤ 5 s on 1,000,000
rows × 12 items. R is not run then (psych::polychoric on a million rows is not the
comparison asked for). Usage:

    python bench/reliability.py [--rows 1000000] [--runs 3] [--ordinal]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from wai_data import ITEMS, data_file

LIBRARY = """
import sys, time
t0 = time.perf_counter()
import pandas as pd
from alliance_cli.research import psychometrics as pm
from alliance_cli.catalog import Catalog

q = Catalog(user_dirs=[]).get("wai-sr")
items = {items!r}
t1 = time.perf_counter()
x = pd.read_csv(sys.argv[1], usecols=items, dtype="float64")[items].to_numpy()
t2 = time.perf_counter()
keyed = pm.scale_items(q, "total", x)
a = pm.alpha(keyed.values, labels=keyed.item_ids)
t3 = time.perf_counter()
o = pm.omega(keyed.values, labels=keyed.item_ids)
t4 = time.perf_counter()
print(f"imports {{t1 - t0:.2f}} s, read {{t2 - t1:.2f}} s, keyed+alpha {{t3 - t2:.2f}} s, "
      f"omega {{t4 - t3:.2f}} s; raw_alpha {{a.raw_alpha:.4f}}, omega.tot {{o.omega_total:.4f}}")
"""

R_SCRIPT = """
suppressPackageStartupMessages(library(psych))
args <- commandArgs(trailingOnly = TRUE)
t0 <- proc.time()[["elapsed"]]
d <- read.csv(args[1], colClasses = c(id = "character", session = "character"))
t1 <- proc.time()[["elapsed"]]
a <- alpha(d[paste0("wai_sr_", 1:12)])
t2 <- proc.time()[["elapsed"]]
cat(sprintf("read.csv %.2f s, alpha %.2f s; raw_alpha %.4f\\n", t1 - t0, t2 - t1,
            a$total$raw_alpha))
"""


def timed(cmd: list[str]) -> tuple[float, str, int]:
    """Wall time, stdout and peak resident memory (bytes: the child's ru_maxrss) of one run."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        child = subprocess.Popen(cmd, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if child.returncode != 0:
            sys.exit(f"failed ({child.returncode}): {' '.join(cmd)}\n{err.read().decode()}")
        return elapsed, out.read().decode().strip(), usage.ru_maxrss * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--ordinal", action="store_true", help="time --ordinal (issue 14)")
    args = parser.parse_args()

    src = data_file(args.rows)
    print(f"data: {src} ({args.rows:,} rows)")
    alliance = shutil.which("alliance")
    base = [alliance] if alliance else [sys.executable, "-m", "alliance_cli"]
    has_command = subprocess.run([*base, "reliability", "--help"], capture_output=True)
    commands: dict[str, list[str]] = {}
    if has_command.returncode == 0:
        label = "alliance reliability -q wai-sr"
        commands[label] = [*base, "reliability", str(src), "-q", "wai-sr"]
    else:
        print(
            "note: `alliance reliability` does not exist yet; timing the library instead "
            "(pandas read + psychometrics alpha + omega, total scale)"
        )
        label = "alliance library: read + alpha + omega"
        commands[label] = [sys.executable, "-c", LIBRARY.format(items=ITEMS), str(src)]
    if args.ordinal and has_command.returncode == 0:
        commands[f"{label} --ordinal"] = [
            *base,
            "reliability",
            str(src),
            "-q",
            "wai-sr",
            "--ordinal",
        ]
    rscript = None if args.ordinal else shutil.which("Rscript")
    check = [
        rscript or "Rscript",
        "-e",
        'quit(status = !requireNamespace("psych", quietly = TRUE))',
    ]
    if rscript and subprocess.run(check, capture_output=True).returncode == 0:
        commands["R read.csv + psych::alpha"] = [rscript, "-e", R_SCRIPT, str(src)]
    elif not args.ordinal:
        print("note: Rscript or the R package psych is missing; R is skipped")

    times: dict[str, list[float]] = {name: [] for name in commands}
    peaks: dict[str, list[int]] = {name: [] for name in commands}
    last: dict[str, str] = {}
    for _ in range(args.runs):
        for name, cmd in commands.items():
            elapsed, out, peak = timed(cmd)
            times[name].append(elapsed)
            peaks[name].append(peak)
            last[name] = out
    med = {name: statistics.median(values) for name, values in times.items()}
    print(f"runs: {args.runs} each, alternating, median wall time, largest peak memory")
    for name, value in med.items():
        runs = ", ".join(f"{t:.2f}" for t in times[name])
        peak = max(peaks[name]) / 1e6
        print(f"  {name:<42} {value:7.2f} s  peak {peak:7.0f} MB   ({runs})")
        if last[name] and "\n" not in last[name] and len(last[name]) < 200:
            print(f"    last run: {last[name]}")
    names = list(med)
    if args.ordinal and len(names) == 2:
        value = med[names[1]]
        verdict = "met" if value <= 5 else "NOT met"
        print(
            f"--ordinal: {value:.2f} s on {args.rows:,} rows (target ≤ 5 s: {verdict}); "
            f"{value - med[names[0]]:+.2f} s over the Pearson statistics alone"
        )
    elif len(names) == 2:
        ratio = med[names[1]] / med[names[0]]
        print(f"ratio R / alliance: {ratio:.2f} (target: alliance about 2 s, R ~20 s → ~10)")


if __name__ == "__main__":
    main()
