"""Latent versus manifest contextual effects (Lüdtke et al. 2008): the reliability of a group mean.

A level-1 predictor ``x_ij = mu_j + b_ij`` (between-group variance ``tau_x``, within-group
variance ``sigma2_x``) enters a two-level model twice: centred within groups (the within effect
``beta_W``) and as its group mean (the between effect ``beta_B``); the *contextual effect* is
``beta_C = beta_B - beta_W``.  The *manifest* approach uses the observed mean ``xbar_j`` of the
``n`` sampled members, which measures the *latent* group mean ``mu_j`` with reliability

    ``lambda = tau_x / (tau_x + sigma2_x / n) = n rho_x / (1 + (n - 1) rho_x)``

(the Spearman-Brown formula, ``rho_x`` the predictor's ICC).  The between slope of the observed
means then estimates ``lambda beta_B + (1 - lambda) beta_W`` and the manifest contextual effect

    ``E[beta_C manifest] ~= lambda beta_C``,  bias ``-(1 - lambda) beta_C``

(Lüdtke, Marsh, Robitzsch, Trautwein, Asparouhov & Muthén 2008, *Psychological Methods* 13,
203-229; for many groups).  Small groups and a small ICC of the predictor attenuate the
contextual effect towards zero; the within effect is unbiased.

:func:`within_between` splits a level-1 predictor into the two parts that such a model uses: the
group (person) mean and the deviation from it.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

__all__ = ["group_mean_reliability", "manifest_contextual_bias", "within_between"]


def group_mean_reliability(n, icc_x):
    """Reliability of an observed group mean of n members: ``n icc_x / (1 + (n - 1) icc_x)``.

    Parameters
    ----------
    n : float or array_like
        Group size(s).
    icc_x : float or array_like
        Intraclass correlation of the predictor, ``tau_x / (tau_x + sigma2_x)``.

    Returns
    -------
    float or numpy.ndarray

    Examples
    --------
    >>> round(group_mean_reliability(10, 0.1), 4)
    0.5263
    """
    n = np.asarray(n, dtype=float)
    icc_x = np.asarray(icc_x, dtype=float)
    if np.any(~np.isfinite(n)) or np.any(n < 1):
        raise ValueError("n must be group sizes of at least 1")
    if np.any(~np.isfinite(icc_x)) or np.any((icc_x < 0) | (icc_x > 1)):
        raise ValueError("icc_x must lie in [0, 1]")
    lam = n * icc_x / (1 + (n - 1) * icc_x)
    return float(lam) if lam.ndim == 0 else lam


def manifest_contextual_bias(n, icc_x, beta_within, beta_contextual):
    """Expected manifest contextual effect and its bias over group sizes and predictor ICCs.

    Parameters
    ----------
    n : int or sequence of int
        Group sizes.
    icc_x : float or sequence of float
        ICCs of the predictor.
    beta_within : float
        The within-group effect ``beta_W``.
    beta_contextual : float
        The true (latent) contextual effect ``beta_C = beta_B - beta_W``.

    Returns
    -------
    pandas.DataFrame
        One row per (n, icc_x): n, icc_x, reliability, beta_between (latent),
        expected_between (manifest: ``lambda beta_B + (1 - lambda) beta_W``),
        expected_contextual (``lambda beta_C``), bias, relative_bias.

    Examples
    --------
    >>> t = manifest_contextual_bias([5, 30], [0.1, 0.3], beta_within=0.2, beta_contextual=0.3)
    >>> t[["n", "icc_x", "reliability", "expected_contextual", "relative_bias"]].round(3)
        n  icc_x  reliability  expected_contextual  relative_bias
    0   5    0.1        0.357                0.107         -0.643
    1   5    0.3        0.682                0.205         -0.318
    2  30    0.1        0.769                0.231         -0.231
    3  30    0.3        0.928                0.278         -0.072
    """
    for name, value in (("beta_within", beta_within), ("beta_contextual", beta_contextual)):
        if not isinstance(value, numbers.Real) or not np.isfinite(value):
            raise ValueError(f"{name} must be a number, got {value!r}")
    ns = np.atleast_1d(np.asarray(n, dtype=float))
    iccs = np.atleast_1d(np.asarray(icc_x, dtype=float))
    grid = pd.DataFrame([(a, b) for a in ns for b in iccs], columns=["n", "icc_x"])
    lam = group_mean_reliability(grid.n.to_numpy(), grid.icc_x.to_numpy())
    if np.all(ns == np.round(ns)):
        grid["n"] = grid.n.astype(int)
    beta_b = beta_within + beta_contextual
    grid["reliability"] = lam
    grid["beta_between"] = beta_b
    grid["expected_between"] = lam * beta_b + (1 - lam) * beta_within
    grid["expected_contextual"] = lam * beta_contextual
    grid["bias"] = (lam - 1) * beta_contextual
    with np.errstate(divide="ignore", invalid="ignore"):
        grid["relative_bias"] = lam - 1 if beta_contextual != 0 else np.nan
    return grid


def within_between(data, columns, group, suffixes=("_between", "_within")):
    """Split level-1 predictors into their group means (between) and the deviations (within).

    For a time-varying covariate ``x_ij`` of occasion ``i`` in person ``j`` (or a student-level
    predictor in school ``j``) the between part is the person mean ``xbar_j`` and the within part
    is ``x_ij - xbar_j`` (person-mean centring, centring within clusters).  Entered together in a
    model, the within part's coefficient is the within-person effect and the between part's the
    between-person effect; the uncentred ``x`` alone gets a blend of the two.

    Parameters
    ----------
    data : pandas.DataFrame
    columns : str or sequence of str
        Numeric columns to split.
    group : str
        The grouping column (person, school).
    suffixes : tuple of two str
        Appended to each column name for the between and the within part.

    Returns
    -------
    pandas.DataFrame
        A copy of `data` with, for each column ``x``, the columns ``x + suffixes[0]`` (the group
        mean of the non-missing values, repeated on every row of the group) and ``x +
        suffixes[1]`` (``x`` minus that mean; missing where ``x`` is missing).

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"id": [1, 1, 1, 2, 2], "x": [0, 1, 2, 4, 6]})
    >>> within_between(d, "x", "id")
       id  x  x_between  x_within
    0   1  0        1.0      -1.0
    1   1  1        1.0       0.0
    2   1  2        1.0       1.0
    3   2  4        5.0      -1.0
    4   2  6        5.0       1.0
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError("data must be a pandas DataFrame")
    columns = [columns] if isinstance(columns, str) else list(columns)
    if not columns:
        raise ValueError("columns must name at least one column")
    if len(suffixes) != 2 or suffixes[0] == suffixes[1]:
        raise ValueError(f"suffixes must be two different strings, got {suffixes!r}")
    missing = [c for c in [*columns, group] if c not in data.columns]
    if missing:
        raise ValueError(f"data lacks the column(s) {missing}")
    if data[group].isna().any():
        raise ValueError(f"the grouping column {group!r} has missing values")
    out = data.copy()
    for column in columns:
        if not pd.api.types.is_numeric_dtype(data[column]):
            raise ValueError(f"column {column!r} is not numeric")
        mean = data.groupby(group)[column].transform("mean").astype(float)
        out[column + suffixes[0]] = mean
        out[column + suffixes[1]] = data[column] - mean
    return out
