"""Validated definitions remembered in the user cache folder: used only for the same file
and code, ignored when damaged, unreadable or foreign, written privately, safe to delete."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from platformdirs import user_cache_dir

from alliance_cli import cache, definitions
from alliance_cli.catalog import bundled_dir
from alliance_cli.definitions import load_definition
from alliance_cli.errors import DefinitionError
from tests.helpers import TINY_YAML

HOUR_AGO = 3600


def folder() -> Path:
    return Path(user_cache_dir("alliance", appauthor=False)) / "definitions"


def entries() -> list[Path]:
    return sorted(folder().iterdir()) if folder().is_dir() else []


def aged(path: Path, text: str = TINY_YAML) -> Path:
    """``path`` written with ``text``, its modification time an hour back."""
    path.write_text(text, encoding="utf-8")
    old = path.stat().st_mtime_ns - HOUR_AGO * 10**9
    os.utime(path, ns=(old, old))
    return path


@pytest.fixture
def not_racy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files written by the test are remembered at once (their change time is now)."""
    monkeypatch.setattr(cache, "RACY_SECONDS", 0.0)


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The sources validated from text (not remembered), in order."""
    seen: list[str] = []
    real = definitions.validate_text

    def counted(text: str, source: str, cls: type) -> object:
        seen.append(source)
        return real(text, source, cls)

    monkeypatch.setattr(definitions, "validate_text", counted)
    return seen


def test_a_valid_definition_is_remembered_privately(
    tmp_path: Path, not_racy: None, validations: list[str]
) -> None:
    path = aged(tmp_path / "tiny.yaml")
    first = load_definition(path)
    again = load_definition(path)
    assert validations == [str(path)]  # the second came from the cache
    assert again == first and again is not first
    [entry] = entries()
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder().stat().st_mode) == 0o700
    assert [p.name for p in folder().iterdir() if p.name.startswith(".")] == []  # no spare


def test_every_bundled_definition_comes_back_equal(not_racy: None) -> None:
    for path in sorted(bundled_dir().glob("*.yaml")):
        validated = load_definition(path)
        remembered = load_definition(path)
        assert remembered == validated
        assert remembered.content_hash() == validated.content_hash()
        assert remembered.removed_notes() == validated.removed_notes()
    assert len(entries()) == len(list(bundled_dir().glob("*.yaml")))


def test_a_changed_file_is_read_again_even_with_its_old_size_and_time(
    tmp_path: Path, not_racy: None, validations: list[str]
) -> None:
    path = aged(tmp_path / "tiny.yaml")
    assert load_definition(path).title == "Tiny test questionnaire"
    before = path.stat()
    changed = TINY_YAML.replace("Tiny test", "Tiny TEST")
    path.write_text(changed, encoding="utf-8")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # as `cp -p` or rsync do
    assert path.stat().st_size == before.st_size
    assert path.stat().st_mtime_ns == before.st_mtime_ns
    assert load_definition(path).title == "Tiny TEST questionnaire"
    assert validations == [str(path), str(path)]


def test_a_file_replaced_by_another_is_read_again(
    tmp_path: Path, not_racy: None, validations: list[str]
) -> None:
    path = aged(tmp_path / "tiny.yaml")
    load_definition(path)
    other = aged(tmp_path / "other.yaml", TINY_YAML.replace("Tiny test", "Tiny TEST"))
    os.replace(other, path)  # an editor saving by rename
    assert load_definition(path).title == "Tiny TEST questionnaire"
    assert len(validations) == 2


def test_a_file_changed_within_the_racy_window_is_not_remembered(
    tmp_path: Path, validations: list[str]
) -> None:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_YAML, encoding="utf-8")  # changed now: its time may not tell
    load_definition(path)
    load_definition(path)
    assert validations == [str(path), str(path)]
    assert entries() == []


def test_other_code_does_not_use_the_entry(
    tmp_path: Path, not_racy: None, validations: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = aged(tmp_path / "tiny.yaml")
    load_definition(path)
    monkeypatch.setattr(cache, "_code", lambda: "another version")
    load_definition(path)
    assert len(validations) == 2


def test_the_code_identity_follows_the_package_version_and_the_core_modules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    import pydantic

    package = Path(cache.__file__).parent
    copy = tmp_path / "alliance_cli"
    copy.mkdir()
    for module in ("__init__.py", "cache.py", "model.py"):
        shutil.copy2(package / module, copy / module)
    monkeypatch.setattr(cache, "__file__", str(copy / "cache.py"))

    def identity() -> str:
        cache._code.cache_clear()
        return cache._code()

    try:
        first = identity()
        assert first.startswith(f"{pydantic.VERSION}/")
        assert identity() == first
        init = (copy / "__init__.py").read_text(encoding="utf-8")
        stamp = (copy / "__init__.py").stat()
        bumped = init.replace('__version__ = "', '__version__ = "9')
        (copy / "__init__.py").write_text(bumped[:-1], encoding="utf-8")  # same size
        os.utime(copy / "__init__.py", ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
        second = identity()
        assert second != first
        (copy / "model.py").write_text("# edited\n", encoding="utf-8")
        assert identity() != second
    finally:
        cache._code.cache_clear()


@pytest.mark.parametrize(
    "damage",
    [
        b"",
        b"garbage without a newline",
        b"\n\x80\x05garbage",
        "truncated",
        "another key",
        "not a questionnaire",
    ],
)
def test_a_damaged_entry_is_ignored_and_replaced(
    tmp_path: Path, not_racy: None, validations: list[str], damage: bytes | str
) -> None:
    import pickle

    path = aged(tmp_path / "tiny.yaml")
    expected = load_definition(path)
    [entry] = entries()
    good = entry.read_bytes()
    key, _, body = good.partition(b"\n")
    if damage == "truncated":
        entry.write_bytes(good[: len(good) // 2])
    elif damage == "another key":
        entry.write_bytes(key + b"x\n" + body)
    elif damage == "not a questionnaire":
        entry.write_bytes(key + b"\n" + pickle.dumps({"id": "tiny"}))
    else:
        assert isinstance(damage, bytes)
        entry.write_bytes(damage)
    assert load_definition(path) == expected
    assert len(validations) == 2
    assert entry.read_bytes() == good  # replaced by a good one
    assert load_definition(path) == expected
    assert len(validations) == 2


def test_an_entry_writable_by_others_is_not_used(
    tmp_path: Path, not_racy: None, validations: list[str]
) -> None:
    path = aged(tmp_path / "tiny.yaml")
    load_definition(path)
    [entry] = entries()
    entry.chmod(0o666)
    load_definition(path)
    assert len(validations) == 2
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600  # replaced by a private one


def test_an_unreadable_entry_or_cache_folder_only_costs_a_validation(
    tmp_path: Path, not_racy: None, validations: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = aged(tmp_path / "tiny.yaml")
    expected = load_definition(path)
    [entry] = entries()
    entry.unlink()
    entry.mkdir()  # cannot be read, nor replaced
    assert load_definition(path) == expected
    assert load_definition(path) == expected
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("", encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    assert load_definition(path) == expected
    assert len(validations) == 4


def test_the_cache_folder_is_safe_to_delete(
    tmp_path: Path, not_racy: None, validations: list[str]
) -> None:
    import shutil

    path = aged(tmp_path / "tiny.yaml")
    expected = load_definition(path)
    shutil.rmtree(folder())
    assert load_definition(path) == expected
    assert load_definition(path) == expected
    assert len(validations) == 2


def test_an_invalid_definition_is_never_remembered(
    tmp_path: Path, not_racy: None, validations: list[str]
) -> None:
    path = aged(tmp_path / "tiny.yaml", TINY_YAML.replace("method: sum", "method: median"))
    for _ in range(2):
        with pytest.raises(DefinitionError):
            load_definition(path)
    assert len(validations) == 2
    assert entries() == []
