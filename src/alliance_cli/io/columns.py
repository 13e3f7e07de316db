"""One column of an output table, as its codebook describes it (every writer's column type)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Column:
    """One column of an output table, as its codebook describes it."""

    name: str
    type: str
    """``integer``, ``number``, ``text`` or ``boolean`` (written ``true``/``false``)."""
    meaning: str
    allowed: str | list[str] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "meaning": self.meaning,
            "type": self.type,
            "allowed": self.allowed,
        }
