"""Cross-field invariants of the definition format, written once for two callers.

Each check reads its object through :mod:`alliance_cli.tolerant`, so it works on a validated
model *and* on the raw YAML document. The models' validators run them on themselves (and raise,
so a definition built in Python is checked); the loader runs :func:`check_document` over the
raw document, so an invariant is reported even when another field of the same object is wrong
— one run of ``alliance validate`` shows every problem. Checks skip values that are not yet the
right type: those are reported as field errors. :func:`check_ranges` needs what only a
validated questionnaire knows (each item's response scale, a scale's possible range) and runs
on the model alone.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from pydantic_core import PydanticCustomError

from alliance_cli.text import fmt_num, id_list, normalize_label
from alliance_cli.tolerant import as_id, duplicates, get, ids, is_obj, number, seq

if TYPE_CHECKING:
    from alliance_cli.model import Questionnaire

Path = tuple[str | int, ...]


def render_path(path: Path) -> str:
    """``("scales", "goal", "items", 3)`` → ``scales.goal.items[3]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


class Found:
    """Collects violations so a check reports all of them at once."""

    def __init__(self) -> None:
        self.problems: list[tuple[Path, str, str]] = []

    def add(self, path: Path, code: str, message: str) -> None:
        self.problems.append((path, code, message))

    def raise_if_any(self) -> None:
        """Raise one ``invariants`` error carrying every violation and its relative path."""
        if self.problems:
            summary = "; ".join(
                f"{render_path(path) or '<root>'}: {message}" for path, _, message in self.problems
            )
            raise PydanticCustomError(
                "invariants", "{summary}", {"summary": summary, "problems": tuple(self.problems)}
            )


# -- the checks --------------------------------------------------------------------------------


def check_response_scale(rs: Any, found: Found, path: Path = ()) -> None:
    """Range, step, exclusions, labels inside the range and distinct, n/a codes outside it.
    What a point and an allowed answer are is the scoring engine's rule
    (:func:`~alliance_cli.scoring.answer_reasons`)."""
    # Imported here: numpy loads only when a definition is checked.
    from alliance_cli.scoring import Reason, answer_reasons

    lo, hi = number(get(rs, "min")), number(get(rs, "max"))
    step = number(get(rs, "step", 1))
    if lo is None or hi is None or step is None or step <= 0:
        return
    if lo >= hi:
        found.add((*path, "max"), "range", f"max ({fmt_num(hi)}) must be above min ({fmt_num(lo)})")
        return
    if not math.isfinite((hi - lo) / step):
        found.add(
            (*path, "step"),
            "step",
            f"step {fmt_num(step)} from {fmt_num(lo)} to {fmt_num(hi)} makes more points "
            "than a number can count; use a larger step or a smaller range",
        )
        return

    def points(values: list[float]) -> list[bool]:  # in range and on the grid
        return [r is Reason.ok for r in answer_reasons(values, lo, hi, step)]

    def answers(values: list[float]) -> list[bool]:  # points that are not excluded
        return [r is Reason.ok for r in answer_reasons(values, lo, hi, step, excluded)]

    excluded = [x for x in map(number, seq(get(rs, "exclude"))) if x is not None]
    text = f"{fmt_num(lo)}–{fmt_num(hi)}" + (f" in steps of {fmt_num(step)}" if step != 1 else "")
    if not points([hi])[0]:
        found.add(
            (*path, "step"),
            "step",
            f"step {fmt_num(step)} does not lead from {fmt_num(lo)} to {fmt_num(hi)}",
        )
    exclude = [
        (i, x) for i, v in enumerate(seq(get(rs, "exclude"))) if (x := number(v)) is not None
    ]
    for (i, x), ok in zip(exclude, points([x for _, x in exclude]), strict=True):
        if not ok:
            found.add(
                (*path, "exclude", i), "exclude", f"{fmt_num(x)} is not a point of the scale {text}"
            )
    labels = get(rs, "labels")
    seen: dict[str, float] = {}
    if isinstance(labels, dict):
        read = [(v, label) for key, label in labels.items() if (v := number(key)) is not None]
        for (value, label), ok in zip(read, answers([v for v, _ in read]), strict=True):
            if not ok:
                found.add(
                    (*path, "labels", fmt_num(value)),
                    "label-range",
                    f"label for {fmt_num(value)} is not an allowed answer ({text})",
                )
            if isinstance(label, str):
                norm = normalize_label(label)
                if norm in seen:
                    found.add(
                        (*path, "labels", fmt_num(value)),
                        "label-duplicate",
                        f'label "{label}" is used for both {fmt_num(seen[norm])} and '
                        f"{fmt_num(value)}",
                    )
                seen[norm] = value
    na = get(rs, "not_applicable")
    if is_obj(na):
        codes = [
            (i, x) for i, c in enumerate(seq(get(na, "values"))) if (x := number(c)) is not None
        ]
        for (i, x), ok in zip(codes, answers([x for _, x in codes]), strict=True):
            if ok:
                found.add(
                    (*path, "not_applicable", "values", i),
                    "na-code",
                    f"'does not apply' code {fmt_num(x)} is also an allowed answer "
                    f"({text}); pick a code outside the range",
                )
        label = get(na, "label", "Does not apply")
        if isinstance(label, str) and normalize_label(label) in seen:
            found.add(
                (*path, "not_applicable", "label"),
                "label-duplicate",
                f'label "{label}" is also a scale point label',
            )


