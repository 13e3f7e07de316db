"""Reading answers: text through ``parse_answers`` and ``result.score``, and answers given in
code (a mapping or a sequence). Error texts are asserted literally where the wording matters
to the user; otherwise on the problem codes and paths.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alliance_cli.errors import ResponseError
from alliance_cli.model import Questionnaire
from alliance_cli.responses import answers_from_mapping, parse_answers
from alliance_cli.result import score

LABELS = {1: "Never", 2: "Rarely", 3: "Fairly often", 4: "Very often", 5: "Always"}
TINY_ALLOWED = (
    '1–5 (1 Never, 2 Rarely, 3 Sometimes, 4 Often, 5 Always), or 9 or "Does not apply" for '
    "does not apply"
)


@pytest.fixture
def labelled(tiny: Questionnaire) -> Questionnaire:
    """``tiny`` with two-word labels; item d has its own scale without "does not apply"."""
    data = tiny.model_dump()
    data["response_scale"]["labels"] = LABELS
    data["items"][3]["response_scale"] = {"min": 1, "max": 5, "labels": LABELS}
    return Questionnaire.model_validate(data)


def values(q: Questionnaire, text: str) -> dict[str, float | None]:
    """parse_answers without problems, NaN shown as None for easy comparison."""
    got, problems = parse_answers(q, text)
    assert problems == []
    return {k: None if math.isnan(v) else v for k, v in got.items()}


def states(q: Questionnaire, answers: Any) -> list[tuple[str, float | None, str]]:
    return [(a.item, a.value, a.state) for a in score(q, answers).answers]


def error(q: Questionnaire, answers: Any) -> ResponseError:
    with pytest.raises(ResponseError) as info:
        score(q, answers)
    assert info.value.exit_code == 4
    return info.value


# -- forms of answer text ------------------------------------------------------------------


def test_positional_with_blank_is_missing(tiny: Questionnaire) -> None:
    assert values(tiny, "5,4,,3") == {"a": 5.0, "b": 4.0, "c": None, "d": 3.0}
    report = score(tiny, "5,4,,3")
    assert states(tiny, "5,4,,3") == [
        ("a", 5.0, "answered"),
        ("b", 4.0, "answered"),
        ("c", None, "missing"),
        ("d", 3.0, "answered"),
    ]
    warmth, work = report.scales
    assert warmth.score == 7.0  # 5 + (1 + 5 - 4)
    assert work.score == 4.0  # (3 + 5) / 2, c missing: prorated
    assert work.prorated and work.answered == 2 and work.missing == 1


@pytest.mark.parametrize(
    "text",
    ["5;4;;3", " 5 , 4 ,  , 3 ", "5,4,,3\n", "5\n4\n\n3", "5\r\n4\r\n\r\n3\r\n"],
)
def test_other_separators(tiny: Questionnaire, text: str) -> None:
    assert values(tiny, text) == {"a": 5.0, "b": 4.0, "c": None, "d": 3.0}


def test_whitespace_separated(tiny: Questionnaire) -> None:
    assert values(tiny, "5 4  3\t2") == {"a": 5.0, "b": 4.0, "c": 3.0, "d": 2.0}


@pytest.mark.parametrize("text", ["a=5 b=4", "a=5,b=4", "a=5, b=4", "b = 4 ; a=5", "a=5\nb=4"])
def test_pairs_leave_the_others_missing(tiny: Questionnaire, text: str) -> None:
    assert values(tiny, text) == {"a": 5.0, "b": 4.0, "c": None, "d": None}
    warmth, work = score(tiny, text).scales
    assert warmth.score == 7.0  # 5 + (6 - 4)
    assert work.withheld and work.answered == 1  # only a of c, d, a


def test_numeric_item_ids_in_pairs(bundled: Any) -> None:
    from alliance_cli.definitions import load_definition

    srs = load_definition(bundled / "srs.yaml")
    assert values(srs, "1=7.5 4=10") == {"1": 7.5, "2": None, "3": None, "4": 10.0}


def test_labels_case_insensitive_positional(labelled: Questionnaire) -> None:
    text = "ALWAYS,fairly often,  never ,Very   Often"
    assert values(labelled, text) == {"a": 5.0, "b": 3.0, "c": 1.0, "d": 4.0}


def test_labels_case_insensitive_pairs(labelled: Questionnaire) -> None:
    text = "a=ALWAYS b=fairly often d=VERY OFTEN, c=Rarely"
    assert values(labelled, text) == {"a": 5.0, "b": 3.0, "c": 2.0, "d": 4.0}
    warmth, work = score(labelled, text).scales
    assert warmth.score == 8.0  # 5 + (6 - 3)
    assert work.score == pytest.approx(3.6666666667)  # (2 + 4 + 5) / 3


def test_labels_one_per_line(labelled: Questionnaire) -> None:
    assert values(labelled, "Always\nfairly often\n\nrarely\n") == {
        "a": 5.0,
        "b": 3.0,
        "c": None,
        "d": 2.0,
    }


@pytest.mark.parametrize(
    "word", ["n/a", "N/A", "na", "does not apply", "Does  Not Apply", "not applicable", "9"]
)
def test_not_applicable_words_and_code(tiny: Questionnaire, word: str) -> None:
    assert values(tiny, f"5,{word},3,4")["b"] == 9.0
    assert values(tiny, f"a=5 b={word}")["b"] == 9.0
    answers = states(tiny, f"5,{word},3,4")
    assert answers[1] == ("b", 9.0, "not_applicable")
    warmth = score(tiny, f"5,{word},3,4").scales[0]
    assert warmth.withheld and warmth.not_applicable == 1 and warmth.missing == 0


def test_not_applicable_label_of_the_definition(tiny: Questionnaire) -> None:
    data = tiny.model_dump()
    data["response_scale"]["not_applicable"] = {"values": [9, 0], "label": "Not relevant here"}
    q = Questionnaire.model_validate(data)
    assert values(q, "NOT RELEVANT HERE,4,3,0") == {"a": 9.0, "b": 4.0, "c": 3.0, "d": 0.0}
    assert [a.state for a in score(q, "NOT RELEVANT HERE,4,3,0").answers] == [
        "not_applicable",
        "answered",
        "answered",
        "not_applicable",
    ]


def test_not_applicable_on_item_without_the_option(labelled: Questionnaire) -> None:
    exc = error(labelled, "5,4,3,n/a")
    assert exc.render() == (
        'item "d": "n/a" means does not apply, which this item does not offer; allowed: 1–5 '
        "(1 Never, 2 Rarely, 3 Fairly often, 4 Very often, 5 Always)"
    )
    # the code of the other items is not an answer to d either
    assert error(labelled, "d=9").render() == (
        'item "d": 9 is not allowed; allowed: 1–5 '
        "(1 Never, 2 Rarely, 3 Fairly often, 4 Very often, 5 Always)"
    )


# -- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "n"), [("5,4,3", 3), ("5 4 3 2 1", 5), ("5\n4\n3", 3)])
def test_wrong_count(tiny: Questionnaire, text: str, n: int) -> None:
    with pytest.raises(ResponseError) as info:
        parse_answers(tiny, text)
    assert str(info.value) == (
        f'tiny has 4 items ("a", "b", "c", "d") but {n} answers were given; leave a blank '
        'between commas for a missing answer ("5,4,,3") or use item=value pairs ("1=5 2=4")'
    )
    assert [p.code for p in info.value.problems] == ["answer-count"]
    assert error(tiny, text).render() == str(info.value)


def test_unknown_item_in_pairs(tiny: Questionnaire) -> None:
    exc = error(tiny, "a=5 z=3")
    assert exc.render() == 'item "z" is not defined in tiny (items are "a", "b", "c", "d")'
    assert [p.code for p in exc.problems] == ["unknown-item"]


def test_duplicate_item_in_pairs(tiny: Questionnaire) -> None:
    got, problems = parse_answers(tiny, "a=5 b=4 a=4")
    assert [(p.code, p.message) for p in problems] == [
        ("duplicate-item", 'item "a" is answered twice')
    ]
    assert got["a"] == 5.0  # the first answer is kept, but the whole input is refused:
    assert error(tiny, "a=5 b=4 a=4").render() == 'item "a" is answered twice'


def test_not_a_number_nor_a_label(tiny: Questionnaire) -> None:
    exc = error(tiny, "a=5 b=lots")
    assert exc.render() == (
        f'item "b": "lots" is neither a number nor a label of the scale; allowed: {TINY_ALLOWED}'
    )
    assert [(p.code, p.path) for p in exc.problems] == [("bad-answer", 'item "b"')]


def test_out_of_range_and_off_grid_are_reported_with_allowed_values(bundled: Any) -> None:
    from alliance_cli.definitions import load_definition

    srs = load_definition(bundled / "srs.yaml")
    assert error(srs, "7.35,8,9,10").render() == (
        'item "1": 7.35 is not allowed; allowed: 0–10 in steps of 0.1'
    )


def test_all_bad_answers_reported_in_item_order(tiny: Questionnaire) -> None:
    # unreadable (a, c), out of range (b), off grid (d); given in pairs out of order
    for text in ("foo,6,bar,2.5", "d=2.5 c=bar b=6 a=foo"):
        exc = error(tiny, text)
        assert [(p.path, p.code) for p in exc.problems] == [
            ('item "a"', "bad-answer"),
            ('item "b"', "bad-answer"),
            ('item "c"', "bad-answer"),
            ('item "d"', "bad-answer"),
        ]
        assert exc.render() == "\n".join(
            [
                f'item "a": "foo" is neither a number nor a label of the scale; allowed: '
                f"{TINY_ALLOWED}",
                f'item "b": 6 is not allowed; allowed: {TINY_ALLOWED}',
                f'item "c": "bar" is neither a number nor a label of the scale; allowed: '
                f"{TINY_ALLOWED}",
                f'item "d": 2.5 is not allowed; allowed: {TINY_ALLOWED}',
            ]
        )


def test_parse_answers_returns_problems_without_raising(tiny: Questionnaire) -> None:
    got, problems = parse_answers(tiny, "x,4,y,3")
    assert [p.path for p in problems] == ['item "a"', 'item "c"']
    assert set(got) == {"b", "d"}  # unreadable answers are left out


# -- answers given in code --------------------------------------------------------------------


def test_mapping(tiny: Questionnaire) -> None:
    assert states(tiny, {"a": 5, "b": "often", "c": None, "d": "n/a"}) == [
        ("a", 5.0, "answered"),
        ("b", 4.0, "answered"),
        ("c", None, "missing"),
        ("d", 9.0, "not_applicable"),
    ]
    # a missing key is a missing answer; warmth = 5 + (6 - 4) = 7
    assert score(tiny, {"a": 5, "b": 4}).scales[0].score == 7.0


def test_sequence(tiny: Questionnaire) -> None:
    assert states(tiny, [5, None, 3.0, "Never"]) == [
        ("a", 5.0, "answered"),
        ("b", None, "missing"),
        ("c", 3.0, "answered"),
        ("d", 1.0, "answered"),
    ]
    assert states(tiny, (5, math.nan, "does not apply", 2))[1:3] == [
        ("b", None, "missing"),
        ("c", 9.0, "not_applicable"),
    ]


def test_code_answers_errors(tiny: Questionnaire) -> None:
    assert error(tiny, [5, None, 3]).render() == (
        'tiny has 4 items ("a", "b", "c", "d") but 3 answers were given'
    )
    exc = error(tiny, {"z": 1, "b": 7})
    assert [(p.code, p.path) for p in exc.problems] == [
        ("unknown-item", ""),
        ("bad-answer", 'item "b"'),
    ]
    assert exc.problems[0].message == (
        'item "z" is not defined in tiny (items are "a", "b", "c", "d")'
    )
    got, problems = answers_from_mapping(tiny, {"a": "sometimes"})
    assert got["a"] == 3.0 and problems == []


# -- properties --------------------------------------------------------------------------------


def fmt(v: float) -> str:
    return "" if math.isnan(v) else f"{v:g}"


ANSWER = st.one_of(st.sampled_from([1.0, 2.0, 3.0, 4.0, 5.0, 9.0]), st.just(math.nan))


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(row=st.lists(ANSWER, min_size=4, max_size=4), data=st.data())
def test_every_form_reads_the_same_values(tiny: Questionnaire, row: list[float], data: Any) -> None:
    ids = tiny.item_ids()
    expected = {i: None if math.isnan(v) else v for i, v in zip(ids, row, strict=True)}
    assert values(tiny, ",".join(fmt(v) for v in row)) == expected
    given_ = [(i, v) for i, v in zip(ids, row, strict=True) if not math.isnan(v)]
    order = data.draw(st.permutations(given_))
    sep = data.draw(st.sampled_from([" ", ",", ", ", "\n", ";"]))
    if order:
        assert values(tiny, sep.join(f"{i}={fmt(v)}" for i, v in order)) == expected
    # one per line: blanks in the middle only (see test_one_per_line_blank_first_line)
    if not math.isnan(row[0]) and not math.isnan(row[-1]):
        assert values(tiny, "\n".join(fmt(v) for v in row)) == expected
    labels = {1.0: "NEVER", 2.0: "rarely", 3.0: "Sometimes", 4.0: "often", 5.0: "always"}
    as_labels = [labels.get(v, fmt(v)) for v in row]
    assert values(tiny, ",".join(as_labels)) == expected


def test_one_per_line_blank_first_line(tiny: Questionnaire) -> None:
    """One answer per line with the first answer blank: four lines for four items."""
    assert values(tiny, "\n4\n3\n2") == {"a": None, "b": 4.0, "c": 3.0, "d": 2.0}


def test_one_per_line_blank_last_line_before_the_final_newline(tiny: Questionnaire) -> None:
    # A file "5⏎4⏎3⏎⏎" holds four lines, the last blank; only the final line ending goes.
    assert values(tiny, "5\n4\n3\n\n") == {"a": 5.0, "b": 4.0, "c": 3.0, "d": None}
    assert values(tiny, "5\r\n4\r\n3\r\n2\r\n") == {"a": 5.0, "b": 4.0, "c": 3.0, "d": 2.0}


def test_numbers_in_scientific_notation_are_numbers(tiny: Questionnaire) -> None:
    from alliance_cli.errors import ResponseError

    assert values(tiny, "5e0,4,3,2")["a"] == 5.0
    with pytest.raises(ResponseError) as info:
        score(tiny, {"a": 1e16})
    assert info.value.render().startswith('item "a": 10000000000000000 is not allowed; allowed:')


def test_a_stray_equals_sign_is_not_read_as_another_item(tiny: Questionnaire) -> None:
    # "a=5 =4" must not become a missing and item "5" = 4: it is an unreadable answer for a.
    with pytest.raises(ResponseError) as info:
        score(tiny, "a=5 =4")
    assert info.value.render().startswith('item "a": "5 =4" is neither a number nor a label')


def test_why_an_answer_could_not_be_read() -> None:
    from alliance_cli.responses import why_unreadable

    got = {t: why_unreadable(t) for t in ("Never", "often-ish", "4..5", "#", "½", " N/A ", "na")}
    assert got == {
        "Never": "unknown-label",
        "often-ish": "unknown-label",
        "4..5": "not-a-number",
        "#": "not-a-number",
        "½": "not-a-number",
        " N/A ": "no-not-applicable",
        "na": "no-not-applicable",
    }
