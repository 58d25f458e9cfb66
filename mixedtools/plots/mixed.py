"""Plots of a mixed-model fit: caterpillar, spaghetti, shrinkage, trajectories, simple slopes,
mean growth curves.

Every function draws on a new figure sized for a book page (about 7 inches wide) unless an ``ax`` is
given, labels its axes and legend, and returns the matplotlib object it drew on.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from mixedtools import rformula
from mixedtools._warnings import external_stacklevel
from mixedtools.lmm.fit import LmerResult
from mixedtools.lmm.slopes import design_rows
from mixedtools.meta.plots import forest, funnel  # noqa: E402, F401
from mixedtools.plots._common import _BOOK_WIDTH, _COLORS, _check_fit, _default_x, _label, _plt

__all__ = [
    "caterpillar",
    "spaghetti",
    "shrinkage",
    "caterpillar_effect",
    "trajectories",
    "simple_slopes",
    "mean_curves",
]


def caterpillar(fit: LmerResult, group: str | None = None, level: float = 0.95, max_labels=40):
    """Caterpillar plot: each level's random effect with its prediction interval.

    The intervals are mode +- z * sqrt(conditional variance) (lme4's ``dotplot(ranef(fit,
    condVar = TRUE))``).  Levels are sorted by their estimate; one panel per effect.

    Parameters
    ----------
    fit : LmerResult
    group : str, optional
        Grouping factor to show (default: the first one).
    level : float
        Coverage of the intervals.
    max_labels : int
        Above this many levels the level names are not written on the axis.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import mixedtools as mt
    >>> fit = mt.lmer("reaction ~ days + (days | subject)", mt.datasets.load("sleepstudy"))
    >>> fig = mt.plots.caterpillar(fit)
    >>> [ax.get_xlabel() for ax in fig.axes]
    ['random intercept (deviation from 251.4)', 'random slope of days (deviation from 10.47)']
    """
    _check_fit(fit, generalized=True)
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    groups = list(fit.ranef)
    group = groups[0] if group is None else group
    if group not in fit.ranef:
        raise ValueError(f"unknown grouping factor {group!r}; the fit has {', '.join(groups)}")
    modes, variances = fit.ranef[group], fit.ranef_condvar[group]
    z = stats.norm.isf((1 - level) / 2)
    n_eff, n_lev = modes.shape[1], modes.shape[0]
    height = min(9.0, max(3.0, 0.18 * n_lev + 1.2))
    plt = _plt()
    fig, axes = plt.subplots(1, n_eff, figsize=(_BOOK_WIDTH, height), sharey=False, squeeze=False)
    order = modes.iloc[:, 0].sort_values().index
    pos = np.arange(n_lev)
    for k, effect in enumerate(modes.columns):
        ax = axes[0, k]
        m = modes.loc[order, effect].to_numpy()
        half = z * np.sqrt(variances.loc[order, effect].to_numpy())
        ax.axvline(0.0, color="0.5", lw=1, ls="--", zorder=0)
        ax.errorbar(
            m,
            pos,
            xerr=half,
            fmt="o",
            ms=3.5,
            color=_COLORS["lines"],
            ecolor="0.45",
            elinewidth=1,
            capsize=0,
        )
        base = fit.fixef.get(effect)
        what = "random intercept" if effect == "Intercept" else f"random slope of {effect}"
        ax.set_xlabel(f"{what} (deviation from {base:.4g})" if base is not None else what)
        ax.set_ylim(-1, n_lev)
        if n_lev <= max_labels:
            ax.set_yticks(pos, [str(v) for v in order] if k == 0 else [""] * n_lev, fontsize=8)
        else:
            ax.set_yticks([])
        ax.grid(axis="x", color="0.9")
    axes[0, 0].set_ylabel(f"{group} (sorted by {_label(modes.columns[0])})")
    fig.suptitle(f"Random effects for {group} with {level:.0%} prediction intervals", fontsize=11)
    fig.tight_layout()
    return fig


def spaghetti(
    obj,
    x: str | None = None,
    y: str | None = None,
    group: str | None = None,
    ax=None,
    max_groups: int | None = None,
    seed: int = 0,
):
    """Spaghetti plot: one regression line per group, plus the overall line.

    Given a fit, each group's line is its conditional prediction (fixed plus random effects) and
    the thick line the population prediction.  Given a data frame, each group's line is its own
    least-squares fit of `y` on `x` (no pooling) and the thick line the pooled fit.

    Parameters
    ----------
    obj : LmerResult or DataFrame
    x, y, group : str
        Column names.  With a fit they default to its first random slope (or covariate), its
        response and its grouping factor.
    ax : matplotlib Axes, optional
    max_groups : int, optional
        Draw at most this many groups (a random sample, for large data).
    seed : int
        Seed of that sample.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import mixedtools as mt
    >>> sleep = mt.datasets.load("sleepstudy")
    >>> ax = mt.plots.spaghetti(sleep, x="days", y="reaction", group="subject")
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('days', 'reaction')
    """
    plt = _plt()
    if ax is None:
        _, ax = plt.subplots(figsize=(_BOOK_WIDTH, 4.5))
    if isinstance(obj, LmerResult):
        fit = obj
        data = fit.design.data.set_axis(fit.design.row_index, axis=0)
        x = x or _default_x(fit)
        y = y or fit.design.parsed.response
        group = group or next(iter(fit.ranef))
        source = "model"
    elif isinstance(obj, pd.DataFrame):
        if not (x and y and group):
            raise ValueError("with a data frame, name the columns: x=..., y=..., group=...")
        fit = None
        missing = [c for c in (x, y, group) if c not in obj.columns]
        if missing:
            raise ValueError(f"unknown column {missing[0]!r}")
        data = obj[[x, y, group]].dropna()
        source = "data"
    else:
        raise TypeError("expected a fit returned by mixedtools.lmer or a pandas DataFrame")
    for col in (x, group):
        if col not in data.columns:
            raise ValueError(f"unknown column {col!r}")
    labels = pd.unique(data[group].astype(str))
    if max_groups is not None and len(labels) > max_groups:
        labels = np.random.default_rng(seed).choice(labels, max_groups, replace=False)
    keyed = data.assign(_g=data[group].astype(str))
    alpha = 0.8 if len(labels) <= 20 else 0.35
    ax.scatter(
        keyed[x],
        keyed[y] if y in keyed else fit.design.y,
        s=6,
        color="0.75",
        zorder=1,
        label="observations",
    )
    first = True
    for lab in labels:
        rows = keyed[keyed["_g"] == lab]
        xs = np.linspace(rows[x].min(), rows[x].max(), 20)
        if source == "model":
            grid = _grid_like(rows, x, xs)
            ys = fit.predict(grid).to_numpy()
        else:
            if rows[x].nunique() < 2:
                continue
            slope, intercept = np.polyfit(rows[x], rows[y], 1)
            ys = intercept + slope * xs
        ax.plot(
            xs,
            ys,
            color=_COLORS["lines"],
            lw=1,
            alpha=alpha,
            zorder=2,
            label=("each " + group + (" (model)" if source == "model" else " (own OLS line)"))
            if first
            else None,
        )
        first = False
    xs = np.linspace(data[x].min(), data[x].max(), 50)
    if source == "model":
        grid = _grid_like(data, x, xs)
        ys = fit.predict(grid, re=False).to_numpy()
        overall = "population (fixed effects)"
    else:
        slope, intercept = np.polyfit(data[x], data[y], 1)
        ys = intercept + slope * xs
        overall = "all data pooled (OLS)"
    ax.plot(xs, ys, color="black", lw=3, zorder=3, label=overall)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(f"One line per {group} ({len(labels)} shown)", fontsize=11)
    ax.legend(frameon=False, fontsize=9)
    ax.grid(color="0.92")
    return ax


def _grid_like(rows: pd.DataFrame, x: str, xs: np.ndarray) -> pd.DataFrame:
    """Rows for prediction along x, other columns held at the first row's (or mean) values."""
    base = rows.iloc[[0]].copy()
    for col in base.columns:
        if col != x and pd.api.types.is_numeric_dtype(rows[col]):
            base[col] = rows[col].mean()
    grid = base.loc[base.index.repeat(len(xs))].reset_index(drop=True)
    grid[x] = xs
    return grid


