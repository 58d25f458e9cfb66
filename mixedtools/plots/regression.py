"""Regression diagnostics: the four-panel residual plot and the Breusch-Pagan test.

The random part of a regression (its residuals) is where a wrong fixed part shows itself:
a curve in residuals-versus-fitted means a missing nonlinear term, a funnel in the
scale-location panel means heteroscedasticity, points far off the Q-Q line mean non-normal
errors or outliers, and points beyond Cook's distance contours are influential.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["diagnostics", "breusch_pagan"]

_SMOOTH_COLOR = "#d62728"
_POINT_STYLE = {"s": 18, "alpha": 0.7, "color": "#1f77b4", "edgecolors": "none"}


def _is_linear_regression(result) -> bool:
    """True for statsmodels OLS/WLS/GLS results (which have exact leverages)."""
    from statsmodels.regression.linear_model import RegressionResults

    return isinstance(getattr(result, "_results", result), RegressionResults)


def _as_series(values, name: str) -> pd.Series:
    if isinstance(values, pd.DataFrame):
        if values.shape[1] != 1:
            raise ValueError(f"Expected one column of {name}; got {values.shape[1]}.")
        values = values.iloc[:, 0]
    if isinstance(values, pd.Series):
        return values.astype(float).rename(name)
    return pd.Series(np.asarray(values, dtype=float).ravel(), name=name)


def _fitted_and_resid(result) -> tuple[pd.Series, pd.Series]:
    """Fitted values and residuals from a statsmodels, linearmodels or mt.lmer result."""
    fitted_names = ("fittedvalues", "fitted_values", "fitted")
    resid_names = ("resid", "resids", "residuals")
    fitted = next((getattr(result, n) for n in fitted_names if hasattr(result, n)), None)
    resid = next((getattr(result, n) for n in resid_names if hasattr(result, n)), None)
    if fitted is None or resid is None:
        raise TypeError(
            f"{type(result).__name__} has no fitted values and residuals: expected attributes "
            "'fittedvalues' and 'resid' (statsmodels), 'fitted_values' and 'resids' "
            "(linearmodels) or 'fitted' and 'residuals' (mt.lmer)."
        )
    fitted, resid = _as_series(fitted, "fitted"), _as_series(resid, "resid")
    if len(fitted) != len(resid):
        raise ValueError("Fitted values and residuals have different lengths.")
    if len(resid) < 3:
        raise ValueError("Need at least 3 residuals for diagnostics.")
    return fitted, resid.set_axis(fitted.index)


def _diagnostic_frame(result) -> pd.DataFrame:
    """Per-observation quantities behind the panels.

    Columns ``fitted``, ``resid``, ``std_resid`` and, for linear regressions, ``leverage``
    (hat values), ``student_resid`` (externally studentized) and ``cooks_distance``.
    ``std_resid`` is R's ``rstandard``: ``e_i / (s sqrt(1 - h_i))`` for linear regressions;
    for mixed models ``e_i / sigma_hat`` with the residual SD of the fit (``sqrt(scale)``);
    otherwise ``e_i`` divided by the residuals' standard deviation.
    """
    fitted, resid = _fitted_and_resid(result)
    frame = pd.DataFrame({"fitted": fitted, "resid": resid})
    if _is_linear_regression(result):
        influence = result.get_influence()
        frame["std_resid"] = np.asarray(influence.resid_studentized_internal)
        frame["leverage"] = np.asarray(influence.hat_matrix_diag)
        frame["student_resid"] = np.asarray(influence.resid_studentized_external)
        frame["cooks_distance"] = np.asarray(influence.cooks_distance[0])
    elif hasattr(result, "scale") and np.isscalar(result.scale) and result.scale > 0:
        frame["std_resid"] = resid / np.sqrt(float(result.scale))
    elif hasattr(result, "sigma") and np.isscalar(result.sigma) and result.sigma > 0:
        frame["std_resid"] = resid / float(result.sigma)  # an mt.lmer fit
    else:
        frame["std_resid"] = resid / resid.std(ddof=1)
    return frame


def _smooth(ax, x, y):
    """Add a lowess smooth (span 2/3, as R's ``panel.smooth``)."""
    from statsmodels.nonparametric.smoothers_lowess import lowess

    curve = lowess(np.asarray(y), np.asarray(x), frac=2 / 3, it=3)
    ax.plot(curve[:, 0], curve[:, 1], color=_SMOOTH_COLOR, lw=1.5)


def _label_extremes(ax, x, y, labels, size, n_labels):
    """Write the labels of the ``n_labels`` observations with the largest ``size``."""
    if n_labels <= 0:
        return
    for i in np.argsort(-np.asarray(size))[:n_labels]:
        ax.annotate(
            str(labels[i]),
            (x[i], y[i]),
            xytext=(4, 2),
            textcoords="offset points",
            fontsize=8,
            color="0.25",
        )


def _normal_quantiles(n: int) -> np.ndarray:
    """R's ``qnorm(ppoints(n))``: plotting positions ``(i - a) / (n + 1 - 2a)``."""
    a = 3 / 8 if n <= 10 else 0.5
    return stats.norm.ppf((np.arange(1, n + 1) - a) / (n + 1 - 2 * a))


def diagnostics(result, axes=None, n_labels: int = 3):
    """Draw the four-panel regression diagnostic plot.

    Panels, left to right and top to bottom:

    1. **Residuals vs fitted**, with a lowess smooth: a curve means the fixed part misses a
       nonlinear term.
    2. **Normal Q-Q** of the standardized residuals, with a line through the quartiles.
    3. **Scale-location**: ``sqrt(|standardized residual|)`` vs fitted; a rising smooth means
       the residual spread grows with the mean (heteroscedasticity).
    4. For linear regressions (statsmodels OLS/WLS/GLS): **residuals vs leverage** with
       Cook's distance contours at 0.5 and 1, as in R's ``plot.lm``. Mixed models have no
       single hat matrix for their conditional residuals, so for them (and any other result)
       this panel shows the **distribution of the standardized residuals** with the standard
       normal density instead.

    For a :class:`~statsmodels.regression.mixed_linear_model.MixedLMResults` the residuals are
    the conditional ones (``y - X beta_hat - Z b_hat``, statsmodels' ``resid``) and are
    standardized by the estimated residual SD ``sqrt(scale)``; these check the level-1 errors.
    An :func:`mixedtools.lmer` fit is treated the same way (its ``fitted`` and ``residuals``,
    standardized by ``sigma``). Anything else with ``fittedvalues`` and ``resid`` (or
    linearmodels' ``fitted_values`` and ``resids``) is standardized by the residuals' own SD.

    Parameters
    ----------
    result : statsmodels, linearmodels or mt.lmer result
        The fitted model.
    axes : sequence of 4 matplotlib Axes, optional
        Where to draw (e.g. ``plt.subplots(2, 2)[1].ravel()``); by default a new
        7.5 x 6.5 inch figure is made.
    n_labels : int
        Number of the most extreme observations to label in each panel by their index.

    Returns
    -------
    matplotlib.figure.Figure
        The figure holding the four panels.

    Examples
    --------
    >>> import statsmodels.formula.api as smf
    >>> from mixedtools.sim import four_datasets
    >>> data = four_datasets(seed=1).query("dataset == 'nonlinear'")
    >>> fig = diagnostics(smf.ols("y ~ x", data).fit())
    >>> [ax.get_title() for ax in fig.axes]
    ['Residuals vs fitted', 'Normal Q-Q', 'Scale-location', 'Residuals vs leverage']
    """
    import matplotlib.pyplot as plt

    frame = _diagnostic_frame(result)
    if axes is None:
        fig, grid = plt.subplots(2, 2, figsize=(7.5, 6.5), layout="constrained")
        axes = grid.ravel()
    else:
        axes = np.ravel(axes)
        if axes.size != 4:
            raise ValueError(f"axes must hold exactly 4 Axes; got {axes.size}.")
        fig = axes[0].figure
    labels = frame.index.to_numpy()
    fitted = frame["fitted"].to_numpy()
    resid = frame["resid"].to_numpy()
    std_resid = frame["std_resid"].to_numpy()
    size = np.abs(std_resid)

    ax = axes[0]
    ax.scatter(fitted, resid, **_POINT_STYLE)
    ax.axhline(0, color="0.5", ls=":", lw=1)
    _smooth(ax, fitted, resid)
    _label_extremes(ax, fitted, resid, labels, size, n_labels)
    ax.set(title="Residuals vs fitted", xlabel="Fitted values", ylabel="Residuals")

    ax = axes[1]
    order = np.argsort(std_resid)
    theoretical = _normal_quantiles(len(std_resid))
    ax.scatter(theoretical, std_resid[order], **_POINT_STYLE)
    q_sample = np.percentile(std_resid, [25, 75])
    q_normal = stats.norm.ppf([0.25, 0.75])
    slope = (q_sample[1] - q_sample[0]) / (q_normal[1] - q_normal[0])
    ends = np.array([theoretical[0], theoretical[-1]])
    ax.plot(ends, q_sample[0] + slope * (ends - q_normal[0]), color="0.4", ls="--", lw=1)
    _label_extremes(ax, theoretical, std_resid[order], labels[order], size[order], n_labels)
    ax.set(
        title="Normal Q-Q",
        xlabel="Theoretical normal quantiles",
        ylabel="Standardized residuals",
    )

    ax = axes[2]
    root = np.sqrt(size)
    ax.scatter(fitted, root, **_POINT_STYLE)
    _smooth(ax, fitted, root)
    _label_extremes(ax, fitted, root, labels, size, n_labels)
    ax.set(
        title="Scale-location",
        xlabel="Fitted values",
        ylabel=r"$\sqrt{|\mathrm{Standardized\ residuals}|}$",
    )
    ax.set_ylim(bottom=0)

    ax = axes[3]
    if "leverage" in frame:
        _leverage_panel(ax, frame, labels, n_labels, n_params=_n_params(result))
    else:
        _histogram_panel(ax, std_resid)
    return fig


def _n_params(result) -> int:
    return int(np.linalg.matrix_rank(np.asarray(result.model.exog)))


def _leverage_panel(ax, frame, labels, n_labels, n_params):
    """Standardized residuals vs leverage with Cook's distance contours (R's plot.lm panel 5)."""
    leverage = frame["leverage"].to_numpy()
    std_resid = frame["std_resid"].to_numpy()
    ax.scatter(leverage, std_resid, **_POINT_STYLE)
    ax.axhline(0, color="0.5", ls=":", lw=1)
    ok = leverage < 1 - 1e-8
    if ok.sum() >= 3:
        _smooth(ax, leverage[ok], std_resid[ok])
    _label_extremes(
        ax, leverage, std_resid, labels, frame["cooks_distance"].fillna(np.inf), n_labels
    )
    h_max = float(np.max(leverage))
    y_low, y_high = ax.get_ylim()
    limit = max(abs(y_low), abs(y_high), 1.1 * np.max(np.abs(std_resid)))
    # Cook's D = r^2 h / (p (1 - h)) for standardized residual r, so the contour
    # D = c is r = +-sqrt(c p (1 - h) / h).
    h = np.linspace(1e-3, min(h_max * 1.08, 0.999), 200)
    for level, style in ((0.5, "--"), (1.0, "-.")):
        r = np.sqrt(level * n_params * (1 - h) / h)
        ax.plot(h, r, color="0.35", ls=style, lw=0.9, label=f"Cook's D = {level:g}")
        ax.plot(h, -r, color="0.35", ls=style, lw=0.9)
    ax.legend(fontsize=7, loc="best", framealpha=0.85)
    ax.set_xlim(0, h_max * 1.08)
    ax.set_ylim(-limit, limit)
    ax.set(
        title="Residuals vs leverage",
        xlabel="Leverage (hat value)",
        ylabel="Standardized residuals",
    )


def _histogram_panel(ax, std_resid):
    """Histogram of the standardized residuals with the standard normal density."""
    ax.hist(std_resid, bins="auto", density=True, color="#1f77b4", alpha=0.45, edgecolor="white")
    grid = np.linspace(min(-3.5, std_resid.min()), max(3.5, std_resid.max()), 200)
    ax.plot(grid, stats.norm.pdf(grid), color="0.3", lw=1.2, label="N(0, 1) density")
    ax.legend(fontsize=8, frameon=False, loc="upper right")
    ax.set(
        title="Residual distribution",
        xlabel="Standardized residuals",
        ylabel="Density",
    )


def breusch_pagan(result, exog=None, robust: bool = True) -> pd.Series:
    """Breusch-Pagan test of constant residual variance.

    Regresses the squared residuals on the model's regressors (or on ``exog``) and tests whether
    they explain any of the variation, via
    :func:`statsmodels.stats.diagnostic.het_breuschpagan`. The default ``robust=True`` is
    Koenker's studentized version, ``n R^2`` of that auxiliary regression, which does not need
    normal errors (R's ``lmtest::bptest`` default); ``robust=False`` is the original test,
    which assumes normal errors.

    Parameters
    ----------
    result : statsmodels results object
        A fit with ``resid`` and ``model.exog`` (OLS, WLS, MixedLM: the fixed-effects design),
        unless ``exog`` is given.
    exog : array_like, optional
        Variables suspected of driving the variance; must include a constant column.
    robust : bool
        Koenker's studentized statistic (True) or the original one (False).

    Returns
    -------
    pandas.Series
        ``statistic`` (chi-squared), ``df`` (columns of ``exog`` other than the constant) and
        ``p_value``.

    Examples
    --------
    >>> import numpy as np, statsmodels.api as sm
    >>> rng = np.random.default_rng(1)
    >>> x = np.linspace(1, 10, 200)
    >>> y = 1 + x + rng.normal(scale=x)  # spread grows with x
    >>> test = breusch_pagan(sm.OLS(y, sm.add_constant(x)).fit())
    >>> list(test.index), bool(test["p_value"] < 0.01)
    (['statistic', 'df', 'p_value'], True)
    """
    from statsmodels.stats.diagnostic import het_breuschpagan

    _, resid = _fitted_and_resid(result)
    if exog is None:
        if not hasattr(result, "model") or not hasattr(result.model, "exog"):
            raise TypeError(
                f"{type(result).__name__} has no model.exog; pass the variables as exog=."
            )
        exog = result.model.exog
    exog = np.asarray(exog, dtype=float)
    if exog.ndim == 1:
        exog = exog[:, None]
    if exog.shape[0] != len(resid):
        raise ValueError(f"exog has {exog.shape[0]} rows but there are {len(resid)} residuals.")
    constant_columns = (np.ptp(exog, axis=0) == 0) & np.any(exog != 0, axis=0)
    if not constant_columns.any():
        raise ValueError("exog must include a constant column (the test's R^2 needs one).")
    statistic, p_value, _, _ = het_breuschpagan(resid.to_numpy(), exog, robust=robust)
    df = exog.shape[1] - 1  # het_breuschpagan's own df
    return pd.Series(
        {"statistic": float(statistic), "df": float(df), "p_value": float(p_value)},
        name="breusch_pagan",
    )
