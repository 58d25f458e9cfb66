"""A simulated panel whose individual effect may correlate with the regressor."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["simulate"]


# Simulation
# ---------------------------------------------------------------------------------------------
def simulate(
    n_entities: int,
    n_periods: int,
    beta: float = 1.0,
    corr: float = 0.0,
    sigma_id: float = 1.0,
    sigma_idios: float = 1.0,
    hetero: float = 0.0,
    seed: int | None = None,
) -> pd.DataFrame:
    """Simulate a balanced panel y_it = beta x_it + u_i + e_it, with corr(u_i, xbar_i) set.

    The regressor is x_it = a_i + w_it with a_i and w_it standard normal; the individual
    effect is u_i = sigma_id (corr a_i + sqrt(1 - corr^2) v_i), so ``corr`` is the
    correlation between u_i and the entity's permanent level a_i of x. With ``corr = 0`` the
    random-effects assumption holds; otherwise only fixed effects are consistent.

    Parameters
    ----------
    n_entities, n_periods : int
        N and T.
    beta : float
        True slope.
    corr : float
        Correlation between u_i and a_i, in [-1, 1].
    sigma_id, sigma_idios : float
        Standard deviations of u_i and e_it.
    hetero : float, default 0
        Heteroscedasticity: the standard deviation of e_it is
        ``sigma_idios * exp(hetero * |a_i|) / c``, with c chosen so that its mean square over
        the normal distribution of a_i is ``sigma_idios**2``; entities with an extreme level of
        x are noisier. 0 gives homoscedastic errors.
    seed : int, optional
        Seed of ``numpy.random.default_rng``.

    Returns
    -------
    pandas.DataFrame
        Columns ``y``, ``x``, indexed by (entity, time).

    Examples
    --------
    >>> import mixedtools as mt
    >>> panel = mt.panel.simulate(50, 5, corr=0.5, seed=1)
    >>> panel.shape, list(panel.index.names)
    ((250, 2), ['entity', 'time'])
    """
    if not -1 <= corr <= 1:
        raise ValueError(f"corr must lie in [-1, 1]; got {corr}.")
    if n_entities < 2 or n_periods < 2:
        raise ValueError("a panel needs n_entities >= 2 and n_periods >= 2.")
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(n_entities)
    u = sigma_id * (corr * a + np.sqrt(1 - corr**2) * rng.standard_normal(n_entities))
    x = a[:, None] + rng.standard_normal((n_entities, n_periods))
    # E exp(2 h |a|) = 2 exp(2 h^2) Phi(2 h) for standard normal a
    scale = np.sqrt(2 * np.exp(2 * hetero**2) * stats.norm.cdf(2 * hetero))
    sd = sigma_idios * np.exp(hetero * np.abs(a)) / scale
    y = beta * x + u[:, None] + sd[:, None] * rng.standard_normal((n_entities, n_periods))
    index = pd.MultiIndex.from_product(
        [np.arange(n_entities), np.arange(n_periods)], names=["entity", "time"]
    )
    return pd.DataFrame({"y": y.ravel(), "x": x.ravel()}, index=index)
