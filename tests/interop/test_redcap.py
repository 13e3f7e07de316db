"""`alliance redcap dictionary|import`: the golden dictionary of a hand-written definition,
its calc equations evaluated against the scoring engine, the instrument ZIP, and the round
trip dictionary → import → validate → batch."""

from __future__ import annotations

import csv
import io
import json
import random
import re
import stat
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from alliance_cli.catalog import Catalog
from alliance_cli.definitions import load_definition
from alliance_cli.interop.redcap import COLUMNS, dictionary_rows
from alliance_cli.scoring import score_matrix
from tests.helpers import BUNDLED, DATA, run

FIXTURES = DATA / "redcap"
MINI = FIXTURES / "mini.yaml"

# REDCap's data-dictionary columns A-R, typed out from its documentation (not the module's
# constant), so a reordering or a typo there fails here.
HEADER = (
    "Variable / Field Name,Form Name,Section Header,Field Type,Field Label,"
    '"Choices, Calculations, OR Slider Labels",Field Note,'
    "Text Validation Type OR Show Slider Number,Text Validation Min,Text Validation Max,"
    "Identifier?,Branching Logic (Show field only if...),Required Field?,Custom Alignment,"
    "Question Number (surveys only),Matrix Group Name,Matrix Ranking?,Field Annotation"
)


def _dictionary(tmp_path: Path, *ids: str) -> Path:
    out = tmp_path / "dictionary.csv"
    result = run("redcap", "dictionary", *ids, "-d", str(FIXTURES), "-o", str(out))
    assert result.exit_code == 0, result.output
    return out


# -- the dictionary ----------------------------------------------------------------------


def test_golden_dictionary_of_a_hand_written_definition(tmp_path: Path) -> None:
    out = _dictionary(tmp_path, "mini-rc")
    assert out.read_bytes() == (FIXTURES / "mini-dictionary.csv").read_bytes()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert out.read_text(encoding="utf-8").splitlines()[0] == HEADER


def test_dictionary_fields_types_and_choices(tmp_path: Path) -> None:
    rows = list(csv.DictReader(io.StringIO(_dictionary(tmp_path, "mini-rc").read_text())))
    assert len(COLUMNS) == 18
    assert [r["Variable / Field Name"] for r in rows] == [
        "record_id",
        "mini_rc_01",
        "mini_rc_02",
        "mini_rc_03",
        "mini_rc_04",
        "mini_rc_warmth_score",
        "mini_rc_line_score",
    ]
    assert [r["Field Type"] for r in rows] == [
        "text", "radio", "radio", "radio", "text", "calc", "calc",
    ]  # fmt: skip
    choices = "Choices, Calculations, OR Slider Labels"
    assert rows[1][choices] == (
        "1, Never | 2, Rarely | 3, Sometimes | 4, Often | 5, Always | 9, Does not apply"
    )
    vas = rows[4]
    assert (vas["Text Validation Type OR Show Slider Number"], vas["Text Validation Min"]) == (
        "number",
        "0",
    )
    assert vas["Text Validation Max"] == "10"
    assert "in steps of 0.1" in vas["Field Note"]
    assert "not the step grid" in rows[6]["Field Note"]


def test_batch_recognises_the_field_names_without_a_map(tmp_path: Path) -> None:
    data = tmp_path / "export.csv"
    data.write_text("record_id,mini_rc_01,mini_rc_02,mini_rc_03,mini_rc_04\n1,5,1,4,7.5\n")
    result = run("batch", str(data), "-q", "mini-rc", "-d", str(FIXTURES))
    assert result.exit_code == 0, result.output
    row = next(csv.DictReader(io.StringIO(result.stdout)))
    # warmth = mean(5, 6 - 1, 4) = 14 / 3; line = 7.5
    assert float(row["mini-rc.warmth"]) == pytest.approx(14 / 3)
    assert float(row["mini-rc.line"]) == 7.5


