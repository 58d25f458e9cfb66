"""Level-2 influence diagnostics and checks of the predicted random effects.

Group deletion (Nieuwenhuis, te Grotenhuis & Pelzer 2012, *The R Journal* 4(2), 38-47; the R
package influence.ME): for each level ``j`` of a grouping factor the model is refitted without
the rows of ``j`` (same formula, same REML/ML criterion), and

- Cook's distance ``D_j = (b - b_(j))' V^-1 (b - b_(j)) / p``, with ``b`` the full-data fixed
  effects, ``b_(j)`` those without group ``j``, ``V`` the full-data covariance of ``b``
  (``fit.vcov``) and ``p`` the number of fixed effects (influence.ME's ``cooks.distance``);
- DFBETAS ``(b_k - b_(j)k) / se(b_(j)k)``, the change in each coefficient in units of its
  standard error *in the fit without group j* (influence.ME's ``dfbetas``, as defined in the
  paper: the SE of the deleted-case estimate);
- the change in every variance component, ``theta_(j) - theta`` (rows of ``fit.varcorr``).

The usual cut-offs, with ``K`` the number of groups: ``D_j > 4 / K`` and ``|DFBETAS| > 2 /
sqrt(K)`` (Belsley, Kuh & Welsch 1980, as the paper uses them).

The random effects themselves are checked with their standardised conditional modes
(:func:`standardized_ranef`), whose Q-Q plot is :func:`mixedtools.plots.ranef_qq`.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
from scipy import stats

from mixedtools.lmm.fit import lmer

__all__ = ["GroupInfluence", "group_influence", "standardized_ranef"]


class GroupInfluence:
    """Group-deletion diagnostics (returned by :func:`group_influence`).

    Attributes
    ----------
    summary : pandas.DataFrame
        One row per deleted group (index: the level): ``n_obs`` (rows deleted),
        ``cooks_distance``, ``cooks_flag`` (``> 4 / K``), ``max_abs_dfbetas``, ``dfbetas_flag``
        (any ``|DFBETAS| > 2 / sqrt(K)``), ``warning`` (a warning of the refit, or "").
    dfbetas : pandas.DataFrame
        Levels x fixed effects.
    fixef : pandas.DataFrame
        The fixed effects of each deleted-group fit (levels x fixed effects).
    std_error : pandas.DataFrame
        Their standard errors.
    varcorr : pandas.DataFrame
        The variance components of each deleted-group fit (levels x components, named
        "group: effect" for variances, "group: effect1, effect2" for covariances, "Residual").
    varcorr_change : pandas.DataFrame
        ``varcorr`` minus the full-data values.
    cutoffs : dict
        ``{"cooks_distance": 4 / K, "dfbetas": 2 / sqrt(K)}``.
    group : str
        The grouping factor.
    """

    def __init__(self, group, summary, dfbetas, fixef, std_error, varcorr, varcorr_change, cutoffs):
        self.group = group
        self.summary = summary
        self.dfbetas = dfbetas
        self.fixef = fixef
        self.std_error = std_error
        self.varcorr = varcorr
        self.varcorr_change = varcorr_change
        self.cutoffs = cutoffs

    def __repr__(self) -> str:
        k = len(self.summary)
        n_cook = int(self.summary.cooks_flag.sum())
        n_dfb = int(self.summary.dfbetas_flag.sum())
        return (
            f"<GroupInfluence: {k} levels of {self.group!r} deleted one at a time; "
            f"{n_cook} above Cook's D cut-off {self.cutoffs['cooks_distance']:.3g}, "
            f"{n_dfb} with |DFBETAS| above {self.cutoffs['dfbetas']:.3g}>"
        )


def _component_names(varcorr: pd.DataFrame) -> list[str]:
    names = []
    for row in varcorr.itertuples():
        if row.group == "Residual":
            names.append("Residual")
        elif row.var2:
            names.append(f"{row.group}: {row.var1}, {row.var2}")
        else:
            names.append(f"{row.group}: {row.var1}")
    return names


def _refit_without(formula, data, group, level, reml):
    """Refit without one group: (fixef, std errors, varcorr values, warning text)."""
    kept = data.loc[data[group].astype(str) != level]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = lmer(formula, kept, reml=reml)
    text = "; ".join(sorted({str(w.message).splitlines()[0] for w in caught}))
    se = np.sqrt(np.diag(fit.vcov.to_numpy()))
    return fit.fixef.to_numpy(), se, fit.varcorr["vcov"].to_numpy(), text


def group_influence(fit, group: str | None = None, executor=None) -> GroupInfluence:
    """Cook's distance, DFBETAS and variance-component changes from deleting each group.

    Each level of `group` is deleted in turn and the model refitted (same formula, same REML or
    ML criterion as `fit`) -- the definitions of influence.ME (module docstring).

    Parameters
    ----------
    fit : LmerResult
    group : str, optional
        The grouping factor whose levels are deleted (a column of the data); default the first
        grouping factor of the model.
    executor : concurrent.futures.Executor, optional
        Run the refits with ``executor.map`` (e.g. a ``ProcessPoolExecutor``); the results are
        identical to the serial run, in the same order.

    Returns
    -------
    GroupInfluence

    Examples
    --------
    >>> import mixedtools as mt
    >>> fit = mt.lmer("reaction ~ days + (days | subject)", mt.datasets.load("sleepstudy"))
    >>> infl = mt.lmm.group_influence(fit)
    >>> top = infl.summary.sort_values("cooks_distance").tail(2)
    >>> top[["cooks_distance", "cooks_flag", "max_abs_dfbetas", "dfbetas_flag"]].round(3)
    ... # doctest: +NORMALIZE_WHITESPACE
             cooks_distance  cooks_flag  max_abs_dfbetas  dfbetas_flag
    subject
    335               0.129       False            0.556          True
    309               0.149       False            0.411         False
    >>> round(infl.cutoffs["cooks_distance"], 3)
    0.222
    """
    if not (hasattr(fit, "fixef") and hasattr(fit, "design") and hasattr(fit, "ngroups")):
        raise TypeError(f"expected a fit returned by mixedtools.lmer, got {type(fit).__name__}")
    if fit.design.weights is not None:
        raise NotImplementedError(
            "group_influence refits the model without each group and does not carry prior "
            "weights yet; refit without weights= to use it"
        )
    data = fit.design.data
    groups = list(fit.ngroups)
    if group is None:
        group = groups[0]
    if group not in groups:
        raise ValueError(f"{group!r} is not a grouping factor of the model (it has {groups})")
    if group not in data.columns:
        raise ValueError(
            f"{group!r} is not a column of the data (an interaction of factors?); "
            "make it a column and refit"
        )
    levels = list(dict.fromkeys(data[group].astype(str)))
    K = len(levels)
    if K < 3:
        raise ValueError(f"{group!r} has {K} levels; deleting one leaves too few to refit")
    args = [(fit.formula, data, group, lev, fit.reml) for lev in levels]
    if executor is None:
        results = [_refit_without(*a) for a in args]
    else:
        results = list(executor.map(_refit_without, *zip(*args, strict=True)))

    names = list(fit.fixef.index)
    b = fit.fixef.to_numpy()
    V = fit.vcov.to_numpy()
    p = len(b)
    fixef = pd.DataFrame([r[0] for r in results], index=levels, columns=names)
    se = pd.DataFrame([r[1] for r in results], index=levels, columns=names)
    diff = b[None, :] - fixef.to_numpy()
    cooks = np.einsum("ij,ij->i", diff, np.linalg.solve(V, diff.T).T) / p
    dfbetas = pd.DataFrame(diff / se.to_numpy(), index=levels, columns=names)
    comps = _component_names(fit.varcorr)
    vc = pd.DataFrame([r[2] for r in results], index=levels, columns=comps)
    vc_change = vc - fit.varcorr["vcov"].to_numpy()[None, :]
    cut_d, cut_b = 4.0 / K, 2.0 / math.sqrt(K)
    counts = data[group].astype(str).value_counts()
    max_dfb = dfbetas.abs().max(axis=1)
    summary = pd.DataFrame(
        {
            "n_obs": counts.reindex(levels).to_numpy(),
            "cooks_distance": cooks,
            "cooks_flag": cooks > cut_d,
            "max_abs_dfbetas": max_dfb.to_numpy(),
            "dfbetas_flag": (max_dfb > cut_b).to_numpy(),
            "warning": [r[3] for r in results],
        },
        index=levels,
    )
    for frame in (summary, dfbetas, fixef, se, vc, vc_change):
        frame.index.name = group
    cutoffs = {"cooks_distance": cut_d, "dfbetas": cut_b}
    return GroupInfluence(group, summary, dfbetas, fixef, se, vc, vc_change, cutoffs)


def standardized_ranef(fit, group: str | None = None, scale: str = "marginal") -> pd.DataFrame:
    """Conditional modes of the random effects divided by a standard deviation, in long form.

    Three standardisations are in use:

    - ``scale="marginal"`` (default): mode / sqrt(tau - conditional variance).  Over repeated
      samples the mode ``u_hat`` has variance ``Var(u_hat) = tau - Var(u_hat - u)`` (the
      conditional variance is lme4's ``condVar``), so under the model these are close to
      standard normal and the Q-Q plot's reference is the identity line;
    - ``scale="condvar"``: mode / sqrt(conditional variance) -- how many posterior SDs each level
      lies from the fixed part; its spread is above 1 (far above with large groups);
    - ``scale="tau"``: mode / sqrt(tau), with tau the estimated variance of the effect.  Because
      the modes are shrunken, their spread is below 1 (most for small groups).

    For the last two the diagnostic is the *shape* of the Q-Q plot, not its slope.  The modes
    are shrunken towards normality, so a straight Q-Q plot does not prove normal random effects
    (see :func:`mixedtools.simulate.nonnormal_ranef_study`).

    Parameters
    ----------
    fit : LmerResult
    group : str, optional
        Grouping factor; default the first.
    scale : {"marginal", "condvar", "tau"}

    Returns
    -------
    pandas.DataFrame
        Columns level, effect, mode, sd (the divisor), standardized, normal_quantile (the
        expected normal order statistic of ``standardized`` within its effect, Blom's
        ``(i - 3/8) / (n + 1/4)``), sorted by effect and ``standardized``.

    Examples
    --------
    >>> import mixedtools as mt
    >>> fit = mt.lmer("reaction ~ days + (days | subject)", mt.datasets.load("sleepstudy"))
    >>> z = mt.lmm.standardized_ranef(fit)
    >>> z.groupby("effect").standardized.std().round(2)
    effect
    Intercept    1.0
    days         1.0
    Name: standardized, dtype: float64
    """
    if not (hasattr(fit, "ranef") and hasattr(fit, "ranef_condvar")):
        raise TypeError(f"expected a fit returned by mixedtools.lmer, got {type(fit).__name__}")
    if scale not in ("marginal", "condvar", "tau"):
        raise ValueError(f"scale must be 'marginal', 'condvar' or 'tau', got {scale!r}")
    ranef = fit.ranef
    if group is None:
        group = next(iter(ranef))
    if group not in ranef:
        raise ValueError(f"{group!r} is not a grouping factor of the model (it has {list(ranef)})")
    modes = ranef[group]
    condvar = fit.ranef_condvar[group][modes.columns]
    vc = fit.varcorr
    var = {r.var1: r.vcov for r in vc.itertuples() if r.group == group and not r.var2}
    tau = pd.DataFrame({c: np.full(len(modes), var[c]) for c in modes.columns}, index=modes.index)
    if scale == "condvar":
        sd = np.sqrt(condvar)
    elif scale == "tau":
        sd = np.sqrt(tau)
    else:
        sd = np.sqrt((tau - condvar).clip(lower=0.0))
    frames = []
    for effect in modes.columns:
        s = sd[effect].to_numpy(float)
        m = modes[effect].to_numpy(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(s > 0, m / s, np.nan)
        frame = pd.DataFrame(
            {
                "level": modes.index.astype(str),
                "effect": effect,
                "mode": m,
                "sd": s,
                "standardized": z,
            }
        ).sort_values("standardized", kind="mergesort")
        n = len(frame)
        frame["normal_quantile"] = stats.norm.ppf((np.arange(1, n + 1) - 0.375) / (n + 0.25))
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
