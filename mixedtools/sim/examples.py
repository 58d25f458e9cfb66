"""Seeded simulators for the book's examples.

Each function returns a tidy :class:`pandas.DataFrame` (one row per observation) or a table of
simulation results, and takes a ``seed`` so that every number in the book can be reproduced.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["one_way_random", "oven_batch", "schools", "four_datasets"]


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
    >>> from mixedtools.sim import one_way_random
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
    >>> from mixedtools.sim import oven_batch
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
    >>> from mixedtools.sim import schools
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
    >>> from mixedtools.sim import four_datasets
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