def _no_pooling(fit: LmerResult, x: str | None):
    """Per-group OLS estimates of the intercept (and slope of x), other fixed effects removed."""
    design = fit.design
    names = list(fit.fixef.index)
    keep = ["Intercept"] + ([x] if x else [])
    other = [i for i, n in enumerate(names) if n not in keep]
    y_adj = design.y - design.X[:, other] @ fit.fixef.iloc[other].to_numpy()
    codes = design.block_codes
    K = len(design.block_levels)
    est = np.full((K, len(keep)), np.nan)
    xv = design.X[:, names.index(x)] if x else None
    for j in range(K):
        rows = codes == j
        if x is None:
            est[j, 0] = y_adj[rows].mean()
        elif rows.sum() >= 2 and np.ptp(xv[rows]) > 0:
            est[j, ::-1] = np.polyfit(xv[rows], y_adj[rows], 1)
    if x is None:
        pooled = np.array([y_adj.mean()])
    else:
        pooled = np.polyfit(xv, y_adj, 1)[::-1]
    sizes = np.bincount(codes, minlength=K)
    return keep, est, pooled, sizes


def shrinkage(fit: LmerResult, ax=None):
    """Shrinkage plot: no pooling vs partial pooling vs complete pooling.

    For each group, its own least-squares estimate (no pooling) is joined by an arrow to the
    mixed model's estimate, fixed plus random effect (partial pooling); complete pooling (one
    regression for all rows) is marked too.  Small or noisy groups move most.  Models with a
    random intercept and one random slope, ``y ~ x + (x | g)``, give a plane of intercepts and
    slopes; random-intercept models give one row per group.  Other fixed effects are held at
    their estimates (their contribution is removed from y first).

    Parameters
    ----------
    fit : LmerResult
        A fit with one grouping factor whose random effects are an intercept, or an intercept
        and one slope.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import mixedtools as mt
    >>> fit = mt.lmer("reaction ~ days + (days | subject)", mt.datasets.load("sleepstudy"))
    >>> ax = mt.plots.shrinkage(fit)
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('intercept', 'slope of days')
    """
    _check_fit(fit)
    names = fit.design.re_names
    if fit.design.block_name is None or names not in (["Intercept"], ["Intercept", names[-1]]):
        raise ValueError(
            "the shrinkage plot needs one grouping factor with a random intercept, or a random "
            "intercept and one random slope, e.g. y ~ x + (x | g)"
        )
    x = names[1] if len(names) == 2 else None
    if x is not None and x not in fit.fixef.index:
        raise ValueError(f"the random slope {x!r} needs a fixed slope too")
    keep, none, pooled, sizes = _no_pooling(fit, x)
    ranef = fit.ranef[fit.design.block_name]
    partial = fit.fixef[keep].to_numpy() + ranef[names].to_numpy()
    plt = _plt()
    if ax is None:
        _, ax = plt.subplots(figsize=(_BOOK_WIDTH, 5.5))
    group = fit.design.block_name
    if x is None:
        # a slope chart: each group's own mean (left) joined to its mixed-model estimate (right)
        width = 0.4 + 2.0 * sizes / sizes.max()
        for a, b, w in zip(none[:, 0], partial[:, 0], width, strict=True):
            ax.plot([0, 1], [a, b], color="0.55", lw=w * 0.6, alpha=0.6, zorder=2)
        ax.scatter(
            np.zeros(len(none)),
            none[:, 0],
            color=_COLORS["none"],
            s=16,
            zorder=3,
            label="no pooling (group mean)",
        )
        ax.scatter(
            np.ones(len(partial)),
            partial[:, 0],
            color=_COLORS["partial"],
            s=16,
            zorder=3,
            label="partial pooling (mixed model)",
        )
        ax.axhline(
            pooled[0],
            color=_COLORS["complete"],
            lw=2,
            zorder=1,
            label="complete pooling (grand mean)",
        )
        ax.set_xticks([0, 1], ["no pooling", "partial pooling"])
        ax.set_xlim(-0.3, 1.3)
        ax.set_xlabel(f"one line per {group} (thicker: more rows)")
        ax.set_ylabel(f"intercept ({fit.design.parsed.response}, other effects removed)")
    else:
        ok = np.all(np.isfinite(none), axis=1)
        area = 12 + 60 * sizes / sizes.max()
        ax.scatter(
            none[ok, 0],
            none[ok, 1],
            s=area[ok],
            color=_COLORS["none"],
            alpha=0.85,
            label="no pooling (own OLS line)",
            zorder=3,
        )
        ax.scatter(
            partial[:, 0],
            partial[:, 1],
            s=area,
            color=_COLORS["partial"],
            alpha=0.85,
            label="partial pooling (mixed model)",
            zorder=3,
        )
        for a, b in zip(none[ok], partial[ok], strict=True):
            ax.annotate(
                "",
                xy=b,
                xytext=a,
                arrowprops={"arrowstyle": "->", "color": "0.55", "lw": 0.8},
                zorder=2,
            )
        ax.scatter(
            *pooled,
            marker="X",
            s=220,
            color=_COLORS["complete"],
            edgecolor="white",
            zorder=4,
            label="complete pooling (one OLS line)",
        )
        ax.scatter(
            *fit.fixef[keep].to_numpy(),
            marker="+",
            s=110,
            color="black",
            zorder=5,
            label="population average (fixed effects)",
        )
        ax.set_xlabel("intercept")
        ax.set_ylabel(f"slope of {x}")
        _confidence_ellipse(ax, fit)
    ax.set_title(f"Shrinkage of the {group} estimates towards the population", fontsize=11)
    ax.legend(frameon=False, fontsize=8.5, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2)
    ax.grid(color="0.92")
    ax.figure.tight_layout()
    return ax


