"""alliance: score therapeutic working-alliance questionnaires, locally.

Library API (no printing, no exiting; errors are :class:`alliance_cli.errors.UserError`)::

    from alliance_cli import Catalog, load_definition, score
    q = Catalog.from_environment().get("wai-sr")
    report = score(q, "5,4,4,5,3,4,5,4,4,5,4,4")
    report.scales[0].score

Heavy modules load on first use, so ``import alliance_cli`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["Catalog", "Questionnaire", "ScoreReport", "__version__", "load_definition", "score"]

if TYPE_CHECKING:
    from alliance_cli.catalog import Catalog
    from alliance_cli.definitions import load_definition
    from alliance_cli.model import Questionnaire
    from alliance_cli.result import ScoreReport, score


def __getattr__(name: str) -> Any:
    if name == "Catalog":
        from alliance_cli.catalog import Catalog

        return Catalog
    if name == "load_definition":
        from alliance_cli.definitions import load_definition

        return load_definition
    if name == "Questionnaire":
        from alliance_cli.model import Questionnaire

        return Questionnaire
    if name in ("ScoreReport", "score"):
        from alliance_cli import result

        return getattr(result, name)
    raise AttributeError(name)
