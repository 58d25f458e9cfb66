"""A bounded, profiled maximisation of the (RE)ML log-likelihood (lme4's approach).

statsmodels optimises an unconstrained parameterisation and can stall near the boundary of the
parameter space (a variance near zero).  Here the log-likelihood of :mod:`mixedtools.lmm.reml`, with
sigma^2 profiled out, is maximised over lme4's kind of parameters: the lower Cholesky factor of G
and the standard deviations of the variance components, both relative to sigma, with the diagonal
bounded below by zero (L-BFGS-B).  Variances can then reach exactly zero.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import optimize

from mixedtools.lmm import reml as _reml
from mixedtools.lmm.pls import PLSStructure, fit_pls

__all__ = ["bounded_refit", "fit_structure", "maximize", "neutral_start", "newton_finish"]

_ZERO_SD = 1e-4  # relative sd treated as having stopped at the bound
_RESTART_SD = 0.1  # where to restart such an entry (relative to sigma)


@lru_cache(maxsize=8)
def _lower(k):
    """Row and column indices of the lower triangle of a k x k matrix, row by row."""
    rows, cols = np.tril_indices(k)
    rows.flags.writeable = cols.flags.writeable = False
    return rows, cols


def _factor(structure, theta):
    """The relative Cholesky factor L of G, and the variance-component sds, from theta."""
    k = structure.k_re
    L = np.zeros((k, k))
    L[_lower(k)] = theta[: k * (k + 1) // 2]
    return L, theta[k * (k + 1) // 2 :]


def _unpack(structure, theta):
    """Relative tau (sigma^2 entry 1) from theta = (lower triangle of L row by row, sds)."""
    L, sds = _factor(structure, theta)
    G = np.where(structure.free, L @ L.T, 0.0)
    return structure.tau_from(G=G if structure.k_re else None, vc_variances=sds**2, sigma2=1.0)


def _chain_rule(structure, theta, score):
    """Gradient with respect to theta from the gradient with respect to the relative tau."""
    k, n_g = structure.k_re, len(structure.g_entries)
    # d f = sum over free (a >= b) of g_ab dG_ab = tr(S dG) with S symmetric (off-diagonal
    # entries halved), and dG = dL L' + L dL', so df/dL = 2 S L.
    S = np.zeros((k, k))
    for value, (a, b) in zip(score[:n_g], structure.g_entries, strict=True):
        S[a, b] = S[b, a] = value if a == b else 0.5 * value
    L, sds = _factor(structure, theta)
    return np.concatenate([(2.0 * S @ L)[_lower(k)], 2.0 * sds * score[n_g:]])


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
    return np.concatenate([L[_lower(k)], sds])


def neutral_start(structure) -> np.ndarray:
    """lme4's kind of start: relative covariance I, sigma^2 the OLS residual variance."""
    X, y = structure.X, structure.y
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    s2 = max(float(np.var(y - X @ beta)), 1e-12 * max(float(np.var(y)), 1.0))
    G = np.eye(structure.k_re) * s2 if structure.k_re else None
    return structure.tau_from(G=G, vc_variances=np.full(len(structure.vc), s2), sigma2=s2)


def bounded_refit(
    structure, tau0, reml=True, try_neutral_start=True, maxiter=2000, return_success=False
):
    """Maximise the (RE)ML log-likelihood from `tau0` with variances bounded below by zero.

    sigma^2 is profiled out (:func:`mixedtools.lmm.reml.profiled_log_likelihood`), so the search
    runs over the relative covariance parameters only, as in lme4.

    Parameters
    ----------
    structure : mixedtools.lmm.reml.LMMStructure
    tau0 : ndarray
        Starting value (data scale).
    reml : bool
    try_neutral_start : bool
        Also start from lme4's neutral point and keep the better optimum.
    maxiter : int
        Iteration limit of L-BFGS-B (per start).
    return_success : bool
        Also return whether the optimiser reported convergence.

    Returns
    -------
    tau : ndarray
        tau at the maximum found.
    success : bool
        Only with ``return_success``: the optimiser converged to a finite optimum.

    Examples
    --------
    >>> import numpy as np
    >>> from mixedtools.lmm.reml import LMMStructure
    >>> from mixedtools.lmm.optimize import bounded_refit, neutral_start
    >>> rng = np.random.default_rng(1)
    >>> g = np.repeat(np.arange(8), 5)
    >>> y = rng.normal(size=40) + rng.normal(size=8)[g]
    >>> s = LMMStructure(y=y, X=np.ones((40, 1)), groups=g, Z=np.ones((40, 1)))
    >>> tau = bounded_refit(s, neutral_start(s), try_neutral_start=False)
    >>> tau.shape, bool(tau[-1] > 0)
    ((2,), True)
    """
    theta0 = _pack(structure, np.asarray(tau0, float))
    k = structure.k_re
    rows, cols = _lower(k)
    bounds = [(0.0, None) if r == c else (None, None) for r, c in zip(rows, cols, strict=True)]
    bounds += [(0.0, None)] * len(structure.vc)

    def deviance(theta):  # lme4's criterion, -2 x the profiled log-likelihood, and its gradient
        try:
            ll, _, score = _reml.profiled_log_likelihood(
                structure, _unpack(structure, theta), reml, score=True
            )
        except np.linalg.LinAlgError:
            ll = -np.inf
        if not np.isfinite(ll):
            return 1e300, np.zeros_like(theta)
        return -2.0 * ll, -2.0 * _chain_rule(structure, theta, score)

    def minimise(start):
        return optimize.minimize(
            deviance,
            start,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": maxiter},
        )

    neutral = np.concatenate([(rows == cols).astype(float), np.ones(len(structure.vc))])
    best = None
    for start in (theta0, neutral) if try_neutral_start else (theta0,):
        res = minimise(start)
        if best is None or res.fun < best.fun:
            best = res
    # The deviance depends on a diagonal entry of L (or a variance-component sd) only through
    # its square, so 0 is always a stationary point in that coordinate and a gradient method
    # that reaches it stays there, even when moving off would lower the deviance.  Restart
    # once from a small positive value and keep the better optimum.
    lower_bounded = np.array([low == 0.0 for low, _ in bounds])
    at_zero = lower_bounded & (best.x < _ZERO_SD)
    if at_zero.any():
        res = minimise(np.where(at_zero, _RESTART_SD, best.x))
        if res.fun < best.fun:
            best = res
    relative = _unpack(structure, best.x)
    _, sigma2 = _reml.profiled_log_likelihood(structure, relative, reml)
    tau = relative * sigma2
    if return_success:
        return tau, bool(best.success) and bool(best.fun < 1e300)
    return tau


