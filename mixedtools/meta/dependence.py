"""Working models for dependent effect sizes: the sampling covariance matrix of correlated
effects within studies (metafor's ``vcalc``, simple case).

Several effect sizes from one study (outcomes measured on the same participants, several
comparisons against one control group) have correlated sampling errors, and the correlations
are rarely reported. The correlated-and-hierarchical-effects (CHE) working model of Pustejovsky
& Tipton (2022) assumes one correlation ``rho`` within every study, fits random study and
effect-size intercepts, and then protects the inference against a wrong ``rho`` with
cluster-robust (CR2) standard errors::

    V = vcalc(vi, cluster=study, obs=es_id, rho=0.6)
    fit = rma_mv(yi, V, random=data[["study", "es_id"]])
    robust(fit, vcov="CR2").coef_table()

References
----------
Pustejovsky, J. E. & Tipton, E. (2022). Meta-analysis with robust variance estimation: expanding
the range of working models. Prevention Science, 23, 425-438.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from mixedtools.meta._pairing import labels_of, pair_rows

__all__ = ["vcalc"]


def vcalc(vi, cluster, obs=None, rho=None) -> np.ndarray:
    """Block-diagonal sampling covariance matrix from an assumed within-study correlation
    (metafor's ``vcalc(vi, cluster, obs, rho)``).

    Within a cluster, effects with different ``obs`` ids get covariance
    ``rho sqrt(vi_a vi_b)``; effects with the same ``obs`` id are the same observation
    (correlation 1). Effects of different clusters are independent.

    Parameters
    ----------
    vi : array-like
        Sampling variances (positive).
    cluster : array-like
        Cluster (study) id of each effect size.
    obs : array-like, optional
        Observation (effect-size) id within its cluster. As in metafor, leaving it out makes all
        effects of a cluster the same observation (correlation 1, so the matrix is singular when
        a cluster has two or more effects): pass the effect-size id for the CHE model.
    rho : float
        Assumed correlation between different observations of one cluster, in [-1, 1].

    Returns
    -------
    numpy.ndarray, or pandas.DataFrame
        The ``k x k`` matrix ``V``, for :func:`mixedtools.meta.rma_mv`'s ``vi`` argument: a
        DataFrame with the index of the pandas inputs as rows and columns (so that ``rma_mv``
        pairs it with the effect sizes by label, also for a filtered table), an array for array
        inputs. A warning is issued when a cluster's block is not positive definite (as metafor
        does).

    Examples
    --------
    >>> V = vcalc([0.1, 0.2, 0.3, 0.4], cluster=[1, 1, 1, 2], obs=[1, 2, 3, 1], rho=0.5)
    >>> V.round(4)
    array([[0.1   , 0.0707, 0.0866, 0.    ],
           [0.0707, 0.2   , 0.1225, 0.    ],
           [0.0866, 0.1225, 0.3   , 0.    ],
           [0.    , 0.    , 0.    , 0.4   ]])

    The CHE model on Assink et al. (2016): 100 effect sizes in 17 studies.

    >>> import mixedtools as mt
    >>> ass = mt.datasets.load("assink2016")
    >>> V = vcalc(ass.vi, ass.study, obs=ass.esid, rho=0.6)
    >>> che = mt.meta.rma_mv(ass.yi, V, random=ass[["study", "esid"]])
    >>> mt.meta.robust(che, vcov="CR2").coef_table()[["estimate", "std_error", "df"]].round(4)
               estimate  std_error       df
    Intercept    0.3678      0.097  14.5333
    """
    rows = pair_rows(vi=vi, cluster=cluster, obs=obs)
    vi, cluster, obs = rows["vi"], rows["cluster"], rows["obs"]
    labels = labels_of(vi, cluster, obs)
    v = np.asarray(vi, dtype=float)
    if v.ndim != 1:
        raise ValueError(f"vi must be 1-D (one sampling variance per effect size); got {v.ndim}-D")
    if not np.isfinite(v).all() or (v <= 0).any():
        raise ValueError("vi must be positive and finite (no missing values)")
    k = len(v)
    cl = pd.Series(np.asarray(cluster, dtype=object).reshape(-1))
    if len(cl) != k:
        raise ValueError(f"cluster has {len(cl)} ids but vi has {k} sampling variances")
    if cl.isna().any():
        raise ValueError("cluster has missing ids")
    if obs is None:
        ob = pd.Series(np.zeros(k))
    else:
        ob = pd.Series(np.asarray(obs, dtype=object).reshape(-1))
        if len(ob) != k:
            raise ValueError(f"obs has {len(ob)} ids but vi has {k} sampling variances")
        if ob.isna().any():
            raise ValueError("obs has missing ids")
    if rho is None:
        raise ValueError("give rho, the assumed correlation between effects of one cluster")
    if np.ndim(rho) != 0:
        raise ValueError("rho must be a single number (one correlation for all clusters)")
    rho = float(rho)
    if not -1 <= rho <= 1:
        raise ValueError(f"rho must lie in [-1, 1]; got {rho}")
    c = pd.factorize(cl.astype(str))[0]
    o = pd.factorize(ob.astype(str))[0]
    same_cluster = np.equal.outer(c, c)
    same_obs = np.equal.outer(o, o)
    R = np.where(same_cluster, np.where(same_obs, 1.0, rho), 0.0)
    sd = np.sqrt(v)
    V = R * np.outer(sd, sd)
    bad = []
    for j in range(int(c.max()) + 1):
        idx = np.flatnonzero(c == j)
        if len(idx) > 1 and np.linalg.eigvalsh(V[np.ix_(idx, idx)]).min() <= 1e-12 * v[idx].max():
            bad.append(str(cl.iloc[idx[0]]))
    if bad:
        warnings.warn(
            f"the covariance matrix is not positive definite in cluster(s) {', '.join(bad)} "
            "(rows with the same obs id are treated as one observation, correlation 1)",
            RuntimeWarning,
            stacklevel=2,
        )
    return V if labels is None else pd.DataFrame(V, index=labels, columns=labels)
