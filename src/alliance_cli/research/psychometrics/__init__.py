"""Reliability of a scale, computed the way R ``psych`` computes it.

Every function takes a rows × items float matrix for ONE scale (``NaN`` = missing), with the
items already keyed (reverse items reversed); :func:`scale_items` builds that matrix from raw
answers with the scoring engine's own rule. For many scales of one large matrix,
:func:`answered` checks the cells once, :func:`pairwise` takes every pairwise moment in one
pass of matrix products, and :func:`keyed_items`, :meth:`Pairwise.keyed`, :func:`alpha_of`
and :func:`omega_of` derive each scale's statistics from those without another pass.
Results are small frozen dataclasses; nothing is printed. The numbers are pinned against
R 4.2 / psych 2.2.9 in ``tests/research/psychref.py`` (data and the R script in
``tests/data/psych/``).

Conventions taken from psych, so that results agree with it:

* covariances and correlations with missing data are *pairwise* (R ``cov``/``cor`` with
  ``use = "pairwise"``), as ``psych::alpha`` and ``psych::omega`` default to;
  ``use="complete"`` drops incomplete rows first (listwise deletion);
* standard deviations divide by n − 1.

Ordinal items have their own modules: :mod:`.polychoric` (polychoric correlations as
``psych::polychoric``, from streamed count tables) and :mod:`.ordinal` (ordinal alpha and
omega, categorical omega), pinned against R psych, lavaan and semTools in
``tests/research/test_ordinal.py``.

Unbalanced repeated measures have their own module, :mod:`.twolevel`: the within- and
between-client alphas of Geldhof et al. (2014), pinned against R lavaan in
``tests/research/test_twolevel.py``.
"""

from alliance_cli.research.psychometrics._base import (
    Descriptives,
    Pairwise,
    PairwiseSums,
    ScaleItems,
    ScoreSums,
    answered,
    describe,
    keyed_items,
    pairwise,
    scale_items,
)
from alliance_cli.research.psychometrics.alpha import (
    Alpha,
    ItemStats,
    alpha,
    alpha_of,
    feldt_ci,
)
from alliance_cli.research.psychometrics.multilevel import (
    ICC,
    Multilevel,
    icc1,
    icc_of,
    multilevel_reliability,
)
from alliance_cli.research.psychometrics.omega import (
    Omega,
    OneFactor,
    minres_one_factor,
    omega,
    omega_of,
)
from alliance_cli.research.psychometrics.ordinal import (
    OrdinalReliability,
    OrdinalSums,
    categorical_omega,
    ordinal_of,
)
from alliance_cli.research.psychometrics.polychoric import (
    CategorySums,
    Polychoric,
    polychoric,
    polychoric_of,
)
from alliance_cli.research.psychometrics.twolevel import (
    TwoLevelAlpha,
    WithinBetween,
    alpha_within_between,
    two_level_alpha,
    within_between,
    within_between_of,
)

__all__ = [
    "ICC",
    "Alpha",
    "CategorySums",
    "Descriptives",
    "ItemStats",
    "Multilevel",
    "Omega",
    "OneFactor",
    "OrdinalReliability",
    "OrdinalSums",
    "Pairwise",
    "PairwiseSums",
    "Polychoric",
    "ScaleItems",
    "ScoreSums",
    "TwoLevelAlpha",
    "WithinBetween",
    "alpha",
    "alpha_of",
    "alpha_within_between",
    "answered",
    "categorical_omega",
    "describe",
    "feldt_ci",
    "icc1",
    "icc_of",
    "keyed_items",
    "minres_one_factor",
    "multilevel_reliability",
    "omega",
    "omega_of",
    "ordinal_of",
    "pairwise",
    "polychoric",
    "polychoric_of",
    "scale_items",
    "two_level_alpha",
    "within_between",
    "within_between_of",
]
