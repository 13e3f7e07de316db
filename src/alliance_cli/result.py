"""The score document: what ``alliance score --json`` prints and the library returns.

``SCHEMA_VERSION`` changes only when a field is removed or changes meaning; new fields may be
added within a version. The document is built from the engine's arrays (``scoring``) — a
single response is simply a one-row matrix.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

import numpy as np

from alliance_cli import scoring
from alliance_cli.errors import Problem, ResponseError
from alliance_cli.model import Direction, KeyStatus, Method, Questionnaire
from alliance_cli.options import Respondent
from alliance_cli.patterns import form_notes
from alliance_cli.responses import answers_from_mapping, item_path, parse_answers
from alliance_cli.text import fmt_num

SCHEMA_VERSION = 1


class _Doc:
    """Plain frozen dataclasses: cheap to build on the start-up path, trivially JSON."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload, no-any-return]


@dataclass(frozen=True, kw_only=True)
class QuestionnaireRef(_Doc):
    id: str
    title: str
    version: str
    respondent: Respondent
    key_status: KeyStatus
    content_hash: str


@dataclass(frozen=True, kw_only=True)
class Answer(_Doc):
    item: str
    value: float | None
    """The number given (the code for 'does not apply'); null when left blank."""
    state: str
    """``answered``, ``missing`` or ``not_applicable``."""


@dataclass(frozen=True, kw_only=True)
class Flag(_Doc):
    kind: str
    """``band`` (a scale's cutoff) or ``item_rule`` (an item-level heuristic)."""
    id: str
    scale: str | None = None
    item: str | None = None
    label: str
    rule: str
    """The inequality that fired, spelled out (``total below 36``)."""
    value: float
    message: str
    source: str


@dataclass(frozen=True, kw_only=True)
class ScaleResult(_Doc):
    id: str
    name: str
    method: Method
    higher_is: Direction
    score: float | None
    """Sum or mean per ``method``; null when withheld."""
    sum: float | None
    mean: float | None
    min: float
    max: float
    """The possible range of ``score``."""
    items: int
    answered: int
    missing: int
    not_applicable: int
    prorated: bool
    withheld: bool
    withheld_reason: str | None
    band: str | None
    z: float | None
    t: float | None
    pomp: float | None
    """Percent of maximum possible: 100 (score − min) / (max − min)."""
    norm: str | None
    """Population and source of the norm behind z and T."""
    item_ids: list[str] = field(default_factory=list)
    """The scale's items, in the definition's order."""


@dataclass(frozen=True, kw_only=True)
class ScoreReport(_Doc):
    questionnaire: QuestionnaireRef
    answers: list[Answer]
    scales: list[ScaleResult]
    flags: list[Flag]
    warnings: list[str]
    notes: list[str] = field(default_factory=list)
    """Information on the form (:mod:`alliance_cli.patterns`: straight-lined, at the
    ceiling), never an alert."""
    schema_version: int = field(default=SCHEMA_VERSION)

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        return {"schema_version": data.pop("schema_version"), **data}

    def csv_rows(self) -> list[list[Any]]:
        """One row per scale, in the order of :data:`CSV_COLUMNS`. ``flags`` lists the
        scale's band flags and the item-rule flags of its items (``rule:item``)."""
        rows = []
        for s in self.scales:
            rows.append(
                [
                    self.questionnaire.id,
                    s.id,
                    s.name,
                    s.method.value,
                    s.score,
                    s.sum,
                    s.mean,
                    s.min,
                    s.max,
                    s.items,
                    s.answered,
                    s.missing,
                    s.not_applicable,
                    s.prorated,
                    s.withheld,
                    s.withheld_reason,
                    s.band,
                    flags_cell(s.id, s.item_ids, self.flags),
                    s.z,
                    s.t,
                    s.pomp,
                ]
            )
        return rows


class FlagHit(NamedTuple):
    """Which flag fired, without its texts: what the ``flags`` cell is made of (a
    :class:`Flag` has the same fields)."""

    kind: str
    id: str
    scale: str | None
    item: str | None


def flags_cell(scale_id: str, items: Collection[str], fired: Iterable[Flag | FlagHit]) -> str:
    """A scale's ``flags`` cell (``score --format csv``, ``export``): of the flags ``fired``
    for an administration (in the document's order), the scale's band flags, then the
    item-rule hits on its ``items`` as ``rule:item``, separated by ';' ('' for none)."""
    fired = list(fired)
    names = [f.id for f in fired if f.kind == "band" and f.scale == scale_id]
    names += [f"{f.id}:{f.item}" for f in fired if f.kind == "item_rule" and f.item in items]
    return ";".join(names)


CSV_COLUMNS = (
    "questionnaire",
    "scale",
    "name",
    "method",
    "score",
    "sum",
    "mean",
    "min",
    "max",
    "items",
    "answered",
    "missing",
    "not_applicable",
    "prorated",
    "withheld",
    "withheld_reason",
    "band",
    "flags",
    "z",
    "t",
    "pomp",
)


def score_number(x: float) -> float | None:
    """A number of the score document: None for NaN, else rounded to 10 decimals."""
    return None if math.isnan(x) else round(float(x), 10)