def test_formula_like_labels_are_escaped(tmp_path: Path) -> None:
    q = load_definition(MINI)
    items = tuple(
        i.model_copy(update={"text": "=HYPERLINK(1)"}) if i.id == "1" else i for i in q.items
    )
    rows = dictionary_rows([q.model_copy(update={"items": items})])
    out = io.StringIO()
    from alliance_cli.io.csvout import write_csv

    write_csv(out, COLUMNS, rows)
    assert ",'=HYPERLINK(1)," in out.getvalue()


# -- the calc equations, evaluated -------------------------------------------------------


class _Blank:
    """A blank REDCap field: equal only to "", and blank under arithmetic."""

    def __eq__(self, other: object) -> bool:
        return other == "" or isinstance(other, _Blank)

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return 0

    def _blank(self, other: object) -> _Blank:
        return self

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _blank
    __truediv__ = __rtruediv__ = _blank


def _if(condition: Any, then: Any, otherwise: Any) -> Any:
    value = then if condition else otherwise
    return np.float64(value) if isinstance(value, int) else value


def evaluate(equation: str, values: dict[str, float | None]) -> float | None:
    """A REDCap calc equation (the subset the dictionary writes: if, + - * /, = <> >= and,
    "" for blank, [field]) evaluated in Python; both branches of if are computed, as
    REDCap's JavaScript does, so a division by zero gives inf/nan instead of raising."""
    expr = equation.replace("<>", "!=")
    expr = re.sub(r"(?<![<>!=])=(?!=)", "==", expr)
    expr = re.sub(r"\bif\(", "_if(", expr)
    expr = re.sub(r"\[([a-z0-9_]+)\]", r"v['\1']", expr)
    env = {k: (_Blank() if x is None else np.float64(x)) for k, x in values.items()}
    with np.errstate(divide="ignore", invalid="ignore"):
        result = eval(expr, {"_if": _if, "v": env})
    return None if result == "" else float(result)


@pytest.mark.parametrize("qid", ["mini-rc", "care", "wai", "wai-sr", "srs", "haq-ii"])
def test_calc_fields_compute_what_alliance_computes(qid: str) -> None:
    catalog = Catalog.from_environment([FIXTURES])
    q = catalog.get(qid)
    rows = dictionary_rows([q])
    fields = {r[17].split(" item ")[1]: str(r[0]) for r in rows if " item " in str(r[17])}
    calcs = {str(r[17]).split("scale=")[1].split()[0]: str(r[5]) for r in rows if r[3] == "calc"}
    assert set(calcs) == set(q.scales)
    rng = random.Random(13)
    matrix = []
    for _ in range(300):
        answers = []
        for item in q.item_ids():
            s = q.scale_of(item)
            options: list[float | None] = [None, s.min, s.max]
            options += [
                round(s.min + s.step * rng.randrange(int((s.max - s.min) / s.step) + 1), 6)
            ] * 6
            if s.not_applicable is not None:
                options.append(s.not_applicable.values[0])
            value = rng.choice(options)
            answers.append(None if value is not None and value in s.exclude else value)
        matrix.append(answers)
    x = np.array([[np.nan if a is None else a for a in row] for row in matrix], dtype=float)
    scores = score_matrix(q, x)
    for scale_id, equation in calcs.items():
        for r, answers in enumerate(matrix):
            got = evaluate(equation, dict(zip(fields.values(), answers, strict=True)))
            want = scores.scales[scale_id].score[r]
            if np.isnan(want):
                assert got is None, (scale_id, answers)
            else:
                assert got == pytest.approx(want), (scale_id, answers)


def test_evaluator_blank_rules() -> None:
    # The evaluator itself: a blank is "" and not 0; if picks a branch.
    assert evaluate('if([a]<>"",1,0)', {"a": None}) == 0
    assert evaluate('if([a]<>"",1,0)', {"a": 0}) == 1
    assert evaluate('if([a]=2,[a]*3,"")', {"a": 2}) == 6
    assert evaluate('if([a]=2,[a]*3,"")', {"a": 1}) is None


# -- the instrument ZIP ------------------------------------------------------------------


