"""The type I error of a level-2 test when the groups are ignored: the source notes' first example,
simulated without fitting a model per replication.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import Executor

import numpy as np
import pandas as pd
from scipy import stats

from mixedtools._progress import progress_bar
from mixedtools._threads import run_parallel

__all__ = ["level2_type1_error", "level2_t_statistics"]


def _rejection_rows(task, bar=None) -> list[dict]:
    """The table's rows, drawn from one random stream (so the study is one task)."""
    k, n, iccs, n_reps, alpha, seed = task
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
        if bar is not None:
            bar.update(n_reps)
    return rows


def level2_type1_error(
    n_groups: int,
    group_size: int,
    icc: float | Iterable[float],
    n_reps: int = 2000,
    alpha: float = 0.05,
    seed: int | None = None,
    *,
    executor: Executor | None = None,
    progress: bool | None = None,
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
    executor : concurrent.futures.Executor, optional
        Run the study there instead of in this process. It is vectorised and drawn from one
        random stream, so it is a single task: the result is the same wherever it runs.
    progress : bool, optional
        Progress bar; by default only for a person watching (see :mod:`mixedtools._progress`).

    Returns
    -------
    pandas.DataFrame
        One row per ICC and method: ``icc``, ``method``, ``rejection_rate``, ``mc_se`` (Monte Carlo
        standard error of the rate) and ``design_effect`` ``1 + (n - 1) icc``.

    Examples
    --------
    >>> from mixedtools.sim import level2_type1_error
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
    task = (k, n, tuple(float(v) for v in iccs), int(n_reps), alpha, seed)
    if executor is None:
        bar = progress_bar(len(iccs) * int(n_reps), "level-2 type I error", progress)
        try:
            rows = _rejection_rows(task, bar)
        finally:
            bar.close()
    else:
        (rows,) = run_parallel(
            _rejection_rows,
            [task],
            executor=executor,
            progress=progress,
            counts=[len(iccs) * int(n_reps)],
            desc="level-2 type I error",
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
