"""A bounded second opinion for fits where statsmodels' optimiser stops short.

statsmodels optimises an unconstrained parameterisation and can stall near the boundary of the
parameter space (a variance near zero).  Here the (RE)ML log-likelihood of :mod:`mixedtools.reml`
is maximised over lme4's kind of parameters: the lower Cholesky factor of G and the standard
deviations of the variance components, both relative to sigma, with the diagonal bounded below by
zero (L-BFGS-B), and sigma^2 on the log scale.  Variances can then reach exactly zero.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize

from . import reml as _reml

__all__ = ["bounded_refit", "neutral_start"]


def _unpack(structure, theta):
    k = structure.k_re
    n_l = k * (k + 1) // 2
    L = np.zeros((k, k))
    L[np.tril_indices(k)] = theta[:n_l]
    n_vc = len(structure.vc)
    sds = theta[n_l : n_l + n_vc]
    s2 = float(np.exp(theta[-1]))
    G = s2 * (L @ L.T)
    G = np.where(structure.free, G, 0.0)
    return structure.tau_from(G=G if k else None, vc_variances=s2 * sds**2, sigma2=s2)


def _pack(structure, tau):
    k = structure.k_re
    s2 = tau[-1]
    G = np.zeros((k, k))
    for i, (a, b) in enumerate(structure.g_entries):
        G[a, b] = G[b, a] = tau[i]
    w, U = np.linalg.eigh(G / s2) if k else (np.zeros(0), np.zeros((0, 0)))
    G_rel = (U * np.clip(w, 1e-10, None)) @ U.T if k else G
    L = np.linalg.cholesky(G_rel) if k else G
    n_g = len(structure.g_entries)
    sds = np.sqrt(np.clip(tau[n_g:-1] / s2, 0.0, None))
    return np.concatenate([L[np.tril_indices(k)], sds, [np.log(s2)]])


def neutral_start(structure) -> np.ndarray:
    """lme4's kind of start: relative covariance I, sigma^2 the OLS residual variance."""
    X, y = structure.X, structure.y
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    s2 = max(float(np.var(y - X @ beta)), 1e-12 * max(float(np.var(y)), 1.0))
    G = np.eye(structure.k_re) * s2 if structure.k_re else None
    return structure.tau_from(G=G, vc_variances=np.full(len(structure.vc), s2), sigma2=s2)


def bounded_refit(structure, tau0, reml=True, try_neutral_start=True) -> np.ndarray:
    """Maximise the (RE)ML log-likelihood from `tau0` with variances bounded below by zero.

    Parameters
    ----------
    structure : mixedtools.reml.LMMStructure
    tau0 : ndarray
        Starting value (data scale).
    reml : bool
    try_neutral_start : bool
        Also start from lme4's neutral point and keep the better optimum.

    Returns
    -------
    ndarray
        tau at the maximum found.
    """
    theta0 = _pack(structure, np.asarray(tau0, float))
    k = structure.k_re
    rows, cols = np.tril_indices(k)
    bounds = [(0.0, None) if r == c else (None, None) for r, c in zip(rows, cols, strict=True)]
    bounds += [(0.0, None)] * len(structure.vc) + [(None, None)]

    def objective(theta):
        ll = _reml.log_likelihood(structure, _unpack(structure, theta), reml)
        return -ll if np.isfinite(ll) else 1e300

    neutral = np.concatenate(
        [(rows == cols).astype(float), np.ones(len(structure.vc)), theta0[-1:]]
    )
    best = None
    for start in (theta0, neutral) if try_neutral_start else (theta0,):
        res = optimize.minimize(
            objective, start, method="L-BFGS-B", bounds=bounds, options={"maxiter": 2000}
        )
        if best is None or res.fun < best.fun:
            best = res
    return _unpack(structure, best.x)
