"""Multilevel meta-analysis: several effect sizes nested in studies (metafor's ``rma.mv``).

With ``random`` naming nested cluster ids, outermost first (e.g. district, then school), the model
is ``y = X gamma + u^(1) + u^(2) + ... + e`` with ``u^(l) ~ N(0, sigma2_l)`` shared by all effects
of a level-``l`` cluster and ``e ~ N(0, v)`` the known sampling errors -- metafor's
``rma.mv(yi, vi, random = ~ 1 | district/school)``. The marginal covariance is block-diagonal by
outermost cluster, so the likelihood is accumulated block by block (no k x k matrix).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from mixedtools.meta._iteration import fisher_scoring
from mixedtools.meta.univariate import _check_inputs, _design, _paired, _resolve, _Wls

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
    X, yi, vi, V, random
        The data of the fit (model matrix, effects, sampling variances, the full sampling
        covariance matrix or None, the cluster ids), for :func:`mixedtools.meta.robust`.
    labels : pandas.Index or None
        The index of the effect sizes when they were given as pandas objects (None for arrays).
    """

    labels = None

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
    """Integer codes of the nested clusters: level l is the combination of columns[: l + 1].

    Codes are numbered in order of first appearance (as ``pd.factorize``)."""
    codes = []
    combined = np.zeros(len(random), dtype=np.int64)
    for level in range(random.shape[1]):
        column = pd.factorize(random.iloc[:, level])[0]
        combined = pd.factorize(combined * (int(column.max()) + 1) + column)[0]
        codes.append(combined)
    return codes


class _Blocks:
    """The data cut into outermost clusters, stacked for batched linear algebra.

    The marginal covariance is block-diagonal by outermost cluster: block ``j`` is
    ``diag(v_j) + sum_l sigma2_l A_lj`` with ``A_lj[a, b] = 1`` when effects ``a`` and ``b`` share
    their level-``l`` cluster. The clusters are stacked into ``(n_blocks, m, m)`` arrays -- all of
    them padded to the largest size when that wastes little, else in groups of similar size --
    so that one call of numpy's batched ``inv`` / ``slogdet`` handles a whole group (no k x k
    matrix, no Python loop over studies). A padded row has ``x = 0``, ``y = 0``, ``v = 1`` and
    belongs to no cluster: it adds nothing to any sum and 0 to ``log det V``.
    """

    def __init__(self, X, y, v, codes):
        sizes = np.bincount(codes[0])
        order = np.argsort(codes[0], kind="stable")
        starts = np.concatenate([[0], np.cumsum(sizes)])
        if len(sizes) * sizes.max() ** 2 <= max(4 * np.sum(sizes**2), 100_000):
            bucket = np.zeros(len(sizes), dtype=int)
        else:  # sizes 1, 2, 3-4, 5-8, ...: padding at most doubles a block's side
            bucket = np.ceil(np.log2(sizes)).astype(int)
        # one extra all-padding row at the end of the data, pointed to by padded slots
        Xp = np.vstack([X, np.zeros((1, X.shape[1]))])
        yp, vp = np.append(y, 0.0), np.append(v, 1.0)
        codes_p = [np.append(c, -1) for c in codes]
        self.groups = []
        for b in np.unique(bucket):
            clusters = np.flatnonzero(bucket == b)
            m = sizes[clusters].max()
            slot = np.arange(m)
            idx = np.where(
                slot < sizes[clusters][:, None],
                order[np.minimum(starts[clusters][:, None] + slot, len(y) - 1)],
                len(y),
            )  # (n_blocks, m)
            same = np.stack(
                [
                    (c[idx][:, :, None] == c[idx][:, None, :]) & (c[idx][:, :, None] >= 0)
                    for c in codes_p
                ]
            )
            self.groups.append((Xp[idx], yp[idx], vp[idx], same.astype(float)))

    def pieces(self, sigma2, parts=False):
        """log det V, X'V^-1X, X'V^-1y, y'V^-1y and, if asked, the per-group V^-1 terms."""
        p = self.groups[0][0].shape[-1]
        logdet, xvx, xvy, yvy = 0.0, np.zeros((p, p)), np.zeros(p), 0.0
        kept = []
        for Xg, yg, vg, same in self.groups:
            V = np.tensordot(sigma2, same, axes=1)
            m = V.shape[1]
            V[:, np.arange(m), np.arange(m)] += vg
            W = np.linalg.inv(V)
            logdet += float(np.sum(np.linalg.slogdet(V)[1]))
            WX = W @ Xg
            Wy = (W @ yg[..., None])[..., 0]
            xvx += np.einsum("bip,biq->pq", Xg, WX)
            xvy += np.einsum("bip,bi->p", Xg, Wy)
            yvy += float(np.sum(yg * Wy))
            if parts:
                kept.append((W, WX, Wy, same))
        return logdet, xvx, xvy, yvy, kept


