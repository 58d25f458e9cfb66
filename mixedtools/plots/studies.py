"""Plots of simulation studies: rejection rates with Monte Carlo intervals, power, df methods."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mixedtools.meta.plots import forest, funnel  # noqa: E402, F401
from mixedtools.plots._common import _BOOK_WIDTH, _plt

__all__ = ["rejection_rates", "power_curves", "rejection_by_method", "coverage_curves"]


_REJECTION_COLUMNS = ("rejection_rate", "mc_se")


def rejection_rates(
    table: pd.DataFrame,
    x: str = "icc",
    panel: str = "predictor",
    series: str = "analysis",
    alpha: float = 0.05,
    xlabel: str = "intra-class correlation of y",
):
    """Monte Carlo rejection rates with two-standard-error bars, one panel per predictor.

    Draws the table that :func:`mixedtools.sim.rejection.fixed_vs_random` returns: a panel per value
    of `panel`, one line per value of `series` against `x`, error bars of two Monte Carlo standard
    errors, and a dashed line at the nominal level `alpha`.  Rates that are missing (a predictor an
    analysis cannot estimate) are left out of the panel.

    Parameters
    ----------
    table : pandas.DataFrame
        Columns `x`, `panel`, `series`, ``rejection_rate`` and ``mc_se``.
    x, panel, series : str
        Columns for the horizontal axis, the panels and the lines.
    alpha : float
        Nominal level, drawn as a horizontal reference line.
    xlabel : str
        Label of the horizontal axis.

    Returns
    -------
    matplotlib.figure.Figure
        The legend sits in the upper left corner of the first panel.

    Examples
    --------
    >>> import pandas as pd
    >>> rates = pd.DataFrame(
    ...     {
    ...         "predictor": ["x", "x", "w", "w"],
    ...         "analysis": ["OLS", "mixed", "OLS", "mixed"],
    ...         "icc": [0.1, 0.1, 0.1, 0.1],
    ...         "rejection_rate": [0.05, 0.05, 0.25, 0.05],
    ...         "mc_se": [0.005, 0.005, 0.01, 0.005],
    ...     }
    ... )
    >>> fig = rejection_rates(rates)
    >>> [ax.get_title() for ax in fig.axes]
    ['x', 'w']
    """
    needed = [x, panel, series, *_REJECTION_COLUMNS]
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise ValueError(f"the table lacks the column(s) {missing}; it has {list(table.columns)}")
    if table.empty:
        raise ValueError("the table of rejection rates is empty")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    panels = list(dict.fromkeys(table[panel]))
    fig, axes = _plt().subplots(
        1, len(panels), figsize=(_BOOK_WIDTH, 3.2), sharey=True, squeeze=False
    )
    markers = "os^vDP*X"
    top = np.nanmax(table["rejection_rate"] + 2 * table["mc_se"])
    for ax, name in zip(axes.flat, panels, strict=True):
        part = table[table[panel] == name]
        for k, (label, g) in enumerate(part.groupby(series, sort=True)):
            g = g.sort_values(x)
            ax.errorbar(
                g[x],
                g["rejection_rate"],
                yerr=2 * g["mc_se"],
                marker=markers[k % len(markers)],
                capsize=3,
                label=str(label),
            )
        ax.axhline(alpha, color="grey", ls="--", lw=1)
        ax.set(title=str(name), xlabel=xlabel, ylim=(0, max(top, alpha) * 1.15))
    axes.flat[0].set_ylabel("false-positive rate")
    axes.flat[0].legend(frameon=False, loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig


def power_curves(study: pd.DataFrame, method: str | None = None, level: float = 0.95):
    """Power and confidence-interval coverage against the number of groups, from a power study.

    Draws the table that :func:`mixedtools.sim.power` returns: power (left panel) and
    coverage of the confidence intervals (right panel) against the number of groups ``K`` on a
    log scale, one line per effect and group size ``n`` (solid for the largest ``n``, dashed
    otherwise), with the nominal coverage as a grey line. Where the study has the Monte Carlo
    standard errors ``mc_se`` (of power) and ``coverage_mcse``, each point gets a bar of two
    standard errors either side.

    Parameters
    ----------
    study : pandas.DataFrame
        Columns ``K``, ``n``, ``effect``, ``method``, ``power`` and ``coverage``; optionally
        ``mc_se`` and ``coverage_mcse`` for the error bars.
    method : str, optional
        The test whose rows are drawn; default the first method in `study`.
    level : float
        Nominal coverage of the intervals.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd
    >>> study = pd.DataFrame(
    ...     {
    ...         "K": [5, 10, 5, 10],
    ...         "n": [5, 5, 5, 5],
    ...         "effect": ["level-2", "level-2", "cross-level", "cross-level"],
    ...         "method": ["t (HLM rule)"] * 4,
    ...         "power": [0.1, 0.3, 0.05, 0.2],
    ...         "coverage": [0.95, 0.94, 0.96, 0.95],
    ...     }
    ... )
    >>> fig = power_curves(study)
    >>> [ax.get_ylabel() for ax in fig.axes]
    ['power', 'CI coverage']
    """
    needed = ["K", "n", "effect", "method", "power", "coverage"]
    missing = [c for c in needed if c not in study.columns]
    if missing:
        raise ValueError(f"the study lacks the column(s) {missing}; it has {list(study.columns)}")
    methods = list(dict.fromkeys(study["method"]))
    method = methods[0] if method is None else method
    if method not in methods:
        raise ValueError(f"unknown method {method!r}; the study has {methods}")
    rows = study[study["method"] == method]
    fig, (ax1, ax2) = _plt().subplots(1, 2, figsize=(_BOOK_WIDTH, 3.2), sharex=True)
    series = rows.groupby(["effect", "n"])
    # dodge the series a little along the (log) K axis so that their error bars do not overlap
    dodge = np.exp(np.linspace(-0.04, 0.04, series.ngroups)) if series.ngroups > 1 else [1.0]
    for shift, ((effect, n_size), g) in zip(dodge, series, strict=True):
        g = g.sort_values("K")
        style = {"marker": "o", "ls": "-" if n_size == rows["n"].max() else "--"}
        label = f"{effect}, n = {n_size}"
        for ax, value, se in ((ax1, "power", "mc_se"), (ax2, "coverage", "coverage_mcse")):
            bars = 2 * g[se] if se in g.columns else None
            ax.errorbar(
                g["K"] * shift, g[value], yerr=bars, label=label, capsize=2.5, lw=1.3, **style
            )
    ax2.axhline(level, color="grey", lw=1)
    low = min(rows["coverage"].min(), level) - 0.05
    ax1.set(xlabel="number of groups K", ylabel="power", xscale="log", ylim=(0, 1))
    ax2.set(xlabel="number of groups K", ylabel="CI coverage", xscale="log", ylim=(low, 1))
    ticks = sorted(rows["K"].unique())
    for ax in (ax1, ax2):
        ax.minorticks_off()
        ax.set_xticks(ticks, labels=[str(k) for k in ticks])
    ax1.legend(frameon=False, fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig


def rejection_by_method(
    table: pd.DataFrame,
    method: str = "ddf",
    series: str = "estimation",
    order=None,
    alpha: float = 0.05,
    xlabel: str = "df method",
):
    """Rejection rates of several tests side by side, with two-Monte-Carlo-SE bars.

    One column of points per test `method` (in `order`), one dodged series per value of `series`
    (e.g. REML and ML fits), error bars of two Monte Carlo standard errors and a dashed line at
    the nominal level.  Methods missing from a series are left out of it.

    Parameters
    ----------
    table : pandas.DataFrame
        Columns `method`, `series`, ``rejection_rate`` and ``mc_se``.
    method, series : str
        Columns for the horizontal categories and the dodged series.
    order : sequence, optional
        Methods to show, left to right; default their order of appearance.
    alpha : float
        Nominal level, drawn as a dashed line.
    xlabel : str
        Label of the horizontal axis.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import pandas as pd
    >>> rates = pd.DataFrame(
    ...     {
    ...         "ddf": ["residual", "hlm", "residual", "hlm"],
    ...         "estimation": ["REML", "REML", "ML", "ML"],
    ...         "rejection_rate": [0.12, 0.05, 0.15, 0.07],
    ...         "mc_se": [0.007, 0.005, 0.008, 0.006],
    ...     }
    ... )
    >>> ax = rejection_by_method(rates)
    >>> [t.get_text() for t in ax.get_xticklabels()]
    ['residual', 'hlm']
    """
    needed = [method, series, "rejection_rate", "mc_se"]
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise ValueError(f"the table lacks the column(s) {missing}; it has {list(table.columns)}")
    order = list(dict.fromkeys(table[method])) if order is None else list(order)
    unknown = [m for m in order if m not in set(table[method])]
    if unknown:
        raise ValueError(f"no rows for the {method} value(s) {unknown}")
    groups = list(dict.fromkeys(table[series]))
    width = 0.3 if len(groups) > 1 else 0.0
    shifts = np.linspace(-width / 2, width / 2, len(groups)) if len(groups) > 1 else [0.0]
    _, ax = _plt().subplots(figsize=(_BOOK_WIDTH * 6.5 / 7, 3.4))
    for shift, name in zip(shifts, groups, strict=True):
        g = table[table[series] == name].set_index(method)
        g = g.reindex([m for m in order if m in g.index])
        pos = np.array([order.index(m) for m in g.index]) + shift
        ax.errorbar(
            pos, g["rejection_rate"], yerr=2 * g["mc_se"], fmt="o", capsize=3, label=str(name)
        )
    ax.axhline(alpha, color="grey", ls="--", lw=1)
    ax.set_xticks(range(len(order)), order)
    ax.set(xlabel=xlabel, ylabel=f"rejection rate at {alpha:.0%}")
    ax.legend(frameon=False, title=series)
    ax.figure.tight_layout()
    return ax


def coverage_curves(
    coverage: pd.DataFrame,
    reps: int,
    level: float = 0.95,
    xlabel: str = r"between-study variance $\tau^2$",
    ax=None,
):
    """Monte Carlo coverage of confidence intervals, one line per method, with bands of two
    Monte Carlo standard errors, ``2 sqrt(p (1 - p) / reps)``, and a dotted line at the nominal
    level.

    Parameters
    ----------
    coverage : pandas.DataFrame
        Coverage rates: one row per method (the index labels the lines, its name titles the
        legend), one column per value of the horizontal axis (numbers).
    reps : int
        Replications behind each rate (for the Monte Carlo standard errors).
    level : float
        Nominal level, drawn as a dotted line.
    xlabel : str
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
        The legend sits in the lower left corner.

    Examples
    --------
    >>> import pandas as pd
    >>> rates = pd.DataFrame({0.0: [0.95, 0.94], 0.1: [0.70, 0.95]}, index=["FE", "RE"])
    >>> ax = coverage_curves(rates, reps=1000)
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['FE', 'RE']
    """
    if not isinstance(coverage, pd.DataFrame) or coverage.empty:
        raise ValueError("coverage must be a non-empty DataFrame (methods x values)")
    if int(reps) < 1:
        raise ValueError(f"reps must be a positive number of replications, got {reps}")
    rates = coverage.to_numpy(dtype=float)
    if ((rates < 0) | (rates > 1)).any():
        raise ValueError("coverage rates must lie between 0 and 1")
    x = np.asarray(coverage.columns, dtype=float)
    if ax is None:
        _, ax = _plt().subplots(figsize=(_BOOK_WIDTH * 6.5 / 7, 3.6))
    styles = ["o-", "s--", "^:", "D-.", "v-", "P--"]
    for i, (label, row) in enumerate(coverage.iterrows()):
        p = row.to_numpy(dtype=float)
        band = 2 * np.sqrt(p * (1 - p) / reps)
        (line,) = ax.plot(x, p, styles[i % len(styles)], label=str(label))
        ax.fill_between(x, p - band, p + band, color=line.get_color(), alpha=0.2, lw=0)
    ax.axhline(level, color="0.5", ls=":", lw=1)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"coverage of the {level:.0%} CI")
    ax.legend(title=coverage.index.name, loc="lower left", fontsize=8)
    return ax
