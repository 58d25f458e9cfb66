"""Where the variance goes: variance components and R^2 per level over a sequence of models.

Snijders & Bosker (2012, section 7.1) define the proportional reduction of prediction error at each
level of a random-intercept model, relative to the null model ``y ~ 1 + (1 | g)``:

* level 1 (an individual outcome):
  ``R2_1 = 1 - (sigma2_m + tau00_m) / (sigma2_0 + tau00_0)``;
* level 2 (a group mean of ``n`` units):
  ``R2_2 = 1 - (sigma2_m / n + tau00_m) / (sigma2_0 / n + tau00_0)``,

with ``n`` a typical group size (by default the harmonic mean). Unlike the "proportion of
variance explained" at each level, ``1 - tau00_m / tau00_0``, these cannot fall when a fixed
effect is added to a correctly specified model, although sample fluctuation can make them
decrease slightly; a clear negative value signals misspecification (e.g. a level-1
predictor whose within- and between-group relations differ). With random slopes they are
approximations (Snijders & Bosker recommend computing them from the random-intercept version
of the model). Nakagawa's marginal and conditional R^2 come from
:meth:`mixedtools.LmerResult.r2`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from mixedtools.lmm.fit import LmerResult

__all__ = ["intercept_and_residual_variance", "variance_sequence"]


def intercept_and_residual_variance(fit: LmerResult) -> tuple[float, float]:
    """``(tau00, sigma2)``: the random-intercept variance of the grouping factor and sigma^2.

    Examples
    --------
    >>> import mixedtools as mt
    >>> fit = mt.lmer("mathach ~ 1 + (1 | school)", mt.datasets.load("hsb"))
    >>> [round(v, 2) for v in intercept_and_residual_variance(fit)]
    [8.61, 39.15]
    """
    if not isinstance(fit, LmerResult):
        raise TypeError(f"expected a fit returned by mixedtools.lmer, got {type(fit)!r}")
    vc = fit.varcorr
    intercept = vc[(vc["group"] != "Residual") & (vc["var1"] == "Intercept") & (vc["var2"] == "")]
    if len(intercept) != 1:
        raise ValueError(
            f"{fit.formula!r} needs exactly one random intercept, found {len(intercept)}"
        )
    return float(intercept["vcov"].iloc[0]), float(vc["vcov"].iloc[-1])


def _slope_variance(fit):
    vc = fit.varcorr
    slopes = vc[(vc["group"] != "Residual") & (vc["var1"] != "Intercept") & (vc["var2"] == "")]
    return float(slopes["vcov"].sum()) if len(slopes) else 0.0


def variance_sequence(fits: dict, group_size: float | None = None) -> pd.DataFrame:
    """Variance components, R^2 per level and Nakagawa's R^2 for a sequence of models.

    Parameters
    ----------
    fits : dict of str -> LmerResult
        Models in the order of building; the first must be the null model ``y ~ 1 + (1 | g)``
        (the reference for the level-1 and level-2 R^2). All must be fitted to the same rows.
    group_size : float, optional
        The ``n`` of the level-2 R^2; default the harmonic mean of the group sizes.

    Returns
    -------
    pandas.DataFrame
        One row per model: ``tau00``, ``tau11`` (sum of the random-slope variances, 0 if none),
        ``sigma2``, ``R2_level1`` and ``R2_level2`` (Snijders & Bosker), ``R2_marginal`` and
        ``R2_conditional`` (Nakagawa), ``deviance`` (-2 log-likelihood, REML or ML as fitted).

    Examples
    --------
    >>> import mixedtools as mt
    >>> hsb = mt.datasets.load("hsb")
    >>> table = variance_sequence({
    ...     "null": mt.lmer("mathach ~ 1 + (1 | school)", hsb),
    ...     "+ ses": mt.lmer("mathach ~ ses + (1 | school)", hsb),
    ... })
    >>> table[["tau00", "sigma2", "R2_level1", "R2_level2"]].round(3)
           tau00  sigma2  R2_level1  R2_level2
    null   8.614  39.148      0.000      0.000
    + ses  4.768  37.034      0.125      0.407
    """
    if not isinstance(fits, dict) or not fits:
        raise ValueError("fits must be a non-empty dict of name -> mixedtools.lmer fit")
    fits = dict(fits)
    names = list(fits)
    null = fits[names[0]]
    tau0, s0 = intercept_and_residual_variance(null)
    if len(null.fixef) != 1:
        raise ValueError(
            f"the first model must be the null model y ~ 1 + (1 | group); got {null.formula!r}"
        )
    nobs = {f.nobs for f in fits.values()}
    if len(nobs) != 1:
        raise ValueError(f"the models are fitted to different numbers of rows: {sorted(nobs)}")
    if group_size is None:
        sizes = np.bincount(null.design.block_codes)
        group_size = float(stats.hmean(sizes[sizes > 0]))
    n = float(group_size)
    if not n > 0:
        raise ValueError(f"group_size must be positive, got {group_size}")
    rows = {}
    for name, fit in fits.items():
        tau, s2 = intercept_and_residual_variance(fit)
        r2 = fit.r2()
        rows[name] = {
            "tau00": tau,
            "tau11": _slope_variance(fit),
            "sigma2": s2,
            "R2_level1": 1 - (s2 + tau) / (s0 + tau0),
            "R2_level2": 1 - (s2 / n + tau) / (s0 / n + tau0),
            "R2_marginal": float(r2["marginal"]),
            "R2_conditional": float(r2["conditional"]),
            "deviance": fit.deviance,
        }
    return pd.DataFrame(rows).T
