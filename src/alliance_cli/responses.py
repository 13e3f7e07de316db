"""Turning typed answers into numbers: ``5,4,,3``, ``1=5 2=4``, scale labels, "does not apply".

The result maps every item id to a float, ``NaN`` for a blank, or the item's "does not apply"
code. Range, step and exclusion checks are the engine's (``scoring.cell_states``); this module
only reads text, and reports every unreadable answer at once.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

from alliance_cli.errors import Problem, ResponseError
from alliance_cli.model import Questionnaire, ResponseScale
from alliance_cli.text import id_list, normalize_label

NA_WORDS = ("na", "n/a", "n.a.", "does not apply", "not applicable")
_NUMBER = re.compile(r"[-+]?(\d+([.,]\d*)?|[.,]\d+)([eE][-+]?\d+)?")
# `id=value`; an id starts the text or follows a separator, so in "1=5 =4" the "5" is not
# read as an item id (item 1 gets the unreadable value "5 =4" and the user is told).
_PAIR = re.compile(r"(?<![^\s,;])([^\s=,;]+)\s*=\s*")


def _item_problem(item_id: str, value: str, rs: ResponseScale, why: str) -> Problem:
    return Problem(
        "bad-answer", f'"{value}" {why}; allowed: {rs.describe_allowed()}', path=item_path(item_id)
    )


def item_path(item_id: str) -> str:
    """How an answer problem names its item: ``item "12"``."""
    return f'item "{item_id}"'


def read_value(q: Questionnaire, item_id: str, text: str) -> float | Problem:
    """One answer as a number: a number, a scale label, blank (NaN) or a 'does not apply'
    word or label (the item's first code)."""
    rs = q.scale_of(item_id)
    token = text.strip()
    if token == "":
        return math.nan
    key = normalize_label(token)
    na = rs.not_applicable
    if key in NA_WORDS or (na is not None and key == normalize_label(na.label)):
        if na is None:
            return _item_problem(
                item_id, token, rs, "means does not apply, which this item does not offer"
            )
        return na.values[0]
    if _NUMBER.fullmatch(token):
        value = float(token.replace(",", "."))
        if math.isfinite(value):
            return value
    for point, label in rs.labels.items():
        if normalize_label(label) == key:
            return point
    return _item_problem(item_id, token, rs, "is neither a number nor a label of the scale")


def why_unreadable(text: str) -> str:
    """What an answer :func:`read_value` could not read is, as a problem code:
    ``no-not-applicable`` (a "does not apply" word, on an item that does not offer it),
    ``unknown-label`` (a word the scale has no label for), else ``not-a-number``."""
    token = text.strip()
    if normalize_label(token) in NA_WORDS:
        return "no-not-applicable"
    return "unknown-label" if any(ch.isalpha() for ch in token) else "not-a-number"


def parse_answers(q: Questionnaire, text: str) -> tuple[dict[str, float], list[Problem]]:
    """Read ``5,4,,3,…`` (one per item, in order), ``1=5 2=4 …`` pairs (others missing),
    or one answer per line. Returns the readable values (unreadable ones are left out) and a
    problem per unreadable answer; a wrong number of answers raises :class:`ResponseError`."""
    ids = q.item_ids()
    # Only the final line ending of a file or stdin goes: in the one-per-line form a blank
    # first or last line is a missing answer.
    text = text.removesuffix("\n").removesuffix("\r")
    problems: list[Problem] = []
    raw: dict[str, str] = {}
    if _PAIR.match(text.strip()):
        pieces = _PAIR.split(text.strip())
        # pieces: ['', id1, value1, id2, value2, ...]
        if pieces[0].strip():
            problems.append(
                Problem(
                    "bad-answers",
                    f'cannot read "{pieces[0].strip()}" before the first item=value pair',
                )
            )
        for item_id, value in zip(pieces[1::2], pieces[2::2], strict=True):
            value = value.strip().rstrip(",;").strip()
            if item_id not in ids:
                problems.append(Problem("unknown-item", q.describe_unknown_item(item_id)))
            elif item_id in raw:
                problems.append(Problem("duplicate-item", f'item "{item_id}" is answered twice'))
            else:
                raw[item_id] = value
    else:
        if "," in text or ";" in text:
            tokens = re.split(r"[,;]", text.strip())
        elif "\n" in text:
            tokens = [line.removesuffix("\r") for line in text.split("\n")]
        else:
            tokens = text.split()
        _check_count(q, len(tokens), TEXT_COUNT_HINT)
        raw = dict(zip(ids, tokens, strict=True))
    return _values(q, raw, problems)


TEXT_COUNT_HINT = (
    'leave a blank between commas for a missing answer ("5,4,,3") or use item=value pairs '
    '("1=5 2=4")'
)


def _check_count(q: Questionnaire, given: int, hint: str = "") -> None:
    ids = q.item_ids()
    if given != len(ids):
        message = f"{q.id} has {len(ids)} items ({id_list(ids)}) but {given} answers were given"
        raise ResponseError(Problem("answer-count", f"{message}; {hint}" if hint else message))


def answers_from_mapping(
    q: Questionnaire, answers: Mapping[str, object] | Sequence[object]
) -> tuple[dict[str, float], list[Problem]]:
    """Answers given in code: a mapping item → value or a sequence in item order; values may
    be numbers, labels, ``None`` (missing) or 'does not apply' words."""
    ids = q.item_ids()
    problems: list[Problem] = []
    if isinstance(answers, Mapping):
        raw = {}
        for key, value in answers.items():
            if str(key) not in ids:
                problems.append(Problem("unknown-item", q.describe_unknown_item(str(key))))
            raw[str(key)] = value
    else:
        _check_count(q, len(answers))
        raw = dict(zip(ids, answers, strict=True))
    text = {
        k: "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
        for k, v in raw.items()
        if k in ids
    }
    return _values(q, text, problems)


def _values(
    q: Questionnaire, raw: Mapping[str, str], problems: list[Problem]
) -> tuple[dict[str, float], list[Problem]]:
    values: dict[str, float] = {}
    for item_id in q.item_ids():
        got = read_value(q, item_id, raw.get(item_id, ""))
        if isinstance(got, Problem):
            problems.append(got)
        else:
            values[item_id] = got
    return values, problems
