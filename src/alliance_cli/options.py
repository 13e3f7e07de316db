"""The choices of options that several layers share, each once, as ``str`` enums.

Standard library only (no pandas, no pydantic), so that ``alliance --help`` can build every
command's options from them without loading the scoring or batch stack.
"""

from __future__ import annotations

from enum import StrEnum


class Respondent(StrEnum):
    # Who answered a questionnaire. (No docstring: the definition format's JSON Schema would
    # carry it as a description.)

    client = "client"
    therapist = "therapist"
    observer = "observer"


class Method(StrEnum):
    # A scale's reported score, sum or mean of its keyed items: here so that the scoring
    # engine need not import the definition models. (No docstring, as for Respondent.)

    sum = "sum"
    mean = "mean"


class Modality(StrEnum):
    """How a session took place."""

    in_person = "in-person"
    video = "video"
    phone = "phone"
    other = "other"


MODALITIES = tuple(m.value for m in Modality)


class Shape(StrEnum):
    """A score table's shape: ``long`` (a row per response × scale) or ``wide`` (a row per
    response)."""

    long = "long"
    wide = "wide"


class InvalidPolicy(StrEnum):
    """What a cell that is not an allowed answer does: stop the run, or count as missing."""

    error = "error"
    missing = "missing"


class ColumnSet(StrEnum):
    """Which score columns a batch output has (:mod:`alliance_cli.research.scoretable`)."""

    compact = "compact"
    all = "all"


class Engine(StrEnum):
    """Who scores a batch's chunks (:mod:`alliance_cli.research.engines`)."""

    local = "local"
    dask = "dask"


class Source(StrEnum):
    """Which survey tool made a data file (or ``auto``: recognised from its columns)."""

    auto = "auto"
    qualtrics = "qualtrics"
    redcap = "redcap"
    plain = "plain"
