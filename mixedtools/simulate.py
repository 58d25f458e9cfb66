"""Seeded simulators for the book's examples.

Each function returns a tidy :class:`pandas.DataFrame` (one row per observation) or a table of
simulation results, and takes a ``seed`` so that every number in the book can be reproduced.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from mixedtools import reml as _reml
from mixedtools._optimize import bounded_refit, neutral_start
from mixedtools._threads import run_parallel

__all__ = [
    "one_way_random",
    "oven_batch",
    "level2_type1_error",
    "level2_t_statistics",
    "schools",
    "power",
    "four_datasets",
]


def _check_variance(name: str, value: float) -> float:
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite, non-negative variance; got {value}.")
    return value


def one_way_random(
    group_sizes: Sequence[int],
    mu: float = 0.0,
    sigma2_between: float = 1.0,
    sigma2_within: float = 1.0,
    seed: int | None = None,
) -> pd.DataFrame:
    """Simulate the one-way random-effects model ``y_ij = mu + alpha_i + e_ij``.

    Parameters
    ----------
    group_sizes : sequence of int
        Number of observations in each group; equal sizes give a balanced design.
    mu : float
        Grand mean.
    sigma2_between : float
        Variance of the group effects ``alpha_i ~ N(0, sigma2_between)``.
    sigma2_within : float
        Variance of the residuals ``e_ij ~ N(0, sigma2_within)``.
    seed : int, optional
        Seed for :func:`numpy.random.default_rng`.

    Returns
    -------
    pandas.DataFrame
        Columns ``group`` (string labels ``g01``, ``g02``, ...), ``alpha`` (the true group
        effect) and ``y``.

    Examples
    --------
    >>> from mixedtools.simulate import one_way_random
    >>> df = one_way_random([5, 5, 5], mu=10, sigma2_between=4, sigma2_within=1, seed=1)
    >>> df.shape
    (15, 3)
    >>> df.groupby("group").size().tolist()
    [5, 5, 5]
    """
    sizes = np.asarray(group_sizes, dtype=int)
    if sizes.ndim != 1 or sizes.size < 2 or np.any(sizes < 1):
        raise ValueError("group_sizes must list at least two groups, each with one or more rows.")
    sb = _check_variance("sigma2_between", sigma2_between)
    sw = _check_variance("sigma2_within", sigma2_within)
    rng = np.random.default_rng(seed)
    width = len(str(sizes.size))
    labels = np.array([f"g{i + 1:0{width}d}" for i in range(sizes.size)])
    alpha = rng.normal(0.0, np.sqrt(sb), size=sizes.size)
    group_index = np.repeat(np.arange(sizes.size), sizes)
    y = mu + alpha[group_index] + rng.normal(0.0, np.sqrt(sw), size=group_index.size)
    return pd.DataFrame({"group": labels[group_index], "alpha": alpha[group_index], "y": y})


def oven_batch(
    oven_means: Sequence[float] = (10.0, 12.0),
    n_batches: int = 3,
    n_parts: int = 5,
    sigma2_batch: float = 1.0,
    sigma2_part: float = 0.25,
    seed: int | None = None,
) -> pd.DataFrame:
    """Simulate the oven/batch shrinkage experiment: batches nested in ovens, parts in batches.

    Oven is a fixed factor (its levels are the ovens we care about); batch is a random factor
    nested in oven (each batch is baked in one oven only), and parts are measured within batches:
    ``shrinkage = oven_mean + b_batch + e_part``.

    Parameters
    ----------
    oven_means : sequence of float
        Mean shrinkage of each oven (the fixed effects); ovens are labelled ``A``, ``B``, ...
    n_batches : int
        Batches baked in each oven.
    n_parts : int
        Parts measured in each batch.
    sigma2_batch : float
        Variance of the batch effects.
    sigma2_part : float
        Variance of part-to-part variation within a batch.
    seed : int, optional
        Seed for :func:`numpy.random.default_rng`.

    Returns
    -------
    pandas.DataFrame
        Columns ``oven``, ``batch`` (unique labels such as ``A1``), ``part`` and ``shrinkage``.

    Examples
    --------
    >>> from mixedtools.simulate import oven_batch
    >>> df = oven_batch(seed=1)
    >>> df.shape
    (30, 4)
    >>> sorted(df["batch"].unique())
    ['A1', 'A2', 'A3', 'B1', 'B2', 'B3']
    """
    means = np.asarray(oven_means, dtype=float)
    if means.ndim != 1 or means.size < 1 or means.size > 26:
        raise ValueError("oven_means must list between 1 and 26 oven means.")
    if n_batches < 2 or n_parts < 1:
        raise ValueError("Need at least two batches per oven and one part per batch.")
    sb = _check_variance("sigma2_batch", sigma2_batch)
    sp = _check_variance("sigma2_part", sigma2_part)
    rng = np.random.default_rng(seed)
    ovens = [chr(ord("A") + i) for i in range(means.size)]
    rows = []
    for oven, mean in zip(ovens, means, strict=True):
        for b in range(n_batches):
            batch_effect = rng.normal(0.0, np.sqrt(sb))
            parts = mean + batch_effect + rng.normal(0.0, np.sqrt(sp), size=n_parts)
            for p, value in enumerate(parts):
                rows.append((oven, f"{oven}{b + 1}", p + 1, value))
    return pd.DataFrame(rows, columns=["oven", "batch", "part", "shrinkage"])


def level2_type1_error(
    n_groups: int,
    group_size: int,
    icc: float | Iterable[float],
    n_reps: int = 2000,
    alpha: float = 0.05,
    seed: int | None = None,
) -> pd.DataFrame:
    """False-positive rate of a test for a level-2 predictor that has no effect.

    Data follow ``y_ij = u_j + e_ij`` with ``Var(u_j) = icc`` and ``Var(e_ij) = 1 - icc``; a
    group-level predictor ``w_j ~ N(0, 1)`` is unrelated to ``y``. Two analyses test its slope:

    * ``"OLS (ignores nesting)"``: ordinary regression of ``y_ij`` on ``w_j`` over all ``N`` rows,
      t-test with ``N - 2`` df, as if the rows were independent;
    * ``"mixed model"``: the random-intercept model ``y ~ w + (1 | group)``. For a balanced design
      (and a positive between-group variance estimate) its REML t-test of ``w`` is the regression of
      the group means on ``w`` with ``K - 2`` df, which is what is computed here, for speed.

    Parameters
    ----------
    n_groups : int
        Number of groups ``K`` (at least 3).
    group_size : int
        Rows per group ``n`` (balanced design).
    icc : float or iterable of float
        Intra-class correlation(s) in ``[0, 1)``.
    n_reps : int
        Monte Carlo replications per ICC value.
    alpha : float
        Nominal significance level.
    seed : int, optional
        Seed for :func:`numpy.random.default_rng`.

    Returns
    -------
    pandas.DataFrame
        One row per ICC and method: ``icc``, ``method``, ``rejection_rate``, ``mc_se`` (Monte Carlo
        standard error of the rate) and ``design_effect`` ``1 + (n - 1) icc``.

    Examples
    --------
    >>> from mixedtools.simulate import level2_type1_error
    >>> res = level2_type1_error(20, 10, icc=[0.0, 0.3], n_reps=500, seed=1)
    >>> res[["icc", "method"]].shape
    (4, 2)
    """
    k, n = int(n_groups), int(group_size)
    if k < 3 or n < 1:
        raise ValueError("Need at least 3 groups and 1 row per group.")
    iccs = np.atleast_1d(np.asarray(list(icc) if not np.isscalar(icc) else [icc], dtype=float))
    if np.any((iccs < 0) | (iccs >= 1)):
        raise ValueError("icc values must lie in [0, 1).")
    rng = np.random.default_rng(seed)
    rows = []
    for rho in iccs:
        w = rng.normal(size=(n_reps, k))
        u = rng.normal(0.0, np.sqrt(rho), size=(n_reps, k))
        e = rng.normal(0.0, np.sqrt(1.0 - rho), size=(n_reps, k, n))
        y = u[:, :, None] + e
        t_ols, t_mixed = level2_t_statistics(y, w)
        for method, t, df in (
            ("OLS (ignores nesting)", t_ols, k * n - 2),
            ("mixed model", t_mixed, k - 2),
        ):
            p = 2 * stats.t.sf(np.abs(t), df)
            rate = float(np.mean(p < alpha))
            rows.append(
                {
                    "icc": float(rho),
                    "method": method,
                    "rejection_rate": rate,
                    "mc_se": float(np.sqrt(rate * (1 - rate) / n_reps)),
                    "design_effect": 1 + (n - 1) * float(rho),
                }
            )
    return pd.DataFrame(rows)


def level2_t_statistics(y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """t statistics for the slope of a group-level predictor in balanced grouped data.

    Parameters
    ----------
    y : numpy.ndarray, shape (..., K, n)
        Outcomes of ``n`` rows in each of ``K`` groups (leading axes: replications).
    w : numpy.ndarray, shape (..., K)
        The group-level predictor.

    Returns
    -------
    t_ols, t_mixed : numpy.ndarray, shape (...)
        ``t_ols`` is the OLS t statistic of ``y ~ w`` fitted to all ``K n`` rows (``K n - 2`` df);
        ``t_mixed`` is the regression of the group means on ``w`` (``K - 2`` df), which equals the
        REML t statistic of ``y ~ w + (1 | group)`` for balanced data when the estimated
        between-group variance is positive.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> t_ols, t_mixed = level2_t_statistics(rng.normal(size=(10, 4)), rng.normal(size=10))
    >>> bool(abs(t_ols) >= 0 and abs(t_mixed) >= 0)
    True
    """
    k, n = y.shape[-2], y.shape[-1]
    ybar = y.mean(axis=-1)
    ss_within = ((y - ybar[..., None]) ** 2).sum(axis=(-2, -1))
    wc = w - w.mean(axis=-1, keepdims=True)
    sxx = (wc**2).sum(axis=-1)
    slope = (wc * ybar).sum(axis=-1) / sxx
    fitted = ybar.mean(axis=-1, keepdims=True) + slope[..., None] * wc
    ss_means = ((ybar - fitted) ** 2).sum(axis=-1)
    # OLS on all rows: its residuals split into within-group and between-group parts.
    se_ols = np.sqrt((ss_within + n * ss_means) / (k * n - 2) / (n * sxx))
    se_mixed = np.sqrt(ss_means / (k - 2) / sxx)
    return slope / se_ols, slope / se_mixed


# --------------------------------------------------------------------------------------------
# Schools: IQ and GPA (the notes' Figures 1 and 2)
# --------------------------------------------------------------------------------------------


def _group_sizes(students: int | tuple[int, int], n_groups: int, rng: np.random.Generator):
    """Rows per group: a fixed int, or an inclusive ``(low, high)`` range drawn uniformly."""
    if isinstance(students, (int, np.integer)):
        if students < 2:
            raise ValueError(f"students must be at least 2 per school; got {students}.")
        return np.full(n_groups, int(students))
    try:
        low, high = (int(v) for v in students)
    except (TypeError, ValueError):
        raise ValueError(
            f"students must be an int or a (low, high) pair of ints; got {students!r}."
        ) from None
    if not 2 <= low <= high:
        raise ValueError(f"students range must satisfy 2 <= low <= high; got ({low}, {high}).")
    return rng.integers(low, high + 1, size=n_groups)


def _school_effects(school_effects) -> dict[str, tuple[float, float]]:
    """Validate ``{name: effect_on_intercept}`` or ``{name: (on_intercept, on_slope)}``."""
    if school_effects is None:
        return {}
    if not isinstance(school_effects, dict):
        raise ValueError("school_effects must be a dict such as {'funding': (0.2, 0.01)}.")
    reserved = {"school", "elite", "iq", "gpa", "true_intercept", "true_slope"}
    checked = {}
    for name, effect in school_effects.items():
        if not isinstance(name, str) or not name.isidentifier() or name in reserved:
            raise ValueError(
                f"school_effects name {name!r} must be a Python identifier other than "
                f"{sorted(reserved)}."
            )
        pair = (effect, 0.0) if np.isscalar(effect) else tuple(effect)
        if len(pair) != 2 or not all(np.isfinite(float(v)) for v in pair):
            raise ValueError(
                f"school_effects[{name!r}] must be a number (effect on the intercept) or a "
                f"pair (effect on the intercept, effect on the IQ slope); got {effect!r}."
            )
        checked[name] = (float(pair[0]), float(pair[1]))
    return checked


def schools(
    n_schools: int = 20,
    students: int | tuple[int, int] = 30,
    slope: float = 0.03,
    slope_sd: float = 0.0,
    intercept_sd: float = 0.15,
    residual_sd: float = 0.25,
    elite_fraction: float = 0.3,
    elite_effect: float = -1.5,
    school_effects: dict[str, float | tuple[float, float]] | None = None,
    seed: int | None = None,
) -> pd.DataFrame:
    """Simulate IQ and GPA of students in elite and ordinary schools.

    The source notes' example of why nesting matters: pooled over all schools, GPA looks unrelated
    (or negatively related) to IQ, yet within every school higher IQ goes with higher GPA.
    The mechanism is selection plus a school-level difference. Schools admit students by IQ:
    an elite school's students come from a high IQ band (school IQ level ~ N(120, 4^2)), an
    ordinary school's from an average band (~ N(98, 4^2)); within a school, IQ ~ N(level, 6^2).
    Elite schools also grade harder (``elite_effect`` < 0), so their whole line sits lower.

    The model is the two-level model of the notes, with IQ centred at 100::

        Level 1:  gpa_ij = b0_j + b1_j (iq_ij - 100) + e_ij
        Level 2:  b0_j   = 3 + elite_effect * elite_j + sum_w g0w * w_j + u0_j
                  b1_j   = slope + sum_w g1w * w_j + u1_j

    with ``e_ij ~ N(0, residual_sd^2)``, ``u0_j ~ N(0, intercept_sd^2)`` and
    ``u1_j ~ N(0, slope_sd^2)``, all independent, and ``w_j`` optional school-level
    predictors (standard normal, independent of ``elite``) given in ``school_effects``; ``g0w``
    is a level-2 effect on the intercept and ``g1w`` a cross-level interaction (it changes the
    IQ slope).

    Parameters
    ----------
    n_schools : int
        Number of schools (at least 2).
    students : int or (int, int)
        Students per school: a fixed number (balanced data) or an inclusive range
        ``(low, high)`` from which each school's size is drawn uniformly (unbalanced data).
    slope : float
        Average within-school slope of GPA on IQ (GPA points per IQ point), ``gamma_10``.
    slope_sd : float
        Standard deviation of the schools' random slopes ``u1_j`` (0: fixed slope, the
        notes' random-intercept / fixed-slope model).
    intercept_sd : float
        Standard deviation of the random intercepts ``u0_j`` (``tau_00 = intercept_sd**2``).
    residual_sd : float
        Standard deviation of the student-level residuals (``sigma``).
    elite_fraction : float
        Share of schools that are elite, in ``[0, 1]``; at least one school of each kind is
        kept whenever ``0 < elite_fraction < 1``.
    elite_effect : float
        Shift of an elite school's intercept (GPA at IQ 100). Negative values (harder grading)
        make the pooled slope flat or negative.
    school_effects : dict, optional
        School-level predictors to add, e.g. ``{"funding": 0.2}`` (effect on the intercept only)
        or ``{"funding": (0.2, 0.01)}`` (effect on the intercept, cross-level effect on the
        slope). Each becomes a standard-normal school-level column.
    seed : int, optional
        Seed for :func:`numpy.random.default_rng`.

    Returns
    -------
    pandas.DataFrame
        One row per student: ``school`` (labels ``s01``, ...), ``elite`` (bool), ``iq``,
        ``gpa``, one column per school-level predictor, ``true_intercept`` (the school's
        ``b0_j``: expected GPA at IQ 100) and ``true_slope`` (the school's ``b1_j``).

    Examples
    --------
    >>> from mixedtools.simulate import schools
    >>> df = schools(n_schools=12, students=(15, 25), school_effects={"funding": (0.2, 0.01)},
    ...              seed=1)
    >>> list(df.columns)
    ['school', 'elite', 'iq', 'gpa', 'funding', 'true_intercept', 'true_slope']
    >>> df.groupby("school")["funding"].nunique().max()  # constant within a school
    np.int64(1)
    """
    k = int(n_schools)
    if k < 2:
        raise ValueError(f"n_schools must be at least 2; got {n_schools}.")
    for name, value in (
        ("slope_sd", slope_sd),
        ("intercept_sd", intercept_sd),
        ("residual_sd", residual_sd),
    ):
        if not np.isfinite(value) or value < 0:
            raise ValueError(
                f"{name} must be a finite, non-negative standard deviation; got {value}."
            )
    if not 0 <= elite_fraction <= 1:
        raise ValueError(f"elite_fraction must lie in [0, 1]; got {elite_fraction}.")
    effects = _school_effects(school_effects)
    rng = np.random.default_rng(seed)
    sizes = _group_sizes(students, k, rng)

    n_elite = int(round(elite_fraction * k))
    if 0 < elite_fraction < 1:
        n_elite = min(max(n_elite, 1), k - 1)
    elite = np.zeros(k, dtype=bool)
    elite[rng.choice(k, size=n_elite, replace=False)] = True
    iq_level = np.where(elite, 120.0, 98.0) + rng.normal(0.0, 4.0, size=k)
    predictors = {name: rng.normal(size=k) for name in effects}

    intercept = 3.0 + elite_effect * elite + rng.normal(0.0, intercept_sd, size=k)
    school_slope = slope + rng.normal(0.0, slope_sd, size=k)
    for name, (on_intercept, on_slope) in effects.items():
        intercept += on_intercept * predictors[name]
        school_slope += on_slope * predictors[name]

    index = np.repeat(np.arange(k), sizes)
    iq = iq_level[index] + rng.normal(0.0, 6.0, size=index.size)
    gpa = (
        intercept[index]
        + school_slope[index] * (iq - 100.0)
        + rng.normal(0.0, residual_sd, size=index.size)
    )
    width = max(2, len(str(k)))
    labels = np.array([f"s{j + 1:0{width}d}" for j in range(k)])
    columns = {"school": labels[index], "elite": elite[index], "iq": iq, "gpa": gpa}
    columns.update({name: values[index] for name, values in predictors.items()})
    columns.update({"true_intercept": intercept[index], "true_slope": school_slope[index]})
    return pd.DataFrame(columns)


# --------------------------------------------------------------------------------------------
# Four data sets, one fitted line (the notes' regression figure)
# --------------------------------------------------------------------------------------------

FOUR_DATASETS = ("adequate", "nonlinear", "outlier", "leverage")


def _match_line(x, y, intercept, slope, residual_sd, x_mean, x_sd):
    """Rescale x and y so that OLS of y on x gives exactly this line and residual SD.

    x is moved to the common mean and SD (an affine change keeps the shape of the cloud).
    Subtracting the data's own OLS line and adding the target line keeps the residuals;
    rescaling them sets their standard deviation. OLS residuals are orthogonal to ``[1, x]``,
    so the fitted line is exactly the target one.
    """
    x = x_mean + (x - x.mean()) / x.std() * x_sd
    b, a = np.polyfit(x, y, 1)
    resid = y - (a + b * x)
    scale = residual_sd / np.sqrt(resid @ resid / (x.size - 2))
    return x, intercept + slope * x + scale * resid


def four_datasets(
    seed: int | None = None,
    n: int = 12,
    intercept: float = 3.0,
    slope: float = 0.5,
    residual_sd: float = 1.2,
) -> pd.DataFrame:
    """Four data sets with the same OLS line but very different stories (after Anscombe, 1973).

    The source notes' four panels: the fixed part of a regression (the fitted line) can be the
    same while the random part (the residuals) shows the model is wrong.

    * ``adequate``: x and y roughly bivariate normal; a straight line is the right model;
    * ``nonlinear``: y is a quadratic function of x; a straight line misses the curve;
    * ``outlier``: the points lie on a tight line except one outlier in y, which tilts the fit;
    * ``leverage``: x hardly varies except one far point, which alone determines the slope.

    Each set is rescaled so that x has the same mean (9) and standard deviation in all four, and
    OLS gives exactly ``intercept``, ``slope`` and residual standard deviation ``residual_sd``
    (hence also the same R^2, standard errors and t statistics) up to floating-point rounding.

    Parameters
    ----------
    seed : int, optional
        Seed for :func:`numpy.random.default_rng`.
    n : int
        Points per data set (at least 6).
    intercept, slope : float
        The common OLS line.
    residual_sd : float
        The common residual standard deviation (positive).

    Returns
    -------
    pandas.DataFrame
        Columns ``dataset`` (one of ``"adequate"``, ``"nonlinear"``, ``"outlier"``,
        ``"leverage"``, in that order), ``x`` and ``y``; ``4 n`` rows.

    Examples
    --------
    >>> import numpy as np
    >>> from mixedtools.simulate import four_datasets
    >>> df = four_datasets(seed=1)
    >>> lines = {name: np.polyfit(d["x"], d["y"], 1) for name, d in df.groupby("dataset")}
    >>> {name: np.round(coef, 6).tolist() for name, coef in lines.items()}["outlier"]
    [0.5, 3.0]
    """
    n = int(n)
    if n < 6:
        raise ValueError(f"n must be at least 6 points per data set; got {n}.")
    if not np.isfinite(residual_sd) or residual_sd <= 0:
        raise ValueError(f"residual_sd must be positive; got {residual_sd}.")
    rng = np.random.default_rng(seed)
    x_grid = np.linspace(4.0, 14.0, n)

    x1 = np.sort(rng.uniform(4.0, 14.0, size=n))
    y1 = x1 + rng.normal(0.0, 1.0, size=n)

    y2 = -((x_grid - 11.0) ** 2) + rng.normal(0.0, 0.15, size=n)

    y3 = 0.35 * x_grid + rng.normal(0.0, 0.05, size=n)
    far = n - 3  # an interior point near the right end, as in Anscombe's third set
    y3[far] += 4.0

    x4 = np.r_[8.0 + rng.normal(0.0, 0.3, size=n - 1), 19.0]
    y4 = np.r_[rng.normal(0.0, 1.0, size=n - 1), 6.0]

    frames = []
    for name, x, y in zip(FOUR_DATASETS, (x1, x_grid, x_grid, x4), (y1, y2, y3, y4), strict=True):
        x, y = _match_line(x, y, intercept, slope, residual_sd, 9.0, x_grid.std())
        frames.append(pd.DataFrame({"dataset": name, "x": x, "y": y}))
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------------------------
# Power and coverage of level-2 and cross-level tests
# --------------------------------------------------------------------------------------------

_POWER_TERMS = {"level-2": 1, "cross-level": 3}  # columns of [1, w, x, x*w]
_CHUNK = 25  # replicates per task sent to a worker


def _two_level_design(k: int, n: int, rng: np.random.Generator, params: dict):
    """One balanced data set from the full model with a random intercept and slope.

    ``y_ij = g00 + g01 w_j + (g10 + g11 w_j) x_ij + u0_j + u1_j x_ij + e_ij`` with
    ``w_j, x_ij ~ N(0, 1)``. Returns ``y``, the fixed design ``[1, w, x, x w]`` and the random
    design ``[1, x]``, each stacked group by group (``k n`` rows).
    """
    w = rng.normal(size=k)
    x = rng.normal(size=(k, n))
    u0 = rng.normal(0.0, np.sqrt(params["intercept_var"]), size=k)
    u1 = rng.normal(0.0, np.sqrt(params["slope_var"]), size=k)
    e = rng.normal(0.0, np.sqrt(params["residual_var"]), size=(k, n))
    slope_j = params["slope"] + params["cross_level_effect"] * w + u1
    y = params["level2_effect"] * w[:, None] + u0[:, None] + slope_j[:, None] * x + e
    ww = np.repeat(w, n)
    xx = x.ravel()
    exog = np.column_stack([np.ones(k * n), ww, xx, xx * ww])
    exog_re = np.column_stack([np.ones(k * n), xx])
    return y.ravel(), exog, exog_re


def _fit_random_slope_model(y, exog, exog_re, groups, maxiter, engine):
    """REML fit of ``y ~ w * x + (x | group)``: (estimates, standard errors) or ``None`` if failed.

    ``engine="reml"`` maximises the profiled REML criterion of :mod:`mixedtools.reml` with
    :func:`mixedtools._optimize.bounded_refit` from lme4's neutral start; ``"statsmodels"`` uses
    :class:`~statsmodels.regression.mixed_linear_model.MixedLM` (L-BFGS). Either way the
    estimates and standard errors are the GLS ones at the fitted variance parameters, ``beta``
    and ``sqrt(diag(Phi))`` with ``Phi = (X' V^-1 X)^-1`` (what lme4 and the HLM program report;
    statsmodels' own Hessian-based ``bse`` differs near the boundary).
    """
    import warnings

    structure = _reml.LMMStructure(y=y, X=exog, groups=groups, Z=exog_re)
    if engine == "reml":
        try:
            tau, converged = bounded_refit(
                structure,
                neutral_start(structure),
                reml=True,
                try_neutral_start=False,
                maxiter=maxiter,
                return_success=True,
            )
        except np.linalg.LinAlgError:
            return None
        if not converged:
            return None
    else:
        from statsmodels.regression.mixed_linear_model import MixedLM
        from statsmodels.tools.sm_exceptions import ConvergenceWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", ConvergenceWarning)
            try:
                fit = MixedLM(y, exog, groups=groups, exog_re=exog_re).fit(
                    reml=True, method="lbfgs", maxiter=maxiter
                )
            except (ConvergenceWarning, np.linalg.LinAlgError, ValueError):
                return None
        if not fit.converged:
            return None
        tau = structure.tau_from(G=np.asarray(fit.cov_re), sigma2=float(fit.scale))
    try:
        quantities = _reml.reml_quantities(structure, tau)
    except (np.linalg.LinAlgError, ValueError):
        return None
    estimates, se = quantities.beta, np.sqrt(np.diag(quantities.Phi))
    if not (np.all(np.isfinite(estimates)) and np.all(np.isfinite(se))):
        return None
    return estimates, se


def _power_replicates(task):
    """Worker: fit each replicate of a chunk; rows [est_w, se_w, est_xw, se_xw], NaN if failed."""
    k, n, params, seeds, maxiter, engine = task
    groups = np.repeat(np.arange(k), n)
    columns = list(_POWER_TERMS.values())
    out = np.full((len(seeds), 2 * len(columns)), np.nan)
    for row, seed_seq in enumerate(seeds):
        y, exog, exog_re = _two_level_design(k, n, np.random.default_rng(seed_seq), params)
        fitted = _fit_random_slope_model(y, exog, exog_re, groups, maxiter, engine)
        if fitted is not None:
            estimates, se = fitted
            out[row, 0::2] = estimates[columns]
            out[row, 1::2] = se[columns]
    return out


def _as_int_tuple(name, values, minimum):
    values = (values,) if np.isscalar(values) else tuple(values)
    if len(values) == 0:
        raise ValueError(f"{name} must list at least one value.")
    checked = []
    for v in values:
        if int(v) != v or v < minimum:
            raise ValueError(f"{name} values must be integers >= {minimum}; got {v!r}.")
        checked.append(int(v))
    return tuple(checked)


def power(
    n_groups: int | Iterable[int] = (10, 20, 40),
    group_size: int | Iterable[int] = (5, 20),
    n_reps: int = 200,
    level2_effect: float = 0.3,
    cross_level_effect: float = 0.2,
    slope: float = 0.3,
    intercept_var: float = 0.2,
    slope_var: float = 0.05,
    residual_var: float = 1.0,
    alpha: float = 0.05,
    seed: int | None = None,
    max_workers: int | None = None,
    maxiter: int = 200,
    engine: str = "reml",
) -> pd.DataFrame:
    """Simulated power and confidence-interval coverage for level-2 and cross-level effects.

    For every combination of ``K`` groups (``n_groups``) and ``n`` rows per group
    (``group_size``), ``n_reps`` balanced data sets are drawn from the full two-level model ::

        y_ij = g00 + g01 w_j + (g10 + g11 w_j) x_ij + u0_j + u1_j x_ij + e_ij

    with a level-2 predictor ``w_j ~ N(0, 1)``, a level-1 predictor ``x_ij ~ N(0, 1)``,
    ``g00 = 0``, ``g01 = level2_effect``, ``g10 = slope``, ``g11 = cross_level_effect``,
    independent ``u0_j``, ``u1_j`` and ``e_ij``. Each data set is fitted by REML as
    ``y ~ w * x + (x | group)`` (random intercept and slope with their correlation) and the two
    effects are tested two-sided at level ``alpha`` in two ways:

    * ``"t (HLM df)"``: t distribution with the HLM program's df, ``K - q - 1`` for the
      level-2 effect and ``K - q_c - 1`` for the cross-level interaction (here ``q = q_c = 1``,
      so ``K - 2`` for both);
    * ``"z"``: the standard normal (the asymptotic test, as if ``K`` were infinite).

    Standard errors are ``sqrt(diag((X' V^-1 X)^-1))`` at the REML estimates, as in lme4 and
    the HLM program (statsmodels' own Hessian-based ``bse`` differs near the boundary).

    Two fitting engines give the same REML estimates:

    * ``"reml"`` (default): lme4's profiled REML criterion from :mod:`mixedtools.reml` (the
      engine behind :func:`mixedtools.lmer`), computed blockwise from per-group cross-products
      and minimised with its analytic gradient by L-BFGS-B over the relative covariance factor,
      with its diagonal bounded at 0 (as lme4 does). About 5 ms per fit; boundary (singular)
      fits are ordinary results, not failures.
    * ``"statsmodels"``: :class:`statsmodels.regression.mixed_linear_model.MixedLM` with
      L-BFGS. About 10 times slower, and with few groups or small ``n`` a sizeable share of fits
      end with a convergence warning when the slope variance is near 0; those count as failed.

    Confidence intervals use the same reference distribution as the test, so coverage is the
    share of intervals ``estimate +- quantile * se`` that contain the true value.

    Replicates run in parallel in a :class:`concurrent.futures.ProcessPoolExecutor`. Every
    replicate has its own child of ``numpy.random.SeedSequence(seed)``, so the results do not
    depend on ``max_workers``. Workers are started fresh ("spawn") with one BLAS thread each,
    so a script (not a notebook) that calls this with several workers needs the usual
    ``if __name__ == "__main__":`` guard.

    Parameters
    ----------
    n_groups : int or iterable of int
        Numbers of groups ``K`` to study (each at least 4).
    group_size : int or iterable of int
        Rows per group ``n`` (each at least 2).
    n_reps : int
        Replicates per ``(K, n)`` setting.
    level2_effect, cross_level_effect : float
        True ``g01`` and ``g11``. Set one to 0 to estimate that test's type I error rate.
    slope : float
        True average slope ``g10`` of ``x``.
    intercept_var, slope_var, residual_var : float
        Variances of ``u0_j``, ``u1_j`` (both non-negative) and ``e_ij`` (positive).
    alpha : float
        Significance level; intervals have coverage ``1 - alpha`` nominally.
    seed : int, optional
        Seed of the root :class:`numpy.random.SeedSequence`.
    max_workers : int, optional
        Worker processes; default :func:`os.cpu_count`. With 1, everything runs in this process.
    maxiter : int
        Iteration limit of the optimizer; fits that stop without converging count as failed.
    engine : {"reml", "statsmodels"}
        Fitting engine (see above).

    Returns
    -------
    pandas.DataFrame
        One row per ``(K, n, effect, method)``: ``K``, ``n``, ``effect`` (``"level-2"`` or
        ``"cross-level"``), ``method`` (``"t (HLM df)"`` or ``"z"``), ``df`` (``inf`` for z),
        ``power`` (rejection rate among converged fits), ``coverage``, ``mc_se`` (Monte Carlo
        standard error of ``power``) and ``n_failed`` (fits that failed or did not converge;
        they are left out of ``power`` and ``coverage``).

    Examples
    --------
    >>> from mixedtools.simulate import power
    >>> res = power(n_groups=8, group_size=5, n_reps=10, seed=1, max_workers=1)
    >>> res[["K", "n", "effect", "method"]].to_records(index=False).tolist()[:2]
    [(8, 5, 'level-2', 't (HLM df)'), (8, 5, 'level-2', 'z')]
    >>> bool(res["power"].between(0, 1).all())
    True
    """
    ks = _as_int_tuple("n_groups", n_groups, 4)
    ns = _as_int_tuple("group_size", group_size, 2)
    if int(n_reps) != n_reps or n_reps < 1:
        raise ValueError(f"n_reps must be a positive integer; got {n_reps!r}.")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1); got {alpha}.")
    _check_variance("intercept_var", intercept_var)
    _check_variance("slope_var", slope_var)
    if not residual_var > 0 or not np.isfinite(residual_var):
        raise ValueError(f"residual_var must be a positive variance; got {residual_var}.")
    workers = (os.cpu_count() or 1) if max_workers is None else int(max_workers)
    if workers < 1:
        raise ValueError(f"max_workers must be at least 1; got {max_workers}.")
    if engine not in ("reml", "statsmodels"):
        raise ValueError(f"engine must be 'reml' or 'statsmodels'; got {engine!r}.")
    params = {
        "level2_effect": float(level2_effect),
        "cross_level_effect": float(cross_level_effect),
        "slope": float(slope),
        "intercept_var": float(intercept_var),
        "slope_var": float(slope_var),
        "residual_var": float(residual_var),
    }
    settings = [(k, n) for k in ks for n in ns]
    setting_seeds = np.random.SeedSequence(seed).spawn(len(settings))
    tasks = []
    for (k, n), setting_seed in zip(settings, setting_seeds, strict=True):
        replicate_seeds = setting_seed.spawn(int(n_reps))
        for start in range(0, int(n_reps), _CHUNK):
            chunk = replicate_seeds[start : start + _CHUNK]
            tasks.append((k, n, params, chunk, int(maxiter), engine))

    chunks = run_parallel(_power_replicates, tasks, workers)
    results = np.concatenate(chunks).reshape(len(settings), int(n_reps), -1)

    truth = {"level-2": params["level2_effect"], "cross-level": params["cross_level_effect"]}
    rows = []
    for (k, n), reps in zip(settings, results, strict=True):
        for column, effect in enumerate(_POWER_TERMS):
            estimate, se = reps[:, 2 * column], reps[:, 2 * column + 1]
            ok = np.isfinite(estimate)
            estimate, se = estimate[ok], se[ok]
            for method, df in (("t (HLM df)", float(k - 2)), ("z", np.inf)):
                critical = (
                    stats.t.ppf(1 - alpha / 2, df)
                    if np.isfinite(df)
                    else stats.norm.ppf(1 - alpha / 2)
                )
                reject = np.abs(estimate / se) > critical
                covered = np.abs(estimate - truth[effect]) <= critical * se
                n_ok = int(ok.sum())
                rate = float(reject.mean()) if n_ok else np.nan
                rows.append(
                    {
                        "K": k,
                        "n": n,
                        "effect": effect,
                        "method": method,
                        "df": df,
                        "power": rate,
                        "coverage": float(covered.mean()) if n_ok else np.nan,
                        "mc_se": float(np.sqrt(rate * (1 - rate) / n_ok)) if n_ok else np.nan,
                        "n_failed": int(n_reps) - n_ok,
                    }
                )
    return pd.DataFrame(rows)
