"""The README's promises and the installed wheel."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alliance_cli.cli import app
from alliance_cli.cli._app import COMMANDS as TABLE
from alliance_cli.definitions import validate_text
from alliance_cli.model import Questionnaire
from alliance_cli.result import score
from tests.helpers import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def test_readme_definition_example_is_valid_and_scores() -> None:
    block = README.split("### The definition format", 1)[1].split("```yaml\n", 1)[1]
    text = block.split("```", 1)[0]
    q, problems = validate_text(text, "README.md", Questionnaire)
    assert [p.render() for p in problems] == []
    assert q is not None
    report = score(q, "4,2,5,7.5")
    bond = next(s for s in report.scales if s.id == "bond")
    assert bond.score == 8  # 4 + (1 + 5 − 2)


def test_readme_lists_every_command_and_exit_code() -> None:
    for module in sorted({module for module, _ in TABLE.values()}):  # each registers its own
        importlib.import_module(f"alliance_cli.cli.{module}")
    commands = [c.name or c.callback.__name__ for c in app.registered_commands]  # type: ignore
    for name in commands:
        assert f"`alliance {name}" in README, name
    for code in [*range(8), 65]:
        assert f"\n| {code} |" in README


@pytest.mark.slow
def test_readme_answer_examples_run() -> None:
    runner = CliRunner()
    for line in (
        README.split("### Giving answers", 1)[1].split("```sh\n", 1)[1].split("```")[0].splitlines()
    ):
        command = line.split("#")[0].strip()
        if not command.startswith("alliance score") or "|" in command:
            continue
        args = re.findall(r'"[^"]*"|\S+', command)[1:]
        result = runner.invoke(app, [a.strip('"') for a in args])
        assert result.exit_code == 0, (command, result.output)


def test_readme_test_command_is_what_ci_runs() -> None:
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "python -m pytest -q" in README
    assert ci.rstrip().endswith("python -m pytest -q")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(REPO),
        ],
        check=True,
    )
    [built] = out.glob("alliance_cli-*.whl")
    return built


@pytest.mark.slow
def test_wheel_ships_the_bundled_definitions(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    shipped = sorted(
        n.rsplit("/", 1)[1] for n in names if n.startswith("alliance_cli/questionnaires/")
    )
    assert shipped == sorted(p.name for p in (REPO / "questionnaires").glob("*.yaml"))


@pytest.mark.slow
def test_installed_wheel_scores_outside_the_source_tree(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
    )
    env = {
        "PYTHONPATH": str(target),
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "NO_COLOR": "1",
    }
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, alliance_cli, alliance_cli.catalog as d;"
            "print(alliance_cli.__file__); print(d.bundled_dir())",
        ],
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": f"{target}:{_deps()}"},
        cwd=tmp_path,
        check=True,
    )
    module_file, bundled = proc.stdout.splitlines()
    assert module_file.startswith(str(target))
    assert bundled == str(target / "alliance_cli" / "questionnaires")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "alliance_cli",
            "score",
            "wai-sr",
            "--answers",
            "5,4,4,5,3,4,5,4,4,5,4,4",
            "--format",
            "csv",
        ],
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": f"{target}:{_deps()}"},
        cwd=tmp_path,
        check=True,
    )
    rows = proc.stdout.splitlines()
    assert rows[-1].startswith("wai-sr,total,Total,mean,4.25,51,4.25,1,5,12,12,0,0,false")


def _deps() -> str:
    """Where the running interpreter finds typer, pydantic, numpy … (not alliance_cli)."""
    import typer

    return str(Path(typer.__file__).parents[1])
