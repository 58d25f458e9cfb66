"""One-way ANOVA and the ANOVA (moment) estimators of a random-intercept model.

``oneway`` and ``variance_components`` give the one-way table and the ANOVA (moment) estimators
of a random-intercept model; ``contrasts`` writes coding matrices; ``factorial`` gives type I,
II and III tables (as ``anova(lm)`` and ``car::Anova``); ``rm`` and ``mauchly`` give
repeated-measures and split-plot ANOVA with Greenhouse-Geisser and Huynh-Feldt corrections and
Mauchly's test (as ``afex::aov_car``).

The one-way random-effects model ``y_ij = mu + a_i + e_ij`` with ``a_i ~ N(0, sigma2_between)``
and ``e_ij ~ N(0, sigma2_within)`` is the "null model" of multilevel analysis. Its variance
components can be estimated from the one-way ANOVA table alone: ``E[MSE] = sigma2_within`` and
``E[MSA] = sigma2_within + n0 * sigma2_between``, where ``n0`` is the (effective) group size.

Examples
--------
>>> import mixedtools as mt
>>> dyestuff = mt.datasets.load("dyestuff")
>>> mt.anova.oneway(dyestuff, dv="yield", between="batch").round(4)
          df   sum_sq   mean_sq       F  p_value
batch      5  56357.5  11271.50  4.5983   0.0044
Residual  24  58830.0   2451.25     NaN      NaN
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["oneway", "VarianceComponents", "variance_components"]


@dataclass(frozen=True)
class _Groups:
    """Clean response values, their group codes, and what was dropped on the way."""

    y: np.ndarray
    codes: np.ndarray
    labels: pd.Index
    n_dropped: int


def _check_columns(data: pd.DataFrame, dv: str, group: str) -> None:
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, not {type(data).__name__}.")
    for role, column in (("dv", dv), ("group", group)):
        if column not in data.columns:
            available = ", ".join(map(str, data.columns))
            raise ValueError(
                f"Column {column!r} (given as {role}) is not in data. "
                f"Available columns: {available}."
            )
    if dv == group:
        raise ValueError(f"The response and the grouping column are the same column ({dv!r}).")
    if not pd.api.types.is_numeric_dtype(data[dv]) or pd.api.types.is_bool_dtype(data[dv]):
        raise TypeError(
            f"The response {dv!r} must be numeric, but its dtype is {data[dv].dtype}. "
            "Convert it first, e.g. with pandas.to_numeric."
        )


def _prepare(data: pd.DataFrame, dv: str, group: str) -> _Groups:
    """Validate the input, drop incomplete rows (with a warning) and code the groups 0..a-1."""
    _check_columns(data, dv, group)
    y = data[dv].to_numpy(dtype=float, na_value=np.nan)
    missing = np.isnan(y) | data[group].isna().to_numpy()
    n_dropped = int(missing.sum())
    if n_dropped:
        warnings.warn(
            f"Dropped {n_dropped} of {len(data)} rows with a missing value in {dv!r} or {group!r}; "
            f"the analysis uses the remaining {len(data) - n_dropped} rows.",
            UserWarning,
            stacklevel=3,
        )
    if np.isinf(y).any():
        raise ValueError(f"The response {dv!r} contains infinite values.")
    codes, labels = pd.factorize(data.loc[~missing, group], sort=True)
    if len(labels) < 2:
        raise ValueError(
            f"The grouping column {group!r} has {len(labels)} group(s) with complete data; "
            "a one-way ANOVA needs at least two groups."
        )
    sizes = np.bincount(codes, minlength=len(labels))
    if (sizes == 1).all():
        raise ValueError(
            f"Every group of {group!r} has a single observation, so there is no within-group "
            "variation to estimate the residual variance from."
        )
    if (sizes == 1).any():
        singles = ", ".join(map(str, labels[sizes == 1][:10]))
        warnings.warn(
            f"{int((sizes == 1).sum())} group(s) of {group!r} have a single observation "
            f"({singles}). Such a group counts towards the between-group df but adds nothing "
            "to the within-group df (n_i - 1 = 0): it carries no information about the "
            "within-group variance.",
            UserWarning,
            stacklevel=3,
        )
    return _Groups(y=y[~missing], codes=codes, labels=labels, n_dropped=n_dropped)


def _anova_table(groups: _Groups, between: str) -> pd.DataFrame:
    y, codes = groups.y, groups.codes
    sizes = np.bincount(codes)
    means = np.bincount(codes, weights=y) / sizes
    ss_between = float(np.sum(sizes * (means - y.mean()) ** 2))
    ss_within = float(np.sum((y - means[codes]) ** 2))
    df_between, df_within = len(sizes) - 1, len(y) - len(sizes)
    if ss_within == 0:
        raise ValueError(
            f"Every observation equals its group mean (the within-group sum of squares of "
            f"{between!r} groups is 0), so there is no residual variance: F and the variance "
            "components are undefined. Check that the response is not a copy of a group-level "
            "variable."
        )
    ms_between, ms_within = ss_between / df_between, ss_within / df_within
    with np.errstate(divide="ignore", invalid="ignore"):
        f_value = ms_between / ms_within
    table = pd.DataFrame(
        {
            "df": [df_between, df_within],
            "sum_sq": [ss_between, ss_within],
            "mean_sq": [ms_between, ms_within],
            "F": [f_value, np.nan],
            "p_value": [stats.f.sf(f_value, df_between, df_within), np.nan],
        },
        index=pd.Index([str(between), "Residual"]),
    )
    table.attrs["n_dropped"] = groups.n_dropped
    return table


def oneway(data: pd.DataFrame, dv: str, between: str) -> pd.DataFrame:
    """One-way between-groups ANOVA table, like R's ``summary(aov(dv ~ between))``.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per observation.
    dv : str
        Numeric response column.
    between : str
        Grouping column (any type; every distinct value is a group).

    Returns
    -------
    pandas.DataFrame
        Rows ``between`` and ``"Residual"``; columns ``df``, ``sum_sq``, ``mean_sq``, ``F``,
        ``p_value`` (``F`` and ``p_value`` are NaN on the residual row). The number of rows
        dropped for missing values is in ``table.attrs["n_dropped"]``.

    Raises
    ------
    ValueError
        Unknown column, fewer than two groups, no group with two or more observations, or
        no within-group variation at all (every value equals its group mean).
    TypeError
        Non-numeric response.

    Warns
    -----
    UserWarning
        When rows with missing values are dropped, or a group has a single observation.

    Examples
    --------
    >>> import mixedtools as mt
    >>> machines = mt.datasets.load("machines")
    >>> table = mt.anova.oneway(machines, dv="score", between="machine")
    >>> table["df"].tolist()
    [2, 51]
    """
    return _anova_table(_prepare(data, dv, between), between)


@dataclass(frozen=True, repr=False)
class VarianceComponents:
    """ANOVA (moment) estimates of the one-way random-effects model.

    Attributes
    ----------
    dv, group : str
        Response and grouping column.
    sigma2_between : float
        Between-group variance, truncated at zero.
    sigma2_within : float
        Within-group (residual) variance, the ANOVA mean square error.
    icc : float
        Intraclass correlation ``sigma2_between / (sigma2_between + sigma2_within)``.
    sigma2_between_raw : float
        ``(MSA - MSE) / n0`` before truncation; negative when ``MSA < MSE``.
    truncated : bool
        Whether the raw between-group estimate was negative and set to zero.
    n0 : float
        Effective group size ``(N - sum n_i^2 / N) / (a - 1)``; equals n for balanced data.
    n_groups, n_obs : int
        Number of groups (a) and observations (N) used.
    balanced : bool
        Whether all groups have the same size.
    n_dropped : int
        Rows dropped because the response or the group was missing.
    anova_table : pandas.DataFrame
        The one-way ANOVA table the estimates come from (see :func:`oneway`).
    """

    dv: str
    group: str
    sigma2_between: float
    sigma2_within: float
    icc: float
    sigma2_between_raw: float
    truncated: bool
    n0: float
    n_groups: int
    n_obs: int
    balanced: bool
    n_dropped: int
    anova_table: pd.DataFrame = field(compare=False)

    def to_frame(self) -> pd.DataFrame:
        """Variance components as a DataFrame.

        Returns
        -------
        pandas.DataFrame
            Rows: the grouping column and ``"Residual"``; columns ``variance``, ``std_dev``
            and ``proportion`` (share of the total variance; the between-group share is the ICC).

        Examples
        --------
        >>> import mixedtools as mt
        >>> vc = mt.anova.variance_components(mt.datasets.load("dyestuff"), "yield", "batch")
        >>> vc.to_frame().round(4)
                  variance  std_dev  proportion
        batch      1764.05  42.0006      0.4185
        Residual   2451.25  49.5101      0.5815
        """
        variance = np.array([self.sigma2_between, self.sigma2_within])
        return pd.DataFrame(
            {
                "variance": variance,
                "std_dev": np.sqrt(variance),
                "proportion": variance / variance.sum(),
            },
            index=pd.Index([self.group, "Residual"]),
        )

    def __repr__(self) -> str:
        design = "balanced" if self.balanced else "unbalanced"
        msa, mse = self.anova_table["mean_sq"]
        f_value, p_value = self.anova_table.iloc[0][["F", "p_value"]]
        lines = [
            f"One-way random-effects ANOVA estimates: {self.dv} ~ 1 + (1 | {self.group})",
            f"  {self.n_obs} observations in {self.n_groups} groups ({design}, n0 = {self.n0:.6g})"
            + (f"; {self.n_dropped} rows with missing values dropped" if self.n_dropped else ""),
            f"  sigma2_between = {self.sigma2_between:.6g}"
            + (
                f"  (raw estimate {self.sigma2_between_raw:.6g}, truncated at 0)"
                if self.truncated
                else ""
            ),
            f"  sigma2_within  = {self.sigma2_within:.6g}",
            f"  ICC            = {self.icc:.4f}",
            f"  MSA = {msa:.6g}, MSE = {mse:.6g}, F = {f_value:.4g}, p = {p_value:.4g}",
        ]
        return "\n".join(lines)


def variance_components(data: pd.DataFrame, dv: str, group: str) -> VarianceComponents:
    """ANOVA (moment) estimators of the between- and within-group variance.

    From the one-way ANOVA mean squares MSA (between) and MSE (within):
    ``sigma2_within = MSE`` and ``sigma2_between = (MSA - MSE) / n0`` with
    ``n0 = (N - sum n_i^2 / N) / (a - 1)``, the group size for balanced data. For balanced data
    with a positive estimate these equal the REML estimates (lme4's default); for unbalanced
    data they differ slightly.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per observation.
    dv : str
        Numeric response column.
    group : str
        Grouping column (the random factor).

    Returns
    -------
    VarianceComponents
        Estimates, ICC, n0, sizes, the raw between-group estimate and the ANOVA table.

    Raises
    ------
    ValueError
        Unknown column, fewer than two groups, no group with two or more observations, or
        no within-group variation at all (every value equals its group mean).
    TypeError
        Non-numeric response.

    Warns
    -----
    UserWarning
        When the between-group estimate is negative and truncated at zero, when rows with
        missing values are dropped, or when a group has a single observation.

    Examples
    --------
    >>> import mixedtools as mt
    >>> vc = mt.anova.variance_components(mt.datasets.load("dyestuff"), dv="yield", group="batch")
    >>> round(vc.sigma2_between, 2), round(vc.sigma2_within, 2), round(vc.icc, 4)
    (1764.05, 2451.25, 0.4185)
    """
    groups = _prepare(data, dv, group)
    table = _anova_table(groups, group)
    msa, mse = table["mean_sq"].to_numpy()
    sizes = np.bincount(groups.codes)
    n_obs, n_groups = int(sizes.sum()), len(sizes)
    n0 = (n_obs - np.sum(sizes**2) / n_obs) / (n_groups - 1)
    raw = float((msa - mse) / n0)
    truncated = raw < 0
    if truncated:
        warnings.warn(
            f"The ANOVA estimate of the between-group variance of {dv!r} is negative ({raw:.4g}) "
            f"because the between-group mean square (MSA = {msa:.4g}) is smaller than the "
            f"within-group mean square (MSE = {mse:.4g}): the group means vary less than "
            "within-group noise alone would make them. This is compatible with a between-group "
            "variance of zero (or a small one, estimated badly). A variance cannot be negative, "
            "so it is set to 0 (ICC = 0); the raw value is kept in sigma2_between_raw.",
            UserWarning,
            stacklevel=2,
        )
    between = max(raw, 0.0)
    return VarianceComponents(
        dv=dv,
        group=group,
        sigma2_between=between,
        sigma2_within=float(mse),
        icc=float(between / (between + mse)),
        sigma2_between_raw=raw,
        truncated=truncated,
        n0=float(n0),
        n_groups=n_groups,
        n_obs=n_obs,
        balanced=bool((sizes == sizes[0]).all()),
        n_dropped=groups.n_dropped,
        anova_table=table,
    )
