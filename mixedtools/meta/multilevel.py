"""Multilevel meta-analysis: several effect sizes nested in studies (metafor's ``rma.mv``).

With ``random`` naming nested cluster ids, outermost first (e.g. district, then school), the model
is ``y = X gamma + u^(1) + u^(2) + ... + e`` with ``u^(l) ~ N(0, sigma2_l)`` shared by all effects
of a level-``l`` cluster and ``e ~ N(0, v)`` the known sampling errors -- metafor's
``rma.mv(yi, vi, random = ~ 1 | district/school)``. The marginal covariance is block-diagonal by
outermost cluster, so the likelihood is accumulated block by block (no k x k matrix).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import optimize, stats

from mixedtools.meta.univariate import ConvergenceWarning, _check_inputs, _design, _resolve, _Wls

__all__ = ["rma_mv", "RmaMvResult"]


class RmaMvResult:
    """A fitted multilevel meta-analysis.

    Attributes
    ----------
    estimate, se, ci_lower, ci_upper, p_value : float
        First coefficient (the pooled effect, or the intercept with moderators).
    beta : pandas.Series; ``coef_table()`` for all coefficients.
    sigma2 : pandas.Series
        One variance per level, outermost first (index ``"district"``, ``"district/school"``).
    n_clusters : pandas.Series
        Number of clusters per level.
    loglik : float
        ML or REML log-likelihood as metafor reports it.
    Q, Q_p, QM, QM_p : float
        Residual heterogeneity (sampling variances only) and the Wald test of the moderators.
    """

    def __init__(self, **fields):
        self.__dict__.update(fields)

    def coef_table(self) -> pd.DataFrame:
        """Coefficients: ``estimate, std_error, statistic, p_value, ci_lower, ci_upper``."""
        est = self.beta.to_numpy()
        se = np.sqrt(np.diag(self.vb))
        crit = stats.norm.ppf(1 - (1 - self.level) / 2)
        z = est / se
        return pd.DataFrame(
            {
                "estimate": est,
                "std_error": se,
                "statistic": z,
                "p_value": 2 * stats.norm.sf(np.abs(z)),
                "ci_lower": est - crit * se,
                "ci_upper": est + crit * se,
            },
            index=self.beta.index,
        )

    @property
    def estimate(self):
        return float(self.beta.iloc[0])

    @property
    def se(self):
        return float(np.sqrt(self.vb[0, 0]))

    @property
    def ci_lower(self):
        return float(self.coef_table().ci_lower.iloc[0])

    @property
    def ci_upper(self):
        return float(self.coef_table().ci_upper.iloc[0])

    @property
    def p_value(self):
        return float(self.coef_table().p_value.iloc[0])

    def __repr__(self):
        levels = ", ".join(f"{name}: {value:.4g}" for name, value in self.sigma2.items())
        return (
            f"Multilevel meta-analysis ({self.method}), k = {self.k}; sigma2 = {levels}\n"
            f"Q({self.k - self.p}) = {self.Q:.3f}, logLik = {self.loglik:.4f}\n"
            f"{self.coef_table().round(4).to_string()}"
        )


def _cluster_codes(random: pd.DataFrame):
    """Integer codes of the nested clusters: level l is the combination of columns[: l + 1]."""
    codes = []
    for level in range(random.shape[1]):
        keys = random.iloc[:, : level + 1].astype(str).agg("\x1f".join, axis=1)
        codes.append(pd.factorize(keys)[0])
    return codes


def rma_mv(yi, vi, random, mods=None, method="REML", data=None, level=0.95):
    """Multilevel random-effects meta-analysis (metafor's ``rma.mv`` with nested intercepts).

    Parameters
    ----------
    yi, vi : array-like (or column names of ``data``)
        Effect sizes and their sampling variances.
    random : pandas.DataFrame
        Nested cluster ids, outermost first, one column per level (e.g. ``study``, ``es_id``).
    mods : None, formula string (with ``data``), DataFrame or array
        A formula such as ``"~ log(ablat) + factor(alloc)"`` is read as R reads it (metafor's
        ``mods = ~ ...``); coefficients are named like ``log(ablat)``, ``factor(alloc)[T.b]``.
    method : {"REML", "ML"}

    Returns
    -------
    RmaMvResult

    Examples
    --------
    >>> import pandas as pd
    >>> rng = __import__("numpy").random.default_rng(7)
    >>> study = [s for s in range(12) for _ in range(3)]
    >>> vi = rng.uniform(0.02, 0.05, 36)
    >>> yi = 0.3 + rng.normal(0, 0.2, 12)[study] + rng.normal(0, 0.1, 36) + rng.normal(0, vi**0.5)
    >>> fit = rma_mv(yi, vi, random=pd.DataFrame({"study": study, "es": range(36)}))
    >>> list(fit.sigma2.index)
    ['study', 'study/es']
    """
    method = str(method).upper()
    if method not in ("REML", "ML"):
        raise ValueError(f"rma_mv fits by 'REML' or 'ML'; got {method!r}")
    yi, vi = _resolve(yi, vi, data)
    y, v = _check_inputs(yi, vi)
    k = len(y)
    if isinstance(random, pd.Series):
        random = random.to_frame()
    if not isinstance(random, pd.DataFrame) or random.shape[1] == 0:
        raise ValueError("random must be a DataFrame of nested cluster ids, outermost first")
    if len(random) != k:
        raise ValueError(f"random has {len(random)} rows but there are {k} effect sizes")
    if random.isna().any().any():
        raise ValueError("random has missing cluster ids")
    X, names = _design(mods, data, k)
    p = X.shape[1]
    codes = _cluster_codes(random)
    level_names = ["/".join(map(str, random.columns[: i + 1])) for i in range(random.shape[1])]
    n_clusters = [int(c.max()) + 1 for c in codes]
    for name, n in zip(level_names, n_clusters, strict=True):
        if n < 2:
            raise ValueError(f"level {name!r} has a single cluster; its variance is not identified")

    blocks = []
    for outer in range(n_clusters[0]):
        idx = np.flatnonzero(codes[0] == outer)
        same = [np.equal.outer(c[idx], c[idx]).astype(float) for c in codes]
        blocks.append((X[idx], y[idx], v[idx], same))
    logdet_xtx = np.linalg.slogdet(X.T @ X)[1]

    def pieces(sigma2):
        logdet = 0.0
        xvx = np.zeros((p, p))
        xvy = np.zeros(p)
        yvy = 0.0
        for Xj, yj, vj, same in blocks:
            V = np.diag(vj) + sum(s * A for s, A in zip(sigma2, same, strict=True))
            L = np.linalg.cholesky(V)
            logdet += 2 * np.sum(np.log(np.diag(L)))
            Xs = np.linalg.solve(L, Xj)
            ys = np.linalg.solve(L, yj)
            xvx += Xs.T @ Xs
            xvy += Xs.T @ ys
            yvy += ys @ ys
        return logdet, xvx, xvy, yvy

    def loglik(sigma2):
        logdet, xvx, xvy, yvy = pieces(sigma2)
        beta = np.linalg.solve(xvx, xvy)
        rss = yvy - beta @ xvy
        if method == "ML":
            return -0.5 * (k * np.log(2 * np.pi) + logdet + rss)
        return -0.5 * (
            (k - p) * np.log(2 * np.pi) - logdet_xtx + logdet + np.linalg.slogdet(xvx)[1] + rss
        )

    start = np.full(len(codes), np.sqrt(max(np.var(y) / len(codes), 1e-4)))
    opt = optimize.minimize(
        lambda s: -loglik(s**2), start, method="BFGS", options={"gtol": 1e-7, "maxiter": 2000}
    )
    # BFGS may stop on "precision loss" near the optimum (finite-difference gradients); polish with
    # Nelder-Mead, which needs no gradient, and judge convergence by its simplex
    opt = optimize.minimize(
        lambda s: -loglik(s**2),
        opt.x,
        method="Nelder-Mead",
        options={"xatol": 1e-9, "fatol": 1e-12, "maxiter": 5000},
    )
    converged = bool(opt.success)
    if not converged:
        warnings.warn(f"rma_mv did not converge: {opt.message}", ConvergenceWarning, stacklevel=2)
    sigma2 = opt.x**2
    logdet, xvx, xvy, yvy = pieces(sigma2)
    vb = np.linalg.inv(xvx)
    beta = vb @ xvy
    Q = _Wls(y, X, 1 / v).q
    has_intercept = np.allclose(X[:, 0], 1.0)
    btt = np.arange(1, p) if (has_intercept and p > 1) else np.arange(p)
    QM = float(beta[btt] @ np.linalg.solve(vb[np.ix_(btt, btt)], beta[btt]))
    return RmaMvResult(
        method=method,
        level=level,
        k=k,
        p=p,
        beta=pd.Series(beta, index=names, name="estimate"),
        vb=vb,
        sigma2=pd.Series(sigma2, index=level_names, name="sigma2"),
        n_clusters=pd.Series(n_clusters, index=level_names, name="n_clusters"),
        loglik=float(loglik(sigma2)),
        Q=Q,
        Q_p=float(stats.chi2.sf(Q, k - p)),
        QM=QM,
        QM_p=float(stats.chi2.sf(QM, len(btt))),
        converged=converged,
    )
