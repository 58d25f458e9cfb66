"""Shared settings of the book's figures: page width, colours, a lazy pyplot import."""

from __future__ import annotations

from mixedtools.lmm.fit import LmerResult
from mixedtools.lmm.glmer_results import GlmerResult
from mixedtools.meta.plots import forest, funnel  # noqa: E402, F401

__all__ = []


_BOOK_WIDTH = 7.0


_COLORS = {"none": "#d95f02", "partial": "#1b9e77", "complete": "#7570b3", "lines": "#4c72b0"}


def _plt():
    import matplotlib.pyplot as plt

    return plt


def _label(name: str) -> str:
    return "intercept" if name == "Intercept" else name


def _check_fit(fit, generalized=False):
    """Refuse anything but an lmer fit (or a glmer fit, where the plot reads only what both
    share: random effects and their conditional variances)."""
    if isinstance(fit, LmerResult) or (generalized and isinstance(fit, GlmerResult)):
        return
    allowed = "mixedtools.lmer or mixedtools.glmer" if generalized else "mixedtools.lmer"
    raise TypeError(f"expected a fit returned by {allowed}")


def _default_x(fit: LmerResult) -> str:
    for name in fit.design.re_names:
        if name != "Intercept" and name in fit.design.data.columns:
            return name
    for name in fit.fixef.index:
        if name in fit.design.data.columns:
            return name
    raise ValueError("cannot tell which predictor to put on the x axis; pass x=...")
