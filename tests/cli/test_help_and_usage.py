"""Help and usage errors in one plain style (issue 9, sections 2 and 4): every command's help
at 80 and 120 columns keeps its examples whole, wraps prose only where a line is full, and
shows no type names; every usage error is one ``error:`` line, never a boxed panel."""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from alliance_cli.cli import app

runner = CliRunner()


def command_paths(group: Any = None, path: tuple[str, ...] = ()) -> list[list[str]]:
    """Every registered command, also in sub-apps, as the arguments that reach it (the root
    is [])."""
    group = group or typer.main.get_command(app)
    paths = [list(path)]
    for name, command in sorted(group.commands.items()):
        if isinstance(command, typer.core.TyperGroup):
            paths += command_paths(command, (*path, name))
        else:
            paths.append([*path, name])
    return paths


def examples(path: list[str]) -> list[str]:
    """The example command lines of a command's own help text."""
    command: Any = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    text = re.sub(r"\\\n\s*", "", command.help or "")  # shell line continuations
    found = re.findall(r"(?:^\s*|:\s+)(alliance .*)$", text, flags=re.M)
    assert found, f"alliance {' '.join(path)} has no example"
    return found


def help_text(path: list[str], columns: int) -> str:
    result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": str(columns), "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    return result.stdout


TYPE_NAMES = [
    r"<(bool|str|int|float|path|file|text|datetime|uuid|list\[[^>]*\]|tuple[^>]*|[a-z ]*range)>",
    r"<[^<>\s]*\|[^<>\s]*>",  # a choice list as a type: <long|wide>
    r"x<=|x>=|<=x",  # a number range: [1<=x<=4611686018427387904]
    r"\b(INTEGER|TEXT|FLOAT|BOOLEAN|PATH|FILENAME|DIRECTORY|RANGE)\b",
    r"\[\[|\]\]|\{[A-Z_.]+\}",  # new-client [[CODE]], score {ID}
]


def _greedy(lines: list[str], width: int) -> list[str]:
    """Lines of one wrapped paragraph that end before they are full: the next line's first
    word would have fitted (a line break from the source text, not from the terminal)."""
    early = []
    for line, following in itertools.pairwise(lines):
        text, nxt = line.rstrip(), following.strip()
        if text and nxt and len(text) + 1 + len(nxt.split()[0]) <= width:
            early.append(f"{text!r} then {nxt!r}")
    return early


def _prose(out: str) -> list[list[str]]:
    """Paragraphs of the description (between the usage line and the first panel), without
    example lines."""
    head = out.split("╭", 1)[0].splitlines()[2:]
    paragraphs: list[list[str]] = [[]]
    head = [line.rstrip() for line in head]
    for line in head:
        preformatted = line.startswith("  ") or "alliance " in line or line.endswith(":")
        if not line.strip() or preformatted:
            paragraphs.append([])
        else:
            paragraphs[-1].append(line)
    return [p for p in paragraphs if len(p) > 1]


def _command_rows(out: str, width: int) -> list[list[str]]:
    """The description of each command in the root help's command panel, one list of
    rendered lines per command, and the width that column has."""
    panel = out.split("─ Commands ", 1)[1].split("╰", 1)[0].splitlines()[1:]
    rows: list[list[str]] = []
    for line in panel:
        inner = line[2:-2]
        name, _, desc = inner.partition(" ")
        if name:
            rows.append([desc.strip()])
        else:
            rows[-1].append(inner.strip())
    return rows


@pytest.mark.slow
@pytest.mark.parametrize("columns", [80, 120])
@pytest.mark.parametrize("path", command_paths(), ids=lambda p: " ".join(p) or "alliance")
def test_help_is_plain_and_keeps_examples_whole(path: list[str], columns: int) -> None:
    out = help_text(path, columns)
    for pattern in TYPE_NAMES:
        assert not re.search(pattern, out), f"type name {pattern!r} in:\n{out}"
    lines = re.sub(r"\\\n\s*", "", "\n".join(x.strip(" │") for x in out.splitlines())).splitlines()
    for example in examples(path):
        assert any(example in line for line in lines), f"{example!r} is broken in:\n{out}"
    for paragraph in _prose(out):
        assert not _greedy([line[1:] for line in paragraph], columns - 2), out
    assert max(len(line) for line in out.splitlines()) <= columns


@pytest.mark.parametrize("columns", [80, 120])
def test_the_command_list_wraps_only_full_lines(columns: int) -> None:
    out = help_text([], columns)
    panel = out.split("─ Commands ", 1)[1].split("╰", 1)[0].splitlines()[1:]
    start = len(panel[0]) - len(panel[0][2:].split(" ", 1)[1].lstrip())
    width = len(panel[0]) - 2 - start
    for row in _command_rows(out, width):
        assert not _greedy(row, width), out


# -- usage errors: one plain line ---------------------------------------------------------------


def usage_error(*args: str) -> list[str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "80", "NO_COLOR": "1"})
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert not re.search("[╭╮╰╯│─]", result.stderr), result.stderr
    lines = result.stderr.splitlines()
    assert sum(line.startswith("error:") for line in lines) == 1, result.stderr
    return lines


