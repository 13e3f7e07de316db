"""An independent reference scorer for the fuzz suites: written from the README's rules
(reverse keys as min + max − x on the item's own scale; a sum or a mean; the missing-data
rule, proration, "does not apply" as not answered), reading the YAML with PyYAML alone. It
shares no code with ``alliance_cli``, so an agreement between the two is evidence."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

NA = "NA"  # an answer of "does not apply"
Answer = float | str | None  # a number, NA, or None (not answered)
EPS = 1e-9


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def item_ids(defn: Mapping[str, Any]) -> list[str]:
    return [str(item["id"]) for item in defn["items"]]


def item_scale(defn: Mapping[str, Any], item: str) -> dict[str, Any]:
    for entry in defn["items"]:
        if str(entry["id"]) == item and entry.get("response_scale"):
            return dict(entry["response_scale"])
    return dict(defn["response_scale"])


def na_codes(defn: Mapping[str, Any], item: str) -> list[float]:
    na = item_scale(defn, item).get("not_applicable") or {}
    return [float(v) for v in na.get("values", [])]


def allowed(defn: Mapping[str, Any], item: str, value: float) -> bool:
    """In range, on the step grid from the minimum, not an excluded value."""
    rs = item_scale(defn, item)
    low, high, step = float(rs["min"]), float(rs["max"]), float(rs.get("step", 1))
    if not (math.isfinite(value) and low - EPS <= value <= high + EPS):
        return False
    steps = (value - low) / step
    if abs(steps - round(steps)) > 1e-6:
        return False
    return all(abs(value - float(x)) > EPS for x in rs.get("exclude") or [])


def scale_scores(defn: Mapping[str, Any], answers: Mapping[str, Answer]) -> dict[str, float | None]:
    """Each scale's reported score (its ``method``), or None where it is withheld. Every
    numeric answer must be allowed (the caller checks with :func:`allowed`)."""
    out: dict[str, float | None] = {}
    for sid, scale in defn["scales"].items():
        members = [str(i) for i in scale["items"]]
        reverse = {str(i) for i in scale.get("reverse") or []}
        values: list[float] = []
        for item in members:
            value = answers.get(item)
            if value is None or value == NA:
                continue
            assert isinstance(value, float | int)
            if item in reverse:
                rs = item_scale(defn, item)
                value = float(rs["min"]) + float(rs["max"]) - float(value)
            values.append(float(value))
        n = len(members)
        rule = scale.get("missing") or {}
        if "min_answered" in rule:
            needed = float(rule["min_answered"])
        elif "min_proportion" in rule:
            needed = float(rule["min_proportion"]) * n
        else:
            needed = float(n)
        complete = len(values) == n
        if not values or (not complete and (len(values) < needed - EPS)):
            out[sid] = None
            continue
        if not complete and rule.get("on_missing", "withhold") != "prorate":
            out[sid] = None
            continue
        mean = sum(values) / len(values)
        out[sid] = mean if scale["method"] == "mean" else (sum(values) if complete else mean * n)
    return out


def close(a: float | None, b: float | None, tol: float = 1e-9) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=tol, abs_tol=tol)
