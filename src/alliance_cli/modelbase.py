"""What every model of the definition format shares: the base model's configuration, the
field types (ids, text, strict numbers), the small enumerations, and how a validator hands an
invariant to ``invariants.py`` (raised at once, or collected by the loader)."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, Any, TypeVar

from pydantic import (
    AllowInfNan,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    ValidationInfo,
)

from alliance_cli.invariants import Found

# Validation-context key: when present, the invariants run on the raw document and their
# problems are appended to this list instead of raised (the loader uses it to report field
# errors and invariant errors in one run).
COLLECT = "alliance.collect"


def _id_from_number(value: Any) -> Any:
    # YAML reads `id: 1` and `items: [4, 6]` as integers; item ids are text. Booleans are a
    # YAML 1.1 trap the loader reports separately, so they are left to fail here.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


Id = Annotated[
    str,
    BeforeValidator(_id_from_number),
    Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$", max_length=64),
]
Text = Annotated[str, Field(min_length=1)]
# A boolean is not a number: lax pydantic reads YAML `true` as 1 (`max: true` made a 1–1
# scale, `min: false` a 0). Strict numbers refuse it and quoted text; an int is still a float.
# `.inf` and `.nan` are YAML numbers too, but no score can be computed on them.
Number = Annotated[float, Strict(), AllowInfNan(False)]
Count = Annotated[int, Strict()]


def _not_a_boolean(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    return value


# Label keys are text in JSON (`show --json` reads back into the model), so "1" must pass.
LabelKey = Annotated[float, BeforeValidator(_not_a_boolean), AllowInfNan(False)]


class KeyStatus(StrEnum):
    verified = "verified"
    partial = "partial"
    unverified = "unverified"


class Direction(StrEnum):
    better = "better"
    worse = "worse"


class OnMissing(StrEnum):
    prorate = "prorate"
    withhold = "withhold"


class Model(BaseModel):
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        # Validators and serializers are built on first use, not at import: a command that
        # validates nothing (a cached definition, --help) does not pay for 20-odd models.
        defer_build=True,
    )


def collecting(info: ValidationInfo) -> bool:
    return isinstance(info.context, dict) and COLLECT in info.context


_M = TypeVar("_M", bound=BaseModel)


def checked(model: _M, info: ValidationInfo, check: Callable[[Any, Found], None]) -> _M:
    """Run an invariant on a validated model and raise what it finds — unless the loader is
    collecting, which runs every check on the raw document instead."""
    if not collecting(info):
        found = Found()
        check(model, found)
        found.raise_if_any()
    return model
