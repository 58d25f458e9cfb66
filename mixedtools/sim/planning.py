"""Seeded simulations that check the planning formulas of :mod:`mixedtools.lmm.planning`.

- :func:`design_se_study`: K groups of n, a level-2 or level-1 treatment; the spread of the
  estimated effect over replicates (and the mean model SE, and the rejection rate) next to
  :func:`~mixedtools.lmm.planning.effect_se` and its power;
- :func:`design_effect_study`: the variance of a single-level OLS slope under clustering of
  the predictor and the residuals, next to ``1 + (n - 1) rho_x rho_y``.

Every Monte Carlo quantity comes with its Monte Carlo standard error (``*_mcse``).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from mixedtools.lmm.fit import lmer
from mixedtools.lmm.planning import design_effect_slope, effect_se, power_from_se

__all__ = ["design_se_study", "design_effect_study"]


def _sd_with_mcse(x):
    """SD of a sample and its Monte Carlo SE (delta method on the variance)."""
    x = np.asarray(x, float)
    r = x.size
    c = x - x.mean()
    var = c @ c / (r - 1)
    m4 = np.mean(c**4)
    se_var = np.sqrt(max(m4 - var**2, 0.0) / r)
    sd = np.sqrt(var)
    return sd, se_var / (2 * sd)


def design_se_study(
    k,
    n,
    icc,
    level=2,
    effect=0.0,
    p=0.5,
    slope_var=0.0,
    n_rep=200,
    alpha=0.05,
    seed=0,
):
    """Simulate a balanced two-level design and compare the estimate's spread with the formula.

    Each replicate draws ``y = effect * treat + v_j * treat + u_j + e_ij`` with ``Var(u) = icc``,
    ``Var(e) = 1 - icc``, ``Var(v) = slope_var``; ``treat`` marks the first ``round(p K)`` groups
    (level 2) or the first ``round(p n)`` units of every group (level 1).  The model
    ``y ~ treat + (1 | g)`` (or ``(treat | g)`` when ``slope_var > 0``) is fitted by REML with
    :func:`mixedtools.lmer`, and the treatment effect tested by t with the df of
    :func:`~mixedtools.lmm.planning.budget_table` (``K - 2``, ``K - 1`` or ``K (n - 1) - 1``).

    Parameters
    ----------
    k, n : int
        Groups and units per group.
    icc, level, effect, p, slope_var :
        As in :func:`mixedtools.lmm.planning.effect_se` (total variance 1).
    n_rep : int
        Replicates.
    alpha : float
    seed : int

    Returns
    -------
    pandas.Series
        ``analytic_se``; ``empirical_sd`` (SD of the estimates) and ``empirical_sd_mcse``;
        ``mean_model_se`` and its ``mean_model_se_mcse``; ``analytic_power`` (noncentral t);
        ``rejection_rate`` and ``rejection_mcse``; ``n_singular`` (fits with a variance at 0);
        ``n_rep``.

    Examples
    --------
    >>> import mixedtools as mt
    >>> res = mt.simulate.design_se_study(k=10, n=4, icc=0.2, n_rep=20, seed=1)
    >>> round(float(res.analytic_se), 3)
    0.4
    >>> bool(abs(res.empirical_sd - res.analytic_se) < 3 * res.empirical_sd_mcse)
    True
    """
    se_formula = effect_se(k, n, icc, level=level, p=p, slope_var=slope_var)
    if not (isinstance(n_rep, int) and n_rep >= 2):
        raise ValueError(f"n_rep must be an integer of at least 2, got {n_rep!r}")
    k, n = int(k), int(n)
    if level == 2:
        n_treated = round(p * k)
        if not 0 < n_treated < k:
            raise ValueError(f"p = {p} treats {n_treated} of {k} groups: no comparison left")
        treat = np.repeat((np.arange(k) < n_treated).astype(float), n)
        df = k - 2
    else:
        n_treated = round(p * n)
        if not 0 < n_treated < n:
            raise ValueError(
                f"p = {p} treats {n_treated} of {n} units per group: nothing to compare"
            )
        treat = np.tile((np.arange(n) < n_treated).astype(float), k)
        df = k - 1 if slope_var > 0 else k * (n - 1) - 1
    g = np.repeat(np.arange(k), n)
    formula = "y ~ treat + (treat | g)" if slope_var > 0 else "y ~ treat + (1 | g)"
    rng = np.random.default_rng(seed)
    crit = stats.t.ppf(1 - alpha / 2, df)
    est, se, singular = np.empty(n_rep), np.empty(n_rep), 0
    for r in range(n_rep):
        u = rng.normal(0, np.sqrt(icc), k)
        v = rng.normal(0, np.sqrt(slope_var), k) if slope_var > 0 else np.zeros(k)
        e = rng.normal(0, np.sqrt(1 - icc), k * n)
        y = (effect + v[g]) * treat + u[g] + e
        data = pd.DataFrame({"y": y, "treat": treat, "g": g})
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fit = lmer(formula, data)
        singular += any("singular" in str(w.message).lower() for w in caught)
        est[r] = fit.fixef["treat"]
        se[r] = np.sqrt(fit.vcov.loc["treat", "treat"])
    sd, sd_mcse = _sd_with_mcse(est)
    reject = np.abs((est - 0.0) / se) > crit
    rate = reject.mean()
    return pd.Series(
        {
            "analytic_se": se_formula,
            "empirical_sd": sd,
            "empirical_sd_mcse": sd_mcse,
            "mean_model_se": se.mean(),
            "mean_model_se_mcse": se.std(ddof=1) / np.sqrt(n_rep),
            "analytic_power": power_from_se(effect, se_formula, alpha, df=df),
            "rejection_rate": rate,
            "rejection_mcse": np.sqrt(rate * (1 - rate) / n_rep),
            "n_singular": singular,
            "n_rep": n_rep,
        },
        name=f"K={k}, n={n}, icc={icc}, level {level}",
    )


def design_effect_study(k, n, icc_x, icc_y, n_rep=1000, seed=0):
    """The design effect of a single-level OLS slope, by simulation and by formula.

    Draws ``x = a_j + b_ij`` (variance 1, ICC ``icc_x``) and ``y = u_j + e_ij`` (variance 1,
    ICC ``icc_y``; the true slope is 0), fits OLS of y on x with an intercept, and compares the
    variance of the slope over replicates with ``1 / (N - 3)``, its exact value for independent
    normal data (``E[1 / chi2_{N-1}]``).

    Parameters
    ----------
    k, n : int
        Groups and group size (many groups make the formula accurate).
    icc_x, icc_y : float
        Intraclass correlations of the predictor and of the residuals.
    n_rep : int
    seed : int

    Returns
    -------
    pandas.Series
        ``formula`` (:func:`~mixedtools.lmm.planning.design_effect_slope`), ``empirical`` (the
        variance ratio) and ``empirical_mcse``, ``n_rep``.

    Examples
    --------
    >>> import mixedtools as mt
    >>> res = mt.simulate.design_effect_study(k=100, n=10, icc_x=0.5, icc_y=0.3, n_rep=400)
    >>> round(float(res.formula), 2)
    2.35
    >>> bool(abs(res.empirical - res.formula) < 3 * res.empirical_mcse)
    True
    """
    formula = design_effect_slope(n, icc_x, icc_y)
    if not (isinstance(n_rep, int) and n_rep >= 2):
        raise ValueError(f"n_rep must be an integer of at least 2, got {n_rep!r}")
    k, n = int(k), int(n)
    N = k * n
    rng = np.random.default_rng(seed)
    slopes = np.empty(n_rep)
    for r in range(n_rep):
        x = np.repeat(rng.normal(0, np.sqrt(icc_x), k), n) + rng.normal(0, np.sqrt(1 - icc_x), N)
        y = np.repeat(rng.normal(0, np.sqrt(icc_y), k), n) + rng.normal(0, np.sqrt(1 - icc_y), N)
        xc = x - x.mean()
        slopes[r] = xc @ y / (xc @ xc)
    sd, sd_mcse = _sd_with_mcse(slopes)
    ref = 1.0 / (N - 3)
    return pd.Series(
        {
            "formula": formula,
            "empirical": sd**2 / ref,
            "empirical_mcse": 2 * sd * sd_mcse / ref,
            "n_rep": n_rep,
        },
        name=f"K={k}, n={n}, icc_x={icc_x}, icc_y={icc_y}",
    )
