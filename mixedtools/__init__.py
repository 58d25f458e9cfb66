"""mixedtools: the tested helper package behind the book *Mixed-effects models, executable*."""

__version__ = "0.1.0"

from mixedtools import (
    anova,
    covstruct,
    datasets,
    ddf,
    dfdata,
    diagnostics,
    plots,
    pls,
    reml,
    report,
    simulate,
)
from mixedtools.lmer import LmerResult, lmer
from mixedtools.lrt import lrt

__all__ = [
    "anova",
    "covstruct",
    "datasets",
    "ddf",
    "dfdata",
    "diagnostics",
    "LmerResult",
    "lmer",
    "lrt",
    "plots",
    "pls",
    "reml",
    "report",
    "simulate",
]
