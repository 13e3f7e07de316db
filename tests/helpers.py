"""Shared test helpers: paths, the tiny two-scale definition, the CliRunner ``run``, and
data builders several test modules use (no test module imports another)."""

from __future__ import annotations

import csv
import io
import os
import select
import sqlite3
import stat
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from typer.testing import CliRunner

from alliance_cli.cli import app
from alliance_cli.clinic.store import Store
from alliance_cli.model import Questionnaire

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"
BUNDLED = REPO / "questionnaires"

runner = CliRunner()
FIFO_TIMEOUT = 60.0  # seconds a FIFO reader waits for its writer (a hang guard)


def run(*args: str, stdin: str | bytes | None = None) -> Any:
    """``alliance ARGS`` in-process; never a traceback, and only SystemExit as an exception."""
    result = runner.invoke(app, list(args), input=stdin)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def batch(*args: str, stdin: str | bytes | None = None) -> Any:
    """``alliance batch ARGS`` in-process."""
    return run("batch", *args, stdin=stdin)


TINY_YAML = """\
# A tiny questionnaire for tests: two scales, one reverse item, a "does not apply" code.
id: tiny
title: Tiny test questionnaire
version: "1"
respondent: client
construct: testing
citations:
  - text: Test fixture, not a real instrument.
licence: Public domain test fixture.
key_status: verified
key_sources: [Written for the test suite.]
response_scale:
  min: 1
  max: 5
  labels: {1: Never, 2: Rarely, 3: Sometimes, 4: Often, 5: Always}
  not_applicable: {values: [9], label: Does not apply}
items:
  - {id: a, text: first hint}
  - {id: b, text: "second hint, reversed in warmth"}
  - {id: c, text: third hint}
  - {id: d, text: fourth hint}
scales:
  warmth:
    name: Warmth
    items: [a, b]
    reverse: [b]
    method: sum
    higher_is: better
    bands:
      - {id: low, label: low warmth, below: 4, message: Warmth is low., source: test}
  work:
    name: Work
    items: [c, d, a]
    method: mean
    higher_is: better
    missing: {min_answered: 2, on_missing: prorate}
    norms:
      - {population: test sample, source: test, mean: 3, sd: 0.5}
"""


def record(store: Any, q: Questionnaire, report: Any, *, client: str, **details: Any) -> Any:
    """``history.record`` for tests about what a record shows, not how it is filed: the
    client is registered first when new (filing itself is tested in test_filing.py)."""
    from alliance_cli.clinic.history import record as file_record

    if store.find_client(client) is None:
        store.new_client(client)
    return file_record(store, q, report, client=client, **details)


def definition_head(qid: str, title: str) -> str:
    """The fields every test definition needs before its scale and items (YAML)."""
    return (
        f'id: {qid}\ntitle: {title}\nversion: "1"\nrespondent: client\nconstruct: testing\n'
        "citations: [{text: Test fixture.}]\nlicence: Test fixture.\nkey_status: verified\n"
        "key_sources: [Test fixture.]\n"
    )


def pty_env(tmp_path: Path, code: str, columns: int) -> dict[str, str]:
    """Environment of a command run in a pseudo-terminal, with a database where ``code`` is
    registered."""
    with Store(tmp_path / "history.sqlite3") as store:
        store.new_client(code)
    return {
        **os.environ,
        "ALLIANCE_DB": str(tmp_path / "history.sqlite3"),
        "NO_COLOR": "1",
        "COLUMNS": str(columns),
        "TERM": "xterm",
    }


# -- data files ---------------------------------------------------------------------------

ITEMS = [f"wai_sr_{i:02d}" for i in range(1, 13)]


