"""Start-up: only the command that is run is loaded, and the table that lists the others
without loading them says what the commands themselves say."""

from __future__ import annotations

import importlib
import inspect
import re
import subprocess
import sys

import pytest
from typer.main import get_command_name

from alliance_cli.cli._app import COMMANDS, app, load_command
from alliance_cli.cli._plain import reflow

WAI_SR = "5,4,4,5,3,4,5,4,4,5,4,4"
MODULES = sorted({module for module, _ in COMMANDS.values()})


def test_the_table_lists_every_command_in_order_with_its_own_first_paragraph() -> None:
    for module in MODULES:
        importlib.import_module(f"alliance_cli.cli.{module}")
    registered = [
        (info.name or get_command_name(info.callback.__name__), info.callback.__module__)
        for info in app.registered_commands
        if info.callback is not None
    ]
    groups = [(info.name, info.typer_instance) for info in app.registered_groups]
    names = [name for name, _ in registered] + [name for name, _ in groups]
    # Registration order depends on which command ran first in this process; `--help`
    # lists the table's order (test_the_help_lists_the_commands_in_the_tables_order).
    assert sorted(names) == sorted(COMMANDS) and len(names) == len(COMMANDS)
    for name, module in registered:
        assert module == f"alliance_cli.cli.{COMMANDS[name][0]}"
    for name, typer_app in groups:
        assert typer_app is not None and name is not None
        callback_module = inspect.getmodule(typer_app.registered_commands[0].callback)
        assert callback_module is not None
        assert callback_module.__name__ == f"alliance_cli.cli.{COMMANDS[name][0]}"
    for name, (_, summary) in COMMANDS.items():
        command = load_command(name)
        assert command.name == name
        assert reflow(command.help or "").split("\n\n")[0] == summary


def test_a_name_not_in_the_table_is_no_command() -> None:
    with pytest.raises(KeyError):
        load_command("scor")


def _loaded(argv: list[str], modules: list[str]) -> list[str]:
    """Which of ``modules`` a run of ``alliance *argv`` imported."""
    code = (
        "import sys\n"
        "from alliance_cli.cli import main\n"
        f"sys.argv = ['alliance', *{argv!r}]\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        f"names = [m for m in {modules!r} if m in sys.modules]\n"
        "print('LOADED=' + ','.join(names), file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    line = next(x for x in proc.stderr.splitlines() if x.startswith("LOADED="))
    return [name for name in line.removeprefix("LOADED=").split(",") if name]


def _loaded_commands(argv: list[str]) -> list[str]:
    names = _loaded(argv, [f"alliance_cli.cli.{m}" for m in MODULES])
    return [name.removeprefix("alliance_cli.cli.") for name in names]


@pytest.mark.slow
def test_help_loads_no_command_and_a_command_loads_only_itself() -> None:
    assert _loaded_commands(["--help"]) == []
    assert _loaded_commands(["score", "wai-sr", "--answers", WAI_SR]) == ["score"]
    assert _loaded_commands(["db", "--help"]) == ["db"]


@pytest.mark.slow
def test_a_remembered_definition_is_not_read_again_nor_its_models_built() -> None:
    argv = ["score", "wai-sr", "--answers", WAI_SR]
    assert _loaded(argv, ["yaml"]) == ["yaml"]  # read and validated, then remembered
    assert _loaded(argv, ["yaml"]) == []
    code = (
        "import contextlib, io, sys\n"
        "from pydantic import BaseModel\n"
        "from alliance_cli import model\n"
        "from alliance_cli.cli import main\n"
        f"sys.argv = ['alliance', *{argv!r}]\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    try:\n        main()\n    except SystemExit as e:\n        assert not e.code\n"
        "assert 'Goal+Task' in out.getvalue()\n"
        "print('BUILT=' + ','.join(c.__name__ for c in vars(model).values()\n"
        "    if isinstance(c, type) and issubclass(c, BaseModel) and c.__pydantic_complete__))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "BUILT=\n" in proc.stdout  # the content hash too was remembered


def test_model_defaults_are_what_validation_gives_and_no_validator_is_built_at_import() -> None:
    code = (
        "import sys\n"
        "from pydantic import BaseModel\n"
        "from alliance_cli import model\n"
        "classes = [c for c in vars(model).values()\n"
        "           if isinstance(c, type) and issubclass(c, BaseModel) and c is not BaseModel]\n"
        "built = [c.__name__ for c in classes if c.__pydantic_complete__]\n"
        "print('BUILT=' + ','.join(built))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "BUILT=\n" in proc.stdout
    from pydantic import BaseModel

    from alliance_cli import model

    defaults = [
        field.default
        for cls in vars(model).values()
        if isinstance(cls, type) and issubclass(cls, BaseModel)
        for field in cls.model_fields.values()
        if isinstance(field.default, BaseModel)
    ]
    assert len(defaults) >= 10
    for default in defaults:
        validated = type(default).model_validate({})
        assert validated == default
        assert validated.__pydantic_private__ == default.__pydantic_private__


def test_the_help_lists_the_commands_in_the_tables_order() -> None:
    from tests.helpers import run

    shown = run("--help").output
    listed = re.findall(r"^\W*\s([a-z][a-z-]*)\s{2,}\S", shown, flags=re.M)
    assert [name for name in listed if name in COMMANDS] == list(COMMANDS)
