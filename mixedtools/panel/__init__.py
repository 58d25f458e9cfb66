"""Panel-data models as economists use them, with the numbers of R's plm.

* :func:`random_effects` -- the one-way random-effects GLS estimator with the variance
  components of Swamy-Arora (``"swar"``, plm's default and Stata's ``xtreg, re``),
  Wallace-Hussain (``"walhus"``), Amemiya (``"amemiya"``) or maximum likelihood (``"ml"``,
  the multilevel random-intercept model), valid on unbalanced panels; with
  ``effect="twoways"`` the two-way model of plm (random entity and period effects; balanced
  panels; also Nerlove's estimator).
* :func:`fixed_effects` -- the within estimator (plm's ``model = "within"``), the light twin of
  linearmodels' ``PanelOLS`` with entity effects that :func:`hausman` takes; two-way with
  ``effect="twoways"``.
* :func:`hausman` -- the Hausman test of fixed against random effects: classical
  (``plm::phtest``) or regression-based with a cluster-robust covariance, optionally with a wild
  cluster bootstrap p-value for few entities.
* :func:`mundlak` -- the correlated random-effects model: random effects plus the entity means
  of the time-varying regressors, whose slopes equal the fixed-effects (within) slopes.
* :func:`cluster_robust` and :func:`wild_bootstrap` -- few-cluster inference for a within fit:
  CR2 standard errors with Satterthwaite df (R's clubSandwich), and the restricted wild cluster
  bootstrap.
* :func:`nickell_bias`, :func:`simulate_dynamic` and :func:`anderson_hsiao` -- dynamic panels:
  the bias of fixed effects with a lagged dependent variable, and the IV estimator on first
  differences.
* :func:`simulate` -- a panel whose individual effect may correlate with the regressor.

Pooled OLS, first differences and fixed effects with all their statistics come from linearmodels
(``PooledOLS``, ``FirstDifferenceOLS``, ``PanelOLS``); this module adds what it lacks. Data are
DataFrames indexed by (entity, time); formulas use linearmodels' syntax, where the constant is
written explicitly: ``"y ~ 1 + x"``.

Examples
--------
>>> import mixedtools as mt
>>> grunfeld = mt.datasets.load("grunfeld").set_index(["firm", "year"])
>>> re = mt.panel.random_effects("inv ~ 1 + value + capital", grunfeld)
>>> re.params.round(4).tolist()
[-57.8344, 0.1098, 0.3081]
"""

from mixedtools.panel.dynamic import (
    anderson_hsiao,
    lagged_differences,
    nickell_bias,
    simulate_dynamic,
)
from mixedtools.panel.few_clusters import cluster_robust, wild_bootstrap
from mixedtools.panel.hausman_test import HausmanResult, hausman
from mixedtools.panel.random_effects_gls import (
    EFFECTS,
    METHODS,
    RandomEffectsResult,
    mundlak,
    random_effects,
)
from mixedtools.panel.simulation import simulate
from mixedtools.panel.within_fit import FixedEffectsResult, fixed_effects

__all__ = [
    "METHODS",
    "RandomEffectsResult",
    "HausmanResult",
    "FixedEffectsResult",
    "fixed_effects",
    "random_effects",
    "hausman",
    "mundlak",
    "simulate",
    "cluster_robust",
    "wild_bootstrap",
    "nickell_bias",
    "simulate_dynamic",
    "lagged_differences",
    "anderson_hsiao",
    "EFFECTS",
]
