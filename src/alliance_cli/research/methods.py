"""The methods paragraph of a run: what a journal's methods section needs to say about scoring.

One generator for ``alliance cite`` and for the codebook of ``alliance batch`` (and of
``alliance export``), so the two never drift: for exactly the questionnaires and options of a
run it names each scoring key and its sources (items per scale, reverse items), the
missing-data rule and proration, the missing codes used, how bad answers were handled, and
the reliability methods with their R equivalents (:data:`RELIABILITY_METHODS`, one table).
Nothing here prints; the text is returned.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field

from alliance_cli import __version__
from alliance_cli.model import OnMissing, Questionnaire
from alliance_cli.references import parse_citation
from alliance_cli.research.mapfile import CellRules, number
from alliance_cli.research.quality.rules import QualityOptions
from alliance_cli.text import fmt_num


@dataclass(frozen=True)
class ReliabilityMethod:
    """One statistic ``alliance reliability`` reports, as psych / lavaan name it."""

    statistic: str
    """The name used in alliance's output and in the methods text."""
    r: str
    """The R function that gives the same number."""
    how: str
    """Data and options: what the number is computed from."""
    source: str
    """Where the statistic comes from (short reference)."""
    result: str = ""
    """The key of ``alliance reliability --json`` that holds it (its ``psych`` object names
    the R function per key from this table)."""

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


# One table: cite's methods text and the `psych` object of `alliance reliability --json`
# are both built from it.
RELIABILITY_METHODS: tuple[ReliabilityMethod, ...] = (
    ReliabilityMethod(
        "Cronbach's alpha with a Feldt 95% CI",
        "psych::alpha",
        "item covariances from pairwise-complete rows",
        "Cronbach (1951); Feldt, Woodruff & Salih (1987)",
        "alpha",
    ),
    ReliabilityMethod(
        "standardized alpha",
        "psych::alpha (std.alpha)",
        "item correlations",
        "Cronbach (1951)",
        "alpha",
    ),
    ReliabilityMethod(
        "omega total",
        "psych::omega (one factor, minres)",
        "one-factor minimum-residual solution",
        "McDonald (1999)",
        "omega",
    ),
    ReliabilityMethod(
        "corrected item–total r and alpha if deleted",
        "psych::alpha (r.drop, alpha.drop)",
        "each item against the sum of the other items",
        "Cronbach (1951)",
        "alpha",
    ),
    ReliabilityMethod(
        "ICC1 and ICC1k (Shrout–Fleiss ICC(1,1) and ICC(1,k))",
        "psych::statsBy / psych::ICC",
        "scale scores of complete rows, clients as groups (--by)",
        "Shrout & Fleiss (1979)",
        "icc",
    ),
    ReliabilityMethod(
        "variance components and RkF, R1R, RkR, Rc",
        "psych::mlr",
        "clients × sessions, balanced designs (--by with --session)",
        "Shrout & Lane (2012)",
        "multilevel",
    ),
    ReliabilityMethod(
        "within- and between-client alpha",
        "lavaan two-level model",
        "ML two-level saturated covariance matrices (--by)",
        "Geldhof, Preacher & Zyphur (2014)",
        "two_level",
    ),
)


# With `alliance reliability --ordinal` (and `alliance cite --ordinal`).
ORDINAL_METHODS: tuple[ReliabilityMethod, ...] = (
    ReliabilityMethod(
        "polychoric correlations (two-step: thresholds from the marginal proportions, then "
        "maximum likelihood of each pair's bivariate-normal cell probabilities; pairwise "
        "tables; zero cells corrected by 0.5 when items differ in their highest answer; "
        "smoothed when not positive definite)",
        "psych::polychoric",
        "the keyed items' answers (items with at most 8 response points)",
        "Olsson (1979)",
        "ordinal",
    ),
    ReliabilityMethod(
        "ordinal alpha",
        "psych::alpha on the polychoric matrix",
        "the polychoric correlation matrix",
        "Zumbo, Gadermann & Zeisser (2007)",
        "ordinal",
    ),
    ReliabilityMethod(
        "ordinal omega total",
        "psych::omega (poly = TRUE, one factor, minres)",
        "a one-factor minimum-residual solution of the polychoric matrix",
        "McDonald (1999); Gadermann, Guhn & Zumbo (2012)",
        "ordinal",
    ),
    ReliabilityMethod(
        "categorical omega, the reliability of the observed sum score",
        "semTools::compRelSEM (ord.scale = TRUE) on a one-factor lavaan model with ordered "
        "items (WLSMV)",
        "a one-factor model fitted to the polychoric matrix by diagonally weighted least "
        "squares, and the items' thresholds",
        "Green & Yang (2009)",
        "ordinal",
    ),
)
"""The ordinal statistics; their references: Olsson, U. (1979). Maximum likelihood
estimation of the polychoric correlation coefficient. Psychometrika, 44, 443–460. Zumbo,
B. D., Gadermann, A. M., & Zeisser, C. (2007). Ordinal versions of coefficients alpha and
theta for Likert rating scales. Journal of Modern Applied Statistical Methods, 6, 21–29.
Gadermann, A. M., Guhn, M., & Zumbo, B. D. (2012). Estimating ordinal reliability for
Likert-type and ordinal item response data. Practical Assessment, Research & Evaluation,
17(3). Green, S. B., & Yang, Y. (2009). Reliability of summed item scores using structural
equation modeling: An alternative to coefficient alpha. Psychometrika, 74, 155–167.
Chalmers, R. P. (2018). On misconceptions and the limited usefulness of ordinal alpha.
Educational and Psychological Measurement, 78, 1056–1071."""


