"""Seeded two- and three-level data for studying degrees of freedom.

Both simulators return a tidy :class:`pandas.DataFrame` (one row per observation) with a
level-1 predictor ``x``, a level-2 predictor ``w`` and the outcome ``y``, so that every model
of the source notes' Table 2 can be fitted to the same data.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Executor

import numpy as np
import pandas as pd

from mixedtools.lmm.reml import LMMStructure
from mixedtools.sim._fits import _check_reps, _fit, _run, _tests
from mixedtools.sim.examples import _check_variance

_CHUNK = 50  # replicates per task sent to a worker

__all__ = ["two_level", "three_level", "level2_rejection_rates"]


def _labels(prefix, n):
    width = len(str(n))
    return np.array([f"{prefix}{i + 1:0{width}d}" for i in range(n)])


def two_level(
    group_sizes: Sequence[int],
    w: Sequence[float] | None = None,
    *,
    x_design: Sequence[float] | None = None,
    centre_x: bool = False,
    gamma00: float = 0.0,
    gamma01: float = 0.2,
    gamma10: float = 0.3,
    gamma11: float = 0.0,
    tau00: float = 0.5,
    tau11: float = 0.0,
    sigma2: float = 1.0,
    seed: int | None = None,
) -> pd.DataFrame:
    """Simulate a two-level model with a level-1 predictor x and a level-2 predictor w.

    Level 1: ``y_ij = b0_j + b1_j x_ij + e_ij`` with ``e_ij ~ N(0, sigma2)``;
    level 2: ``b0_j = gamma00 + gamma01 w_j + u0_j`` and ``b1_j = gamma10 + gamma11 w_j + u1_j``
    with independent ``u0_j ~ N(0, tau00)`` and ``u1_j ~ N(0, tau11)``.

    Parameters
    ----------
    group_sizes : sequence of int
        Observations per group (K groups); equal sizes give a balanced design.
    w : sequence of float, optional
        The level-2 predictor, one value per group; standard normal draws by default.
    x_design : sequence of float, optional
        The same x values in every group (e.g. measurement occasions); needs equal group
        sizes of ``len(x_design)``. By default x is drawn from N(0, 1) for every row.
    centre_x : bool
        Subtract each group's mean of x, so that x varies within groups only.
    gamma00, gamma01, gamma10, gamma11 : float
        Fixed effects: intercept, w, x and the cross-level interaction x:w.
    tau00, tau11, sigma2 : float
        Variances of the random intercept, the random slope of x and the residual.
    seed : int, optional
        Seed for :func:`numpy.random.default_rng`.

    Returns
    -------
    pandas.DataFrame
        Columns ``group`` (labels ``g01``, ``g02``, ...), ``x``, ``w`` and ``y``.

    Examples
    --------
    >>> from mixedtools.sim.hierarchical import two_level
    >>> d = two_level([3, 5, 4], seed=1)
    >>> d.shape, d["group"].nunique()
    ((12, 4), 3)
    >>> bool((d.groupby("group")["w"].nunique() == 1).all())  # w is a group property
    True
    """
    sizes = np.asarray(group_sizes)
    if sizes.ndim != 1 or len(sizes) < 2:
        raise ValueError("group_sizes must list the sizes of at least 2 groups")
    if not np.issubdtype(sizes.dtype, np.integer) or np.any(sizes < 1):
        raise ValueError("group_sizes must be positive integers")
    tau00, tau11, sigma2 = (
        _check_variance(n, v) for n, v in (("tau00", tau00), ("tau11", tau11), ("sigma2", sigma2))
    )
    rng = np.random.default_rng(seed)
    n_groups, n_obs = len(sizes), int(sizes.sum())
    if w is None:
        w = rng.normal(size=n_groups)
    w = np.asarray(w, float)
    if w.shape != (n_groups,):
        raise ValueError(f"w must hold one value per group ({n_groups}), got shape {w.shape}")
    g = np.repeat(np.arange(n_groups), sizes)
    if x_design is not None:
        x_design = np.asarray(x_design, float)
        if np.any(sizes != len(x_design)):
            raise ValueError("x_design needs every group to have len(x_design) observations")
        x = np.tile(x_design, n_groups)
    else:
        x = rng.normal(size=n_obs)
    if centre_x:
        x = x - (np.bincount(g, weights=x) / sizes)[g]
    u0 = rng.normal(0.0, np.sqrt(tau00), n_groups)
    u1 = rng.normal(0.0, np.sqrt(tau11), n_groups)
    b0 = gamma00 + gamma01 * w + u0
    b1 = gamma10 + gamma11 * w + u1
    y = b0[g] + b1[g] * x + rng.normal(0.0, np.sqrt(sigma2), n_obs)
    return pd.DataFrame({"group": _labels("g", n_groups)[g], "x": x, "w": w[g], "y": y})


def three_level(
    n_regions: int = 25,
    n_groups: int = 420,
    group_size: tuple[int, int] = (2, 12),
    *,
    w_within_sd: float = 0.0,
    gamma_w: float = 0.2,
    gamma_x: float = 0.3,
    tau_region: float = 0.16,
    tau_group: float = 0.16,
    sigma2: float = 1.0,
    seed: int | None = None,
) -> pd.DataFrame:
    """Simulate people in groups (e.g. cities) in regions (e.g. provinces).

    ``y = gamma_x x + gamma_w w + v_region + u_group + e`` with ``v ~ N(0, tau_region)``,
    ``u ~ N(0, tau_group)``, ``e ~ N(0, sigma2)``. The group-level predictor ``w`` is a
    region value (standard normal) plus, optionally, a group-specific part with standard
    deviation ``w_within_sd``; with ``w_within_sd=0`` it varies between regions only.

    Parameters
    ----------
    n_regions : int
        Number of regions; every region gets at least one group.
    n_groups : int
        Number of groups (level-2 units), allocated to regions at random.
    group_size : (int, int)
        Smallest and largest group size; sizes are drawn uniformly in between.
    w_within_sd : float
        Standard deviation of w between groups of the same region.
    gamma_w, gamma_x : float
        Effects of w and of the level-1 predictor x (standard normal).
    tau_region, tau_group, sigma2 : float
        Variances of the region effects, the group effects and the residual.
    seed : int, optional
        Seed for :func:`numpy.random.default_rng`.

    Returns
    -------
    pandas.DataFrame
        Columns ``region``, ``group`` (labels unique across regions), ``x``, ``w``, ``y``.

    Examples
    --------
    >>> from mixedtools.sim.hierarchical import three_level
    >>> d = three_level(n_regions=5, n_groups=40, seed=2)
    >>> d["region"].nunique(), d["group"].nunique()
    (5, 40)
    >>> int(d.groupby("region")["w"].nunique().max())  # w varies between regions only
    1
    """
    if not (isinstance(n_regions, int | np.integer) and n_regions >= 2):
        raise ValueError(f"n_regions must be an integer >= 2, got {n_regions!r}")
    if not (isinstance(n_groups, int | np.integer) and n_groups >= n_regions):
        raise ValueError(f"n_groups must be an integer >= n_regions, got {n_groups!r}")
    low, high = (int(v) for v in group_size)
    if not 1 <= low <= high:
        raise ValueError("group_size must be (smallest, largest) with 1 <= smallest <= largest")
    tau_region, tau_group, sigma2 = (
        _check_variance(n, v)
        for n, v in (("tau_region", tau_region), ("tau_group", tau_group), ("sigma2", sigma2))
    )
    w_within_sd = _check_variance("w_within_sd", w_within_sd)
    rng = np.random.default_rng(seed)
    region_of_group = np.sort(
        np.r_[np.arange(n_regions), rng.integers(0, n_regions, n_groups - n_regions)]
    )
    sizes = rng.integers(low, high + 1, n_groups)
    w_group = rng.normal(size=n_regions)[region_of_group] + w_within_sd * rng.normal(size=n_groups)
    v = rng.normal(0.0, np.sqrt(tau_region), n_regions)
    u = rng.normal(0.0, np.sqrt(tau_group), n_groups)
    g = np.repeat(np.arange(n_groups), sizes)
    x = rng.normal(size=len(g))
    y = (
        gamma_x * x
        + gamma_w * w_group[g]
        + v[region_of_group][g]
        + u[g]
        + rng.normal(0.0, np.sqrt(sigma2), len(g))
    )
    return pd.DataFrame(
        {
            "region": _labels("r", n_regions)[region_of_group][g],
            "group": _labels("c", n_groups)[g],
            "x": x,
            "w": w_group[g],
            "y": y,
        }
    )


def level2_rejection_rates(
    group_sizes: Sequence[int],
    n_reps: int = 200,
    *,
    w: Sequence[float] | None = None,
    methods: Sequence[str] = ("residual", "asymptotic", "hlm", "satterthwaite", "kenward-roger"),
    reml: Sequence[bool] = (True,),
    alpha: float = 0.05,
    tau00: float = 0.5,
    seed: int = 0,
    max_workers: int | None = 1,
    executor: Executor | None = None,
    progress: bool | None = None,
) -> pd.DataFrame:
    """How often the t-test of a level-2 predictor with no effect rejects, by df method.

    Each replicate simulates :func:`two_level` data with ``gamma01 = 0`` (w has no effect),
    fits ``y ~ x + w + (1 | group)`` by (RE)ML from lme4's neutral start and tests w with every
    df method; a test that keeps its level rejects in about ``alpha`` of the replicates.
    :func:`mixedtools.sim.rejection.level2_null` runs the same simulator, started at the truth.

    Parameters
    ----------
    group_sizes : sequence of int
        Group sizes, the same in every replicate.
    n_reps : int
        Number of simulated data sets.
    w : sequence of float, optional
        The level-2 predictor, one value per group, the same in every replicate;
        by default new standard normal draws in each replicate.
    methods : sequence of str
        df methods (see :data:`mixedtools.lmm.ddf.DDF_METHODS`); Kenward-Roger is skipped for
        ML fits.
    reml : sequence of bool
        Fit by REML (True), ML (False) or both.
    alpha : float
        Significance level.
    tau00 : float
        Variance of the random intercepts (the residual variance is 1).
    seed : int
        Replicate ``r`` uses seed ``seed + r``.
    max_workers : int, default 1
        Local worker processes (one BLAS thread each); ``None`` uses all CPUs.
    executor : concurrent.futures.Executor, optional
        Run the replicates (in tasks of 50) there instead, e.g. on a Dask cluster's
        ``Client(...).get_executor()``. The result depends on the seeds only, not on where or
        on how many workers it runs.
    progress : bool, optional
        Progress bar; by default only for a person watching (see :mod:`mixedtools._progress`).

    Returns
    -------
    pandas.DataFrame
        One row per estimation method and df method: ``estimation``, ``ddf``,
        ``rejection_rate`` and ``mc_se`` (its Monte Carlo standard error).

    Examples
    --------
    >>> from mixedtools.sim.hierarchical import level2_rejection_rates
    >>> out = level2_rejection_rates([4, 8, 12, 16, 20], n_reps=5, methods=["hlm"])
    >>> out.columns.tolist()
    ['estimation', 'ddf', 'rejection_rate', 'mc_se']
    """
    return _level2_rates(
        group_sizes,
        n_reps,
        w=w,
        methods=methods,
        reml=reml,
        alpha=alpha,
        tau00=tau00,
        seed=seed,
        start="neutral",
        max_workers=None if executor is not None else max_workers,
        executor=executor,
        progress=progress,
    )


def _level2_chunk(task):
    """Worker: p-values of w (replicates x estimation methods x df methods) for some seeds."""
    sizes, seeds, w, methods, reml, tau00, start = task
    groups = np.repeat(np.arange(len(sizes)), sizes)
    out = np.full((len(seeds), len(reml), len(methods)), np.nan)
    hlm_cache = {}
    for row, seed in enumerate(seeds):
        data = two_level(sizes, w, gamma01=0.0, tau00=tau00, seed=seed)
        ones = np.ones(len(data))
        # y ~ x + w + (1 | group), fitted as mixedtools.lmer's direct optimiser does
        structure = LMMStructure(
            y=data["y"].to_numpy(),
            X=np.column_stack([ones, data["x"], data["w"]]),
            groups=groups,
            Z=ones[:, None],
            fe_names=("Intercept", "x", "w"),
        )
        for e, use_reml in enumerate(reml):
            tau = _fit(structure, use_reml, start=[tau00, 1.0] if start == "truth" else None)
            tests = _tests(structure, tau, use_reml, methods, ("w",), hlm_cache)
            for m, method in enumerate(methods):
                if method in tests:
                    out[row, e, m] = tests[method][0][0]
    return out


def _level2_rates(
    group_sizes,
    n_reps,
    *,
    w,
    methods,
    reml,
    alpha,
    tau00,
    seed,
    start,
    max_workers,
    executor,
    progress,
):
    """The study of :func:`level2_rejection_rates`, with the optimiser's start ("neutral", as
    lme4, or "truth") and where the replicates run; replicate ``r`` uses seed ``seed + r``."""
    _check_reps(n_reps, alpha)
    sizes = np.asarray(group_sizes)
    methods, reml = tuple(methods), tuple(bool(r) for r in reml)
    w = None if w is None else np.asarray(w, float)
    n = int(n_reps)
    seeds = [seed + r for r in range(n)]
    tasks = [
        (sizes, seeds[s : s + _CHUNK], w, methods, reml, tau00, start) for s in range(0, n, _CHUNK)
    ]
    p = np.concatenate(_run(_level2_chunk, tasks, max_workers, executor, progress, 1))
    rows = []
    for e, use_reml in enumerate(reml):
        for m, method in enumerate(methods):
            if method == "kenward-roger" and not use_reml:
                continue
            k = int(np.sum(p[:, e, m] < alpha))
            rows.append(
                ("REML" if use_reml else "ML", method, k / n, np.sqrt(max(k, 0.5) * (n - k) / n**3))
            )
    return pd.DataFrame(rows, columns=["estimation", "ddf", "rejection_rate", "mc_se"])