def check_missing(rule: Any, found: Found, path: Path = (), n_items: int | None = None) -> None:
    """One minimum at most; a minimum only with prorating; a minimum that can be met."""
    min_answered = get(rule, "min_answered")
    has_count = isinstance(min_answered, int) and not isinstance(min_answered, bool)
    has_share = number(get(rule, "min_proportion")) is not None
    on_missing = get(rule, "on_missing", "withhold")
    if has_count and has_share:
        found.add(
            (*path, "min_proportion"),
            "missing-both",
            "give either min_answered or min_proportion, not both",
        )
    if on_missing == "withhold" and (has_count or has_share):
        found.add(
            (*path, "on_missing"),
            "missing-rule",
            "with on_missing: withhold every item is required, so a minimum has no effect; "
            "use on_missing: prorate or drop the minimum",
        )
    if on_missing == "prorate" and not (has_count or has_share):
        found.add(
            (*path, "on_missing"),
            "missing-rule",
            "on_missing: prorate needs min_answered or min_proportion",
        )
    if has_count and n_items and min_answered > n_items:
        found.add(
            (*path, "min_answered"),
            "missing-unmeetable",
            f"min_answered {min_answered} can never be met: the scale has {n_items} "
            + ("item" if n_items == 1 else "items"),
        )


BOUND_WORDS = {"above": "above", "at_least": "at least", "below": "below", "at_most": "at most"}


def check_threshold(rule: Any, found: Found, path: Path = ()) -> None:
    """Bounds spelled out: at most one lower and one upper, at least one, a non-empty range."""
    bounds = {k: number(get(rule, k)) for k in BOUND_WORDS}
    if bounds["below"] is not None and bounds["at_most"] is not None:
        found.add((*path, "at_most"), "bound-both", "give either below or at_most, not both")
    if bounds["above"] is not None and bounds["at_least"] is not None:
        found.add((*path, "at_least"), "bound-both", "give either above or at_least, not both")
    given = {k: v for k, v in bounds.items() if v is not None}
    if not given and not any(get(rule, k) is not None for k in BOUND_WORDS):
        found.add(path, "bound-none", "give at least one of below, at_most, above, at_least")
    lower = next(((k, v) for k, v in given.items() if k in ("above", "at_least")), None)
    upper = next(((k, v) for k, v in given.items() if k in ("below", "at_most")), None)
    if lower and upper and lower[1] >= upper[1]:
        rule_text = " and ".join(f"{BOUND_WORDS[k]} {fmt_num(v)}" for k, v in (lower, upper))
        found.add((*path, upper[0]), "bound-order", f"the range is empty: score {rule_text}")