def test_instrument_zip_holds_the_forms_rows(tmp_path: Path) -> None:
    out = tmp_path / "mini.zip"
    result = run("redcap", "dictionary", "mini-rc", "--zip", "-d", str(FIXTURES), "-o", str(out))
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    with zipfile.ZipFile(out) as archive:
        assert archive.namelist() == ["instrument.csv"]
        inside = archive.read("instrument.csv").decode("utf-8")
    golden = (FIXTURES / "mini-dictionary.csv").read_bytes().decode("utf-8").split("\r\n")
    # The instrument has no record_id row: it is added to a project that has one.
    assert inside.split("\r\n") == [golden[0], *golden[2:]]


def test_zip_takes_one_questionnaire(tmp_path: Path) -> None:
    result = run("redcap", "dictionary", "wai-sr", "srs", "--zip", "-o", str(tmp_path / "x.zip"))
    assert result.exit_code == 2
    assert "--zip writes one instrument" in result.output
    assert not (tmp_path / "x.zip").exists()


def test_unknown_questionnaire_exit_3(tmp_path: Path) -> None:
    result = run("redcap", "dictionary", "wai-srr", "-o", str(tmp_path / "d.csv"))
    assert result.exit_code == 3
    assert not (tmp_path / "d.csv").exists()


# -- import and the round trip -----------------------------------------------------------


