"""Fuzzing the command line: argv built from the real command tree (every command and
sub-command of the app, its options and the type of each: choices, numbers, paths, text,
flags, arguments), with valid and hostile values (typos, empty strings, paths to folders,
missing files and the database itself, `-`, huge and negative numbers, lone surrogates),
in random order and repeated. Each runs in its own folder with ALLIANCE_DB there, holding a
database with a client and a record, a data file and a definitions folder; `administer` (the
interactive command) only with an empty stdin.

Every case must pass ``check``: a documented exit code, no traceback, a message on failure,
nothing on stdout on failure and the folder exactly as it was (nothing written, nothing left
behind). Only ``validate`` (exit 1: "found problems") and ``db check`` (exit 7: "found a
problem") print their report on stdout when they fail, by design (README's commands table)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from hypothesis import strategies as st
from typer.core import TyperArgument, TyperGroup

from alliance_cli.cli import app
from tests.fuzz.fuzzkit import Budget, budgets, check, invoke, invoke_process, snapshot
from tests.helpers import TINY_YAML

WAI_SR = "5,4,4,5,3,4,5,4,4,5,4,4"


def commands() -> Iterator[tuple[list[str], Any]]:
    """Every leaf command of the app with its path (``["db", "check"]``)."""

    def walk(command: Any, path: list[str]) -> Iterator[tuple[list[str], Any]]:
        if isinstance(command, TyperGroup):
            for name, sub in command.commands.items():
                yield from walk(sub, [*path, name])
        else:
            yield path, command

    yield from walk(typer.main.get_command(app), [])


COMMANDS = list(commands())
HOSTILE = ["", " ", "-", "--", "-5", "café", "[x1]", "[/]", "x" * 5000, "\udcff", "a\udcc3\udca9"]
NUMBERS = ["1", "2", "0", "-1", "3.5", "1e3", "99999999999999999999999", str(2**62 + 1), "one"]
TEXT = {  # values that mean something to an option of that name
    "QUESTIONNAIRE": ["wai-sr", "srs", "WAI_SR", "tiny", "wai-sx", "care"],
    "QUESTIONNAIRES": ["wai-sr", "srs", "tiny", "nope"],
    "--questionnaire": ["wai-sr", "srs", "tiny", "nope"],
    "--client": ["C-1", "c-1", "C-2", "new one"],
    "CLIENT": ["C-1", "c-1", "C-9"],
    "CODE": ["C-3", "C-1", "bad code!"],
    "--confirm": ["C-1", "c-1", "C-9"],
    "--answers": [WAI_SR, "9.1,8.7,9.5,8", "1,2", "-"],
    "--date": ["2026-01-05", "2026-02-30", "2999-01-01", "yesterday"],
    "--scale": ["total", "goal", "nope"],
    "--id": ["id", "nope"],
    "--keep": ["id", "nope"],
    "--missing": ["99", ".", "NA"],
    "--sep": [",", ";", "tab", "ab"],
    "--encoding": ["utf-8", "latin-1", "utf-16", "nope"],
    "--sheet": ["Sheet1", "1", "nope"],
    "--center": ["grand", "id", "nope"],
    "--by": ["id", "nope"],
    "--session": ["1", "2", "nope"],
    "--scheduler": ["threads", "synchronous", "nope"],
}
PATHS = [
    "data.csv",
    "defs",
    "missing.csv",
    "h.db",
    "-",
    "",
    "/dev/null",
    "out.csv",
    "defs/tiny.yaml",
]
PATHS += ["/nonexistent/x.csv", "new/deeper/o.xlsx", "defs/wai-sr.item-text.yaml"]


def _values(param: Any) -> list[str]:
    desc = param.type_descriptor
    if desc.is_choice:
        choices = [str(getattr(c, "value", c)) for c in desc.choices]
        return [*choices, *(c.upper() for c in choices), choices[0][:-1] + "x", ""]
    names = [param.name.upper(), *getattr(param, "opts", [])]
    known = next((TEXT[n] for n in names if n in TEXT), [])
    if desc.annotation is int or param.name in ("session", "min_n", "chunk_size"):
        return [*known, *NUMBERS, *HOSTILE[:5]]
    if desc.annotation is Path or param.name in ("inputs", "files", "definitions", "file"):
        return [*known, *PATHS, *HOSTILE]
    return [*known, *HOSTILE, *PATHS[:3]]


@st.composite
def argv(draw: Any) -> list[str]:
    path, command = draw(st.sampled_from(COMMANDS))
    args = list(path)
    params = [p for p in command.params if p.name != "help"]
    chosen = draw(st.lists(st.sampled_from(params), max_size=6)) if params else []
    for param in chosen:
        if isinstance(param, TyperArgument):
            args += draw(st.lists(st.sampled_from(_values(param)), min_size=1, max_size=2))
        elif param.is_flag:
            args.append(draw(st.sampled_from(param.opts)))
        else:
            opt, value = draw(st.sampled_from(param.opts)), draw(st.sampled_from(_values(param)))
            joined = opt.startswith("--") and draw(st.booleans())
            args += [f"{opt}={value}"] if joined else [opt, value]
    extra = draw(st.sampled_from([[], [], [], ["--bogus"], ["--help"], ["extra"], ["--json"]]))
    args += extra
    tail = draw(st.permutations(args[len(path) :]))  # random order after the command
    return [*path, *tail]


def _folder(tmp_path: Path) -> Path:
    """A folder with a history database (client C-1 with one record), a data file and a
    definitions folder; made once, copied for each case."""
    seed = tmp_path / "seed"
    if not seed.exists():
        seed.mkdir()
        (seed / "defs").mkdir()
        (seed / "defs" / "tiny.yaml").write_text(TINY_YAML, encoding="utf-8")
        header = "id," + ",".join(f"wai{i}" for i in range(1, 13))
        (seed / "data.csv").write_text(f"{header}\nr1,{WAI_SR}\nr2,{WAI_SR[::-1]}\n")
        record = ["score", "wai-sr", "-a", WAI_SR, "-c", "C-1", "--new-client", "--db"]
        assert invoke("arguments", [*record, str(seed / "h.db")]).code == 0
    return seed


def _quiet(args: list[str]) -> bool:
    """Only ``validate`` (exit 1) and ``db check`` (exit 7) print their findings on stdout
    when they fail: their report is the data asked for."""
    return args[0] != "validate" and args[:2] != ["db", "check"]


@pytest.mark.slow
@budgets(bounded=60, long=2500)
def test_fuzz_arguments(budget: Budget, tmp_path: Path) -> None:
    seed = _folder(tmp_path)

    @budget.given(argv())
    def case(args: list[str]) -> None:
        folder = tmp_path / "case"
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(seed, folder)
        before = snapshot(folder)
        env = {"ALLIANCE_DB": str(folder / "h.db"), "NO_COLOR": "1", "COLUMNS": "100"}
        outcome = invoke("arguments", args, input="", env=env, cwd=folder)
        check(outcome, args=args, folder=folder, before=before, quiet_stdout=_quiet(args))

    case()


RAW = [b"\xff", b"caf\xe9", b"\xc3\x28", b"\xed\xa0\x80", b"ok\x80", b"\xf0\x9f\x98"]


@pytest.mark.slow
@budgets(bounded=3, long=100)
def test_fuzz_arguments_process(budget: Budget, tmp_path: Path) -> None:
    """Raw bytes that are not UTF-8 in option values (what only a real argv carries)."""
    seed = _folder(tmp_path)

    @budget.given(argv(), st.data())
    def case(args: list[str], data: Any) -> None:
        raw: list[str | bytes] = list(args)
        for _ in range(data.draw(st.integers(1, 2))):
            raw.insert(data.draw(st.integers(0, len(raw))), data.draw(st.sampled_from(RAW)))
        folder = tmp_path / "case"
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(seed, folder)
        before = snapshot(folder)
        env = {"ALLIANCE_DB": str(folder / "h.db"), "NO_COLOR": "1", "LC_ALL": "C.UTF-8"}
        outcome = invoke_process("arguments", raw, env=env, cwd=folder)
        check(outcome, args=raw, folder=folder, before=before)
        # Every argument is checked before any is parsed (also before --help is shown).
        assert outcome.code == 2 and "is not UTF-8 text" in outcome.stderr, outcome.stderr

    case()


def test_command_tree_is_walked() -> None:
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"score", "administer", "db check", "db restore", "norms build"} <= names
    if len(names) < 18:
        pytest.fail(f"only {sorted(names)} found in the app")
