"""mixedtools: the tested helper package behind the book *Mixed-effects models, executable*."""

__version__ = "0.1.0"

from mixedtools import datasets, plots
from mixedtools.lmer import LmerResult, lmer
from mixedtools.lrt import lrt

__all__ = ["datasets", "lmer", "LmerResult", "lrt", "plots"]
