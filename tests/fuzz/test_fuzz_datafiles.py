"""Fuzzing the data-file inputs of ``alliance batch`` (and, on a sample, ``alliance
reliability``): CSV, TSV, Excel, SPSS, Stata and Parquet files.

Each case starts from a valid file made by the format's own writer (the csv module, openpyxl,
pyreadstat, pyarrow) holding random answers to a bundled questionnaire — missing, "does not
apply" and bad cells among them — and then mutates it: bytes for text, zip members and cells
for Excel, bytes and column types for the binary formats. Whatever alliance does must be
documented (:func:`fuzzkit.check`), and what it does is checked against an independent reading
of the file (the writer library's own reader) and the independent scorer in
:mod:`tests.reference`:

- exit 0: every data row the file holds is in the output, and each row's scores equal the
  reference's; no cell the reference refuses was accepted;
- exit 65: nothing written, and the reference finds a cell that is not an allowed answer (or a
  blank or repeated id);
- exit 1: the reference gives no row a score.
"""

from __future__ import annotations

import csv
import io
import json
import random
import tempfile
import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import strategies as st

from tests.fuzz import reference
from tests.fuzz.datafiles import (
    BYTE_EDIT,
    BYTE_EDITS,
    DEFS,
    ODD_CELLS,
    PREFIX,
    TEXT_EDITS,
    XLSX_EDIT,
    XLSX_EDITS,
    Data,
    answers,
    make_file,
    mutate_bytes,
    mutate_text,
    mutate_zip,
    need,
    write_binary,
    write_text,
    write_xlsx,
)
from tests.fuzz.datareading import Verdict, reading
from tests.fuzz.fuzzkit import Outcome, budgets, check, invoke, invoke_process, snapshot

# An exception a native reader's callback swallowed is "Exception ignored" on a user's stderr.
pytestmark = pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")


def compare(outcome: Outcome, out: Path, verdict: Verdict, q: str) -> None:
    """The output of a run that succeeded: every record of the file, each with the
    reference's scores."""
    codebook = json.loads(out.with_name(out.name + ".codebook.json").read_text("utf-8"))
    rows = list(csv.DictReader(io.StringIO(out.read_text("utf-8"), newline="")))
    assert codebook["row_accounting"]["read"] == verdict.count, (outcome.stderr, verdict.count)
    assert len(rows) == verdict.count, (outcome.stderr, verdict.count)
    for row in rows:
        assert row["id"] in verdict.rows, (row, sorted(verdict.rows))
        expected = verdict.scores(row["id"])
        if expected is None:
            continue
        for scale, value in expected.items():
            got = row[f"{q}.{scale}"]
            shown = f"row {row['row']} id {row['id']!r} {q}.{scale}: {got!r} != {value}"
            assert reference.close(float(got) if got else None, value), shown


def mapping_of(out: Path, q: str) -> dict[str, str]:
    """Which column alliance read each item from (its codebook; the reading is ours)."""
    codebook = json.loads(out.with_name(out.name + ".codebook.json").read_text("utf-8"))
    (entry,) = codebook["mapping"]
    (mapped,) = [m for m in entry["questionnaires"] if m["id"] == q]
    return {str(m["item"]): str(m["column"]) for m in mapped["items"]}


def delimiter_of(out: Path) -> str:
    codebook = json.loads(out.with_name(out.name + ".codebook.json").read_text("utf-8"))
    name = codebook["inputs"][0].get("delimiter", "comma")
    return {"comma": ",", "tab": "\t", "semicolon": ";", "pipe": "|"}.get(name, name)


# -- running one case -------------------------------------------------------------------------


# What Python's default warning filters hide from a user; any other warning reaches stderr.
HIDDEN = (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning)


