"""Linear mixed models in lme4's syntax: the fit, its degrees of freedom, tests and bootstrap.

A fit runs in four stages, each in its own module:

1. formula and design -- :mod:`~mixedtools.lmm.formula` parses lme4's syntax and
   :mod:`~mixedtools.lmm.design` builds the fixed- and random-effects design;
2. the covariance structure -- :mod:`~mixedtools.lmm.reml` (one grouping factor, blockwise) or
   :mod:`~mixedtools.lmm.pls` (any number of terms, lme4's sparse penalised least squares);
3. the optimiser -- :mod:`~mixedtools.lmm.optimize`;
4. the result -- :mod:`~mixedtools.lmm.results`, with the df methods of :mod:`~mixedtools.lmm.ddf`.

Around the fit: :mod:`~mixedtools.lmm.likelihood_ratio` (likelihood-ratio tests),
:mod:`~mixedtools.lmm.bootstrap`
(parametric bootstrap), :mod:`~mixedtools.lmm.explained` (variance explained per level) and
:mod:`~mixedtools.lmm.covstruct` (the marginal covariance matrices of common designs) and
:mod:`~mixedtools.lmm.marginal` (estimated marginal means and pairwise contrasts, ``emmeans``).
"""

from mixedtools.lmm import bootstrap, covstruct, ddf, explained, pls, reml
from mixedtools.lmm.fit import (
    LmerConvergenceWarning,
    LmerResult,
    LmerWarning,
    SingularFitWarning,
    lmer,
)
from mixedtools.lmm.likelihood_ratio import lrt
from mixedtools.lmm.marginal import EMMeans, emmeans, pairs

__all__ = [
    "bootstrap",
    "covstruct",
    "ddf",
    "explained",
    "pls",
    "reml",
    "lmer",
    "lrt",
    "LmerResult",
    "LmerWarning",
    "SingularFitWarning",
    "LmerConvergenceWarning",
    "emmeans",
    "pairs",
    "EMMeans",
]
