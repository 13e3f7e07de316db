"""A definition skeleton and a batch ``--map`` file from one form of a REDCap data
dictionary (the CSV format of :mod:`alliance_cli.interop.redcap`).

Items are the form's ``radio``/``dropdown`` fields (answers from the Choices column, codes as
values; a choice labelled "does not apply", "not applicable" or "N/A" becomes a
does-not-apply code), ``text`` fields validated as ``integer`` or ``number`` with a min and
max, and ``slider`` fields (0–100 unless min/max are given). Scales come from the calc
fields' ``alliance:`` annotations that ``alliance redcap dictionary`` writes; without them,
one summed ``total`` of every item. Either way the key is ``unverified`` until its user
checks it against the instrument's manual (the definition format's rule for keys no one
has checked).

The map file names each field's column (as a REDCap export names it: the field name), the
record identifier as the id column, and recodes every choice label to its code, so a
"labels" export scores like a "raw" one.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from alliance_cli.definitions import _read, validate_text
from alliance_cli.errors import DefinitionError, InputFileError, Problem, UsageError
from alliance_cli.interop.redcap import ANNOTATION, COLUMNS
from alliance_cli.model import Questionnaire
from alliance_cli.text import fmt_num

_NOT_APPLICABLE = re.compile(r"does not apply|not applicable|^n/?a$", re.IGNORECASE)
# Choices that say the answer is missing: missing-data codes in the map, never answers.
_MISSING = re.compile(
    r"\bmissing\b|\bdon[’']?t know\b|\bdo not know\b|\brefused\b|\bprefer(?:s|red)? not\b"
    r"|\bnot answered\b|\bno answer\b|\bdeclined?\b",
    re.IGNORECASE,
)
MAX_GRID = 101
"""The most points an item's answers may span on their step (a 0–100 slider's 101)."""
_STEPS = re.compile(r"in steps of ([0-9]*\.?[0-9]+)")
_TAG = re.compile(r"<[^>]*>")
_ITEM_TAG = re.compile(re.escape(ANNOTATION) + r" (\S+) item (\S+)")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
(NAME, FORM, SECTION, TYPE, LABEL, CHOICES, NOTE, VALIDATION, VMIN, VMAX) = range(10)
ANNOTATION_COL = 17


@dataclass
class Imported:
    """What an import gives: the definition (validated), its YAML, the map's YAML, notes."""

    questionnaire: Questionnaire
    definition_yaml: str
    map_yaml: str
    notes: list[str] = field(default_factory=list)


def read_dictionary(path: Path) -> list[list[str]]:
    """The rows of a data dictionary (header checked, checked to have 18 columns)."""
    text = _read(path).lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows:
        raise InputFileError(Problem("empty-dictionary", "the file is empty", str(path)))
    header = [" ".join(h.split()).casefold() for h in rows[0]]
    expected = [c.casefold() for c in COLUMNS]
    if header[: len(COLUMNS)] != expected:
        raise InputFileError(
            Problem(
                "not-a-dictionary",
                "the header is not REDCap's data dictionary header (18 columns starting "
                '"Variable / Field Name", "Form Name", …)',
                f"{path}:1",
            )
        )
    return [(row + [""] * len(COLUMNS))[: len(COLUMNS)] for row in rows[1:]]


