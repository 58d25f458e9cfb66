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
(parametric bootstrap), :mod:`~mixedtools.lmm.explained` (variance explained per level),
:mod:`~mixedtools.lmm.covstruct` (the marginal covariance matrices of common designs),
:mod:`~mixedtools.lmm.slopes` (simple slopes and the Johnson-Neyman region),
:mod:`~mixedtools.lmm.marginal` (estimated marginal means and pairwise contrasts, ``emmeans``),
:mod:`~mixedtools.lmm.influence` (group-deletion diagnostics, standardised random effects),
:mod:`~mixedtools.lmm.planning` (design effects, standard errors and optimal group size), and
:mod:`~mixedtools.lmm.contextual` (reliability of group means, manifest contextual effects,
the within-between split of a level-1 predictor).
"""

from mixedtools.lmm import (
    bootstrap,
    contextual,
    covstruct,
    ddf,
    explained,
    influence,
    planning,
    pls,
    reml,
    slopes,
)
from mixedtools.lmm.contextual import (
    group_mean_reliability,
    manifest_contextual_bias,
    within_between,
)
from mixedtools.lmm.families import Family, family
from mixedtools.lmm.fit import (
    LmerConvergenceWarning,
    LmerResult,
    LmerWarning,
    SingularFitWarning,
    lmer,
)
from mixedtools.lmm.generalized import glmer
from mixedtools.lmm.glmer_results import GlmerResult
from mixedtools.lmm.influence import GroupInfluence, group_influence, standardized_ranef
from mixedtools.lmm.likelihood_ratio import lrt
from mixedtools.lmm.marginal import EMMeans, emmeans, pairs
from mixedtools.lmm.planning import (
    budget_table,
    design_effect,
    design_effect_slope,
    effect_se,
    optimal_group_size,
    power_from_se,
)
from mixedtools.lmm.slopes import johnson_neyman, linear_combinations, simple_slopes

__all__ = [
    "bootstrap",
    "covstruct",
    "ddf",
    "explained",
    "pls",
    "reml",
    "slopes",
    "influence",
    "group_influence",
    "GroupInfluence",
    "standardized_ranef",
    "planning",
    "design_effect",
    "design_effect_slope",
    "effect_se",
    "power_from_se",
    "optimal_group_size",
    "budget_table",
    "contextual",
    "group_mean_reliability",
    "manifest_contextual_bias",
    "within_between",
    "simple_slopes",
    "johnson_neyman",
    "linear_combinations",
    "lmer",
    "glmer",
    "GlmerResult",
    "Family",
    "family",
    "lrt",
    "LmerResult",
    "LmerWarning",
    "SingularFitWarning",
    "LmerConvergenceWarning",
    "emmeans",
    "pairs",
    "EMMeans",
]