def _confidence_ellipse(ax, fit: LmerResult, level=0.95):
    """Contour of the estimated random-effects distribution (where 95% of groups should lie)."""
    G = next(t.G for t in fit.structure.random_terms(fit.tau) if t.G.shape[0] > 1)
    w, U = np.linalg.eigh(G)
    r = np.sqrt(stats.chi2.isf(1 - level, 2))
    t = np.linspace(0, 2 * np.pi, 200)
    circle = np.stack([np.cos(t), np.sin(t)])
    pts = (U * np.sqrt(np.clip(w, 0, None))) @ circle * r
    centre = fit.fixef[["Intercept", fit.design.re_names[1]]].to_numpy()
    ax.plot(
        centre[0] + pts[0],
        centre[1] + pts[1],
        color="0.4",
        lw=1,
        ls=":",
        label=f"{level:.0%} of groups (estimated distribution)",
    )


def caterpillar_effect(
    fit: LmerResult,
    effect: str,
    group: str | None = None,
    level: float = 0.95,
    ax=None,
    max_bars: int = 40,
):
    """One panel of a caterpillar plot, sorted by the effect it shows.

    :func:`caterpillar` sorts every panel by the random intercept; to read the random slopes, sort
    them by themselves. Intervals are mode +- z * sqrt(conditional variance). Up to ``max_bars``
    groups are drawn as bars; more are drawn as a band over the groups' ranks (a wall of bars is
    unreadable), with the intervals that exclude 0 drawn in colour and labelled.

    Parameters
    ----------
    fit : LmerResult
    effect : str
        A random effect of the fit, e.g. ``"Intercept"`` or the name of a random slope.
    group : str, optional
        Grouping factor (default: the first one).
    level : float
        Coverage of the intervals.
    ax : matplotlib Axes, optional
    max_bars : int
        Largest number of groups drawn as separate bars.

    Returns
    -------
    pandas.DataFrame
        The plotted values, sorted: ``mode``, ``lower``, ``upper`` and ``covers_zero``; the axes
        are in ``.attrs["ax"]``.

    Examples
    --------
    >>> import mixedtools as mt
    >>> fit = mt.lmer("reaction ~ days + (days | subject)", mt.datasets.load("sleepstudy"))
    >>> shown = caterpillar_effect(fit, "days")
    >>> bool(shown["mode"].is_monotonic_increasing), int(shown["covers_zero"].sum())
    (True, 10)
    """
    _check_fit(fit)
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    group = list(fit.ranef)[0] if group is None else group
    if group not in fit.ranef:
        raise ValueError(f"unknown grouping factor {group!r}; the fit has {', '.join(fit.ranef)}")
    modes, variances = fit.ranef[group], fit.ranef_condvar[group]
    if effect not in modes.columns:
        raise ValueError(
            f"{effect!r} is not a random effect of {group!r}; choose from {list(modes.columns)}"
        )
    half = stats.norm.isf((1 - level) / 2) * np.sqrt(variances[effect])
    shown = pd.DataFrame(
        {"mode": modes[effect], "lower": modes[effect] - half, "upper": modes[effect] + half}
    ).sort_values("mode")
    shown["covers_zero"] = (shown["lower"] <= 0) & (shown["upper"] >= 0)
    what = "random intercept" if effect == "Intercept" else f"random slope of {effect}"
    if len(shown) > max_bars:
        ax = _caterpillar_band(shown, ax, group, f"{what} ({level:.0%} intervals)")
    else:
        if ax is None:
            _, ax = _plt().subplots(figsize=(_BOOK_WIDTH / 2, 4.0))
        pos = np.arange(len(shown))
        colors = np.where(shown["covers_zero"], "0.55", _COLORS["lines"])
        ax.axvline(0.0, color="0.5", lw=1, ls="--", zorder=0)
        ax.hlines(pos, shown["lower"], shown["upper"], colors=colors, lw=1)
        ax.scatter(shown["mode"], pos, s=10, c=colors, zorder=3)
        ax.set(xlabel=f"{what} ({level:.0%} intervals)", ylabel=f"{group} (sorted by this effect)")
        ax.set_yticks([])
    shown.attrs["ax"] = ax
    return shown


