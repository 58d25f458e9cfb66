"""ANOVA: one-way, factorial (types I-III) and repeated measures, with R's numbers.

- :mod:`~mixedtools.anova.one_factor`: ``oneway``, ``variance_components`` -- the one-way table and
  the ANOVA (moment) estimators of a random-intercept model;
- :mod:`~mixedtools.anova.coding`: ``contrasts`` -- coding matrices;
- :mod:`~mixedtools.anova.between`: ``factorial`` -- type I, II and III tables (``anova(lm)``,
  ``car::Anova``);
- :mod:`~mixedtools.anova.within`: ``rm`` and ``mauchly`` -- repeated-measures and split-plot
  ANOVA with Greenhouse-Geisser and Huynh-Feldt corrections (``afex::aov_car``);
- :mod:`~mixedtools.anova.effect_size`: ``effect_sizes`` -- eta squared, partial and generalised
  eta squared (afex's ``ges``) and omega squared, also columns of the two tables above;
- :mod:`~mixedtools.anova.posthoc`: ``posthoc`` (Tukey HSD, Holm, Bonferroni) and ``planned``
  (contrasts of level means) for between-subjects designs.
"""

from mixedtools.anova.between import factorial
from mixedtools.anova.coding import contrasts
from mixedtools.anova.effect_size import effect_sizes
from mixedtools.anova.one_factor import VarianceComponents, oneway, variance_components
from mixedtools.anova.posthoc import planned, posthoc
from mixedtools.anova.within import mauchly, rm

__all__ = [
    "oneway",
    "variance_components",
    "VarianceComponents",
    "contrasts",
    "factorial",
    "rm",
    "mauchly",
    "effect_sizes",
    "posthoc",
    "planned",
]
