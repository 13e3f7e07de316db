"""A REDCap data dictionary (and instrument ZIP) from alliance definitions.

The dictionary is REDCap's CSV metadata format: 18 columns, A–R, in the order of
:data:`COLUMNS` (REDCap "Data Dictionary" help page and the demonstration file every project
offers under Project Setup → Data Dictionary; column reference e.g.
https://bdeveer.github.io/REDCap_KB_RAG/RC-FD-08_Data-Dictionary-Column-Reference-and-Advanced-Techniques/).
Choices are written ``code, label | code, label`` (column F), a calc field's equation goes in
the same column, and the first field of the first form is the record identifier.

One ``radio`` field per item whose answers are whole numbers (codes = alliance's answer
values, so an export scores unchanged), a ``text`` field validated as ``number`` with min/max
for a finer grid (visual-analogue items, 0–10 in steps of 0.1); a ``calc`` field per scale.
Field names are ``<form>_<item>`` (``wai_sr_01``), the pattern ``alliance batch`` recognises
without a map (:mod:`alliance_cli.research.columnmap`).

Calc equations use only REDCap's ``if(condition, then, else)``, ``+ - * /``, comparisons,
``and`` and ``""`` for blank (REDCap's Help & FAQ on calculated fields, as summarised in
e.g. UF CTSI's "Calculated Fields – REDCap How-To Guide": a blank is referenced as ``""`` or
``NaN``; a radio field's value in a calculation is its code). No ``sum()``/``mean()``: the
equation spells out which items count as answered, rather than rely on how those functions
treat a blank. Scoring as alliance
does (:mod:`alliance_cli.scoring`): reverse ``min + max − x`` per scale, "does not apply"
codes counted as unanswered, a prorated score from the mean of the answered keyed items
(a sum: that mean × the number of items) when at least the required number are answered,
else blank. What a calc field cannot do (bands, norms, the step grid of a typed number) is
said in its Field Note.

An instrument ZIP (Online Designer → "Upload instrument ZIP", the REDCap Shared Library
format) is a ZIP archive holding ``instrument.csv`` at its root: the dictionary rows of one
instrument, without the project's ``record_id`` row — the layout REDCapCAST's
``export_redcap_instrument`` (R, agdamsbo/REDCapCAST) writes for the same upload.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from alliance_cli.errors import UsageError
from alliance_cli.io.atomic import Output, atomic_write
from alliance_cli.io.csvout import Cell, write_csv
from alliance_cli.model import Questionnaire, ResponseScale
from alliance_cli.modelbase import OnMissing
from alliance_cli.options import Method
from alliance_cli.text import fmt_num

COLUMNS = (
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
)
"""REDCap's 18 data-dictionary columns (A–R), in order."""

RECORD_ID = "record_id"
ANNOTATION = "alliance:"
"""Field Annotation prefix of the facts ``alliance redcap import`` reads back."""

Row = list[Cell]


def form_name(questionnaire_id: str) -> str:
    """REDCap's form name for a definition: lower case letters, digits and ``_``, starting
    with a letter (``wai-sr`` → ``wai_sr``)."""
    name = re.sub(r"[^a-z0-9]+", "_", questionnaire_id.lower()).strip("_")
    return name if name[:1].isalpha() else f"q_{name}"


def field_name(form: str, item_id: str, width: int) -> str:
    """``<form>_<item>``: numeric ids zero-padded to ``width`` digits (``wai_sr_01``)."""
    if item_id.isdigit():
        return f"{form}_{int(item_id):0{width}d}"
    return f"{form}_{re.sub(r'[^a-z0-9]+', '_', item_id.lower()).strip('_')}"


def item_fields(q: Questionnaire) -> dict[str, str]:
    """Field name per item id."""
    form = form_name(q.id)
    width = max(2, *(len(str(int(i))) for i in q.item_ids() if i.isdigit()), 0)
    names = {item: field_name(form, item, width) for item in q.item_ids()}
    if len(set(names.values())) < len(names):
        raise UsageError(f"{q.id}: two items would get the same REDCap field name")
    return names


def _whole(scale: ResponseScale) -> bool:
    points = [
        scale.min,
        scale.max,
        scale.step,
        *(scale.not_applicable.values if scale.not_applicable else ()),
    ]
    return all(float(p).is_integer() for p in points)


def _label(text: str) -> str:
    # `|` separates choices in column F; a label must not contain one.
    return " ".join(text.replace("|", "/").split())


def choices(scale: ResponseScale) -> str:
    """``1, Never | 2, Rarely | … | 6, Does not apply``: every allowed answer (a point
    without a label is labelled with its number), then the "does not apply" codes."""
    parts = [
        f"{fmt_num(value)}, {_label(scale.labels.get(value, fmt_num(value)))}"
        for value in scale.points()
    ]
    if scale.not_applicable is not None:
        parts += [
            f"{fmt_num(code)}, {_label(scale.not_applicable.label)}"
            for code in scale.not_applicable.values
        ]
    return " | ".join(parts)


