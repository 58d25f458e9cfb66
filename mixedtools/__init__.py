"""mixedtools: the tested helper package behind the book *Mixed-effects models, executable*."""

__version__ = "0.1.0"

from mixedtools import (
    anova,
    bootstrap,
    covstruct,
    datasets,
    ddf,
    dfdata,
    diagnostics,
    explained,
    meta,
    panel,
    plots,
    pls,
    rejection,
    reml,
    report,
    simulate,
    stimuli,
)
from mixedtools.lmer import LmerResult, lmer
from mixedtools.lrt import lrt

__all__ = [
    "anova",
    "bootstrap",
    "covstruct",
    "datasets",
    "ddf",
    "dfdata",
    "diagnostics",
    "explained",
    "LmerResult",
    "lmer",
    "lrt",
    "meta",
    "panel",
    "plots",
    "pls",
    "rejection",
    "reml",
    "report",
    "simulate",
    "stimuli",
]