def key_warning(q: Questionnaire) -> str | None:
    """The visible warning for a key that is not verified (None when it is)."""
    if q.key_status is KeyStatus.verified:
        return None
    return (
        f"the scoring key of {q.id} is {q.key_status.value}ly checked, not verified "
        if q.key_status is KeyStatus.partial
        else f"the scoring key of {q.id} is unverified "
    ) + (
        f"against a primary source; check scores against the manual before relying on them "
        f"(`alliance show {q.id}` says what is uncertain)"
    )


def score(q: Questionnaire, answers: str | Mapping[str, object] | Sequence[object]) -> ScoreReport:
    """Score one administration. ``answers`` is answer text (``"5,4,,3"``, ``"1=5 2=4"``),
    a mapping item → value, or a sequence in item order. Raises :class:`ResponseError`."""
    values, unreadable = (
        parse_answers(q, answers) if isinstance(answers, str) else answers_from_mapping(q, answers)
    )
    row = np.array([[values.get(i, np.nan) for i in q.item_ids()]], dtype=np.float64)
    states = scoring.cell_states(q, row)[0]
    bad = [
        Problem(
            "bad-answer",
            f"{fmt_num(row[0, j])} is not allowed; allowed: "
            f"{q.scale_of(item_id).describe_allowed()}",
            path=item_path(item_id),
        )
        for j, item_id in enumerate(q.item_ids())
        if states[j] == scoring.INVALID
    ]
    if unreadable or bad:
        order = {item_path(i): n for n, i in enumerate(q.item_ids())}
        raise ResponseError(sorted([*unreadable, *bad], key=lambda p: order.get(p.path, -1)))
    return report_row(q, row, scoring.score_matrix(q, row), 0)


def withheld_reason_text(q: Questionnaire, scale_id: str, s: scoring.ScaleScores, r: int) -> str:
    scale = q.scales[scale_id]
    n = len(scale.items)
    if s.withheld[r] == scoring.WITHHELD_INVALID:
        return "an answer is not an allowed value"
    need = scale.missing.required(n)
    if need == n:
        return f"all {n} items are required; {s.answered[r]} answered"
    return f"{s.answered[r]} of {n} items answered; at least {need} needed"


def report_row(q: Questionnaire, x: np.ndarray, scores: scoring.Scores, r: int) -> ScoreReport:
    """The document for row ``r`` of an engine result."""
    answers = [
        Answer(
            item=item_id,
            value=score_number(x[r, j]),
            state=scoring.STATE_NAMES[int(scores.states[r, j])],
        )
        for j, item_id in enumerate(q.item_ids())
    ]
    scales: list[ScaleResult] = []
    flags: list[Flag] = []
    for scale_id, scale in q.scales.items():
        s = scores.scales[scale_id]
        lo, hi = q.scale_range(scale_id)
        norm = q.standard_norm(scale_id)
        withheld = bool(s.withheld[r] != scoring.WITHHELD_NONE)
        band = int(s.band[r])
        for b, hit in enumerate(s.band_hits[r]):
            spec = scale.bands[b]
            if hit and spec.flag:
                flags.append(
                    Flag(
                        kind="band",
                        id=spec.id,
                        scale=scale_id,
                        label=spec.label,
                        rule=spec.describe_rule(scale.name),
                        value=float(s.score[r]),
                        message=spec.message or f"{scale.name} is in the band {spec.label}.",
                        source=spec.source,
                    )
                )
        scales.append(
            ScaleResult(
                id=scale_id,
                name=scale.name,
                method=scale.method,
                higher_is=scale.higher_is,
                score=score_number(s.score[r]),
                sum=score_number(s.sum[r]),
                mean=score_number(s.mean[r]),
                min=lo,
                max=hi,
                items=len(scale.items),
                answered=int(s.answered[r]),
                missing=int(s.missing[r]),
                not_applicable=int(s.not_applicable[r]),
                prorated=bool(s.prorated[r]),
                withheld=withheld,
                withheld_reason=withheld_reason_text(q, scale_id, s, r) if withheld else None,
                band=scale.bands[band].label if band >= 0 else None,
                z=score_number(s.z[r]),
                t=score_number(s.t[r]),
                pomp=score_number(s.pomp[r]),
                norm=f"{norm.population} ({norm.source})" if norm else None,
                item_ids=list(scale.items),
            )
        )
    for rule in q.item_rules:
        for j, item_id in enumerate(q.item_ids()):
            if scores.item_rule_hits[rule.id][r, j]:
                flags.append(
                    Flag(
                        kind="item_rule",
                        id=rule.id,
                        item=item_id,
                        label=rule.message,
                        rule=rule.describe_rule(f"item {item_id}"),
                        value=float(x[r, j]),
                        message=rule.message,
                        source=rule.source,
                    )
                )
    warnings = [w for w in (key_warning(q),) if w]
    ref = QuestionnaireRef(
        id=q.id,
        title=q.title,
        version=q.version,
        respondent=q.respondent,
        key_status=q.key_status,
        content_hash=q.content_hash(),
    )
    return ScoreReport(
        questionnaire=ref,
        answers=answers,
        scales=scales,
        flags=flags,
        warnings=warnings,
        notes=form_notes(q, x, scores, r),
    )