def write(path: Path, lines: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\r\n").writerows(lines)
    return path


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def answers(n: int, seed: int = 0) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    return [[str(v) for v in rng.integers(1, 6, 12)] for _ in range(n)]


# Qualtrics: export tags, question text (with item-like words that must not be used), ImportIds.
Q_META = ["StartDate", "EndDate", "Status", "Progress", "Finished", "ResponseId"]
Q_TEXT = ["Start Date", "End Date", "Response Type", "Progress", "Finished", "Response ID"]
Q_IMPORT = [
    '{"ImportId":"startDate","timeZone":"America/Denver"}',
    '{"ImportId":"endDate","timeZone":"America/Denver"}',
    '{"ImportId":"status"}',
    '{"ImportId":"progress"}',
    '{"ImportId":"finished"}',
    '{"ImportId":"_recordId"}',
]


def qualtrics(
    path: Path, data: list[list[str]], finished: list[str], *, import_row: bool = True
) -> Path:
    tags = [*Q_META, *ITEMS, "Q99"]
    text = [*Q_TEXT, *(f"wai_sr_{(i % 12) + 1:02d} - My therapist and I agree" for i in range(12))]
    text.append("wai_sr_01 again: how sure are you? (wai_sr_05)")
    imports = [
        *Q_IMPORT,
        *(f'{{"ImportId":"QID5_{i}"}}' for i in range(1, 13)),
        '{"ImportId":"QID9"}',
    ]
    lines = [tags, text] + ([imports] if import_row else [])
    for r, (items, done) in enumerate(zip(data, finished, strict=True)):
        meta = ["2024-03-01 10:00:00", "2024-03-01 10:09:00", "IP Address", "100", done]
        lines.append([*meta, f"R_{r:015d}", *items, "sure"])
    return write(path, lines)


# -- history databases --------------------------------------------------------------------


def codes(path: Path) -> list[str]:
    with sqlite3.connect(path) as raw:
        found = [r[0] for r in raw.execute("SELECT code FROM clients ORDER BY code")]
    raw.close()
    return found


LONG_NAME = "Dr. Annemarie Konstantinopoulou-Vandersteen"
MARKUP_NOTE = "Talked about [x1] homework; unsure [/] whether [bold]this[/bold] helps"


def build_history(db: Path) -> str:
    """A realistic history of one client: ORS and SRS over nine sessions (two clinicians,
    one with a long name, one whose name looks like rich markup), the client's WAI-SR and
    the therapist's WAI-SR-T over four, notes, a withheld score, and alerts of every kind."""
    from alliance_cli.catalog import Catalog
    from alliance_cli.clinic.history import record
    from alliance_cli.result import score

    code = "C-7KQ2MX"
    srs, ors, wai, wait = (Catalog().get(q) for q in ("srs", "ors", "wai-sr", "wai-sr-t"))
    ors_answers = ["4,5,5,4", "5,5,5,5", "5,5,6,5", "6,5,6,6", "6,6,6,5", "6,6,6,6.5"]
    ors_answers += ["6,6,6,6", "8,8,8,8.3", "8,8,8.5,8.5"]
    srs_answers = ["9.5,9.5,9.5,9.5", "9.5,9.5,9.5,9.5", "9,9,9,9", "7,7,7,7"]
    srs_answers += ["9.5,9.5,9.5,9.5", "9.5,9.5,9.5,9.6", "9,9,9,9", "9.5,9.5,9.5,9.5", "9,9,,9"]
    notes = {2: MARKUP_NOTE, 4: "Client late, upset about work; we agreed to look at it next time."}
    wai_answers = [
        ("5,5,5,5,5,5,5,5,5,5,5,5", "4,4,4,4,4,4,4,4,4,4,4,4"),
        ("5,5,4,5,5,5,5,5,5,5,5,5", "4,4,4,4,4,4,4,4,4,4,4,5"),
        ("3,3,3,3,3,3,3,3,3,3,3,2", "4,4,4,4,4,4,4,4,4,4,4,4"),
        ("5,5,5,5,5,5,5,4,5,5,5,5", "4,4,4,4,4,4,4,4,4,4,4,4"),
    ]
    with Store(db) as store:
        store.new_client(code)
        for n in range(1, 10):
            when = f"2026-09-{n * 3:02d}"
            clinician = "[x1] K. Ng" if n % 3 == 0 else LONG_NAME
            modality = "video" if n % 2 else "in-person"
            for q, answers in ((ors, ors_answers), (srs, srs_answers)):
                record(
                    store,
                    q,
                    score(q, answers[n - 1]),
                    client=code,
                    session=n,
                    when=when,
                    clinician=clinician,
                    modality=modality,
                    note=notes.get(n) if q is ors else None,
                )
            if n <= len(wai_answers):
                client, therapist = wai_answers[n - 1]
                record(store, wai, score(wai, client), client=code, session=n, when=when)
                record(
                    store,
                    wait,
                    score(wait, therapist),
                    client=code,
                    session=n,
                    when=when,
                    clinician=LONG_NAME,
                    note="Felt the session went well." if n == 3 else None,
                )
    return code


# -- interactive prompts and FIFOs ------------------------------------------------------


class Script:
    """A prompter that types the given lines, records every screen, and raises EOFError
    (end of input) when it runs out — or whatever exception is in the script."""

    def __init__(self, *lines: str | BaseException) -> None:
        self.lines = list(lines)
        self.asked: list[object] = []
        self.shown: list[object] = []

    def ask(self, screen: object) -> str:
        self.asked.append(screen)
        if not self.lines:
            raise EOFError
        line = self.lines.pop(0)
        if isinstance(line, BaseException):
            raise line
        return line

    def show(self, screen: object) -> None:
        self.shown.append(screen)


def is_fifo(path: Path) -> bool:
    return stat.S_ISFIFO(os.lstat(path).st_mode)


class Drain:
    """Reads a FIFO in a thread until its writer closes it, or until the deadline.

    The read end is opened with O_NONBLOCK, so opening never waits for a writer, and a
    writer's blocking open succeeds at once. Before any writer has come, select() does
    not report the FIFO readable (Linux: no hang-up until a writer has been and gone)."""

    def __init__(self, fifo: Path) -> None:
        self.fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        self.data = bytearray()
        self.ended = False  # a writer came, wrote and closed
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        deadline = time.monotonic() + FIFO_TIMEOUT
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([self.fd], [], [], min(left, 0.1))
            if not ready:
                continue
            try:
                block = os.read(self.fd, 1 << 16)
            except BlockingIOError:
                continue
            if not block:
                self.ended = True
                return
            self.data += block

    def result(self) -> bytes:
        self.thread.join(FIFO_TIMEOUT + 5)
        assert not self.thread.is_alive()
        os.close(self.fd)
        assert self.ended, "no writer opened and closed the FIFO in time"
        return bytes(self.data)


def requires(condition: bool, what: str) -> None:
    """Fail, naming ``what``, where the platform lacks it: every check runs where CI runs
    (Linux), and one that cannot run fails with the reason instead of skipping."""
    assert condition, f"needs {what}; this test does not skip: run it on Linux, as CI does"
