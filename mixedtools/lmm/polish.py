"""Newton polish and optimality checks of a fit, for any structure of :mod:`mixedtools.lmm.engine`.

The optimiser stops close to the (RE)ML optimum; Newton steps on the score of ``tau`` (the
variance parameters on the data scale) take it the rest of the way, so that the numbers agree
with lme4's to about six digits.  At a boundary (a variance 0, a correlation +-1) the score of
``tau`` need not vanish, so whether a fit is at its optimum is judged in lme4's parameters
(relative Cholesky factors), where that boundary is an ordinary bound
(:func:`optimality_gap`, :func:`theta_space_covariance`).

Everything here asks the structure through :class:`mixedtools.lmm.engine.EngineProtocol` only.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = [
    "newton_decrement",
    "newton_polish",
    "optimality_gap",
    "psd_cholesky",
    "theta_space_covariance",
]


def newton_decrement(structure, quantities) -> float:
    """Newton decrement ``score' I^-1 score`` over the parameters not held at the boundary.

    Half of it is the log-likelihood still to be gained by a Newton step: a fit is at its
    optimum when it is negligible. ``I`` is the observed information; ``inf`` when it is
    singular.

    Parameters
    ----------
    structure : mixedtools.lmm.engine.EngineProtocol
    quantities : LMMQuantities
        ``structure.quantities(tau, reml)`` at the fitted tau.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> from mixedtools.lmm.reml import LMMStructure, newton_polish, reml_quantities
    >>> rng = np.random.default_rng(1)
    >>> g = np.repeat(np.arange(8), 5)
    >>> y = rng.normal(size=40) + rng.normal(size=8)[g]
    >>> s = LMMStructure(y=y, X=np.ones((40, 1)), groups=g, Z=np.ones((40, 1)))
    >>> tau = newton_polish(s, [1.0, 1.0], steps=20)
    >>> bool(newton_decrement(s, reml_quantities(s, tau)) < 1e-12)
    True
    """
    free = ~structure.boundary_mask(quantities.tau)
    score = quantities.score[free]
    info = quantities.info_observed[np.ix_(free, free)]
    try:
        return abs(float(score @ np.linalg.solve(info, score)))
    except np.linalg.LinAlgError:
        return np.inf


def newton_polish(structure, tau0, reml=True, steps=3, rel_tol=1e-8) -> np.ndarray:
    """Refine variance parameters by Newton steps on the (RE)ML score.

    Each step solves ``info_observed @ delta = score``. If the observed information is
    not positive definite, or the step leaves the parameter space or lowers the
    log-likelihood even after halving, the expected information is used instead.
    Variances at the boundary (below ``rel_tol * sigma^2``) are set to zero and held
    there, together with their covariances.

    Parameters
    ----------
    structure : mixedtools.lmm.engine.EngineProtocol
    tau0 : array_like
        Starting value, e.g. from a statsmodels fit.
    reml : bool
    steps : int
        Maximum number of Newton steps (stops early once the step is negligible).
    rel_tol : float
        Relative size below which a variance counts as zero.

    Returns
    -------
    ndarray
        The polished tau.

    Examples
    --------
    >>> import numpy as np
    >>> from mixedtools.lmm.reml import LMMStructure, newton_polish, reml_quantities
    >>> rng = np.random.default_rng(1)
    >>> g = np.repeat(np.arange(8), 5)
    >>> y = rng.normal(size=40) + rng.normal(size=8)[g]
    >>> s = LMMStructure(y=y, X=np.ones((40, 1)), groups=g, Z=np.ones((40, 1)))
    >>> tau = newton_polish(s, [1.0, 1.0], steps=20)
    >>> bool(np.abs(reml_quantities(s, tau).score).max() < 1e-8)
    True
    """
    tau = np.array(tau0, dtype=float)
    at_bound = structure.boundary_mask(tau, rel_tol)
    tau[at_bound] = 0.0
    for _ in range(steps):
        qty = structure.quantities(tau, reml)
        free = ~at_bound
        step = None
        for info in (qty.info_observed, qty.info_expected):
            sub = info[np.ix_(free, free)]
            try:
                np.linalg.cholesky(sub)
            except np.linalg.LinAlgError:
                continue
            delta = np.zeros_like(tau)
            delta[free] = np.linalg.solve(sub, qty.score[free])
            step = _accept_step(structure, tau, delta, qty.loglik, reml, rel_tol)
            if step is not None:
                break
        if step is None:
            break
        new_tau, at_bound = step
        moved = np.abs(new_tau - tau) / np.maximum(np.abs(tau), 1e-12 * tau[-1])
        tau = new_tau
        if moved.max() < 1e-12:
            break
    return tau


def _accept_step(structure, tau, delta, loglik, reml, rel_tol):
    """Next tau: if the Newton step makes variances negative, those variances are set to
    zero (boundary); otherwise the longest halved step that stays valid and does not
    lower the log-likelihood."""
    floor = loglik - 1e-12 * abs(loglik)
    full = tau + delta
    crossing = np.zeros_like(tau, dtype=bool)
    crossing[structure.variance_index[:-1]] = full[structure.variance_index[:-1]] < 0
    if crossing.any():
        # set them to zero and let the next Newton step work on the others
        projected = np.where(crossing, 0.0, tau)
        projected[structure.boundary_mask(projected, rel_tol)] = 0.0
        if structure.log_likelihood(projected, reml) >= floor:
            return projected, structure.boundary_mask(projected, rel_tol)
    t = 1.0
    while t > 1e-3:
        cand = tau + t * delta
        if structure.log_likelihood(cand, reml) >= floor:
            return cand, structure.boundary_mask(cand, rel_tol)
        t *= 0.5
    return None


def psd_cholesky(G):
    """Lower Cholesky factor of a PSD matrix, with zero columns where a pivot vanishes."""
    k = G.shape[0]
    L = np.zeros_like(G)
    scale = max(np.abs(G).max(initial=0.0), np.finfo(float).tiny)
    for j in range(k):
        d = G[j, j] - L[j, :j] @ L[j, :j]
        if d <= 1e-10 * scale:
            continue
        L[j, j] = np.sqrt(d)
        L[j + 1 :, j] = (G[j + 1 :, j] - L[j + 1 :, :j] @ L[j, :j]) / L[j, j]
    return L


def _theta_of(blocks, tau):
    """lme4's parameters: relative Cholesky factors (row by row), then sigma^2."""
    out = []
    for k, pos in blocks:
        G = np.zeros((k, k))
        G[np.tril_indices(k)] = tau[pos]
        G = G + np.tril(G, -1).T
        out.append(psd_cholesky(G / tau[-1])[np.tril_indices(k)])
    return np.concatenate(out + [[tau[-1]]])


