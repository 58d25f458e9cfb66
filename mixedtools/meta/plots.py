"""Forest, funnel and weight plots of a meta-analysis (``mt.plots.forest``, ``mt.plots.funnel``,
``mt.plots.weight_bars``).

Each takes results of :func:`mixedtools.meta.rma` and draws on a new figure sized for a book page
unless an ``ax`` is given; they return the matplotlib Axes.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import stats

from mixedtools._warnings import external_stacklevel
from mixedtools.meta.univariate import RmaResult

__all__ = ["forest", "funnel", "weight_bars"]

_BOOK_WIDTH = 7.0
_TALL = 50.0  # inches: a taller forest plot draws with a warning


def _check(result):
    if not isinstance(result, RmaResult):
        raise TypeError(f"expected a result of mt.meta.rma; got {type(result).__name__}")


def forest(
    result,
    labels=None,
    transform=None,
    xlabel="effect size",
    ax=None,
    show_pi=True,
    log_scale=False,
):
    """Forest plot: each study's estimate and CI (marker area proportional to its weight), the
    pooled estimate as a diamond, and the prediction interval as a bar through it.

    Parameters
    ----------
    result : RmaResult without moderators
    labels : sequence of str, optional
        Study labels (default ``"Study 1"``, ...). The figure grows with k so labels never overlap
        (0.24 inch per study; beyond 50 inches, about k = 200, with a warning). Its margins are
        laid out in inches, so the saved figure holds both label columns and the legend with or
        without ``bbox_inches="tight"``.
    transform : callable, optional
        Applied to estimates and limits before plotting (e.g. ``numpy.exp`` for ratios).
    xlabel : str
    show_pi : bool, default True
        Draw the prediction interval (random-effects models).
    log_scale : bool, default False
        Logarithmic x-axis with plain tick labels (for ratios with ``transform=numpy.exp``).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import mixedtools as mt
    >>> res = mt.meta.rma([0.1, 0.3, 0.5, 0.2], [0.02, 0.03, 0.05, 0.01])
    >>> ax = forest(res)
    >>> ax.get_yticklabels()[0].get_text()
    'Study 1'
    """
    _check(result)
    if result.p != 1:
        raise ValueError("forest plots a model without moderators")
    import matplotlib.pyplot as plt

    k = result.k
    if isinstance(labels, str):
        raise TypeError(
            f"labels={labels!r} is one string; pass one label per study (e.g. data[{labels!r}])"
        )
    labels = [f"Study {i + 1}" for i in range(k)] if labels is None else [str(s) for s in labels]
    if len(labels) != k:
        raise ValueError(f"{len(labels)} labels for {k} studies")
    f = (lambda x: np.asarray(x, dtype=float)) if transform is None else transform
    crit = stats.norm.ppf(1 - (1 - result.level) / 2)
    se = np.sqrt(result.vi)
    lo, hi = f(result.yi - crit * se), f(result.yi + crit * se)
    est = f(result.yi)
    weights = result.weights.to_numpy()
    own_figure = ax is None
    if own_figure:
        height = 1.2 + 0.24 * (k + 3)
        if height > _TALL:
            warnings.warn(
                f"a forest plot of k = {k} studies is {height:.0f} inches tall (one row per "
                "study); plot a subset (e.g. the largest weights) or use mt.plots.funnel for an "
                "overview",
                UserWarning,
                stacklevel=external_stacklevel(),
            )
        _, ax = plt.subplots(figsize=(_BOOK_WIDTH, height))
    rows = np.arange(k, 0, -1) + 1.5
    ax.hlines(rows, lo, hi, color="0.3", lw=1)
    ax.scatter(
        est, rows, s=20 + 300 * weights / weights.max(), marker="s", color="#4c72b0", zorder=3
    )
    pooled = f(np.array([result.ci_lower, result.estimate, result.ci_upper]))
    ax.fill(
        [pooled[0], pooled[1], pooled[2], pooled[1]],
        [0.5, 0.8, 0.5, 0.2],
        color="#d95f02",
        zorder=3,
        label=f"pooled ({result.method}) with {result.level:.0%} CI",
    )
    if show_pi and result.method != "FE" and np.isfinite(result.pi_lower):
        pi = f(np.array([result.pi_lower, result.pi_upper]))
        ax.hlines(0.5, pi[0], pi[1], color="#d95f02", lw=1.2, ls="--", label="prediction interval")
    ax.axvline(f(np.array(0.0)), color="0.6", lw=0.8, ls=":")
    ax.set_yticks(list(rows) + [0.5])
    ax.set_yticklabels(labels + [f"Pooled ({result.method})"], fontsize=8 if k > 25 else 9)
    ax.set_ylim(-0.3, k + 2.5)
    ax.set_xlabel(xlabel)
    if log_scale:
        from matplotlib.ticker import FuncFormatter

        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))
        ax.xaxis.set_minor_formatter(FuncFormatter(lambda x, _: ""))
    text = [
        f"{e:6.2f} [{a:6.2f}, {b:6.2f}] {w:5.1f}%"
        for e, a, b, w in zip(est, lo, hi, weights, strict=True)
    ]
    text.append(f"{pooled[1]:6.2f} [{pooled[0]:6.2f}, {pooled[2]:6.2f}]")
    ax2 = ax.twinx()
    ax2.set_ylim(ax.get_ylim())
    ax2.set_yticks(list(rows) + [0.5])
    ax2.set_yticklabels(text, fontsize=8 if k > 25 else 9, family="monospace")
    ax2.annotate(
        f"estimate [{result.level:.0%} CI]  weight",
        xy=(1, k + 2.1),
        xycoords=("axes fraction", "data"),
        xytext=(4, 0),
        textcoords="offset points",
        ha="left",
        va="bottom",
        fontsize=8 if k > 25 else 9,
        family="monospace",
    )
    ax2.tick_params(length=0)
    from matplotlib.transforms import offset_copy

    # below the x-axis label at a fixed distance in points (an axes fraction grows with k)
    below = offset_copy(ax.transAxes, fig=ax.figure, y=-36, units="points")
    ax.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        bbox_transform=below,
        ncol=2,
        fontsize=8,
        frameon=False,
    )
    if own_figure:
        _margins_in_inches(ax.figure, (ax, ax2))
    return ax


def _margins_in_inches(fig, axes, pad=0.1):
    """Margins that hold every label, the header and the legend inside the figure, ``pad`` inches
    from its edges: measured in inches, so a tall figure gets no blank bands (the default margins
    are fractions of the height) and the right-hand column is not cut off without
    ``bbox_inches="tight"``. Two passes: the legend is centred on the resized axes."""
    for _ in range(2):
        fig.draw_without_rendering()
        renderer = fig.canvas.get_renderer()
        box = axes[0].get_window_extent(renderer)
        tight = [a.get_tightbbox(renderer) for a in axes]
        width, height = fig.bbox.width, fig.bbox.height
        margin = pad * fig.dpi
        fig.subplots_adjust(
            left=(box.x0 - min(t.x0 for t in tight) + margin) / width,
            right=1 - (max(t.x1 for t in tight) - box.x1 + margin) / width,
            bottom=(box.y0 - min(t.y0 for t in tight) + margin) / height,
            top=1 - (max(t.y1 for t in tight) - box.y1 + margin) / height,
        )


def funnel(result, ax=None, contours=(0.90, 0.95, 0.99), filled=None, xlabel="effect size"):
    """Contour-enhanced funnel plot: effect sizes against their standard errors (inverted axis).

    The shaded regions are where a study's own test against 0 is significant at the levels in
    ``contours`` (white: p > 0.10); the dashed lines are the pseudo-confidence region
    ``estimate +- 1.96 se`` around the pooled estimate. ``filled`` (a result of
    :func:`mixedtools.meta.trimfill`) adds the imputed studies as open circles.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import mixedtools as mt
    >>> res = mt.meta.rma([0.1, 0.3, 0.5, 0.2], [0.02, 0.03, 0.05, 0.01])
    >>> funnel(res).get_ylabel()
    'standard error'
    """
    _check(result)
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(_BOOK_WIDTH, 4.2))
    se = np.sqrt(result.vi)
    se_max = se.max() * 1.1
    if filled is not None and len(filled.vi_filled):
        se_max = max(se_max, np.sqrt(filled.vi_filled).max() * 1.1)
    from matplotlib.patches import Patch

    grid = np.linspace(0, se_max, 100)
    levels = sorted(contours)
    z = [stats.norm.ppf(1 - (1 - level) / 2) for level in levels]
    greys = [str(round(g, 3)) for g in np.linspace(0.9, 0.7, len(levels))]
    width = max(np.abs(result.yi).max() * 1.1, z[-1] * se_max)
    ax.fill_betweenx(grid, -width, width, color=greys[-1], lw=0)
    shades = greys[:-1][::-1] + ["white"]
    for zz, grey in zip(z[::-1], shades, strict=True):
        ax.fill_betweenx(grid, -zz * grid, zz * grid, color=grey, lw=0)
    alphas = [1 - level for level in levels]
    handles = [Patch(facecolor="white", edgecolor="0.5", label=f"p > {alphas[0]:.2f}")]
    for i, grey in enumerate(greys):
        upper = f"{alphas[i]:.2f} > " if i < len(levels) else ""
        lower = f" > {alphas[i + 1]:.2f}" if i + 1 < len(levels) else ""
        label = f"{upper}p{lower}" if lower else f"p < {alphas[i]:.2f}"
        handles.append(Patch(facecolor=grey, label=label))
    ax.plot(result.estimate - 1.96 * grid, grid, color="0.2", ls="--", lw=0.8)
    ax.plot(result.estimate + 1.96 * grid, grid, color="0.2", ls="--", lw=0.8)
    ax.axvline(result.estimate, color="0.2", lw=0.8, label=f"pooled estimate ({result.method})")
    ax.scatter(result.yi, se, color="#4c72b0", edgecolor="black", zorder=3, label="studies")
    if filled is not None and len(filled.yi_filled):
        ax.scatter(
            filled.yi_filled,
            np.sqrt(filled.vi_filled),
            facecolor="white",
            edgecolor="black",
            zorder=3,
            label="filled (trim and fill)",
        )
    ax.set_ylim(se_max, 0)
    ax.set_xlim(-width, width)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("standard error")
    handles += ax.get_legend_handles_labels()[0]
    ax.legend(
        handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, frameon=False
    )
    return ax


def weight_bars(
    results, labels=None, order=None, ax=None, xlabel="weight in the pooled estimate (%)"
):
    """Side-by-side horizontal bars of each study's percentage weight under several models.

    Parameters
    ----------
    results : dict of str to RmaResult
        The fitted models to compare, all on the same studies (e.g. ``{"fixed effect": fe,
        "random effects (REML)": re}``); the keys label the bars.
    labels : sequence of str, optional
        Study labels (default ``"Study 1"``, ...).
    order : sequence of int, optional
        Positions of the studies from the bottom of the plot to the top (e.g.
        ``numpy.argsort(n)`` puts the largest study at the top); default the input order from
        the top down.
    ax : matplotlib Axes, optional
    xlabel : str

    Returns
    -------
    matplotlib.axes.Axes
        The legend sits in the lower right corner.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import mixedtools as mt
    >>> yi, vi = [0.1, 0.3, 0.5, 0.2], [0.02, 0.03, 0.05, 0.001]
    >>> fits = {"FE": mt.meta.rma(yi, vi, method="FE"), "RE": mt.meta.rma(yi, vi)}
    >>> ax = weight_bars(fits, labels=["A", "B", "C", "D"])
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['D', 'C', 'B', 'A']
    """
    if not isinstance(results, dict) or not results:
        raise TypeError("results must be a non-empty dict of label -> result of mt.meta.rma")
    for fit in results.values():
        _check(fit)
    k = {fit.k for fit in results.values()}
    if len(k) != 1:
        raise ValueError(f"the models have different numbers of studies: {sorted(k)}")
    k = k.pop()
    labels = [f"Study {i + 1}" for i in range(k)] if labels is None else [str(s) for s in labels]
    if len(labels) != k:
        raise ValueError(f"{len(labels)} labels for {k} studies")
    order = np.arange(k)[::-1] if order is None else np.asarray(order, dtype=int)
    if sorted(order.tolist()) != list(range(k)):
        raise ValueError(f"order must be a permutation of the positions 0..{k - 1}")
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(_BOOK_WIDTH, 1.0 + 0.2 * k * max(1, len(results) / 2)))
    pos = np.arange(k)
    height = 0.8 / len(results)
    for i, (name, fit) in enumerate(results.items()):
        offset = (i - (len(results) - 1) / 2) * height
        ax.barh(pos - offset, np.asarray(fit.weights)[order], height, label=name)
    ax.set_yticks(pos, [labels[i] for i in order], fontsize=8)
    ax.set_ylim(-0.6, k - 0.4)
    ax.set_xlabel(xlabel)
    ax.legend(loc="lower right", fontsize=8)
    return ax
