"""Figures of the panel-data chapter: sampling distributions of fixed and random effects, the
quasi-demeaning weight theta, Monte Carlo rejection rates with bands, and Nickell's bias.

Every function takes plain numbers or DataFrames (the simulations run in the chapter with
:mod:`mixedtools.panel`), draws on a new figure sized for a book page and returns it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mixedtools.plots._common import _BOOK_WIDTH, _plt

__all__ = ["fe_re_histograms", "theta_curves", "rejection_bands", "nickell_curve"]


def _require(table: pd.DataFrame, columns) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"the table lacks the column(s) {missing}; it has {list(table.columns)}")
    if table.empty:
        raise ValueError("the table is empty")


def fe_re_histograms(draws: pd.DataFrame, truth: float = 1.0, by: str = "corr", bins: int = 25):
    """Histograms of simulated fixed- and random-effects slopes, one panel per value of `by`.

    Parameters
    ----------
    draws : pandas.DataFrame
        Columns `by`, ``FE`` and ``RE`` (one row per simulated panel).
    truth : float
        The true slope, drawn as a dashed line.
    by : str
        Column whose values make the panels (e.g. the correlation of u and x).
    bins : int
        Number of bins, shared by all panels.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd
    >>> draws = pd.DataFrame(
    ...     {"corr": [0, 0, 0.6, 0.6], "FE": [1, 1.1, 0.9, 1], "RE": [1, 1, 1.2, 1.1]}
    ... )
    >>> fig = fe_re_histograms(draws)
    >>> [ax.get_title() for ax in fig.axes]
    ['corr(u, x) = 0.6', 'corr(u, x) = 0.0']
    """
    _require(draws, [by, "FE", "RE"])
    values = sorted(draws[by].unique(), reverse=True)
    both = np.concatenate([draws["FE"], draws["RE"]])
    edges = np.linspace(both.min(), both.max(), bins + 1)
    fig, axes = _plt().subplots(
        1, len(values), figsize=(_BOOK_WIDTH, 3.0), sharey=True, squeeze=False
    )
    for ax, value in zip(axes[0], values, strict=True):
        subset = draws[draws[by] == value]
        ax.hist(subset["FE"], bins=edges, alpha=0.6, label="fixed effects (within)")
        ax.hist(subset["RE"], bins=edges, alpha=0.6, label="random effects (GLS)")
        ax.axvline(truth, color="black", lw=1, ls="--")
        ax.set(title=f"corr(u, x) = {float(value):.1f}", xlabel=f"estimated slope (true {truth:g})")
    axes[0, 0].set_ylabel("simulated panels")
    axes[0, -1].legend(frameon=False, loc="upper right", fontsize=8)
    fig.tight_layout()
    return fig


def theta_curves(
    ratios=(0.1, 0.5, 1, 2.5, 10),
    max_periods: int = 30,
    point: tuple[float, float] | None = None,
    point_label: str | None = None,
):
    """The quasi-demeaning weight theta = 1 - sqrt(1 / (T ratio + 1)) against T, one curve per
    variance ratio tau_00 / sigma^2, with an optional marked point (a fitted panel).

    Parameters
    ----------
    ratios : sequence of float
        Variance ratios tau_00 / sigma^2.
    max_periods : int
        Largest T drawn.
    point : (float, float), optional
        (T, theta) of a fitted panel, drawn as a black dot.
    point_label : str, optional
        Its annotation.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = theta_curves(point=(20, 0.86), point_label="Grunfeld")
    >>> len(fig.axes[0].get_lines()) >= 5
    True
    """
    periods = np.arange(1, max_periods + 1)
    fig, ax = _plt().subplots(figsize=(0.9 * _BOOK_WIDTH, 3.4))
    for ratio in ratios:
        ax.plot(
            periods,
            1 - np.sqrt(1 / (periods * ratio + 1)),
            label=rf"$\tau_{{00}}/\sigma^2$ = {ratio:g}",
        )
    if point is not None:
        ax.plot(*point, "ko")
        if point_label:
            ax.annotate(
                point_label,
                point,
                (0.4 * max_periods, 0.6),
                arrowprops={"arrowstyle": "->"},
            )
    for level in (0, 1):
        ax.axhline(level, color="grey", lw=0.5)
    ax.text(max_periods + 0.5, 0.02, "pooled OLS", ha="right", va="bottom", fontsize=8)
    ax.text(1.5, 0.98, "fixed effects", ha="left", va="top", fontsize=8)
    ax.set(
        xlabel="periods T",
        ylabel=r"$\theta$",
        ylim=(-0.03, 1.03),
        xlim=(1, max_periods + 1),
    )
    ax.legend(frameon=False, fontsize=8, loc="lower right", bbox_to_anchor=(1.0, 0.08))
    fig.tight_layout()
    return fig


def rejection_bands(
    table: pd.DataFrame,
    x: str,
    series: str = "test",
    alpha: float = 0.05,
    xlabel: str | None = None,
    ylabel: str = "rejection rate",
    dodge: float | None = None,
):
    """Monte Carlo rejection rates against `x`, one line per `series`, each with a band of
    +-1.96 Monte Carlo standard errors; lines are shifted sideways by `dodge` (and drawn with
    different markers and line styles) so that near-identical curves stay apart.

    Parameters
    ----------
    table : pandas.DataFrame
        Columns `x`, `series`, ``rate`` and ``mc_se``.
    x, series : str
        Horizontal axis and line grouping.
    alpha : float
        Nominal level, drawn as a dotted line.
    xlabel, ylabel : str
    dodge : float, optional
        Sideways shift between series (default: 1.5% of the range of `x`).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd
    >>> rates = pd.DataFrame({"corr": [0, 0.2, 0, 0.2], "test": ["a", "a", "b", "b"],
    ...                       "rate": [0.05, 0.4, 0.05, 0.41], "mc_se": [0.02, 0.04, 0.02, 0.04]})
    >>> fig = rejection_bands(rates, "corr")
    >>> len(fig.axes[0].collections)
    2
    """
    _require(table, [x, series, "rate", "mc_se"])
    groups = list(dict.fromkeys(table[series]))
    span = float(table[x].max() - table[x].min()) or 1.0
    dodge = 0.015 * span if dodge is None else dodge
    fig, ax = _plt().subplots(figsize=(0.8 * _BOOK_WIDTH, 3.3))
    styles = [("o", "-"), ("s", "--"), ("^", ":"), ("D", "-.")]
    for k, name in enumerate(groups):
        part = table[table[series] == name].sort_values(x)
        shift = (k - (len(groups) - 1) / 2) * dodge
        xs = part[x].to_numpy(float) + shift
        rate, se = part["rate"].to_numpy(float), part["mc_se"].to_numpy(float)
        marker, line = styles[k % len(styles)]
        (drawn,) = ax.plot(xs, rate, marker=marker, ls=line, label=str(name))
        ax.fill_between(xs, rate - 1.96 * se, rate + 1.96 * se, color=drawn.get_color(), alpha=0.15)
    ax.axhline(alpha, color="grey", ls=":", lw=1)
    ax.text(table[x].max(), alpha + 0.02, f"{alpha:.0%} level", ha="right", fontsize=8)
    ax.set(xlabel=xlabel or x, ylabel=ylabel, ylim=(0, 1.02))
    ax.legend(frameon=False, loc="upper left", title="band: ±1.96 MC SE", title_fontsize=8)
    fig.tight_layout()
    return fig


def nickell_curve(table: pd.DataFrame, rho: float):
    """Simulated bias of the fixed-effects estimate of rho (points with +-1.96 Monte Carlo SE
    bars) against T, with Nickell's formula for many units as a line.

    Parameters
    ----------
    table : pandas.DataFrame
        Columns ``n_periods``, ``mean_bias``, ``mc_se`` and ``nickell`` (the formula's value),
        optionally ``ah_bias`` and ``ah_mc_se`` (Anderson-Hsiao), drawn as a second series.
    rho : float
        The true rho (for the title).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"n_periods": [3, 10], "mean_bias": [-0.5, -0.16],
    ...                   "mc_se": [0.01, 0.01], "nickell": [-0.54, -0.16]})
    >>> fig = nickell_curve(t, rho=0.5)
    >>> fig.axes[0].get_xlabel()
    'periods T in the regression'
    """
    _require(table, ["n_periods", "mean_bias", "mc_se", "nickell"])
    fig, ax = _plt().subplots(figsize=(0.8 * _BOOK_WIDTH, 3.3))
    T = table["n_periods"].to_numpy(float)
    ax.plot(T, table["nickell"], color="grey", lw=1.5, label="Nickell's formula (K → ∞ units)")
    ax.errorbar(
        T,
        table["mean_bias"],
        yerr=1.96 * table["mc_se"],
        fmt="o",
        capsize=3,
        label="fixed effects, simulated",
    )
    if {"ah_bias", "ah_mc_se"} <= set(table.columns):
        ax.errorbar(
            T * 1.03,
            table["ah_bias"],
            yerr=1.96 * table["ah_mc_se"],
            fmt="s",
            capsize=3,
            label="Anderson-Hsiao, simulated",
        )
    ax.axhline(0, color="black", lw=0.8)
    ax.set(
        xscale="log",
        xlabel="periods T in the regression",
        ylabel=rf"mean of $\hat\rho$ − {rho:g}",
    )
    ax.minorticks_off()
    ax.set_xticks(T, [f"{t:g}" for t in T])
    ax.legend(frameon=False, loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig
