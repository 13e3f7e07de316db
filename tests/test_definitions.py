"""The definition format, the YAML loader with positions, the catalog and item-text overlays."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from alliance_cli.catalog import bundled_dir
from alliance_cli.cli import app
from alliance_cli.definitions import load_definition, load_item_text, validate_text
from alliance_cli.errors import DefinitionError
from alliance_cli.model import Questionnaire
from alliance_cli.schema import definition_schema
from tests.helpers import REPO, TINY_YAML

BROKEN = REPO / "tests" / "data" / "broken"
BUNDLED_IDS = ["care", "haq-ii", "ors", "srs", "wai", "wai-s", "wai-sr", "wai-sr-t"]
runner = CliRunner()


def pos(text: str, needle: str) -> str:
    """``line:col`` (1-based) of the first occurrence of ``needle``."""
    before = text[: text.index(needle)]
    return f"{before.count(chr(10)) + 1}:{len(before) - before.rfind(chr(10))}"


def problems_of(text: str) -> list[str]:
    _, problems = validate_text(text, "f.yaml", Questionnaire)
    return [p.render() for p in problems]


# -- golden file of broken definitions -------------------------------------------------------


def test_broken_definitions_report_every_problem_with_position(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(REPO)
    result = runner.invoke(app, ["validate", "tests/data/broken/"])
    assert result.exit_code == 1
    expected = (BROKEN / "expected.txt").read_text(encoding="utf-8")
    assert result.stdout == expected
    assert "Traceback" not in result.output


def test_validate_json_lists_problems_per_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    result = runner.invoke(app, ["validate", "--json", "tests/data/broken/syntax-error.yaml"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    [problem] = data["tests/data/broken/syntax-error.yaml"]
    assert problem["location"] == "tests/data/broken/syntax-error.yaml:5:5"
    assert problem["code"] == "yaml-syntax"


def test_bundled_library_is_valid_and_complete(bundled: Path) -> None:
    result = runner.invoke(app, ["validate", str(bundled)])
    assert result.exit_code == 0, result.stdout
    assert result.stdout.strip() == "OK: 8 files valid"
    assert sorted(p.stem for p in bundled.glob("*.yaml")) == BUNDLED_IDS


@pytest.mark.parametrize("name", BUNDLED_IDS)
def test_bundled_file_is_named_after_its_id_and_says_hints_are_our_words(
    bundled: Path, name: str
) -> None:
    path = bundled / f"{name}.yaml"
    q = load_definition(path)
    assert q.id == name
    header = path.read_text(encoding="utf-8").split("\nid:")[0].lower()
    assert "not the published item wording" in header
    assert "item-text" in header
    assert q.citations and q.key_sources and q.licence
    # Hints, not wording: short phrases.
    assert all(len(item.text) <= 60 for item in q.items), [i.text for i in q.items]


# -- specific checks -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "reading"), [("no", "false"), ("off", "false"), ("on", "true"), ("yes", "true")]
)
def test_yaml_11_boolean_trap_in_a_label_is_reported(value: str, reading: str) -> None:
    text = TINY_YAML.replace("1: Never", f"1: {value}")
    [problem] = problems_of(text)
    assert problem == (
        f"f.yaml:{pos(text, value + ',')} response_scale.labels.1: unquoted {value} is read as "
        f'the boolean {reading} (YAML 1.1); write "{value}" in quotes if you mean the word, or '
        "true/false for a yes/no setting"
    )


def test_quoted_no_is_a_fine_label() -> None:
    assert problems_of(TINY_YAML.replace("1: Never", '1: "no"')) == []


def test_octal_looking_id_is_reported() -> None:
    text = TINY_YAML.replace("{id: c,", "{id: 010,").replace("[c, d, a]", '["010", d, a]')
    [problem] = problems_of(text)
    assert problem.startswith(
        f"f.yaml:{pos(text, '010')} items[2].id: unquoted 010 is read as the number 8"
    )


def test_unknown_item_message_matches_the_documented_form() -> None:
    text = (bundled_dir() / "wai-sr.yaml").read_text(encoding="utf-8")
    text = text.replace('items: ["4", "6", "8", "11"]', 'items: ["4", "6", "8", "13"]', 1)
    [problem] = problems_of(text)
    line = next(n for n, row in enumerate(text.splitlines(), 1) if '"13"' in row)
    col = text.splitlines()[line - 1].index('"13"') + 1
    assert problem == (
        f'f.yaml:{line}:{col} scales.goal.items[3]: item "13" is not defined (items are "1"…"12")'
    )


def test_misspelt_key_gets_a_suggestion() -> None:
    text = TINY_YAML.replace("reverse: [b]", "revers: [b]")
    [problem] = problems_of(text)
    assert problem == (
        f'f.yaml:{pos(text, "revers:")} scales.warmth.revers: unknown key "revers"; did you '
        'mean "reverse"?'
    )


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "reverse: [b]",
            "reverse: [c]",
            'scales.warmth.reverse[0]: reverse item "c" is not one of this scale\'s items '
            '("a", "b")',
        ),
        (
            "min_answered: 2",
            "min_answered: 4",
            "scales.work.missing.min_answered: min_answered 4 can never be met: the scale has 3 "
            "items",
        ),
        (
            "items: [c, d, a]",
            "items: [c]",
            "scales.work.missing.min_answered: min_answered 2 can never be met: the scale has 1 "
            "item",
        ),
        (
            "below: 4,",
            "below: 11,",
            "scales.warmth.bands[0].below: below: 11 lies outside the scale's range 2–10 (sum)",
        ),
        (
            "values: [9]",
            "values: [3]",
            "response_scale.not_applicable.values[0]: 'does not apply' code 3 is also an allowed "
            "answer (1–5); pick a code outside the range",
        ),
        (
            "labels: {1: Never,",
            "labels: {0: Never,",
            "response_scale.labels.0: label for 0 is not an allowed answer (1–5)",
        ),
        (
            "{min_answered: 2, on_missing: prorate}",
            "{on_missing: prorate}",
            "scales.work.missing.on_missing: on_missing: prorate needs min_answered or "
            "min_proportion",
        ),
    ],
)
def test_invariants_are_reported_at_their_place(old: str, new: str, expected: str) -> None:
    assert old in TINY_YAML
    [problem] = problems_of(TINY_YAML.replace(old, new))
    assert problem.split(" ", 1)[1] == expected


def test_model_invariants_hold_without_the_loader() -> None:
    import yaml

    data = yaml.safe_load(TINY_YAML.replace("items: [c, d, a]", "items: [c, d, z]"))
    with pytest.raises(ValidationError, match=r'scales\.work\.items\[2\]: item "z" is not'):
        Questionnaire.model_validate(data)
    data = yaml.safe_load(TINY_YAML.replace("reverse: [b]", "reverse: [c]"))
    with pytest.raises(ValidationError, match=r'reverse\[0\]: reverse item "c" is not one'):
        Questionnaire.model_validate(data)


def test_models_are_frozen(tiny: Questionnaire) -> None:
    with pytest.raises(ValidationError):
        tiny.id = "other"  # type: ignore[misc]


def test_bipolar_scale_without_zero_and_sixteen_item_subscales_are_expressible() -> None:
    items = "\n".join(f"  - {{id: '{i}', text: hint {i}}}" for i in range(1, 33))
    text = f"""\
id: bipolar
title: Bipolar
version: "1"
respondent: client
construct: regard
citations: [{{text: x}}]
licence: x
key_status: unverified
key_sources: [x]
response_scale: {{min: -3, max: 3, exclude: [0], labels: {{-3: strongly not, 3: strongly}}}}
items:
{items}
scales:
  regard:
    name: Regard
    items: {[str(i) for i in range(1, 17)]}
    reverse: ["2", "5"]
    method: sum
    higher_is: better
    missing: {{min_proportion: 0.75, on_missing: prorate}}
  empathy:
    name: Empathy
    items: {[str(i) for i in range(17, 33)]}
    reverse: ["17"]
    method: sum
    higher_is: better
"""
    q, problems = validate_text(text, "b.yaml", Questionnaire)
    assert problems == []
    assert q is not None
    assert q.scale_range("regard") == (-48.0, 48.0)
    assert q.response_scale.n_points == 6


def test_schema_copy_is_current() -> None:
    committed = json.loads((REPO / "schema" / "questionnaire.schema.json").read_text("utf-8"))
    assert committed == definition_schema(), (
        "regenerate with: alliance schema > schema/questionnaire.schema.json"
    )


# -- item-text overlays ----------------------------------------------------------------------


def test_overlay_replaces_hints_with_licensed_wording(tmp_path: Path, tiny_path: Path) -> None:
    overlay = tmp_path / "wording.item-text.yaml"
    overlay.write_text('questionnaire: tiny\nitems:\n  a: "Licensed wording of a."\n', "utf-8")
    q = load_item_text(overlay, load_definition(tiny_path))
    assert q.item("a").text == "Licensed wording of a."
    assert q.item("b").text == "second hint, reversed in warmth"
    # Wording does not change what is scored.
    assert q.content_hash() == load_definition(tiny_path).content_hash()


def test_overlay_problems_are_located(tmp_path: Path, tiny: Questionnaire) -> None:
    overlay = tmp_path / "x.item-text.yaml"
    overlay.write_text("questionnaire: wai-sr\nitems:\n  a: fine\n  q: unknown\n", "utf-8")
    with pytest.raises(DefinitionError) as info:
        load_item_text(overlay, tiny)
    assert info.value.render().splitlines() == [
        f'{overlay}:1:16 questionnaire: this overlay is for "wai-sr", not "tiny"',
        f'{overlay}:4:3 items.q: item "q" is not defined in tiny (items are "a", "b", "c", "d")',
    ]


def test_prorating_over_items_with_different_ranges_is_refused() -> None:
    text = TINY_YAML.replace(
        "  - {id: d, text: fourth hint}",
        "  - {id: d, text: fourth hint, response_scale: {min: 0, max: 10}}",
    )
    [problem] = problems_of(text)
    assert problem.split(" ", 1)[1] == (
        "scales.work.missing.on_missing: prorating needs items that share one range; this "
        "scale mixes 0–10, 1–5"
    )
