"""Design and power planning for two-level designs: design effects, standard errors, optimal n.

All formulas are for *balanced* designs, K groups of n level-1 units, with a random intercept
(variance ``tau2``) and a level-1 residual (variance ``sigma2``); the intraclass correlation is
``rho = tau2 / (tau2 + sigma2)``.  With the total variance scaled to 1, an effect is in standard
deviations of the outcome (Cohen's d for a binary treatment).

- :func:`design_effect`: ``1 + (n - 1) rho``, the variance of a mean from a cluster sample over
  that from a simple random sample of the same size (Kish 1965; Snijders & Bosker 2012, ch. 11).
- :func:`design_effect_slope`: ``1 + (n - 1) rho_x rho_y`` for the regression coefficient of a
  predictor with intraclass correlation ``rho_x`` when the residuals have intraclass correlation
  ``rho_y`` and the coefficient is estimated by single-level OLS (Scott & Holt 1982; Snijders &
  Bosker 2012, ch. 11).  Derivation: for large K, ``Var(b_OLS) = sum_j (x_j' Sigma_j x_j) /
  (sum x^2)^2``; with ``Sigma_j = sigma_e^2 [(1 - rho_y) I + rho_y 1 1']`` and ``E[x_j' 1 1' x_j]
  = n sigma_x^2 [1 + (n - 1) rho_x]``, this is ``sigma_e^2 / (N sigma_x^2) * [1 + (n - 1) rho_x
  rho_y]``.  A level-2 predictor (``rho_x = 1``) gets the full design effect, a group-mean-centred
  one (``rho_x = 0``) none.
- :func:`effect_se`: the standard error of a level-2 effect (cluster-randomised, e.g. a school
  treatment) or of a level-1 effect (multisite: treatment inside every group, possibly varying
  between groups) -- Raudenbush (1997), Raudenbush & Liu (2000).
- :func:`optimal_group_size` and :func:`budget_table`: under the budget ``C = K (c2 + n c1)``
  (``c2`` per group, ``c1`` per level-1 unit) the SE of a level-2 effect is smallest at
  ``n_opt = sqrt((c2 / c1) (1 - rho) / rho)`` (Snijders & Bosker 2012, ch. 11; Raudenbush 1997).
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "design_effect",
    "design_effect_slope",
    "effect_se",
    "power_from_se",
    "optimal_group_size",
    "budget_table",
]


def _prob(name, value, open_left=False, open_right=False):
    if not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if value < 0 or value > 1 or (open_left and value == 0) or (open_right and value == 1):
        lo = "(" if open_left else "["
        hi = ")" if open_right else "]"
        raise ValueError(f"{name} must lie in {lo}0, 1{hi}, got {value!r}")
    return float(value)


def _positive(name, value, integer=False, minimum=0.0):
    ok = isinstance(value, numbers.Real) and np.isfinite(value) and value > minimum
    if integer:
        ok = ok and float(value).is_integer()
    if not ok:
        kind = "an integer" if integer else "a number"
        raise ValueError(f"{name} must be {kind} greater than {minimum:g}, got {value!r}")
    return int(value) if integer else float(value)


def design_effect(n, icc):
    """Design effect of a cluster sample: ``1 + (n - 1) * icc``.

    Parameters
    ----------
    n : float
        Group size (the average group size for a rough figure with unequal groups).
    icc : float
        Intraclass correlation of the variable whose mean is estimated.

    Returns
    -------
    float
        The variance ratio; ``N / deff`` is the effective sample size.

    Examples
    --------
    >>> round(design_effect(20, 0.05), 4)
    1.95
    """
    n = _positive("n", n, minimum=0.0)
    icc = _prob("icc", icc)
    return 1.0 + (n - 1.0) * icc


def design_effect_slope(n, icc_x, icc_y):
    """Design effect of a single-level (OLS) regression slope: ``1 + (n - 1) icc_x icc_y``.

    Parameters
    ----------
    n : float
        Group size.
    icc_x : float
        Intraclass correlation of the predictor (1 for a level-2 predictor, 0 for a
        group-mean-centred one).
    icc_y : float
        Intraclass correlation of the residuals of the outcome given the predictor.

    Returns
    -------
    float
        ``Var(OLS slope) / [sigma_e^2 / (N sigma_x^2)]``, for many groups (module docstring for
        the derivation).

    Examples
    --------
    >>> round(design_effect_slope(20, 0.3, 0.2), 2)
    2.14
    """
    n = _positive("n", n)
    return 1.0 + (n - 1.0) * _prob("icc_x", icc_x) * _prob("icc_y", icc_y)


def effect_se(k, n, icc, level=2, p=0.5, slope_var=0.0, total_var=1.0):
    """Standard error of a treatment (or standardised predictor) effect in a balanced design.

    Parameters
    ----------
    k : int
        Number of groups, K.
    n : int
        Level-1 units per group.
    icc : float
        Intraclass correlation ``tau2 / (tau2 + sigma2)`` of the outcome (given the treatment).
    level : {2, 1}
        2: the treatment varies between groups (cluster-randomised; a fraction `p` of the groups
        treated): ``Var = (tau2 + sigma2 / n) / (K p (1 - p))``.
        1: the treatment varies within groups (multisite; a fraction `p` of each group treated):
        ``Var = (slope_var + sigma2 / (n p (1 - p))) / K``.
    p : float
        Fraction treated.  For a continuous predictor use the ``p`` with ``p (1 - p)`` equal to
        its variance (between groups for level 2, within groups for level 1).
    slope_var : float
        Variance of the treatment effect between groups (level 1 only).
    total_var : float
        ``tau2 + sigma2``.

    Returns
    -------
    float

    Examples
    --------
    >>> round(effect_se(40, 20, 0.1), 4)  # 40 schools of 20, half of the schools treated
    0.1204
    >>> round(effect_se(40, 20, 0.1, level=1), 4)  # half of each school treated
    0.0671
    """
    k = _positive("k", k, integer=True, minimum=1)
    n = _positive("n", n, minimum=0)
    icc = _prob("icc", icc)
    p = _prob("p", p, open_left=True, open_right=True)
    total_var = _positive("total_var", total_var)
    if not (isinstance(slope_var, numbers.Real) and slope_var >= 0):
        raise ValueError(f"slope_var must be a variance (>= 0), got {slope_var!r}")
    tau2, sigma2 = icc * total_var, (1 - icc) * total_var
    if level == 2:
        if slope_var:
            raise ValueError("slope_var is the between-group variance of a level-1 effect")
        var = (tau2 + sigma2 / n) / (k * p * (1 - p))
    elif level == 1:
        var = (slope_var + sigma2 / (n * p * (1 - p))) / k
    else:
        raise ValueError(f"level must be 1 or 2, got {level!r}")
    return math.sqrt(var)


def power_from_se(effect, se, alpha=0.05, df=None):
    """Power of a two-sided test of an effect with a given SE (normal, or noncentral t with df).

    Parameters
    ----------
    effect : float
        The true effect.
    se : float
        Its standard error.
    alpha : float
    df : float, optional
        Degrees of freedom of the t test (e.g. ``K - 2`` for a level-2 treatment); None for the
        normal approximation.

    Returns
    -------
    float

    Examples
    --------
    >>> round(power_from_se(0.3, 0.1), 3)
    0.851
    >>> round(power_from_se(0.3, 0.1, df=38), 3)
    0.832
    """
    alpha = _prob("alpha", alpha, open_left=True, open_right=True)
    se = _positive("se", se)
    delta = effect / se
    if df is None or np.isinf(df):
        z = stats.norm.ppf(1 - alpha / 2)
        return float(stats.norm.sf(z - delta) + stats.norm.cdf(-z - delta))
    df = _positive("df", df)
    t = stats.t.ppf(1 - alpha / 2, df)
    return float(stats.nct.sf(t, df, delta) + stats.nct.cdf(-t, df, delta))


def optimal_group_size(icc, c1, c2):
    """Group size minimising the SE of a level-2 effect under ``C = K (c2 + n c1)``.

    ``n_opt = sqrt((c2 / c1) (1 - icc) / icc)`` (Snijders & Bosker 2012, ch. 11; Raudenbush
    1997): it does not depend on the budget, only on the cost ratio and the ICC.

    Parameters
    ----------
    icc : float
        Intraclass correlation, in (0, 1).
    c1, c2 : float
        Cost of a level-1 unit and of a group (its fixed cost).

    Returns
    -------
    float
        The real-valued optimum (round to a neighbouring integer; :func:`budget_table` shows
        how flat the SE is around it).

    Examples
    --------
    >>> round(optimal_group_size(0.1, c1=1, c2=10), 2)
    9.49
    """
    icc = _prob("icc", icc, open_left=True, open_right=True)
    return math.sqrt(_positive("c2", c2) / _positive("c1", c1) * (1 - icc) / icc)


def budget_table(
    budget, c1, c2, icc, effect, n_values=None, level=2, p=0.5, slope_var=0.0, alpha=0.05
):
    """SE and power over group sizes for a fixed budget ``C = K (c2 + n c1)``.

    For each n the number of groups is ``K = floor(C / (c2 + n c1))``; the SE is
    :func:`effect_se` and the power :func:`power_from_se`, by the normal approximation
    (``power_z``) and by the noncentral t (``power_t``) with ``df = K - 2`` (level 2, the
    between-group comparison), ``K - 1`` (level 1 with a random treatment effect) or
    ``K (n - 1) - 1`` (level 1 with a fixed treatment effect).

    Parameters
    ----------
    budget : float
    c1, c2 : float
        Costs per level-1 unit and per group.
    icc : float
    effect : float
        True effect in SD units of the outcome.
    n_values : sequence of int, optional
        Group sizes to tabulate; default 2 to 4 times the optimum (at least 2 to 50).
    level, p, slope_var :
        As in :func:`effect_se`.
    alpha : float

    Returns
    -------
    pandas.DataFrame
        Columns n, k, cost, se, df, power_z, power_t; ``attrs["n_opt"]`` holds
        :func:`optimal_group_size` (level 2; for level 1 the analogue
        ``sqrt(c2 sigma2 / (c1 slope_var p (1 - p)))``, infinite without slope variance).

    Examples
    --------
    >>> t = budget_table(budget=2000, c1=1, c2=10, icc=0.1, effect=0.25, n_values=[5, 9, 10, 20])
    >>> t.round(3)
        n    k    cost     se   df  power_z  power_t
    0   5  133  1995.0  0.092  131    0.778    0.772
    1   9  105  1995.0  0.087  103    0.817    0.810
    2  10  100  2000.0  0.087   98    0.818    0.810
    3  20   66  1980.0  0.094   64    0.760    0.748
    >>> round(t.attrs["n_opt"], 2)
    9.49
    """
    budget = _positive("budget", budget)
    c1, c2 = _positive("c1", c1), _positive("c2", c2)
    icc = _prob("icc", icc, open_left=True, open_right=True)
    if level == 2:
        n_opt = optimal_group_size(icc, c1, c2)
    elif level == 1:
        s2 = _prob("p", p, open_left=True, open_right=True)
        s2 = s2 * (1 - s2)
        n_opt = math.sqrt(c2 * (1 - icc) / (c1 * slope_var * s2)) if slope_var > 0 else math.inf
    else:
        raise ValueError(f"level must be 1 or 2, got {level!r}")
    if n_values is None:
        top = 50 if not np.isfinite(n_opt) else max(50, int(4 * n_opt))
        n_values = range(2, top + 1)
    rows = []
    for n in n_values:
        n = _positive("n", n, integer=True, minimum=0)
        k = int(budget // (c2 + n * c1))
        if k < 3:
            continue
        se = effect_se(k, n, icc, level=level, p=p, slope_var=slope_var)
        df = k - 2 if level == 2 else (k - 1 if slope_var > 0 else k * (n - 1) - 1)
        rows.append(
            {
                "n": n,
                "k": k,
                "cost": k * (c2 + n * c1),
                "se": se,
                "df": df,
                "power_z": power_from_se(effect, se, alpha),
                "power_t": power_from_se(effect, se, alpha, df=df),
            }
        )
    if not rows:
        raise ValueError("the budget affords fewer than 3 groups at every n: raise the budget")
    out = pd.DataFrame(rows)
    out.attrs["n_opt"] = n_opt
    return out
