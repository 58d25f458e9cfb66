"""Dynamic panels: a lagged dependent variable with individual effects.

In y_it = rho y_i,t-1 + x_it' beta + u_i + e_it the within transformation subtracts the entity
mean of y_i,t-1, which contains e_i,t-1, e_i,t-2, ...: the demeaned lag is correlated with the
demeaned error and the fixed-effects estimate of rho is biased towards 0 (for rho > 0) by about
-(1 + rho) / (T - 1) -- Nickell's bias (Nickell 1981), which vanishes only as T grows, not as N
grows. First differences remove u_i too, but the differenced lag y_i,t-1 - y_i,t-2 is correlated
with e_i,t - e_i,t-1; y_i,t-2 is not (if the e_it are serially uncorrelated) and serves as its
instrument: the Anderson-Hsiao estimator (Anderson & Hsiao 1981). Arellano & Bond (1991) use all
lags y_i,t-2, y_i,t-3, ... as instruments in a GMM estimator (R: ``plm::pgmm``).

Examples
--------
>>> import mixedtools as mt
>>> round(mt.panel.nickell_bias(0.5, 10), 4)
-0.1622
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mixedtools.panel._design import check_panel_frame

__all__ = ["nickell_bias", "simulate_dynamic", "lagged_differences", "anderson_hsiao"]


def nickell_bias(rho: float, n_periods: int) -> float:
    """Nickell's (1981) large-N bias of the within estimator of rho in an AR(1) panel.

    Parameters
    ----------
    rho : float
        Autoregressive coefficient, ``abs(rho) < 1``.
    n_periods : int
        T, the number of periods in the regression (after the first observation is used as the
        lag), at least 2.

    Returns
    -------
    float
        plim (rho_FE - rho) as N -> infinity with T fixed (no other regressors, stationary
        start): ``-(1 + rho) / (T - 1) * A / (1 - 2 rho / ((1 - rho)(T - 1)) * A)`` with
        ``A = 1 - (1 - rho^T) / (T (1 - rho))``.

    Examples
    --------
    >>> import mixedtools as mt
    >>> [round(mt.panel.nickell_bias(0.5, t), 3) for t in (3, 10, 40)]
    [-0.536, -0.162, -0.038]
    """
    if not -1 < rho < 1:
        raise ValueError(f"rho must lie in (-1, 1); got {rho}.")
    T = int(n_periods)
    if T < 2:
        raise ValueError(f"n_periods must be at least 2; got {n_periods}.")
    A = 1 - (1 - rho**T) / (T * (1 - rho))
    return float(-(1 + rho) / (T - 1) * A / (1 - 2 * rho / ((1 - rho) * (T - 1)) * A))


def simulate_dynamic(
    n_entities: int,
    n_periods: int,
    rho: float = 0.5,
    sigma_id: float = 1.0,
    sigma_idios: float = 1.0,
    seed: int | None = None,
) -> pd.DataFrame:
    """Simulate a balanced AR(1) panel y_it = rho y_i,t-1 + u_i + e_it, started in its
    stationary distribution (mean u_i / (1 - rho), variance sigma_idios^2 / (1 - rho^2)).

    Parameters
    ----------
    n_entities, n_periods : int
        N, and T + 1: the first period only supplies the lag of the second.
    rho : float
        Autoregressive coefficient, ``abs(rho) < 1``.
    sigma_id, sigma_idios : float
        Standard deviations of u_i and e_it.
    seed : int, optional
        Seed of ``numpy.random.default_rng``.

    Returns
    -------
    pandas.DataFrame
        Columns ``y`` and ``y_lag`` (NaN in the first period), indexed by (entity, time).

    Examples
    --------
    >>> import mixedtools as mt
    >>> panel = mt.panel.simulate_dynamic(3, 4, rho=0.5, seed=1)
    >>> panel.shape, int(panel["y_lag"].isna().sum())
    ((12, 2), 3)
    """
    if not -1 < rho < 1:
        raise ValueError(f"rho must lie in (-1, 1); got {rho}.")
    if n_entities < 2 or n_periods < 3:
        raise ValueError("a dynamic panel needs n_entities >= 2 and n_periods >= 3.")
    rng = np.random.default_rng(seed)
    u = sigma_id * rng.standard_normal(n_entities)
    y = np.empty((n_entities, n_periods))
    y[:, 0] = u / (1 - rho) + sigma_idios / np.sqrt(1 - rho**2) * rng.standard_normal(n_entities)
    shocks = sigma_idios * rng.standard_normal((n_entities, n_periods - 1))
    for t in range(1, n_periods):
        y[:, t] = rho * y[:, t - 1] + u + shocks[:, t - 1]
    lag = np.column_stack([np.full(n_entities, np.nan), y[:, :-1]])
    index = pd.MultiIndex.from_product(
        [np.arange(n_entities), np.arange(n_periods)], names=["entity", "time"]
    )
    return pd.DataFrame({"y": y.ravel(), "y_lag": lag.ravel()}, index=index)


def lagged_differences(data: pd.DataFrame, y: str, exog=()) -> pd.DataFrame:
    """The first-differenced data of the Anderson-Hsiao estimator.

    Parameters
    ----------
    data : pandas.DataFrame
        Indexed by (entity, time) with integer (consecutive) periods; gaps give missing lags.
    y : str
        The dependent variable.
    exog : sequence of str
        Strictly exogenous regressors (differenced; they instrument themselves).

    Returns
    -------
    pandas.DataFrame
        ``d_y`` (y_t - y_t-1), ``d_y_lag`` (y_t-1 - y_t-2), ``y_lag2`` (y_t-2, the instrument)
        and ``d_<x>`` for each exogenous regressor, on the rows where all are defined (from the
        third period of each entity on), indexed as ``data``.

    Examples
    --------
    >>> import mixedtools as mt
    >>> panel = mt.panel.simulate_dynamic(2, 5, seed=1)
    >>> diffs = mt.panel.lagged_differences(panel, "y")
    >>> list(diffs.columns), len(diffs)
    (['d_y', 'd_y_lag', 'y_lag2'], 6)
    """
    check_panel_frame(data)
    exog = [exog] if isinstance(exog, str) else list(exog)
    missing = [c for c in [y, *exog] if c not in data.columns]
    if missing:
        raise ValueError(f"columns not in data: {missing}.")
    frame = data[[y, *exog]].sort_index()
    entity = frame.index.get_level_values(0)
    time = np.asarray(frame.index.get_level_values(1))
    if not np.issubdtype(time.dtype, np.integer):
        raise ValueError("the periods must be integers (e.g. years) to form lags.")

    def lag(values: pd.DataFrame, k: int) -> pd.DataFrame:
        shifted = values.groupby(entity).shift(k)
        gap = pd.Series(time, index=values.index).groupby(entity).shift(k)
        shifted.loc[~(time - gap.to_numpy() == k)] = np.nan
        return shifted

    lag1, lag2 = lag(frame, 1), lag(frame, 2)
    out = pd.DataFrame(
        {
            f"d_{y}": frame[y] - lag1[y],
            f"d_{y}_lag": lag1[y] - lag2[y],
            f"{y}_lag2": lag2[y],
        }
    )
    for x in exog:
        out[f"d_{x}"] = frame[x] - lag1[x]
    return out.dropna()


def anderson_hsiao(data: pd.DataFrame, y: str, exog=(), cov_type: str = "clustered"):
    """Anderson-Hsiao IV estimator of a dynamic panel, by linearmodels' ``IV2SLS``.

    Fits Delta y_it = rho Delta y_i,t-1 + Delta x_it' beta + Delta e_it by two-stage least
    squares, instrumenting Delta y_i,t-1 with the level y_i,t-2 (valid if the e_it are serially
    uncorrelated); the differenced exogenous regressors instrument themselves. No constant (the
    individual effects are differenced away).

    Parameters
    ----------
    data : pandas.DataFrame
        Indexed by (entity, time), integer periods.
    y : str
        The dependent variable; its lag is added as a regressor, named ``d_<y>_lag``.
    exog : sequence of str
        Strictly exogenous regressors.
    cov_type : {"clustered", "unadjusted", "robust"}
        ``"clustered"`` clusters by entity (the differenced errors are serially correlated).

    Returns
    -------
    linearmodels.iv.results.IVResults
        ``params``, ``std_errors``, ``first_stage`` and the rest of linearmodels' IV results.

    Examples
    --------
    >>> import mixedtools as mt
    >>> panel = mt.panel.simulate_dynamic(500, 6, rho=0.5, seed=3)
    >>> ah = mt.panel.anderson_hsiao(panel, "y")
    >>> round(float(ah.params["d_y_lag"]), 2)
    0.48
    """
    from linearmodels.iv import IV2SLS

    diffs = lagged_differences(data, y, exog)
    if len(diffs) < 3:
        raise ValueError("too few rows with two lags of y (each entity needs 3 periods).")
    exog_cols = [f"d_{x}" for x in ([exog] if isinstance(exog, str) else list(exog))]
    model = IV2SLS(
        diffs[f"d_{y}"],
        diffs[exog_cols] if exog_cols else None,
        diffs[[f"d_{y}_lag"]],
        diffs[[f"{y}_lag2"]],
    )
    if cov_type == "clustered":
        codes = pd.factorize(diffs.index.get_level_values(0))[0]
        return model.fit(cov_type="clustered", clusters=codes)
    return model.fit(cov_type=cov_type)
