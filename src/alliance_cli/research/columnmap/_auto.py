"""Automatic item columns: name patterns (``wai_sr_01``, ``srs_relationship``…), then groups
of Qualtrics default tags (``Q5_1`` … ``Q5_k``) for a questionnaire no name matches."""

from __future__ import annotations

import re
from collections.abc import Sequence

from alliance_cli.definitions import normalize_id, questionnaire_keys
from alliance_cli.errors import Problem
from alliance_cli.model import Questionnaire
from alliance_cli.research.columnmap._base import ItemColumn, QuestionnaireColumns, one_per_item
from alliance_cli.research.mapfile import CellRules

_ITEM_NUMBER = re.compile(r"(?:item|itm|i|q)?0*(\d+)")
_QUALTRICS_TAG = re.compile(r"\s*Q([1-9]\d*)_([1-9]\d*)\s*", re.IGNORECASE)


def _prefixes(q: Questionnaire) -> list[tuple[int, str]]:
    """(specificity, key): 0 for the id and aliases, 1 for the id's first part."""
    exact = questionnaire_keys(q)
    family = normalize_id(re.split(r"[-_.\s]", q.id)[0])
    out = [(0, k) for k in sorted(exact, key=len, reverse=True)]
    if family not in exact and len(family) >= 2:
        out.append((1, family))
    return out


def _item_keys(q: Questionnaire) -> dict[str, str]:
    """Normalised names of each item (id; for ``name: …`` hints, the name and its first
    word). A name two items share is left out."""
    found: dict[str, set[str]] = {}
    for item in q.items:
        keys = {normalize_id(item.id)}
        if item.id.isdigit():
            keys.add(str(int(item.id)))
        if ":" in item.text:
            head = item.text.split(":", 1)[0]
            keys |= {normalize_id(head), normalize_id(head.split()[0]) if head.split() else ""}
        for key in keys - {""}:
            found.setdefault(key, set()).add(item.id)
    return {key: next(iter(ids)) for key, ids in found.items() if len(ids) == 1}


def automatic(
    columns: Sequence[str],
    questionnaires: Sequence[Questionnaire],
    global_missing: Sequence[str],
    taken: dict[int, str],
    file: str,
    problems: list[Problem],
    notices: list[str],
) -> dict[str, QuestionnaireColumns]:
    prefixes = {q.id: _prefixes(q) for q in questionnaires}
    keys = {q.id: _item_keys(q) for q in questionnaires}
    rules = CellRules.of(global_missing, {})
    by_q: dict[str, dict[str, list[ItemColumn]]] = {q.id: {} for q in questionnaires}
    matched: set[str] = set()  # questionnaires some column's name matches
    for pos, name in enumerate(columns):
        if pos in taken:
            continue
        norm = normalize_id(name)
        candidates: list[tuple[int, str, str]] = []
        for q in questionnaires:
            for tier, prefix in prefixes[q.id]:
                if not norm.startswith(prefix) or norm == prefix:
                    continue
                rest = norm[len(prefix) :]
                numbered = _ITEM_NUMBER.fullmatch(rest)
                key = str(int(numbered.group(1))) if numbered else rest
                if key in keys[q.id]:
                    candidates.append((tier, q.id, keys[q.id][key]))
                elif numbered and tier == 0:
                    notices.append(
                        f'column "{name}" looks like an item of {q.id}, which has no item '
                        f'"{key}"; kept as it is'
                    )
        if not candidates:
            continue
        matched.update(qid for _, qid, _ in candidates)
        best = min(t for t, _, _ in candidates)
        chosen = sorted({(qid, item) for t, qid, item in candidates if t == best})
        if len(chosen) > 1:
            options = " or ".join(f'{qid} item "{item}"' for qid, item in chosen)
            problems.append(
                Problem("ambiguous-column", f'column "{name}" in {file} could be {options}')
            )
            continue
        qid, item = chosen[0]
        by_q[qid].setdefault(item, []).append(ItemColumn(item, name, pos, rules))
    unmatched = [q for q in questionnaires if q.id not in matched]
    used = {c.position for found in by_q.values() for cs in found.values() for c in cs}
    refused = _by_tag_group(
        columns, unmatched, by_q, rules, set(taken) | used, file, problems, notices
    )
    out: dict[str, QuestionnaireColumns] = {}
    for q in questionnaires:
        if q.id in refused:
            continue
        items = one_per_item(q, by_q[q.id], "", problems, file)
        if items is not None:
            out[q.id] = QuestionnaireColumns(q, items, "automatic")
            for c in items:
                taken[c.position] = f"{q.id} item {c.item}"
    return out


def _by_tag_group(
    columns: Sequence[str],
    questionnaires: Sequence[Questionnaire],
    by_q: dict[str, dict[str, list[ItemColumn]]],
    rules: CellRules,
    taken: set[int],
    file: str,
    problems: list[Problem],
    notices: list[str],
) -> set[str]:
    """Map each of ``questionnaires`` (which no column's name matches) to the one group of
    Qualtrics default tags ``Q<n>_1`` … ``Q<n>_k`` that fits it (k = its number of items;
    item j ← ``Q<n>_j`` in its item order). Returns the questionnaires refused as ambiguous
    (several groups fit one, or one group fits several), each with a problem."""
    groups: dict[int, dict[int, list[int]]] = {}
    for pos, name in enumerate(columns):
        tag = _QUALTRICS_TAG.fullmatch(name)
        if tag is not None:
            groups.setdefault(int(tag.group(1)), {}).setdefault(int(tag.group(2)), []).append(pos)
    free = {
        n: [found[0] for _, found in sorted(subs.items())]
        for n, subs in groups.items()
        if all(len(found) == 1 and found[0] not in taken for found in subs.values())
        and sorted(subs) == list(range(1, len(subs) + 1))
    }
    fits = {q.id: [n for n in sorted(free) if len(free[n]) == len(q.items)] for q in questionnaires}
    claims: dict[int, list[str]] = {}
    for qid, ns in fits.items():
        for n in ns:
            claims.setdefault(n, []).append(qid)
    refused: set[str] = set()
    for q in questionnaires:
        if not fits[q.id]:
            continue
        n = fits[q.id][0]
        if len(fits[q.id]) > 1:
            spans = " and ".join(_span(columns, free[g]) for g in fits[q.id])
            message = (
                f"{q.id}: the columns {spans} in {file} could each be its {len(q.items)} items"
            )
        elif len(claims[n]) > 1:
            message = (
                f"{q.id}: the columns {_span(columns, free[n])} in {file} could be the items of "
                + " or ".join(claims[n])
            )
        else:
            by_q[q.id] = {
                item: [ItemColumn(item, columns[pos], pos, rules)]
                for item, pos in zip(q.item_ids(), free[n], strict=True)
            }
            notices.append(
                f"{q.id}: its items are the Qualtrics question {_span(columns, free[n])} in "
                "order, by position alone (the only question with as many parts); make sure "
                "that question is this questionnaire"
            )
            continue
        refused.add(q.id)
        problems.append(
            Problem(
                "ambiguous-columns",
                f"{message}; say which in a map file (--map MAP.yaml)",
            )
        )
    return refused


def _span(columns: Sequence[str], positions: Sequence[int]) -> str:
    return f"{columns[positions[0]]} … {columns[positions[-1]]}"
