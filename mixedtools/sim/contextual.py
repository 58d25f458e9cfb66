"""Seeded simulation of the manifest contextual effect (checks :mod:`mixedtools.lmm.contextual`).

:func:`contextual_effect_study` draws two-level data with a latent group mean, estimates the
within, between and contextual effects from the *observed* group means, and sets their averages
(with Monte Carlo SEs) next to the expectations ``beta_W``, ``lambda beta_B + (1 - lambda)
beta_W`` and ``lambda beta_C`` of Lüdtke et al. (2008).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from mixedtools.lmm.contextual import manifest_contextual_bias
from mixedtools.lmm.fit import lmer

__all__ = ["contextual_effect_study"]


def _one(rng, k, n, icc_x, icc_y, beta_w, beta_c, method):
    g = np.repeat(np.arange(k), n)
    mu = rng.normal(0, np.sqrt(icc_x), k)
    x = mu[g] + rng.normal(0, np.sqrt(1 - icc_x), k * n)
    y = (
        beta_w * (x - mu[g])
        + (beta_w + beta_c) * mu[g]
        + rng.normal(0, np.sqrt(icc_y), k)[g]
        + rng.normal(0, np.sqrt(1 - icc_y), k * n)
    )
    xbar = np.bincount(g, x)[g] / n
    xc = x - xbar
    if method == "lmer":
        data = pd.DataFrame({"y": y, "xc": xc, "xbar": xbar, "g": g})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = lmer("y ~ xc + xbar + (1 | g)", data)
        return fit.fixef["xc"], fit.fixef["xbar"]
    # balanced design: the REML estimates are the within slope and the slope of the group means
    b_w = (xc @ y) / (xc @ xc)
    ym, xm = np.bincount(g, y) / n, xbar[::n]
    xm_c = xm - xm.mean()
    b_b = (xm_c @ ym) / (xm_c @ xm_c)
    return b_w, b_b


def contextual_effect_study(
    k,
    n,
    icc_x,
    beta_within=0.2,
    beta_contextual=0.3,
    icc_y=0.1,
    n_rep=500,
    seed=0,
    method="means",
):
    """Bias of the manifest contextual effect over group sizes and predictor ICCs, by simulation.

    For each (n, icc_x): ``x_ij = mu_j + b_ij`` (total variance 1, ICC ``icc_x``),
    ``y_ij = beta_W (x_ij - mu_j) + beta_B mu_j + u_j + e_ij`` (residual variance 1, ICC
    ``icc_y``), ``beta_B = beta_W + beta_C``; the model ``y ~ xc + xbar + (1 | g)`` with the
    *observed* mean ``xbar`` and ``xc = x - xbar`` gives the within effect (``xc``), the between
    effect (``xbar``) and the manifest contextual effect (their difference).

    Parameters
    ----------
    k : int
        Number of groups.
    n : int or sequence of int
        Group size(s).
    icc_x : float or sequence of float
        ICC(s) of the predictor.
    beta_within, beta_contextual : float
        True effects.
    icc_y : float
        ICC of the outcome's residual.
    n_rep : int
        Replicates per design.
    seed : int
    method : {"means", "lmer"}
        "lmer" fits the model with :func:`mixedtools.lmer` by REML; "means" uses the closed form
        it has in a balanced design (the within-group slope and the slope of the group means --
        the same numbers, much faster).

    Returns
    -------
    pandas.DataFrame
        One row per (n, icc_x): n, icc_x, reliability, expected_contextual (``lambda beta_C``),
        mean_contextual and contextual_mcse, mean_within and within_mcse, mean_between and
        between_mcse, expected_between, bias (mean minus the true ``beta_C``), bias_mcse,
        n_rep.

    Examples
    --------
    >>> import mixedtools as mt
    >>> t = mt.simulate.contextual_effect_study(k=100, n=[5], icc_x=[0.1], n_rep=200, seed=1)
    >>> round(float(t.expected_contextual[0]), 3)
    0.107
    >>> bool(abs(t.mean_contextual[0] - t.expected_contextual[0]) < 3 * t.contextual_mcse[0])
    True
    """
    if method not in ("means", "lmer"):
        raise ValueError(f"method must be 'means' or 'lmer', got {method!r}")
    if not (isinstance(n_rep, int) and n_rep >= 2):
        raise ValueError(f"n_rep must be an integer of at least 2, got {n_rep!r}")
    if not (isinstance(k, (int, np.integer)) and k >= 3):
        raise ValueError(f"k must be an integer of at least 3 groups, got {k!r}")
    if not 0 <= icc_y < 1:
        raise ValueError(f"icc_y must lie in [0, 1), got {icc_y!r}")
    table = manifest_contextual_bias(n, icc_x, beta_within, beta_contextual)
    if np.any(table.n < 2) or np.any(table.n != np.round(table.n)):
        raise ValueError("n must be whole group sizes of at least 2")
    if np.any((table.icc_x <= 0) | (table.icc_x >= 1)):
        raise ValueError("icc_x must lie strictly between 0 and 1")
    rng = np.random.default_rng(seed)
    rows = []
    for row in table.itertuples():
        est = np.array(
            [
                _one(
                    rng, int(k), int(row.n), row.icc_x, icc_y, beta_within, beta_contextual, method
                )
                for _ in range(n_rep)
            ]
        )
        w, b = est[:, 0], est[:, 1]
        c = b - w

        def mcse(v):
            return v.std(ddof=1) / np.sqrt(n_rep)

        rows.append(
            {
                "n": row.n,
                "icc_x": row.icc_x,
                "reliability": row.reliability,
                "expected_contextual": row.expected_contextual,
                "mean_contextual": c.mean(),
                "contextual_mcse": mcse(c),
                "mean_within": w.mean(),
                "within_mcse": mcse(w),
                "expected_between": row.expected_between,
                "mean_between": b.mean(),
                "between_mcse": mcse(b),
                "bias": c.mean() - beta_contextual,
                "bias_mcse": mcse(c),
                "n_rep": n_rep,
            }
        )
    return pd.DataFrame(rows)
