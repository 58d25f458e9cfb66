"""Cluster-robust variance estimation for meta-analysis with dependent effect sizes
(R's clubSandwich: ``vcovCR``, ``coef_test`` and ``Wald_test`` for ``rma.uni`` and ``rma.mv``).

With the fitted model's weights ``W`` (the inverse of its marginal covariance ``M``: ``vi + tau2``
for :func:`~mixedtools.meta.rma`, ``V + sum_l sigma2_l A_l`` for :func:`~mixedtools.meta.rma_mv`),
``B = (X'WX)^-1`` and the residuals ``e = y - X b``, the sandwich estimator over clusters
``j = 1..J`` is

    V_CR = B [ sum_j X_j' W_j A_j e_j e_j' A_j' W_j X_j ] B,

with ``W_j`` the cluster's block of ``W`` and the adjustment matrices

- ``CR0``: ``A_j = I``;
- ``CR1``: ``A_j = sqrt(J / (J - 1)) I``;
- ``CR2`` (Bell & McCaffrey 2002; Pustejovsky & Tipton 2018): with the model's covariance as
  working model, ``Phi_j = M_jj = D_j' D_j`` (``D_j`` the upper Cholesky factor) and
  ``A_j = D_j' [D_j (Phi_j - X_j B X_j') D_j']^(-1/2) D_j`` -- clubSandwich's definition for
  inverse-variance weights (``inverse_var = TRUE``, its default for both models).

Tests of single coefficients are t tests with Satterthwaite degrees of freedom computed under
the working model: writing ``c' V_CR c = sum_j (p_j' y)^2`` with
``p_j = (I - H)_j' A_j' W_j X_j B c`` and ``H = X B X' W``,

    df = (sum_j p_j' Phi p_j)^2 / sum_i sum_j (p_i' Phi p_j)^2,

where ``Phi`` is the block-diagonal (by cluster) part of ``M``. A test of ``q`` constraints
``C b = d`` uses Hotelling's T^2 approximation of Tipton & Pustejovsky (2015), "HTZ": with
``Q = (Cb - d)' (C V_CR C')^-1 (Cb - d)``, ``Omega = E(C V_CR C')`` and ``S_ij`` the ``q x q``
matrices ``P_i' Phi P_j``,

    eta = q (q + 1) / sum_ij [ tr(Omega^-1 S_ij)^2 + tr(Omega^-1 S_ij Omega^-1 S_ij) ],
    F = (eta - q + 1) / (eta q) Q  ~  F(q, eta - q + 1).

All of this is checked against clubSandwich 0.5.8 (``coef_test(fit, vcov = "CR2")`` and
``Wald_test(fit, constraints, vcov = "CR2", test = "HTZ")``) in the test suite. The computations
use dense ``k x k`` matrices: fine for the few hundred effect sizes of a typical meta-analysis.

References
----------
Bell, R. M. & McCaffrey, D. F. (2002). Bias reduction in standard errors for linear regression
with multi-stage samples. Survey Methodology, 28(2), 169-181.
Tipton, E. & Pustejovsky, J. E. (2015). Small-sample adjustments for tests of moderators and
model fit using robust variance estimation in meta-regression. J. Educ. Behav. Stat., 40(6).
Tipton, E. (2015). Small sample adjustments for robust variance estimation with
meta-regression. Psychological Methods, 20(3), 375-393.
Pustejovsky, J. E. & Tipton, E. (2018). Small-sample methods for cluster-robust variance
estimation and hypothesis testing in fixed effects models. J. Bus. Econ. Stat., 36(4), 672-683.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import linalg, stats

from mixedtools._sandwich import inv_sqrt_psd as _inv_sqrt_psd
from mixedtools.meta._full_v import cluster_codes, same_cluster_matrices
from mixedtools.meta._pairing import pair_with_fit
from mixedtools.meta.multilevel import RmaMvResult
from mixedtools.meta.univariate import RmaResult

__all__ = ["robust", "RobustResult", "VCOV_TYPES"]

VCOV_TYPES = ("CR0", "CR1", "CR2")


def _model_parts(result):
    """X, y, b, the marginal covariance M and its inverse W of a fitted model."""
    if isinstance(result, RmaResult):
        m = result.vi + result.tau2
        M = np.diag(m)
        return result.X, result.yi, result.beta.to_numpy(), M, np.diag(1 / m)
    if isinstance(result, RmaMvResult):
        if not hasattr(result, "X"):
            raise ValueError("this rma_mv result does not carry its data; refit it with rma_mv")
        V = np.diag(result.vi) if result.V is None else result.V
        A = same_cluster_matrices(cluster_codes(result.random))
        M = V + sum(s * a for s, a in zip(result.sigma2.to_numpy(), A, strict=True))
        W = np.linalg.inv(M)
        return result.X, result.yi, result.beta.to_numpy(), M, (W + W.T) / 2
    raise TypeError(
        f"robust() takes a result of mt.meta.rma or mt.meta.rma_mv; got {type(result).__name__}"
    )


def _cluster_ids(result, cluster, k):
    if cluster is None:
        if isinstance(result, RmaMvResult):
            return result.random.iloc[:, 0].to_numpy(), str(result.random.columns[0])
        raise ValueError(
            "robust() of an rma fit needs cluster= (the study id of each effect size); "
            "for rma_mv the outermost random level is the default"
        )
    if isinstance(cluster, str):
        raise ValueError(
            f"cluster={cluster!r} is a name; pass the cluster ids themselves "
            f"(e.g. data[{cluster!r}])"
        )
    name = cluster.name if isinstance(cluster, pd.Series) and cluster.name is not None else None
    cluster = pair_with_fit(result, cluster=cluster)["cluster"]
    ids = np.asarray(cluster)
    if ids.ndim != 1 or len(ids) != k:
        raise ValueError(f"cluster must give one id per effect size ({k}); got shape {ids.shape}")
    if pd.isna(ids).any():
        raise ValueError("cluster has missing ids")
    return ids, ("cluster" if name is None else str(name))


class RobustResult:
    """Cluster-robust (sandwich) inference for a fitted meta-analytic model.

    Attributes
    ----------
    beta : pandas.Series
        The model's coefficients (unchanged: only their variance is estimated robustly).
    vcov : pandas.DataFrame
        The cluster-robust covariance matrix of the coefficients.
    vcov_type : str
        ``"CR0"``, ``"CR1"`` or ``"CR2"``.
    n_clusters : int
    cluster_name : str
    df : pandas.Series
        Satterthwaite degrees of freedom of each coefficient's t test.
    estimate, se, p_value : float
        The first coefficient's estimate, robust SE and p-value.
    """

    def __init__(self, **fields):
        self.__dict__.update(fields)

    @property
    def estimate(self):
        return float(self.beta.iloc[0])

    @property
    def se(self):
        return float(np.sqrt(self.vcov.iloc[0, 0]))

    @property
    def p_value(self):
        return float(self.coef_table()["p_value"].iloc[0])

    def coef_table(self, level=None) -> pd.DataFrame:
        """``estimate, std_error, statistic, df, p_value, ci_lower, ci_upper`` (clubSandwich's
        ``coef_test`` and ``conf_int``: t tests with Satterthwaite df).

        Degrees of freedom below about 4 flag a coefficient that few clusters inform (e.g. a
        moderator category reported by one or two studies): its robust test is then unreliable
        (Tipton, 2015), and the CR0 / CR1 variance of a coefficient informed by a single cluster
        is 0 up to rounding (SE NaN, as clubSandwich).
        """
        level = self.level if level is None else level
        est = self.beta.to_numpy()
        with np.errstate(invalid="ignore"):  # a variance of 0 up to rounding (below 0): NaN SE
            se = np.sqrt(np.diag(self.vcov.to_numpy()))
        df = self.df.to_numpy()
        stat = est / se
        crit = stats.t.ppf(1 - (1 - level) / 2, df)
        return pd.DataFrame(
            {
                "estimate": est,
                "std_error": se,
                "statistic": stat,
                "df": df,
                "p_value": 2 * stats.t.sf(np.abs(stat), df),
                "ci_lower": est - crit * se,
                "ci_upper": est + crit * se,
            },
            index=self.beta.index,
        )

    def _contrast_vectors(self, C):
        """P (k x J q): column ``j q + s`` is ``p_j`` for the contrast in row ``s`` of C."""
        k = self._X.shape[0]
        q = C.shape[0]
        P = np.zeros((k, len(self._clusters) * q))
        BC = self._B @ C.T  # (p, q)
        for j, (idx, A_j, W_j, _) in enumerate(self._clusters):
            U = A_j.T @ (W_j @ (self._X[idx] @ BC))  # (n_j, q)
            block = -self._WXB @ (self._X[idx].T @ U)  # -W X B X_j' U, (k, q)
            block[idx] += U
            P[:, j * q : (j + 1) * q] = block
        return P

    def _phi_products(self, P):
        PhiP = np.zeros_like(P)
        for idx, _, _, Phi_j in self._clusters:
            PhiP[idx] = Phi_j @ P[idx]
        return P.T @ PhiP

    def wald_test(self, constraints, rhs=None, test="HTZ") -> pd.Series:
        """Test ``C b = d`` with the robust covariance (clubSandwich's ``Wald_test``).

        Parameters
        ----------
        constraints : list of coefficient names or 0-based positions, or a q x p matrix C
            A list means ``constrain_zero``: all these coefficients are 0.
        rhs : array-like of length q, optional
            ``d`` (default 0).
        test : {"HTZ", "naive-F"}
            Hotelling's T^2 approximation with the small-sample correction of Tipton &
            Pustejovsky (2015), or ``F = Q / q`` on ``(q, J - 1)`` degrees of freedom.

        Returns
        -------
        pandas.Series
            ``test``, ``Q`` (the Wald statistic), ``F``, ``delta`` (``F = delta Q / q``),
            ``df_num``, ``df_den`` and ``p_value``.
        """
        names = list(self.beta.index)
        p = len(names)
        if isinstance(constraints, (list, tuple)) and not np.ndim(constraints) == 2:
            rows = []
            for c in constraints:
                if isinstance(c, str):
                    if c not in names:
                        raise ValueError(
                            f"{c!r} is not a coefficient; coefficients: {', '.join(names)}"
                        )
                    c = names.index(c)
                if not 0 <= int(c) < p:
                    raise ValueError(f"coefficient position {c} outside 0..{p - 1}")
                rows.append(np.eye(p)[int(c)])
            C = np.array(rows)
        else:
            C = np.atleast_2d(np.asarray(constraints, dtype=float))
        if C.shape[1] != p or C.shape[0] == 0:
            raise ValueError(f"the constraint matrix must have {p} columns (one per coefficient)")
        if np.linalg.matrix_rank(C) < C.shape[0]:
            raise ValueError("the constraints are linearly dependent")
        q = C.shape[0]
        d = np.zeros(q) if rhs is None else np.asarray(rhs, dtype=float).reshape(q)
        diff = C @ self.beta.to_numpy() - d
        Q = float(diff @ np.linalg.solve(C @ self.vcov.to_numpy() @ C.T, diff))
        if test == "naive-F":
            F, delta, df_den = Q / q, 1.0, float(self.n_clusters - 1)
        elif test == "HTZ":
            P = self._contrast_vectors(C)
            S = self._phi_products(P)  # (Jq, Jq)
            J = len(self._clusters)
            S4 = S.reshape(J, q, J, q).transpose(0, 2, 1, 3)  # S4[i, j] = P_i' Phi P_j
            Omega = np.einsum("jjab->ab", S4)
            Oinv = np.linalg.inv(Omega)
            T = Oinv[None, None] @ S4  # Omega^-1 S_ij
            total = np.sum(np.einsum("ijaa->ij", T) ** 2) + np.einsum("ijab,ijba->", T, T)
            eta = q * (q + 1) / total
            delta = (eta - q + 1) / eta
            F, df_den = delta * Q / q, float(eta - q + 1)
        else:
            raise ValueError(f"unknown test {test!r}; choose 'HTZ' or 'naive-F'")
        return pd.Series(
            {
                "test": test,
                "Q": Q,
                "F": float(F),
                "delta": float(delta),
                "df_num": q,
                "df_den": df_den,
                "p_value": float(stats.f.sf(F, q, df_den)),
            },
            name="wald_test",
            dtype=object,
        )

    def __repr__(self):
        from mixedtools.report import format_table

        head = (
            f"Cluster-robust inference ({self.vcov_type}, Satterthwaite df), "
            f"{self.n_clusters} clusters ({self.cluster_name})"
        )
        return head + "\n" + format_table(self.coef_table(), decimals=4).to_string()


def robust(result, cluster=None, vcov="CR2", level=None) -> RobustResult:
    """Cluster-robust variance and small-sample tests for an ``rma`` or ``rma_mv`` fit
    (clubSandwich's ``coef_test(fit, vcov = "CR2", cluster = ...)``).

    Parameters
    ----------
    result : RmaResult or RmaMvResult
    cluster : array-like, optional
        The cluster (usually study) id of each effect size, in the order of the fit. For
        ``rma_mv`` the default is the outermost random level (as clubSandwich); ``rma`` needs it.
    vcov : {"CR2", "CR1", "CR0"}
        The adjustment (see the module docstring); CR2 with the model's covariance as working
        model is the recommended small-sample correction.
    level : float, optional
        For the confidence intervals (default: the model's level).

    Returns
    -------
    RobustResult
        ``coef_table()`` (t tests with Satterthwaite df) and ``wald_test(constraints)``
        (HTZ F test).

    Notes
    -----
    The correlated-and-hierarchical-effects (CHE) model of Pustejovsky & Tipton (2022) is
    ``rma_mv(yi, vcalc(vi, study, obs=es_id, rho=0.6), random=data[["study", "es_id"]])``
    followed by ``robust(fit, vcov="CR2")``.

    Examples
    --------
    >>> import mixedtools as mt
    >>> kon = mt.datasets.load("konstantopoulos2011")
    >>> fit = mt.meta.rma_mv("yi", "vi", random=kon[["district", "school"]], data=kon)
    >>> rob = mt.meta.robust(fit, vcov="CR2")
    >>> rob.coef_table()[["estimate", "std_error", "df", "p_value"]].round(4)
               estimate  std_error      df  p_value
    Intercept    0.1847     0.0845  9.8632    0.054
    """
    if vcov not in VCOV_TYPES:
        raise ValueError(f"unknown vcov {vcov!r}; choose one of {', '.join(VCOV_TYPES)}")
    X, y, b, M, W = _model_parts(result)
    k, p = X.shape
    ids, cluster_name = _cluster_ids(result, cluster, k)
    codes = pd.factorize(pd.Series(ids).astype(str))[0]
    J = int(codes.max()) + 1
    if J < 2:
        raise ValueError("robust variance estimation needs at least 2 clusters")
    if np.any((M != 0) & ~np.equal.outer(codes, codes)):
        raise ValueError(
            "the random effects (or the sampling covariances in V) are not nested within the "
            "clusters: effects of different clusters are correlated in the model; cluster by "
            "the outermost random level or a coarser grouping (clubSandwich refuses this too)"
        )
    B = np.linalg.inv(X.T @ W @ X)
    e = y - X @ b
    WXB = W @ X @ B
    clusters = []
    meat = np.zeros((p, p))
    for j in range(J):
        idx = np.flatnonzero(codes == j)
        Phi_j = M[np.ix_(idx, idx)]
        W_j = W[np.ix_(idx, idx)]
        n_j = len(idx)
        if vcov == "CR0":
            A_j = np.eye(n_j)
        elif vcov == "CR1":
            A_j = np.sqrt(J / (J - 1)) * np.eye(n_j)
        else:
            D = linalg.cholesky(Phi_j, lower=False)  # Phi_j = D' D
            G = D @ (Phi_j - X[idx] @ B @ X[idx].T) @ D.T
            A_j = D.T @ _inv_sqrt_psd(G) @ D
        u = X[idx].T @ (W_j @ (A_j @ e[idx]))
        meat += np.outer(u, u)
        clusters.append((idx, A_j, W_j, Phi_j))
    vcov_cr = B @ meat @ B
    names = list(result.beta.index)
    out = RobustResult(
        beta=result.beta.copy(),
        vcov=pd.DataFrame(vcov_cr, index=names, columns=names),
        vcov_type=vcov,
        n_clusters=J,
        cluster_name=cluster_name,
        level=result.level if level is None else level,
        _X=X,
        _B=B,
        _WXB=WXB,
        _clusters=clusters,
    )
    dfs = []
    for a in range(p):
        P = out._contrast_vectors(np.eye(p)[[a]])
        S = out._phi_products(P)
        dfs.append(np.trace(S) ** 2 / np.sum(S**2))
    out.df = pd.Series(dfs, index=names, name="df")
    return out