@lru_cache(maxsize=16)
def _tril(k):
    rows, cols = np.tril_indices(k)
    rows.flags.writeable = cols.flags.writeable = False
    return rows, cols


def _theta_derivatives(structure, quantities, blocks):
    """lme4's parameters theta (with sigma^2 last), the Jacobian ``d tau / d theta`` and the
    second-order term ``sum_k score_k d^2 tau_k / d theta^2`` of the chain rule.

    Per block ``tau_ab = s2 sum_c L_ac L_bc`` (a >= b), so with ``theta_u = L_ij``:
    ``d tau_ab / d L_ij = s2 (d_ai L_bj + d_bi L_aj)``, ``d tau_ab / d s2 = (L L')_ab``,
    ``d^2 tau_ab / d L_ij d L_kl = s2 d_jl (d_ai d_bk + d_bi d_ak)`` and
    ``d^2 tau_ab / d L_ij d s2 = d_ai L_bj + d_bi L_aj``.
    """
    tau = np.asarray(quantities.tau, float)
    n_tau = len(tau)
    theta = _theta_of(blocks, tau)
    m = len(theta)
    s2 = theta[-1]
    score = quantities.score
    J = np.zeros((n_tau, m))
    H2 = np.zeros((m, m))
    J[-1, -1] = 1.0
    start = 0
    for k, pos in blocks:
        r = k * (k + 1) // 2
        rows, cols = _tril(k)
        L = np.zeros((k, k))
        L[rows, cols] = theta[start : start + r]
        a, b = rows[:, None], cols[:, None]  # the block's entries of tau
        i, j = rows[None, :], cols[None, :]  # the block's entries of theta
        dL = (a == i) * L[b, j] + (b == i) * L[a, j]
        block = slice(start, start + r)
        J[pos, block] = s2 * dL
        J[pos, -1] = (L @ L.T)[rows, cols]
        S = np.zeros((k, k))
        S[rows, cols] = score[pos]
        S = S + S.T
        H2[block, block] = s2 * (cols[:, None] == cols[None, :]) * S[rows[:, None], rows[None, :]]
        H2[block, -1] = H2[-1, block] = score[pos] @ dL
        start += r
    return theta, J, H2