def check_norm(norm: Any, found: Found, path: Path = ()) -> None:
    if all(get(norm, k) is None for k in ("mean", "sd", "reliability")):
        found.add(path, "norm-empty", "a norm needs at least one of mean, sd, reliability")


def check_scale(scale: Any, found: Found, path: Path = ()) -> None:
    """Items listed once; reverse items are members; the missing rule, bands and norms."""
    members = ids(get(scale, "items"))
    for i, item in duplicates(members):
        found.add((*path, "items", i), "duplicate-id", f'item "{item}" is listed twice')
    reverse = seq(get(scale, "reverse"))
    for i, raw in enumerate(reverse):
        rev = as_id(raw)
        if rev is not None and members and rev not in members:
            found.add(
                (*path, "reverse", i),
                "reverse-not-member",
                f'reverse item "{rev}" is not one of this scale\'s items ({id_list(members)})',
            )
    for i, item in duplicates(ids(reverse)):
        found.add((*path, "reverse", i), "duplicate-id", f'item "{item}" is reversed twice')
    rule = get(scale, "missing")
    if is_obj(rule):
        check_missing(rule, found, (*path, "missing"), len(members))
    bands = seq(get(scale, "bands"))
    for b, band in enumerate(bands):
        if is_obj(band):
            check_threshold(band, found, (*path, "bands", b))
    for i, band_id in duplicates(ids([get(b, "id") for b in bands if is_obj(b)])):
        found.add((*path, "bands", i, "id"), "duplicate-id", f'band id "{band_id}" is used twice')
    for n, norm in enumerate(seq(get(scale, "norms"))):
        if is_obj(norm):
            check_norm(norm, found, (*path, "norms", n))


def check_references(data: Any, found: Found) -> None:
    """Item ids unique; every item a scale, a reverse list or an item rule names exists."""
    items = get(data, "items")
    entries = [
        (i, item_id)
        for i, item in enumerate(seq(items))
        if is_obj(item) and (item_id := as_id(get(item, "id"))) is not None
    ]
    all_ids = [item_id for _, item_id in entries]
    for dup, item_id in duplicates(all_ids):
        found.add(
            ("items", entries[dup][0], "id"), "duplicate-id", f'item id "{item_id}" is used twice'
        )
    known = set(all_ids)

    def refs(path: Path, values: Any) -> None:
        if not known or not isinstance(values, list | tuple):
            return
        for i, value in enumerate(values):
            item_id = as_id(value)
            if item_id is not None and item_id not in known:
                found.add(
                    (*path, i),
                    "unknown-item",
                    f'item "{item_id}" is not defined (items are {id_list(all_ids)})',
                )

    scales = get(data, "scales")
    if isinstance(scales, dict):
        for scale_id, scale in scales.items():
            if is_obj(scale):
                # A reverse item must be one of the scale's items (check_scale says so), which
                # are checked here: one problem per mistake, not a second for the same entry.
                refs(("scales", str(scale_id), "items"), get(scale, "items"))
    rules = seq(get(data, "item_rules"))
    for r, rule in enumerate(rules):
        if is_obj(rule):
            refs(("item_rules", r, "items"), get(rule, "items"))
    alerts = get(data, "alerts")
    watched = get(alerts, "scales") if is_obj(alerts) else None
    if isinstance(scales, dict) and isinstance(watched, list | tuple):
        names = [str(k) for k in scales]
        for i, scale_id in enumerate(watched):
            if as_id(scale_id) is not None and as_id(scale_id) not in names:
                found.add(
                    ("alerts", "scales", i),
                    "unknown-scale",
                    f'scale "{scale_id}" is not defined (scales are {id_list(names)})',
                )
    rule_ids = ids([get(rule, "id") for rule in rules if is_obj(rule)])
    for i, rule_id in duplicates(rule_ids):
        found.add(("item_rules", i, "id"), "duplicate-id", f'rule id "{rule_id}" is used twice')


