"""mixedtools: the tested helper package behind the book *Mixed-effects models, executable*.

Four topics and two services, each a subpackage:

- :mod:`mixedtools.lmm` -- linear and generalised mixed models in lme4's syntax (``mt.lmer``,
  ``mt.glmer``, ``mt.lrt``), their
  df methods (``mt.ddf``), estimated marginal means (``mt.emmeans``), bootstrap and variance
  explained;
- :mod:`mixedtools.anova` -- one-way, factorial and repeated-measures ANOVA (``mt.anova``);
- :mod:`mixedtools.panel` -- random effects, Hausman and Mundlak for panel data (``mt.panel``);
- :mod:`mixedtools.meta` -- meta-analysis (``mt.meta``);
- :mod:`mixedtools.sim` -- seeded simulators and simulation studies (``mt.simulate``,
  ``mt.dfdata``, ``mt.rejection``, ``mt.stimuli``);
- :mod:`mixedtools.plots` -- the book's figures (``mt.plots``, ``mt.diagnostics``);

plus :mod:`mixedtools.datasets` (bundled real data) and :mod:`mixedtools.report` (numbers for the
page). Layers import downwards only: ``lmm`` uses nothing of ``anova``, ``panel``, ``meta``, ``sim``
or ``plots``.
"""

__version__ = "0.1.0"

from mixedtools import anova, datasets, lmm, meta, panel, plots, report, sim
from mixedtools.lmm import (
    GlmerResult,
    LmerResult,
    bootstrap,
    covstruct,
    ddf,
    emmeans,
    explained,
    glmer,
    lmer,
    lrt,
    pls,
    reml,
)
from mixedtools.plots import regression as diagnostics
from mixedtools.sim import hierarchical as dfdata
from mixedtools.sim import rejection, stimuli

simulate = sim

__all__ = [
    "anova",
    "bootstrap",
    "covstruct",
    "datasets",
    "ddf",
    "dfdata",
    "diagnostics",
    "emmeans",
    "explained",
    "glmer",
    "GlmerResult",
    "LmerResult",
    "lmer",
    "lmm",
    "lrt",
    "meta",
    "panel",
    "plots",
    "pls",
    "rejection",
    "reml",
    "report",
    "sim",
    "simulate",
    "stimuli",
]
