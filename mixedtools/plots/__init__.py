"""Teaching plots (``mt.plots``): every figure of the book that takes more than a few lines.

- :mod:`~mixedtools.plots.mixed`: a mixed-model fit -- caterpillar, spaghetti, shrinkage,
  trajectories, simple slopes, mean growth curves;
- :mod:`~mixedtools.plots.influence`: level-2 diagnostics -- Q-Q plot of standardised random
  effects, Cook's distance by deleted group;
- :mod:`~mixedtools.plots.slopes`: the Johnson-Neyman plot of a simple slope against its moderator;
- :mod:`~mixedtools.plots.regression`: the four-panel residual plot and the Breusch-Pagan test
  (``mt.diagnostics``);
- :mod:`~mixedtools.plots.studies`: simulation studies -- rejection rates, power curves, df methods,
  coverage curves;
- :mod:`~mixedtools.plots.panel`: panel data -- FE vs RE sampling distributions, theta curves,
  rejection rates with Monte Carlo bands, Nickell's bias;
- :mod:`~mixedtools.plots.designs`: designs -- variance by occasion in repeated measures, power of
  a subjects x items design;
- :func:`forest`, :func:`funnel` and :func:`weight_bars` live with the meta-analysis
  (:mod:`mixedtools.meta.plots`).

Every function draws on a new figure sized for a book page (about 7 inches wide) unless an ``ax`` is
given, labels its axes and legend, and returns the matplotlib object it drew on.
"""

from mixedtools.meta.plots import forest, funnel, weight_bars
from mixedtools.plots.designs import design_power, variance_by_occasion
from mixedtools.plots.influence import cooks_distance_plot, ranef_qq
from mixedtools.plots.mixed import (
    caterpillar,
    caterpillar_effect,
    mean_curves,
    shrinkage,
    simple_slopes,
    spaghetti,
    trajectories,
)
from mixedtools.plots.panel import fe_re_histograms, nickell_curve, rejection_bands, theta_curves
from mixedtools.plots.regression import diagnostics
from mixedtools.plots.slopes import johnson_neyman_plot
from mixedtools.plots.studies import (
    coverage_curves,
    power_curves,
    rejection_by_method,
    rejection_rates,
)

__all__ = [
    "caterpillar",
    "caterpillar_effect",
    "cooks_distance_plot",
    "coverage_curves",
    "design_power",
    "diagnostics",
    "forest",
    "johnson_neyman_plot",
    "funnel",
    "mean_curves",
    "power_curves",
    "ranef_qq",
    "rejection_by_method",
    "rejection_rates",
    "shrinkage",
    "simple_slopes",
    "spaghetti",
    "trajectories",
    "weight_bars",
    "fe_re_histograms",
    "theta_curves",
    "rejection_bands",
    "nickell_curve",
    "variance_by_occasion",
]
