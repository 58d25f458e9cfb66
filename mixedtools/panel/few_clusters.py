"""Inference for a fixed-effects panel model with few clusters: the CR2 cluster-robust variance
with Satterthwaite degrees of freedom (R's clubSandwich), and the wild cluster bootstrap.

The cluster-robust (CR0 / CR1) standard errors of economists' fixed-effects tables assume many
clusters. With ten firms they are too small and their normal or t(G - 1) reference is too
optimistic. Two remedies (Cameron & Miller 2015; Pustejovsky & Tipton 2018):

* **CR2** (Bell & McCaffrey 2002): each cluster's residuals are inflated by
  ``A_j = (I - X_j (X'X)^-1 X_j')^(-1/2)`` (``X`` the within-demeaned regressors; with entity
  effects and clusters by entity this equals the adjustment built from the full dummy-variable
  design), and each t statistic is referred to a t distribution with Satterthwaite degrees of
  freedom computed under a working model of independent, homoscedastic errors -- which can fall
  far below ``G - 1`` when a few clusters carry most of the leverage.
* the **wild cluster bootstrap** (Cameron, Gelbach & Miller 2008), restricted (the null imposed):
  refit under H0, flip each cluster's restricted residuals by a random weight (Rademacher +-1 or
  Webb's six-point distribution), and compare the CR1 t statistic with its bootstrap distribution.

Examples
--------
>>> import mixedtools as mt
>>> grunfeld = mt.datasets.load("grunfeld").set_index(["firm", "year"])
>>> fe = mt.panel.fixed_effects("inv ~ value + capital", grunfeld)
>>> mt.panel.cluster_robust(fe)[["std_error", "df", "p_value"]].round(4)
         std_error      df  p_value
value       0.0206  1.8126   0.0410
capital     0.0827  1.7995   0.0755
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from mixedtools._sandwich import inv_sqrt_psd
from mixedtools.panel.within_fit import FixedEffectsResult

__all__ = ["cluster_robust", "wild_bootstrap", "VCOV_TYPES", "WILD_WEIGHTS"]

VCOV_TYPES = ("CR0", "CR1", "CR2")
WILD_WEIGHTS = ("rademacher", "webb")


def _within_parts(fe):
    """Demeaned regressors and response, (X'X)^-1, residuals and entity rows of a within fit."""
    if not isinstance(fe, FixedEffectsResult):
        raise TypeError(
            "fe must be a result of mt.panel.fixed_effects (the within fit); "
            f"got {type(fe).__name__}."
        )
    if getattr(fe, "effect", "individual") != "individual":
        raise ValueError(
            "cluster_robust and wild_bootstrap take a one-way (entity effects) within fit; "
            f"this fit has effect={fe.effect!r}."
        )
    d = fe.design
    X = d.demean(d.X)
    y = d.demean(d.y)
    bread = np.linalg.inv(X.T @ X)
    resid = y - X @ fe.params.to_numpy()
    order = np.argsort(d.codes, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(d.counts.astype(int))])
    rows = [order[bounds[j] : bounds[j + 1]] for j in range(d.n_entities)]
    return d, X, y, bread, resid, rows


def cluster_robust(
    fe: FixedEffectsResult, vcov: str = "CR2", test: str = "Satterthwaite", level: float = 0.95
) -> pd.DataFrame:
    """Cluster-robust (by entity) t tests of a within fit, for few clusters.

    Reproduces clubSandwich's ``coef_test(plm_within_fit, vcov = "CR2")`` (and ``"CR0"``,
    ``"CR1"``; ``test = "Satterthwaite"`` or ``"naive-t"``) on a one-way fixed-effects fit.

    Parameters
    ----------
    fe : FixedEffectsResult
        :func:`fixed_effects` fit (entity effects); the clusters are its entities.
    vcov : {"CR2", "CR1", "CR0"}
        ``CR0``: the plain sandwich; ``CR1``: times ``G / (G - 1)`` (clubSandwich's CR1; Stata
        multiplies further by ``(n - 1) / (n - k)``); ``CR2``: Bell-McCaffrey's bias-reduced
        sandwich (see the module docstring).
    test : {"Satterthwaite", "naive-t"}
        Reference distribution of the t statistics: t with Satterthwaite df (computed under a
        working model of independent homoscedastic errors), or t with ``G - 1`` df.
    level : float
        Confidence level of the intervals.

    Returns
    -------
    pandas.DataFrame
        Indexed by term: ``estimate, std_error, t, df, p_value, ci_lower, ci_upper``.

    Examples
    --------
    >>> import mixedtools as mt
    >>> grunfeld = mt.datasets.load("grunfeld").set_index(["firm", "year"])
    >>> fe = mt.panel.fixed_effects("inv ~ value + capital", grunfeld)
    >>> mt.panel.cluster_robust(fe, test="naive-t")[["t", "df", "p_value"]].round(4)
                  t   df  p_value
    value    5.3378  9.0   0.0005
    capital  3.7504  9.0   0.0046
    """
    if vcov not in VCOV_TYPES:
        raise ValueError(f"vcov must be one of {VCOV_TYPES}; got {vcov!r}.")
    if test not in ("Satterthwaite", "naive-t"):
        raise ValueError(f"test must be 'Satterthwaite' or 'naive-t'; got {test!r}.")
    d, X, _, bread, resid, rows = _within_parts(fe)
    G, k = d.n_entities, X.shape[1]
    adjust = []
    scores = np.empty((G, k))
    for j, idx in enumerate(rows):
        Xj = X[idx]
        if vcov == "CR2":
            A = inv_sqrt_psd(np.eye(len(idx)) - Xj @ bread @ Xj.T)
        else:
            A = np.eye(len(idx)) * (np.sqrt(G / (G - 1)) if vcov == "CR1" else 1.0)
        adjust.append(A)
        scores[j] = Xj.T @ (A @ resid[idx])
    meat = scores.T @ scores
    cov = bread @ meat @ bread
    se = np.sqrt(np.diag(cov))
    est = fe.params.to_numpy()
    t = est / se
    if test == "naive-t":
        df = np.full(k, G - 1.0)
    else:
        df = np.empty(k)
        for a in range(k):
            c = bread[:, a]
            # p_j = (I - H_full) a_j with a_j = A_j X_j B c on cluster j; with the working model
            # Phi = I, p_i' p_j = a_i' (I - D - X B X') a_j (D: within-entity averaging)
            own = np.empty(G)
            cross = np.empty((k, G))
            for j, idx in enumerate(rows):
                a_j = adjust[j] @ (X[idx] @ c)
                own[j] = a_j @ a_j - a_j.sum() ** 2 / len(idx)
                cross[:, j] = X[idx].T @ a_j
            S = np.diag(own) - cross.T @ bread @ cross
            df[a] = np.trace(S) ** 2 / np.sum(S**2)
    p = 2 * stats.t.sf(np.abs(t), df)
    crit = stats.t.ppf(0.5 + level / 2, df)
    return pd.DataFrame(
        {
            "estimate": est,
            "std_error": se,
            "t": t,
            "df": df,
            "p_value": p,
            "ci_lower": est - crit * se,
            "ci_upper": est + crit * se,
        },
        index=fe.params.index,
    )


