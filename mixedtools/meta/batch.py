"""Many meta-analyses at once: ``rma`` on a replications x studies array (for simulation studies).

Every replication is an intercept-only meta-analysis of the same form as :func:`mixedtools.meta.rma`
fits one at a time; here the arithmetic runs on whole arrays, so 10^4 replications of k = 20 take
a fraction of a second instead of a Python loop. The estimators and tests are the same (the unit
tests compare every row with a single fit).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from mixedtools.meta._iteration import _MAXITER, _TOL, ConvergenceWarning
from mixedtools.meta._knha import knha_scale, warn_exact_fit

__all__ = ["rma_batch", "BatchRmaResult"]


class BatchRmaResult(pd.DataFrame):
    """One row per replication: ``estimate, se, ci_lower, ci_upper, p_value, tau2, Q, Q_p, I2,
    pi_lower, pi_upper, converged``; ``attrs`` hold ``method``, ``test``, ``level`` and ``k``."""

    @property
    def _constructor(self):
        return BatchRmaResult


def _pooled(y, w):
    sw = w.sum(axis=1)
    mu = (w * y).sum(axis=1) / sw
    return mu, sw


def _gen_q(y, v, tau2):
    w = 1 / (v + tau2[:, None])
    mu, _ = _pooled(y, w)
    return (w * (y - mu[:, None]) ** 2).sum(axis=1)


def _tau2_pm(y, v):
    """Paule-Mandel by Newton's method on Q(tau2) = k - 1 (Q is convex and decreasing)."""
    k = y.shape[1]
    tau2 = np.zeros(y.shape[0])
    converged = np.zeros(y.shape[0], dtype=bool)
    for _ in range(_MAXITER):
        w = 1 / (v + tau2[:, None])
        mu, sw = _pooled(y, w)
        r = y - mu[:, None]
        q = (w * r**2).sum(axis=1)
        dq = -(w**2 * r**2).sum(axis=1)
        step = np.where(q > k - 1, -(q - (k - 1)) / np.where(dq < 0, dq, -1.0), 0.0)
        new = tau2 + step
        converged = np.abs(new - tau2) < _TOL * np.maximum(1.0, tau2)
        tau2 = new
        if converged.all():
            break
    return tau2, converged


def _tau2_fisher(y, v, tau2, method):
    """Safeguarded Fisher scoring, row by row as in :func:`mixedtools.meta.rma._tau2_fisher`."""
    tau2 = tau2.copy()
    lo = np.zeros_like(tau2)
    hi = np.full_like(tau2, np.inf)
    converged = np.zeros(y.shape[0], dtype=bool)
    for _ in range(_MAXITER):
        w = 1 / (v + tau2[:, None])
        mu, sw = _pooled(y, w)
        r = y - mu[:, None]
        yPPy = (w**2 * r**2).sum(axis=1)
        sw2 = (w**2).sum(axis=1)
        if method == "REML":
            sw3 = (w**3).sum(axis=1)
            score = yPPy - (sw - sw2 / sw)
            info = sw2 - 2 * sw3 / sw + sw2**2 / sw**2
        else:
            score, info = yPPy - sw, sw2
        active = ~converged
        lo = np.where(active & (score > 0), tau2, lo)
        hi = np.where(active & (score <= 0), tau2, hi)
        at_zero = active & (hi == 0.0)
        new = tau2 + score / info
        outside = ~((lo < new) & (new < hi)) | (np.abs(new - tau2) > (hi - lo) / 2)
        fallback = np.where(np.isfinite(hi), (lo + hi) / 2, np.maximum(2 * tau2, lo + 1e-8))
        new = np.where(outside, fallback, new)
        new = np.where(at_zero, 0.0, new)
        scale = _TOL * np.maximum(1.0, tau2)
        done = at_zero | (np.abs(new - tau2) < scale) | (hi - lo < scale)
        tau2 = np.where(active, new, tau2)
        converged = converged | (active & done)
        if converged.all():
            break
    return tau2, converged


