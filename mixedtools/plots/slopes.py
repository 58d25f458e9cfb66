"""The Johnson-Neyman plot: a simple slope against its moderator, with the region of significance.

Draws on a new figure sized for a book page unless an ``ax`` is given, labels its axes and legend,
and returns the matplotlib Axes.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from scipy import stats

from mixedtools.lmm.slopes import johnson_neyman, predictors, simple_slopes
from mixedtools.plots._common import _BOOK_WIDTH, _check_fit, _plt

__all__ = ["johnson_neyman_plot"]


def johnson_neyman_plot(
    fit,
    focal: str,
    moderator: str,
    at: dict | None = None,
    values=None,
    alpha: float = 0.05,
    df="satterthwaite",
    ax=None,
):
    """Simple slope of `focal` against a continuous `moderator`, its band, and the J-N region.

    The line is the simple slope (:func:`mixedtools.lmm.simple_slopes`), the band its pointwise
    ``1 - alpha`` confidence interval with the same df choice as the region, and the shaded
    spans the Johnson-Neyman region (:func:`mixedtools.lmm.johnson_neyman`) where the interval
    excludes zero.  Rug ticks mark the observed values of the moderator.

    Parameters
    ----------
    fit : LmerResult
    focal, moderator : str
        The predictor whose slope is drawn and the continuous moderator on the horizontal axis.
    at : dict, optional
        Values of the other predictors of the fixed part (other moderators), default 0.
    values : array-like, optional
        Moderator values to draw at; default 41 points over the observed range.
    alpha : float
        Significance level; the band covers ``1 - alpha``.
    df : str, float or None
        "satterthwaite" (default), "residual", "nlme", "hlm", "asymptotic" (or None: z), or a
        fixed number of degrees of freedom.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
        ``ax.jn_region`` holds the region table of :func:`~mixedtools.lmm.johnson_neyman`.

    Examples
    --------
    >>> import mixedtools as mt
    >>> hsb = mt.datasets.load("hsb")
    >>> hsb["cses"] = hsb.ses - hsb.groupby("school").ses.transform("mean")
    >>> fit = mt.lmer("mathach ~ cses * (meanses + sector) + (cses | school)", hsb)
    >>> ax = johnson_neyman_plot(fit, "cses", "meanses", at={"sector": 1}, df="asymptotic")
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('meanses', 'simple slope of cses')
    >>> ax.jn_region[["lower", "upper", "sign"]].round(2)
       lower  upper      sign
    0   -inf   -3.1  negative
    1  -0.69    inf  positive
    """
    _check_fit(fit)
    region = johnson_neyman(fit, focal, moderator, at=at, alpha=alpha, df=df)
    observed = fit.design.data[moderator].to_numpy(float)
    if values is None:
        values = np.linspace(observed.min(), observed.max(), 41)
    values = np.asarray(values, dtype=float)
    if values.ndim != 1 or values.size < 2 or not np.all(np.isfinite(values)):
        raise ValueError("values must be a one-dimensional array of at least two finite numbers")
    others = {k: v for k, v in (at or {}).items()}
    grid = pd.DataFrame({moderator: values})
    for name in _other_predictors(fit, focal, moderator):
        grid[name] = others.get(name, 0.0)
    fixed_df = df is None or isinstance(df, numbers.Real) or str(df).lower() in ("asymptotic", "z")
    if fixed_df:
        table = simple_slopes(fit, focal, grid, ddf="asymptotic", level=1 - alpha)
        d = np.inf if df is None or isinstance(df, str) else float(df)
        q = stats.t.ppf(1 - alpha / 2, d)
        lower = table.estimate - q * table.std_error
        upper = table.estimate + q * table.std_error
    else:
        table = simple_slopes(fit, focal, grid, ddf=df, level=1 - alpha)
        lower, upper = table.ci_lower, table.ci_upper
    if ax is None:
        _, ax = _plt().subplots(figsize=(_BOOK_WIDTH * 6 / 7, 3.4))
    lo_x, hi_x = values.min(), values.max()
    shaded = 0
    for row in region.itertuples():
        a, b = max(row.lower, lo_x), min(row.upper, hi_x)
        if a < b:
            label = f"slope significant (alpha = {alpha:g})" if shaded == 0 else None
            ax.axvspan(a, b, color="#1b9e77", alpha=0.12, lw=0, label=label)
            shaded += 1
    ax.fill_between(
        values,
        lower,
        upper,
        color="C0",
        alpha=0.25,
        lw=0,
        label=f"{100 * (1 - alpha):g}% confidence band",
    )
    ax.plot(values, table.estimate, color="C0", label=f"simple slope of {focal}")
    ax.axhline(0, color="0.4", lw=0.8)
    ax.plot(
        observed,
        np.full(observed.size, 0.0),
        "|",
        color="0.3",
        ms=6,
        transform=ax.get_xaxis_transform(),
    )
    ax.set(xlabel=moderator, ylabel=f"simple slope of {focal}", xlim=(lo_x, hi_x))
    ax.legend(frameon=False, fontsize=8, loc="best")
    ax.figure.tight_layout()
    ax.jn_region = region
    return ax


def _other_predictors(fit, focal, moderator):
    return [n for n in predictors(fit) if n not in (focal, moderator)]
