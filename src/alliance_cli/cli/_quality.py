"""The careless-response screening options of `batch --quality` and `quality`: one
definition of each threshold, with its source, so both commands mean the same."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from alliance_cli.research.quality.rules import QualityOptions

DurationOpt = Annotated[
    str | None,
    typer.Option(
        "--duration-column",
        metavar="COL",
        help="Column of each response's duration in seconds: seconds per item and the speed "
        "flag. Default: Qualtrics' 'Duration (in seconds)' when every input has it.",
        show_default=False,
    ),
]
LongstringOpt = Annotated[
    float,
    typer.Option(
        "--longstring-share",
        min=0.0,
        max=1.0,
        metavar="SHARE",
        help="Flag a longstring (longest run of identical answers; Johnson 2005) of at "
        "least this share of the items, rounded up: 1 = the whole form straight-lined; "
        "Curran (2016) suggests 0.5.",
    ),
]
IrvOpt = Annotated[
    float,
    typer.Option(
        "--irv-max",
        min=0.0,
        metavar="SD",
        help="Flag an IRV (SD of the response's answers; Dunn et al. 2018) at or below this.",
    ),
]
MahadOpt = Annotated[
    float,
    typer.Option(
        "--mahad-alpha",
        min=0.0,
        max=1.0,
        metavar="P",
        help="Flag a Mahalanobis D² (Meade & Craig 2012) whose chi-square p (df = items) is "
        "below this.",
    ),
]
SynonymOpt = Annotated[
    float,
    typer.Option(
        "--synonym-r",
        min=0.0,
        max=1.0,
        metavar="R",
        help="Item pairs correlating above R are psychometric synonyms, below −R antonyms "
        "(Meade & Craig 2012; careless's critval).",
    ),
]
SynBelowOpt = Annotated[
    float | None,
    typer.Option(
        "--psychsyn-below",
        min=-1.0,
        max=1.0,
        metavar="R",
        help="Flag a within-person synonym correlation below this (default: no flag; no "
        "cutoff is published).",
        show_default=False,
    ),
]
AntAboveOpt = Annotated[
    float | None,
    typer.Option(
        "--psychant-above",
        min=-1.0,
        max=1.0,
        metavar="R",
        help="Flag a within-person antonym correlation above this (default: no flag).",
        show_default=False,
    ),
]
SpeedOpt = Annotated[
    float,
    typer.Option(
        "--seconds-per-item",
        min=0.0,
        metavar="S",
        help="Flag fewer seconds per item than this (Huang et al. 2012: 2).",
    ),
]


def quality_options(params: Mapping[str, Any], *, drop_flagged: bool = False) -> QualityOptions:
    """The library's thresholds from the options above as a command parsed them."""
    from alliance_cli.research.quality.rules import QualityOptions

    return QualityOptions(
        longstring_share=float(params["longstring_share"]),
        irv_max=float(params["irv_max"]),
        mahad_alpha=float(params["mahad_alpha"]),
        synonym_r=float(params["synonym_r"]),
        psychsyn_below=_cut(params["psychsyn_below"]),
        psychant_above=_cut(params["psychant_above"]),
        seconds_per_item=float(params["seconds_per_item"]),
        duration_column=params["duration_column"],
        drop_flagged=drop_flagged,
    )


def _cut(value: Any) -> float | None:
    return None if value is None else float(value)
