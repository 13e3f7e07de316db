"""An unknown client code typed in a terminal is asked about, in a real pseudo-terminal:
use the closest registered code, register a new client, or quit (nothing recorded)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pexpect  # the [test] extra: missing fails, never skips
import pytest

from alliance_cli.clinic.store import Store
from tests.helpers import pty_env

TIMEOUT = 8
SRS = "9,9,9,9"
QUESTION = re.escape(
    "C-ABCDE is not a client. Did you mean C-ABCDEF? "
    "[y = use C-ABCDEF / n = new client / q = quit] "
)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A database where C-ABCDEF is registered."""
    return pty_env(tmp_path, "C-ABCDEF", 120)


def spawn(env: dict[str, str], *args: str):  # type: ignore[no-untyped-def]
    return pexpect.spawn(
        sys.executable,
        ["-m", "alliance_cli", *args],
        env=env,
        encoding="utf-8",
        timeout=TIMEOUT,
        dimensions=(40, 120),
    )


def finish(child) -> int:  # type: ignore[no-untyped-def]
    child.expect(pexpect.EOF)
    child.close()
    return int(child.exitstatus)


def filed(env: dict[str, str]) -> list[tuple[str, int]]:
    with Store(env["ALLIANCE_DB"]) as store:
        return [(c.code, c.administrations) for c in store.clients()]


@pytest.mark.slow
def test_score_offers_the_closest_code(env: dict[str, str]) -> None:
    child = spawn(env, "score", "srs", "-a", SRS, "--client", "c-abcde")
    child.expect(QUESTION)
    child.sendline("y")
    child.expect("recorded administration #1: client C-ABCDEF, session 1")
    assert finish(child) == 0
    assert filed(env) == [("C-ABCDEF", 1)]


@pytest.mark.slow
def test_score_registers_a_new_client_when_told(env: dict[str, str]) -> None:
    child = spawn(env, "score", "srs", "-a", SRS, "--client", "C-ABCDE")
    child.expect(QUESTION)
    child.sendline("maybe")  # not an answer: asked again
    child.expect(r"! Type y, n or q, then Enter\.")
    child.expect(QUESTION)
    child.sendline("n")
    child.expect("recorded administration #1: client C-ABCDE, session 1")
    assert finish(child) == 0
    assert filed(env) == [("C-ABCDE", 1), ("C-ABCDEF", 0)]


@pytest.mark.slow
def test_quitting_records_nothing(env: dict[str, str]) -> None:
    child = spawn(env, "score", "srs", "-a", SRS, "--client", "C-ABCDE")
    child.expect(QUESTION)
    child.sendline("q")
    child.expect("error: C-ABCDE is not a client; nothing recorded")
    assert finish(child) == 2
    assert filed(env) == [("C-ABCDEF", 0)]


@pytest.mark.slow
def test_a_code_like_no_other_is_registered_only_when_confirmed(env: dict[str, str]) -> None:
    question = r"ZZ-9 is not a client\. Register it as a new client\? \[y = yes / q = quit\] "
    child = spawn(env, "score", "srs", "-a", SRS, "--client", "zz-9")
    child.expect(question)
    child.sendline("n")  # "no" is not a way to register
    assert finish(child) == 2
    child = spawn(env, "score", "srs", "-a", SRS, "--client", "zz-9")
    child.expect(question)
    child.sendline("y")
    child.expect("recorded administration #1: client ZZ-9")
    assert finish(child) == 0
    assert filed(env) == [("C-ABCDEF", 0), ("ZZ-9", 1)]


@pytest.mark.slow
def test_administer_asks_before_the_first_item(env: dict[str, str]) -> None:
    child = spawn(env, "administer", "srs", "--client", "C-ABCDE")
    child.expect(QUESTION)
    child.sendline("y")
    child.expect("Item 1 of 4")
    child.expect("Answer: ")
    child.sendline("9")
    child.expect("Item 2 of 4")
    child.sendline("q")
    child.expect("alliance administer srs --client C-ABCDEF --resume")
    assert finish(child) == 0
    with Store(env["ALLIANCE_DB"]) as store:
        assert [c.code for c in store.clients()] == ["C-ABCDEF"]
        assert store.count("draft") == 1
