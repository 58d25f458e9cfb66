"""Publication bias and small-study effects beyond Egger's test and trim-and-fill.

- :func:`regtest`: metafor's ``regtest``, the family of regression tests for funnel-plot
  asymmetry. Its default (``model="rma"``, ``predictor="sei"``) adds the standard error as a
  moderator to the fitted random-effects model -- that is what :func:`mixedtools.meta.egger`
  computes. The classical test of Egger et al. (1997) is ``model="lm"``: weighted least squares
  of ``yi`` on ``sqrt(vi)`` with weights ``1 / vi`` and a multiplicative error variance (the
  regression of ``yi / sei`` on ``1 / sei``), a t test with ``k - p - 1`` df.
- :func:`peters`: Peters et al. (2006) for log odds ratios: ``yi`` on ``1 / n``.
- :func:`pet_peese`: the PET-PEESE conditional estimator of Stanley & Doucouliagos (2014).
- :func:`selmodel`: the step-function selection model of Vevea & Hedges (1995) (metafor's
  ``selmodel(res, type = "stepfun")``).

References
----------
Egger, M., Davey Smith, G., Schneider, M. & Minder, C. (1997). Bias in meta-analysis detected
by a simple, graphical test. BMJ, 315, 629-634.
Peters, J. L., Sutton, A. J., Jones, D. R., Abrams, K. R. & Rushton, L. (2006). Comparison of
two methods to detect publication bias in meta-analysis. JAMA, 295(6), 676-680.
Stanley, T. D. & Doucouliagos, H. (2014). Meta-regression approximations to reduce publication
selection bias. Research Synthesis Methods, 5(1), 60-78.
Vevea, J. L. & Hedges, L. V. (1995). A general linear model for estimating effect size in the
presence of publication bias. Psychometrika, 60(3), 419-435.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import optimize, stats

from mixedtools.meta._pairing import pair_rows, pair_with_fit
from mixedtools.meta.effects import escalc
from mixedtools.meta.univariate import RmaResult, _fit_one

__all__ = ["regtest", "peters", "pet_peese", "selmodel", "SelmodelResult", "PREDICTORS"]

PREDICTORS = ("sei", "vi", "ninv", "sqrtninv")


def _check_result(result, what):
    if not isinstance(result, RmaResult):
        raise TypeError(f"{what} takes a result of mt.meta.rma; got {type(result).__name__}")


def _wls(y, X, w):
    """Weighted least squares with an estimated (multiplicative) error variance, as R's ``lm``
    with ``weights``: coefficients, standard errors and residual df."""
    k, p = X.shape
    if k <= p:
        raise ValueError(f"{k} studies cannot estimate {p} regression coefficients")
    A = np.linalg.inv(X.T @ (w[:, None] * X))
    beta = A @ (X.T @ (w * y))
    resid = y - X @ beta
    sigma2 = float(np.sum(w * resid**2) / (k - p))
    return beta, np.sqrt(np.diag(A) * sigma2), k - p


def _row(est, se, df, level=0.95):
    stat = est / se
    crit = stats.t.ppf(1 - (1 - level) / 2, df)
    return {
        "estimate": est,
        "std_error": se,
        "statistic": stat,
        "df": df,
        "p_value": 2 * stats.t.sf(abs(stat), df),
        "ci_lower": est - crit * se,
        "ci_upper": est + crit * se,
    }


def regtest(result, model="rma", predictor="sei", ni=None) -> pd.Series:
    """Regression test for funnel-plot asymmetry (metafor's ``regtest``).

    Parameters
    ----------
    result : RmaResult
        The fitted model (its moderators are kept).
    model : {"rma", "lm"}
        ``"rma"`` (metafor's default, and what :func:`mixedtools.meta.egger` computes): the
        predictor is added as a moderator to the fitted model, same estimator and test (z, or t
        for Knapp-Hartung). ``"lm"``: weighted least squares with weights ``1 / vi`` and an
        estimated multiplicative error variance, a t test with ``k - p - 1`` df; with
        ``predictor="sei"`` this is the classical test of Egger et al. (1997).
    predictor : {"sei", "vi", "ninv", "sqrtninv"}
        Standard error, sampling variance, ``1 / ni`` or ``1 / sqrt(ni)``.
    ni : array-like, optional
        Total sample size of each study; needed for ``"ninv"`` and ``"sqrtninv"``.

    Returns
    -------
    pandas.Series
        ``statistic``, ``df`` (inf for a z test), ``p_value``, ``limit_estimate`` (the
        intercept: the effect expected where the predictor is 0, i.e. an infinitely large
        study), ``model``, ``predictor``.

    Examples
    --------
    >>> import mixedtools as mt
    >>> bcg = mt.datasets.load("bcg")
    >>> es = mt.meta.escalc("RR", ai=bcg.tpos, bi=bcg.tneg, ci=bcg.cpos, di=bcg.cneg)
    >>> res = mt.meta.rma(es.yi, es.vi)
    >>> round(float(regtest(res).statistic), 4)  # = mt.meta.egger(res).statistic
    -0.8033
    >>> round(float(regtest(res, model="lm").statistic), 4)  # Egger et al. (1997)
    -1.4013
    """
    _check_result(result, "regtest")
    if model not in ("rma", "lm"):
        raise ValueError(f"unknown model {model!r}; choose 'rma' or 'lm'")
    if predictor not in PREDICTORS:
        raise ValueError(f"unknown predictor {predictor!r}; choose one of {', '.join(PREDICTORS)}")
    v = result.vi
    if predictor in ("ninv", "sqrtninv"):
        if ni is None:
            raise ValueError(f"predictor={predictor!r} needs ni= (the total sample sizes)")
        n = np.asarray(pair_with_fit(result, ni=ni)["ni"], dtype=float)
        if n.shape != v.shape:
            raise ValueError(f"ni has {n.size} values but the model has {len(v)} studies")
        if not np.isfinite(n).all() or (n <= 0).any():
            raise ValueError("ni must be positive sample sizes")
        x = 1 / n if predictor == "ninv" else 1 / np.sqrt(n)
    else:
        x = np.sqrt(v) if predictor == "sei" else v
    X = np.column_stack([result.X, x])
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise ValueError("the predictor is collinear with the moderators; no test possible")
    if model == "rma":
        names = list(result.beta.index) + [predictor]
        fit = _fit_one(
            result.yi, v, X, names, result.method, result.test, result.level, data_for_r2=False
        )
        row = fit.coef_table().iloc[-1]
        stat, df, p, limit = row.statistic, row.df, row.p_value, float(fit.beta.iloc[0])
    else:
        beta, se, df = _wls(result.yi, X, 1 / v)
        stat = beta[-1] / se[-1]
        p, limit = 2 * stats.t.sf(abs(stat), df), float(beta[0])
    return pd.Series(
        {
            "statistic": float(stat),
            "df": float(df),
            "p_value": float(p),
            "limit_estimate": limit,
            "model": model,
            "predictor": predictor,
        },
        name="regtest",
        dtype=object,
    )


def peters(ai, bi, ci, di, weights="peters") -> pd.Series:
    """Peters' regression test for small-study effects with binary outcomes (Peters et al. 2006).

    The log odds ratio (``escalc("OR", ...)``, 1/2 added to the cells of tables with a zero) is
    regressed on ``1 / n`` (``n`` the total sample size) by weighted least squares, and the slope
    is tested with a t test on ``k - 2`` df.

    Parameters
    ----------
    ai, bi, ci, di : array-like
        Events and non-events in the treatment group (``ai``, ``bi``) and the control group
        (``ci``, ``di``).
    weights : {"peters", "inverse_variance"}
        ``"peters"``: the weights of Peters et al., ``1 / (1/events + 1/non-events)`` with the
        events and non-events of both groups together. ``"inverse_variance"``: ``1 / vi``, which
        is metafor's ``regtest(res, model = "lm", predictor = "ninv")``.

    Returns
    -------
    pandas.Series
        ``statistic``, ``df``, ``p_value``, ``slope``, ``intercept`` (the log odds ratio expected
        for an infinitely large study), ``weights``.

    Examples
    --------
    >>> import mixedtools as mt
    >>> bcg = mt.datasets.load("bcg")
    >>> out = peters(bcg.tpos, bcg.tneg, bcg.cpos, bcg.cneg)
    >>> round(float(out.statistic), 4), int(out.df)
    (-1.3625, 11)
    """
    if weights not in ("peters", "inverse_variance"):
        raise ValueError(f"unknown weights {weights!r}; choose 'peters' or 'inverse_variance'")
    tables = pair_rows(ai=ai, bi=bi, ci=ci, di=di)
    es = escalc("OR", **tables)
    cells = [np.asarray(x, dtype=float) for x in tables.values()]
    n = sum(cells)
    events, nonevents = cells[0] + cells[2], cells[1] + cells[3]
    if weights == "peters":
        if (events == 0).any() or (nonevents == 0).any():
            raise ValueError("a study without events or without non-events has no Peters weight")
        w = 1 / (1 / events + 1 / nonevents)
    else:
        w = 1 / es.vi.to_numpy()
    X = np.column_stack([np.ones(len(n)), 1 / n])
    beta, se, df = _wls(es.yi.to_numpy(), X, w)
    stat = beta[1] / se[1]
    return pd.Series(
        {
            "statistic": float(stat),
            "df": float(df),
            "p_value": float(2 * stats.t.sf(abs(stat), df)),
            "slope": float(beta[1]),
            "intercept": float(beta[0]),
            "weights": weights,
        },
        name="peters",
        dtype=object,
    )


def pet_peese(yi, vi, alpha=0.05, level=0.95) -> pd.DataFrame:
    """PET-PEESE: the conditional precision-effect estimate of Stanley & Doucouliagos (2014).

    PET is the weighted least squares regression ``yi = b0 + b1 sei`` and PEESE
    ``yi = b0 + b1 vi``, both with weights ``1 / vi`` and a multiplicative error variance (R's
    ``lm(yi ~ sqrt(vi), weights = 1 / vi)``); ``b0`` estimates the effect of a study with
    standard error 0. The conditional rule: if PET rejects ``H0: b0 = 0`` (two-sided, level
    ``alpha``), there is an effect and PEESE's ``b0`` is reported, otherwise PET's.

    Parameters
    ----------
    yi, vi : array-like
        Effect sizes and sampling variances.
    alpha : float, default 0.05
        Level of PET's test of the intercept. Stanley & Doucouliagos use 5%; applications that
        test one-sided at 5% correspond to ``alpha=0.10`` here.
    level : float, default 0.95
        For the confidence intervals.

    Returns
    -------
    pandas.DataFrame
        Rows ``PET``, ``PEESE`` and ``PET-PEESE`` (the row the rule chooses); columns
        ``estimate, std_error, statistic, df, p_value, ci_lower, ci_upper`` of the intercept,
        ``slope`` and ``slope_p`` (PET's slope test is the FAT, Egger's test), and ``model``.

    Examples
    --------
    >>> import mixedtools as mt
    >>> bcg = mt.datasets.load("bcg")
    >>> es = mt.meta.escalc("OR", ai=bcg.tpos, bi=bcg.tneg, ci=bcg.cpos, di=bcg.cneg)
    >>> pet_peese(es.yi, es.vi)[["estimate", "p_value", "model"]].round(4)
               estimate  p_value  model
    PET         -0.1571   0.5214    PET
    PEESE       -0.3786   0.0480  PEESE
    PET-PEESE   -0.1571   0.5214    PET
    """
    rows = pair_rows(yi=yi, vi=vi)
    y = np.asarray(rows["yi"], dtype=float)
    v = np.asarray(rows["vi"], dtype=float)
    if y.shape != v.shape or y.ndim != 1:
        raise ValueError("yi and vi must be 1-D arrays of the same length")
    if not (np.isfinite(y).all() and np.isfinite(v).all()) or (v <= 0).any():
        raise ValueError("yi must be finite and vi positive (no missing values)")
    if len(y) < 3:
        raise ValueError("PET-PEESE needs at least 3 studies")
    if not 0 < alpha < 1:
        raise ValueError("alpha must lie in (0, 1)")
    rows = {}
    for name, x in (("PET", np.sqrt(v)), ("PEESE", v)):
        beta, se, df = _wls(y, np.column_stack([np.ones(len(y)), x]), 1 / v)
        row = _row(beta[0], se[0], df, level)
        row["slope"] = beta[1]
        row["slope_p"] = 2 * stats.t.sf(abs(beta[1] / se[1]), df)
        row["model"] = name
        rows[name] = row
    chosen = "PEESE" if rows["PET"]["p_value"] < alpha else "PET"
    rows["PET-PEESE"] = dict(rows[chosen])
    out = pd.DataFrame.from_dict(rows, orient="index")
    return out.astype({c: float for c in out.columns if c != "model"})


# ---------------------------------------------------------------------------------------------
# step-function selection model
# ---------------------------------------------------------------------------------------------
class SelmodelResult:
    """A fitted step-function selection model (metafor's ``selmodel``, ``type = "stepfun"``).

    Attributes
    ----------
    beta : pandas.Series
        Coefficients corrected for selection (``estimate`` is the first).
    tau2, se_tau2 : float
    delta, se_delta : pandas.Series
        Relative likelihood of publication in each p-value interval (the first fixed at 1).
    k_per_interval : pandas.Series
        Number of studies whose one-sided p-value falls in each interval.
    LRT, LRT_df, LRT_p : float
        Likelihood-ratio test of ``H0: all delta = 1`` (no selection) against the ML
        random-effects model.
    loglik, loglik_null : float
    """

    def __init__(self, **fields):
        self.__dict__.update(fields)

    @property
    def estimate(self):
        return float(self.beta.iloc[0])

    @property
    def se(self):
        return float(self.se_all.iloc[0])

    def coef_table(self) -> pd.DataFrame:
        """``estimate, std_error, statistic, p_value, ci_lower, ci_upper`` (z tests)."""
        est, se = self.beta.to_numpy(), self.se_all.to_numpy()
        z = est / se
        crit = stats.norm.ppf(1 - (1 - self.level) / 2)
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

    def __repr__(self):
        from mixedtools.report import format_p, format_table

        delta = ", ".join(f"{d:.4g}" for d in self.delta)
        return (
            f"Step-function selection model (ML), k = {len(self.yi)}, steps = {self.steps}\n"
            f"tau2 = {self.tau2:.4g}; delta = {delta}\n"
            f"LRT({self.LRT_df}) = {self.LRT:.4f}, p = {format_p(self.LRT_p)}\n"
            f"{format_table(self.coef_table(), decimals=4).to_string()}"
        )


def _p_upper(cut, mu, sd, s, alternative):
    """P(one-sided p-value <= cut) for y ~ N(mu, sd^2) with standard error s."""
    with np.errstate(divide="ignore"):
        if alternative == "greater":
            return stats.norm.sf((s * stats.norm.isf(cut) - mu) / sd)
        if alternative == "less":
            return stats.norm.cdf((s * stats.norm.ppf(cut) - mu) / sd)
        c = s * stats.norm.isf(cut / 2)
        return stats.norm.sf((c - mu) / sd) + stats.norm.cdf((-c - mu) / sd)


def _numerical_hessian(f, x, rel=1e-4):
    """Central-difference Hessian with one Richardson extrapolation step."""
    n = len(x)
    h0 = rel * np.maximum(np.abs(x), 1e-2)

    def hess(h):
        H = np.zeros((n, n))
        for i in range(n):
            for j in range(i, n):
                ei, ej = np.eye(n)[i] * h[i], np.eye(n)[j] * h[j]
                H[i, j] = H[j, i] = (
                    f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)
                ) / (4 * h[i] * h[j])
        return H

    return (4 * hess(h0 / 2) - hess(h0)) / 3


def selmodel(result, steps=(0.025,), alternative="greater") -> SelmodelResult:
    """Step-function selection model (Vevea & Hedges 1995; metafor's ``selmodel(res,
    type = "stepfun", steps = ...)``).

    Studies are published with a probability that depends on their one-sided p-value only
    through the interval it falls in: relative weight ``delta_1 = 1`` for ``p <= steps[0]``,
    ``delta_2`` for ``steps[0] < p <= steps[1]``, ..., the last interval ending at 1. The
    coefficients, ``tau2`` and the free ``delta`` are estimated jointly by maximum likelihood
    (whatever estimator ``result`` used, as metafor), with standard errors from the observed
    information (numerical Hessian).

    Parameters
    ----------
    result : RmaResult
        A random-effects model (or meta-regression) from :func:`mixedtools.meta.rma`; a
        fixed-effect model (``method="FE"``) keeps ``tau2 = 0``.
    steps : sequence of float
        Interior cut points in (0, 1), increasing (1 is added).
    alternative : {"greater", "less", "two-sided"}
        Direction of the p-values that drive selection (metafor's default: ``"greater"``,
        ``p = 1 - Phi(yi / sei)``).

    Returns
    -------
    SelmodelResult

    Examples
    --------
    >>> import mixedtools as mt
    >>> bcg = mt.datasets.load("bcg")
    >>> es = mt.meta.escalc("RR", ai=bcg.tpos, bi=bcg.tneg, ci=bcg.cpos, di=bcg.cneg)
    >>> sel = selmodel(mt.meta.rma(es.yi, es.vi, method="ML"), steps=(0.05,), alternative="less")
    >>> sel.k_per_interval.tolist()
    [8, 5]
    """
    _check_result(result, "selmodel")
    if alternative not in ("greater", "less", "two-sided"):
        raise ValueError(
            f"unknown alternative {alternative!r}; choose 'greater', 'less', 'two-sided'"
        )
    cuts = np.atleast_1d(np.asarray(steps, dtype=float))
    if cuts.ndim != 1 or len(cuts) == 0:
        raise ValueError("steps must be a non-empty sequence of cut points in (0, 1)")
    if cuts[-1] == 1.0:
        cuts = cuts[:-1]
    if len(cuts) == 0 or (cuts <= 0).any() or (cuts >= 1).any() or (np.diff(cuts) <= 0).any():
        raise ValueError("steps must be increasing cut points in (0, 1), e.g. (0.025, 0.5)")
    y, v, X = result.yi, result.vi, result.X
    k, p = X.shape
    s = np.sqrt(v)
    if alternative == "greater":
        pval = stats.norm.sf(y / s)
    elif alternative == "less":
        pval = stats.norm.cdf(y / s)
    else:
        pval = 2 * stats.norm.sf(np.abs(y / s))
    bounds = np.concatenate([[0.0], cuts, [1.0]])
    m = len(bounds) - 1
    interval = np.clip(np.searchsorted(bounds, pval, side="left") - 1, 0, m - 1)
    counts = np.bincount(interval, minlength=m)
    labels = [f"{lo:g} < p <= {hi:g}" for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]
    if (counts == 0).any():
        empty = ", ".join(lab for lab, c in zip(labels, counts, strict=True) if c == 0)
        raise ValueError(f"no study has its p-value in {empty}; choose other steps")
    fixed_tau2 = result.method == "FE"

    def negll(theta):
        beta = theta[:p]
        tau2 = 0.0 if fixed_tau2 else theta[p]
        delta = np.concatenate([[1.0], theta[p + (0 if fixed_tau2 else 1) :]])
        if tau2 < 0 or (delta < 0).any():
            return np.inf
        mu = X @ beta
        sd = np.sqrt(v + tau2)
        upper = np.column_stack([_p_upper(c, mu, sd, s, alternative) for c in bounds[1:-1]])
        upper = np.column_stack([np.zeros(k), upper, np.ones(k)])
        probs = np.diff(upper, axis=1)  # P(p in interval j)
        A = probs @ delta
        dens = stats.norm.logpdf(y, mu, sd)
        with np.errstate(divide="ignore"):
            return -float(np.sum(np.log(delta[interval]) + dens - np.log(A)))

    null = _fit_one(y, v, X, list(result.beta.index), "ML", "z", result.level, data_for_r2=False)
    if fixed_tau2:
        null = _fit_one(y, v, X, list(result.beta.index), "FE", "z", result.level, False)
    start = np.concatenate(
        [null.beta.to_numpy(), [] if fixed_tau2 else [max(null.tau2, 0.01)], np.ones(m - 1)]
    )
    n_var = 0 if fixed_tau2 else 1
    lower = [None] * p + [0.0] * n_var + [1e-10] * (m - 1)
    opt = optimize.minimize(
        negll,
        start,
        method="L-BFGS-B",
        bounds=list(zip(lower, [None] * len(start), strict=True)),
        options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 5000},
    )
    opt = optimize.minimize(
        negll,
        opt.x,
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-14, "maxiter": 20000, "maxfev": 40000},
    )
    theta = opt.x
    loglik = -negll(theta)
    H = _numerical_hessian(negll, theta)
    cov = np.linalg.pinv(H)
    se = np.sqrt(np.clip(np.diag(cov), 0, None))
    names = list(result.beta.index)
    tau2 = 0.0 if fixed_tau2 else float(theta[p])
    delta = np.concatenate([[1.0], theta[p + n_var :]])
    se_delta = np.concatenate([[np.nan], se[p + n_var :]])
    LRT = max(0.0, 2 * (loglik - null.loglik))
    return SelmodelResult(
        beta=pd.Series(theta[:p], index=names, name="estimate"),
        se_all=pd.Series(se[:p], index=names, name="std_error"),
        tau2=tau2,
        se_tau2=np.nan if fixed_tau2 else float(se[p]),
        delta=pd.Series(delta, index=labels, name="delta"),
        se_delta=pd.Series(se_delta, index=labels, name="se_delta"),
        k_per_interval=pd.Series(counts, index=labels, name="k"),
        steps=tuple(float(c) for c in cuts) + (1.0,),
        alternative=alternative,
        LRT=float(LRT),
        LRT_df=m - 1,
        LRT_p=float(stats.chi2.sf(LRT, m - 1)),
        loglik=float(loglik),
        loglik_null=float(null.loglik),
        converged=bool(opt.success),
        level=result.level,
        yi=y,
        vi=v,
    )