def _caterpillar_band(shown: pd.DataFrame, ax, group: str, label: str):
    """Many groups: the intervals as a band over the rank, those excluding 0 highlighted."""
    if ax is None:
        _, ax = _plt().subplots(figsize=(_BOOK_WIDTH, 3.6))
    rank = np.arange(1, len(shown) + 1)
    ax.fill_between(rank, shown["lower"], shown["upper"], color="0.85", lw=0, label="interval")
    ax.plot(rank, shown["mode"], color="0.3", lw=1.2, label="predicted effect")
    ax.axhline(0.0, color="0.5", lw=1, ls="--", zorder=0)
    away = np.flatnonzero(~shown["covers_zero"].to_numpy())
    if away.size:
        ax.vlines(
            rank[away],
            shown["lower"].iloc[away],
            shown["upper"].iloc[away],
            color=_COLORS["lines"],
            lw=1.5,
            label="interval excludes 0",
        )
        for i in away[:12]:
            above = shown["mode"].iloc[i] < 0
            y = shown["upper"].iloc[i] if above else shown["lower"].iloc[i]
            ax.annotate(
                str(shown.index[i]),
                (rank[i], y),
                xytext=(3, 4 if above else -4),
                textcoords="offset points",
                ha="left",
                va="bottom" if above else "top",
                fontsize=8,
                color=_COLORS["lines"],
            )
    ax.set(xlabel=f"{group}, ranked by this effect (1 = lowest)", ylabel=label)
    ax.set_xlim(0, len(shown) + 1)
    ax.legend(loc="upper left", frameon=False, fontsize=8)
    return ax