def check_drop(rule: Any, found: Found, path: Path = ()) -> None:
    """A threshold given in points (drop: at_least; reliable change: points) needs a source."""
    for key in ("at_least", "points"):
        if number(get(rule, key)) is not None and get(rule, "source") is None:
            found.add((*path, "source"), "rule-source", f"a rule with {key} needs its source")


def check_document(data: Any, found: Found) -> None:
    """Every check above, over a raw definition document, with paths from its root."""
    if not isinstance(data, dict):
        return
    if is_obj(data.get("response_scale")):
        check_response_scale(data["response_scale"], found, ("response_scale",))
    for i, item in enumerate(seq(data.get("items"))):
        if is_obj(item) and is_obj(get(item, "response_scale")):
            check_response_scale(item["response_scale"], found, ("items", i, "response_scale"))
    scales = data.get("scales")
    for scale_id, scale in scales.items() if isinstance(scales, dict) else ():
        if is_obj(scale):
            check_scale(scale, found, ("scales", str(scale_id)))
    for r, rule in enumerate(seq(data.get("item_rules"))):
        if is_obj(rule):
            check_threshold(rule, found, ("item_rules", r))
    for name in ("drop", "reliable_change"):
        rule = get(data.get("alerts"), name)
        if is_obj(rule):
            check_drop(rule, found, ("alerts", name))
    check_references(data, found)


def check_ranges(q: Questionnaire, found: Found) -> None:
    """Bands, norms and item rules inside the possible range of what they judge; proration
    only over items that share a range."""
    item_ids = q.item_ids()
    known = set(item_ids)
    for scale_id, scale in q.scales.items():
        if any(item_id not in known for item_id in scale.items):
            continue
        ranges = {(q.scale_of(i).min, q.scale_of(i).max) for i in scale.items}
        if scale.missing.on_missing == "prorate" and len(ranges) > 1:
            found.add(
                ("scales", scale_id, "missing", "on_missing"),
                "prorate-mixed",
                "prorating needs items that share one range; this scale mixes "
                + ", ".join(f"{fmt_num(lo)}–{fmt_num(hi)}" for lo, hi in sorted(ranges)),
            )
        lo, hi = q.scale_range(scale_id)
        if not math.isfinite(hi - lo):
            found.add(
                ("scales", scale_id, "items"),
                "scale-range",
                f"the {scale.method.value} of these items can pass the largest number; "
                "use a smaller response range",
            )
            continue
        for b, band in enumerate(scale.bands):
            for key, value in band.bounds():
                if not lo <= value <= hi:
                    found.add(
                        ("scales", scale_id, "bands", b, key),
                        "band-range",
                        f"{key}: {fmt_num(value)} lies outside the scale's range "
                        f"{fmt_num(lo)}–{fmt_num(hi)} ({scale.method.value})",
                    )
        for nrm, norm in enumerate(scale.norms):
            if norm.sd is not None and not math.isfinite((hi - lo) / norm.sd):
                found.add(
                    ("scales", scale_id, "norms", nrm, "sd"),
                    "norm-sd",
                    f"sd {fmt_num(norm.sd)} is too small for the scale's range "
                    f"{fmt_num(lo)}–{fmt_num(hi)}: a z score would not be a number",
                )
            if norm.mean is not None and not lo <= norm.mean <= hi:
                found.add(
                    ("scales", scale_id, "norms", nrm, "mean"),
                    "norm-range",
                    f"mean {fmt_num(norm.mean)} lies outside the scale's range "
                    f"{fmt_num(lo)}–{fmt_num(hi)} ({scale.method.value}); norms use "
                    "the scale's own metric",
                )
    for r, rule in enumerate(q.item_rules):
        for item_id in rule.items or item_ids:
            if item_id not in known:
                continue
            rs = q.scale_of(item_id)
            for key, value in rule.bounds():
                if not rs.min <= value <= rs.max:
                    found.add(
                        ("item_rules", r, key),
                        "rule-range",
                        f"{key}: {fmt_num(value)} lies outside item "
                        f'"{item_id}"\'s range {rs.describe()}',
                    )