def _ratio(mu, se, y):
    """``mu / se`` row by row; +-inf where ``se`` is 0, NaN where ``mu`` is also 0 up to rounding
    (as :func:`mixedtools.meta.univariate.wald_statistics`)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = mu / se
    noise = 64 * np.finfo(float).eps * np.maximum(np.abs(y).max(axis=1), np.finfo(float).tiny)
    return np.where((se == 0) & (np.abs(mu) <= noise), np.nan, ratio)


def rma_batch(yi, vi, method="REML", test="z", level=0.95):
    """Intercept-only meta-analyses of every row of ``yi`` / ``vi`` (replications x studies).

    Called by :func:`mixedtools.meta.rma` for 2-D input; see there for the arguments.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> vi = rng.uniform(0.01, 0.1, size=(3, 10))
    >>> yi = rng.normal(0.3, np.sqrt(vi + 0.05))
    >>> fits = rma_batch(yi, vi, method="REML", test="knha")
    >>> list(fits.columns[:4])
    ['estimate', 'se', 'ci_lower', 'ci_upper']
    >>> bool(fits.converged.all())
    True
    """
    y = np.asarray(yi, dtype=float)
    v = np.asarray(vi, dtype=float)
    n_rep, k = y.shape
    w0 = 1 / v
    mu0, sw0 = _pooled(y, w0)
    Q = (w0 * (y - mu0[:, None]) ** 2).sum(axis=1)
    trP0 = sw0 - (w0**2).sum(axis=1) / sw0
    converged = np.ones(n_rep, dtype=bool)
    if method == "FE":
        tau2 = np.zeros(n_rep)
    elif method == "DL":
        tau2 = np.maximum(0.0, (Q - (k - 1)) / trP0)
    elif method in ("HE", "REML", "ML"):
        he = np.maximum(
            0.0,
            (np.var(y, axis=1, ddof=1) * (k - 1) - (v.sum(axis=1) - v.sum(axis=1) / k)) / (k - 1),
        )
        tau2 = he
        if method != "HE":
            tau2, converged = _tau2_fisher(y, v, he, method)
    elif method == "SJ":
        tau2_0 = np.var(y, axis=1, ddof=1) * (k - 1) / k
        tau2 = np.where(tau2_0 > 0, tau2_0 * _gen_q(y, v, tau2_0) / (k - 1), 0.0)
    else:  # PM, EB
        tau2, converged = _tau2_pm(y, v)
    if not converged.all():
        warnings.warn(
            f"{int((~converged).sum())} of {n_rep} {method} fits did not converge; "
            "see column 'converged'",
            ConvergenceWarning,
            stacklevel=3,
        )
    w = 1 / (v + tau2[:, None])
    mu, sw = _pooled(y, w)
    var = 1 / sw
    if test == "knha":
        q_gen = (w * (y - mu[:, None]) ** 2).sum(axis=1)
        scale = knha_scale(q_gen, k - 1)
        if (scale == 0).any():
            warn_exact_fit(f"in {int((scale == 0).sum())} of {n_rep} replications, ")
        var = var * scale
        crit = stats.t.ppf(1 - (1 - level) / 2, k - 1)
        p = 2 * stats.t.sf(np.abs(_ratio(mu, np.sqrt(var), y)), k - 1)
    else:
        crit = stats.norm.ppf(1 - (1 - level) / 2)
        p = 2 * stats.norm.sf(np.abs(mu / np.sqrt(var)))
    se = np.sqrt(var)
    if method == "FE":
        I2 = 100 * np.maximum(0.0, (Q - (k - 1)) / np.where(Q > 0, Q, 1.0))
    else:
        s2 = (k - 1) / trP0
        I2 = 100 * tau2 / (s2 + tau2)
    half_pi = crit * np.sqrt(var + tau2)
    out = BatchRmaResult(
        {
            "estimate": mu,
            "se": se,
            "ci_lower": mu - crit * se,
            "ci_upper": mu + crit * se,
            "p_value": p,
            "tau2": tau2,
            "Q": Q,
            "Q_p": stats.chi2.sf(Q, k - 1),
            "I2": I2,
            "pi_lower": mu - half_pi,
            "pi_upper": mu + half_pi,
            "converged": converged,
        }
    )
    out.attrs.update(method=method, test=test, level=level, k=k)
    return out
