"""Meta-analysis as a level-2-only HLM: effect sizes, pooling, heterogeneity, meta-regression.

``mt.meta`` gathers the pieces, each in its own small module:

- :mod:`mixedtools.meta_effects`: ``escalc`` and conversions between d, r and log odds ratios;
- :mod:`mixedtools.meta_rma`: ``rma`` (FE, DL, REML, ML, PM, HE, SJ, EB; z or Knapp-Hartung tests);
- :mod:`mixedtools.meta_mv`: ``rma_mv``, effect sizes nested in studies (three or more levels);
- :mod:`mixedtools.meta_mh`: ``mantel_haenszel`` and ``peto`` for 2 x 2 tables;
- :mod:`mixedtools.meta_diagnostics`: ``egger``, ``leave_one_out``, ``influence``, ``trimfill``;
- :mod:`mixedtools.meta_batch`: ``rma`` on many replications at once, for simulation studies.
"""

from mixedtools.meta_diagnostics import egger, influence, leave_one_out, trimfill
from mixedtools.meta_effects import d_to_log_or, d_to_r, escalc, log_or_to_d, r_to_d
from mixedtools.meta_mh import MhResult, mantel_haenszel, peto
from mixedtools.meta_mv import RmaMvResult, rma_mv
from mixedtools.meta_rma import ConvergenceWarning, RmaResult, rma

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
]
