"""Checks of a fitted meta-analysis: small-study effects and influential studies (metafor's
``regtest``, ``leave1out``, ``influence`` and ``trimfill``).

Every function takes an :class:`mixedtools.meta.RmaResult` and refits with the same estimator
(``method``) and test, as metafor does.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from mixedtools.meta.univariate import RmaResult, _fit_one

__all__ = ["egger", "leave_one_out", "influence", "trimfill"]


def _check(result):
    if not isinstance(result, RmaResult):
        raise TypeError(f"expected a result of mt.meta.rma; got {type(result).__name__}")


def _refit(result, y, v, X=None):
    X = result.X if X is None else X
    names = (
        list(result.beta.index) if X.shape[1] == result.p else [f"x{i}" for i in range(X.shape[1])]
    )
    return _fit_one(y, v, X, names, result.method, result.test, result.level, data_for_r2=False)


def egger(result) -> pd.Series:
    """Egger-type regression test for funnel-plot asymmetry (metafor's ``regtest`` defaults).

    Adds the standard error ``sqrt(vi)`` as a moderator to the fitted model (same estimator and
    test) and tests its coefficient: metafor's default ``regtest(res)`` (``model = "rma"``,
    ``predictor = "sei"``), a mixed-effects meta-regression with a z test (t under Knapp-Hartung).
    This is *not* the classical test of Egger et al. (1997), which is a weighted least-squares
    regression with a multiplicative error variance and a t test on ``k - 2`` df (metafor's
    ``regtest(res, model = "lm")``); for that one, and for the other predictors (``vi``, ``1/n``),
    use :func:`mixedtools.meta.regtest`.

    Returns
    -------
    pandas.Series
        ``statistic`` (z, or t for Knapp-Hartung), ``df``, ``p_value`` and ``limit_estimate``
        (the intercept: the effect expected for a study with se = 0).

    Examples
    --------
    >>> import mixedtools as mt
    >>> bcg = mt.datasets.load("bcg")
    >>> es = mt.meta.escalc("RR", ai=bcg.tpos, bi=bcg.tneg, ci=bcg.cpos, di=bcg.cneg)
    >>> round(float(egger(mt.meta.rma(es.yi, es.vi)).statistic), 4)
    -0.8033
    """
    _check(result)
    X = np.column_stack([result.X, np.sqrt(result.vi)])
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise ValueError("the standard errors are collinear with the moderators; no test possible")
    fit = _refit(result, result.yi, result.vi, X)
    row = fit.coef_table().iloc[-1]
    return pd.Series(
        {
            "statistic": row.statistic,
            "df": row.df,
            "p_value": row.p_value,
            "limit_estimate": float(fit.beta.iloc[0]),
        },
        name="egger",
    )


def leave_one_out(result) -> pd.DataFrame:
    """Refit without each study in turn (metafor's ``leave1out``), intercept-only models.

    Returns
    -------
    pandas.DataFrame
        One row per left-out study: ``estimate``, ``se``, ``statistic``, ``p_value``,
        ``ci_lower``, ``ci_upper``, ``Q``, ``Q_p``, ``tau2``, ``I2``, ``H2``.
    """
    _check(result)
    if result.p != 1:
        raise ValueError("leave_one_out is defined for models without moderators")
    if result.k < 3:
        raise ValueError("leave_one_out needs at least 3 studies")
    rows = []
    for i in range(result.k):
        keep = np.arange(result.k) != i
        fit = _refit(result, result.yi[keep], result.vi[keep], result.X[keep])
        row = fit.coef_table().iloc[0]
        rows.append(
            {
                "estimate": row.estimate,
                "se": row.std_error,
                "statistic": row.statistic,
                "p_value": row.p_value,
                "ci_lower": row.ci_lower,
                "ci_upper": row.ci_upper,
                "Q": fit.Q,
                "Q_p": fit.Q_p,
                "tau2": fit.tau2,
                "I2": fit.I2,
                "H2": fit.H2,
            }
        )
    return pd.DataFrame(rows)


def influence(result) -> pd.DataFrame:
    """Case-deletion diagnostics (metafor's ``influence``).

    Returns
    -------
    pandas.DataFrame
        One row per study: ``rstudent`` (externally studentised residual), ``dffits``,
        ``cook_d`` (Cook's distance), ``cov_r`` (covariance ratio), ``tau2_del``, ``QE_del``
        (tau2 and Q without the study), ``hat`` and ``weight`` (percent), and ``dfbetas``
        (``dfbetas_<coefficient>`` for each coefficient of a meta-regression).
    """
    _check(result)
    k, y, v, X = result.k, result.yi, result.vi, result.X
    if k - 1 <= result.p:
        raise ValueError("too few studies to delete one and refit")
    beta = result.beta.to_numpy()
    vb = result.vb.to_numpy()
    w = 1 / (v + result.tau2)
    A = np.linalg.inv(X.T @ (w[:, None] * X))
    hat = w * np.einsum("ij,jk,ik->i", X, A, X)  # diagonal of X (X'WX)^-1 X'W
    svb = np.linalg.inv(vb)
    pred_full = X @ beta
    names = list(result.beta.index)
    dfbetas_names = ["dfbetas"] if result.p == 1 else [f"dfbetas_{name}" for name in names]
    out = []
    for i in range(k):
        keep = np.arange(k) != i
        fit = _refit(result, y[keep], v[keep], X[keep])
        b_del = fit.beta.to_numpy()
        vb_del_fit = fit.vb.to_numpy()
        delpred = X[i] @ b_del
        vdelpred = X[i] @ vb_del_fit @ X[i]
        resid = y[i] - delpred
        seresid = np.sqrt(v[i] * fit.s2w + vdelpred + fit.tau2 * fit.s2w)
        dffits = (pred_full[i] - delpred) / np.sqrt(fit.s2w * hat[i] * (fit.tau2 + v[i]))
        dfb = beta - b_del
        w_del = 1 / (v + fit.tau2)
        vb_del = np.linalg.inv(X.T @ (w_del[:, None] * X))
        out.append(
            {
                "rstudent": resid / seresid,
                "dffits": dffits,
                "cook_d": float(dfb @ svb @ dfb),
                "cov_r": np.linalg.det(vb_del_fit) / np.linalg.det(vb),
                "tau2_del": fit.tau2,
                "QE_del": fit.Q,
                "hat": hat[i],
                "weight": 100 * w[i] / w.sum(),
                **{
                    name: dfb[j] / np.sqrt(fit.s2w * vb_del[j, j])
                    for j, name in enumerate(dfbetas_names)
                },
            }
        )
    return pd.DataFrame(out)


def trimfill(result, side=None) -> pd.Series:
    """Duval and Tweedie's trim-and-fill with the L0 estimator (metafor's ``trimfill``).

    Parameters
    ----------
    result : RmaResult without moderators
    side : {"left", "right"}, optional
        Side on which studies are assumed missing; by default, as metafor, the side opposite to
        the sign of the slope of ``yi`` on ``sqrt(vi)``.

    Returns
    -------
    pandas.Series
        ``k0`` (number of filled studies), ``side``, ``estimate``, ``se``, ``ci_lower``,
        ``ci_upper``, ``tau2`` of the fit to the filled data, and the filled values ``yi_filled``,
        ``vi_filled`` (arrays).
    """
    _check(result)
    if result.p != 1:
        raise ValueError("trimfill is defined for models without moderators")
    y, v, k = result.yi, result.vi, result.k
    if side is None:
        slope = _refit(result, y, v, np.column_stack([result.X, np.sqrt(v)])).beta.iloc[1]
        side = "right" if slope < 0 else "left"
    if side not in ("left", "right"):
        raise ValueError("side must be 'left' or 'right'")
    sign = -1.0 if side == "right" else 1.0
    order = np.argsort(sign * y, kind="stable")
    ys, vs = sign * y[order], v[order]
    k0, previous = 0, -1
    for _ in range(100):
        if k0 == previous:
            break
        previous = k0
        fit = _refit(result, ys[: k - k0], vs[: k - k0], np.ones((k - k0, 1)))
        b = fit.estimate
        centred = ys - b
        ranks = stats.rankdata(np.abs(centred), method="ordinal")
        s_rank = np.sum(ranks[centred > 0])
        k0 = int(round(max(0.0, (4 * s_rank - k * (k + 1)) / (2 * k - 1))))
        k0 = min(k0, k - 1)
    if k0 > 0:
        y_fill = sign * (2 * b - ys[k - k0 :])
        v_fill = vs[k - k0 :]
    else:
        y_fill, v_fill = np.array([]), np.array([])
    full = _refit(
        result,
        np.concatenate([y, y_fill]),
        np.concatenate([v, v_fill]),
        np.ones((k + k0, 1)),
    )
    return pd.Series(
        {
            "k0": k0,
            "side": side,
            "estimate": full.estimate,
            "se": full.se,
            "ci_lower": full.ci_lower,
            "ci_upper": full.ci_upper,
            "tau2": full.tau2,
            "yi_filled": y_fill,
            "vi_filled": v_fill,
        },
        name="trimfill",
        dtype=object,
    )
