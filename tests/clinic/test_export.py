"""`alliance export`: exact CSV in both shapes, formula injection, private atomic files,
de-identification, the codebook, and exit codes."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from alliance_cli.catalog import Catalog
from alliance_cli.cli import app
from alliance_cli.clinic import export as export_module
from alliance_cli.clinic.export import build_export, write_export
from alliance_cli.clinic.history import record
from alliance_cli.clinic.store import Administration, Store
from alliance_cli.errors import InputFileError, UsageError
from alliance_cli.io.atomic import atomic_write
from alliance_cli.model import Questionnaire
from alliance_cli.options import Shape
from alliance_cli.result import score
from tests.helpers import TINY_YAML, requires

runner = CliRunner()

NEG_YAML = """\
id: neg
title: Negative range fixture
version: "1"
respondent: client
construct: testing
citations: [{text: Test fixture.}]
licence: Public domain test fixture.
key_status: verified
key_sources: [Written for the test suite.]
response_scale: {min: -3, max: 3, exclude: [0]}
items:
  - {id: x, text: first}
  - {id: y, text: second}
scales:
  net: {name: Net, items: [x, y], method: sum, higher_is: better}
"""

LONG_HEADER = (
    "client,administration,date,session,respondent,clinician,modality,questionnaire,"
    "recorded_version,current_version,definition_changed,note,scale,method,score,sum,mean,"
    "items,answered,missing,not_applicable,prorated,withheld,withheld_reason,band,flags"
)


@pytest.fixture(autouse=True)
def _env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    db = tmp_path / "private" / "history.sqlite3"
    monkeypatch.setenv("ALLIANCE_DB", str(db))
    return db


@pytest.fixture
def defs(tmp_path: Path) -> Path:
    folder = tmp_path / "defs"
    folder.mkdir()
    (folder / "tiny.yaml").write_text(TINY_YAML, encoding="utf-8")
    (folder / "neg.yaml").write_text(NEG_YAML, encoding="utf-8")
    return folder


@pytest.fixture
def catalog(defs: Path) -> Catalog:
    return Catalog(user_dirs=[defs])


@pytest.fixture
def store(_env: Path) -> Iterator[Store]:
    with Store(_env) as opened:
        yield opened


@pytest.fixture
def recorded(store: Store, catalog: Catalog) -> Store:
    """Two clients on the tiny questionnaire, and one voided administration."""
    tiny = catalog.get("tiny")
    save(store, tiny, "5,1,4,4", "C-1", "2026-03-02", clinician="K", modality="in-person")
    # c "does not apply", so work is prorated from a and d: (2 + 3) / 2 = 2.5
    save(
        store,
        tiny,
        "2,4,9,3",
        "C-1",
        "2026-03-09",
        clinician="K",
        modality="video",
        note="moved house",
    )
    save(store, tiny, "1,5,3,3", "C-2", "2026-04-01")
    wrong = save(store, tiny, "5,5,5,5", "C-2", "2026-04-08")
    store.void(wrong.id, "typed for the wrong client")
    return store


def save(
    store: Store, q: Questionnaire, answers: str, client: str, when: str, **kw: str
) -> Administration:
    if store.find_client(client) is None:
        store.new_client(client)
    return record(store, q, score(q, answers), client=client, when=when, **kw)  # type: ignore[arg-type]


def run(*args: str):  # type: ignore[no-untyped-def]
    result = runner.invoke(app, ["export", *args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- exact content -------------------------------------------------------------------------


def test_long_export_exact(recorded: Store, defs: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    result = run("--all", "-o", str(out), "-d", str(defs))
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == f"wrote 6 rows to {out} (codebook: {out}.codebook.json)\n"
    assert out.read_bytes().decode("utf-8") == "\r\n".join(
        [
            LONG_HEADER,
            # warmth = 5 + (6 − 1) = 10; work = (4 + 4 + 5) / 3
            "C-1,1,2026-03-02,1,client,K,in-person,tiny,1,1,false,,warmth,sum,10,10,5,2,2,0,0,"
            "false,false,,,",
            "C-1,1,2026-03-02,1,client,K,in-person,tiny,1,1,false,,work,mean,4.3333333333,13,"
            "4.3333333333,3,3,0,0,false,false,,,",
            "C-1,2,2026-03-09,2,client,K,video,tiny,1,1,false,moved house,warmth,sum,4,4,2,2,2,0,0,"
            "false,false,,,",
            "C-1,2,2026-03-09,2,client,K,video,tiny,1,1,false,moved house,work,mean,2.5,7.5,2.5,"
            "3,2,0,1,true,false,,,",
            # warmth = 1 + (6 − 5) = 2: below 4, the "low" band
            "C-2,3,2026-04-01,1,client,,,tiny,1,1,false,,warmth,sum,2,2,1,2,2,0,0,false,false,,"
            "low warmth,low",
            "C-2,3,2026-04-01,1,client,,,tiny,1,1,false,,work,mean,2.3333333333,7,2.3333333333,"
            "3,3,0,0,false,false,,,",
            "",
        ]
    )


def test_wide_export_exact(recorded: Store, defs: Path, tmp_path: Path) -> None:
    out = tmp_path / "wide.csv"
    result = run("--client", "C-1", "--shape", "wide", "-o", str(out), "-d", str(defs))
    assert result.exit_code == 0
    assert out.read_text(encoding="utf-8").splitlines() == [
        "client,administration,date,session,respondent,clinician,modality,questionnaire,"
        "recorded_version,current_version,definition_changed,note,tiny.item.a,tiny.item.b,"
        "tiny.item.c,tiny.item.d,tiny.not_applicable,tiny.warmth,tiny.warmth.status,tiny.work,"
        "tiny.work.status",
        "C-1,1,2026-03-02,1,client,K,in-person,tiny,1,1,false,,5,1,4,4,,10,complete,"
        "4.3333333333,complete",
        # "does not apply" keeps its code (9) in the item column and is named beside it
        "C-1,2,2026-03-09,2,client,K,video,tiny,1,1,false,moved house,2,4,9,3,c,4,complete,2.5,"
        "prorated",
    ]


def test_wide_export_prefixes_each_questionnaire(
    recorded: Store, catalog: Catalog, defs: Path, tmp_path: Path
) -> None:
    save(recorded, catalog.get("srs"), "9,8.5,7,8", "C-2", "2026-04-02")
    out = tmp_path / "wide.csv"
    assert run("--client", "C-2", "--shape", "wide", "-o", str(out), "-d", str(defs)).exit_code == 0
    rows = read_rows(out)
    assert [(r["questionnaire"], r["srs.total"], r["tiny.warmth"]) for r in rows] == [
        ("srs", "32.5", ""),
        ("tiny", "", "2"),
    ]
    assert rows[0]["srs.item.2"] == "8.5"
    assert "srs.not_applicable" not in rows[0]  # srs has no "does not apply" code


def test_questionnaire_filter_and_empty_results(
    recorded: Store, defs: Path, tmp_path: Path
) -> None:
    out = tmp_path / "srs.csv"
    result = run("--all", "-q", "SRS", "--shape", "wide", "-o", str(out), "-d", str(defs))
    assert result.exit_code == 0
    assert result.stderr.startswith("wrote 0 rows to ")
    header = out.read_text(encoding="utf-8").splitlines()
    assert len(header) == 1 and header[0].endswith("srs.item.4,srs.total,srs.total.status")


def test_definition_changed_since_recording(
    recorded: Store, defs: Path, tmp_path: Path, catalog: Catalog
) -> None:
    old_hash = catalog.get("tiny").content_hash()
    (defs / "tiny.yaml").write_text(
        TINY_YAML.replace('version: "1"', 'version: "2"').replace("reverse: [b]", "reverse: []"),
        encoding="utf-8",
    )
    out = tmp_path / "out.csv"
    assert run("--client", "C-2", "-o", str(out), "-d", str(defs)).exit_code == 0
    warmth = read_rows(out)[0]
    assert (warmth["recorded_version"], warmth["current_version"]) == ("1", "2")
    assert warmth["definition_changed"] == "true"
    assert warmth["score"] == "6"  # 1 + 5, no longer reversed
    book = json.loads(Path(f"{out}.codebook.json").read_text(encoding="utf-8"))
    assert book["questionnaires"][0]["version"] == "2"
    assert book["questionnaires"][0]["recorded_under"] == [
        {"version": "1", "content_hash": old_hash, "administrations": 1}
    ]


# -- formula injection ---------------------------------------------------------------------


def test_formula_injection_is_escaped_but_numbers_stay(
    store: Store, catalog: Catalog, defs: Path, tmp_path: Path
) -> None:
    neg = catalog.get("neg")
    save(store, neg, "-3,-2", "-X1", "2026-05-01", clinician="=1+2", note="@SUM(A1)")
    save(store, neg, "-1,2", "-X1", "2026-05-02", clinician="+44", note="-rm")
    out = tmp_path / "out.csv"
    assert run("--all", "--shape", "wide", "-o", str(out), "-d", str(defs)).exit_code == 0
    rows = read_rows(out)
    assert [(r["client"], r["clinician"], r["note"]) for r in rows] == [
        ("'-X1", "'=1+2", "'@SUM(A1)"),
        ("'-X1", "+44", "'-rm"),  # +44 is a number: never escaped
    ]
    assert [(r["neg.item.x"], r["neg.item.y"], r["neg.net"]) for r in rows] == [
        ("-3", "-2", "-5"),
        ("-1", "2", "1"),
    ]
    raw = tmp_path / "raw.csv"
    assert run("--all", "-o", str(raw), "--no-escape-formulas", "-d", str(defs)).exit_code == 0
    assert [(r["client"], r["clinician"], r["score"]) for r in read_rows(raw)] == [
        ("-X1", "=1+2", "-5"),
        ("-X1", "+44", "1"),
    ]
    book = json.loads(Path(f"{raw}.codebook.json").read_text(encoding="utf-8"))
    assert book["csv"]["formulas_escaped"] is False


# -- files: mode, atomicity, stdout ----------------------------------------------------------


def test_export_codebook_and_key_are_private(recorded: Store, defs: Path, tmp_path: Path) -> None:
    out, key = tmp_path / "out.csv", tmp_path / "key.csv"
    out.write_text("old", encoding="utf-8")
    out.chmod(0o644)
    previous = os.umask(0o022)
    try:
        result = run(
            "--all", "--deidentify", "--key-file", str(key), "-o", str(out), "-d", str(defs)
        )
    finally:
        os.umask(previous)
    assert result.exit_code == 0
    assert result.stderr == (f"wrote 6 rows to {out} (codebook: {out}.codebook.json; key: {key})\n")
    for path in (out, Path(f"{out}.codebook.json"), key):
        assert mode(path) == 0o600, path
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_atomic_write_failure_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("complete old export\n", encoding="utf-8")

    def half(stream: io.TextIOBase) -> None:
        stream.write("client,session\r\nC-1,")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        atomic_write(target, half)  # type: ignore[arg-type]
    assert target.read_text(encoding="utf-8") == "complete old export\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]
    with pytest.raises(RuntimeError):
        atomic_write(tmp_path / "new.csv", half)  # type: ignore[arg-type]
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_failing_export_writer_leaves_no_partial_file(
    recorded: Store, catalog: Catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out.csv"
    out.write_text("previous\n", encoding="utf-8")
    found = build_export(recorded, catalog.get, client="C-1")

    def broken(stream: io.TextIOBase, header: object, columns: object, **kw: object) -> None:
        stream.write("client,")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export_module, "write_column_parts", broken)
    with pytest.raises(InputFileError) as caught:
        write_export(found, out)
    assert caught.value.exit_code == 6
    assert str(caught.value) == f"{out}: cannot write the file: No space left on device"
    assert out.read_text(encoding="utf-8") == "previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["defs", "out.csv", "private"]
    # A stream (stdout) gets the whole file or nothing, as a file does.
    stream = io.BytesIO()
    with pytest.raises(InputFileError, match="stdout: cannot write the file"):
        write_export(found, stream)
    assert stream.getvalue() == b""


def test_stdout_export_has_no_codebook_unless_asked(
    recorded: Store, defs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    before = sorted(tmp_path.iterdir())
    result = run("--client", "C-2", "-o", "-", "-d", str(defs))
    assert result.exit_code == 0
    assert result.stderr == "wrote 2 rows to stdout\n"
    assert result.stdout.splitlines()[0] == LONG_HEADER
    assert len(list(csv.reader(io.StringIO(result.stdout)))) == 3
    assert sorted(tmp_path.iterdir()) == before
    book = tmp_path / "book.json"
    result = run("--client", "C-2", "-o", "-", "--codebook", str(book), "-d", str(defs))
    assert result.stderr == f"wrote 2 rows to stdout (codebook: {book})\n"
    assert json.loads(book.read_text(encoding="utf-8"))["data_file"] is None
    assert mode(book) == 0o600


# -- codebook ------------------------------------------------------------------------------


def test_codebook_describes_every_column_and_definition(
    recorded: Store, catalog: Catalog, defs: Path, tmp_path: Path
) -> None:
    out = tmp_path / "wide.csv"
    assert run("--all", "--shape", "wide", "-o", str(out), "-d", str(defs)).exit_code == 0
    book = json.loads(Path(f"{out}.codebook.json").read_text(encoding="utf-8"))
    header = out.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert [c["name"] for c in book["columns"]] == header
    assert all(
        c["meaning"] and c["type"] in {"integer", "number", "text", "boolean"}
        for c in book["columns"]
    )
    by_name = {c["name"]: c for c in book["columns"]}
    assert by_name["tiny.item.b"]["allowed"] == (
        "1–5 (1 Never, 2 Rarely, 3 Sometimes, 4 Often, 5 Always); 9 = Does not apply "
        "(not an answer: counted as unanswered)"
    )
    assert by_name["tiny.work.status"]["allowed"] == ["complete", "prorated", "withheld"]
    assert by_name["tiny.warmth"]["allowed"] == "2–10"
    assert (book["shape"], book["rows"], book["data_file"]) == ("wide", 3, "wide.csv")
    [tiny] = book["questionnaires"]
    q = catalog.get("tiny")
    assert (tiny["id"], tiny["version"], tiny["content_hash"]) == ("tiny", "1", q.content_hash())
    assert tiny["citations"] == [{"text": "Test fixture, not a real instrument.", "doi": None}]
    assert tiny["recorded_under"] == [
        {"version": "1", "content_hash": q.content_hash(), "administrations": 3}
    ]
    assert [(s["id"], s["reverse"], s["missing_rule"]) for s in tiny["scales"]] == [
        ("warmth", ["b"], "all 2 items required"),
        ("work", [], "prorated when at least 2 of 3 are answered"),
    ]
    assert tiny["items"][0]["response_scale"]["not_applicable"] == {
        "values": [9.0],
        "label": "Does not apply",
    }


# -- de-identification ---------------------------------------------------------------------


def test_deidentified_export(recorded: Store, catalog: Catalog, defs: Path, tmp_path: Path) -> None:
    # C-1's first session of any questionnaire is a week before the tiny ones: day 0.
    save(recorded, catalog.get("srs"), "9,9,9,9", "C-1", "2026-02-23")
    out, key = tmp_path / "study.csv", tmp_path / "key.csv"
    result = run(
        "--all",
        "-q",
        "tiny",
        "--shape",
        "wide",
        "--deidentify",
        "--key-file",
        str(key),
        "-o",
        str(out),
        "-d",
        str(defs),
    )
    assert result.exit_code == 0
    text = out.read_text(encoding="utf-8")
    book = Path(f"{out}.codebook.json").read_text(encoding="utf-8")
    for secret in ("C-1", "C-2", "2026-", "moved house"):
        assert secret not in text and secret not in book, secret
    rows = read_rows(out)
    assert "administration" not in rows[0] and "date" not in rows[0] and "note" not in rows[0]
    ids = {r["client"] for r in rows}
    assert len(ids) == 2 and all(re.fullmatch(r"S-[2-9A-HJKMNP-TV-Z]{6}", i) for i in ids)
    keyed = {k["study_id"]: (k["client"], k["first_date"]) for k in read_rows(key)}
    back = sorted((keyed[r["client"]][0], int(r["day"]), r["tiny.warmth"]) for r in rows)
    assert back == [("C-1", 7, "10"), ("C-1", 14, "4"), ("C-2", 0, "2")]
    assert sorted(keyed.values()) == [("C-1", "2026-02-23"), ("C-2", "2026-04-01")]
    assert json.loads(book)["deidentified"] is True


def test_study_ids_are_fresh_each_export(recorded: Store, catalog: Catalog) -> None:
    first = build_export(recorded, catalog.get, deidentify=True, shape=Shape.wide)
    again = build_export(recorded, catalog.get, deidentify=True, shape=Shape.wide)
    assert {k.client for k in first.key} == {"C-1", "C-2"}
    assert {k.study_id for k in first.key} != {k.study_id for k in again.key}


def test_key_file_needs_deidentify_in_the_library(
    recorded: Store, catalog: Catalog, tmp_path: Path
) -> None:
    found = build_export(recorded, catalog.get, client="C-1")
    with pytest.raises(UsageError):
        write_export(found, tmp_path / "x.csv", key_file=tmp_path / "k.csv")
    assert not (tmp_path / "x.csv").exists()


# -- usage and exit codes ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["-o", "x.csv"], 2),  # neither --client nor --all
        (["--client", "C-1", "--all", "-o", "x.csv"], 2),
        (["--all"], 2),  # no -o
        (["--all", "--shape", "tall", "-o", "x.csv"], 2),
        (["--all", "-o", "x.csv", "--key-file", "k.csv"], 2),  # key without --deidentify
        (["--all", "-o", "x.csv", "--codebook", "x.csv"], 2),
        (["--client", "Jane Doe", "-o", "x.csv"], 2),
        (["--client", "C-NONE", "-o", "x.csv"], 7),
        (["--all", "-q", "nope", "-o", "x.csv"], 3),
        (["--all", "-o", "missing-folder/x.csv"], 6),
    ],
)
def test_exit_codes(
    recorded: Store,
    defs: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    code: int,
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run(*args, "-d", str(defs))
    assert result.exit_code == code, result.output
    assert not (tmp_path / "x.csv").exists()


def test_usage_messages(recorded: Store, defs: Path, tmp_path: Path) -> None:
    out = str(tmp_path / "x.csv")
    assert "give either --client CODE or --all" in run("-o", out).stderr
    assert (
        "--key-file only goes with --deidentify"
        in run("--all", "-o", out, "--key-file", "k.csv").stderr
    )
    assert run("--all", "-o", str(tmp_path / "no" / "x.csv"), "-d", str(defs)).stderr == (
        f"error: {tmp_path / 'no' / 'x.csv'}: cannot write the file: No such file or directory\n"
    )


def test_unverified_key_warns(store: Store, catalog: Catalog, tmp_path: Path) -> None:
    save(store, catalog.get("wai"), ",".join(["4"] * 36), "C-W", "2026-01-05")
    result = run("--client", "C-W", "-o", str(tmp_path / "w.csv"))
    assert result.exit_code == 0
    assert result.stderr.startswith("WARNING: the scoring key of wai is unverified")
    assert result.stderr.endswith(
        f"wrote 4 rows to {tmp_path / 'w.csv'} (codebook: {tmp_path / 'w.csv'}.codebook.json)\n"
    )


@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_help_has_an_example(flag: str) -> None:
    result = run(flag)
    assert result.exit_code == 0
    assert "Example:" in result.stdout and "alliance export" in result.stdout


def test_export_into_a_fifo_leaves_it_a_fifo_and_no_codebook_beside_it(
    recorded: Store, defs: Path, tmp_path: Path
) -> None:
    requires(hasattr(os, "mkfifo"), "FIFOs (POSIX)")
    from tests.helpers import Drain, is_fifo

    out = tmp_path / "out.csv"
    run("--all", "-o", str(out), "-d", str(defs))
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    drain = Drain(fifo)
    result = run("--all", "-o", str(fifo), "-d", str(defs))
    assert result.exit_code == 0, result.stderr
    assert drain.result() == out.read_bytes() and is_fifo(fifo)
    assert not Path(f"{fifo}.codebook.json").exists()


def test_administrations_of_a_removed_definition_are_left_out_and_said(
    recorded: Store, catalog: Catalog
) -> None:
    """tiny's definition is gone (its folder not given): its 3 administrations (2 clients)
    are left out with one warning naming them, and the SRS ones are exported."""
    srs = catalog.get("srs")
    save(recorded, srs, "9,9,9,9", "C-2", "2026-04-02")
    recorded.close()
    out = Path(os.environ["ALLIANCE_DB"]).parent / "out.csv"
    result = run("--all", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert [(r["client"], r["questionnaire"], r["score"]) for r in read_rows(out)] == [
        ("C-2", "srs", "36")
    ]
    left = [line for line in result.stderr.splitlines() if "left out" in line]
    assert left == [
        'WARNING: 3 tiny administrations (client) left out: no questionnaire "tiny" (known: '
        "care, haq-ii, ors, srs, wai, wai-s, wai-sr, wai-sr-t)"
    ]


@pytest.mark.parametrize(
    ("shape", "deidentify"), [(Shape.long, False), (Shape.wide, False), (Shape.wide, True)]
)
def test_an_export_written_in_parts_is_the_export_written_whole(
    recorded: Store,
    catalog: Catalog,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    shape: Shape,
    deidentify: bool,
) -> None:
    """Parts of one client each (the smallest) give the bytes of one part for all: three
    questionnaires, clients whose codes sort apart from their order of entry (and from
    their study ids), blank details in some parts only, a "does not apply" answer, flags, a
    voided record."""
    save(recorded, catalog.get("srs"), "9,8.5,7,8", "C-2", "2026-04-02", note="=x")
    save(recorded, catalog.get("neg"), "-3,-2", "A-9", "2026-05-01", clinician="Q")
    save(recorded, catalog.get("tiny"), "1,5,,3", "B-3", "2026-06-01")
    save(recorded, catalog.get("srs"), "1,1,1,1", "B-3", "2026-06-01", modality="video")

    def written(part: int) -> bytes:
        monkeypatch.setattr(export_module, "PART_ADMINISTRATIONS", part)
        # Study ids minted in the codes' order sort against it: S-Z…, S-Y…, …
        minted = iter(f"S-{c}22222" for c in "ZYXWV")
        monkeypatch.setattr(export_module, "_mint_study_id", lambda: next(minted))
        out = tmp_path / f"{part}.csv"
        found = build_export(recorded, catalog.get, shape=shape, deidentify=deidentify)
        write_export(found, out)
        assert out.read_bytes().count(b"\r\n") == 1 + found.rows
        return out.read_bytes()

    whole = written(10_000)
    assert written(1) == whole
    assert whole.splitlines()[1].startswith(b"S-W22222," if deidentify else b"A-9,")


def test_the_flags_cell_is_that_of_score_format_csv(
    store: Store, catalog: Catalog, tmp_path: Path
) -> None:
    """SRS: a band flag (total below 36) and an item rule (an item below 9) on its items,
    alone, together and neither: each exported flags cell is the one `score --format csv`
    writes for the same answers."""
    srs = catalog.get("srs")
    given = ["9,9,9,9", "9,9,9.5,8.5", "5,5,5,5", "9.5,9.5,9.5,9.5"]
    for n, answers in enumerate(given):
        save(store, srs, answers, "C-F", f"2026-01-0{n + 1}")
    out = tmp_path / "flags.csv"
    write_export(build_export(store, catalog.get, client="C-F"), out)
    exported = [r["flags"] for r in read_rows(out)]
    expected = [score(srs, a).csv_rows()[0][17] for a in given]
    assert exported == expected
    assert expected == [
        "",
        "item-below-9:4",
        "possible-problem;item-below-9:1;item-below-9:2;item-below-9:3;item-below-9:4",
        "",
    ]


def test_a_record_saved_during_an_export_is_in_neither_its_rows_nor_its_count(
    recorded: Store, catalog: Catalog, tmp_path: Path, _env: Path
) -> None:
    """The rows are read part by part after they were counted: the export reads one state
    of the database, so another process's record made meanwhile cannot make the file
    disagree with its row count (codebook, summary)."""
    out = tmp_path / "out.csv"
    with recorded.snapshot():
        found = build_export(recorded, catalog.get)
        with Store(_env) as other:  # another process, recording while the export runs
            save(other, catalog.get("tiny"), "5,5,5,5", "C-2", "2026-05-01")
        written = write_export(found, out)
    rows = read_rows(out)
    assert written.rows == found.rows == len(rows) == 6
    assert "2026-05-01" not in {r["date"] for r in rows}
    again = build_export(recorded, catalog.get)  # a new export sees it
    assert again.rows == 8


def test_stdout_export_waits_beside_the_database_not_in_the_shared_temp_folder(
    recorded: Store, defs: Path, _env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole export sits in its spool file until it is complete: clinical data, so in
    the database's own (private) folder, never in the system's shared temporary folder."""
    from alliance_cli.io import atomic

    folders: list[Path | None] = []
    real = atomic._private_temporary

    def watched(folder: Path | None, *args: Any, **kwargs: Any) -> Any:
        folders.append(folder)
        return real(folder, *args, **kwargs)

    monkeypatch.setattr(atomic, "_private_temporary", watched)
    result = run("--all", "-o", "-", "-d", str(defs))
    assert result.exit_code == 0, result.output
    assert folders == [_env.parent]
    assert [p.name for p in _env.parent.iterdir() if p.name.startswith(".")] == []


@pytest.mark.slow
def test_a_reader_that_leaves_early_ends_the_export_quietly(
    recorded: Store, defs: Path, _env: Path
) -> None:
    """`alliance export --all -o - | head -1`: the reader closing the pipe is no error to
    report — nothing on stderr, and the exit code of any printing command whose reader left
    (`alliance list`) — and the spool file is gone."""
    recorded.close()
    env = {**os.environ, "ALLIANCE_DB": str(_env)}

    def reader_gone(*args: str) -> tuple[int, bytes]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "alliance_cli", *args, "-d", str(defs)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()  # the reader is gone before anything is written
        err = proc.stderr.read()
        return proc.wait(timeout=120), err

    printing = reader_gone("list")
    assert printing[1] == b""
    assert reader_gone("export", "--all", "-o", "-") == printing
    assert [p.name for p in _env.parent.iterdir() if p.name.startswith(".")] == []
