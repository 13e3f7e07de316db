"""FHIR R4 QuestionnaireResponses as answers: a file holding one, a ``Bundle`` of them, or
NDJSON (one resource a line, as the FHIR Bulk Data export writes it) becomes the same table
of text cells a CSV file gives the batch (:class:`~alliance_cli.research.texttable.TextTable`),
so that ``--map``, ``--missing``, the one validity rule and the refusal of bad cells apply
unchanged.

The table has one row per QuestionnaireResponse, numbered by its place among the file's
responses (1 is the first; other resources are skipped), and the columns ``id`` (the
response's ``id``; in a Bundle, its entry's ``fullUrl`` when it has none) and ``subject``
(``subject.reference``, else ``subject.identifier.value``; may be blank), the ids unless
``--id`` or the map names others; ``authored`` and ``questionnaire_url`` (the response's
``questionnaire``, its canonical), carried into the output; and one column per answered item
named ``<questionnaire>.<linkId>`` (``wai-sr.3``), which the batch's automatic column names
recognise. Each row is its questionnaire's only: in a Bundle of responses to several
questionnaires (``-q srs -q ors``), an SRS response's ORS scores are blank with the reason,
not withheld as unanswered. Answers are read from ``valueCoding.code``, ``valueInteger`` and
``valueDecimal`` (R4 ``QuestionnaireResponse.item.answer.value[x]``,
https://hl7.org/fhir/R4/questionnaireresponse.html); any other value (a string, a coding of
another system, several answers to one item, an ``answer`` that is not a list) is kept as
visible text (a string as ``{"valueString": "5"}``), so that the batch reports it as a bad
cell with its row and column; an ``item`` that is not a list of items, and a response whose
status is ``entered-in-error``, are refused by name, never scored or silently dropped. Items
nested in groups are read too; the calculated scale items (linkId ``scale.<id>``) are
ignored: alliance scores the answers.

A response names its Questionnaire by canonical URL (``questionnaire``); one that names
another questionnaire than those being scored, or another version of it, is refused by name
(:mod:`alliance_cli.interop.fhir_common` has the URLs alliance gives its definitions)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alliance_cli.errors import InputFileError, Problem
from alliance_cli.interop.fhir_common import SCALE_PREFIX, URL_PREFIX, answer_system
from alliance_cli.model import Questionnaire
from alliance_cli.research.readers import ExportTable, TextTable

RESPONSE = "QuestionnaireResponse"
META_COLUMNS = ("id", "subject", "authored", "questionnaire_url")


def is_fhir_file(name: str) -> bool:
    """Whether a data file is read as FHIR: by its extension, ``.json`` or ``.ndjson``."""
    return Path(name).suffix.casefold() in (".json", ".ndjson")


# Bytes of a FHIR input (``score --fhir``, ``batch FILE.json``), read whole; more is refused.
MAX_FHIR_BYTES = 200_000_000


def read_resources(path: Path, label: str | None = None) -> list[dict[str, Any]]:
    """The QuestionnaireResponses of a file, in order (:func:`iter_resources`); a file
    without any is refused."""
    label = label or str(path)
    found = list(iter_resources(path, label))
    if not found:
        raise InputFileError(Problem("file-empty", f"no {RESPONSE} in the file", label))
    return found


def iter_resources(path: Path, label: str) -> Iterator[dict[str, Any]]:
    """The QuestionnaireResponses of a file, in order: one resource, a Bundle (its entries'
    resources) or NDJSON (a ``.ndjson`` file, or one whose first non-blank line is a JSON
    document alone), NDJSON parsed a line at a time so that only one resource is held as
    JSON. Malformed JSON is refused with its line (and column); only a regular file of at
    most :data:`MAX_FHIR_BYTES` is read (``-``: standard input, as much)."""
    import io
    import sys

    from alliance_cli.io.limited import read_limited

    try:
        source = sys.stdin.buffer if str(path) == "-" else path
        data = read_limited(source, MAX_FHIR_BYTES, "a FHIR file", label, regular_only=True)
    except FileNotFoundError:
        raise InputFileError(Problem("file-missing", "no such file", label)) from None
    except IsADirectoryError:
        raise InputFileError(Problem("file-unreadable", "is a folder", label)) from None
    except OSError as exc:
        raise InputFileError(Problem("file-unreadable", f"cannot read: {exc}", label)) from None
    data = data.removeprefix(b"\xef\xbb\xbf")
    lines = ((n, line) for n, line in enumerate(io.BytesIO(data), 1) if line.strip())
    first = next(lines, None)
    second = next(lines, None)
    if first is not None and (
        path.suffix.casefold() == ".ndjson" or (second is not None and _parses(first[1]))
    ):
        for n, line in (first, *([second] if second else [])):
            yield from _responses(_load(line, label, n), label)
        for n, line in lines:
            yield from _responses(_load(line, label, n), label)
    else:
        yield from _responses(_load(data, label, None), label)


def _parses(line: bytes) -> bool:
    try:
        json.loads(line)
    except (json.JSONDecodeError, RecursionError, UnicodeDecodeError):
        return False
    return True


def _load(text: bytes, label: str, line: int | None) -> Any:
    """One JSON document (the whole file, or NDJSON's ``line``), or the problem with its
    place: ``file:line`` for NDJSON, ``file:line:col`` for a whole document."""
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError as exc:
        where = f"{label}:{line}" if line else label
        raise InputFileError(Problem("file-unreadable", f"cannot read: {exc}", where)) from None
    try:
        return json.loads(decoded)
    except json.JSONDecodeError as exc:
        where = f"{label}:{line}" if line else f"{label}:{exc.lineno}:{exc.colno}"
        raise InputFileError(Problem("file-parse", f"not JSON: {exc.msg}", where)) from None
    except RecursionError:
        where = f"{label}:{line}" if line else label
        raise InputFileError(
            Problem("file-parse", "not read: JSON nested too deeply", where)
        ) from None


def _responses(doc: Any, label: str) -> Iterator[dict[str, Any]]:
    kind = doc.get("resourceType") if isinstance(doc, dict) else None
    if kind == RESPONSE:
        yield doc
    elif kind == "Bundle":
        for entry in doc.get("entry") or []:
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if isinstance(resource, dict) and resource.get("resourceType") == RESPONSE:
                full_url = entry.get("fullUrl")
                if not resource.get("id") and isinstance(full_url, str) and full_url:
                    resource = resource | {"id": full_url}  # the entry's name for it
                yield resource
    elif kind is None:
        raise InputFileError(
            Problem("file-parse", "not a FHIR resource (no resourceType)", label),
            hint=f"give a {RESPONSE}, a Bundle of them, or NDJSON with one a line",
        )


def _questionnaire_of(
    response: Mapping[str, Any], by_key: Mapping[str, Questionnaire], label: str, n: int
) -> Questionnaire | Problem:
    """The questionnaire a response is for (its canonical; when it has none and one
    questionnaire is scored, that one), or the problem saying why it is refused."""
    where = _where(response, n)
    named = response.get("questionnaire")
    scored = ", ".join(sorted({q.id for q in by_key.values()}))
    if not named:
        if len({q.id for q in by_key.values()}) == 1:
            return next(iter(by_key.values()))
        return Problem(
            "fhir-no-questionnaire",
            f"names no questionnaire; cannot tell which of {scored} it answers",
            label,
            where,
        )
    url, _, version = str(named).partition("|")
    q = by_key.get(url.removeprefix(URL_PREFIX)) if url.startswith(URL_PREFIX) else None
    if q is None:
        return Problem(
            "fhir-other-questionnaire",
            f'is for questionnaire "{named}", not {scored}',
            label,
            where,
        )
    if version and version != q.version:
        return Problem(
            "fhir-other-version",
            f'is for version "{version}" of {q.id}; this definition is version "{q.version}"',
            label,
            where,
        )
    return q


def _answer_text(answer: Mapping[str, Any], system: str) -> str:
    if "valueCoding" in answer:
        coding = answer["valueCoding"]
        if not isinstance(coding, dict) or not isinstance(coding.get("code"), str):
            return json.dumps(coding)  # no code (a display alone is not an answer): shown
        other = coding.get("system")
        return f"{other}|{coding['code']}" if other and other != system else coding["code"]
    for key in ("valueInteger", "valueDecimal"):
        if key in answer:
            return _number(answer[key])
    for key, value in answer.items():
        if key.startswith("value"):  # valueString and the rest: shown, so a bad cell
            return json.dumps({key: value})
    return ""


def _number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    return str(value)


def _answers(
    items: Any, system: str, into: dict[str, list[str]], bad: list[str], within: str = ""
) -> None:
    """Every item's answers by linkId, groups and answers' nested items included; an
    ``answer`` that is not a list (or holds what is not an answer) becomes a visible text, a
    bad cell; an ``item`` that is not a list of items is a problem in ``bad``."""
    if items is None:
        return
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        kind = "is not a list" if not isinstance(items, list) else "holds what is not an item"
        bad.append((f'item "{within}": its item ' if within else "its item ") + kind)
        return
    for item in items:
        link = str(item.get("linkId", ""))
        given = item.get("answer")
        answers = given if isinstance(given, list) else [] if given is None else [given]
        texts = [_answer_text(a, system) if isinstance(a, dict) else json.dumps(a) for a in answers]
        if given is not None and not isinstance(given, list):
            texts = [f"answer is not a list: {json.dumps(given)}"]
        if link and not link.startswith(SCALE_PREFIX):
            into.setdefault(link, []).extend(texts)
        _answers(item.get("item"), system, into, bad, link)
        for a in answers:
            if isinstance(a, dict):
                _answers(a.get("item"), system, into, bad, link)


def response_answers(response: Mapping[str, Any], q: Questionnaire) -> dict[str, str]:
    """One response's answers as text by linkId (several answers to one item: joined by
    ``;``, which no allowed value is); an ``item`` that is not a list of items refused."""
    found: dict[str, list[str]] = {}
    bad: list[str] = []
    _answers(response.get("item"), answer_system(q.id), found, bad)
    if bad:
        raise _Malformed(bad)
    return {link: "; ".join(texts) for link, texts in found.items()}


class _Malformed(Exception):
    """A response whose items are not laid out as FHIR says (what, in ``args[0]``)."""


def _read(
    response: Mapping[str, Any], by_key: Mapping[str, Questionnaire], label: str, n: int
) -> tuple[Questionnaire, dict[str, str]] | list[Problem]:
    """A response's questionnaire and answers, or the problems refusing it: another
    questionnaire, entered in error, items that are not lists."""
    where = _where(response, n)
    if response.get("status") == "entered-in-error":
        why = 'has status "entered-in-error" (entered by mistake): not scored'
        return [Problem("fhir-entered-in-error", why, label, where)]
    q = _questionnaire_of(response, by_key, label, n)
    if isinstance(q, Problem):
        return [q]
    try:
        return q, response_answers(response, q)
    except _Malformed as exc:
        return [Problem("fhir-malformed", what, label, where) for what in exc.args[0]]
    except RecursionError:
        return [Problem("fhir-malformed", "items nested too deeply", label, where)]


def _where(response: Mapping[str, Any], n: int) -> str:
    return f"response {n}" + (f' (id "{response["id"]}")' if response.get("id") else "")


def _keys(questionnaires: Sequence[Questionnaire]) -> dict[str, Questionnaire]:
    return {key: q for q in questionnaires for key in (q.id, *q.aliases)}


def responses_table(
    path: Path, questionnaires: Sequence[Questionnaire], name: str | None = None
) -> ExportTable:
    """The responses of a FHIR file as the batch's table of text (see the module's text);
    every response for another questionnaire refused at once, each named."""
    import numpy as np
    import pandas as pd  # type: ignore[import-untyped]

    label = name or str(path)
    by_key = _keys(questionnaires)
    problems: list[Problem] = []
    rows: list[dict[str, str]] = []
    owners: dict[str, str] = {}
    n = 0
    for n, response in enumerate(iter_resources(path, label), 1):
        read = _read(response, by_key, label, n)
        if isinstance(read, list):
            problems.extend(read)
            continue
        q, answers = read
        cells = {
            "id": str(response.get("id", "")),
            "subject": subject_of(response),
            "authored": str(response.get("authored", "")),
            "questionnaire_url": str(response.get("questionnaire") or ""),
        }
        owners[cells["questionnaire_url"]] = q.id
        cells |= {f"{q.id}.{k}": v for k, v in answers.items()}
        rows.append(cells)
    if not n:
        raise InputFileError(Problem("file-empty", f"no {RESPONSE} in the file", label))
    if problems:
        raise InputFileError(
            problems,
            hint="a response is scored only as the questionnaire it names (give that one's -q) "
            "and only when it is well formed and not entered in error: or leave it out",
        )
    items = [f"{q.id}.{i}" for q in questionnaires for i in q.item_ids()]
    extra = sorted({c for r in rows for c in r} - {*META_COLUMNS, *items})
    columns = (*META_COLUMNS, *items, *extra)
    frame = pd.DataFrame(  # a column at a time: the cells are the rows' own strings
        {k: np.array([r.get(c, "") for r in rows], dtype=object) for k, c in enumerate(columns)}
    )
    table = TextTable(
        name=label,
        columns=columns,
        frame=frame,
        rows=np.arange(1, len(rows) + 1, dtype=np.int64),
        header_rows=0,
        delimiter="",
        encoding="utf-8",
        format="fhir",
    )
    return ExportTable(
        table,
        "fhir",
        ids=("id", "subject"),
        optional_ids=("subject",),
        keep=("authored", "questionnaire_url"),
        owner="questionnaire_url",
        owners=tuple(owners.items()),
    )


def subject_of(response: Mapping[str, Any]) -> str:
    """Who a response is about: ``subject.reference`` (``Patient/p1``), or when it has none
    ``subject.identifier.value`` (as alliance's export writes the client's code); or blank."""
    subject = response.get("subject")
    if not isinstance(subject, dict):
        return ""
    reference = subject.get("reference")
    if isinstance(reference, str) and reference:
        return reference
    identifier = subject.get("identifier")
    value = identifier.get("value") if isinstance(identifier, dict) else None
    return value if isinstance(value, str) else ""


@dataclass(frozen=True)
class OneResponse:
    """The one response ``alliance score --fhir`` reads: its answers by linkId, its
    ``authored`` (blank when absent) and its subject (:func:`subject_of`)."""

    answers: dict[str, str]
    authored: str
    subject: str
    ignored: tuple[str, ...] = ()
    """linkIds answered that are no item of the questionnaire (as ``batch`` leaves out
    columns that are no item): not scored, said by :meth:`notes`."""

    def notes(self) -> list[str]:
        """What was not read: answers to linkIds that are no item of the questionnaire."""
        if not self.ignored:
            return []
        links = ", ".join(f'"{link}"' for link in self.ignored)
        return [f"not scored: answers to linkIds that are no item of this questionnaire: {links}"]

    def day(self) -> str | None:
        """The date part of ``authored`` (``2026-03-01`` of ``2026-03-01T23:30:00+01:00``,
        the day as the response wrote it), or None when it has no full date."""
        match = _DAY.match(self.authored)
        return match.group(0) if match else None

    def other_subject(self, client: str) -> str | None:
        """A warning when the subject names another client than ``client`` (by the last
        part of a reference, ``Patient/C-7KQ2MX``, or the identifier's value)."""
        if not self.subject or self.subject.rsplit("/", 1)[-1].casefold() == client.casefold():
            return None
        return (
            f'the response\'s subject names "{self.subject}", not client {client}: '
            "check that it is filed for the right client"
        )


_DAY = re.compile(r"\d{4}-\d{2}-\d{2}(?![\d])")


def one_response(path: Path, q: Questionnaire, name: str | None = None) -> OneResponse:
    """The one QuestionnaireResponse a file holds (answers by linkId, authored, subject),
    for ``alliance score``; a file with several is refused (``alliance batch`` scores them)."""
    label = name or ("stdin" if str(path) == "-" else str(path))
    resources = read_resources(path, label)
    if len(resources) != 1:
        raise InputFileError(
            Problem("fhir-several", f"holds {len(resources)} responses; score reads one", label),
            hint=f"score them all with: alliance batch {label} -q {q.id}",
        )
    one = resources[0]
    read = _read(one, _keys([q]), label, 1)
    if isinstance(read, list):
        raise InputFileError(read)
    items = set(q.item_ids())
    answers = {link: text for link, text in read[1].items() if link in items}
    ignored = tuple(sorted(set(read[1]) - items))
    return OneResponse(answers, str(one.get("authored") or ""), subject_of(one), ignored)