def _number(text: str) -> float | None:
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _yaml_number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _scale_from_choices(
    text: str, where: str, problems: list[Problem]
) -> tuple[dict[str, Any], dict[str, float], list[str]] | None:
    """(response scale, label → code, missing-data codes and labels) from ``1, Seldom |
    2, Sometimes | …``. Choices labelled as missing ("missing", "don't know", "refused",
    "prefer not to say", "not answered") are missing codes, not answers. The answers must
    span at most :data:`MAX_GRID` points of their step, and leave no more gaps than they
    have codes: a code far from the others (a missing code labelled otherwise) is refused,
    never expanded point by point."""
    answers: dict[float, str] = {}
    na: dict[float, str] = {}
    missing: dict[float, str] = {}
    for part in (p for p in text.split("|") if p.strip()):
        code_text, _, label = part.partition(",")
        code = _number(code_text)
        if code is None:
            problems.append(
                Problem("choice-code", f'choice "{part.strip()}" has no numeric code', where)
            )
            continue
        label = " ".join(label.split()) or fmt_num(code)
        if _MISSING.search(label):
            missing[code] = label
        else:
            (na if _NOT_APPLICABLE.search(label) else answers)[code] = label
    if len(answers) < 2:
        problems.append(Problem("choices", "an item needs at least two numeric choices", where))
        return None
    codes = sorted(answers)
    diffs = [b - a for a, b in itertools.pairwise(codes)]
    if all(float(c).is_integer() for c in codes):
        step = float(math.gcd(*(int(d) for d in diffs)))
    else:
        step = min(diffs)
        if not all(abs(d / step - round(d / step)) < 1e-6 for d in diffs):
            problems.append(Problem("choices", "the choice codes are on no common step", where))
            return None
    lo, hi = codes[0], codes[-1]
    points = (hi - lo) / step + 1  # counted before any grid is built
    if points > MAX_GRID or points - len(codes) > len(codes):
        problems.append(
            Problem(
                "choice-gap",
                f"the choice codes {', '.join(fmt_num(c) for c in codes)} leave a gap: on "
                f"their step of {fmt_num(step)} they span {points:,.0f} points; an item's "
                f"answers may span at most {MAX_GRID} points, with no more unused points "
                "than answers (label a missing-data code as missing, refused, don't know …)",
                where,
            )
        )
        return None
    grid = [lo + k * step for k in range(round((hi - lo) / step) + 1)]
    exclude = [g for g in grid if all(abs(g - c) > 1e-9 for c in codes)]
    scale: dict[str, Any] = {"min": _yaml_number(lo), "max": _yaml_number(hi)}
    scale["step"] = _yaml_number(step)
    if exclude:
        scale["exclude"] = [_yaml_number(x) for x in exclude]
    scale["labels"] = {_yaml_number(c): answers[c] for c in codes}
    inside = [c for c in na if lo <= c <= hi]
    if inside:
        problems.append(
            Problem(
                "not-applicable-code",
                f"the does-not-apply code {fmt_num(inside[0])} lies inside the answers "
                f"{fmt_num(lo)}–{fmt_num(hi)}; give it a code outside them",
                where,
            )
        )
    elif na:
        scale["not_applicable"] = {
            "values": [_yaml_number(c) for c in sorted(na)],
            "label": next(iter(na.values())),
        }
    recodes = {label: c for c, label in {**answers, **na}.items() if _number(label) is None}
    codes_missing = [fmt_num(c) for c in sorted(missing)]
    return scale, recodes, codes_missing + [m for m in missing.values() if _number(m) is None]


def _scale_from_number(
    row: list[str], where: str, problems: list[Problem]
) -> dict[str, Any] | None:
    kind = row[TYPE].strip().lower()
    validation = row[VALIDATION].strip().lower()
    lo, hi = _number(row[VMIN]), _number(row[VMAX])
    if kind == "slider":
        lo = 0.0 if lo is None else lo
        hi = 100.0 if hi is None else hi
        step = 1.0
    elif lo is None or hi is None:
        problems.append(
            Problem(
                "number-range",
                "a number item needs Text Validation Min and Max (its response scale)",
                where,
            )
        )
        return None
    elif validation == "integer":
        step = 1.0
    elif (dp := re.fullmatch(r"number_(\d)dp(?:_comma_decimal)?", validation)) is not None:
        step = 10.0 ** -int(dp.group(1))
    else:  # "number": the step our own dictionary states in the Field Note, else 0.01
        found = _STEPS.search(row[NOTE])
        step = float(found.group(1)) if found else 0.01
    scale: dict[str, Any] = {"min": _yaml_number(lo), "max": _yaml_number(hi)}
    scale["step"] = _yaml_number(step)
    # End labels as our own dictionary writes them in the Field Note: "(0 = low; 10 = high)".
    labels = {}
    if (ends := re.search(r"\(([^()]*)\)\s*$", row[NOTE])) is not None:
        for part in ends.group(1).split(";"):
            value, sep, label = part.partition("=")
            if sep and (code := _number(value)) is not None and lo <= code <= hi and label.strip():
                labels[_yaml_number(code)] = label.strip()
    if labels:
        scale["labels"] = labels
    return scale