def theta_space_covariance(structure, quantities, rel_tol=1e-8):
    """Covariance of tau from the information in lme4's parameters, or None.

    At a correlation of +-1 (a zero diagonal entry of a relative Cholesky factor, with no
    variance at zero) the observed information of tau is not that of the likelihood's
    maximum: the score does not vanish there.  As lmerTest does, the information is taken in
    lme4's parameters (theta, sigma^2), where that point is an ordinary bound, and mapped back:
    ``A = J H^-1 J'``.  Entries of effects whose variance is zero are left out (their rows of
    theta are zero).  None when the fit has no such boundary.
    """
    blocks = structure.theta_blocks()
    if blocks is None:
        return None
    tau = np.asarray(quantities.tau, float)
    theta = _theta_of(blocks, tau)
    lower, zero_rows, start = [], [], 0
    for k, pos in blocks:
        rows, cols = np.tril_indices(k)
        G = np.zeros((k, k))
        G[rows, cols] = tau[pos]
        zero = np.diag(G) < rel_tol * tau[-1]
        lower += list(rows == cols)
        zero_rows += list(zero[rows] | zero[cols])
        start += len(rows)
    lower = np.array(lower + [False])
    zero_rows = np.array(zero_rows + [False])
    at_bound = lower & (np.abs(theta) < 1e-6) & ~zero_rows
    if not at_bound.any():
        return None
    _, J, H2 = _theta_derivatives(structure, quantities, blocks)
    hess = J.T @ quantities.info_observed @ J - H2
    keep = ~zero_rows
    Jk = J[:, keep]
    return Jk @ np.linalg.pinv(hess[np.ix_(keep, keep)]) @ Jk.T


def optimality_gap(structure, quantities) -> float:
    """Log-likelihood still to gain, by a Newton step in lme4's parameters (theta, sigma^2).

    At a boundary (a variance 0, a correlation +-1) the score with respect to the variance
    parameters need not vanish, so :func:`newton_decrement` would report a gap that no valid
    step can close.  In lme4's parameters (relative Cholesky factors) the boundary is a bound
    on a diagonal entry; entries at the bound whose derivative points out of the parameter
    space are held, as the Karush-Kuhn-Tucker conditions allow.

    Returns
    -------
    float
        Half the Newton decrement over the free parameters (``inf`` if it cannot be computed).

    Examples
    --------
    >>> import numpy as np
    >>> from mixedtools.lmm.reml import LMMStructure, newton_polish, optimality_gap, reml_quantities
    >>> rng = np.random.default_rng(1)
    >>> g = np.repeat(np.arange(8), 5)
    >>> y = rng.normal(size=40) + rng.normal(size=8)[g]
    >>> s = LMMStructure(y=y, X=np.ones((40, 1)), groups=g, Z=np.ones((40, 1)))
    >>> tau = newton_polish(s, [1.0, 1.0], steps=20)
    >>> bool(optimality_gap(s, reml_quantities(s, tau)) < 1e-10)
    True
    """
    blocks = structure.theta_blocks()
    if blocks is None:
        return newton_decrement(structure, quantities) / 2.0
    theta, J, H2 = _theta_derivatives(structure, quantities, blocks)
    score = quantities.score
    grad = J.T @ score
    hess = J.T @ quantities.info_observed @ J - H2  # minus the Hessian of the log-likelihood
    # entries at their bound (diagonal of a factor at 0) whose derivative points outwards
    lower = []
    for k, _ in blocks:
        rows, cols = np.tril_indices(k)
        lower += list(rows == cols)
    at_bound = np.array(lower + [False]) & (np.abs(theta) < 1e-6) & (grad <= 1e-8 * abs(theta[-1]))
    free = ~at_bound
    g, H = grad[free], hess[np.ix_(free, free)]
    try:
        step = np.linalg.lstsq(H, g, rcond=1e-10)[0]
    except np.linalg.LinAlgError:
        return np.inf
    return abs(float(g @ step)) / 2.0
