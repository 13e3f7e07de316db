"""Careless-response screening of a run (thresholds: :mod:`.rules`): what the
first pass learns from every response (:class:`Fitted`: item means, the inverse covariance
matrix, the synonym and antonym pairs, each questionnaire's), and per chunk of the second
pass the index and flag columns (:meth:`Screening.columns_for`) with the count of responses
each flag caught (:class:`FlagCount`).

The indices are those of R ``careless`` (:mod:`alliance_cli.research.quality.indices`),
computed on each questionnaire's RAW answers in definition order (not reverse-keyed: a
straight-liner on a form with reversed items is still a straight-liner). Nothing here
removes a row: a flagged response is marked; ``--drop-flagged`` removes it and says how
many were removed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from alliance_cli.io.columns import Column
from alliance_cli.model import Questionnaire
from alliance_cli.research.psychometrics._base import Pairwise
from alliance_cli.research.quality import indices as ix
from alliance_cli.research.quality.rules import (
    CHECKS,
    SPEED,
    FlagRule,
    QualityOptions,
    _num,
    flag_rules,
    speed_rule,
)


@dataclass(frozen=True)
class Fitted:
    """What the first pass learned of one questionnaire from every response: the item means
    and the inverse of the pairwise covariance matrix (None, with ``d2_note`` saying why,
    when it cannot be inverted), and the synonym / antonym pairs (None, with the note, when
    too few reach the threshold)."""

    questionnaire: Questionnaire
    mean: Any
    inverse: Any
    d2_note: str | None
    synonyms: Any
    synonyms_note: str | None
    antonyms: Any
    antonyms_note: str | None
    responses: int

    def to_dict(self) -> dict[str, Any]:
        ids = [i.id for i in self.questionnaire.items]

        def pairs(p: Any) -> list[list[str]] | None:
            return None if p is None else [[ids[i], ids[j]] for i, j in p.tolist()]

        return {
            "responses": self.responses,
            "synonym_pairs": pairs(self.synonyms),
            "antonym_pairs": pairs(self.antonyms),
            "notes": [n for n in (self.d2_note, self.synonyms_note, self.antonyms_note) if n],
        }


def fit(q: Questionnaire, moments: Pairwise, options: QualityOptions) -> Fitted:
    """The screening model of ``q`` from the pairwise moments of its raw answers."""
    ids = [i.id for i in q.items]
    inverse, d2_note = _inverse(moments, ids)
    pairs: list[Any] = []
    notes: list[str | None] = []
    for antonyms in (False, True):
        p = ix.item_pairs(moments.cor, options.synonym_r, antonyms=antonyms)
        if len(p) < ix.MIN_PAIRS:
            sign = "<" if antonyms else ">"
            minus = "−" if antonyms else ""
            pairs.append(None)
            notes.append(
                "not computed, because "
                f"{len(p)} item pair{'s' * (len(p) != 1)} of {q.id} reach r {sign} "
                f"{minus}{_num(abs(options.synonym_r))} and a within-person correlation "
                f"needs at least {ix.MIN_PAIRS} (careless::psychsyn)"
            )
        else:
            pairs.append(p)
            notes.append(None)
    return Fitted(
        q, moments.mean, inverse, d2_note, pairs[0], notes[0], pairs[1], notes[1], moments.n_rows
    )


def _inverse(moments: Pairwise, ids: Sequence[str]) -> tuple[Any, str | None]:
    """The inverse of the covariance matrix as R's ``solve`` would give it, or why not."""
    cov, n = moments.cov, moments.n
    why = "not computed, because "
    few = [ids[j] for j in range(len(ids)) if n[j, j] < 2]
    if few:
        which = f"item {few[0]} has" if len(few) == 1 else f"items {', '.join(few)} have"
        return None, why + f"{which} fewer than 2 answers"
    constant = [ids[j] for j in range(len(ids)) if not cov[j, j] > 0]
    if constant:
        return None, why + (
            f"item {', '.join(constant)} has the same answer in every response (a constant "
            "column makes the covariance matrix singular)"
        )
    apart = np.argwhere(np.isnan(cov))
    if len(apart):
        i, j = apart[0]
        return None, why + f"items {ids[i]} and {ids[j]} are never answered together twice"
    # R's solve() refuses a matrix whose reciprocal condition number is below machine eps.
    if 1.0 / np.linalg.cond(cov, 1) < np.finfo(np.float64).eps:
        return (
            None,
            why + "the covariance matrix is singular (an item is a linear function of others)",
        )
    return np.linalg.inv(cov), None