def maximize(structure, tau, reml=True, tol=1e-6) -> np.ndarray:
    """Finish a fit: Newton-polish ``tau``; if that stops short, refit bounded and polish again.

    The optimiser that produced ``tau`` (statsmodels, or :func:`bounded_refit`) can stop
    short, typically next to a zero variance. When the Newton decrement after polishing is
    still above ``tol``, the likelihood is maximised again with the variances bounded at zero
    (from ``tau`` and from the neutral start), polished, and the better of the two is kept.

    Examples
    --------
    >>> import numpy as np
    >>> from mixedtools.lmm.reml import LMMStructure, newton_decrement, reml_quantities
    >>> from mixedtools.lmm.optimize import maximize, neutral_start
    >>> rng = np.random.default_rng(2)
    >>> g = np.repeat(np.arange(10), 4)
    >>> y = rng.normal(size=40) + rng.normal(size=10)[g]
    >>> s = LMMStructure(y=y, X=np.ones((40, 1)), groups=g, Z=np.ones((40, 1)))
    >>> tau = maximize(s, neutral_start(s))
    >>> bool(newton_decrement(s, reml_quantities(s, tau)) < 1e-6)
    True
    """
    tau = _reml.newton_polish(structure, tau, reml=reml, steps=4)
    quantities = _reml.reml_quantities(structure, tau, reml=reml)
    # judged in lme4's parameters: at a correlation of +-1 the score of tau need not vanish
    if 2.0 * _reml.optimality_gap(structure, quantities) < tol:
        return tau
    if isinstance(structure, PLSStructure):
        restart = fit_pls(structure, reml, start_tau=tau, model_based=True, final_radius=1e-6)[0]
    else:
        restart = bounded_refit(structure, tau, reml=reml)
    refit = _reml.newton_polish(structure, restart, reml, 4)
    if _reml.log_likelihood(structure, refit, reml) > quantities.loglik:
        return refit
    return tau


def newton_finish(structure, tau, reml=True, steps=3) -> np.ndarray:
    """Finish a search with Newton steps until the optimality gap is negligible.

    Each step costs one evaluation of the information; if the steps do not get there, the full
    :func:`maximize` (with a restarted search) takes over.

    Examples
    --------
    >>> import numpy as np
    >>> from mixedtools.lmm.pls import PLSStructure, PLSTerm, fit_pls
    >>> from mixedtools.lmm.reml import optimality_gap, reml_quantities
    >>> rng = np.random.default_rng(3)
    >>> a, b = np.repeat(np.arange(8), 6), np.tile(np.arange(6), 8)
    >>> y = rng.normal(size=8)[a] + rng.normal(size=6)[b] + rng.normal(size=48)
    >>> terms = [PLSTerm("a", a, np.arange(8), np.ones((48, 1)), ("Intercept",)),
    ...          PLSTerm("b", b, np.arange(6), np.ones((48, 1)), ("Intercept",))]
    >>> s = PLSStructure(y, np.ones((48, 1)), terms)
    >>> tau = newton_finish(s, fit_pls(s)[0])
    >>> bool(optimality_gap(s, reml_quantities(s, tau)) < 0.5e-6)
    True
    """
    for _ in range(steps):
        gap = _reml.optimality_gap(structure, _reml.reml_quantities(structure, tau, reml))
        if gap < 1e-14:  # the error in tau goes as the square root of the gap
            return tau
        new = _reml.newton_polish(structure, tau, reml=reml, steps=1)
        if np.array_equal(new, tau):
            break
        tau = new
    if _reml.optimality_gap(structure, _reml.reml_quantities(structure, tau, reml)) < 0.5e-6:
        return tau
    return maximize(structure, tau, reml=reml)


def fit_structure(structure, reml=True, polish=True) -> np.ndarray:
    """Stage 3 of a fit: the (RE)ML optimum of ``structure``, as :func:`mixedtools.lmer` finds it.

    The sparse structure is optimised over lme4's theta (:func:`mixedtools.lmm.pls.fit_pls`) and,
    with ``polish``, finished by Newton steps; the blockwise one is optimised from a neutral start
    (:func:`bounded_refit`) and, with ``polish``, by :func:`maximize`.

    Examples
    --------
    >>> import mixedtools as mt
    >>> from mixedtools.lmm.optimize import fit_structure
    >>> fit = mt.lmer("reaction ~ days + (days | subject)", mt.datasets.load("sleepstudy"))
    >>> bool(abs(fit_structure(fit.structure, reml=True) - fit.tau).max() < 1e-6 * fit.tau.max())
    True
    """
    if isinstance(structure, PLSStructure):
        tau, _ = fit_pls(structure, reml)
        return newton_finish(structure, tau, reml) if polish else tau
    tau = bounded_refit(structure, neutral_start(structure), reml, try_neutral_start=False)
    return maximize(structure, tau, reml=reml) if polish else tau
