"""Level-2 diagnostics: the Q-Q plot of standardised random effects and Cook's distance by group.

Each function draws on a new figure sized for a book page unless ``ax`` is given, labels its
axes, and returns the matplotlib object it drew on.
"""

from __future__ import annotations

import numpy as np

from mixedtools.lmm.influence import GroupInfluence, standardized_ranef
from mixedtools.plots._common import _BOOK_WIDTH, _check_fit, _plt

__all__ = ["ranef_qq", "cooks_distance_plot"]


def ranef_qq(fit, group: str | None = None, scale: str = "marginal", max_labels: int = 3):
    """Normal Q-Q plot of the standardised conditional modes, one panel per random effect.

    The points are :func:`mixedtools.lmm.standardized_ranef` against Blom's normal quantiles,
    with the identity line (``scale="marginal"``, modes over their sampling SD, near standard
    normal under the model) or a line through the quartiles (``scale="condvar"`` or ``"tau"``,
    whose spread is above or below one).  The most extreme levels are labelled.  Shrinkage pulls
    the modes towards a normal shape: a straight plot is weak evidence of normal random effects.

    Parameters
    ----------
    fit : LmerResult
    group : str, optional
        Grouping factor; default the first.
    scale : {"marginal", "condvar", "tau"}
        Divide each mode by its sampling SD ``sqrt(tau - condvar)``, its conditional SD, or the
        estimated SD of the effect.
    max_labels : int
        Label this many levels at each end.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import mixedtools as mt
    >>> fit = mt.lmer("reaction ~ days + (days | subject)", mt.datasets.load("sleepstudy"))
    >>> fig = ranef_qq(fit)
    >>> [ax.get_title() for ax in fig.axes]
    ['subject: Intercept', 'subject: days']
    """
    _check_fit(fit)
    table = standardized_ranef(fit, group, scale)
    group = group or next(iter(fit.ranef))
    effects = list(dict.fromkeys(table.effect))
    fig, axes = _plt().subplots(
        1, len(effects), figsize=(_BOOK_WIDTH, 3.2), squeeze=False, sharex=True
    )
    for ax, effect in zip(axes[0], effects, strict=True):
        part = table[table.effect == effect]
        q, z = part.normal_quantile.to_numpy(), part.standardized.to_numpy()
        ax.plot(q, z, "o", ms=4, color="C0")
        if scale == "marginal":
            ax.axline((0, 0), slope=1, color="0.4", lw=0.8)
        else:
            q1, q3 = np.nanpercentile(z, [25, 75])
            n1, n3 = 0.6744897501960817 * np.array([-1, 1])
            slope = (q3 - q1) / (n3 - n1)
            ax.axline((0, (q1 + q3) / 2), slope=slope, color="0.4", lw=0.8)
        k = min(max_labels, len(part) // 2)
        # labels point into the empty side of the line: right of the lowest points (below the
        # line), left of the highest (above it), so that neighbouring labels do not collide
        ends = [(row, 1) for _, row in part.head(k).iterrows()]
        ends += [(row, -1) for _, row in part.tail(k).iterrows()]
        for row, side in ends:
            ax.annotate(
                row.level,
                (row.normal_quantile, row.standardized),
                fontsize=7,
                xytext=(3 * side, -6 * side),
                textcoords="offset points",
                ha="left" if side > 0 else "right",
                va="top" if side > 0 else "bottom",
            )
        ax.set_title(f"{group}: {effect}", fontsize=10)
        ax.set_xlabel("normal quantile")
    divisor = {
        "marginal": "its sampling SD",
        "condvar": "conditional SD",
        "tau": "estimated SD of the effect",
    }[scale]
    axes[0][0].set_ylabel(f"mode / {divisor}")
    fig.tight_layout()
    return fig


def cooks_distance_plot(influence: GroupInfluence, ax=None, max_labels: int = 5):
    """Cook's distance of each deleted group, with the 4 / K cut-off; flagged groups labelled.

    Parameters
    ----------
    influence : GroupInfluence
        From :func:`mixedtools.lmm.group_influence`.
    ax : matplotlib Axes, optional
    max_labels : int
        Label at most this many of the groups above the cut-off (the largest).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import mixedtools as mt
    >>> fit = mt.lmer("reaction ~ days + (1 | subject)", mt.datasets.load("sleepstudy"))
    >>> ax = cooks_distance_plot(mt.lmm.group_influence(fit))
    >>> ax.get_ylabel()
    "Cook's distance"
    """
    if not isinstance(influence, GroupInfluence):
        raise TypeError("expected the result of mixedtools.lmm.group_influence")
    s = influence.summary
    cut = influence.cutoffs["cooks_distance"]
    if ax is None:
        _, ax = _plt().subplots(figsize=(_BOOK_WIDTH, 3.0))
    x = np.arange(len(s))
    colours = np.where(s.cooks_flag, "C3", "C0")
    ax.vlines(x, 0, s.cooks_distance, color=colours, lw=1.5)
    ax.plot(x, s.cooks_distance, "o", ms=3, color="0.2")
    ax.axhline(cut, color="C3", ls="--", lw=0.8, label=f"4 / K = {cut:.3g}")
    top = s.cooks_distance[s.cooks_flag].sort_values(ascending=False).head(max_labels)
    for level, value in top.items():
        ax.annotate(
            str(level),
            (s.index.get_loc(level), value),
            fontsize=7,
            xytext=(3, 2),
            textcoords="offset points",
        )
    ax.set(xlabel=f"deleted {influence.group} (in data order)", ylabel="Cook's distance")
    ax.set_ylim(bottom=0)
    ax.legend(frameon=False, fontsize=8)
    ax.figure.tight_layout()
    return ax