def _at_most(groups: list, max_groups: int, group: str, ncols: int) -> list:
    """The first ``max_groups`` of ``groups``, with a warning when some are left out."""
    if max_groups < 1:
        raise ValueError(f"max_groups must be at least 1, got {max_groups}")
    if len(groups) <= max_groups:
        return groups
    warnings.warn(
        f"{len(groups)} {group} levels asked for, one panel each: drawing the first "
        f"{max_groups} (a figure of all would be {2.2 * -(-len(groups) // ncols) + 0.4:.0f} inches "
        f"tall). Pass groups= a selection or sample of levels, or raise max_groups=",
        UserWarning,
        stacklevel=external_stacklevel(),
    )
    return groups[:max_groups]


def trajectories(
    fit: LmerResult,
    data: pd.DataFrame,
    x: str,
    y: str,
    group: str,
    groups=None,
    ncols: int = 3,
    xlabel: str | None = None,
    ylabel: str | None = None,
    max_groups: int = 24,
):
    """Data, group-specific predictions and the average line, one small panel per group.

    For each shown group the panel has the observed points, the fit's conditional prediction
    (fixed part plus the group's random effects; solid) and its population prediction (fixed part
    only; dashed), so that the pull of each group's line towards the average is visible.

    Parameters
    ----------
    fit : LmerResult
        A fitted model whose fixed and random parts need only the columns of `data`.
    data : pandas.DataFrame
        The rows to show (usually the data of the fit).
    x, y, group : str
        Columns of the level-1 predictor (horizontal axis), the outcome and the grouping factor.
    groups : sequence, optional
        Levels of `group` to show, in this order; default the first six levels in `data`.
    ncols : int
        Panels per row.
    max_groups : int, default 24
        At most this many panels (2.2 inches per row of panels): with more `groups` the first
        `max_groups` are drawn and a warning says so. Show others with another call (e.g.
        ``groups=levels[24:48]``) or a sample of them; raise it for a long figure.
    xlabel, ylabel : str, optional
        Axis labels; default the column names.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import mixedtools as mt
    >>> sleep = mt.datasets.load("sleepstudy")
    >>> fit = mt.lmer("reaction ~ days + (days | subject)", sleep)
    >>> fig = trajectories(fit, sleep, x="days", y="reaction", group="subject")
    >>> len(fig.axes), fig.axes[0].get_title()
    (6, 'subject 308')
    """
    _check_fit(fit)
    missing = [c for c in (x, y, group) if c not in data.columns]
    if missing:
        raise ValueError(f"data lacks the column(s) {missing}")
    levels = list(dict.fromkeys(data[group]))
    if isinstance(groups, str) or (groups is not None and np.ndim(groups) == 0):
        groups = [groups]  # one level, not its characters
    groups = levels[:6] if groups is None else list(groups)
    unknown = [g for g in groups if g not in levels]
    if unknown or not groups:
        raise ValueError(
            f"no rows in data for the {group} level(s) {unknown or groups}; its levels are "
            f"{levels[:4]}{' ...' if len(levels) > 4 else ''}"
        )
    if ncols < 1:
        raise ValueError(f"ncols must be at least 1, got {ncols}")
    groups = _at_most(groups, max_groups, group, ncols)
    ncols = min(ncols, len(groups))
    nrows = -(-len(groups) // ncols)
    fig, axes = _plt().subplots(
        nrows,
        ncols,
        figsize=(_BOOK_WIDTH, 2.2 * nrows + 0.4),
        sharex=True,
        sharey=True,
        squeeze=False,
    )
    # one prediction call for all shown rows (a call per panel costs a design build each)
    shown = data[data[group].isin(groups)].sort_values(x, kind="stable")
    own = np.asarray(fit.predict(shown), dtype=float)
    average = np.asarray(fit.predict(shown, re=False), dtype=float)
    for ax, level in zip(axes.flat, groups, strict=False):
        here = (shown[group] == level).to_numpy()
        rows = shown[here]
        ax.scatter(rows[x], rows[y], s=12, color="0.4", label="data")
        ax.plot(rows[x], own[here], color="C0", label=f"this {group}")
        ax.plot(rows[x], average[here], color="C3", ls="--", label="average")
        ax.set_title(f"{group} {level}", fontsize=9)
    for ax in axes.flat[len(groups) :]:
        ax.set_axis_off()
    for ax in axes[-1]:
        ax.set_xlabel(xlabel or x)
    for ax in axes[:, 0]:
        ax.set_ylabel(ylabel or y)
    axes[0, 0].legend(frameon=False, fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig


def _check_moderators(fit: LmerResult, x: str, columns: list) -> None:
    """The horizontal axis and the moderators against the variables of the fixed part: a missing
    one is refused by name, an unused one (it cannot change the lines) warns."""
    used = rformula.design_columns(fit.design.fe_design_info, fit.design.data.columns)
    if x not in used:
        raise ValueError(
            f"x={x!r} is not a variable of the fixed part ({fit.design.parsed.fixed!r}); "
            f"choose one of {sorted(used)}"
        )
    missing = sorted(used - {x} - set(columns))
    if missing:
        raise ValueError(
            f"moderators lack the column(s) {missing} of the fixed part "
            f"({fit.design.parsed.fixed!r}); give each line a value for them"
        )
    unused = [c for c in columns if c not in used]
    if unused:
        warnings.warn(
            f"the moderator column(s) {unused} do not occur in the fixed part of the model "
            f"({fit.design.parsed.fixed!r}), so they do not change the lines that their labels "
            "name; drop them, or refit the model with them",
            UserWarning,
            stacklevel=external_stacklevel(),
        )


def _value_text(value) -> str:
    """A moderator value for a legend: numbers with ``:g``, levels of a factor as they are."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return f"{value:g}"
    return str(value)


def simple_slopes(
    fit: LmerResult,
    x: str,
    values,
    moderators: pd.DataFrame,
    labels=None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    ax=None,
    band: bool = True,
    level: float = 0.95,
):
    """Simple slopes: population predictions against `x`, one line per setting of the moderators.

    Each row of `moderators` fixes the other predictors of the fixed part (e.g. a level-2
    moderator of a cross-level interaction); the line is the fit's prediction without random
    effects over `values` of `x`.  Colours follow the first moderator column (blue, red, green,
    ...), line styles the second (dashed, solid, dotted, ...).

    Parameters
    ----------
    fit : LmerResult
    x : str
        The level-1 predictor on the horizontal axis.
    values : array-like
        Values of `x` to predict at.
    moderators : pandas.DataFrame
        One row per line; columns for every other predictor of the fixed part. A factor (text
        or categorical column) takes its levels, spelled as in the data of the fit (an unknown
        level is refused); a column the fixed part does not use draws a warning.
    labels : sequence of str, optional
        Legend entries, one per row; default "column value, ...".
    xlabel, ylabel : str, optional
        Axis labels; default `x` and "predicted <outcome>".
    ax : matplotlib Axes, optional
    band : bool
        Shade a pointwise confidence band around each line (default): the prediction
        ``x' b`` +- ``z * sqrt(x' V x)`` with ``V`` the fixed-effect covariance (``fit.vcov``), a
        normal-quantile band for the population mean line (no random effects, no residual).
    level : float
        Coverage of the bands.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import pandas as pd, mixedtools as mt
    >>> hsb = mt.datasets.load("hsb")
    >>> fit = mt.lmer("mathach ~ ses * sector + (1 | school)", hsb)
    >>> ax = simple_slopes(fit, "ses", [-2, 2], pd.DataFrame({"sector": [0, 1]}))
    >>> [line.get_label() for line in ax.get_lines()]
    ['sector 0', 'sector 1']
    >>> len(ax.collections)  # one confidence band per line
    2
    """
    _check_fit(fit)
    values = np.asarray(values, dtype=float)
    if values.ndim != 1 or values.size < 2:
        raise ValueError("values must be a one-dimensional array of at least two values of x")
    if not isinstance(moderators, pd.DataFrame) or moderators.empty:
        raise ValueError("moderators must be a DataFrame with one row per line")
    if x in moderators.columns:
        raise ValueError(f"{x!r} is the horizontal axis; it cannot also be a moderator column")
    if labels is not None and len(labels) != len(moderators):
        raise ValueError(f"{len(labels)} labels for {len(moderators)} rows of moderators")
    if band and not (isinstance(level, (int, float)) and 0 < level < 1):
        raise ValueError(f"level must be strictly between 0 and 1, got {level!r}")
    _check_moderators(fit, x, list(moderators.columns))
    if ax is None:
        _, ax = _plt().subplots(figsize=(_BOOK_WIDTH * 6 / 7, 3.6))
    z = stats.norm.ppf(0.5 + level / 2) if band else 0.0
    columns = list(moderators.columns)
    palette = ["C0", "C3", "C2", "C4", "C1", "C5"]
    colour_of = {
        v: palette[k % len(palette)] for k, v in enumerate(dict.fromkeys(moderators[columns[0]]))
    }
    styles = ["--", "-", ":", "-."]
    style_of = (
        {v: styles[k % 4] for k, v in enumerate(dict.fromkeys(moderators[columns[1]]))}
        if len(columns) > 1
        else {}
    )
    for k, (_, setting) in enumerate(moderators.iterrows()):
        new = pd.DataFrame({x: values, **{c: setting[c] for c in columns}})
        label = (
            labels[k]
            if labels is not None
            else ", ".join(f"{c} {_value_text(setting[c])}" for c in columns)
        )
        colour = colour_of[setting[columns[0]]]
        ax.plot(
            values,
            fit.predict(new, re=False),
            color=colour,
            ls=style_of.get(setting[columns[1]], "-") if style_of else "-",
            label=label,
        )
        if band:
            X = design_rows(fit, new).to_numpy()
            mean = X @ fit.fixef.to_numpy()
            half = z * np.sqrt(np.einsum("ij,jk,ik->i", X, fit.vcov.to_numpy(), X))
            ax.fill_between(values, mean - half, mean + half, color=colour, alpha=0.15, lw=0)
    outcome = fit.formula.split("~")[0].strip()
    ax.set(xlabel=xlabel or x, ylabel=ylabel or f"predicted {outcome}")
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    ax.figure.tight_layout()
    return ax


def mean_curves(
    fits: dict,
    data: pd.DataFrame,
    x: str,
    y: str,
    group: str | None = None,
    at: str | None = None,
    grid: pd.DataFrame | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    ax=None,
):
    """Fitted mean growth curves of several models over the observed means (and trajectories).

    Each model's curve is its population prediction (fixed part only, no random effects) over a
    grid of `x`; the points are the observed means of `y` at each occasion, plotted at the mean of
    `x` there; with `group`, every group's observed trajectory is drawn as a thin grey line.

    Parameters
    ----------
    fits : dict of str to LmerResult
        The models to draw, keyed by their legend labels.
    data : pandas.DataFrame
        The observations (usually the data of the fits).
    x, y : str
        Columns of time (horizontal axis) and of the outcome.
    group : str, optional
        Grouping column (person); if given, each person's trajectory is drawn.
    at : str, optional
        Column defining the occasions whose means are plotted; default `x` itself (use an
        occasion number when the times differ slightly between persons).
    grid : pandas.DataFrame, optional
        Rows to predict at, with a column `x` and every other column the fixed parts need
        (e.g. a piecewise term computed from `x`); default 101 values of `x` over its range.
    xlabel, ylabel : str, optional
        Axis labels; default the column names.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import mixedtools as mt
    >>> sleep = mt.datasets.load("sleepstudy")
    >>> fits = {
    ...     "linear": mt.lmer("reaction ~ days + (days | subject)", sleep),
    ...     "quadratic": mt.lmer("reaction ~ days + I(days^2) + (days | subject)", sleep),
    ... }
    >>> ax = mean_curves(fits, sleep, x="days", y="reaction")
    >>> [line.get_label() for line in ax.get_lines()]
    ['observed mean', 'linear', 'quadratic']
    """
    if not isinstance(fits, dict) or not fits:
        raise ValueError("fits must be a non-empty dict of label -> fit")
    for fit in fits.values():
        _check_fit(fit)
    at = x if at is None else at
    missing = [c for c in dict.fromkeys([x, y, at] + ([group] if group else [])) if c not in data]
    if missing:
        raise ValueError(f"data lacks the column(s) {missing}")
    if grid is None:
        grid = pd.DataFrame({x: np.linspace(data[x].min(), data[x].max(), 101)})
    elif not isinstance(grid, pd.DataFrame) or x not in grid.columns:
        raise ValueError(f"grid must be a DataFrame with a column {x!r}")
    if ax is None:
        _, ax = _plt().subplots(figsize=(_BOOK_WIDTH * 6 / 7, 3.6))
    if group is not None:
        for _, rows in data.sort_values(x).groupby(group, sort=False):
            ax.plot(rows[x], rows[y], color="0.82", lw=0.7, zorder=1, label="_nolegend_")
    means = data.groupby(at)[list(dict.fromkeys([x, y]))].mean()
    means = means.reset_index(drop=True).sort_values(x)
    ax.plot(means[x], means[y], "o", color="black", ms=4, zorder=3, label="observed mean")
    grid = grid.sort_values(x)
    palette, styles = ["C0", "C3", "C2", "C4", "C1"], ["-", "--", ":", "-."]
    for k, (label, fit) in enumerate(fits.items()):
        ax.plot(
            grid[x],
            fit.predict(grid, re=False),
            color=palette[k % len(palette)],
            ls=styles[k % len(styles)],
            lw=1.6,
            zorder=2,
            label=label,
        )
    ax.set(xlabel=xlabel or x, ylabel=ylabel or y)
    ax.legend(loc="upper left", frameon=False, fontsize=8)
    return ax