def _import(tmp_path: Path, dictionary: Path, form: str, qid: str) -> tuple[Path, Path]:
    defs = tmp_path / "defs"
    defs.mkdir(exist_ok=True)
    definition, mapfile = defs / f"{qid}.yaml", tmp_path / f"{qid}-map.yaml"
    result = run(
        "redcap", "import", str(dictionary), "--form", form,
        "-o", str(definition), "--map", str(mapfile),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(definition.stat().st_mode) == 0o600
    assert run("validate", str(definition)).exit_code == 0
    return defs, mapfile


def _scores(result: Any) -> list[dict[str, str]]:
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    return [{k: v for k, v in r.items() if k not in ("row",)} for r in rows]


# A REDCap "raw" export: record_id, items, the calc fields, the form's complete status.
WAI_SR_EXPORT = (
    "record_id,wai_sr_01,wai_sr_02,wai_sr_03,wai_sr_04,wai_sr_05,wai_sr_06,wai_sr_07,"
    "wai_sr_08,wai_sr_09,wai_sr_10,wai_sr_11,wai_sr_12,wai_sr_goal_score,wai_sr_complete\n"
    "101,5,4,4,5,3,4,5,4,4,5,4,4,4.25,2\n"
    "102,1,2,,4,5,1,2,3,4,5,1,2,2.25,2\n"
    "103,1,,,4,5,1,2,3,,5,1,2,,0\n"
)


def test_round_trip_scores_like_the_bundled_definition(tmp_path: Path) -> None:
    dictionary = _dictionary(tmp_path, "wai-sr", "care")
    defs, mapfile = _import(tmp_path, dictionary, "wai_sr", "wai-sr")
    text = (defs / "wai-sr.yaml").read_text()
    assert "key_status: unverified" in text
    data = tmp_path / "export.csv"
    data.write_text(WAI_SR_EXPORT)
    imported = run("batch", str(data), "-q", "wai-sr", "--map", str(mapfile), "-d", str(defs))
    bundled = run("batch", str(data), "-q", "wai-sr")
    assert _scores(imported) == _scores(bundled)
    rows = _scores(imported)
    # Hand-computed: 101 goal = mean(5, 4, 4, 4) = 4.25; 102 bond = mean(5, 2, 4) (item 3
    # blank, prorated); 103 bond has 2 of 4 answered (needs 3): withheld.
    assert rows[0]["wai-sr.goal"] == "4.25"
    assert float(rows[1]["wai-sr.bond"]) == pytest.approx(11 / 3)
    assert rows[2]["wai-sr.bond"] == ""


def test_round_trip_of_a_labels_export_with_does_not_apply(tmp_path: Path) -> None:
    dictionary = _dictionary(tmp_path, "wai-sr", "care")
    defs, mapfile = _import(tmp_path, dictionary, "care", "care")
    raw, labels = tmp_path / "raw.csv", tmp_path / "labels.csv"
    head = "record_id," + ",".join(f"care_{k:02d}" for k in range(1, 11)) + "\n"
    answers = {"7": "5,4,6,3,2,1,5,4,,6", "8": "5,4,4,3,2,1,5,4,3,6"}
    raw.write_text(head + "".join(f"{k},{v}\n" for k, v in answers.items()))
    words = {"1": "Poor", "2": "Fair", "3": "Good", "4": "Very good", "5": "Excellent"}
    words |= {"6": "Does not apply", "": ""}
    labels.write_text(
        head
        + "".join(f"{k},{','.join(words[x] for x in v.split(','))}\n" for k, v in answers.items())
    )
    by_map_raw = run("batch", str(raw), "-q", "care", "--map", str(mapfile), "-d", str(defs))
    by_map_labels = run("batch", str(labels), "-q", "care", "--map", str(mapfile), "-d", str(defs))
    bundled = run("batch", str(raw), "-q", "care")
    assert _scores(by_map_raw) == _scores(bundled) == _scores(by_map_labels)
    # 7 answered (two "does not apply", one blank) of 10, 8 required: withheld.
    assert _scores(bundled)[0]["care.total"] == ""
    assert _scores(bundled)[0]["care.total.answered"] == "7"
    # 9 answered, sum 31: prorated to 31 / 9 * 10.
    assert float(_scores(bundled)[1]["care.total"]) == pytest.approx(310 / 9)


def test_import_reads_a_vas_item_and_its_own_scale(tmp_path: Path) -> None:
    dictionary = _dictionary(tmp_path, "mini-rc")
    defs, _ = _import(tmp_path, dictionary, "mini_rc", "mini-rc")
    q = load_definition(defs / "mini-rc.yaml")
    original = load_definition(MINI)
    assert q.item_ids() == original.item_ids()
    assert q.response_scale == original.response_scale
    assert q.scale_of("4") == original.scale_of("4")
    assert {
        k: (s.items, s.reverse, s.method, s.higher_is, s.missing) for k, s in q.scales.items()
    } == {
        k: (s.items, s.reverse, s.method, s.higher_is, s.missing)
        for k, s in original.scales.items()
    }
    assert q.key_status.value == "unverified"


def test_import_without_annotations_guesses_one_total(tmp_path: Path) -> None:
    dictionary = tmp_path / "plain.csv"
    empty = "," * 12
    dictionary.write_text(
        HEADER + "\n"
        "study_id,intake,,text,Study ID" + empty + "\n"
        'mood_a,intake,Mood,radio,How today,"0, none | 1, some | 2, much"' + empty + "\n"
        'mood_b,intake,,dropdown,How yesterday,"0, none | 1, some | 2, much | 8, N/A"'
        + empty + "\n"
        "mood_note,intake,,notes,Anything else,," + "," * 11 + "\n"
    )  # fmt: skip
    defs, mapfile = _import(tmp_path, dictionary, "intake", "intake")
    result = run("redcap", "import", str(dictionary), "--form", "intake")
    assert 'field "mood_note" (notes) is not an item: left out' in result.stderr
    q = load_definition(defs / "intake.yaml")
    assert q.item_ids() == ["mood_a", "mood_b"]
    assert list(q.scales) == ["total"]
    assert q.scale_of("mood_b").not_applicable is not None
    assert q.scale_of("mood_b").not_applicable.values == (8.0,)
    assert "ids:\n- study_id\n" in mapfile.read_text()
    result = run("redcap", "import", str(dictionary), "--form", "intake", "--json",
                 "-o", str(tmp_path / "again.yaml"))  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["items"] == ["mood_a", "mood_b"] and summary["scales"] == ["total"]
    assert (summary["key_status"], summary["map"]) == ("unverified", None)
    assert 'field "mood_note" (notes) is not an item: left out' in " ".join(summary["notes"])
    result = run("redcap", "import", str(dictionary), "--form", "intake", "--json")
    assert result.exit_code == 2 and "write the definition with -o FILE" in result.stderr


def test_import_problems_name_the_row(tmp_path: Path) -> None:
    dictionary = tmp_path / "bad.csv"
    empty = "," * 12
    dictionary.write_text(
        HEADER + "\n"
        "record_id,f,,text,ID" + empty + "\n"
        'x_1,f,,radio,One,"a, yes | b, no"' + empty + "\n"
        "x_2,f,,text,Two,,,number,,10" + "," * 8 + "\n"
    )  # fmt: skip
    result = run("redcap", "import", str(dictionary), "--form", "f")
    assert result.exit_code == 2
    assert f'{dictionary}:3: choice "a, yes" has no numeric code' in result.output
    assert f"{dictionary}:4: a number item needs Text Validation Min and Max" in result.output
    other = run("redcap", "import", str(dictionary), "--form", "g")
    assert other.exit_code == 2
    assert 'has no form "g" (its forms: f)' in other.output


def test_import_refuses_a_file_that_is_not_a_dictionary(tmp_path: Path) -> None:
    data = tmp_path / "export.csv"
    data.write_text(WAI_SR_EXPORT)
    result = run("redcap", "import", str(data), "--form", "wai_sr")
    assert result.exit_code == 6
    assert "not REDCap's data dictionary header" in result.output


def test_bundled_fixture_is_not_a_bundled_definition() -> None:
    # The fixture's id must not shadow a bundled definition.
    assert not (BUNDLED / "mini-rc.yaml").exists()


def test_negative_codes_are_refused_not_escaped_into_the_choices(tmp_path: Path) -> None:
    text = MINI.read_text().replace("  min: 1\n  max: 5\n", "  min: -2\n  max: 2\n", 1)
    text = text.replace("{1: Never, 2: Rarely, 3: Sometimes, 4: Often, 5: Always}", "{}")
    (tmp_path / "mini-rc.yaml").write_text(text)
    out = tmp_path / "d.csv"
    result = run("redcap", "dictionary", "mini-rc", "-d", str(tmp_path), "-o", str(out))
    assert result.exit_code == 2, result.output
    assert "mini-rc item 1: answers below 0 (-2–2) cannot be written" in result.output
    assert not out.exists()


def test_longitudinal_export_scores_a_row_per_event(tmp_path: Path) -> None:
    dictionary = _dictionary(tmp_path, "wai-sr")
    defs, mapfile = tmp_path / "defs", tmp_path / "map.yaml"
    defs.mkdir()
    args = ["redcap", "import", str(dictionary), "--form", "wai_sr", "-o"]
    assert run(*args, str(defs / "w.yaml"), "--map", str(mapfile), "--longitudinal").exit_code == 0
    assert "ids:\n- record_id\n- redcap_event_name\n" in mapfile.read_text()
    data = tmp_path / "long.csv"
    items = ",".join(f"wai_sr_{k:02d}" for k in range(1, 13))
    data.write_text(
        f"record_id,redcap_event_name,{items}\n"
        "1,baseline_arm_1,5,4,4,5,3,4,5,4,4,5,4,4\n"
        "1,week_4_arm_1,1,1,1,1,1,1,1,1,1,1,1,1\n"
    )
    rows = _scores(run("batch", str(data), "-q", "wai-sr", "--map", str(mapfile), "-d", str(defs)))
    assert [(r["redcap_event_name"], r["wai-sr.total"]) for r in rows] == [
        ("baseline_arm_1", "4.25"),
        ("week_4_arm_1", "1"),
    ]


def test_import_takes_ids_from_the_annotations(tmp_path: Path) -> None:
    # Item "x.1" and questionnaire "odd.id" cannot be read back from the field names
    # (odd_id_x_1): the annotations carry them.
    text = MINI.read_text().replace("id: mini-rc", "id: odd.id").replace('id: "1"', 'id: "x.1"')
    text = text.replace('items: ["1", "2", "3"]', 'items: ["x.1", "2", "3"]')
    (tmp_path / "odd.yaml").write_text(text)
    out = tmp_path / "d.csv"
    assert run("redcap", "dictionary", "odd.id", "-d", str(tmp_path), "-o", str(out)).exit_code == 0
    assert "odd_id_x_1," in out.read_text()
    result = run("redcap", "import", str(out), "--form", "odd_id")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("id: odd.id\n")
    assert "- id: x.1\n" in result.stdout


def test_missing_data_choices_become_missing_codes_not_answers(tmp_path: Path) -> None:
    dictionary = tmp_path / "codes.csv"
    empty = "," * 12
    dictionary.write_text(
        HEADER + "\n"
        "record_id,f,,text,ID" + empty + "\n"
        "f_1,f,,radio,One,\"1, never | 2, sometimes | 3, always | 8, Don't know | 9, Refused\""
        + empty + "\n"
        'f_2,f,,radio,Two,"1, never | 2, sometimes | 3, always | -9, Prefer not to say | '
        '99, Missing"' + empty + "\n"
    )  # fmt: skip
    defs, mapfile = _import(tmp_path, dictionary, "f", "f")
    q = load_definition(defs / "f.yaml")
    for item in ("1", "2"):
        scale = q.scale_of(item)
        assert (scale.min, scale.max, scale.step) == (1, 3, 1)
        assert scale.labels == {1: "never", 2: "sometimes", 3: "always"}
    spec = yaml.safe_load(mapfile.read_text())["questionnaires"]["f"]["columns"]
    assert spec["f_1"]["missing"] == ["8", "9", "Don't know", "Refused"]
    assert spec["f_2"]["missing"] == ["-9", "99", "Prefer not to say", "Missing"]
    data = tmp_path / "export.csv"
    data.write_text("record_id,f_1,f_2\n1,9,99\n2,Refused,3\n3,2,-9\n4,1,1\n")
    result = run("batch", str(data), "-q", "f", "-d", str(defs), "--map", str(mapfile))
    got = [(r["record_id"], r["f.total"], r["f.total.answered"]) for r in _scores(result)]
    # Missing answers leave the all-items-required total blank, never 9 + 99.
    assert got == [("1", "", "0"), ("2", "", "1"), ("3", "", "1"), ("4", "2", "2")]


def test_a_choice_code_far_from_the_others_is_refused_not_expanded(tmp_path: Path) -> None:
    dictionary = tmp_path / "gap.csv"
    empty = "," * 12
    dictionary.write_text(
        HEADER + "\n"
        "record_id,f,,text,ID" + empty + "\n"
        'f_1,f,,radio,One,"1, a | 2, b | 3, c"' + empty + "\n"
        'f_2,f,,radio,Two,"1, a | 2, b | 100000000, c"' + empty + "\n"
        'f_3,f,,radio,Two,"1, a | 1.5, b | 1.0000001, c"' + empty + "\n"
    )  # fmt: skip
    result = run("redcap", "import", str(dictionary), "--form", "f")
    assert result.exit_code == 2, result.output
    assert f"{dictionary}:4: the choice codes 1, 2, 100000000 leave a gap" in result.output
    assert f"{dictionary}:5: the choice codes" in result.output
    assert "at most 101 points" in result.output


def test_import_never_overwrites_its_own_input(tmp_path: Path) -> None:
    dictionary = _dictionary(tmp_path, "wai-sr")
    before = dictionary.read_bytes()
    for extra in (["-o", str(dictionary)], ["-o", "-", "--map", str(dictionary)]):
        result = run("redcap", "import", str(dictionary), "--form", "wai_sr", *extra)
        assert result.exit_code == 2, result.output
        assert "the output would replace an input file" in result.output
        assert dictionary.read_bytes() == before
    same = tmp_path / "same.yaml"
    result = run(
        "redcap", "import", str(dictionary), "--form", "wai_sr", "-o", str(same), "--map", str(same)
    )
    assert result.exit_code == 2, result.output
    assert not same.exists()
