"""Seeded simulators and simulation studies (``mt.simulate``).

Each simulator returns a tidy :class:`pandas.DataFrame` (one row per observation) or a table of
simulation results, and takes a ``seed`` so that every number in the book can be reproduced.

- :mod:`~mixedtools.sim.examples`: the data of the book's examples (one-way random effects, the oven
  and batch example, the IQ/GPA schools, four regression data sets);
- :mod:`~mixedtools.sim.hierarchical`: two- and three-level data with a level-1 and a level-2
  predictor, for the degrees-of-freedom chapter (``mt.dfdata``);
- :mod:`~mixedtools.sim.level2`: the type I error of a level-2 test that ignores the groups;
- :mod:`~mixedtools.sim.power_study`: power of level-2 and cross-level tests;
- :mod:`~mixedtools.sim.planning`: simulation checks of the planning formulas (design effects,
  standard errors and power of :mod:`mixedtools.lmm.planning`);
- :mod:`~mixedtools.sim.contextual`: the attenuation of the manifest contextual effect;
- :mod:`~mixedtools.sim.misspecification`: ignored AR(1) residuals and non-normal random
  effects -- what they do and do not harm;
- :mod:`~mixedtools.sim.rejection`: type I error of analyses and df methods (``mt.rejection``);
- :mod:`~mixedtools.sim.stimuli`: subjects x items experiments (``mt.stimuli``);
- :mod:`~mixedtools.sim.glmm_studies`: clustered binary data; the latent versus the 0/1 ICC across
  base rates, Laplace versus adaptive quadrature and the type I error of GLMM tests with few
  groups (chapter 8);
- :mod:`~mixedtools.sim.stimulus_power`: analytic power of subjects x items designs (Westfall,
  Kenny & Judd 2014), ``stimulus_power``.
"""

from mixedtools.sim import hierarchical, rejection, stimuli
from mixedtools.sim.contextual import contextual_effect_study
from mixedtools.sim.examples import (
    FOUR_DATASETS,
    four_datasets,
    one_way_random,
    oven_batch,
    schools,
)
from mixedtools.sim.glmm_studies import (
    binary_clusters,
    glmm_rejection_study,
    icc_scale_study,
    quadrature_study,
)
from mixedtools.sim.level2 import level2_t_statistics, level2_type1_error
from mixedtools.sim.misspecification import ignored_ar1_study, nonnormal_ranef_study
from mixedtools.sim.planning import design_effect_study, design_se_study
from mixedtools.sim.power_study import power
from mixedtools.sim.stimulus_power import quasi_f_rejection_rate, stimulus_power

__all__ = [
    "one_way_random",
    "oven_batch",
    "level2_type1_error",
    "level2_t_statistics",
    "schools",
    "FOUR_DATASETS",
    "four_datasets",
    "power",
    "design_se_study",
    "design_effect_study",
    "contextual_effect_study",
    "ignored_ar1_study",
    "nonnormal_ranef_study",
    "hierarchical",
    "binary_clusters",
    "quadrature_study",
    "icc_scale_study",
    "glmm_rejection_study",
    "rejection",
    "stimuli",
    "stimulus_power",
    "quasi_f_rejection_rate",
]
