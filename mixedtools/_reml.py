"""Fast profiled REML for grouped data with a small random-effects design (used by simulations).

The model is ``y = X beta + Z b + e`` with independent groups, ``b_j ~ N(0, sigma^2 L L')`` and
``e ~ N(0, sigma^2 I)``, where ``L`` is the lower-triangular relative covariance factor (as in
lme4, whose parameter vector ``theta`` holds the entries of ``L`` column by column). Everything
is computed from per-group cross-products ``Z'Z``, ``Z'X``, ``Z'y`` and the Woodbury identity,
so one evaluation of the criterion costs O(K q^3) for K groups and q random effects: no
``n x n`` matrices. The criterion is lme4's REML criterion (``REMLcrit``), so estimates agree
with ``lme4::lmer(..., REML = TRUE)`` to optimizer tolerance.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import optimize


@dataclass(frozen=True)
class RemlFit:
    """Result of :func:`fit_reml`."""

    fe_params: np.ndarray
    bse: np.ndarray
    cov_re: np.ndarray
    scale: float
    theta: np.ndarray
    reml_criterion: float
    converged: bool


class _GroupCrossProducts:
    """Per-group and total cross-products of a stacked balanced design (K groups of n rows)."""

    def __init__(self, y, exog, exog_re, n_groups):
        k = int(n_groups)
        if exog.shape[0] % k:
            raise ValueError("The rows must split into n_groups groups of equal size.")
        n = exog.shape[0] // k
        x = exog.reshape(k, n, -1)
        z = exog_re.reshape(k, n, -1)
        yy = y.reshape(k, n)
        self.n_obs, self.n_fixed = exog.shape
        self.n_random = exog_re.shape[1]
        self.ztz = np.einsum("kia,kib->kab", z, z)
        self.ztx = np.einsum("kia,kip->kap", z, x)
        self.zty = np.einsum("kia,ki->ka", z, yy)
        # einsum rather than BLAS: a threaded BLAS in several worker processes at once is slower.
        self.xtx = np.einsum("ip,iq->pq", exog, exog)
        self.xty = np.einsum("ip,i->p", exog, y)
        self.yty = float(np.einsum("i,i->", y, y))


def _lower_from_theta(theta, q):
    """Lower-triangular ``L`` from lme4's ``theta`` (lower triangle filled column by column)."""
    lam = np.zeros((q, q))
    rows, cols = np.tril_indices(q)
    order = np.lexsort((rows, cols))  # column-major order of the lower triangle
    lam[rows[order], cols[order]] = theta
    return lam


def _profiled(theta, cp: _GroupCrossProducts):
    """REML criterion at ``theta`` with beta and sigma^2 profiled out, plus the pieces."""
    q = cp.n_random
    lam = _lower_from_theta(theta, q)
    # A_j = L' Z_j'Z_j L + I;  V_j / sigma^2 = I + Z_j L L' Z_j'  has determinant |A_j|.
    a = lam.T @ cp.ztz @ lam + np.eye(q)
    chol = np.linalg.cholesky(a)
    log_det_v = 2.0 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum()
    c_x = np.linalg.solve(chol, lam.T @ cp.ztx)  # (K, q, p)
    c_y = np.linalg.solve(chol, (lam.T @ cp.zty[..., None]))[..., 0]  # (K, q)
    xvx = cp.xtx - np.einsum("kap,kaq->pq", c_x, c_x)
    xvy = cp.xty - np.einsum("kap,ka->p", c_x, c_y)
    yvy = cp.yty - float(np.einsum("ka,ka->", c_y, c_y))
    xvx_chol = np.linalg.cholesky(xvx)
    beta = np.linalg.solve(xvx, xvy)
    dof = cp.n_obs - cp.n_fixed
    rss = max(yvy - float(xvy @ beta), np.finfo(float).tiny)
    criterion = (
        log_det_v
        + 2.0 * np.log(np.diagonal(xvx_chol)).sum()
        + dof * (1.0 + np.log(2.0 * np.pi * rss / dof))
    )
    return criterion, beta, xvx, rss / dof, lam


def reml_criterion(theta, y, exog, exog_re, n_groups) -> float:
    """lme4's REML criterion (-2 x restricted log-likelihood, profiled) at ``theta``."""
    cp = _GroupCrossProducts(np.asarray(y, float), np.asarray(exog, float), exog_re, n_groups)
    return float(_profiled(np.asarray(theta, float), cp)[0])


def fit_reml(y, exog, exog_re, n_groups, maxiter: int = 200) -> RemlFit:
    """REML fit for balanced groups stacked group by group (``n_groups`` blocks of equal size).

    The diagonal of ``L`` is bounded below by 0 (as in lme4), so singular fits (a variance of 0
    or a correlation of +-1) are reached on the boundary rather than reported as failures.
    Raises :class:`numpy.linalg.LinAlgError` if the criterion cannot be evaluated at the
    optimum (e.g. a rank-deficient fixed-effects design).

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> k, n = 20, 5
    >>> x = rng.normal(size=k * n)
    >>> u = np.repeat(rng.normal(size=k), n)
    >>> y = 1 + 0.5 * x + u + rng.normal(size=k * n)
    >>> fit = fit_reml(y, np.column_stack([np.ones(k * n), x]), np.ones((k * n, 1)), k)
    >>> fit.converged, fit.fe_params.shape
    (True, (2,))
    """
    y = np.asarray(y, dtype=float)
    exog = np.asarray(exog, dtype=float)
    exog_re = np.asarray(exog_re, dtype=float)
    cp = _GroupCrossProducts(y, exog, exog_re, n_groups)
    q = cp.n_random
    rows, cols = np.tril_indices(q)
    order = np.lexsort((rows, cols))
    on_diagonal = rows[order] == cols[order]
    start = on_diagonal.astype(float)
    bounds = [(0.0, None) if diag else (None, None) for diag in on_diagonal]

    def objective(theta):
        try:
            return _profiled(theta, cp)[0]
        except np.linalg.LinAlgError:
            return np.inf

    # Trial points where the criterion cannot be evaluated return inf; the finite-difference
    # gradient then warns about inf - inf, which the line search handles by backing off.
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        result = optimize.minimize(
            objective, start, method="L-BFGS-B", bounds=bounds, options={"maxiter": maxiter}
        )
    criterion, beta, xvx, scale, lam = _profiled(result.x, cp)
    cov_beta = scale * np.linalg.inv(xvx)
    return RemlFit(
        fe_params=beta,
        bse=np.sqrt(np.diag(cov_beta)),
        cov_re=scale * lam @ lam.T,
        scale=float(scale),
        theta=result.x.copy(),
        reml_criterion=float(criterion),
        converged=bool(result.success) and bool(np.isfinite(criterion)),
    )
