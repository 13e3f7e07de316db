"""Streaming benchmark: `alliance batch` on a WAI-SR file far larger than one chunk.

Generates (once, cached in the temp folder, written block by block) a WAI-SR CSV of
``--rows`` responses (default 10,000,000: about 350 MB) and runs

    alliance batch FILE -q wai-sr --id id --id session -o OUT.csv [--chunk-size N]

in a fresh process, reporting its wall time, rows per second and peak memory (the child's
maximum resident set size from ``wait4``), against the issue's target: peak memory below
1.5 GB for ten million rows. Usage:

    python bench/stream.py [--rows 10000000] [--chunk-size 100000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from wai_data import data_file

TARGET_MB = 1536


def run(cmd: list[str]) -> tuple[float, float, int]:
    """Wall seconds, peak resident MB and exit code of ``cmd``."""
    start = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert child.stderr is not None
    err = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        sys.exit(f"failed ({child.returncode}): {' '.join(cmd)}\n{err.decode(errors='replace')}")
    return elapsed, usage.ru_maxrss / 1024, child.returncode  # ru_maxrss is in KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--chunk-size", type=int, default=None)
    args = parser.parse_args()

    start = time.perf_counter()
    src = data_file(args.rows)
    print(
        f"data: {src} ({args.rows:,} rows, {src.stat().st_size / 1e6:.0f} MB; "
        f"ready in {time.perf_counter() - start:.1f} s)"
    )
    work = Path(tempfile.mkdtemp(prefix="alliance-bench-"))
    alliance = shutil.which("alliance")
    base = [alliance] if alliance else [sys.executable, "-m", "alliance_cli"]
    cmd = [*base, "batch", str(src), "-q", "wai-sr", "--id", "id", "--id", "session"]
    cmd += ["-o", str(work / "out.csv")]
    if args.chunk_size:
        cmd += ["--chunk-size", str(args.chunk_size)]
    try:
        elapsed, peak, _ = run(cmd)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    chunk = f"--chunk-size {args.chunk_size}" if args.chunk_size else "default chunk size"
    print(f"alliance batch, {chunk}: {elapsed:.1f} s, {args.rows / elapsed:,.0f} rows/s")
    verdict = "met" if peak < TARGET_MB else "NOT met"
    print(f"peak memory: {peak:,.0f} MB (target < {TARGET_MB:,} MB: {verdict})")


if __name__ == "__main__":
    main()