def _cr1_t(X, bread, resid_cols, rows, G, a, beta_a):
    """CR1 t statistics of coefficient ``a``, one per column of ``resid_cols`` (the residuals of
    the observed fit, or of every bootstrap sample at once)."""
    var = np.zeros(resid_cols.shape[1])
    for idx in rows:
        var += (bread[a] @ (X[idx].T @ resid_cols[idx])) ** 2
    return beta_a / np.sqrt(var * G / (G - 1))


def wild_bootstrap(
    fe: FixedEffectsResult,
    term: str,
    n_boot: int = 9999,
    weights: str = "webb",
    seed: int | None = None,
) -> pd.Series:
    """Restricted wild cluster bootstrap test of one coefficient of a within fit (H0: it is 0).

    The model is refitted without ``term`` (the null imposed); each bootstrap sample multiplies
    the restricted residuals of cluster (entity) j by one weight ``w_j`` -- Rademacher (+-1 with
    equal probability) or Webb's six-point distribution (+-sqrt(1/2), +-1, +-sqrt(3/2)), better
    with fewer than about 12 clusters, where Rademacher has only ``2^G`` distinct samples -- and
    refits. The p-value is the share of bootstrap CR1 t statistics at least as large in absolute
    value as the observed one (symmetric test).

    Parameters
    ----------
    fe : FixedEffectsResult
        :func:`fixed_effects` fit (entity effects); the clusters are its entities.
    term : str
        The coefficient tested.
    n_boot : int
        Number of bootstrap samples.
    weights : {"webb", "rademacher"}
    seed : int, optional
        Seed of ``numpy.random.default_rng``.

    Returns
    -------
    pandas.Series
        ``estimate``, ``t`` (CR1), ``p_value``, ``n_boot``, ``n_clusters``, ``weights``.

    Examples
    --------
    >>> import mixedtools as mt
    >>> grunfeld = mt.datasets.load("grunfeld").set_index(["firm", "year"])
    >>> fe = mt.panel.fixed_effects("inv ~ value + capital", grunfeld)
    >>> wb = mt.panel.wild_bootstrap(fe, "capital", n_boot=999, seed=1)
    >>> round(wb["t"], 4), int(wb["n_clusters"])
    (5.9076, 10)
    """
    if weights not in WILD_WEIGHTS:
        raise ValueError(f"weights must be one of {WILD_WEIGHTS}; got {weights!r}.")
    if term not in fe.params.index:
        raise ValueError(f"{term!r} is not a coefficient; coefficients: {list(fe.params.index)}.")
    if int(n_boot) < 99:
        raise ValueError(f"n_boot must be at least 99; got {n_boot}.")
    d, X, y, bread, resid, rows = _within_parts(fe)
    G = d.n_entities
    a = list(fe.params.index).index(term)
    beta_a = fe.params.to_numpy()[a]
    t_obs = _cr1_t(X, bread, resid[:, None], rows, G, a, np.array([beta_a]))
    # restricted fit: y on the other regressors (within-demeaned), H0 imposed
    others = np.delete(np.arange(X.shape[1]), a)
    Xr = X[:, others]
    fitted_r = Xr @ np.linalg.lstsq(Xr, y, rcond=None)[0] if others.size else np.zeros_like(y)
    resid_r = y - fitted_r
    rng = np.random.default_rng(seed)
    if weights == "rademacher":
        w = rng.choice(np.array([-1.0, 1.0]), size=(G, int(n_boot)))
    else:
        values = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])
        w = rng.choice(values, size=(G, int(n_boot)))
    y_star = fitted_r[:, None] + resid_r[:, None] * w[d.codes]
    beta_star = bread @ (X.T @ y_star)  # (k, n_boot)
    resid_star = y_star - X @ beta_star
    t_star = _cr1_t(X, bread, resid_star, rows, G, a, beta_star[a])
    p = float(np.mean(np.abs(t_star) >= abs(t_obs[0])))
    return pd.Series(
        {
            "estimate": float(beta_a),
            "t": float(t_obs[0]),
            "p_value": p,
            "n_boot": int(n_boot),
            "n_clusters": int(G),
            "weights": weights,
        },
        name=term,
        dtype=object,
    )