def quietly(entry: str, args: list[str], folder: Path) -> Outcome:
    """:func:`invoke`, failing on a warning a user would see on stderr (numpy's overflow, a
    library's UserWarning): noise above our message, often a sign of a wrong number."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        outcome = invoke(entry, args, cwd=folder)
    shown = [
        f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})"
        for w in seen
        if not issubclass(w.category, HIDDEN)
    ]
    assert not shown, f"alliance {args!r} warned on stderr: {shown}"
    return outcome


def run_case(fmt: str, path: Path, data: Data, *, exact: bool, reliability: bool) -> int:
    """``alliance batch`` on ``path``, checked; ``exact``: the file's structure is as written,
    so the exit code is known beforehand. Returns the exit code."""
    folder = path.parent
    q = data.q
    out = folder / "out.csv"
    args = ["batch", path.name, "-q", q, "--id", "id", "-o", out.name, "--no-escape-formulas"]
    before = snapshot(folder)
    outcome = quietly(fmt, args, folder)
    check(outcome, args=args, folder=folder, before=before)
    written = {"csv": ",", "tsv": "\t"}.get(fmt, "")
    mapping = {item: PREFIX[q] + item for item in reference.item_ids(DEFS[q])}
    if outcome.code == 0:
        mapping = mapping_of(out, q)
        delimiter = delimiter_of(out) if written else ""
        table = reading(path, fmt, delimiter)
        if written:
            assert table is not None, f"alliance read what Python's csv cannot: {outcome.stderr}"
        if table is not None:
            verdict = Verdict(table, q, mapping, "id")
            assert verdict.complete, (mapping, table.header)
            assert not verdict.bad, f"a bad cell or id was accepted: {outcome.stderr}"
            compare(outcome, out, verdict, q)
    else:
        table = reading(path, fmt, written)
        verdict = Verdict(table, q, mapping, "id") if table is not None else None
        if outcome.code == 65 and verdict is not None and verdict.complete:
            assert verdict.bad or verdict.unknown, f"exit 65 on allowed cells: {outcome.stderr}"
        # A cell the README does not settle (another script's digit: alliance reads "٣" as 3)
        # leaves the reference unable to tell whether a row has a score.
        if outcome.code == 1 and verdict is not None and verdict.complete and not verdict.unknown:
            assert not verdict.any_score(), f"exit 1 though rows have scores: {outcome.stderr}"
    if exact:
        table = reading(path, fmt, written)
        assert table is not None
        verdict = Verdict(table, q, mapping, "id")
        if table.header == data.header and not verdict.unknown:
            expected = 65 if verdict.bad else (0 if verdict.any_score() else 1)
            assert outcome.code == expected, f"{args} -> {outcome.code}: {outcome.stderr}"
            if verdict.bad and not verdict.bad_ids:
                invalid_as_missing(fmt, path, verdict)
    if reliability:
        out.unlink(missing_ok=True)
        out.with_name(out.name + ".codebook.json").unlink(missing_ok=True)
        args = ["reliability", path.name, "-q", q, "--id", "id"]
        before = snapshot(folder)
        again = quietly(f"{fmt} reliability", args, folder)
        check(again, args=args, folder=folder, before=before)
        if outcome.code in (0, 65, 6):
            assert again.code == outcome.code, (outcome.stderr, again.stderr)
    return outcome.code


def invalid_as_missing(fmt: str, path: Path, verdict: Verdict) -> None:
    """``--invalid missing`` on a file with bad answers: each scored as missing, so the
    scores equal the reference's with those cells blank."""
    folder, q = path.parent, verdict.q
    out = folder / "out.csv"
    args = ["batch", path.name, "-q", q, "--id", "id", "-o", out.name, "--invalid", "missing"]
    before = snapshot(folder)
    outcome = quietly(fmt, [*args, "--no-escape-formulas"], folder)
    check(outcome, args=args, folder=folder, before=before)
    assert outcome.code == (0 if verdict.any_score() else 1), outcome.stderr
    if outcome.code == 0:
        compare(outcome, out, verdict, q)
        out.unlink()
        out.with_name(out.name + ".codebook.json").unlink()


def case_folder() -> Any:
    return tempfile.TemporaryDirectory(prefix="fz-data-")


QUESTIONNAIRES = st.sampled_from(sorted(PREFIX))
SEEDS = st.integers(0, 2**32 - 1)


