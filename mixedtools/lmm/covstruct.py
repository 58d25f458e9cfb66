"""Marginal covariance matrices implied by common mixed-model designs.

A mixed model is a model for the mean (fixed effects) *and* for the covariance of the
observations (random effects and residual structure). These helpers build the covariance
matrix ``V = Var(y)`` of the designs discussed in the book's first chapter, so that they can
be compared side by side, e.g. as heat maps.

Examples
--------
>>> from mixedtools import covstruct
>>> covstruct.compound_symmetry(3, sigma2_between=1.0, sigma2_within=2.0)
array([[3., 1., 1.],
       [1., 3., 1.],
       [1., 1., 3.]])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.linalg import block_diag
from scipy.spatial.distance import cdist

__all__ = [
    "block_diagonal",
    "compound_symmetry",
    "split_plot",
    "random_coefficients",
    "ar1",
    "exponential_spatial",
    "correlated_responses",
]


def block_diagonal(block: np.ndarray, n_units: int) -> np.ndarray:
    """Repeat one unit's covariance ``block`` for ``n_units`` independent units.

    Examples
    --------
    >>> block_diagonal(np.eye(2), 2).shape
    (4, 4)
    """
    return block_diag(*([np.asarray(block, dtype=float)] * int(n_units)))


def compound_symmetry(n: int, sigma2_between: float, sigma2_within: float) -> np.ndarray:
    """Covariance of ``n`` rows sharing one random intercept (repeated measures, one group).

    Every pair of rows has covariance ``sigma2_between``; each variance is
    ``sigma2_between + sigma2_within``.

    Examples
    --------
    >>> compound_symmetry(2, 1.0, 1.0)
    array([[2., 1.],
           [1., 2.]])
    """
    return sigma2_between * np.ones((n, n)) + sigma2_within * np.eye(n)


def split_plot(
    n_subplots: int, n_whole_plots: int, sigma2_whole: float, sigma2_sub: float
) -> np.ndarray:
    """Covariance within one block of a split-plot design.

    Sub-plots of the same whole plot share the whole-plot error ``sigma2_whole``; all rows have
    the sub-plot error ``sigma2_sub``. Rows are ordered whole plot by whole plot.

    Examples
    --------
    >>> split_plot(2, 2, 1.0, 0.5)
    array([[1.5, 1. , 0. , 0. ],
           [1. , 1.5, 0. , 0. ],
           [0. , 0. , 1.5, 1. ],
           [0. , 0. , 1. , 1.5]])
    """
    return block_diagonal(compound_symmetry(n_subplots, sigma2_whole, sigma2_sub), n_whole_plots)


def random_coefficients(times: Sequence[float], G: np.ndarray, sigma2: float) -> np.ndarray:
    """Covariance ``Z G Z' + sigma2 I`` of one unit with a random intercept and slope in ``times``.

    Examples
    --------
    >>> random_coefficients([0, 1], np.diag([1.0, 0.5]), 1.0)
    array([[2. , 1. ],
           [1. , 2.5]])
    """
    t = np.asarray(times, dtype=float)
    z = np.column_stack([np.ones_like(t), t])
    return z @ np.asarray(G, dtype=float) @ z.T + sigma2 * np.eye(t.size)


def ar1(n: int, rho: float, sigma2: float = 1.0) -> np.ndarray:
    """First-order autoregressive covariance ``sigma2 * rho**|i - j|`` at ``n`` equally spaced
    times.

    Examples
    --------
    >>> ar1(3, 0.5)
    array([[1.  , 0.5 , 0.25],
           [0.5 , 1.  , 0.5 ],
           [0.25, 0.5 , 1.  ]])
    """
    if not -1 < rho < 1:
        raise ValueError(f"rho must lie in (-1, 1); got {rho}.")
    lag = np.abs(np.subtract.outer(np.arange(n), np.arange(n)))
    return sigma2 * rho**lag


def exponential_spatial(
    coords: np.ndarray, range_: float, sigma2: float = 1.0, nugget: float = 0.0
) -> np.ndarray:
    """Exponential spatial covariance ``sigma2 * exp(-d / range_) + nugget * I``.

    Examples
    --------
    >>> exponential_spatial(np.array([[0.0, 0.0], [1.0, 0.0]]), range_=1.0).round(3)
    array([[1.   , 0.368],
           [0.368, 1.   ]])
    """
    if range_ <= 0:
        raise ValueError("range_ must be positive.")
    d = cdist(np.asarray(coords, dtype=float), np.asarray(coords, dtype=float))
    return sigma2 * np.exp(-d / range_) + nugget * np.eye(d.shape[0])


def correlated_responses(sigma: np.ndarray, n_units: int) -> np.ndarray:
    """Covariance of several responses measured on each of ``n_units`` units.

    ``sigma`` is the covariance of the responses within a unit (e.g. height, weight, blood
    pressure); units are independent.

    Examples
    --------
    >>> correlated_responses(np.array([[1.0, 0.5], [0.5, 1.0]]), 2).shape
    (4, 4)
    """
    sigma = np.asarray(sigma, dtype=float)
    if sigma.ndim != 2 or sigma.shape[0] != sigma.shape[1] or not np.allclose(sigma, sigma.T):
        raise ValueError("sigma must be a symmetric square covariance matrix.")
    return block_diagonal(sigma, n_units)
