"""A Qualtrics survey file (QSF) → the ``--map`` file that scores the survey's CSV export.

A QSF is JSON with two members, ``SurveyEntry`` (metadata) and ``SurveyElements`` (a list);
each question is an element ``{"Element": "SQ", "Payload": {...}}`` whose payload holds
``QuestionID``, ``DataExportTag``, ``QuestionType`` (``MC``, ``Matrix``, …), ``Selector``,
``Choices`` (``{id: {"Display": text}}``) with ``ChoiceOrder``, and for a matrix its scale
points as ``Answers``/``AnswerOrder`` and its statements' own tags as
``ChoiceDataExportTags``; ``RecodeValues`` maps a scale point's id to the number the numeric
export writes. Blocks (``Element: "BL"``) list the questions in survey order; the ``Trash``
block holds deleted ones. Sources: C. Testa, "Quickstart guide to understanding the Qualtrics
Survey File" (gist ctesta01/d4255959dace01431fb90618d1e8c241, 2017) and "An introduction to
Recode Values in Qualtrics" (gist ctesta01/9763dc35eee5301feb30c4fbfce6d2a0): recode values
are numbers and are what a single-answer question (multiple choice or matrix) exports;
matrix statements' export tags name the columns.

Columns: a single-answer multiple-choice question is one column named by its export tag; a
single-answer matrix gives a column per statement (in ``ChoiceOrder``), named by the
statement's export tag where one is set, else ``<tag>_<choice id>`` (Qualtrics' default
``Q5_1``). Multi-answer questions, text entry and sliders hold no items and are skipped.

Values: the export holds the recode values, never the choice ids, so every scale point needs
a recode value, and its label names the definition's answer: the map recodes each recode
value to the value of the definition's label that the point shows (HTML dropped, case and
spacing ignored; "does not apply" words to the item's not-applicable code). A survey whose
"Always" was recoded to 1 thus scores "Always" as the definition's Always. Refused, with the
question named: a point without a recode value, a recode that is not a number, a label the
definition does not have, one recode value given to two different answers.

Items: by the batch's own column-name patterns (``wai_sr_01``, ``WAI1``, a group ``Q5_1`` …
``Q5_k``; :mod:`alliance_cli.research.columnmap`), or, with ``questions``, the columns of the
named questions in that order are the definition's items in its order.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alliance_cli.errors import InputFileError, Problem, UsageError
from alliance_cli.model import Questionnaire, ResponseScale
from alliance_cli.responses import NA_WORDS
from alliance_cli.text import fmt_num, normalize_label

ORDER_HINT = (
    "name the questions holding the items, in item order: --question TAG (repeat it; a "
    "matrix gives its statements in their order)"
)
RECODE_HINT = (
    "in Qualtrics give every scale point a number (the question's Recode Values) and one of "
    "the definition's labels, then export the survey file again"
)
_TAG = re.compile(r"<[^>]*>")
_MULTI = {"MAVR", "MAHR", "MACOL", "MSB"}
# Soft hyphens (``&shy;``) and zero-width characters: invisible, dropped before matching.
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"))
MAX_BYTES = 50_000_000
"""The largest survey file read (a large survey's QSF is a few megabytes)."""


@dataclass(frozen=True)
class Point:
    """One scale point of a question: its id, what it shows, and its recode value."""

    id: str
    label: str
    recode: str | None


@dataclass(frozen=True)
class Question:
    tag: str
    qid: str
    kind: str
    """``MC``, ``Matrix``, or another QuestionType (which holds no items)."""
    columns: tuple[str, ...]
    points: tuple[Point, ...]


@dataclass(frozen=True)
class MappedColumn:
    column: str
    item: str
    question: str
    recode: dict[str, float]


@dataclass(frozen=True)
class QualtricsMap:
    """What ``alliance qualtrics import`` found: a column and its recodes per item."""

    questionnaire: str
    source: str
    how: str
    """``export tags`` (name patterns) or ``question order`` (``questions`` given)."""
    columns: tuple[MappedColumn, ...]

    def to_map(self) -> dict[str, Any]:
        """The map file's content (:class:`alliance_cli.research.mapfile.MapFile`); recodes
        shared by every column are written once, for the questionnaire."""
        recodes = [c.recode for c in self.columns]
        shared = recodes[0] if all(r == recodes[0] for r in recodes) else None
        columns: dict[str, Any] = {}
        for c in self.columns:
            columns[c.column] = (
                {"item": c.item}
                if shared is not None
                else {"item": c.item, "recode": _num(c.recode)}
            )
        spec: dict[str, Any] = {"columns": columns}
        if shared is not None:
            spec["recode"] = _num(shared)
        return {"questionnaires": {self.questionnaire: spec}}

    def to_yaml(self) -> str:
        import yaml

        head = (
            f"# Written by `alliance qualtrics import` from {Path(self.source).name}: the columns "
            f"of its export\n# and their recode values, mapped to {self.questionnaire}'s items "
            f"by {self.how}.\n# Use: alliance batch EXPORT.csv -q {self.questionnaire} "
            "--map THIS.yaml\n"
        )
        return head + yaml.safe_dump(self.to_map(), sort_keys=False, allow_unicode=True)


def _num(recode: Mapping[str, float]) -> dict[str, int | float]:
    return {k: int(v) if float(v).is_integer() else v for k, v in recode.items()}


# -- reading the survey file --------------------------------------------------------------


def read_qsf(path: Path | str) -> list[Question]:
    """The survey's questions in survey order (blocks' order; deleted questions left out)."""
    from alliance_cli.io.limited import read_limited

    source = str(path)
    try:
        data = read_limited(Path(path), MAX_BYTES, "a survey file", source, regular_only=True)
        doc = json.loads(data.decode("utf-8-sig"))
    except OSError as exc:
        raise InputFileError(
            Problem("unreadable", f"cannot read it: {exc.strerror}", source)
        ) from exc
    except RecursionError as exc:
        raise InputFileError(
            Problem("not-a-qsf", "not a Qualtrics survey file (JSON nested too deeply)", source)
        ) from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputFileError(
            Problem("not-a-qsf", f"not a Qualtrics survey file (not JSON: {exc})", source)
        ) from exc
    elements = doc.get("SurveyElements") if isinstance(doc, dict) else None
    if not isinstance(elements, list):
        raise InputFileError(
            Problem("not-a-qsf", "not a Qualtrics survey file (no SurveyElements list)", source)
        )
    payloads = {
        str(p.get("QuestionID") or e.get("PrimaryAttribute")): p
        for e in elements
        if isinstance(e, dict) and e.get("Element") == "SQ"
        for p in [e.get("Payload")]
        if isinstance(p, dict)
    }
    return [_question(qid, payloads[qid]) for qid in _survey_order(elements, payloads)]


def _survey_order(elements: list[Any], payloads: Mapping[str, Any]) -> list[str]:
    blocks = [
        b
        for e in elements
        if isinstance(e, dict) and e.get("Element") == "BL"
        for b in _listed(e.get("Payload"))
        if isinstance(b, dict)
    ]
    if not blocks:
        return list(payloads)
    order: list[str] = []
    for block in blocks:
        if block.get("Type") == "Trash":
            continue
        for item in _listed(block.get("BlockElements")):
            if not isinstance(item, dict):
                continue  # not a block element: skipped
            qid = str(item.get("QuestionID", ""))
            if item.get("Type") == "Question" and qid in payloads and qid not in order:
                order.append(qid)
    return order


def _listed(value: Any) -> list[Any]:
    # Qualtrics writes some lists as objects keyed "0", "1", …
    if isinstance(value, dict):
        return list(value.values())
    return value if isinstance(value, list) else []


def _text(entry: Any) -> str:
    display = entry.get("Display", "") if isinstance(entry, dict) else ""
    text = html.unescape(_TAG.sub(" ", str(display))).translate(_INVISIBLE)
    return " ".join(text.split())


def _ordered(options: Any, order: Any) -> list[str]:
    ids = [str(k) for k in options] if isinstance(options, dict) else []
    listed = [str(i) for i in _listed(order) if str(i) in ids]
    return listed + [i for i in ids if i not in listed]


def _question(qid: str, p: Mapping[str, Any]) -> Question:
    tag = str(p.get("DataExportTag") or qid)
    kind = str(p.get("QuestionType", ""))
    selector = str(p.get("Selector", ""))
    given = p.get("RecodeValues")
    recodes: Mapping[str, Any] = given if isinstance(given, dict) else {}

    def points(options: Any, order: Any) -> tuple[Point, ...]:
        return tuple(
            Point(i, _text(options[i]), None if recodes.get(i) is None else str(recodes[i]))
            for i in _ordered(options, order)
        )

    choices = p.get("Choices")
    if kind == "MC" and selector not in _MULTI:
        return Question(tag, qid, kind, (tag,), points(choices, p.get("ChoiceOrder")))
    if kind == "Matrix" and selector == "Likert" and p.get("SubSelector") != "MultipleAnswer":
        own = p.get("ChoiceDataExportTags")
        own = own if isinstance(own, dict) else {}
        columns = tuple(
            str(own[c]) if own.get(c) else f"{tag}_{c}"
            for c in _ordered(choices, p.get("ChoiceOrder"))
        )
        return Question(tag, qid, kind, columns, points(p.get("Answers"), p.get("AnswerOrder")))
    return Question(tag, qid, kind or "unknown", (), ())


# -- the map ------------------------------------------------------------------------------


def qsf_map(path: Path | str, q: Questionnaire, *, questions: Sequence[str] = ()) -> QualtricsMap:
    """The map that scores the export of the survey at ``path`` as questionnaire ``q``.

    Raises :class:`InputFileError` for a file that is not a survey file, and
    :class:`UsageError` listing every question that cannot be scored as it stands."""
    source = str(path)
    survey = read_qsf(path)
    if questions:
        items, how = _by_order(survey, q, questions, source), "question order"
    else:
        items, how = _by_pattern(survey, q, source), "export tags"
    owner = {col: s for s in survey for col in s.columns}
    problems: list[Problem] = []
    mapped = []
    # A question's points are read once per response scale (a matrix's statements share
    # them), so each problem is reported once.
    recoded: dict[tuple[str, int], dict[str, float] | None] = {}
    for item, column in items:
        question, rs = owner[column], q.scale_of(item)
        key = (question.tag, id(rs))
        if key not in recoded:
            recoded[key] = _recodes(question, rs, source, problems)
        recode = recoded[key]
        if recode is not None:
            mapped.append(MappedColumn(column, item, question.tag, recode))
    if problems:
        raise UsageError(problems, hint=RECODE_HINT)
    return QualtricsMap(q.id, source, how, tuple(mapped))


def _where(question: Question) -> str:
    return f'question "{question.tag}" ({question.qid})'


def _by_order(
    survey: Sequence[Question], q: Questionnaire, tags: Sequence[str], source: str
) -> list[tuple[str, str]]:
    import difflib

    by_tag = {s.tag: s for s in survey}
    problems: list[Problem] = []
    columns: list[str] = []
    for tag in tags:
        found = by_tag.get(tag)
        if found is None:
            close = difflib.get_close_matches(tag, list(by_tag), n=3)
            also = f"; did you mean {', '.join(close)}?" if close else ""
            problems.append(
                Problem("unknown-question", f'no question has the export tag "{tag}"{also}', source)
            )
        elif not found.columns:
            problems.append(
                Problem(
                    "not-an-item-question",
                    f"a {found.kind} question holds no items (only single-answer multiple "
                    "choice and matrix questions do)",
                    source,
                    _where(found),
                )
            )
        else:
            columns.extend(found.columns)
    if not problems and len(columns) != len(q.items):
        problems.append(
            Problem(
                "item-count",
                f"the questions {', '.join(tags)} have {len(columns)} columns; {q.id} has "
                f"{len(q.items)} items",
                source,
            )
        )
    if problems:
        raise UsageError(problems, hint=ORDER_HINT)
    return [(item.id, col) for item, col in zip(q.items, columns, strict=True)]


def _by_pattern(survey: Sequence[Question], q: Questionnaire, source: str) -> list[tuple[str, str]]:
    from alliance_cli.research.columnmap import map_columns

    columns = [col for s in survey for col in s.columns]
    try:
        found = map_columns(columns, [q], file=source)
    except UsageError as exc:
        raise UsageError(exc.problems, hint=ORDER_HINT) from None
    return [(c.item, c.column) for c in found.questionnaires[0].items]


def _recodes(
    question: Question, rs: ResponseScale, source: str, problems: list[Problem]
) -> dict[str, float] | None:
    """Recode value → the definition's answer, by each point's label; None (with problems)
    where a point cannot be read."""
    from alliance_cli.research.mapfile import number

    values = {normalize_label(label): value for value, label in rs.labels.items()}
    na = rs.not_applicable
    if na is not None:
        values |= {w: na.values[0] for w in (*NA_WORDS, normalize_label(na.label))}
    where = _where(question)
    known = ", ".join(f'"{label}"' for label in rs.labels.values())
    out: dict[str, float] = {}
    labels: dict[str, str] = {}
    before = len(problems)
    for point in question.points:
        said = f'scale point "{point.label}" (id {point.id})'
        value = values.get(normalize_label(point.label))
        code = None if point.recode is None else number(point.recode)
        if point.recode is None:
            problems.append(Problem("no-recode", f"{said} has no recode value", source, where))
        elif code is None:
            problems.append(
                Problem(
                    "recode-not-a-number",
                    f'{said} has the recode value "{point.recode}", not a number',
                    source,
                    where,
                )
            )
        if value is None:
            problems.append(
                Problem(
                    "unknown-label",
                    f"{said} is no label of the definition's scale ({known})",
                    source,
                    where,
                )
            )
        if code is None or value is None:
            continue
        key = fmt_num(code)
        if key in out and out[key] != value:
            problems.append(
                Problem(
                    "recode-contradicts-labels",
                    f'recode value {key} is given to both "{labels[key]}" and "{point.label}", '
                    "which the definition scores differently",
                    source,
                    where,
                )
            )
        out[key], labels[key] = value, point.label
    return out if len(problems) == before else None