def rma_mv(yi, vi, random, mods=None, method="REML", data=None, level=0.95):
    """Multilevel random-effects meta-analysis (metafor's ``rma.mv`` with nested intercepts).

    Parameters
    ----------
    yi, vi : array-like (or column names of ``data``)
        Effect sizes and their sampling variances. ``vi`` may also be a full ``k x k`` sampling
        covariance matrix ``V`` (metafor's ``rma.mv(yi, V, ...)``), e.g. from
        :func:`mixedtools.meta.vcalc` for a correlated-and-hierarchical-effects (CHE) model.
    random : pandas.DataFrame
        Nested cluster ids, outermost first, one column per level (e.g. ``study``, ``es_id``).
        pandas inputs are paired with each other by their index labels, arrays by position, as
        in :func:`mixedtools.meta.rma`.
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
    # a full sampling covariance matrix V: fitted densely in _full_v.py
    if not isinstance(vi, str) and np.ndim(vi) == 2:
        from mixedtools.meta._full_v import fit_full_v

        return RmaMvResult(**fit_full_v(yi, vi, random, mods, method, data, level))
    yi, vi = _resolve(yi, vi, data)
    rows = _paired(yi, vi, mods, data, random=random)
    yi, vi, random, mods, data = (rows[n] for n in ("yi", "vi", "random", "mods", "data"))
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

    blocks = _Blocks(X, y, v, codes)
    logdet_xtx = np.linalg.slogdet(X.T @ X)[1]
    reml = method == "REML"

    def loglik(sigma2, derivatives=False):
        """Log-likelihood and, if asked, its gradient and Fisher information in sigma2.

        With P = V^-1 - V^-1 X M X'V^-1, M = (X'V^-1X)^-1 (REML; ML: P = V^-1 in the traces):
        d ll / d sigma2_l = -1/2 [tr(P A_l) - y'P A_l P y] and information 1/2 tr(P A_l P A_m),
        all accumulated block by block (P y = V^-1 (y - X beta)).
        """
        logdet, xvx, xvy, yvy, parts = blocks.pieces(sigma2, derivatives)
        M = np.linalg.inv(xvx)
        beta = M @ xvy
        rss = yvy - beta @ xvy
        if reml:
            ll = -0.5 * (
                (k - p) * np.log(2 * np.pi) - logdet_xtx + logdet + np.linalg.slogdet(xvx)[1] + rss
            )
        else:
            ll = -0.5 * (k * np.log(2 * np.pi) + logdet + rss)
        if not derivatives:
            return ll
        n_levels = len(sigma2)
        grad = np.zeros(n_levels)
        info = np.zeros((n_levels, n_levels))
        T = np.zeros((n_levels, p, p))
        U = np.zeros((n_levels, n_levels, p, p))
        for W, WX, Wy, same in parts:
            Wr = Wy - WX @ beta
            WA = W[None] @ same  # (l, b, m, m)
            grad -= 0.5 * np.einsum("lbii->l", WA)
            Ar = (same @ Wr[None, :, :, None])[..., 0]
            grad += 0.5 * np.einsum("bi,lbi->l", Wr, Ar)
            info += 0.5 * np.einsum("lbij,nbji->ln", WA, WA)
            if reml:
                AWX = same @ WX[None]  # (l, b, m, p)
                T += np.einsum("bip,lbiq->lpq", WX, AWX)
                U += np.einsum("lbip,bij,nbjq->lnpq", AWX, W, AWX)
        if reml:
            grad += 0.5 * np.einsum("pq,lqp->l", M, T)
            MT = M[None] @ T
            info += 0.5 * (-2 * np.einsum("pq,lnqp->ln", M, U) + np.einsum("lpq,nqp->ln", MT, MT))
        return ll, grad, info

    scale = max(float(np.var(y)), 1e-8)
    sigma2, ll, converged = fisher_scoring(
        loglik, np.full(len(codes), scale / (len(codes) + 1)), scale, 1e-12, 50, stacklevel=2
    )
    logdet, xvx, xvy, yvy, _ = blocks.pieces(sigma2)
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
        loglik=float(ll),
        Q=Q,
        Q_p=float(stats.chi2.sf(Q, k - p)),
        QM=QM,
        QM_p=float(stats.chi2.sf(QM, len(btt))),
        converged=converged,
        # the data of the fit, for robust() and other post-fit tools (V: None = diag(vi))
        X=X,
        yi=y,
        vi=v,
        V=None,
        random=random.reset_index(drop=True),
        labels=rows["labels"],
    )
