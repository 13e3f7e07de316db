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
FLOOR = """
import numpy, rich.console, rich.table, typer
app = typer.Typer()
@app.command()
def score(questionnaire: str, answers: str = typer.Option("", "--answers")) -> None:
    print(questionnaire, answers)
@app.command()
def other() -> None: ...
app()
"""


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
    # The floor any Typer CLI with the same stack pays: a one-command Typer app that also
    # imports numpy and rich (what the vectorized engine and the table need).
    floor = [sys.executable, "-c", FLOOR, "score", "wai-sr", "--answers", ANSWERS]
    commands = {"baseline": baseline, "score": score, "help": help_cmd, "floor": floor}
    for cmd in commands.values():  # warm the file cache and .pyc files
        timed(cmd)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, cmd in commands.items():
            times[name].append(timed(cmd))
    med = {name: statistics.median(values) for name, values in times.items()}
    print(f"runs: {args.runs} each, alternating, median wall time")
    print(f"  python -c 'import typer, pydantic, yaml'   {med['baseline'] * 1000:7.1f} ms")
    print(f"  alliance score wai-sr --answers …          {med['score'] * 1000:7.1f} ms")
    print(f"  alliance --help                            {med['help'] * 1000:7.1f} ms")
    print(f"  minimal Typer app + numpy + rich (floor)   {med['floor'] * 1000:7.1f} ms")
    ratio = med["score"] / med["baseline"]
    print(f"ratio score / baseline: {ratio:.2f} (target ≤ 1.5)")
    print(f"ratio --help / baseline: {med['help'] / med['baseline']:.2f}")
    print(f"ratio floor / baseline: {med['floor'] / med['baseline']:.2f}")


if __name__ == "__main__":
    main()