def _item_id(name: str, form: str) -> str:
    rest = (
        name[len(form) + 1 :] if name.startswith(form + "_") and len(name) > len(form) + 1 else name
    )
    return str(int(rest)) if rest.isdigit() else rest


def _scale_facts(annotation: str) -> dict[str, str] | None:
    if ANNOTATION not in annotation or "scale=" not in annotation:
        return None
    text = annotation.split(ANNOTATION, 1)[1]
    return dict(part.split("=", 1) for part in text.split() if "=" in part)


EVENT = "redcap_event_name"
REPEAT_INSTANCE = "redcap_repeat_instance"


def import_form(
    path: Path, form: str, *, longitudinal: bool = False, repeating: bool = False
) -> Imported:
    """The definition skeleton and map of form ``form`` of the dictionary at ``path``.

    The map's id columns: the record identifier (the dictionary's first field), and in an
    export of a longitudinal project ``redcap_event_name``, of a repeating instrument
    ``redcap_repeat_instance`` (REDCap's export columns; a record has a row per event and
    instance there)."""
    rows = read_dictionary(path)
    forms = list(dict.fromkeys(r[FORM].strip() for r in rows if r[FORM].strip()))
    if form not in forms:
        raise UsageError(f'{path} has no form "{form}" (its forms: {", ".join(forms) or "none"})')
    record_id = rows[0][NAME].strip() if rows else "record_id"
    problems: list[Problem] = []
    notes: list[str] = []
    items: list[dict[str, Any]] = []
    scales_of: dict[str, str] = {}  # item id → its response scale as YAML (for the mode)
    scale_by_item: dict[str, dict[str, Any]] = {}
    columns: dict[str, Any] = {}
    recodes: dict[str, dict[str, float]] = {}
    missing_of: dict[str, list[str]] = {}
    facts: list[tuple[dict[str, str], str]] = []
    qids: list[str] = []
    title = ""
    for number, row in enumerate(rows, start=2):
        if row[FORM].strip() != form:
            continue
        name, kind = row[NAME].strip(), row[TYPE].strip().lower()
        where = f"{path}:{number}"
        title = title or _TAG.sub("", row[SECTION]).strip()
        if kind == "calc":
            found = _scale_facts(row[ANNOTATION_COL])
            if found is not None:
                label = re.sub(r"\s*\((?:sum|mean) of \d+ items?\)$", "", row[LABEL]).strip()
                found["name"] = _TAG.sub("", label).strip() or found["scale"]
                facts.append((found, where))
            continue
        if name == record_id:
            continue
        if kind in ("radio", "dropdown"):
            got = _scale_from_choices(row[CHOICES], where, problems)
            if got is None:
                continue
            scale, labels, missing = got
        elif kind == "slider" or (
            kind == "text" and re.match(r"integer|number", row[VALIDATION].strip().lower())
        ):
            number_scale = _scale_from_number(row, where, problems)
            if number_scale is None:
                continue
            scale, labels, missing = number_scale, {}, []
        else:
            notes.append(f'field "{name}" ({kind or "no type"}) is not an item: left out')
            continue
        # The ids `alliance redcap dictionary` wrote in the annotation, else from the name.
        tagged = _ITEM_TAG.search(row[ANNOTATION_COL])
        item_id = tagged.group(2) if tagged else _item_id(name, form)
        qids.append(tagged.group(1) if tagged else "")
        if not _ID.match(item_id) or item_id in scale_by_item:
            problems.append(Problem("item-id", f'field "{name}" gives no unique item id', where))
            continue
        text = " ".join(_TAG.sub("", row[LABEL]).split()) or name
        items.append({"id": item_id, "text": text})
        scale_by_item[item_id] = scale
        scales_of[item_id] = yaml.safe_dump(scale, sort_keys=True)
        columns[name] = item_id
        if labels:
            recodes[name] = labels
        if missing:
            missing_of[name] = missing
    if not items and not problems:
        problems.append(Problem("no-items", f'form "{form}" has no item fields', str(path)))
    if problems:
        raise UsageError(problems, hint="fix the dictionary, or leave such fields out of the form")
    common_text = Counter(scales_of.values()).most_common(1)[0][0]
    common = next(s for i, s in scale_by_item.items() if scales_of[i] == common_text)
    for item in items:
        if scales_of[item["id"]] != common_text:
            item["response_scale"] = scale_by_item[item["id"]]
    ids = [i["id"] for i in items]
    scales, sources = _scales(facts, ids, notes)
    qid = qids[0] if len(set(qids)) == 1 and _ID.match(qids[0]) else form.replace("_", "-")
    definition: dict[str, Any] = {
        "id": qid,
        "title": title or form,
        "version": "0.1.0",
        "respondent": "client",
        "construct": "unknown (imported from a REDCap data dictionary; state it)",
        "citations": [{"text": f"REDCap data dictionary {path.name}, form {form}"}],
        "licence": "Unknown: state who holds the rights to the wording before sharing this file.",
        "key_status": "unverified",
        "key_sources": sources,
        "notes": "Imported by alliance redcap import; the respondent (client) is a guess.",
        "response_scale": common,
        "items": items,
        "scales": scales,
    }
    definition_yaml = yaml.safe_dump(definition, sort_keys=False, allow_unicode=True, width=88)
    q, invalid = validate_text(definition_yaml, f"{form} (imported)", Questionnaire)
    if q is None:
        raise DefinitionError(
            invalid, hint="the dictionary's form does not make a valid definition"
        )
    ids = [record_id, *([EVENT] if longitudinal else []), *([REPEAT_INSTANCE] if repeating else [])]
    return Imported(q, definition_yaml, _map_yaml(qid, ids, columns, recodes, missing_of), notes)