def _item_row(q: Questionnaire, item_id: str, name: str, header: str) -> Row:
    scale = q.scale_of(item_id)
    row: Row = [None] * len(COLUMNS)
    row[0], row[1], row[2] = name, form_name(q.id), header or None
    row[4] = _label(q.item(item_id).text)
    row[17] = f"{ANNOTATION} {q.id} item {item_id}"
    if _whole(scale):
        if scale.min < 0:
            # The CSV writer would put a ' before "-3, …" (formula injection), and REDCap
            # would read "'-3" as the first code.
            raise UsageError(
                f"{q.id} item {item_id}: answers below 0 ({scale.describe()}) cannot be written "
                "as REDCap choices in a formula-safe CSV; recode them to start at 0 or above"
            )
        row[3] = "radio"
        row[5] = choices(scale)
        return row
    row[3] = "text"
    row[7] = "number"
    row[8], row[9] = fmt_num(scale.min), fmt_num(scale.max)
    ends = "; ".join(f"{fmt_num(v)} = {_label(t)}" for v, t in scale.labels.items())
    row[6] = f"{scale.describe()}" + (f" ({ends})" if ends else "")
    return row


def _term(field: str, scale: ResponseScale, reverse: bool) -> tuple[str, str]:
    """(answered-test, keyed value) of one item in a calc equation."""
    answered = f'[{field}]<>""'
    if scale.not_applicable is not None:
        answered += "".join(f" and [{field}]<>{fmt_num(c)}" for c in scale.not_applicable.values)
    lo_hi = fmt_num(scale.min + scale.max)
    value = f"({lo_hi}-[{field}])" if reverse else f"[{field}]"
    return answered, value


def calc_equation(q: Questionnaire, scale_id: str, fields: dict[str, str]) -> str:
    """REDCap calc equation computing the scale as :func:`alliance_cli.scoring.score_matrix`
    does: blank when fewer than the required items are answered."""
    scale = q.scales[scale_id]
    terms = [_term(fields[i], q.scale_of(i), i in scale.reverse) for i in scale.items]
    total = "(" + "+".join(f"if({a},{v},0)" for a, v in terms) + ")"
    count = "(" + "+".join(f"if({a},1,0)" for a, _ in terms) + ")"
    n = len(scale.items)
    need = scale.missing.required(n)
    mean = f"{total}/{count}"
    if need >= n:  # every item required: the plain sum or mean
        score = total if scale.method is Method.sum else f"{total}/{n}"
        return f'if({count}={n},{score},"")'
    score = f"{mean}*{n}" if scale.method is Method.sum else mean
    return f'if({count}>={need},{score},"")'


def _calc_row(q: Questionnaire, scale_id: str, fields: dict[str, str]) -> Row:
    scale = q.scales[scale_id]
    n = len(scale.items)
    row: Row = [None] * len(COLUMNS)
    row[0] = f"{form_name(q.id)}_{re.sub(r'[^a-z0-9]+', '_', scale_id.lower())}_score"
    row[1], row[3] = form_name(q.id), "calc"
    row[4] = f"{_label(scale.name)} ({scale.method.value} of {n} item{'s' if n != 1 else ''})"
    row[5] = calc_equation(q, scale_id, fields)
    cannot = ["bands, cutoffs and norms are not computed here (alliance batch gives them)"]
    if any(not _whole(q.scale_of(i)) for i in scale.items):
        cannot.append("typed numbers are checked against min and max, not the step grid")
    row[6] = f"{scale.missing.describe(n)}; higher is {scale.higher_is.value}; " + "; ".join(cannot)
    row[7] = None
    facts = [
        f"scale={scale_id}",
        f"method={scale.method.value}",
        f"higher_is={scale.higher_is.value}",
        f"items={','.join(scale.items)}",
    ]
    if scale.reverse:
        facts.append(f"reverse={','.join(scale.reverse)}")
    if scale.missing.on_missing is OnMissing.prorate:
        facts.append(f"min_answered={scale.missing.required(n)}")
    row[17] = f"{ANNOTATION} " + " ".join(facts)
    return row


def instrument_rows(q: Questionnaire) -> list[Row]:
    """The dictionary rows of one definition: a field per item, a calc field per scale."""
    fields = item_fields(q)
    rows = [
        _item_row(q, item, name, q.title if k == 0 else "")
        for k, (item, name) in enumerate(fields.items())
    ]
    rows += [_calc_row(q, scale_id, fields) for scale_id in q.scales]
    return rows


def dictionary_rows(questionnaires: Sequence[Questionnaire]) -> list[Row]:
    """A project's data dictionary: the record identifier, then each definition's form."""
    if not questionnaires:
        raise UsageError("give at least one questionnaire")
    forms = [form_name(q.id) for q in questionnaires]
    if len(set(forms)) < len(forms):
        raise UsageError("two questionnaires would get the same REDCap form name")
    first: Row = [None] * len(COLUMNS)
    first[0], first[1], first[3], first[4] = RECORD_ID, forms[0], "text", "Record ID"
    return [first, *(row for q in questionnaires for row in instrument_rows(q))]


def write_dictionary(target: Path | IO[bytes], questionnaires: Sequence[Questionnaire]) -> None:
    """Write the data dictionary CSV (through the one CSV writer, atomically, 0600)."""
    rows = dictionary_rows(questionnaires)
    atomic_write(target, lambda stream: write_csv(stream, COLUMNS, rows))


def instrument_zip_bytes(q: Questionnaire) -> bytes:
    """An instrument ZIP for the Online Designer: ``instrument.csv`` with the form's rows."""
    text = io.StringIO(newline="")
    write_csv(text, COLUMNS, instrument_rows(q))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        # A fixed date: the same definition gives the same bytes.
        info = zipfile.ZipInfo("instrument.csv", date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, text.getvalue().encode("utf-8"))
    return buffer.getvalue()


def write_instrument_zip(target: Path | IO[bytes], q: Questionnaire) -> None:
    """Write :func:`instrument_zip_bytes` atomically (0600)."""
    with Output(target) as output:
        output.stream.write(instrument_zip_bytes(q))
