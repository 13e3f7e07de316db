"""Start-up benchmark: `alliance score wai-sr --answers …` and `alliance --help` against the
floor our fixed choices set — a Typer app that imports numpy and prints a rich table.

Runs every command alternately in fresh processes, in the same run, and prints the median
(and minimum) wall times and their ratios to the floor (targets from issue 12: score ≤ 1.25,
--help ≤ 1.5). On a quiet 2-core machine: score 1.18, --help 0.63 (before the lazy commands,
deferred models and remembered definitions: 1.55 and 0.89). Usage:

    python bench/startup.py [--runs 21]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

ANSWERS = "5,4,4,5,3,4,5,4,4,5,4,4"
# The floor: one command that prints a rich table (a second, empty command makes the app a
# command group, as `alliance` is), with numpy imported as the vectorized engine needs it.
FLOOR = """
import numpy, typer
app = typer.Typer()
@app.command()
def score(questionnaire: str, answers: str = typer.Option("", "--answers")) -> None:
    from rich.console import Console
    from rich.table import Table
    table = Table(title=questionnaire)
    table.add_column("item")
    table.add_column("answer", justify="right")
    for i, answer in enumerate(answers.split(","), 1):
        table.add_row(str(i), answer)
    Console().print(table)
@app.command()
def other() -> None: ...
app()
"""


# What `alliance`'s entry point sets for itself (no BLAS thread pool, no pydantic plugin
# scan), given to the floor too, so that the floor is not slowed by what `alliance` avoids.
FLOOR_ENV = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "PYDANTIC_DISABLE_PLUGINS": "__all__",
}


def timed(cmd: list[str]) -> float:
    env = {**os.environ, **FLOOR_ENV} if cmd[1:2] == ["-c"] else None
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    # Byte-compile the package first, as pip does on install: with PYTHONDONTWRITEBYTECODE set
    # (as here), stale .pyc files after an edit cost every run its compile (+10 ms seen).
    import compileall

    import alliance_cli

    compileall.compile_dir(os.path.dirname(alliance_cli.__file__), quiet=1)
    alliance = shutil.which("alliance")
    score = ([alliance] if alliance else [sys.executable, "-m", "alliance_cli"]) + [
        "score",
        "wai-sr",
        "--answers",
        ANSWERS,
    ]
    baseline = [sys.executable, "-c", "import typer, pydantic, yaml"]
    help_cmd = [*score[:-4], "--help"]
    floor = [sys.executable, "-c", FLOOR, "score", "wai-sr", "--answers", ANSWERS]
    commands = {"baseline": baseline, "score": score, "help": help_cmd, "floor": floor}
    for cmd in commands.values():  # warm the file cache, .pyc files and remembered definitions
        timed(cmd)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, cmd in commands.items():
            times[name].append(timed(cmd))
    # The median is the figure of the targets; the minimum, what a run costs without other
    # work on the machine (waiting only ever adds), is steadier on a busy one.
    med = {name: statistics.median(values) for name, values in times.items()}
    low = {name: min(values) for name, values in times.items()}
    labels = {
        "baseline": "python -c 'import typer, pydantic, yaml'",
        "score": "alliance score wai-sr --answers …",
        "help": "alliance --help",
        "floor": "Typer app printing a rich table (floor)",
    }
    print(f"runs: {args.runs} each, alternating; wall time, median (min)")
    for name, label in labels.items():
        print(f"  {label:42} {med[name] * 1000:7.1f} ms ({low[name] * 1000:.1f})")
    for name, what, target in (("score", "score", 1.25), ("help", "--help", 1.5)):
        ratio, best = med[name] / med["floor"], low[name] / low["floor"]
        print(f"ratio {what} / floor: {ratio:.2f} ({best:.2f}), target ≤ {target}")
    print(f"ratio floor / baseline: {med['floor'] / med['baseline']:.2f}")


if __name__ == "__main__":
    main()
