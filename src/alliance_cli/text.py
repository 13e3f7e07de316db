"""Small formatting helpers every job shares: numbers as a clinician writes them, changes
between sessions, labels compared as a reader would, lists of ids."""

from __future__ import annotations

import math
from collections.abc import Iterable


def fmt_num(value: float) -> str:
    """Render a number the way a clinician writes it: ``36`` not ``36.0``, ``7.5`` as is."""
    if isinstance(value, float) and math.isnan(value):
        return ""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.6g}"


def fmt_change(value: float | None) -> str:
    """A change between sessions: ``+0.5``, ``-1``, ``±0``; empty when there is none."""
    if value is None:
        return ""
    if abs(value) < 1e-9:
        return "±0"
    return f"{value:+.2f}".rstrip("0").rstrip(".")


def normalize_label(label: str) -> str:
    return " ".join(label.casefold().split())


def id_list(ids: Iterable[str]) -> str:
    """``"1", "2", "3"`` or, for long lists, ``"1"…"12"``."""
    unique = list(dict.fromkeys(ids))
    if len(unique) > 6:
        return f'"{unique[0]}"…"{unique[-1]}"'
    return ", ".join(f'"{i}"' for i in unique)
