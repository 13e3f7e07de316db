"""`alliance administer` in a real pseudo-terminal: answering, going back, skipping, quitting
and resuming, Ctrl-C, a closed terminal and SIGKILL leaving a draft, and the refusal without
a terminal."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import pexpect  # the [test] extra: missing fails, never skips
import pytest

from alliance_cli.clinic.store import Store
from tests.helpers import pty_env

TIMEOUT = 8
WAI = ["5", "4", "4", "5", "3", "4", "5", "4", "4", "5", "4", "4"]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A database where client C-1 is registered."""
    return pty_env(tmp_path, "C-1", 100)


def spawn(env: dict[str, str], *args: str):  # type: ignore[no-untyped-def]
    child = pexpect.spawn(
        sys.executable,
        ["-m", "alliance_cli", "administer", "wai-sr", "--client", "C-1", *args],
        env=env,
        encoding="utf-8",
        timeout=TIMEOUT,
        dimensions=(40, 100),
    )
    return child


def answer(child, item: int, text: str) -> None:  # type: ignore[no-untyped-def]
    """Wait for item ``item``'s prompt, then type ``text`` and Enter."""
    child.expect(f"Item {item} of 12")
    child.expect("Answer: ")
    child.sendline(text)


def submit(child) -> str:  # type: ignore[no-untyped-def]
    child.expect(r"Submit\? ")
    child.sendline("")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    return str(child.before)


def stored(env: dict[str, str]) -> tuple[list[list[float | None]], int]:
    """The final administrations' values, and how many drafts there are."""
    with Store(env["ALLIANCE_DB"]) as store:
        finals = store.history("C-1") if store.clients() else []
        return [[a.value for a in f.answers] for f in finals], store.count("draft")


@pytest.mark.slow
def test_answering_a_whole_wai_sr(env: dict[str, str]) -> None:
    child = spawn(env, "--clinician", "K")
    for n, value in enumerate(WAI, start=1):
        answer(child, n, value)
    child.expect("Your answers")
    out = submit(child)
    assert "recorded administration #1: client C-1, session 1, wai-sr (client)" in out
    assert "Total" in out and "4.25" in out
    assert stored(env) == ([[float(v) for v in WAI]], 0)


@pytest.mark.slow
def test_a_straight_lined_form_is_noted_on_the_result_screen_not_flagged(
    env: dict[str, str],
) -> None:
    child = spawn(env)
    for n in range(1, 13):
        answer(child, n, "5")
    child.expect("Your answers")
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", submit(child))  # no colours
    out = " ".join(plain.split())  # the screen wraps long lines
    assert "note: all 12 answers 5: the same answer to every item (straight-lined" in out
    assert "note: at the ceiling: Goal (5), Task (5), Bond (5)" in out
    assert "⚑" not in out and "WARNING" not in out
    assert stored(env) == ([[5.0] * 12], 0)


@pytest.mark.slow
def test_going_back_skipping_and_labels(env: dict[str, str]) -> None:
    child = spawn(env)
    answer(child, 1, "se")  # Seldom
    answer(child, 2, "b")
    child.expect("Current answer: 1 Seldom")
    child.expect("Answer: ")
    child.sendline("al")  # Always replaces Seldom
    answer(child, 2, "s")
    answer(child, 3, "s")  # Bond: allowed
    answer(child, 4, "s")  # Goal: allowed
    answer(child, 5, "s")  # Bond has one blank already: refused
    child.expect("This item cannot be skipped: Bond needs at least 3 of its 4 items")
    child.expect("Answer: ")
    child.sendline("ve")
    for n, value in enumerate(WAI[5:], start=6):
        answer(child, n, value)
    child.expect("skipped")
    submit(child)
    assert stored(env) == (
        [[5, None, None, None, 4, *(float(v) for v in WAI[5:])]],
        0,
    )


