"""What a misspecified random-intercept model does and does not harm: seeded simulation studies.

- :func:`ignored_ar1_study`: a growth model whose level-1 residuals follow an AR(1) process
  (``corr(e_t, e_t+1) = phi``), fitted as if they were independent (lme4 cannot fit AR(1)
  residuals; ``nlme::lme(..., correlation = corAR1())`` can).  With ``phi > 0`` the SE of the
  time slope is too small and its CIs undercover; a level-2 (between-subject) effect is much
  less affected.
- :func:`nonnormal_ranef_study`: random intercepts drawn from a skewed, heavy-tailed or bimodal
  distribution, fitted with the normal model.  The fixed effects, their SEs and CI coverage stay
  close to nominal; the *predicted* random effects (conditional modes) do not reproduce the
  true distribution -- they are shrunken towards a normal-looking shape when groups are small,
  so their Q-Q plot understates the non-normality.

Every rate comes with its Monte Carlo standard error.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from mixedtools.lmm.fit import lmer

__all__ = ["ignored_ar1_study", "nonnormal_ranef_study"]


def _check_rep(n_rep):
    if not (isinstance(n_rep, int) and n_rep >= 2):
        raise ValueError(f"n_rep must be an integer of at least 2, got {n_rep!r}")


def _summarise(est, se, truth, names, level, df=None):
    n_rep = est.shape[0]
    z = stats.norm.ppf(0.5 + level / 2) if df is None else stats.t.ppf(0.5 + level / 2, df)
    rows = []
    for j, name in enumerate(names):
        e, s = est[:, j], se[:, j]
        sd = e.std(ddof=1)
        cover = np.mean(np.abs(e - truth[j]) <= z * s)
        rows.append(
            {
                "term": name,
                "true": truth[j],
                "mean_estimate": e.mean(),
                "estimate_mcse": sd / np.sqrt(n_rep),
                "empirical_sd": sd,
                "empirical_sd_mcse": sd / np.sqrt(2 * (n_rep - 1)),
                "mean_model_se": s.mean(),
                "se_ratio": s.mean() / sd,
                "coverage": cover,
                "coverage_mcse": np.sqrt(cover * (1 - cover) / n_rep),
                "n_rep": n_rep,
            }
        )
    return pd.DataFrame(rows)


def _fit(formula, data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lmer(formula, data)


def ignored_ar1_study(
    n_subjects=40,
    n_times=6,
    phi=0.6,
    tau2=0.5,
    sigma2=1.0,
    slope=0.3,
    treat_effect=0.5,
    n_rep=200,
    level=0.95,
    seed=0,
):
    """SEs and CI coverage of a random-intercept growth model that ignores AR(1) residuals.

    Data: ``y_it = 1 + slope * t + treat_effect * treat_i + u_i + e_it`` for ``t = 0 ..
    n_times - 1``, half the subjects treated, ``u_i ~ N(0, tau2)`` and ``e_i`` a stationary
    AR(1) series with variance ``sigma2`` and lag-one correlation ``phi``.  Fitted model:
    ``y ~ time + treat + (1 | id)`` by REML (independent residuals); normal-quantile CIs.

    Parameters
    ----------
    n_subjects, n_times : int
    phi : float
        Lag-one autocorrelation, in (-1, 1); 0 gives the correctly specified model.
    tau2, sigma2 : float
        Random-intercept and residual variances.
    slope, treat_effect : float
        True effects of time (level 1) and treatment (level 2).
    n_rep : int
    level : float
        CI level.
    seed : int

    Returns
    -------
    pandas.DataFrame
        One row per fixed effect (Intercept, time, treat): true, mean_estimate, estimate_mcse,
        empirical_sd, empirical_sd_mcse, mean_model_se, se_ratio (mean model SE / empirical
        SD; below 1 means the SEs are too small), coverage, coverage_mcse, n_rep.

    Examples
    --------
    >>> import mixedtools as mt
    >>> t = mt.simulate.ignored_ar1_study(n_subjects=20, phi=0.7, n_rep=40, seed=2)
    >>> t.term.tolist()
    ['Intercept', 'time', 'treat']
    >>> bool(t.set_index("term").se_ratio["time"] < 0.9)  # the time slope's SE is too small
    True
    """
    _check_rep(n_rep)
    if not -1 < phi < 1:
        raise ValueError(f"phi must lie strictly between -1 and 1, got {phi!r}")
    if n_subjects < 4 or n_times < 3:
        raise ValueError("need at least 4 subjects and 3 time points")
    rng = np.random.default_rng(seed)
    ids = np.repeat(np.arange(n_subjects), n_times)
    time = np.tile(np.arange(n_times, dtype=float), n_subjects)
    treat = (ids < n_subjects // 2).astype(float)
    truth = np.array([1.0, slope, treat_effect])
    names = ["Intercept", "time", "treat"]
    est, se = np.empty((n_rep, 3)), np.empty((n_rep, 3))
    innov_sd = np.sqrt(sigma2 * (1 - phi**2))
    for r in range(n_rep):
        e = np.empty((n_subjects, n_times))
        e[:, 0] = rng.normal(0, np.sqrt(sigma2), n_subjects)
        for t in range(1, n_times):
            e[:, t] = phi * e[:, t - 1] + rng.normal(0, innov_sd, n_subjects)
        u = rng.normal(0, np.sqrt(tau2), n_subjects)
        y = truth[0] + slope * time + treat_effect * treat + u[ids] + e.ravel()
        fit = _fit(
            "y ~ time + treat + (1 | id)",
            pd.DataFrame({"y": y, "time": time, "treat": treat, "id": ids}),
        )
        est[r] = fit.fixef[names].to_numpy()
        se[r] = np.sqrt(np.diag(fit.vcov.loc[names, names].to_numpy()))
    out = _summarise(est, se, truth, names, level)
    out.attrs.update(phi=phi, n_subjects=n_subjects, n_times=n_times)
    return out


def _draw_ranef(rng, dist, k, tau2):
    """k draws with mean 0 and variance tau2 from the named shape."""
    if dist == "normal":
        z = rng.standard_normal(k)
    elif dist == "skewed":  # centred chi-square(1): skewness sqrt(8) ~ 2.83
        z = (rng.chisquare(1, k) - 1) / np.sqrt(2)
    elif dist == "heavy":  # t with 3 df, scaled to variance 1
        z = rng.standard_t(3, k) / np.sqrt(3)
    elif dist == "bimodal":  # +-0.9 with normal noise of SD sqrt(1 - 0.81)
        z = rng.choice([-0.9, 0.9], k) + rng.normal(0, np.sqrt(1 - 0.81), k)
    else:
        raise ValueError(f"unknown distribution {dist!r}; choose normal, skewed, heavy or bimodal")
    return np.sqrt(tau2) * z


def nonnormal_ranef_study(
    dist="skewed",
    k=50,
    n=5,
    tau2=0.5,
    sigma2=1.0,
    beta=(1.0, 0.5, 0.5),
    n_rep=200,
    level=0.95,
    alpha=0.05,
    seed=0,
):
    """Fixed effects and predicted random effects when the random intercepts are not normal.

    Data: ``y_ij = b0 + b1 x_ij + b2 z_j + u_j + e_ij`` (``x`` level 1, ``z`` level 2, both
    standard normal), ``u_j`` from `dist` with variance ``tau2``; fitted with the normal model
    ``y ~ x + z + (1 | g)`` by REML.

    Parameters
    ----------
    dist : {"skewed", "heavy", "bimodal", "normal"}
        Shape of the random intercepts: centred chi-square(1), t(3), a two-point mixture, normal.
    k, n : int
        Groups and group size.
    tau2, sigma2 : float
    beta : (float, float, float)
        Intercept, level-1 and level-2 effects.
    n_rep : int
    level : float
        CI level (normal quantile).
    alpha : float
        Level of the Shapiro-Wilk tests of normality.
    seed : int

    Returns
    -------
    pandas.DataFrame
        One row per fixed effect (as :func:`ignored_ar1_study`), then rows describing the
        random intercepts, with the value in ``mean_estimate`` and its MC SE in
        ``estimate_mcse``: ``tau2_estimate`` (mean REML estimate; true value in ``true``),
        ``skewness_true_u`` and ``skewness_predicted_u`` (mean sample skewness of the true and
        the predicted intercepts), ``shapiro_reject_true_u`` and ``shapiro_reject_predicted_u``
        (rejection rates of the Shapiro-Wilk test), coverage columns empty.  Replicates whose
        fit is singular (all predicted intercepts 0) count as "not rejected" and are left out of
        ``skewness_predicted_u`` (its ``n_rep`` says how many remain).

    Examples
    --------
    >>> import mixedtools as mt
    >>> t = mt.simulate.nonnormal_ranef_study("skewed", k=30, n=4, n_rep=30, seed=1)
    >>> t = t.set_index("term")
    >>> float(t.mean_estimate["shapiro_reject_true_u"])  # the true intercepts look skewed
    1.0
    >>> bool(t.mean_estimate["skewness_predicted_u"] < t.mean_estimate["skewness_true_u"])
    True
    """
    _check_rep(n_rep)
    _draw_ranef(np.random.default_rng(0), dist, 1, 1.0)  # validates dist
    if k < 5 or n < 2:
        raise ValueError("need at least 5 groups of at least 2")
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(k), n)
    names = ["Intercept", "x", "z"]
    truth = np.asarray(beta, float)
    if truth.shape != (3,):
        raise ValueError("beta must be three numbers: intercept, level-1 and level-2 effects")
    est, se = np.empty((n_rep, 3)), np.empty((n_rep, 3))
    tau_hat, skew_true, skew_pred = np.empty(n_rep), np.empty(n_rep), np.empty(n_rep)
    sw_true, sw_pred = np.empty(n_rep, bool), np.empty(n_rep, bool)
    for r in range(n_rep):
        x = rng.standard_normal(k * n)
        z = rng.standard_normal(k)
        u = _draw_ranef(rng, dist, k, tau2)
        y = truth[0] + truth[1] * x + truth[2] * z[g] + u[g] + rng.normal(0, np.sqrt(sigma2), k * n)
        fit = _fit("y ~ x + z + (1 | g)", pd.DataFrame({"y": y, "x": x, "z": z[g], "g": g}))
        est[r] = fit.fixef[names].to_numpy()
        se[r] = np.sqrt(np.diag(fit.vcov.loc[names, names].to_numpy()))
        vc = fit.varcorr
        tau_hat[r] = vc.vcov[(vc.group == "g") & (vc.var1 == "Intercept")].iloc[0]
        pred = fit.ranef["g"]["Intercept"].to_numpy()
        degenerate = np.ptp(pred) <= 1e-12 * max(1.0, np.abs(pred).max())  # a singular fit
        skew_true[r] = stats.skew(u)
        skew_pred[r] = np.nan if degenerate else stats.skew(pred)
        sw_true[r] = stats.shapiro(u).pvalue < alpha
        sw_pred[r] = False if degenerate else stats.shapiro(pred).pvalue < alpha
    out = _summarise(est, se, truth, names, level)
    extra = []
    for name, values, true in (
        ("tau2_estimate", tau_hat, tau2),
        ("skewness_true_u", skew_true, np.nan),
        ("skewness_predicted_u", skew_pred, np.nan),
        ("shapiro_reject_true_u", sw_true.astype(float), np.nan),
        ("shapiro_reject_predicted_u", sw_pred.astype(float), np.nan),
    ):
        extra.append(
            {
                "term": name,
                "true": true,
                "mean_estimate": np.nanmean(values),
                "estimate_mcse": np.nanstd(values, ddof=1) / np.sqrt(np.sum(~np.isnan(values))),
                "n_rep": int(np.sum(~np.isnan(values))),
            }
        )
    out = pd.concat([out, pd.DataFrame(extra)], ignore_index=True)
    out.attrs.update(dist=dist, k=k, n=n)
    return out
