"""Meta-analysis as a level-2-only HLM: effect sizes, pooling, heterogeneity, meta-regression.

``mt.meta`` gathers the pieces, each in its own small module:

- :mod:`mixedtools.meta.effects`: ``escalc`` and conversions between d, r and log odds ratios;
- :mod:`mixedtools.meta.univariate`: ``rma`` (FE, DL, REML, ML, PM, HE, SJ, EB; z or Knapp-Hartung);
- :mod:`mixedtools.meta.multilevel`: ``rma_mv``, effect sizes nested in studies (3+ levels);
- :mod:`mixedtools.meta.mh`: ``mantel_haenszel`` and ``peto`` for 2 x 2 tables;
- :mod:`mixedtools.meta.diagnostics`: ``egger``, ``leave_one_out``, ``influence``, ``trimfill``;
- :mod:`mixedtools.meta.robust`: ``robust``, cluster-robust (CR2) tests for dependent effects;
- :mod:`mixedtools.meta.dependence`: ``vcalc``, the within-study covariance of the CHE model;
- :mod:`mixedtools.meta.bias`: ``pet_peese``, ``selmodel``, ``regtest`` and ``peters``;
- :mod:`mixedtools.meta.batch`: ``rma`` on many replications at once, for simulation studies.
"""

from mixedtools.meta.bias import SelmodelResult, pet_peese, peters, regtest, selmodel
from mixedtools.meta.dependence import vcalc
from mixedtools.meta.diagnostics import egger, influence, leave_one_out, trimfill
from mixedtools.meta.effects import d_to_log_or, d_to_r, escalc, log_or_to_d, r_to_d
from mixedtools.meta.mh import MhResult, mantel_haenszel, peto
from mixedtools.meta.multilevel import RmaMvResult, rma_mv
from mixedtools.meta.robust import RobustResult, robust
from mixedtools.meta.univariate import ConvergenceWarning, RmaResult, rma

__all__ = [
    "ConvergenceWarning",
    "RmaResult",
    "d_to_log_or",
    "d_to_r",
    "egger",
    "escalc",
    "influence",
    "leave_one_out",
    "trimfill",
    "MhResult",
    "mantel_haenszel",
    "peto",
    "log_or_to_d",
    "r_to_d",
    "rma",
    "rma_mv",
    "RmaMvResult",
    "robust",
    "RobustResult",
    "vcalc",
    "pet_peese",
    "peters",
    "regtest",
    "selmodel",
    "SelmodelResult",
]
