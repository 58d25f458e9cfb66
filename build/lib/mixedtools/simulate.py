"""Seeded simulators for the book's examples.

Each function returns a tidy :class:`pandas.DataFrame` (one row per observation) or a table of
simulation results, and takes a ``seed`` so that every number in the book can be reproduced.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["one_way_random", "oven_batch", "level2_type1_error", "level2_t_statistics"]


def _check_variance(name: str, value: float) -> float:
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite, non-negative variance; got {value}.")
    return value


def one_way_random(
    group_sizes: Sequence[int],
    mu: float = 0.0,
    sigma2_between: float = 1.0,
    sigma2_within: float = 1.0,
    seed: int | None = None,
) -> pd.DataFrame:
    """Simulate the one-way random-effects model ``y_ij = mu + alpha_i + e_ij``.

    Parameters
    ----------
    group_sizes : sequence of int
        Number of observations in each group; equal sizes give a balanced design.
    mu : float
        Grand mean.
    sigma2_between : float
        Variance of the group effects ``alpha_i ~ N(0, sigma2_between)``.
    sigma2_within : float
        Variance of the residuals ``e_ij ~ N(0, sigma2_within)``.
    seed : int, optional
        Seed for :func:`numpy.random.default_rng`.

    Returns
    -------
    pandas.DataFrame
        Columns ``group`` (string labels ``g01``, ``g02``, ...), ``alpha`` (the true group
        effect) and ``y``.

    Examples
    --------
    >>> from mixedtools.simulate import one_way_random
    >>> df = one_way_random([5, 5, 5], mu=10, sigma2_between=4, sigma2_within=1, seed=1)
    >>> df.shape
    (15, 3)
    >>> df.groupby("group").size().tolist()
    [5, 5, 5]
    """
    sizes = np.asarray(group_sizes, dtype=int)
    if sizes.ndim != 1 or sizes.size < 2 or np.any(sizes < 1):
        raise ValueError("group_sizes must list at least two groups, each with one or more rows.")
    sb = _check_variance("sigma2_between", sigma2_between)
    sw = _check_variance("sigma2_within", sigma2_within)
    rng = np.random.default_rng(seed)
    width = len(str(sizes.size))
    labels = np.array([f"g{i + 1:0{width}d}" for i in range(sizes.size)])
    alpha = rng.normal(0.0, np.sqrt(sb), size=sizes.size)
    group_index = np.repeat(np.arange(sizes.size), sizes)
    y = mu + alpha[group_index] + rng.normal(0.0, np.sqrt(sw), size=group_index.size)
    return pd.DataFrame({"group": labels[group_index], "alpha": alpha[group_index], "y": y})


def oven_batch(
    oven_means: Sequence[float] = (10.0, 12.0),
    n_batches: int = 3,
    n_parts: int = 5,
    sigma2_batch: float = 1.0,
    sigma2_part: float = 0.25,
    seed: int | None = None,
) -> pd.DataFrame:
    """Simulate the oven/batch shrinkage experiment: batches nested in ovens, parts in batches.

    Oven is a fixed factor (its levels are the ovens we care about); batch is a random factor
    nested in oven (each batch is baked in one oven only), and parts are measured within batches:
    ``shrinkage = oven_mean + b_batch + e_part``.

    Parameters
    ----------
    oven_means : sequence of float
        Mean shrinkage of each oven (the fixed effects); ovens are labelled ``A``, ``B``, ...
    n_batches : int
        Batches baked in each oven.
    n_parts : int
        Parts measured in each batch.
    sigma2_batch : float
        Variance of the batch effects.
    sigma2_part : float
        Variance of part-to-part variation within a batch.
    seed : int, optional
        Seed for :func:`numpy.random.default_rng`.

    Returns
    -------
    pandas.DataFrame
        Columns ``oven``, ``batch`` (unique labels such as ``A1``), ``part`` and ``shrinkage``.

    Examples
    --------
    >>> from mixedtools.simulate import oven_batch
    >>> df = oven_batch(seed=1)
    >>> df.shape
    (30, 4)
    >>> sorted(df["batch"].unique())
    ['A1', 'A2', 'A3', 'B1', 'B2', 'B3']
    """
    means = np.asarray(oven_means, dtype=float)
    if means.ndim != 1 or means.size < 1 or means.size > 26:
        raise ValueError("oven_means must list between 1 and 26 oven means.")
    if n_batches < 2 or n_parts < 1:
        raise ValueError("Need at least two batches per oven and one part per batch.")
    sb = _check_variance("sigma2_batch", sigma2_batch)
    sp = _check_variance("sigma2_part", sigma2_part)
    rng = np.random.default_rng(seed)
    ovens = [chr(ord("A") + i) for i in range(means.size)]
    rows = []
    for oven, mean in zip(ovens, means, strict=True):
        for b in range(n_batches):
            batch_effect = rng.normal(0.0, np.sqrt(sb))
            parts = mean + batch_effect + rng.normal(0.0, np.sqrt(sp), size=n_parts)
            for p, value in enumerate(parts):
                rows.append((oven, f"{oven}{b + 1}", p + 1, value))
    return pd.DataFrame(rows, columns=["oven", "batch", "part", "shrinkage"])


def level2_type1_error(
    n_groups: int,
    group_size: int,
    icc: float | Iterable[float],
    n_reps: int = 2000,
    alpha: float = 0.05,
    seed: int | None = None,
) -> pd.DataFrame:
    """False-positive rate of a test for a level-2 predictor that has no effect.

    Data follow ``y_ij = u_j + e_ij`` with ``Var(u_j) = icc`` and ``Var(e_ij) = 1 - icc``; a
    group-level predictor ``w_j ~ N(0, 1)`` is unrelated to ``y``. Two analyses test its slope:

    * ``"OLS (ignores nesting)"``: ordinary regression of ``y_ij`` on ``w_j`` over all ``N`` rows,
      t-test with ``N - 2`` df, as if the rows were independent;
    * ``"mixed model"``: the random-intercept model ``y ~ w + (1 | group)``. For a balanced design
      (and a positive between-group variance estimate) its REML t-test of ``w`` is the regression of
      the group means on ``w`` with ``K - 2`` df, which is what is computed here, for speed.

    Parameters
    ----------
    n_groups : int
        Number of groups ``K`` (at least 3).
    group_size : int
        Rows per group ``n`` (balanced design).
    icc : float or iterable of float
        Intra-class correlation(s) in ``[0, 1)``.
    n_reps : int
        Monte Carlo replications per ICC value.
    alpha : float
        Nominal significance level.
    seed : int, optional
        Seed for :func:`numpy.random.default_rng`.

    Returns
    -------
    pandas.DataFrame
        One row per ICC and method: ``icc``, ``method``, ``rejection_rate``, ``mc_se`` (Monte Carlo
        standard error of the rate) and ``design_effect`` ``1 + (n - 1) icc``.

    Examples
    --------
    >>> from mixedtools.simulate import level2_type1_error
    >>> res = level2_type1_error(20, 10, icc=[0.0, 0.3], n_reps=500, seed=1)
    >>> res[["icc", "method"]].shape
    (4, 2)
    """
    k, n = int(n_groups), int(group_size)
    if k < 3 or n < 1:
        raise ValueError("Need at least 3 groups and 1 row per group.")
    iccs = np.atleast_1d(np.asarray(list(icc) if not np.isscalar(icc) else [icc], dtype=float))
    if np.any((iccs < 0) | (iccs >= 1)):
        raise ValueError("icc values must lie in [0, 1).")
    rng = np.random.default_rng(seed)
    rows = []
    for rho in iccs:
        w = rng.normal(size=(n_reps, k))
        u = rng.normal(0.0, np.sqrt(rho), size=(n_reps, k))
        e = rng.normal(0.0, np.sqrt(1.0 - rho), size=(n_reps, k, n))
        y = u[:, :, None] + e
        t_ols, t_mixed = level2_t_statistics(y, w)
        for method, t, df in (
            ("OLS (ignores nesting)", t_ols, k * n - 2),
            ("mixed model", t_mixed, k - 2),
        ):
            p = 2 * stats.t.sf(np.abs(t), df)
            rate = float(np.mean(p < alpha))
            rows.append(
                {
                    "icc": float(rho),
                    "method": method,
                    "rejection_rate": rate,
                    "mc_se": float(np.sqrt(rate * (1 - rate) / n_reps)),
                    "design_effect": 1 + (n - 1) * float(rho),
                }
            )
    return pd.DataFrame(rows)


def level2_t_statistics(y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """t statistics for the slope of a group-level predictor in balanced grouped data.

    Parameters
    ----------
    y : numpy.ndarray, shape (..., K, n)
        Outcomes of ``n`` rows in each of ``K`` groups (leading axes: replications).
    w : numpy.ndarray, shape (..., K)
        The group-level predictor.

    Returns
    -------
    t_ols, t_mixed : numpy.ndarray, shape (...)
        ``t_ols`` is the OLS t statistic of ``y ~ w`` fitted to all ``K n`` rows (``K n - 2`` df);
        ``t_mixed`` is the regression of the group means on ``w`` (``K - 2`` df), which equals the
        REML t statistic of ``y ~ w + (1 | group)`` for balanced data when the estimated
        between-group variance is positive.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> t_ols, t_mixed = level2_t_statistics(rng.normal(size=(10, 4)), rng.normal(size=10))
    >>> bool(abs(t_ols) >= 0 and abs(t_mixed) >= 0)
    True
    """
    k, n = y.shape[-2], y.shape[-1]
    ybar = y.mean(axis=-1)
    ss_within = ((y - ybar[..., None]) ** 2).sum(axis=(-2, -1))
    wc = w - w.mean(axis=-1, keepdims=True)
    sxx = (wc**2).sum(axis=-1)
    slope = (wc * ybar).sum(axis=-1) / sxx
    fitted = ybar.mean(axis=-1, keepdims=True) + slope[..., None] * wc
    ss_means = ((ybar - fitted) ** 2).sum(axis=-1)
    # OLS on all rows: its residuals split into within-group and between-group parts.
    se_ols = np.sqrt((ss_within + n * ss_means) / (k * n - 2) / (n * sxx))
    se_mixed = np.sqrt(ss_means / (k - 2) / sxx)
    return slope / se_ols, slope / se_mixed
