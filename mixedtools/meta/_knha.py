"""The Knapp-Hartung scale factor, shared by :func:`mixedtools.meta.rma` and its batch form."""

from __future__ import annotations

import warnings

import numpy as np

from mixedtools._warnings import external_stacklevel

__all__ = ["knha_scale", "warn_exact_fit"]


def knha_scale(q_gen, df):
    """``s2w = Q(tau2) / df``, and exactly 0 where ``Q(tau2)`` is 0 up to rounding.

    As metafor (``Q(tau2) <= .Machine$double.eps``): effect sizes that lie on the fitted model
    (e.g. all equal) get standard errors of 0, not of the order of ``1e-17``. Works elementwise on
    arrays (one ``Q`` per replication).

    Examples
    --------
    >>> knha_scale(6.0, 3), knha_scale(1e-33, 3)
    (2.0, 0.0)
    """
    q_gen = np.asarray(q_gen, dtype=float)
    scale = np.where(q_gen <= np.finfo(float).eps, 0.0, q_gen / df)
    return float(scale) if scale.ndim == 0 else scale


def warn_exact_fit(how_many=""):
    """Warn that Knapp-Hartung standard errors are 0 (the effects lie on the fitted model)."""
    warnings.warn(
        f"{how_many}the effect sizes lie on the fitted model up to rounding (Q(tau2) = 0), so the "
        "Knapp-Hartung factor is 0: the standard errors are 0 and the t tests degenerate "
        "(t = +-inf as in metafor, NaN for a coefficient that is 0). test='z' gives standard "
        "errors from the sampling variances alone.",
        UserWarning,
        stacklevel=external_stacklevel(),
    )
