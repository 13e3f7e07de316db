"""Start-up benchmark: `alliance score wai-sr --answers …` against the bare imports it needs.

Runs both commands alternately in fresh processes, in the same run, and prints the median
wall times and their ratio (target: ratio ≤ 1.5, from the issue). Usage:

    python bench/startup.py [--runs 21]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time

ANSWERS = "5,4,4,5,3,4,5,4,4,5,4,4"


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    alliance = shutil.which("alliance")
    score = ([alliance] if alliance else [sys.executable, "-m", "alliance_cli"]) + [
        "score",
        "wai-sr",
        "--answers",
        ANSWERS,
    ]
    baseline = [sys.executable, "-c", "import typer, pydantic, yaml"]
    help_cmd = [*score[:-4], "--help"]
    for cmd in (score, baseline, help_cmd):  # warm the file cache and .pyc files
        timed(cmd)
    times: dict[str, list[float]] = {"baseline": [], "score": [], "help": []}
    for _ in range(args.runs):
        times["baseline"].append(timed(baseline))
        times["score"].append(timed(score))
        times["help"].append(timed(help_cmd))
    med = {name: statistics.median(values) for name, values in times.items()}
    print(f"runs: {args.runs} each, alternating, median wall time")
    print(f"  python -c 'import typer, pydantic, yaml'   {med['baseline'] * 1000:7.1f} ms")
    print(f"  alliance score wai-sr --answers …          {med['score'] * 1000:7.1f} ms")
    print(f"  alliance --help                            {med['help'] * 1000:7.1f} ms")
    ratio = med["score"] / med["baseline"]
    print(f"ratio score / baseline: {ratio:.2f} (target ≤ 1.5)")
    print(f"ratio --help / baseline: {med['help'] / med['baseline']:.2f}")


if __name__ == "__main__":
    main()
