"""Reading a definition that may not be valid yet: the same getters serve a raw YAML
document and a validated model, and skip what is not yet the right type (the model reports
that as a field error), so that :mod:`alliance_cli.invariants` is written once for both."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel


def is_obj(value: Any) -> bool:
    return isinstance(value, dict | BaseModel)


def get(obj: Any, key: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(key, default)
    return getattr(obj, key, default)


def number(value: Any) -> float | None:
    """A finite number as written, else None (the field check reports it; YAML reads
    ``1`` followed by 400 zeros as an int no float can hold)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        with contextlib.suppress(OverflowError):
            if math.isfinite(value):
                return float(value)
    return None


def as_id(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def seq(value: Any) -> list[Any] | tuple[Any, ...]:
    """A list as written, or nothing when the document has something else there (``items: 5``
    is a field error the model reports; the cross-field checks just have no entries)."""
    return value if isinstance(value, list | tuple) else ()


def ids(value: Any) -> list[str]:
    """The ids of a list, skipping entries that are not ids (field errors report those)."""
    if not isinstance(value, list | tuple):
        return []
    return [i for i in map(as_id, value) if i is not None]


def duplicates(values: Iterable[str]) -> list[tuple[int, str]]:
    seen: set[str] = set()
    out = []
    for i, value in enumerate(values):
        if value in seen:
            out.append((i, value))
        seen.add(value)
    return out
