"""Linear mixed models in lme4's syntax: the fit, its degrees of freedom, tests and bootstrap.

A fit runs in four stages, each in its own module:

1. formula and design -- :mod:`~mixedtools.lmm.formula` parses lme4's syntax and
   :mod:`~mixedtools.lmm.design` builds the fixed- and random-effects design;
2. the covariance structure -- :mod:`~mixedtools.lmm.reml` (one grouping factor, blockwise) or
   :mod:`~mixedtools.lmm.pls` (any number of terms, lme4's sparse penalised least squares), both
   answering the one protocol of :mod:`~mixedtools.lmm.engine`;
3. the optimiser -- :mod:`~mixedtools.lmm.optimize`, with the Newton polish of
   :mod:`~mixedtools.lmm.polish`;
4. the result -- :mod:`~mixedtools.lmm.results` (on the base class of
   :mod:`~mixedtools.lmm.mixed_result`, printed by :mod:`~mixedtools.lmm.result_text`), with the
   df methods of :mod:`~mixedtools.lmm.ddf`.

Around the fit: :mod:`~mixedtools.lmm.likelihood_ratio` (likelihood-ratio tests),
:mod:`~mixedtools.lmm.bootstrap`
(parametric bootstrap), :mod:`~mixedtools.lmm.explained` (variance explained per level) and
:mod:`~mixedtools.lmm.covstruct` (the marginal covariance matrices of common designs).
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
]
