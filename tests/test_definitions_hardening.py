"""Hostile definitions (issue 11): wrong types, deep nesting, booleans for numbers, unreadable
files and folders, files that never end. Each is a problem with its place, never a traceback,
and never breaks another questionnaire in the same folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from alliance_cli.cli import app
from alliance_cli.definitions import validate_text
from alliance_cli.model import Questionnaire
from tests.helpers import TINY_YAML

runner = CliRunner()


def pos(text: str, needle: str) -> str:
    """``line:col`` (1-based) of the first occurrence of ``needle``."""
    before = text[: text.index(needle)]
    return f"{before.count(chr(10)) + 1}:{len(before) - before.rfind(chr(10))}"


def invoke(*args: str, stdin: str | bytes | None = None) -> Any:
    result = runner.invoke(app, list(args), input=stdin)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result


NA = "not_applicable: {values: [9], label: Does not apply}"
ITEMS = "items:\n  - {id: a"
# Each broken text, where its problem is (the text before that column on its line) and the
# problem after "file:line:col ".
DEEP_LIST = "[" * 600 + "]" * 600
DEEP_MAP = "{a: " * 900 + "1" + "}" * 900
WRONG_SHAPES = {
    "items-number": (
        TINY_YAML[: TINY_YAML.index(ITEMS)]
        + "items: 5\n"
        + TINY_YAML[TINY_YAML.index("scales:") :],
        "items: ",
        "items: Input should be a valid tuple (got 5)",
    ),
    "item-rules-number": (
        TINY_YAML + "item_rules: 5\n",
        "item_rules: ",
        "item_rules: Input should be a valid tuple (got 5)",
    ),
    "na-values-number": (
        TINY_YAML.replace(NA, "not_applicable: {values: 6}"),
        "  not_applicable: {values: ",
        "response_scale.not_applicable.values: Input should be a valid tuple (got 6)",
    ),
    "exclude-number": (
        TINY_YAML.replace("  max: 5\n", "  max: 5\n  exclude: 3\n"),
        "  exclude: ",
        "response_scale.exclude: Input should be a valid tuple (got 3)",
    ),
    # The value at the 21st level: the 21st bracket, the 21st "{a: ".
    "deep-list": (
        TINY_YAML.replace(ITEMS, f"extra: {DEEP_LIST}\n{ITEMS}"),
        "extra: " + "[" * 20,
        "extra: lists or mappings are nested more than 20 levels deep here",
    ),
    "deep-mapping": (
        TINY_YAML.replace(ITEMS, f"extra: {DEEP_MAP}\n{ITEMS}"),
        "extra: " + "{a: " * 20,
        "extra: lists or mappings are nested more than 20 levels deep here",
    ),
}


@pytest.mark.parametrize("name", sorted(WRONG_SHAPES))
def test_wrong_shapes_and_deep_nesting_are_located_problems(tmp_path: Path, name: str) -> None:
    text, before, problem = WRONG_SHAPES[name]
    line = text[: text.index("\n" + before)].count("\n") + 2
    path = tmp_path / "tiny.yaml"
    path.write_text(text, encoding="utf-8")
    result = invoke("validate", str(path))
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == f"{path}:{line}:{len(before) + 1} {problem}"
    assert result.stdout.endswith("1 problem in 1 of 1 file\n")


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(WRONG_SHAPES))
def test_a_broken_definition_in_a_folder_never_breaks_another_questionnaire(
    tmp_path: Path, name: str
) -> None:
    folder = tmp_path / "defs"
    folder.mkdir()
    bad = folder / "broken.yaml"
    bad.write_text(WRONG_SHAPES[name][0].replace("id: tiny", "id: broken"), encoding="utf-8")
    listed = invoke("list", "-d", str(folder), "--json")
    assert listed.exit_code == 0
    assert "broken" not in listed.stdout
    notice = f"skipped {bad} (invalid definition; run: alliance validate {bad})"
    assert notice in listed.stderr
    scored = invoke("score", "srs", "-d", str(folder), "--answers", "9,8.5,7,8", "--json")
    assert scored.exit_code == 0
    assert '"total"' in scored.stdout
    asked = invoke("score", "broken", "-d", str(folder), "--answers", "1,1,1,1")
    assert asked.exit_code == 5
    assert f"{bad}:" in asked.stderr
    assert WRONG_SHAPES[name][2] in asked.stderr


def _paths(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(data, dict):
        for key, value in data.items():
            out += _paths(value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            out += _paths(value, (*path, i))
    return out


def _replaced(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(data, dict):
        return {k: (_replaced(v, rest, value) if k == head else v) for k, v in data.items()}
    return [(_replaced(v, rest, value) if i == head else v) for i, v in enumerate(data)]


@pytest.mark.slow
def test_every_value_replaced_by_every_kind_of_value_is_reported_not_raised() -> None:
    # The path x type mutations of the fuzzing pass, over the tiny definition: a number, a
    # boolean, text, an empty and a non-empty list and mapping, nothing, in every place.
    data = yaml.safe_load(TINY_YAML)
    kinds: list[Any] = [5, True, "x", [], [5], {}, {"a": 5}, None]
    count = 0
    for path in _paths(data)[1:]:
        for kind in kinds:
            text = yaml.safe_dump(_replaced(data, path, kind), sort_keys=False)
            model, problems = validate_text(text, "f.yaml", Questionnaire)
            assert (model is None) == bool(problems), (path, kind)
            assert all(p.location.startswith("f.yaml") for p in problems), (path, kind)
            count += 1
    assert count > 500


# -- a boolean is not a number -----------------------------------------------------------------

BOOLEANS = [
    ("  max: 5\n", "  max: true\n", "  max: ", "response_scale.max", "True"),
    ("  min: 1\n", "  min: false\n", "  min: ", "response_scale.min", "False"),
    ("below: 4,", "below: true,", "below: ", "scales.warmth.bands[0].below", "True"),
    ("min_answered: 2,", "min_answered: true,", "min_answered: ", None, "True"),
    ("sd: 0.5}", "sd: true}", "sd: ", "scales.work.norms[0].sd", "True"),
    ("values: [9]", "values: [false, 8]", "values: [", None, "False"),
]


@pytest.mark.parametrize(("old", "new", "before", "path", "got"), BOOLEANS)
def test_a_boolean_is_refused_where_a_number_is_read(
    old: str, new: str, before: str, path: str | None, got: str
) -> None:
    text = TINY_YAML.replace(old, new)
    start = text.index(new) + new.index(before) + len(before)
    line = text[:start].count("\n") + 1
    col = start - text[:start].rfind("\n")
    path = (
        path
        or {
            "min_answered: ": "scales.work.missing.min_answered",
            "values: [": "response_scale.not_applicable.values[0]",
        }[before]
    )
    kind = "integer" if "min_answered" in path else "number"
    _, problems = validate_text(text, "f.yaml", Questionnaire)
    rendered = [p.render() for p in problems]
    assert rendered[0] == f"f.yaml:{line}:{col} {path}: Input should be a valid {kind} (got {got})"
    # Without its count, the prorating rule also lacks its minimum; nothing else is reported.
    extra = "on_missing: prorate needs min_answered or min_proportion"
    assert [r.split(": ", 1)[1] for r in rendered[1:]] == ([extra] if kind == "integer" else [])


def test_a_boolean_label_key_is_refused_and_numbers_of_both_kinds_still_load() -> None:
    text = TINY_YAML.replace("{1: Never,", "{true: Never,")
    _, problems = validate_text(text, "f.yaml", Questionnaire)
    assert [p.render() for p in problems] == [
        # pydantic names the key by its value as a number (1); the place is the mapping's.
        f"f.yaml:{pos(text, '{true: Never')} response_scale.labels.1: "
        "Value error, a boolean is not a number (got True)"
    ]
    text = TINY_YAML.replace("  max: 5\n", "  max: 5.0\n  step: 0.5\n")
    model, problems = validate_text(text, "f.yaml", Questionnaire)
    assert problems == []
    assert model is not None
    rs = model.response_scale
    assert (rs.min, rs.max, rs.step, rs.n_points) == (1.0, 5.0, 0.5, 9)
    assert rs.labels[1] == "Never"


def test_a_boolean_maximum_cannot_be_scored(tmp_path: Path) -> None:
    (tmp_path / "tiny.yaml").write_text(TINY_YAML.replace("  max: 5\n", "  max: true\n"), "utf-8")
    result = invoke("score", "tiny", "-d", str(tmp_path), "--answers", "1,1,1,1")
    assert result.exit_code == 5
    assert "response_scale.max: Input should be a valid number (got True)" in result.stderr
    assert result.stdout == ""


# -- unreadable files and folders, inputs that never end ---------------------------------------

SRS_ANSWERS = ["--answers", "9,8.5,7,8"]


def test_a_file_that_is_not_utf8_is_skipped_until_its_questionnaire_is_asked(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "defs"
    folder.mkdir()
    latin = folder / "latin.yaml"
    latin.write_bytes(TINY_YAML.replace("id: tiny", "id: latin").encode("latin-1") + b"# caf\xe9\n")
    offset = len(TINY_YAML.replace("id: tiny", "id: latin")) + len("# caf")
    reason = f"not UTF-8 text (byte 0xe9 at offset {offset}); save the file as UTF-8"
    listed = invoke("list", "-d", str(folder), "--json")
    assert listed.exit_code == 0
    assert listed.stderr == f"notice: skipped {latin} ({reason})\n"
    scored = invoke("score", "srs", "-d", str(folder), *SRS_ANSWERS)
    assert scored.exit_code == 0
    asked = invoke("score", "latin", "-d", str(folder), "--answers", "1,1,1,1")
    assert asked.exit_code == 6
    assert asked.stderr == f"error: {latin}: {reason}\n"
    checked = invoke("validate", str(folder))
    assert checked.exit_code == 1
    assert checked.stdout == f"{latin}: {reason}\n1 problem in 1 of 1 file\n"


def test_a_definitions_folder_that_cannot_be_read_is_a_notice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The user's own folder cannot be searched (as under `sudo -u` without -H, where it lies in
    # /root; root itself is refused nothing, so a name too long for the system stands in).
    config = tmp_path / ("x" * 300)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    notice = (
        f"notice: skipped definitions folder {config}/alliance/definitions: "
        "cannot read the folder: File name too long\n"
    )
    scored = invoke("score", "srs", *SRS_ANSWERS, "--json")
    assert scored.exit_code == 0
    assert scored.stderr == notice
    data = tmp_path / "s.csv"
    data.write_text("id,srs1,srs2,srs3,srs4\nA,9,8.5,7,8\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    batch = invoke("batch", str(data), "-q", "srs", "-o", str(out))
    assert batch.exit_code == 0
    assert batch.stderr.endswith(notice)
    assert out.read_text(encoding="utf-8").splitlines()[1].startswith("2,A,32.5,4,")


def alliance(*args: str, stdin: Any = None, shell_stdin: str | None = None) -> Any:
    """The real command in its own process, so that a hang fails (by the timeout)."""
    import shlex
    import subprocess
    import sys

    command = [sys.executable, "-m", "alliance_cli", *args]
    if shell_stdin is not None:
        quoted = " ".join(map(shlex.quote, command))
        line = f"{quoted} {shell_stdin}" if shell_stdin == "<&-" else f"{shell_stdin} | {quoted}"
        return subprocess.run(line, shell=True, capture_output=True, text=True, timeout=60)
    return subprocess.run(command, stdin=stdin, capture_output=True, text=True, timeout=60)


@pytest.mark.slow
def test_fifos_devices_and_huge_files_in_a_definitions_folder_are_not_read(
    tmp_path: Path,
) -> None:
    import os

    folder = tmp_path / "defs"
    folder.mkdir()
    os.mkfifo(folder / "fifo.yaml")  # no writer: opening it to read would wait forever
    (folder / "zero.yaml").symlink_to("/dev/zero")
    big = folder / "big.yaml"
    big.write_text("title: " + "a" * 5_500_000 + "\n", encoding="utf-8")
    special = "not a regular file (a FIFO, device or socket); a definition is read only from "
    reasons = {
        "big": "larger than the limit of 1,000,000 bytes for a definition; not read",
        "fifo": special + "regular files",
        "zero": special + "regular files",
    }
    listed = alliance("list", "-d", str(folder), "--json")
    assert listed.returncode == 0
    assert listed.stderr == "".join(
        f"notice: skipped {folder / name}.yaml ({reason})\n" for name, reason in reasons.items()
    )
    scored = alliance("score", "srs", "-d", str(folder), *SRS_ANSWERS)
    assert scored.returncode == 0
    for name, reason in reasons.items():
        asked = alliance("score", name, "-d", str(folder), "--answers", "1")
        assert asked.returncode == 6
        # the other two files are still skipped with their notices
        assert asked.stderr.splitlines()[-1] == f"error: {folder / name}.yaml: {reason}"
        assert len(asked.stderr.splitlines()) == 3
    checked = alliance("validate", str(folder))
    assert checked.returncode == 1
    assert (
        checked.stdout
        == "".join(f"{folder / name}.yaml: {reason}\n" for name, reason in reasons.items())
        + "3 problems in 3 of 3 files\n"
    )


@pytest.mark.slow
def test_answers_that_never_end_are_refused_by_their_size(tmp_path: Path) -> None:
    too_large = "larger than the limit of 1,000,000 bytes for answers; not read"
    from_file = alliance("score", "srs", "--answers-file", "/dev/zero")
    assert from_file.returncode == 6
    assert from_file.stderr == f"error: /dev/zero: {too_large}\n"
    assert from_file.stdout == ""
    from_stdin = alliance("score", "srs", "--answers", "-", shell_stdin="yes 9,")
    assert from_stdin.returncode == 6
    assert from_stdin.stderr == f"error: stdin: {too_large}\n"
    closed = alliance("score", "srs", "--answers", "-", shell_stdin="<&-")
    assert (closed.returncode, closed.stderr) == (
        6,
        "error: stdin: closed; pipe the answers in or use --answers-file\n",
    )
    # Up to the limit, answers still come from a file or stdin, a byte-order mark dropped.
    answers = tmp_path / "answers.txt"
    answers.write_bytes(b"\xef\xbb\xbf9,8.5,7,8" + b" " * 999_988)
    assert answers.stat().st_size == 1_000_000
    expected = invoke("score", "srs", *SRS_ANSWERS, "--json").stdout
    assert invoke("score", "srs", "--answers-file", str(answers), "--json").stdout == expected
    with answers.open("rb") as stdin:
        piped = alliance("score", "srs", "--answers", "-", "--json", stdin=stdin)
    assert (piped.returncode, piped.stdout) == (0, expected)


@pytest.mark.parametrize(("written", "got"), [(".inf", "inf"), ("-.inf", "-inf"), (".nan", "nan")])
def test_an_endless_or_undefined_number_is_refused(written: str, got: str) -> None:
    # `max: .inf` validated and scored Warmth as inf on a 2–inf range.
    text = TINY_YAML.replace("  max: 5\n", f"  max: {written}\n")
    _, problems = validate_text(text, "f.yaml", Questionnaire)
    assert [p.render() for p in problems] == [
        f"f.yaml:{pos(text, written)} response_scale.max: Input should be a finite number "
        f"(got {got})"
    ]


def test_validate_a_file_name_too_long_is_a_problem_not_a_traceback(tmp_path: Path) -> None:
    # OSError: [Errno 36] File name too long, from Path.is_dir (found by the arguments fuzz).
    name = str(tmp_path / ("x" * 300))
    result = CliRunner().invoke(app, ["validate", name])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.exit_code == 1
    assert result.stdout == f"{name}: cannot read: File name too long\n1 problem in 1 of 1 file\n"


@pytest.mark.parametrize(
    ("text", "place", "char"),
    [
        ("\x00" + TINY_YAML, "1:1", "#x0000"),
        (TINY_YAML.replace("title:", "ti\x07tle:"), "3:3", "#x0007"),
    ],
)
def test_a_control_character_is_one_located_problem(
    tmp_path: Path, text: str, place: str, char: str
) -> None:
    # PyYAML's reader refuses control characters with a two-line message and an offset,
    # not a line and column (found by tests/fuzz/test_fuzz_definitions.py).
    path = tmp_path / "tiny.yaml"
    path.write_text(text, encoding="utf-8")
    result = invoke("validate", str(path))
    assert result.exit_code == 1
    assert result.stdout == (
        f"{path}:{place}: YAML: unacceptable character {char}: control characters are not "
        "allowed\n1 problem in 1 of 1 file\n"
    )


def test_a_key_with_a_line_break_stays_on_its_problem_line(tmp_path: Path) -> None:
    # A quoted key may hold any character; printed raw, a line break split the problem in
    # two, and the second line posed as a problem of its own (found by the fuzz suite).
    text = TINY_YAML.replace("  - {id: a,", '  - {"x\\nfake.yaml:1:1 y\\u2028z": 1, id: a,')
    path = tmp_path / "tiny.yaml"
    path.write_text(text, encoding="utf-8")
    result = invoke("validate", str(path))
    assert result.exit_code == 1
    assert result.stdout == (
        f"{path}:{pos(text, chr(34) + 'x')} "
        'items[0].x\\nfake.yaml:1:1 y\\u2028z: unknown key "x\\nfake.yaml:1:1 y\\u2028z"\n'
        "1 problem in 1 of 1 file\n"
    )


BIG = "1" + "0" * 400  # an int no float can hold
EXTREME = {
    "label-key": (
        "labels: {1: Never,",
        f"labels: {{{BIG}: Huge, 1: Never,",
        f"response_scale.labels.{BIG}: Input should be a valid number",
        "Huge",
    ),
    "max": ("  max: 5\n", f"  max: {BIG}\n", "response_scale.max: Input should be a valid", BIG),
    "band": ("below: 4,", f"below: {BIG},", "scales.warmth.bands[0].below: Input should be", BIG),
    "step": (
        "  max: 5\n",
        "  max: 5\n  step: 5.0e-324\n",
        "response_scale.step: step 4.94066e-324 from 1 to 5 makes more points than a number "
        "can count; use a larger step or a smaller range",
        "5.0e-324",
    ),
    "sd": (
        "sd: 0.5",
        "sd: 1.0e-320",
        "scales.work.norms[0].sd: sd 9.99989e-321 is too small for the scale's range 1–5: a z "
        "score would not be a number",
        "1.0e-320",
    ),
}


@pytest.mark.parametrize("name", sorted(EXTREME))
def test_numbers_past_what_a_float_holds_are_problems(tmp_path: Path, name: str) -> None:
    # Found by the definitions fuzz: an int of 400 digits was an OverflowError in the
    # cross-field checks, a step of 5e-324 one in the step grid, and an SD of 1e-320 gave
    # z = -Infinity in the JSON (not JSON at all).
    old, new, problem, needle = EXTREME[name]
    text = TINY_YAML.replace(old, new)
    path = tmp_path / "tiny.yaml"
    path.write_text(text, encoding="utf-8")
    result = invoke("validate", str(path))
    assert result.exit_code == 1
    assert result.stdout.endswith("\n1 problem in 1 of 1 file\n")
    assert result.stdout.startswith(f"{path}:{pos(text, needle)} {problem}")


def test_a_scale_whose_sum_passes_the_largest_number_is_a_problem(tmp_path: Path) -> None:
    # Two answers of 1e308 sum to infinity: a score no JSON can hold.
    text = (
        TINY_YAML.replace("  min: 1\n  max: 5\n", "  min: 0\n  max: 1.0e+308\n  step: 1.0e+308\n")
        .replace("labels: {1: Never, 2: Rarely, 3: Sometimes, 4: Often, 5: Always}", "labels: {}")
        .replace("values: [9]", "values: [-1]")
    )
    path = tmp_path / "tiny.yaml"
    path.write_text(text, encoding="utf-8")
    result = invoke("validate", str(path))
    assert result.exit_code == 1
    at = pos(text, "[a, b]")
    assert result.stdout.startswith(
        f"{path}:{at} scales.warmth.items: the sum of these items can pass the largest number; "
        "use a smaller response range\n"
    )
