"""The catalog: bundled and user definitions, ids and aliases, overrides, overlays beside
the user's definitions, and multi-file validation."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from alliance_cli.catalog import Catalog, bundled_dir, open_questionnaire
from alliance_cli.cli import app
from alliance_cli.definitions import load_definition
from alliance_cli.errors import DefinitionError, NotFoundError
from tests.helpers import TINY_YAML

runner = CliRunner()


@pytest.mark.parametrize("name", ["wai-sr", "WAI_SR", "waisr", "Wai-Sr", "wai-sr-c"])
def test_ids_are_found_case_insensitively_and_by_alias(name: str) -> None:
    assert Catalog().get(name).id == "wai-sr"


def test_unknown_id_suggests_close_ones() -> None:
    with pytest.raises(NotFoundError) as info:
        Catalog().get("wai-rs")
    assert info.value.hint.startswith("did you mean ")
    assert " wai-sr " in info.value.hint
    assert info.value.exit_code == 3


def test_user_definition_overrides_bundled_with_notice(tmp_path: Path) -> None:
    text = (bundled_dir() / "srs.yaml").read_text(encoding="utf-8")
    (tmp_path / "my-srs.yaml").write_text(text.replace("below: 36", "below: 34"), "utf-8")
    catalog = Catalog(user_dirs=[tmp_path])
    q = catalog.get("srs")
    assert q.scales["total"].bands[0].below == 34
    assert any("overrides the bundled srs.yaml" in n for n in catalog.notices)


def test_environment_path_list_and_flag_dirs_are_searched(tmp_path: Path) -> None:
    first, second = tmp_path / "one", tmp_path / "two"
    first.mkdir()
    second.mkdir()
    (first / "tiny.yaml").write_text(TINY_YAML, "utf-8")
    (second / "tiny2.yaml").write_text(TINY_YAML.replace("id: tiny", "id: tiny-two"), "utf-8")
    catalog = Catalog.from_environment([second], env={"ALLIANCE_DEFINITIONS": str(first)})
    assert catalog.get("tiny").id == "tiny"
    assert catalog.get("TINY_TWO").id == "tiny-two"


def test_invalid_user_definition_is_reported_when_asked_for(tmp_path: Path) -> None:
    # Named unlike its id, so only the id it declares can tie the file to "tiny".
    bad = tmp_path / "my-form.yaml"
    bad.write_text(TINY_YAML.replace("method: sum", "method: total"), "utf-8")
    catalog = Catalog(user_dirs=[tmp_path])
    assert catalog.get("wai-sr").id == "wai-sr"  # the rest of the catalog still works
    assert catalog.notices == [f"skipped {bad} (invalid definition; run: alliance validate {bad})"]
    with pytest.raises(DefinitionError) as info:
        catalog.get("tiny")
    assert "scales.warmth.method" in info.value.render()
    assert catalog.notices == []  # the error says it all


def test_invalid_override_of_a_bundled_id_does_not_fall_back(tmp_path: Path) -> None:
    text = (bundled_dir() / "srs.yaml").read_text(encoding="utf-8")
    (tmp_path / "srs.yaml").write_text(text.replace("below: 36", "below: lots"), "utf-8")
    with pytest.raises(DefinitionError) as info:
        Catalog(user_dirs=[tmp_path]).get("srs")
    assert "scales.total.bands[0].below" in info.value.render()


def test_definition_folders_that_do_not_exist_are_noticed(tmp_path: Path) -> None:
    afile = tmp_path / "a.yaml"
    afile.write_text(TINY_YAML, "utf-8")
    catalog = Catalog.from_environment(
        [tmp_path / "nope", afile], env={"ALLIANCE_DEFINITIONS": str(tmp_path / "gone")}
    )
    assert catalog.notices == [
        f"definitions folder {tmp_path / 'gone'} does not exist",
        f"definitions folder {tmp_path / 'nope'} does not exist",
        f"definitions folder {afile} is not a folder",
    ]


def test_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for prev, name in zip("abcdefg", "bcdefgh", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    bomb = tmp_path / "laughs.yaml"
    bomb.write_text("\n".join(lines) + "\n", "utf-8")
    result = runner.invoke(app, ["validate", str(bomb)])
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == (
        f"{bomb}: the document expands to more than 20,000 values (anchors and aliases "
        "repeated too often); a definition never needs that many"
    )


def test_a_byte_order_mark_is_not_part_of_the_first_key(tiny_path: Path) -> None:
    tiny_path.write_bytes(b"\xef\xbb\xbf" + TINY_YAML.encode())
    assert load_definition(tiny_path).id == "tiny"


def test_overlay_next_to_user_definitions_is_applied(tmp_path: Path) -> None:
    (tmp_path / "tiny.yaml").write_text(TINY_YAML, "utf-8")
    (tmp_path / "tiny.item-text.yaml").write_text(
        "questionnaire: tiny\nitems: {c: Worded c}\n", "utf-8"
    )
    q = open_questionnaire(Catalog(user_dirs=[tmp_path]), "tiny")
    assert q.item("c").text == "Worded c"


def test_validate_checks_overlay_items_against_the_questionnaire(tmp_path: Path) -> None:
    good = tmp_path / "wai-sr.item-text.yaml"
    good.write_text('questionnaire: wai-sr\nitems: {"1": One, "12": Twelve}\n', "utf-8")
    bad = tmp_path / "x.item-text.yaml"
    bad.write_text('questionnaire: wai-sr\nitems: {"1": One, "13": Thirteen}\n', "utf-8")
    lost = tmp_path / "y.item-text.yaml"
    lost.write_text("questionnaire: nothing-like-it\nitems: {a: A}\n", "utf-8")
    result = runner.invoke(app, ["validate", str(good), str(bad), str(lost)])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f'{bad}:2:19 items.13: item "13" is not defined in wai-sr (items are "1"…"12")',
        f'{lost}:1:16 questionnaire: no questionnaire "nothing-like-it" (known: care, haq-ii, '
        "ors, srs, wai, wai-s, wai-sr, wai-sr-t)",
        "2 problems in 2 of 3 files",
    ]


OLD_RULES = (
    "alerts:\n  reliable_change: {baseline_sessions: 1, own_sd_min: 3}\n"
    "  rupture: {k: 2, own_sd_min: 3, fallback_sd_share: 0.1}\n"
)


def test_a_definition_for_the_previous_release_still_loads_with_a_notice(
    tmp_path: Path,
) -> None:
    # `reliable_change.own_sd_min` and `rupture.fallback_sd_share` were removed; a user's
    # definition that sets them must not lose its whole history: ignored, and said so.
    (tmp_path / "tiny.yaml").write_text(TINY_YAML + OLD_RULES, "utf-8")
    catalog = Catalog(user_dirs=[tmp_path], include_bundled=False)
    q = catalog.get("tiny")
    assert q.alerts.rupture.k == 2 and q.alerts.rupture.min_sd_share == 0.0625
    notices = [n for n in catalog.notices if "no longer used" in n]
    assert len(notices) == 2
    assert "`alerts.reliable_change.own_sd_min` is no longer used" in notices[0]
    assert "reference sample" in notices[0]
    assert "`alerts.rupture.fallback_sd_share` is no longer used" in notices[1]
    assert "`min_sd_share`" in notices[1]
    result = CliRunner().invoke(app, ["validate", str(tmp_path / "tiny.yaml")])
    assert result.exit_code == 0, result.output
    assert result.stdout.count("no longer used") == 0
    assert result.stderr.count(": note: `alerts.") == 2
    assert "error" not in result.stderr