SCORE = ["score", "srs", "-a", "9,9,9,9"]


@pytest.mark.parametrize(
    ("args", "first"),
    [
        (
            [*SCORE, "--client", "C-1", "--modality", "vidoe"],
            'error: --modality "vidoe" is not one of: in-person, video, phone, other',
        ),
        (
            [*SCORE, "--respondent", "parent"],
            'error: --respondent "parent" is not one of: client, therapist, observer',
        ),
        (
            ["export", "--all", "-o", "x.csv", "--shape", "tall"],
            'error: --shape "tall" is not one of: long, wide',
        ),
        ([*SCORE, "--session", "0"], 'error: --session "0" must be at least 1'),
        (
            [*SCORE, "--session", "two"],
            'error: --session "two" is not a whole number',
        ),
        (["void", "abc", "--reason", "x"], 'error: ADMIN_ID "abc" is not a whole number'),
        (
            ["void", "99999999999999999999", "--reason", "x"],
            'error: ADMIN_ID "99999999999999999999" must be at most 4611686018427387904',
        ),
        (["score", "srs", "--bogus"], "error: no such option: --bogus"),
        (["score"], "error: missing argument 'ID'"),
        (["void", "1"], "error: missing option '--reason'"),
        (["bogus"], "error: no such command 'bogus'"),
        (
            ["score", "srs"],
            "error: give the answers with either --answers TEXT (or - for stdin) or "
            "--answers-file FILE",
        ),
        (["export", "-o", "x.csv"], "error: give either --client CODE or --all"),
        (
            # A correction without --client would be scored, shown, and silently not saved.
            [*SCORE, "--replaces", "4", "--note", "typo"],
            "error: --note, --replaces record a session: give --client CODE too (nothing recorded)",
        ),
    ],
)
def test_usage_errors_are_one_plain_line(args: list[str], first: str) -> None:
    lines = usage_error(*args)
    assert lines[0] == first
    command = args[0] if args[0] != "bogus" else ""
    assert lines[1:] == [f"Try 'alliance {command} --help'.".replace("  ", " ")]


def test_option_values_are_case_insensitive(tmp_path: object) -> None:
    env = {"ALLIANCE_DB": f"{tmp_path}/h.sqlite3", "NO_COLOR": "1"}
    args = [*SCORE, "--client", "C-1", "--new-client", "--modality", "Video"]
    result = runner.invoke(app, [*args, "--respondent", "THERAPIST", "--format", "JSON"], env=env)
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("recorded administration #1: client C-1, session 1, srs "
                                    "(therapist)")  # fmt: skip


def test_every_choice_of_every_command_is_case_insensitive(tmp_path: object) -> None:
    # Generic, so that an option added later is covered too; then one of them for real.
    def choices(group: Any) -> list[tuple[str, Any]]:
        found = []
        for name, command in group.commands.items():
            if isinstance(command, typer.core.TyperGroup):
                found += choices(command)
                continue
            found += [
                (f"{name} {param.opts[0]}", param)
                for param in command.params
                if getattr(param, "type_descriptor", None) is not None
                and param.type_descriptor.is_choice
            ]
        return found

    found = choices(typer.main.get_command(app))
    assert {name for name, _ in found} >= {"batch --to", "export --shape", "score --format"}
    assert [n for n, p in found if p.type_descriptor.parameter_info.case_sensitive] == []
    env = {"ALLIANCE_DB": f"{tmp_path}/h.sqlite3", "NO_COLOR": "1"}
    assert runner.invoke(app, [*SCORE, "--client", "C-1", "--new-client"], env=env).exit_code == 0
    wide = runner.invoke(app, ["export", "--all", "--shape", "WIDE", "-o", "-"], env=env)
    assert wide.exit_code == 0, wide.output
    assert "srs.item.1" in wide.stdout.splitlines()[0]  # the wide shape


def test_a_sub_app_built_with_plain_typer_is_plain_too() -> None:
    """A command group another module adds later (``alliance db …``) needs no special class."""
    from alliance_cli.cli._plain import PlainGroup

    root = typer.Typer(cls=PlainGroup, add_completion=False)
    sub = typer.Typer()

    @root.command()
    def other() -> None:
        """Another command."""

    @sub.command()
    def check(level: int = 1, quick: bool = False) -> None:
        """Check something.

        Example:  alliance db check --level 2
        """

    root.add_typer(sub, name="db", help="Database commands.")
    env = {"COLUMNS": "80", "NO_COLOR": "1"}
    shown = runner.invoke(root, ["db", "check", "--help"], env=env)
    assert shown.exit_code == 0
    assert not any(re.search(pattern, shown.stdout) for pattern in TYPE_NAMES), shown.stdout
    wrong = runner.invoke(root, ["db", "check", "--level", "x"], env=env)
    assert (wrong.exit_code, wrong.stderr) == (
        2,
        "error: --level \"x\" is not a whole number\nTry 'root db check --help'.\n",
    )
