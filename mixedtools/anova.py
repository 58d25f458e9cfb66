"""ANOVA: one-way, factorial (types I-III) and repeated measures, with R's numbers.

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

from mixedtools import _anova_linear as _lin
from mixedtools import _anova_rm as _rmdata

__all__ = [
    "oneway",
    "variance_components",
    "VarianceComponents",
    "contrasts",
    "factorial",
    "rm",
    "mauchly",
]


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


# ---- coding schemes ----------------------------------------------------------------------------

_CODINGS = ("treatment", "sum", "helmert", "helmert_forward", "poly")


def contrasts(levels, coding: str = "treatment") -> pd.DataFrame:
    """Coding matrix of a factor: the k - 1 code columns a regression uses for k levels.

    Parameters
    ----------
    levels : int or sequence
        The factor's levels in order (or their number k >= 2; levels are then 1..k).
    coding : {"treatment", "sum", "helmert", "helmert_forward", "poly"}
        * ``"treatment"`` (dummy coding, 虚拟编码; R ``contr.treatment``): column ``L`` is 1 for
          level L and 0 otherwise; the first level is the reference. Its coefficient is
          mean(L) - mean(first level); the intercept is the mean of the first level.
        * ``"sum"`` (effect / deviation coding, 效应编码; R ``contr.sum``): column ``L`` is 1
          for level L, -1 for the last level, 0 otherwise. Its coefficient is mean(L) minus the
          unweighted grand mean of the level means; the intercept is that grand mean.
        * ``"helmert"`` (R ``contr.helmert``, SPSS calls it DIFFERENCE): column j (j = 1..k-1)
          is -1 for the first j levels, j for level j+1, 0 after. Its coefficient is
          (mean(level j+1) - mean of the first j levels) / (j + 1): each level against the
          mean of the levels *before* it.
        * ``"helmert_forward"`` (SPSS HELMERT; the source notes' form [2, -1, -1], [0, 1, -1]
          for k = 3): column j is k - j for level j, -1 for each later level, 0 before. Its
          coefficient is (mean(level j) - mean of the later levels) * (k - j) / sum of squared
          codes, i.e. proportional to level j against the mean of the levels *after* it.
        * ``"poly"`` (orthogonal polynomials, R ``contr.poly``): orthonormal linear, quadratic,
          cubic ... trends over equally spaced levels (columns ``.L``, ``.Q``, ``.C``, ``^4``).

        All but ``"treatment"`` have columns that sum to zero; all give the same F test of the
        factor, only the coefficients (the questions each column answers) differ.

    Returns
    -------
    pandas.DataFrame
        Rows = levels, columns = contrasts.

    Raises
    ------
    ValueError
        Unknown coding, fewer than two levels, or repeated levels.

    Examples
    --------
    >>> import mixedtools as mt
    >>> mt.anova.contrasts(["a", "b", "c"], "helmert_forward")
       a vs later  b vs later
    a           2           0
    b          -1           1
    c          -1          -1
    >>> mt.anova.contrasts(3, "helmert")
       2 vs earlier  3 vs earlier
    1            -1            -1
    2             1            -1
    3             0             2
    """
    if isinstance(levels, (int, np.integer)):
        levels = list(range(1, int(levels) + 1))
    levels = list(levels)
    k = len(levels)
    if k < 2:
        raise ValueError(f"A factor needs at least two levels to be coded, got {k}.")
    if len(set(map(str, levels))) < k:
        raise ValueError(f"The levels must be distinct, got {levels!r}.")
    if coding not in _CODINGS:
        raise ValueError(f"Unknown coding {coding!r}; choose one of {', '.join(_CODINGS)}.")
    names = [str(level) for level in levels]
    if coding == "treatment":
        matrix = np.eye(k, dtype=int)[:, 1:]
        columns = names[1:]
    elif coding == "sum":
        matrix = _lin.sum_contrasts(k).astype(int)
        columns = names[:-1]
    elif coding == "helmert":
        matrix = np.zeros((k, k - 1), dtype=int)
        for j in range(1, k):
            matrix[:j, j - 1] = -1
            matrix[j, j - 1] = j
        columns = [f"{name} vs earlier" for name in names[1:]]
    elif coding == "helmert_forward":
        matrix = np.zeros((k, k - 1), dtype=int)
        for j in range(k - 1):
            matrix[j, j] = k - 1 - j
            matrix[j + 1 :, j] = -1
        columns = [f"{name} vs later" for name in names[:-1]]
    else:
        matrix = _lin.poly_contrasts(k)
        columns = [".L", ".Q", ".C"] + [f"^{d}" for d in range(4, k)]
        columns = columns[: k - 1]
    return pd.DataFrame(matrix, index=pd.Index(levels), columns=columns)


# ---- factorial between-subjects ANOVA -----------------------------------------------------------


def _check_cells(frame: pd.DataFrame, factors: list[str]) -> None:
    observed = frame.groupby(factors, observed=True).size()
    expected = int(np.prod([frame[f].nunique() for f in factors]))
    if len(observed) < expected:
        full = pd.MultiIndex.from_product([sorted(frame[f].unique(), key=str) for f in factors])
        present = set(observed.index if len(factors) > 1 else [(i,) for i in observed.index])
        empty = [cell for cell in full if (cell if len(factors) > 1 else (cell,)) not in present]
        shown = ", ".join(" x ".join(map(str, np.atleast_1d(c))) for c in empty[:10])
        raise ValueError(
            f"{expected - len(observed)} cell(s) of the {' x '.join(factors)} design have no "
            f"observations ({shown}); the interaction and type II/III tests are not defined. "
            "Drop or merge levels, or fit the main-effects model only."
        )


def factorial(data: pd.DataFrame, dv: str, between, ss_type: int = 3) -> pd.DataFrame:
    """Between-subjects factorial ANOVA with type I, II or III sums of squares.

    The model is the full factorial (all interactions), coded with sum-to-zero contrasts.

    * Type 1 (sequential): each term adjusted for the terms *before* it in the order given;
      equals R ``anova(lm(...))``. On unbalanced data the result depends on the order.
    * Type 2: each term adjusted for every term that does not contain it (main effects are
      not adjusted for their interactions); equals ``car::Anova(type = 2)``. The most powerful
      test of main effects when the interaction is absent.
    * Type 3: each term adjusted for every other term, main effects evaluated at the unweighted
      mean over the other factor's levels; equals ``car::Anova(type = 3)`` with ``contr.sum``
      and SPSS / afex's default. It does not depend on the user's coding, because the
      function always codes with sum-to-zero contrasts (with R's default treatment coding
      ``car::Anova(type = 3)`` answers a different question).

    On balanced data all three types agree.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per observation.
    dv : str
        Numeric response column.
    between : str or list of str
        Factor columns; terms are named by joining factor names with ``":"`` in this order.
    ss_type : {1, 2, 3}, default 3

    Returns
    -------
    pandas.DataFrame
        Indexed by term plus ``"Residual"``; columns ``sum_sq, df, mean_sq, F, p_value,
        eta2_partial`` (partial eta squared = SS / (SS + SS_residual)); NaN on the residual
        row. Rows dropped for missing values: ``table.attrs["n_dropped"]``.

    Raises
    ------
    ValueError
        Unknown column, a factor with one level, an empty cell, no residual df, bad ss_type.
    TypeError
        Non-numeric response.

    Warns
    -----
    UserWarning
        When rows with a missing response or factor value are dropped.

    Examples
    --------
    >>> import mixedtools as mt
    >>> machines = mt.datasets.load("machines")
    >>> table = mt.anova.factorial(machines, "score", ["machine", "worker"])
    >>> table.index.tolist()
    ['machine', 'worker', 'machine:worker', 'Residual']
    >>> table["df"].tolist()
    [2, 5, 10, 36]
    """
    factors = _rmdata.as_list(between, "between")
    if not factors:
        raise ValueError("Give at least one between-subjects factor (between=...).")
    if ss_type not in (1, 2, 3):
        raise ValueError(f"ss_type must be 1, 2 or 3, not {ss_type!r}.")
    _rmdata.check_columns(data, dv, {"between": factors})
    frame = data[[*factors, dv]]
    missing = frame.isna().any(axis=1)
    n_dropped = int(missing.sum())
    if n_dropped:
        warnings.warn(
            f"Dropped {n_dropped} of {len(frame)} rows with a missing value in {dv!r} or a "
            f"factor; the analysis uses the remaining {len(frame) - n_dropped} rows.",
            UserWarning,
            stacklevel=2,
        )
        frame = frame.loc[~missing]
    for factor in factors:
        _rmdata.levels_of(frame, factor)
    _check_cells(frame, factors)
    design = _lin.sum_coded_design(frame, factors)
    y = frame[dv].to_numpy(dtype=float)[:, None]
    names, sscps, dfs, error, df_error = _lin.hypothesis_sscp(design, y, ss_type)
    if df_error < 1:
        raise ValueError(
            "The full factorial model leaves no residual degrees of freedom (one observation "
            "per cell?): there is no error term to test against."
        )
    ss_error = float(error[0, 0])
    if ss_error == 0:
        raise ValueError("The residual sum of squares is 0 (a perfect fit): F is undefined.")
    ss = np.array([float(h[0, 0]) for h in sscps])
    df = np.array(dfs)
    mean_sq = ss / df
    f_value = mean_sq / (ss_error / df_error)
    table = pd.DataFrame(
        {
            "sum_sq": np.append(ss, ss_error),
            "df": np.append(df, df_error).astype(int),
            "mean_sq": np.append(mean_sq, ss_error / df_error),
            "F": np.append(f_value, np.nan),
            "p_value": np.append(stats.f.sf(f_value, df, df_error), np.nan),
            "eta2_partial": np.append(ss / (ss + ss_error), np.nan),
        },
        index=pd.Index([*names, "Residual"]),
    )
    table.attrs["n_dropped"] = n_dropped
    table.attrs["ss_type"] = ss_type
    return table


# ---- repeated-measures ANOVA --------------------------------------------------------------------


def _gg_epsilon(error: np.ndarray) -> float:
    p = error.shape[0]
    if p < 2:
        return 1.0
    eigenvalues = np.linalg.eigvalsh(error)
    eigenvalues = eigenvalues[eigenvalues > eigenvalues.max() * 1e-12]
    return float(eigenvalues.sum() ** 2 / (p * np.sum(eigenvalues**2)))


def _hf_epsilon(gg: float, df_error: int, p: int) -> float:
    if p < 2:
        return 1.0
    return ((df_error + 1) * p * gg - 2) / (p * (df_error - p * gg))


def _rm_parts(data, dv, subject, within, between, ss_type=3):
    if ss_type not in (2, 3):
        raise ValueError(f"ss_type must be 2 or 3 for repeated measures, not {ss_type!r}.")
    within = _rmdata.as_list(within, "within")
    between = _rmdata.as_list(between, "between")
    wide = _rmdata.to_wide(data, dv, subject, within, between, stacklevel=4)
    if between:
        _check_cells(wide.subjects, between)
    design = _lin.sum_coded_design(wide.subjects, between)
    parts = []
    for term in [(), *_lin.term_list(within)]:
        z = wide.y @ _rmdata.within_contrast(wide.within_levels, term)
        names, sscps, dfs, error, df_error = _lin.hypothesis_sscp(
            design, z, ss_type, include_intercept=True
        )
        parts.append((term, names, sscps, dfs, error, df_error))
    if parts[0][5] < 1:
        raise ValueError(
            "There are no residual degrees of freedom between subjects (as many subjects as "
            "between-subjects cells): add subjects."
        )
    return parts, wide


def rm(
    data: pd.DataFrame, dv: str, subject: str, within, between=None, ss_type: int = 3
) -> pd.DataFrame:
    """Repeated-measures and mixed (split-plot) ANOVA with sphericity corrections.

    Univariate type III tests from long data, as ``afex::aov_car`` and
    ``summary(car::Anova(mlm, idata, idesign, type = 3), multivariate = FALSE)`` compute them:
    each within-subject term is tested on its orthonormal contrasts of the subject's cell
    means, against that term's subjects-by-term error; between-subjects factors are coded with
    sum-to-zero contrasts, so unbalanced between groups are handled as type III.

    Sphericity corrections: the Greenhouse-Geisser epsilon is
    ``(sum lambda)^2 / (p * sum lambda^2)`` over the eigenvalues of the term's error SSCP
    matrix (p = the term's df). The Huynh-Feldt epsilon is the Lecoutre (1991)-corrected one
    that R's car and afex use,
    ``eps_hf = ((N - g + 1) * p * eps_gg - 2) / (p * (N - g - p * eps_gg))``
    with N subjects in g between-subjects groups; it is reported as computed (it may exceed 1)
    and ``p_hf`` uses ``min(eps_hf, 1)``. The original Huynh-Feldt (1976) formula has ``N``
    where this has ``N - g + 1``; the two agree when there are no between-subjects factors
    (g = 1). pingouin (``pingouin.epsilon(correction="hf")``, read from its source)
    uses ``(n (k - 1) eps_gg - 2) / ((k - 1) (n - 1 - (k - 1) eps_gg))``, that
    one-group form, so for purely within-subject designs its HF epsilon equals R's -- except
    that pingouin caps the epsilon it reports at 1, while R (and this function) report the
    raw value and cap it only in the p-value; pingouin has no between-groups version of the
    formula. Epsilon is 1 for terms
    with one df (and for between-subjects terms), where sphericity holds trivially.

    Parameters
    ----------
    data : pandas.DataFrame
        Long data: one row per observation.
    dv : str
        Numeric response column.
    subject : str
        Subject identifier column.
    within : str or list of str
        Within-subject factors (every subject sees every combination of their levels).
    between : str or list of str, optional
        Between-subjects factors (constant within a subject).
    ss_type : {3, 2}, default 3
        Type III (afex's and SPSS's default) or type II (``afex::aov_car(type = 2)``,
        ``car::Anova(type = 2)``; pingouin's ``mixed_anova`` gives these numbers). They differ
        only when the between-subjects groups are unbalanced.

    Returns
    -------
    pandas.DataFrame
        Indexed by term (between terms first, then each within term followed by its
        interactions with the between terms, as afex orders them); columns ``sum_sq, num_df,
        den_df, F, p_value, eps_gg, p_gg, eps_hf, p_hf``. ``table.attrs`` holds ``error_ss``
        (Series by term), ``n_subjects`` and ``n_averaged``.

    Raises
    ------
    ValueError
        Unknown column, missing values, subjects with missing cells (named; use ``mt.lmer``),
        a single subject, a factor with one level, a between factor varying within a subject,
        an ss_type other than 2 or 3.
    TypeError
        Non-numeric response.

    Warns
    -----
    UserWarning
        When several rows of a subject fall into one cell: they are averaged (count given).

    Examples
    --------
    >>> import mixedtools as mt
    >>> sleep = mt.datasets.load("sleepstudy")
    >>> table = mt.anova.rm(sleep, dv="reaction", subject="subject", within="days")
    >>> table[["num_df", "den_df", "F", "eps_gg", "eps_hf"]].round(4)
          num_df  den_df        F  eps_gg  eps_hf
    days       9     153  18.7027   0.369  0.4694
    """
    parts, wide = _rm_parts(data, dv, subject, within, between, ss_type)
    rows, error_ss = {}, {}
    for term, names, sscps, dfs, error, df_error in parts:
        p = error.shape[0]
        gg = _gg_epsilon(error)
        hf = _hf_epsilon(gg, df_error, p)
        for name, hypothesis, df in zip(names, sscps, dfs, strict=True):
            if not term and name == "(Intercept)":
                continue
            within_name = _lin.term_name(term)
            if term:
                label = within_name if name == "(Intercept)" else f"{name}:{within_name}"
            else:
                label = name
            ss, sse = float(np.trace(hypothesis)), float(np.trace(error))
            num_df, den_df = df * p, df_error * p
            f_value = (ss / num_df) / (sse / den_df)
            rows[label] = {
                "sum_sq": ss,
                "num_df": num_df,
                "den_df": den_df,
                "F": f_value,
                "p_value": stats.f.sf(f_value, num_df, den_df),
                "eps_gg": gg,
                "p_gg": stats.f.sf(f_value, gg * num_df, gg * den_df),
                "eps_hf": hf,
                "p_hf": stats.f.sf(f_value, min(hf, 1) * num_df, min(hf, 1) * den_df),
            }
            error_ss[label] = sse
    table = pd.DataFrame.from_dict(rows, orient="index")
    table[["num_df", "den_df"]] = table[["num_df", "den_df"]].astype(int)
    table.attrs["error_ss"] = pd.Series(error_ss)
    table.attrs["n_subjects"] = int(wide.y.shape[0])
    table.attrs["n_averaged"] = wide.n_averaged
    table.attrs["ss_type"] = ss_type
    return table


def mauchly(data: pd.DataFrame, dv: str, subject: str, within, between=None) -> pd.DataFrame:
    """Mauchly's test of sphericity for each within-subject term with two or more df.

    ``W = det(E) / (trace(E) / p)^p`` for the term's error SSCP matrix E on p orthonormal
    contrasts; ``chi2 = -n * rho * log(W)`` with ``n`` the error df and
    ``rho = 1 - (2p^2 + p + 2) / (6 p n)``, on ``p(p + 1)/2 - 1`` df. The p-value adds the
    second-order term ``w2 * (P(chi2_{df+4} > chi2) - P(chi2_df > chi2))`` of Anderson (1958)
    exactly as R's ``stats::mauchly.test`` and ``car`` compute it: in one factor of ``w2``,
    ``3 p`` is there ``3 c`` with c the number of within-subject cells (``ncol`` of the data
    matrix), and so it is here, to give R's p-values; the correction only matters for small
    samples and terms with three or more df. Terms with one df are spherical by definition and
    not listed (as in R); when no term is left, the table is empty and a warning says why.
    With fewer error df than the term has df (too few subjects) the test
    is undefined: W, chi2 and p_value are NaN, with a warning.

    Parameters
    ----------
    data, dv, subject, within, between
        As for :func:`rm`.

    Returns
    -------
    pandas.DataFrame
        Indexed by within term; columns ``W, chi2, df, p_value``.

    Examples
    --------
    >>> import mixedtools as mt
    >>> sleep = mt.datasets.load("sleepstudy")
    >>> test = mt.anova.mauchly(sleep, dv="reaction", subject="subject", within="days")
    >>> test.round(4)
               W      chi2  df  p_value
    days  0.0002  116.2524  44      0.0
    """
    parts, wide = _rm_parts(data, dv, subject, within, between)
    n_cells = wide.y.shape[1]
    rows = {}
    for term, _names, _sscps, _dfs, error, n in parts:
        p = error.shape[0]
        if not term or p < 2:
            continue
        if n < p:
            warnings.warn(
                f"Mauchly's test of {_lin.term_name(term)!r} needs at least {p} error df "
                f"(subjects minus between-subjects cells), but there are {n}: the error "
                "covariance matrix is singular and W, chi2 and p are undefined (NaN).",
                UserWarning,
                stacklevel=2,
            )
            rows[_lin.term_name(term)] = {
                "W": np.nan,
                "chi2": np.nan,
                "df": p * (p + 1) // 2 - 1,
                "p_value": np.nan,
            }
            continue
        sign, logdet = np.linalg.slogdet(error)
        log_w = (logdet if sign > 0 else -np.inf) - p * np.log(np.trace(error) / p)
        rho = 1 - (2 * p**2 + p + 2) / (6 * p * n)
        w2 = (
            (p + 2)
            * (p - 1)
            * (p - 2)
            * (2 * p**3 + 6 * p**2 + 3 * n_cells + 2)
            / (288 * (n * p * rho) ** 2)
        )
        chi2 = -n * rho * log_w
        df = p * (p + 1) // 2 - 1
        pr1, pr2 = stats.chi2.sf(chi2, df), stats.chi2.sf(chi2, df + 4)
        rows[_lin.term_name(term)] = {
            "W": float(np.exp(log_w)),
            "chi2": float(chi2),
            "df": int(df),
            "p_value": float(pr1 + w2 * (pr2 - pr1)),
        }
    if not rows:
        warnings.warn(
            "No within-subject term has two or more df (every within factor has two levels), "
            "so sphericity holds by definition and there is nothing to test: the table is empty.",
            UserWarning,
            stacklevel=2,
        )
    return pd.DataFrame.from_dict(rows, orient="index", columns=["W", "chi2", "df", "p_value"])