@dataclass(frozen=True)
class RunOptions:
    """The options of a run that change what its scores mean."""

    missing: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Per questionnaire id: the codes read as missing in its item columns."""
    invalid: str | None = None
    """How answers outside the allowed values were handled (``error`` or ``missing``);
    None where no data file was read (``alliance export``): then neither that nor the
    missing codes are described."""
    center: bool = False
    """Scale scores were split into person means and within-client deviations."""
    ordinal: bool = False
    """Ordinal reliability was reported too (``alliance reliability --ordinal``)."""
    quality: QualityOptions | None = None
    """Careless responding was screened (``--quality``) with these thresholds."""


def rows_sentence(read: int, left_out: Mapping[str, int]) -> str:
    """What a run did with the rows it read, for the methods paragraph of its codebook:
    ``Of the 400 rows read, 31 were left out as not finished (--finished-only); 369 were
    scored.``"""
    kept = read - sum(left_out.values())
    if not read:
        return "The input held no row."
    if not left_out:
        return (
            "The one row read was scored." if read == 1 else f"All {read:,} rows read were scored."
        )
    (first, n), *rest = left_out.items()
    parts = [f"{n:,} {'was' if n == 1 else 'were'} left out as {first}"]
    parts += [f"{m:,} as {reason}" for reason, m in rest]
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return (
        f"Of the {read:,} row{'s' * (read != 1)} read, {listed}; {kept:,} "
        f"{'was' if kept == 1 else 'were'} scored."
    )


def missing_codes(codes: Iterable[str]) -> tuple[str, ...]:
    """Missing codes as the column rules read them (numbers as numbers, text in any case),
    each once, numbers first: ``("-99", "88", "refused")``."""
    described = CellRules.of(list(codes), {}).describe()["missing"]
    unique = dict.fromkeys(c for c in described if c)  # a blank cell is missing anyway
    numeric = sorted((c for c in unique if number(c) is not None), key=lambda c: number(c) or 0)
    return (*numeric, *sorted(c for c in unique if number(c) is None))


def methods_paragraph(questionnaires: Sequence[Questionnaire], options: RunOptions) -> str:
    """The methods paragraph for these questionnaires, scored with these options."""
    parts = [f"Scores were computed with alliance {__version__}, from the definitions named here."]
    parts += [_questionnaire(q) for q in questionnaires]
    if any(s.reverse for q in questionnaires for s in q.scales.values()):
        parts.append(
            "A reversed item counted as min + max − x on its own response scale, in the scales "
            "that list it as reversed only."
        )
    if any(
        s.missing.on_missing is OnMissing.prorate for q in questionnaires for s in q.scales.values()
    ):
        parts.append(
            "A prorated score is the mean of the answered items (for a sum, that mean times the "
            "number of items) and is flagged as prorated; with fewer answered items than the "
            "rule needs, the score is withheld."
        )
    parts += [_not_applicable(q) for q in questionnaires if _na_codes(q)]
    if options.invalid is not None:
        parts.append(_missing(questionnaires, options.missing))
    if options.invalid == "error":
        parts.append(
            "Any answer outside the allowed values stopped the run, so every score rests on "
            "allowed answers only."
        )
    elif options.invalid == "missing":
        parts.append(
            "Answers outside the allowed values (out of range, off the step grid, or "
            "unreadable) were scored as missing (--invalid missing)."
        )
    if options.center:
        parts.append(
            "Each scale score was also split into the client's mean over their rows (person "
            "mean) and the deviation from it (within-client score), for multilevel models."
        )
    if options.quality is not None:
        parts.append(quality_sentence(options.quality))
    parts.append(
        "Reliability, where reported (alliance reliability), was computed as R computes it: "
        + "; ".join(
            f"{m.statistic} ({m.source}), from {m.how}, as {m.r}" for m in RELIABILITY_METHODS
        )
        + "."
    )
    if options.ordinal:
        parts.append(
            "Ordinal reliability (alliance reliability --ordinal): "
            + "; ".join(
                f"{m.statistic} ({m.source}), from {m.how}, as {m.r}" for m in ORDINAL_METHODS
            )
            + ". Ordinal alpha and ordinal omega describe the reliability of the continuous "
            "responses assumed to underlie the answers, not of the observed sum score "
            "(Chalmers, 2018); categorical omega is the reliability of the observed sum score."
        )
    return " ".join(parts)


def _questionnaire(q: Questionnaire) -> str:
    refs = "; ".join(parse_citation(c).short() for c in q.citations)
    scales = "; ".join(
        f"{s.name} = {s.method.value} of items {', '.join(s.items)}"
        + (f", reversed {_reversed(q, s.reverse)}" if s.reverse else "")
        + f" ({s.missing.describe(len(s.items))})"
        for s in q.scales.values()
    )
    reverse = "" if any(s.reverse for s in q.scales.values()) else "; no item was reversed"
    # A verified key needs only its primary source (the first); the notes after it are for
    # whoever edits the definition (cutoff variants, vendor heuristics). A partial or
    # unverified key needs every note: they say what is not verified.
    notes = q.key_sources[:1] if q.key_status.value == "verified" else q.key_sources
    sources = " ".join(_sentence(s) for s in notes)
    return (
        f"{q.id} ({q.title}; {refs}; alliance definition version {q.version}) was scored as "
        f"{scales}{reverse}. Its scoring key is {q.key_status.value}: {sources}"
    )


def _reversed(q: Questionnaire, items: Sequence[str]) -> str:
    by_formula: dict[str, list[str]] = {}
    for item in items:
        rs = q.scale_of(item)
        by_formula.setdefault(fmt_num(rs.min + rs.max), []).append(item)
    return " and ".join(f"{', '.join(ids)} as {k} − x" for k, ids in by_formula.items())


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if text.endswith((".", "!", "?")) else text + "."


def _na_codes(q: Questionnaire) -> dict[str, str]:
    scales = [q.response_scale, *(i.response_scale for i in q.items if i.response_scale)]
    return {
        fmt_num(code): rs.not_applicable.label
        for rs in scales
        if rs.not_applicable is not None
        for code in rs.not_applicable.values
    }


def _not_applicable(q: Questionnaire) -> str:
    found = _na_codes(q)
    codes = ", ".join(f'{code} ("{label}")' for code, label in found.items())
    return f"In {q.id}, the code{'s' * (len(found) > 1)} {codes} counted as unanswered."


def _missing(questionnaires: Sequence[Questionnaire], missing: Mapping[str, Sequence[str]]) -> str:
    codes = {q.id: missing_codes(missing.get(q.id, ())) for q in questionnaires}
    blank = 'Blank cells, "NA" and "." were missing'
    if any(_na_codes(q) for q in questionnaires):
        blank += ' ("NA" meant "does not apply" on items that offer that answer)'
    if len(set(codes.values())) <= 1:
        used = next(iter(codes.values()), ())
        if not used:
            return f"{blank}; no other code was read as missing."
        return f"{blank}, and so {_codes(used)}."
    return (
        f"{blank}, and so were these codes: "
        + "; ".join(f"{qid}: {', '.join(c) or 'none'}" for qid, c in codes.items())
        + "."
    )


def _codes(codes: Sequence[str]) -> str:
    return f"was the code {codes[0]}" if len(codes) == 1 else f"were the codes {', '.join(codes)}"


def quality_sentence(o: QualityOptions) -> str:
    """What ``--quality`` did, with its thresholds and sources, for the methods paragraph."""
    share = "all" if o.longstring_share >= 1 else f"{o.longstring_share:g} of the"
    kept = (
        "Flagged responses were removed from the output (--drop-flagged), their number reported."
        if o.drop_flagged
        else "Flagged responses were kept and marked, not removed."
    )
    return (
        "Careless responding was screened per response on the raw answers (not reverse-keyed) "
        "with the indices of R careless 1.2.2 (Yentes & Wilhelm, 2023): longstring, the "
        "longest run of identical consecutive answers, a missing answer breaking the run "
        f"(Johnson, 2005), flagged when it spanned {share} items; intra-individual response "
        "variability, the SD (n − 1) of the answers (Dunn et al., 2018), flagged at or below "
        f"{o.irv_max:g}; Mahalanobis D² from the item means and the pairwise-complete "
        "covariance matrix, a response with missing answers taking the terms of its answered "
        "items (as psych::outlier; Meade & Craig, 2012), flagged when p < "
        f"{o.mahad_alpha:g} against chi-square with df = items (Tabachnick & Fidell, 2013); "
        "psychometric synonyms and "
        "antonyms, the within-person correlation across the item pairs correlating above "
        f"{o.synonym_r:g} (below −{o.synonym_r:g}) in the sample, where a response answered "
        f"more than two such pairs (Meade & Craig, 2012), {_synonym_flags(o)}; and, where the "
        "data held a duration, seconds "
        f"per item, flagged under {o.seconds_per_item:g} s (Huang et al., 2012). {kept}"
    )


def _synonym_flags(o: QualityOptions) -> str:
    """How the synonym and antonym indices were flagged, if at all."""
    given = [
        f"{side} flagged {word} {cut:g}"
        for side, word, cut in (
            ("synonyms", "below", o.psychsyn_below),
            ("antonyms", "above", o.psychant_above),
        )
        if cut is not None
    ]
    if not given:
        return (
            "reported without a flag (no cutoff is published, and on a short one-factor form "
            "attentive responses' synonym correlations lie near or below zero)"
        )
    return " and ".join(given)