@pytest.mark.slow
def test_quitting_midway_and_resuming(env: dict[str, str]) -> None:
    child = spawn(env)
    for n, value in enumerate(WAI[:4], start=1):
        answer(child, n, value)
    answer(child, 5, "q")
    child.expect("Draft saved: 4 of 12 items done. To continue:")
    child.expect("alliance administer wai-sr --client C-1 --resume")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert stored(env) == ([], 1)

    child = spawn(env, "--resume")
    for n, value in enumerate(WAI[4:], start=5):
        answer(child, n, value)
    submit(child)
    assert stored(env) == ([[float(v) for v in WAI]], 0)


@pytest.mark.slow
def test_ctrl_c_leaves_a_draft_that_the_next_run_offers(env: dict[str, str]) -> None:
    child = spawn(env)
    for n, value in enumerate(WAI[:3], start=1):
        answer(child, n, value)
    child.expect("Item 4 of 12")
    child.expect("Answer: ")
    child.send("\x03")
    child.expect("Interrupted. Draft saved: 3 of 12 items done.")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert stored(env) == ([], 1)

    child = spawn(env)
    child.expect("There is an unfinished draft for C-1")
    child.expect(r"Continue it\? \[Y/n/q\] ")
    child.sendline("")
    for n, value in enumerate(WAI[3:], start=4):
        answer(child, n, value)
    submit(child)
    assert stored(env) == ([[float(v) for v in WAI]], 0)


@pytest.mark.slow
def test_a_killed_interview_leaves_a_draft(env: dict[str, str]) -> None:
    child = spawn(env)
    for n, value in enumerate(WAI[:5], start=1):
        answer(child, n, value)
    child.expect("Item 6 of 12")  # shown only after the fifth answer was committed
    child.kill(signal.SIGKILL)
    child.close(force=True)
    assert child.signalstatus == signal.SIGKILL
    assert stored(env) == ([], 1)

    child = spawn(env, "--resume")
    for n, value in enumerate(WAI[5:], start=6):
        answer(child, n, value)
    submit(child)
    assert stored(env) == ([[float(v) for v in WAI]], 0)


@pytest.mark.slow
def test_a_closed_terminal_leaves_a_draft(env: dict[str, str]) -> None:
    child = spawn(env)
    for n, value in enumerate(WAI[:3], start=1):
        answer(child, n, value)
    child.expect("Item 4 of 12")
    child.close(force=True)  # the terminal goes away: hang-up, end of input
    assert stored(env) == ([], 1)

    child = spawn(env, "--resume")
    for n, value in enumerate(WAI[3:], start=4):
        answer(child, n, value)
    submit(child)
    assert stored(env) == ([[float(v) for v in WAI]], 0)


def test_refuses_without_a_terminal(env: dict[str, str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "alliance_cli", "administer", "wai-sr", "--client", "C-1"],
        stdin=subprocess.PIPE,
        capture_output=True,
        text=True,
        env=env,
        timeout=TIMEOUT,
    )
    assert proc.returncode == 2
    assert "alliance score wai-sr --answers … --client C-1" in proc.stderr
    with Store(env["ALLIANCE_DB"]) as store:
        assert store.count("draft") == store.count("final") == 0


@pytest.mark.slow
def test_a_taken_session_hint_names_only_administers_options(env: dict[str, str]) -> None:
    """The hint for a session already recorded names options `administer` has (it has no
    --replaces: a re-entry is `alliance score … --replaces`)."""
    import re

    for _ in range(2):
        child = spawn(env, "--session", "1")
        for item, text in enumerate(WAI, start=1):
            answer(child, item, text)
        child.expect(r"Submit\? ")
        child.sendline("")
        child.expect(pexpect.EOF)
        child.close()
    out = " ".join(str(child.before).split())
    assert child.exitstatus != 0 and "already recorded as administration #1" in out, out
    helped = subprocess.run(
        [sys.executable, "-m", "alliance_cli", "administer", "--help"],
        env=env,
        capture_output=True,
        text=True,
    ).stdout
    own = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", helped))
    hint = out[out.index("already recorded") :]
    # Options in a command line the hint spells out (`alliance score …`) are that command's.
    rest = re.sub(r"alliance score[^;]*", "", hint)
    assert set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", rest)) <= own, hint
