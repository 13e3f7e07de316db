"""Running `alliance` in a child process, for what only a real process shows: file size
limits (``ulimit -f``), closed or inherited descriptors, signals, hangs. One home for the
environment the child gets and for the time limit that turns a hang into a failure."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

TIMEOUT = 120  # a child still running then is blocked: the test fails instead of hanging


def file_size_limit(limit: int) -> Callable[[], None]:
    """A ``preexec_fn``: files past ``limit`` bytes cannot be written (EFBIG), with SIGXFSZ
    ignored, as a shell's ``ulimit -f`` leaves Python."""

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def alliance_process(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = TIMEOUT,
    **popen: Any,
) -> subprocess.CompletedProcess[str]:
    """``python -m alliance_cli ARGS`` with text output captured (stdout unless ``popen``
    says otherwise), without the caller's ALLIANCE_DEFINITIONS and COLUMNS, plus ``env``."""
    child = {k: v for k, v in os.environ.items() if k not in ("ALLIANCE_DEFINITIONS", "COLUMNS")}
    popen.setdefault("stdout", subprocess.PIPE)
    try:
        return subprocess.run(
            [sys.executable, "-m", "alliance_cli", *args],
            stderr=subprocess.PIPE,
            text=True,
            timeout=timeout,
            env={**child, **(env or {})},
            cwd=cwd,
            **popen,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"alliance {' '.join(args)} still running after {timeout} s (blocked)")
