"""Plots of designs: variance over the occasions of a repeated-measures study, power of a design.

- :func:`variance_by_occasion`: each subject's profile, and the variance of each occasion next to
  the variance that random-intercept and random-slope models imply (the picture of
  non-sphericity);
- :func:`design_power`: analytic power against the number of subjects, one line per number of
  items (:func:`mixedtools.sim.stimulus_power`), with simulated rates and their Monte Carlo
  intervals on top.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mixedtools.lmm.fit import LmerResult
from mixedtools.plots._common import _BOOK_WIDTH, _plt

__all__ = ["variance_by_occasion", "design_power"]


def _implied_variance(fit: LmerResult, time: str, occasions: np.ndarray) -> np.ndarray:
    """Marginal variance of one observation at each occasion: tau00 + 2 tau01 t + tau11 t^2 + s2."""
    if not isinstance(fit, LmerResult):
        raise TypeError("fits must be results of mixedtools.lmer")
    vc = fit.varcorr
    groups = [g for g in dict.fromkeys(vc["group"]) if g != "Residual"]
    if len(groups) != 1:
        raise ValueError(f"expected one grouping factor, the model has {groups}")
    part = vc[vc["group"] == groups[0]]
    var2 = part["var2"].fillna("").astype(str)
    variances = dict(zip(part.loc[var2 == "", "var1"], part.loc[var2 == "", "vcov"], strict=True))
    unknown = set(variances) - {"Intercept", time}
    if unknown or "Intercept" not in variances:
        raise ValueError(
            f"expected a random intercept and at most a random slope of {time!r}, "
            f"got random terms {sorted(variances)}"
        )
    cov = part.loc[var2 != "", "vcov"]
    tau01 = float(cov.iloc[0]) if len(cov) else 0.0
    sigma2 = float(vc.loc[vc["group"] == "Residual", "vcov"].iloc[0])
    t = np.asarray(occasions, float)
    return variances["Intercept"] + 2 * tau01 * t + variances.get(time, 0.0) * t**2 + sigma2


def variance_by_occasion(
    data: pd.DataFrame,
    dv: str,
    subject: str,
    time: str,
    fits: dict,
    xlabel: str | None = None,
    ylabel: str | None = None,
    unit: str = "",
):
    """Subjects' profiles and the variance of each occasion against what mixed models imply.

    Left: one grey line per subject. Right: the observed variance of `dv` at each value of
    `time` (points) and, for each fit, the variance of one observation the model implies,
    ``tau00 + 2 tau01 t + tau11 t^2 + sigma^2`` (a constant for a random-intercept model).

    Parameters
    ----------
    data : pandas.DataFrame
        Long data, one row per subject and occasion.
    dv, subject, time : str
        Columns of the response, the subject and the (numeric) occasion.
    fits : dict of str to LmerResult
        Label -> a fit with one grouping factor and a random intercept, optionally with a random
        slope of `time`.
    xlabel : str, optional
        Label of both horizontal axes (default: `time`).
    ylabel : str, optional
        Name of the response on the left panel (default: `dv`); the unit is appended.
    unit : str
        Unit of `dv`, for the axis labels (e.g. "ms").

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import mixedtools as mt
    >>> sleep = mt.datasets.load("sleepstudy")
    >>> fits = {"(days | subject)": mt.lmer("reaction ~ days + (days | subject)", sleep)}
    >>> fig = mt.plots.variance_by_occasion(sleep, "reaction", "subject", "days", fits)
    >>> [ax.get_title() for ax in fig.axes]
    ['18 subjects', 'variance by occasion']
    """
    missing = [c for c in (dv, subject, time) if c not in data.columns]
    if missing:
        raise ValueError(f"the data lack the column(s) {missing}")
    if not fits:
        raise ValueError("give at least one fit")
    occasions = np.sort(pd.to_numeric(data[time]).unique())
    xlabel = xlabel or time
    suffix = f" ({unit})" if unit else ""
    sq_suffix = f" ({unit}²)" if unit else ""
    fig, axes = _plt().subplots(1, 2, figsize=(_BOOK_WIDTH, 3.2))
    for _, rows in data.groupby(subject, observed=True):
        rows = rows.sort_values(time)
        axes[0].plot(rows[time], rows[dv], color="grey", lw=0.8, alpha=0.7)
    n_subjects = data[subject].nunique()
    axes[0].set(xlabel=xlabel, ylabel=f"{ylabel or dv}{suffix}", title=f"{n_subjects} subjects")
    observed = data.groupby(time)[dv].var()
    axes[1].plot(observed.index, observed.to_numpy(), "o", color="black", label="observed")
    for k, (label, fit) in enumerate(fits.items()):
        axes[1].plot(
            occasions,
            _implied_variance(fit, time, occasions),
            ls=["-", "--", ":", "-."][k % 4],
            label=label,
        )
    axes[1].set(xlabel=xlabel, ylabel=f"variance{sq_suffix}", title="variance by occasion")
    axes[1].legend(frameon=False, fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig


def design_power(
    grid: pd.DataFrame,
    simulated: pd.DataFrame | None = None,
    target: float = 0.8,
    ax=None,
):
    """Analytic power against the number of subjects, one line per number of items.

    Parameters
    ----------
    grid : pandas.DataFrame
        Columns ``n_subjects, n_items, power``, e.g. from :func:`mixedtools.sim.stimulus_power`.
    simulated : pandas.DataFrame, optional
        Simulated rates to check the lines against: columns ``n_subjects, n_items, rate, mc_se``;
        drawn as points with bars of two Monte Carlo standard errors.
    target : float
        Power drawn as a dashed reference line (e.g. 0.8).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import mixedtools as mt
    >>> grid = mt.sim.stimulus_power([8, 16, 32], [8, 16], effect=0.5, sd_item_slope=0.5)
    >>> ax = mt.plots.design_power(grid)
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['8 items', '16 items']
    """
    needed = ["n_subjects", "n_items", "power"]
    missing = [c for c in needed if c not in grid.columns]
    if missing:
        raise ValueError(f"grid lacks the column(s) {missing}")
    if not 0 < target < 1:
        raise ValueError(f"target must be between 0 and 1, got {target}")
    if ax is None:
        _, ax = _plt().subplots(figsize=(_BOOK_WIDTH * 0.75, 3.4))
    colors = {}
    for n_items, rows in grid.groupby("n_items", sort=True):
        rows = rows.sort_values("n_subjects")
        (line,) = ax.plot(rows["n_subjects"], rows["power"], label=f"{n_items} items")
        colors[n_items] = line.get_color()
    if simulated is not None:
        missing = [c for c in ("n_subjects", "n_items", "rate", "mc_se") if c not in simulated]
        if missing:
            raise ValueError(f"simulated lacks the column(s) {missing}")
        unknown = set(simulated["n_items"]) - set(colors)
        if unknown:
            raise ValueError(f"simulated has numbers of items not in grid: {sorted(unknown)}")
        for n_items, rows in simulated.groupby("n_items", sort=True):
            ax.errorbar(
                rows["n_subjects"],
                rows["rate"],
                yerr=2 * rows["mc_se"],
                fmt="o",
                color=colors[n_items],
                capsize=3,
                ms=4,
            )
    ax.axhline(target, color="grey", ls="--", lw=1)
    ax.set_xscale("log", base=2)
    ticks = sorted(grid["n_subjects"].unique())
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.set(xlabel="number of subjects", ylabel="power", ylim=(0, 1))
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1, 1))
    ax.figure.tight_layout()
    return ax