# -- the suites -------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["csv", "tsv"])
@budgets(bounded=12, long=600)
def test_delimited_text(budget: Any, fmt: str) -> None:
    @budget.given(q=QUESTIONNAIRES, seed=SEEDS, edits=TEXT_EDITS)
    def case(q: str, seed: int, edits: list[tuple[str, float, bytes]]) -> None:
        rng = random.Random(seed)
        data = answers(q, rng, text=True)
        delimiter = "," if fmt == "csv" else "\t"
        with case_folder() as name:
            path = Path(name) / f"data.{fmt}"
            write_text(path, data, rng, delimiter)
            path.write_bytes(mutate_text(path.read_bytes(), edits, delimiter))
            run_case(fmt, path, data, exact=not edits, reliability=seed % 6 == 0)

    case()


@pytest.mark.slow
@budgets(bounded=10, long=600)
def test_excel(budget: Any) -> None:
    need("xlsx")

    @budget.given(q=QUESTIONNAIRES, seed=SEEDS, cells=ODD_CELLS, edits=XLSX_EDITS)
    def case(q: str, seed: int, cells: list[Any], edits: list[Any]) -> None:
        rng = random.Random(seed)
        data = answers(q, rng, text=True)
        with case_folder() as name:
            path = Path(name) / "data.xlsx"
            write_xlsx(path, data, cells)
            if edits:
                mutate_zip(path, edits)
            run_case("xlsx", path, data, exact=not edits, reliability=seed % 6 == 0)

    case()


CHANGES = st.sampled_from([None, None, "text", "nonfinite", "int", "numeric-id"])


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["sav", "dta", "parquet"])
@budgets(bounded=10, long=550)
def test_binary_formats(budget: Any, fmt: str) -> None:
    need(fmt)

    @budget.given(q=QUESTIONNAIRES, seed=SEEDS, change=CHANGES, edits=BYTE_EDITS)
    def case(q: str, seed: int, change: str | None, edits: list[Any]) -> None:
        rng = random.Random(seed)
        data = answers(q, rng, text=False)
        with case_folder() as name:
            path = Path(name) / f"data.{fmt}"
            write_binary(path, fmt, data, change, rng)
            if edits:
                path.write_bytes(mutate_bytes(path.read_bytes(), edits))
            run_case(fmt, path, data, exact=not edits, reliability=seed % 6 == 0)

    case()


PROCESS_EDITS = {
    # A Latin-1 byte or a ragged row among other edits: the error exits that aborted in
    # Arrow's reader threads; for the native readers, damaged bytes.
    "csv": st.tuples(st.floats(0, 1), st.sampled_from([b"caf\xe9", b"\xe9", b",x,y"]))
    .map(lambda t: ("insert", *t))
    .flatmap(lambda first: TEXT_EDITS.map(lambda more: [first, *more])),
    "xlsx": st.lists(XLSX_EDIT, min_size=1, max_size=2),
    "binary": st.lists(BYTE_EDIT, min_size=1, max_size=3),
}


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["csv", "tsv", "xlsx", "sav", "dta", "parquet"])
@budgets(bounded=2, long=60)
def test_in_a_process(budget: Any, fmt: str) -> None:
    """What only a process shows: an abort at exit from a native reader (Arrow's CSV and
    Parquet readers, ReadStat) after an error; a documented exit otherwise."""
    need(fmt)
    key = "csv" if fmt in ("csv", "tsv") else "xlsx" if fmt == "xlsx" else "binary"

    @budget.given(q=QUESTIONNAIRES, seed=SEEDS, edits=PROCESS_EDITS[key])
    def case(q: str, seed: int, edits: list[Any]) -> None:
        with case_folder() as name:
            folder = Path(name)
            path = make_file(fmt, folder, q, seed, edits)
            args = ["batch", path.name, "-q", q, "--id", "id", "-o", "out.csv"]
            before = snapshot(folder)
            outcome = invoke_process(fmt, args, cwd=folder)
            check(outcome, args=args, folder=folder, before=before)
            assert "Warning: " not in outcome.stderr, outcome.stderr

    case()
