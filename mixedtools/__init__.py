"""mixedtools: the tested helper package behind the book *Mixed-effects models, executable*."""

__version__ = "0.1.0"

from mixedtools import anova, datasets, diagnostics, simulate

__all__ = ["anova", "datasets", "diagnostics", "simulate"]
