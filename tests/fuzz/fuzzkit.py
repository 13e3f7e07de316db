"""The fuzzing harness every fuzz suite shares.

- :func:`budgets` runs a fuzz test twice: a bounded, derandomized run in the default suite
  and a long random run under the ``fuzz`` marker (``python -m pytest -m fuzz``).
- :func:`invoke` runs ``alliance`` in this process (fast: thousands of cases a minute) and
  :func:`invoke_process` in a child (what only a real process shows: an abort at exit, a
  locale, bytes that are not UTF-8); both count cases per entry point and turn a hang into a
  failure.
- :func:`check` asserts what every case must show: a documented exit code (the README's
  table), no traceback, and on failure nothing written (no output, no temporary file left,
  an existing target unchanged) and nothing on stdout.

The counts are printed at the end of the run (``conftest.pytest_terminal_summary``)."""

from __future__ import annotations

import os
import re
import signal
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from typer.testing import CliRunner

from alliance_cli.cli import app

REPO = Path(__file__).resolve().parents[2]
HANG_SECONDS = 30  # one case still running then is a hang


def _documented_exit_codes() -> frozenset[int]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    table = text.split("### Exit codes", 1)[1].split("\n\n", 2)[1]
    return frozenset(int(m) for m in re.findall(r"^\| (\d+) \|", table, re.M))


EXIT_CODES = _documented_exit_codes()
CASES: Counter[str] = Counter()  # entry point -> cases run
SIGNALLED = {130, 143, 129}  # Ctrl-C, SIGTERM, SIGHUP: documented beside the table


@dataclass(frozen=True)
class Budget:
    examples: int
    long: bool

    def given(self, *args: Any, **kwargs: Any) -> Callable[[Callable[..., None]], Any]:
        """``hypothesis.given`` with this run's number of examples."""

        def decorate(fn: Callable[..., None]) -> Any:
            return settings(
                max_examples=self.examples,
                deadline=None,
                derandomize=not self.long,
                database=None,
                suppress_health_check=list(HealthCheck),
            )(given(*args, **kwargs)(fn))

        return decorate


def budgets(bounded: int, long: int) -> Any:
    """Parametrize a test with its bounded (default suite) and long (``fuzz``) budget."""
    return pytest.mark.parametrize(
        "budget",
        [
            pytest.param(Budget(bounded, long=False), id="bounded"),
            pytest.param(
                Budget(long, long=True), id="long", marks=[pytest.mark.fuzz, pytest.mark.slow]
            ),
        ],
    )


class Hang(BaseException):
    """A case ran past :data:`HANG_SECONDS` (a BaseException: CliRunner does not swallow it)."""


@contextmanager
def _hang_guard(seconds: float) -> Iterator[None]:
    def on_alarm(signum: int, frame: object) -> None:
        raise Hang(f"a case ran for more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str
    exception: BaseException | None = None


def invoke(
    entry: str,
    args: Sequence[str],
    *,
    input: str | bytes | None = None,
    env: Mapping[str, str | None] | None = None,
    cwd: Path | None = None,
) -> Outcome:
    """``alliance ARGS`` in this process; ``entry`` names the fuzzed entry point."""
    CASES[entry] += 1
    before = Path.cwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        with _hang_guard(HANG_SECONDS):
            result = CliRunner().invoke(app, list(args), input=input, env=env)
    finally:
        os.chdir(before)
    exc = result.exception
    if exc is not None and not isinstance(exc, SystemExit):
        import traceback

        tb = "".join(traceback.format_exception(exc))
        pytest.fail(f"alliance {list(args)!r} raised:\n{tb}")
    return Outcome(result.exit_code, result.stdout, result.stderr, exc)


def invoke_process(
    entry: str,
    args: Sequence[str | bytes],
    *,
    input: bytes | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = HANG_SECONDS * 2,
) -> Outcome:
    """``alliance ARGS`` in a child process (arguments may be raw bytes); an abort (a signal
    such as SIGABRT, exit 134) or a hang fails the test."""
    import subprocess

    CASES[entry + " (process)"] += 1
    done = _run_child(args, input=input, env=env, cwd=cwd, timeout=timeout)
    assert isinstance(done, subprocess.CompletedProcess)
    code = done.returncode
    out = done.stdout.decode("utf-8", "replace")
    err = done.stderr.decode("utf-8", "replace")
    if code < 0 or code == 134:
        pytest.fail(f"alliance {list(args)!r} aborted (exit {code}):\n{err[-2000:]}")
    return Outcome(code, out, err)


def _run_child(
    args: Sequence[str | bytes],
    *,
    input: bytes | None,
    env: Mapping[str, str] | None,
    cwd: Path | None,
    timeout: float,
) -> Any:
    import subprocess
    import sys

    child = {k: v for k, v in os.environ.items() if k not in ("ALLIANCE_DEFINITIONS", "COLUMNS")}
    try:
        return subprocess.run(
            [os.fsencode(sys.executable), b"-m", b"alliance_cli", *map(os.fsencode, args)],
            input=input or b"",
            capture_output=True,
            timeout=timeout,
            env={**child, **(env or {})},
            cwd=cwd,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"alliance {list(args)!r} still running after {timeout} s (a hang)")


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes (to compare before and after a case)."""
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def check(
    outcome: Outcome,
    *,
    args: Sequence[str | bytes] = (),
    folder: Path | None = None,
    before: Mapping[str, bytes] | None = None,
    allowed: frozenset[int] | None = None,
    quiet_stdout: bool = True,
) -> None:
    """A documented exit code, no traceback; on failure, ``folder`` exactly as ``before``
    (nothing written, nothing left behind, nothing replaced) and, with ``quiet_stdout``,
    nothing on stdout."""
    codes = allowed if allowed is not None else EXIT_CODES
    shown = f"alliance {list(args)!r} -> exit {outcome.code}\nstderr: {outcome.stderr[-1500:]}"
    assert outcome.code in codes, f"undocumented exit code: {shown}"
    assert "Traceback (most recent call last)" not in outcome.stderr + outcome.stdout, shown
    assert "Exception ignored" not in outcome.stderr, shown
    if outcome.code != 0:
        assert (outcome.stderr + outcome.stdout).strip(), f"a failure without a message: {shown}"
        if quiet_stdout:
            assert not outcome.stdout.strip(), f"stdout on failure: {shown}\n{outcome.stdout}"
        if folder is not None and before is not None:
            after = snapshot(folder)
            assert after == dict(before), (
                f"files changed on failure: {sorted(set(after) ^ set(before))} {shown}"
            )


def summary() -> list[str]:
    """Lines for the end of the run: cases per entry point and in all."""
    if not CASES:
        return []
    width = max(map(len, CASES))
    lines = [f"  {name:<{width}}  {n:>7,}" for name, n in sorted(CASES.items())]
    total = sum(CASES.values())
    return [
        "fuzz cases (0 tracebacks, 0 aborts, 0 hangs unless a test failed above):",
        *lines,
        f"  {'total':<{width}}  {total:>7,}",
    ]
