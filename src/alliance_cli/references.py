"""A definition's citations read into their parts, for short references and BibTeX.

Citations are free text in APA style (``Surname, I., & Other, J. (2006). Title. Journal,
16(1), 12–25.``); :func:`parse_citation` reads the authors, year, title and journal parts
where the text has them and leaves the rest as a note. Nothing is guessed: a text it cannot
read keeps no parts, and its short form is the whole text.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

from alliance_cli.model import Citation

_YEAR = re.compile(r"^(?P<head>.+?)\s*\((?P<year>\d{4}[a-z]?)\)\.\s*(?P<rest>.*)$", re.S)
_JOURNAL = re.compile(
    r"^(?:(?P<title>.+?[.?!])\s+)?(?P<journal>[^.,]+), (?P<volume>\d+)"
    r"(?:\((?P<number>[^)]+)\))?(?:, (?P<pages>\d+\s*[–-]\s*\d+))?\.(?:\s+(?P<note>.+))?$",
    re.S,
)
_INITIALS = re.compile(r"([^,&]+?),\s+((?:[A-ZÀ-Þ][\w]*\.[\s-]*)+)")
_STOP = {"a", "an", "the", "of", "on", "in", "and", "for", "to"}


@dataclass(frozen=True)
class Reference:
    """A citation read into its parts (None where the text does not have them)."""

    text: str
    doi: str | None
    authors: tuple[str, ...] = ()
    """``Surname, I. I.`` or ``Surname``; ``others`` for "et al."."""
    year: str | None = None
    title: str | None = None
    journal: str | None = None
    volume: str | None = None
    number: str | None = None
    pages: str | None = None
    note: str | None = None

    def short(self) -> str:
        """``Hatcher & Gillaspy (2006)``, ``Li et al. (2023)``; the whole text if unread."""
        names = [a.split(",")[0] for a in self.authors if a != "others"]
        if not names or self.year is None:
            return self.text
        if len(self.authors) > 2 or "others" in self.authors:
            who = f"{names[0]} et al."
        else:
            who = " & ".join(names)
        return f"{who} ({self.year})"

    def key(self) -> str:
        """A stable BibTeX key (letters and digits only)."""
        surname = _ascii(self.authors[0].split(",")[0]).replace(" ", "") if self.authors else ""
        if not surname or self.year is None:
            digest = hashlib.sha1(self.text.encode(), usedforsecurity=False).hexdigest()
            return "ref" + digest[:8]
        words = [w for w in _ascii(self.title or "").split() if w not in _STOP]
        return surname + self.year + (words[0] if words else "")


def parse_citation(citation: Citation) -> Reference:
    text = " ".join(citation.text.split())
    found = _YEAR.match(text)
    if found is None:
        return Reference(text, citation.doi)
    head = found["head"].strip().rstrip(",")
    others = head.endswith("et al.")
    head = head.removesuffix("et al.").strip().rstrip(",")
    authors = [f"{s.strip()}, {i.strip()}" for s, i in _INITIALS.findall(head)]
    if not authors:
        authors = [a.strip() for a in re.split(r",|&|\band\b", head) if a.strip()]
    authors += ["others"] if others else []
    parts = _JOURNAL.match(found["rest"])
    if parts is None:
        rest = found["rest"].strip()
        return Reference(text, citation.doi, tuple(authors), found["year"], note=rest or None)
    title = parts["title"]
    return Reference(
        text,
        citation.doi,
        tuple(authors),
        found["year"],
        title=title.rstrip(".") if title else None,
        journal=parts["journal"].strip(),
        volume=parts["volume"],
        number=parts["number"],
        pages=re.sub(r"\s*[–-]\s*", "--", parts["pages"]) if parts["pages"] else None,
        note=parts["note"],
    )


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9 ]", "", folded.lower())
