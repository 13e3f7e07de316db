"""Memory benchmark: does peak memory stay flat as rows grow?

Uses the batch benchmark's cached WAI-SR CSVs (bench/wai_data.py: 8 sessions per client, so
``--center id`` has a client per 8 rows) and runs, each in a fresh process, at every row
count given (default 1,000,000 and 10,000,000):

  batch          alliance batch FILE -q wai-sr --id id --id session -o OUT.csv
  batch-center   the same with --center id (two passes over the file)
  reliability    alliance reliability FILE -q wai-sr

For each: wall time and peak memory (the child's maximum resident set size, from ``wait4``:
its ru_maxrss as RUSAGE_CHILDREN counts it). Then the ratios, against baselines measured in the
same run: for each command, peak and time at the largest row count over the smallest (flat
memory: a peak ratio near 1, while the rows grow tenfold); and at each row count, batch-center
and reliability over plain batch. Usage:

    python bench/memory.py [--rows 1000000 10000000] [--only batch-center]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stream import run
from wai_data import data_file

COMMANDS = ("batch", "batch-center", "reliability")


def command(name: str, base: list[str], src: Path, out: Path) -> list[str]:
    if name == "reliability":
        return [*base, "reliability", str(src), "-q", "wai-sr"]
    cmd = [*base, "batch", str(src), "-q", "wai-sr", "--id", "id", "--id", "session"]
    cmd += ["-o", str(out)]
    return [*cmd, "--center", "id"] if name == "batch-center" else cmd


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--only", choices=COMMANDS, nargs="+", default=list(COMMANDS))
    args = parser.parse_args()
    rows = sorted(args.rows)

    alliance = shutil.which("alliance")
    base = [alliance] if alliance else [sys.executable, "-m", "alliance_cli"]
    work = Path(tempfile.mkdtemp(prefix="alliance-bench-"))
    seconds: dict[tuple[str, int], float] = {}
    peak: dict[tuple[str, int], float] = {}
    try:
        for n in rows:
            src = data_file(n)
            print(f"data: {src} ({n:,} rows, {src.stat().st_size / 1e6:.0f} MB)", flush=True)
            for name in args.only:
                elapsed, mb, _ = run(command(name, base, src, work / "out.csv"))
                seconds[name, n], peak[name, n] = elapsed, mb
                line = f"  {name:<13} {n:>12,} rows  {elapsed:7.1f} s  peak {mb:7,.0f} MB"
                print(line, flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    small, large = rows[0], rows[-1]
    if large != small:
        print(f"growth, {large:,} rows over {small:,} ({large / small:g} times the rows):")
        for name in args.only:
            p = peak[name, large] / peak[name, small]
            t = seconds[name, large] / seconds[name, small]
            print(f"  {name:<13} peak × {p:5.2f}   time × {t:5.2f}")
    if "batch" in args.only:
        for name in (c for c in args.only if c != "batch"):
            for n in rows:
                p = peak[name, n] / peak["batch", n]
                t = seconds[name, n] / seconds["batch", n]
                print(f"{name} / batch at {n:,} rows: peak × {p:4.2f}, time × {t:4.2f}")


if __name__ == "__main__":
    main()