def _scales(
    facts: list[tuple[dict[str, str], str]], ids: list[str], notes: list[str]
) -> tuple[dict[str, Any], list[str]]:
    scales: dict[str, Any] = {}
    for found, where in facts:
        members = [i for i in found.get("items", "").split(",") if i]
        if not members or any(i not in ids for i in members):
            notes.append(f"{where}: a calc field's scale names items the form lacks: left out")
            continue
        scale: dict[str, Any] = {
            "name": found["name"],
            "items": members,
            "method": found.get("method", "sum"),
            "higher_is": found.get("higher_is", "better"),
        }
        if found.get("reverse"):
            scale["reverse"] = found["reverse"].split(",")
        if "min_answered" in found:
            scale["missing"] = {
                "min_answered": int(found["min_answered"]),
                "on_missing": "prorate",
            }
        scales[found["scale"]] = scale
    if scales:
        return scales, [
            "Scales read from the alliance annotations of the dictionary's calc fields; "
            "unverified: check every scale's items, reverse keys and missing-data rule "
            "against the instrument's manual, then set key_status."
        ]
    notes.append("no alliance scale annotations: one summed total of every item, unverified")
    total = {"name": "Total", "items": ids, "method": "sum", "higher_is": "better"}
    return {"total": total}, [
        "Guessed: one summed total of every item, all items required (the dictionary "
        "states no scoring); replace it with the instrument's scales and reverse keys."
    ]


def _map_yaml(
    qid: str,
    ids: list[str],
    columns: dict[str, str],
    recodes: dict[str, dict[str, float]],
    missing: dict[str, list[str]],
) -> str:
    """The map; a column's missing codes are its own (a code missing in one item may be an
    answer of another)."""
    spec: dict[str, Any] = {}
    shared = list({tuple(sorted(r.items())) for r in recodes.values()})
    for name, item in columns.items():
        own: dict[str, Any] = {}
        if name in recodes and len(shared) > 1:
            own["recode"] = {k: _yaml_number(v) for k, v in recodes[name].items()}
        if name in missing:
            own["missing"] = missing[name]
        spec[name] = {"item": item, **own} if own else item
    body: dict[str, Any] = {"columns": spec}
    if len(shared) == 1:
        body["recode"] = {k: _yaml_number(v) for k, v in shared[0]}
    data = {"ids": ids, "questionnaires": {qid: body}}
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=88)