@dataclass
class FlagCount:
    """How many responses a flag looked at (its index computed) and caught."""

    rule: FlagRule
    computed: int = 0
    caught: int = 0
    note: str | None = None

    @property
    def percent(self) -> float | None:
        """The share caught of the responses whose index was computed (a REDCap form's or a
        FHIR questionnaire's own rows, answered enough), None without a flag or a count."""
        if not self.rule.cutoff or not self.computed:
            return None
        return 100 * self.caught / self.computed

    def to_dict(self, screened: int) -> dict[str, Any]:
        return {
            **self.rule.to_dict(),
            "computed": self.computed,
            "caught": self.caught if self.rule.cutoff else None,
            "percent": None if self.percent is None else round(self.percent, 2),
            "note": self.note,
        }


@dataclass
class Screening:
    """The screening of one run: the fitted models, the speed column, and the counts."""

    fitted: tuple[Fitted, ...]
    options: QualityOptions
    duration: str | None
    counts: list[FlagCount] = field(default_factory=list)
    screened: int = 0
    flagged: int = 0
    dropped: int = 0

    def __post_init__(self) -> None:
        if not self.counts:
            notes = {}
            for f in self.fitted:
                notes[f"{f.questionnaire.id}.mahad"] = f.d2_note
                notes[f"{f.questionnaire.id}.psychsyn"] = f.synonyms_note
                notes[f"{f.questionnaire.id}.psychant"] = f.antonyms_note
            rules = [r for f in self.fitted for r in flag_rules(f.questionnaire, self.options)]
            if self.duration is not None:
                rules.append(speed_rule(self.options, self.duration))
            self.counts = [FlagCount(r, note=notes.get(r.flag)) for r in rules]

    @property
    def items(self) -> int:
        return sum(len(f.questionnaire.items) for f in self.fitted)

    def descriptions(self) -> list[Column]:
        """The codebook of the columns :meth:`columns_for` adds."""
        out: list[Column] = []
        for f in self.fitted:
            q = f.questionnaire.id
            rules = {r.flag: r for r in flag_rules(f.questionnaire, self.options)}
            out += [
                Column(f"{q}.longstring", "integer", rules[f"{q}.longstring"].index),
                Column(f"{q}.irv", "number", rules[f"{q}.irv"].index),
                Column(f"{q}.mahad_d2", "number", rules[f"{q}.mahad"].index),
                Column(f"{q}.mahad_p", "number", "upper-tail chi-square p of D² (df = items)"),
                Column(f"{q}.psychsyn", "number", rules[f"{q}.psychsyn"].index),
                Column(f"{q}.psychant", "number", rules[f"{q}.psychant"].index),
            ]
            out += [
                Column(
                    f"{q}.{check}_flag",
                    "boolean",
                    f"{rules[q + '.' + check].flag}: {rules[q + '.' + check].threshold} "
                    f"({rules[q + '.' + check].source}); empty when not computed",
                )
                for check in CHECKS
            ]
        if self.duration is not None:
            rule = speed_rule(self.options, self.duration)
            out += [
                Column("seconds_per_item", "number", rule.index),
                Column("speed_flag", "boolean", f"{rule.threshold} ({rule.source})"),
            ]
        out.append(
            Column(
                "quality_flags",
                "text",
                "the flags this response raised, separated by '; ' (empty: none)",
            )
        )
        return out

    def columns_for(self, matrices: Sequence[Any], duration: Any) -> tuple[dict[str, Any], Any]:
        """The index and flag columns of one chunk (``matrices``: each questionnaire's raw
        answers, NaN where not an answer; ``duration``: the duration text or None), in
        :meth:`descriptions`' order, and each row's flagged mask; counts them."""
        o = self.options
        rows = len(matrices[0]) if matrices else 0
        cols: dict[str, Any] = {}
        fired: list[tuple[str, Any]] = []
        counts = iter(self.counts)
        for f, x in zip(self.fitted, matrices, strict=True):
            q, k = f.questionnaire.id, x.shape[1]
            x = np.ascontiguousarray(x, dtype=np.float64)  # row-wise sums: rows contiguous
            ls, sd = ix.longstring(x), ix.irv(x)
            d2 = p = np.full(rows, np.nan)
            if f.inverse is not None:
                d2 = ix.mahalanobis(x, f.mean, f.inverse)
                p = ix.chi_square_upper(d2, k)
            syn = ix.within_person_r(x, f.synonyms)[0] if f.synonyms is not None else None
            ant = ix.within_person_r(x, f.antonyms)[0] if f.antonyms is not None else None
            none = np.full(rows, np.nan)
            syn = none if syn is None else syn
            ant = none if ant is None else ant
            with np.errstate(invalid="ignore"):
                tests = {
                    "longstring": (ls, ls >= o.longstring_min(k)),
                    "irv": (sd, sd <= o.irv_max),
                    "mahad": (p, p < o.mahad_alpha),
                    "psychsyn": (syn, None if o.psychsyn_below is None else syn < o.psychsyn_below),
                    "psychant": (ant, None if o.psychant_above is None else ant > o.psychant_above),
                }
            cols[f"{q}.longstring"] = ls  # whole numbers: written 7, not 7.0
            cols[f"{q}.irv"] = sd
            cols[f"{q}.mahad_d2"] = d2
            cols[f"{q}.mahad_p"] = p
            cols[f"{q}.psychsyn"] = syn
            cols[f"{q}.psychant"] = ant
            for check in CHECKS:
                value, flag = tests[check]
                if flag is None:  # no cutoff: the index alone, its flag column empty
                    flag = np.zeros(rows, dtype=np.bool_)
                    cols[f"{q}.{check}_flag"] = _flags(none, flag)
                else:
                    cols[f"{q}.{check}_flag"] = _flags(value, flag)
                fired.append((f"{q}.{check}", ~np.isnan(value) & flag))
                c = next(counts)
                c.computed += int((~np.isnan(value)).sum())
                c.caught += int((~np.isnan(value) & flag).sum())
        if self.duration is not None:
            import pandas as pd  # type: ignore[import-untyped]

            seconds = pd.to_numeric(pd.Series(duration, dtype=object), errors="coerce")
            per = ix.seconds_per_item(seconds.to_numpy(dtype=np.float64), self.items)
            with np.errstate(invalid="ignore"):
                fast = per < o.seconds_per_item
            cols["seconds_per_item"] = per
            cols["speed_flag"] = _flags(per, fast)
            fired.append((SPEED, ~np.isnan(per) & fast))
            c = next(counts)
            c.computed += int((~np.isnan(per)).sum())
            c.caught += int((~np.isnan(per) & fast).sum())
        names = np.empty(rows, dtype=object)
        names[:] = ""
        any_flag = np.zeros(rows, dtype=np.bool_)
        for name, mask in fired:
            any_flag |= mask
            names[mask] = np.where(names[mask] == "", name, names[mask] + "; " + name)
        cols["quality_flags"] = names
        self.screened += rows
        self.flagged += int(any_flag.sum())
        return cols, any_flag

    def summary(self) -> list[str]:
        """Plain lines for stderr: how many responses each flag caught."""
        n = self.screened
        lines = [
            f"quality: {self.flagged:,} of {n:,} response{'s' * (n != 1)} flagged"
            + (f"; {self.dropped:,} removed (--drop-flagged)" if self.options.drop_flagged else "")
        ]
        for c in self.counts:
            if c.note:
                lines.append(f"  {c.rule.flag}: {c.note}")
            elif not c.rule.cutoff:
                lines.append(f"  {c.rule.flag}: computed for {c.computed:,}; {c.rule.threshold}")
            else:
                pct = "" if c.percent is None else f" ({c.percent:.1f}%)"
                lines.append(
                    f"  {c.rule.flag} ({c.rule.threshold}): {c.caught:,} of {c.computed:,}{pct}"
                )
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {
            "screened": self.screened,
            "flagged": self.flagged,
            "dropped": self.dropped if self.options.drop_flagged else None,
            "duration_column": self.duration,
            "flags": [c.to_dict(self.screened) for c in self.counts],
            "questionnaires": {f.questionnaire.id: f.to_dict() for f in self.fitted},
        }


def _flags(value: Any, flag: Any) -> Any:
    """True/False where the index was computed, missing (written empty) where not."""
    import pandas as pd

    out = pd.array(np.asarray(flag, dtype=np.bool_), dtype="boolean")
    out[np.isnan(value)] = pd.NA
    return out
