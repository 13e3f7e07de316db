"""How to cite alliance and the questionnaires: the document of ``alliance cite``, as text,
BibTeX or JSON.

A definition's citations are free text in APA style (``Surname, I., & Other, J. (2006).
Title. Journal, 16(1), 12–25.``); :func:`parse_citation` reads the authors, year, title and
journal parts where the text has them, and anything it cannot read becomes a BibTeX ``@misc``
with the whole text as its note, so every citation gives a valid entry. Keys are stable
(first author's surname, year, first word of the title: ``hatcher2006development``), so a
reference manager sees the same work under the same key in every run.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from alliance_cli import __version__
from alliance_cli.model import Questionnaire
from alliance_cli.references import Reference, parse_citation
from alliance_cli.research.methods import (
    ORDINAL_METHODS,
    RELIABILITY_METHODS,
    RunOptions,
    methods_paragraph,
)

AUTHORS = "alliance contributors"
"""As in the package metadata (pyproject ``authors``) and CITATION.cff."""
LICENSE = "MIT"
TITLE = "alliance: local-first scoring of therapeutic working-alliance questionnaires"
SOFTWARE_KEY = "alliance"


def software_citation() -> str:
    return (
        f"{AUTHORS} (n.d.). {TITLE} (Version {__version__}) [Computer software]. {LICENSE} License."
    )


def cite_document(questionnaires: Sequence[Questionnaire], options: RunOptions) -> dict[str, Any]:
    """What ``alliance cite`` shows (and prints with ``--json``)."""
    return {
        "alliance": {
            "title": TITLE,
            "version": __version__,
            "authors": [AUTHORS],
            "license": LICENSE,
            "citation": software_citation(),
        },
        "questionnaires": [
            {
                "id": q.id,
                "title": q.title,
                "version": q.version,
                "citations": [c.model_dump(mode="json") for c in q.citations],
                "key_status": q.key_status.value,
                "key_sources": list(q.key_sources),
                "licence": q.licence,
            }
            for q in questionnaires
        ],
        "methods": methods_paragraph(questionnaires, options) if questionnaires else None,
        "reliability_methods": [
            m.to_dict()
            for m in (*RELIABILITY_METHODS, *(ORDINAL_METHODS if options.ordinal else ()))
        ],
    }


def cite_text(doc: dict[str, Any]) -> str:
    """The document as plain text: each citation on one line, ready to paste."""
    lines = ["How to cite alliance:", f"  {doc['alliance']['citation']}"]
    for q in doc["questionnaires"]:
        lines += ["", f"{q['id']} — {q['title']}, definition version {q['version']}", "  Cite:"]
        lines += [f"    {_with_doi(c['text'], c['doi'])}" for c in q["citations"]]
        lines.append(f"  Scoring key: {q['key_status']}")
        lines += [f"    {' '.join(s.split())}" for s in q["key_sources"]]
        lines.append(f"  Licence: {' '.join(q['licence'].split())}")
    if doc["methods"] is not None:
        lines += ["", "Methods:", f"  {doc['methods']}"]
    return "\n".join(lines)


def cite_bibtex(questionnaires: Sequence[Questionnaire]) -> str:
    """One BibTeX entry per citable work: alliance, then each distinct citation."""
    entries = [
        _entry(
            "misc",
            SOFTWARE_KEY,
            [
                ("author", "{" + AUTHORS + "}"),
                ("title", "{" + TITLE + "}"),
                ("version", __version__),
                ("note", f"Version {__version__}. Computer software. {LICENSE} License"),
            ],
        )
    ]
    seen: dict[str, str] = {}
    for q in questionnaires:
        for citation in q.citations:
            ref = parse_citation(citation)
            if ref.text in seen:
                continue
            key = ref.key()
            while key in seen.values() or key == SOFTWARE_KEY:
                key += "x"
            seen[ref.text] = key
            entries.append(_reference_entry(ref, key))
    return "\n\n".join(entries) + "\n"


def _reference_entry(ref: Reference, key: str) -> str:
    authors = " and ".join(ref.authors)
    if ref.journal is None:
        note = ref.note if ref.authors else ref.text
        fields = [("author", authors), ("year", ref.year or ""), ("note", note or "")]
        return _entry("misc", key, [*fields, ("doi", ref.doi or "")])
    if not ref.title:
        # BibTeX's @article needs a title; the definition's citation has none: the journal
        # goes in howpublished, and nothing is invented.
        where = ref.journal + (f", {ref.volume}" if ref.volume else "")
        where += (f"({ref.number})" if ref.number else "") + (f", {ref.pages}" if ref.pages else "")
        fields = [("author", authors), ("year", ref.year or ""), ("howpublished", where)]
        return _entry("misc", key, [*fields, ("note", ref.note or ""), ("doi", ref.doi or "")])
    return _entry(
        "article",
        key,
        [
            ("author", authors),
            ("year", ref.year or ""),
            ("title", ref.title or ""),
            ("journal", ref.journal),
            ("volume", ref.volume or ""),
            ("number", ref.number or ""),
            ("pages", ref.pages or ""),
            ("note", ref.note or ""),
            ("doi", ref.doi or ""),
        ],
    )


def _entry(kind: str, key: str, fields: list[tuple[str, str]]) -> str:
    body = ",\n".join(
        f"  {name} = {{{_braced(value, latex=name != 'doi')}}}" for name, value in fields if value
    )
    return f"@{kind}{{{key},\n{body}\n}}"


def _braced(value: str, *, latex: bool = True) -> str:
    """A field value whose braces balance (BibTeX counts them even after a backslash), with
    LaTeX's special characters escaped (not in a DOI, which stays as it is)."""
    value = " ".join(value.split())
    depth = 0
    for ch in value:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            break
    if depth != 0:
        value = value.replace("{", "(").replace("}", ")")
    return re.sub(r"(?<!\\)([&%#$_])", r"\\\1", value) if latex else value


def _with_doi(text: str, doi: str | None) -> str:
    text = " ".join(text.split())
    return f"{text} https://doi.org/{doi}" if doi else text
