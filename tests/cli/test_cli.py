"""The command line: exact output, exit codes, JSON parity with the library, no tracebacks."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alliance_cli import __version__
from alliance_cli.catalog import Catalog
from alliance_cli.cli import app
from alliance_cli.cli._app import COMMANDS as TABLE
from alliance_cli.result import score
from tests.helpers import REPO, TINY_YAML, run

runner = CliRunner()
WAI_SR = "5,4,4,5,3,4,5,4,4,5,4,4"


@pytest.fixture(autouse=True)
def _fixed_width(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")


@pytest.fixture
def defs(tmp_path: Path) -> Path:
    folder = tmp_path / "defs"
    folder.mkdir()
    (folder / "tiny.yaml").write_text(TINY_YAML, encoding="utf-8")
    return folder


def test_version() -> None:
    result = run("--version")
    assert result.exit_code == 0
    assert result.stdout == f"alliance {__version__}\n"


# Every command module registers its commands (the app itself imports only the one run).
for _module in sorted({module for module, _ in TABLE.values()}):
    importlib.import_module(f"alliance_cli.cli.{_module}")
COMMANDS = sorted(c.name or c.callback.__name__ for c in app.registered_commands)  # type: ignore


def test_every_command_is_listed() -> None:
    expected = [
        "administer",
        "batch",
        "cite",
        "clients",
        "delete-client",
        "export",
        "history",
        "list",
        "new-client",
        "quality",
        "reliability",
        "report",
        "schema",
        "score",
        "show",
        "validate",
        "void",
    ]
    assert sorted(expected) == COMMANDS


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_every_command_has_help_with_an_example(command: str, flag: str) -> None:
    result = run(command, flag)
    assert result.exit_code == 0
    assert "Example:" in result.stdout
    assert f"alliance {command}" in result.stdout


def test_score_table_exact(defs: Path) -> None:
    result = run("score", "tiny", "-d", str(defs), "--answers", "1,5,9,")
    assert result.exit_code == 0
    assert result.stdout == (
        "tiny · Tiny test questionnaire · version 1 · key verified\n"
        " scale    score   range        sum   answered               flags      \n"
        "───────────────────────────────────────────────────────────────────────\n"
        " Warmth       2   2–10 (sum)         2/2                    low warmth \n"
        " Work         –   1–5 (mean)     –   1/3 (1 n/a) withheld              \n"
        "Work withheld: 1 of 3 items answered; at least 2 needed.\n"
        "⚑ Warmth below 4 (2): Warmth is low. Source: test.\n"
    )
    assert result.stderr == ""


def test_score_prorated_wai_sr_shows_mean_and_sum() -> None:
    result = run("score", "wai-sr", "--answers", "5,4,4,5,3,4,5,4,4,5,4,")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[4] == " Task         4.67   1–5 (mean)   18.67   3/4 prorated           "
    assert lines[7] == " Total        4.27   1–5 (mean)   51.27   11/12 prorated         "


def test_score_json_equals_library_document(defs: Path) -> None:
    result = run("score", "tiny", "-d", str(defs), "-a", "a=5 b=always c=n/a", "--json")
    assert result.exit_code == 0
    q = Catalog(user_dirs=[defs]).get("tiny")
    doc = score(q, "a=5 b=always c=n/a").to_dict()
    assert json.loads(result.stdout) == doc
    assert [a["state"] for a in doc["answers"]] == [
        "answered",
        "answered",
        "not_applicable",
        "missing",
    ]


def test_score_json_document_shape() -> None:
    doc = json.loads(run("score", "srs", "-a", "9,8.5,7,8", "--format", "json").stdout)
    assert doc["schema_version"] == 1
    assert doc["questionnaire"]["id"] == "srs"
    [total] = doc["scales"]
    assert total["score"] == 32.5
    assert total["band"] == "Possible alliance problem"
    kinds = [(f["kind"], f.get("item")) for f in doc["flags"]]
    assert kinds == [("band", None), ("item_rule", "2"), ("item_rule", "3"), ("item_rule", "4")]
    assert doc["flags"][0]["rule"] == "Total below 36"


def test_score_csv(defs: Path) -> None:
    result = run("score", "tiny", "-d", str(defs), "-a", "5,1,4,4", "--format", "csv")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "questionnaire,scale,name,method,score,sum,mean,min,max,items,answered,missing,"
        "not_applicable,prorated,withheld,withheld_reason,band,flags,z,t,pomp",
        "tiny,warmth,Warmth,sum,10,10,5,2,10,2,2,0,0,false,false,,,,,,100",
        # work = (4 + 4 + 5) / 3 = 4.333…, z = (4.333 − 3) / 0.5 = 2.667, T = 76.67
        "tiny,work,Work,mean,4.3333333333,13,4.3333333333,1,5,3,3,0,0,false,false,,,,"
        "2.6666666667,76.6666666667,83.3333333333",
    ]


def test_answers_from_stdin_and_file(tmp_path: Path) -> None:
    from_stdin = run("score", "wai-sr", "--answers", "-", "--json", stdin=WAI_SR + "\n")
    answers = tmp_path / "answers.txt"
    answers.write_text("\n".join(WAI_SR.split(",")) + "\n", encoding="utf-8")
    from_file = run("score", "wai-sr", "--answers-file", str(answers), "--json")
    direct = run("score", "wai-sr", "--answers", WAI_SR, "--json")
    assert from_stdin.exit_code == from_file.exit_code == direct.exit_code == 0
    assert json.loads(from_stdin.stdout) == json.loads(direct.stdout)
    assert json.loads(from_file.stdout) == json.loads(direct.stdout)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
def test_unverified_key_warns_visibly_in_every_format(fmt: str) -> None:
    result = run("score", "wai", "-a", ",".join(["4"] * 36), "--format", fmt)
    assert result.exit_code == 0
    assert result.stderr.startswith("WARNING: the scoring key of wai is unverified")
    assert "WARNING" not in result.stdout
    if fmt == "json":
        doc = json.loads(result.stdout)
        assert doc["warnings"][0].startswith("the scoring key of wai is unverified")


def test_csv_flags_name_band_and_item_rule_hits() -> None:
    result = run("score", "srs", "-a", "9,8.5,7,9.5", "--format", "csv")
    row = result.stdout.splitlines()[1].split(",")
    assert row[1] == "total"
    assert row[17] == "possible-problem;item-below-9:2;item-below-9:3"


# -- errors: one clear message, documented exit code, never a traceback -----------------------


def test_out_of_range_and_unreadable_answers_exit_4_naming_item_and_allowed_values() -> None:
    result = run("score", "wai-sr", "-a", "5,4,4,5,3,4,5,9,4,5,4,x")
    assert result.exit_code == 4
    assert result.stdout == ""
    allowed = "1–5 (1 Seldom, 2 Sometimes, 3 Fairly often, 4 Very often, 5 Always)"
    assert result.stderr == (
        f'error: item "8": 9 is not allowed; allowed: {allowed}\n'
        f'error: item "12": "x" is neither a number nor a label of the scale; allowed: {allowed}\n'
    )


def test_wrong_number_of_answers_exits_4() -> None:
    result = run("score", "wai-sr", "-a", "1,2")
    assert result.exit_code == 4
    assert result.stderr == (
        'error: wai-sr has 12 items ("1"…"12") but 2 answers were given; leave a blank between '
        'commas for a missing answer ("5,4,,3") or use item=value pairs ("1=5 2=4")\n'
    )


def test_unknown_item_in_pairs_exits_4() -> None:
    result = run("score", "wai-sr", "-a", "1=5 13=4")
    assert result.exit_code == 4
    assert result.stderr == 'error: item "13" is not defined in wai-sr (items are "1"…"12")\n'


def test_unknown_questionnaire_exits_3_with_did_you_mean() -> None:
    result = run("score", "wia-sr", "-a", "1")
    assert result.exit_code == 3
    assert result.stderr.splitlines()[1] == (
        "did you mean wai-sr or wai-s or wai-sr-t? `alliance list` shows all questionnaires"
    )


def test_missing_answers_is_a_usage_error_exit_2() -> None:
    result = run("score", "wai-sr")
    assert result.exit_code == 2
    assert "--answers" in result.stderr


def test_unreadable_answers_file_exits_6(tmp_path: Path) -> None:
    result = run("score", "wai-sr", "--answers-file", str(tmp_path / "nope.txt"))
    assert result.exit_code == 6
    assert result.stderr.startswith(f"error: {tmp_path / 'nope.txt'}: cannot read answers:")


def test_invalid_user_definition_exits_5_with_located_problems(defs: Path) -> None:
    text = TINY_YAML.replace("method: sum", "method: total")
    (defs / "tiny.yaml").write_text(text, "utf-8")
    result = run("score", "tiny", "-d", str(defs), "-a", "1,2,3,4")
    assert result.exit_code == 5
    line = text[: text.index("method: total")].count("\n") + 1
    assert result.stderr == (
        f"error: {defs / 'tiny.yaml'}:{line}:13 scales.warmth.method: Input should be 'sum' or "
        "'mean' (got 'total')\n"
    )


def test_user_text_is_not_rich_markup(defs: Path) -> None:
    text = TINY_YAML.replace("name: Warmth", 'name: "[bold]Warmth[/]"')
    (defs / "tiny.yaml").write_text(text, "utf-8")
    result = run("score", "tiny", "-d", str(defs), "-a", "5,1,4,4")
    assert result.exit_code == 0
    assert "[bold]Warmth[/]" in result.stdout


def test_override_notice_goes_to_stderr(defs: Path) -> None:
    srs = (REPO / "questionnaires" / "srs.yaml").read_text("utf-8")
    (defs / "srs.yaml").write_text(srs.replace("below: 36", "below: 34"), "utf-8")
    result = run("score", "srs", "-d", str(defs), "-a", "9,9,9,8", "--json")
    assert result.exit_code == 0
    assert "overrides the bundled srs.yaml" in result.stderr
    assert json.loads(result.stdout)["scales"][0]["band"] is None  # 35 is not below 34
    bundled = json.loads(run("score", "srs", "-a", "9,9,9,8", "--json").stdout)
    assert bundled["scales"][0]["band"] == "Possible alliance problem"  # 35 is below 36


# -- list, show, schema, validate --------------------------------------------------------------


def test_list_json_has_the_bundled_library() -> None:
    rows = json.loads(run("list", "--json").stdout)
    assert [r["id"] for r in rows] == [
        "care",
        "haq-ii",
        "ors",
        "srs",
        "wai",
        "wai-s",
        "wai-sr",
        "wai-sr-t",
    ]
    wai = next(r for r in rows if r["id"] == "wai")
    assert (wai["items"], wai["scales"], wai["key_status"], wai["respondent"]) == (
        36,
        4,
        "unverified",
        "client",
    )


def test_list_table_names_every_questionnaire() -> None:
    result = run("list")
    assert result.exit_code == 0
    first_column = [
        line.split()[0]
        for line in result.stdout.splitlines()[2:]
        if line.startswith(" ") and line.split() and not line.startswith("  ")
    ]
    assert first_column == ["care", "haq-ii", "ors", "srs", "wai", "wai-s", "wai-sr", "wai-sr-t"]


def test_show_marks_reverse_items_and_lists_sources() -> None:
    result = run("show", "wai-s")
    assert result.exit_code == 0
    out = result.stdout
    assert "    4   therapist misses what I aim for     Goal (R), Total (R)" in out
    assert "scoring key: partial" in out
    assert "Tracey, T. J., & Kokotovic, A. M. (1989)" in out
    assert "WARNING: the scoring key of wai-s is partially checked" in result.stderr


def test_show_srs_spells_out_the_cutoff_and_its_source() -> None:
    out = run("show", "srs").stdout
    assert "flag possible-problem: Total below 36 → Possible alliance problem." in out


def test_show_json_round_trips_to_the_model() -> None:
    from alliance_cli.model import Questionnaire

    data = json.loads(run("show", "care", "--json").stdout)
    assert Questionnaire.model_validate(data) == Catalog().get("care")


def test_show_with_item_text_overlay(tmp_path: Path) -> None:
    overlay = tmp_path / "w.item-text.yaml"
    overlay.write_text('questionnaire: wai-sr\nitems:\n  "3": "LICENSED WORDING THREE"\n', "utf-8")
    result = run("show", "wai-sr", "--item-text", str(overlay))
    assert result.exit_code == 0
    assert "LICENSED WORDING THREE" in result.stdout


def test_schema_command_prints_the_committed_schema() -> None:
    committed = json.loads((REPO / "schema" / "questionnaire.schema.json").read_text("utf-8"))
    assert json.loads(run("schema").stdout) == committed


def test_validate_clean_file_exits_0(tiny_path: Path) -> None:
    result = run("validate", str(tiny_path))
    assert result.exit_code == 0
    assert result.stdout == "OK: 1 file valid\n"


def test_validate_finds_the_definition_beside_an_overlay(tmp_path: Path) -> None:
    (tmp_path / "tiny.yaml").write_text(TINY_YAML, "utf-8")
    (tmp_path / "tiny.item-text.yaml").write_text("questionnaire: tiny\nitems: {a: A}\n", "utf-8")
    result = run("validate", str(tmp_path))
    assert result.exit_code == 0, result.stdout
    assert result.stdout == "OK: 2 files valid\n"


def test_answers_with_a_byte_order_mark(tmp_path: Path) -> None:
    answers = tmp_path / "a.txt"
    answers.write_bytes(b"\xef\xbb\xbf" + WAI_SR.encode())
    assert run("score", "wai-sr", "--answers-file", str(answers)).exit_code == 0
    assert run("score", "wai-sr", "--answers", "-", stdin="\ufeff" + WAI_SR).exit_code == 0


def test_validate_missing_file_reports_and_exits_1(tmp_path: Path) -> None:
    result = run("validate", str(tmp_path / "gone.yaml"))
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == f"{tmp_path / 'gone.yaml'}: no such file"


# -- start-up: no heavy modules on the clinician path -------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("argv", [["--help"], ["score", "wai-sr", "--answers", WAI_SR]])
def test_no_pandas_on_the_startup_path(argv: list[str]) -> None:
    code = (
        "import sys\n"
        "from alliance_cli.cli import main\n"
        f"sys.argv = ['alliance', *{argv!r}]\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & "
        "{'pandas', 'pyarrow', 'matplotlib', 'dask', 'scipy'})\n"
        "print('HEAVY=' + ','.join(heavy), file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY=\n" in proc.stderr


def test_python_dash_m_runs_the_cli() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "alliance_cli", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert proc.stdout == f"alliance {__version__}\n"
