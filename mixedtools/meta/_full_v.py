"""``rma_mv`` with a full sampling covariance matrix ``V`` (metafor's ``rma.mv(yi, V, ...)``).

The model is ``y = X gamma + u^(1) + ... + e`` with ``e ~ N(0, V)``, ``V`` known (e.g. from
:func:`mixedtools.meta.vcalc`), and nested random intercepts as in :func:`rma_mv`. The marginal
covariance ``M = V + sum_l sigma2_l A_l`` is handled as one dense ``k x k`` matrix, and the
variance components are found by Fisher scoring with step halving (REML or ML), so this route is
meant for the few hundred effect sizes of a typical correlated-effects meta-analysis.

:func:`mixedtools.meta.rma_mv` hands a 2-D ``vi`` to :func:`fit_full_v`, which returns the fields
of an :class:`~mixedtools.meta.RmaMvResult`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import linalg, stats

from mixedtools.meta._iteration import fisher_scoring
from mixedtools.meta.univariate import _design, _paired, _resolve

__all__ = ["fit_full_v", "cluster_codes", "same_cluster_matrices"]


def cluster_codes(random: pd.DataFrame) -> list[np.ndarray]:
    """Integer codes of nested clusters: level ``l`` is the combination of ``columns[: l + 1]``."""
    codes = []
    for level in range(random.shape[1]):
        keys = random.iloc[:, : level + 1].astype(str).agg("\x1f".join, axis=1)
        codes.append(pd.factorize(keys)[0])
    return codes


def same_cluster_matrices(codes) -> list[np.ndarray]:
    """``A_l[a, b] = 1`` when effects ``a`` and ``b`` share their level-``l`` cluster."""
    return [np.equal.outer(c, c).astype(float) for c in codes]


def _check_v(V, k):
    V = np.asarray(V, dtype=float)
    if V.shape != (k, k):
        raise ValueError(f"V must be a {k} x {k} matrix (one row per effect size); got {V.shape}")
    if not np.isfinite(V).all():
        raise ValueError("V has missing or infinite values")
    if not np.allclose(V, V.T, rtol=1e-10, atol=1e-14):
        raise ValueError("V is not symmetric")
    if (np.diag(V) <= 0).any():
        raise ValueError("the sampling variances on the diagonal of V must be positive")
    try:
        np.linalg.cholesky(V)
    except np.linalg.LinAlgError:
        raise ValueError(
            "V is not positive definite (e.g. a correlation of 1 between two rows of one cluster; "
            "check obs= and rho= of vcalc)"
        ) from None
    return (V + V.T) / 2


def fit_full_v(yi, V, random, mods=None, method="REML", data=None, level=0.95) -> dict:
    """Fit the multilevel model with the known sampling covariance ``V``; fields of RmaMvResult."""
    if isinstance(V, str):
        raise ValueError("a full V is passed as a matrix, not as a column name")
    if isinstance(V, pd.DataFrame) and not V.columns.equals(V.index):
        raise ValueError(
            "V is a DataFrame whose columns are not labelled like its rows; pass a matrix whose "
            "rows and columns follow the effect sizes (e.g. V.to_numpy())"
        )
    rows = _paired(_resolve(yi, yi, data)[0], V, mods, data, random=random)
    V, random, mods, data = rows["vi"], rows["random"], rows["mods"], rows["data"]
    if isinstance(V, pd.DataFrame):  # rows in the order of the effects: the columns too
        V = V.loc[:, V.index]
    y = np.asarray(rows["yi"], dtype=float)
    if y.ndim != 1:
        raise ValueError(f"yi must be 1-D; got {y.ndim}-D")
    if not np.isfinite(y).all():
        raise ValueError("yi has missing or infinite values; drop those rows first")
    k = len(y)
    V = _check_v(V, k)
    if isinstance(random, pd.Series):
        random = random.to_frame()
    if not isinstance(random, pd.DataFrame) or random.shape[1] == 0:
        raise ValueError("random must be a DataFrame of nested cluster ids, outermost first")
    if len(random) != k:
        raise ValueError(f"random has {len(random)} rows but there are {k} effect sizes")
    if random.isna().any().any():
        raise ValueError("random has missing cluster ids")
    random = random.reset_index(drop=True)
    X, names = _design(mods, data, k)
    if X.shape[0] != k:
        raise ValueError(f"mods has {X.shape[0]} rows but there are {k} effect sizes")
    p = X.shape[1]
    codes = cluster_codes(random)
    level_names = ["/".join(map(str, random.columns[: i + 1])) for i in range(random.shape[1])]
    n_clusters = [int(c.max()) + 1 for c in codes]
    for name, n in zip(level_names, n_clusters, strict=True):
        if n < 2:
            raise ValueError(f"level {name!r} has a single cluster; its variance is not identified")
    A = np.stack(same_cluster_matrices(codes))
    reml = method == "REML"
    logdet_xtx = np.linalg.slogdet(X.T @ X)[1]

    def evaluate(sigma2, derivatives=False):
        M = V + np.tensordot(sigma2, A, axes=1)
        c = linalg.cho_factor(M, lower=True)
        logdet = 2 * np.sum(np.log(np.diag(c[0])))
        WX = linalg.cho_solve(c, X)
        Wy = linalg.cho_solve(c, y)
        xwx = X.T @ WX
        B = np.linalg.inv(xwx)
        beta = B @ (X.T @ Wy)
        Pr = Wy - WX @ beta  # P y = W (y - X beta)
        rss = float(y @ Pr)
        if reml:
            ll = -0.5 * (
                (k - p) * np.log(2 * np.pi) - logdet_xtx + logdet + np.linalg.slogdet(xwx)[1] + rss
            )
        else:
            ll = -0.5 * (k * np.log(2 * np.pi) + logdet + rss)
        if not derivatives:
            return ll
        W = linalg.cho_solve(c, np.eye(k))
        P = W - WX @ B @ WX.T if reml else W
        PA = P[None] @ A  # (l, k, k)
        APr = A @ Pr
        grad = -0.5 * np.einsum("lii->l", PA) + 0.5 * APr @ Pr
        info = 0.5 * np.einsum("lij,mji->lm", PA, PA)
        return ll, grad, info

    scale = max(float(np.var(y)), 1e-8)
    sigma2, ll, converged = fisher_scoring(
        evaluate, np.full(len(codes), scale / (len(codes) + 1)), scale, 1e-14, 60, stacklevel=3
    )

    M = V + np.tensordot(sigma2, A, axes=1)
    W = np.linalg.inv(M)
    vb = np.linalg.inv(X.T @ W @ X)
    beta = vb @ (X.T @ W @ y)
    Vinv = np.linalg.inv(V)
    b_fe = np.linalg.solve(X.T @ Vinv @ X, X.T @ Vinv @ y)
    r_fe = y - X @ b_fe
    Q = float(r_fe @ Vinv @ r_fe)
    has_intercept = np.allclose(X[:, 0], 1.0)
    btt = np.arange(1, p) if (has_intercept and p > 1) else np.arange(p)
    QM = float(beta[btt] @ np.linalg.solve(vb[np.ix_(btt, btt)], beta[btt]))
    return dict(
        method=method,
        level=level,
        k=k,
        p=p,
        beta=pd.Series(beta, index=names, name="estimate"),
        vb=vb,
        sigma2=pd.Series(sigma2, index=level_names, name="sigma2"),
        n_clusters=pd.Series(n_clusters, index=level_names, name="n_clusters"),
        loglik=float(evaluate(sigma2)),
        Q=Q,
        Q_p=float(stats.chi2.sf(Q, k - p)),
        QM=QM,
        QM_p=float(stats.chi2.sf(QM, len(btt))),
        converged=converged,
        X=X,
        yi=y,
        vi=np.diag(V).copy(),
        V=V,
        random=random,
        labels=rows["labels"],
    )
