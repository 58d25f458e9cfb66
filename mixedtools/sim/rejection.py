"""How often tests reject a true null hypothesis: which analyses of grouped data keep their level.

Two simulation studies behind chapters 1 and 4:

* :func:`fixed_vs_random` compares the three ways to analyse students in schools — pooled OLS
  (ignore the schools), school dummies (schools as a fixed factor) and the random-intercept model
  with Satterthwaite df — for a level-1 and a level-2 predictor that have no effect;
* :func:`level2_null` gives the results of ``mt.dfdata.level2_rejection_rates`` (a
  level-2 predictor in ``y ~ x + w + (1 | group)``, REML and ML) in a fraction of the time;
* :func:`cross_level_null` counts the rejections of the level-2 and cross-level tests of
  ``y ~ x * w + (x | group)`` under each df method, for any set of group sizes.

All fit the mixed models with the blockwise REML engine behind :func:`mixedtools.lmer` (without
building formulas thousands of times) and run replicates in tasks of 50 on local worker processes
or on any :class:`concurrent.futures.Executor` (``executor=``), as :func:`mixedtools.sim.power`
does. Every replicate has its own seed (a child of ``numpy.random.SeedSequence(seed)``, or
``seed + r`` in :func:`level2_null`) and results are gathered in task order, so they do not
depend on where or on how many workers they run.
"""

from __future__ import annotations

from concurrent.futures import Executor

import numpy as np
import pandas as pd
from scipy import stats

from mixedtools.lmm import reml as _reml
from mixedtools.lmm.ddf import DDF_METHODS, coef_table
from mixedtools.sim._fits import _check_reps, _fit, _rate_row, _run, _tests
from mixedtools.sim.hierarchical import _level2_rates, two_level

__all__ = ["fixed_vs_random", "cross_level_null", "level2_null"]

_CHUNK = 50  # replicates per task sent to a worker


# ------------------------------------------------------------------------------------------
# Chapter 1: pooled OLS, school dummies, mixed model
# ------------------------------------------------------------------------------------------

_ANALYSES = ("pooled OLS", "school dummies", "mixed model (Satterthwaite)")


def _ols_p(X, y, column):
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ beta
    df = X.shape[0] - X.shape[1]
    cov = resid @ resid / df * np.linalg.inv(X.T @ X)
    t = beta[column] / np.sqrt(cov[column, column])
    return 2 * stats.t.sf(abs(t), df)


def _fixed_vs_random_chunk(task):
    k, n, icc, seeds = task
    groups = np.repeat(np.arange(k), n)
    out = np.full((len(seeds), 5), np.nan)  # p: OLS x, OLS w, dummies x, mixed x, mixed w
    for row, seed in enumerate(seeds):
        rng = np.random.default_rng(seed)
        w = rng.normal(size=k)[groups]
        x = rng.normal(size=k * n)
        y = rng.normal(0.0, np.sqrt(icc), size=k)[groups] + rng.normal(
            0.0, np.sqrt(1.0 - icc), size=k * n
        )
        X = np.column_stack([np.ones(k * n), x, w])
        out[row, 0] = _ols_p(X, y, 1)
        out[row, 1] = _ols_p(X, y, 2)
        # school dummies: the within-school regression of y on x (w is absorbed by the dummies)
        means = np.bincount(groups, weights=y) / n
        x_means = np.bincount(groups, weights=x) / n
        yc, xc = y - means[groups], x - x_means[groups]
        slope = xc @ yc / (xc @ xc)
        df = k * n - k - 1
        s2 = np.sum((yc - slope * xc) ** 2) / df
        out[row, 2] = 2 * stats.t.sf(abs(slope / np.sqrt(s2 / (xc @ xc))), df)
        structure = _reml.LMMStructure(
            y=y, X=X, groups=groups, Z=np.ones((k * n, 1)), fe_names=("Intercept", "x", "w")
        )
        try:
            table = coef_table((structure, _fit(structure), True), "satterthwaite", polish=False)
        except (np.linalg.LinAlgError, ValueError):
            continue
        out[row, 3:] = table["p_value"].to_numpy()[1:]
    return out


def fixed_vs_random(
    n_groups: int = 20,
    group_size: int = 20,
    icc=(0.0, 0.1, 0.3),
    n_reps: int = 1000,
    alpha: float = 0.05,
    seed: int | None = None,
    max_workers: int | None = None,
    *,
    executor: Executor | None = None,
    progress: bool | None = None,
) -> pd.DataFrame:
    """False-positive rates of three analyses of nested data, for a level-1 and a level-2 predictor.

    Each replicate draws ``K = n_groups`` schools of ``n = group_size`` students with
    ``y_ij = u_0j + e_ij``, ``Var(u_0j) = icc``, ``Var(e_ij) = 1 - icc``, a student-level
    predictor ``x_ij ~ N(0, 1)`` and a school-level predictor ``w_j ~ N(0, 1)``, neither of which
    affects ``y``. Three analyses test both slopes two-sided at level ``alpha``:

    * ``"pooled OLS"``: ``y ~ x + w`` on all rows, t tests with ``N - 3`` df (schools ignored);
    * ``"school dummies"``: ``y ~ x + C(school)`` (schools as a fixed factor), t test of ``x``
      with ``N - K - 1`` df. ``w`` is constant within schools, so it is a linear combination of
      the dummies and **not estimable**: its rate is NaN;
    * ``"mixed model (Satterthwaite)"``: the REML fit of ``y ~ x + w + (1 | school)``, t tests
      with Satterthwaite's df (lmerTest's default).

    Parameters
    ----------
    n_groups, group_size : int
        Number of schools (at least 3) and students per school (at least 2).
    icc : float or sequence of float
        Intra-class correlations of ``y`` in ``[0, 1)``.
    n_reps : int
        Replicates per ICC value.
    alpha : float
        Significance level.
    seed : int, optional
        Seed of the root :class:`numpy.random.SeedSequence`.
    max_workers : int, optional
        Worker processes; default :func:`os.cpu_count`. With 1, everything runs in this process.
    executor : concurrent.futures.Executor, optional
        Run the tasks there (e.g. a Dask cluster's ``Client(...).get_executor()``) instead of on
        ``max_workers`` local processes; the result is the same, bit for bit.
    progress : bool, optional
        Progress bar; by default only for a person watching (see :mod:`mixedtools._progress`).

    Returns
    -------
    pandas.DataFrame
        One row per ICC, analysis and predictor: ``icc``, ``analysis``, ``predictor``
        (``"x (level 1)"`` or ``"w (level 2)"``), ``rejection_rate`` (NaN when not estimable),
        ``mc_se`` (Monte Carlo standard error) and ``n_fitted``.

    Examples
    --------
    >>> from mixedtools.sim.rejection import fixed_vs_random
    >>> res = fixed_vs_random(8, 5, icc=0.2, n_reps=20, seed=1, max_workers=1)
    >>> res["analysis"].unique().tolist()
    ['pooled OLS', 'school dummies', 'mixed model (Satterthwaite)']
    >>> bool(res.query("analysis == 'school dummies' and predictor == 'w (level 2)'")
    ...      ["rejection_rate"].isna().all())
    True
    """
    k, n = int(n_groups), int(group_size)
    if k < 3 or n < 2 or k != n_groups or n != group_size:
        raise ValueError("Need an integer number of at least 3 groups of at least 2 rows.")
    _check_reps(n_reps, alpha)
    iccs = [float(v) for v in np.atleast_1d(icc)]
    if any(not 0 <= v < 1 for v in iccs):
        raise ValueError(f"icc values must lie in [0, 1); got {iccs}.")
    roots = np.random.SeedSequence(seed).spawn(len(iccs))
    tasks = []
    for rho, root in zip(iccs, roots, strict=True):
        children = root.spawn(int(n_reps))
        tasks += [(k, n, rho, children[s : s + _CHUNK]) for s in range(0, int(n_reps), _CHUNK)]
    chunks = _run(_fixed_vs_random_chunk, tasks, max_workers, executor, progress)
    results = np.concatenate(chunks).reshape(len(iccs), int(n_reps), 5)
    layout = [
        ("pooled OLS", "x (level 1)", 0),
        ("pooled OLS", "w (level 2)", 1),
        ("school dummies", "x (level 1)", 2),
        ("school dummies", "w (level 2)", None),
        ("mixed model (Satterthwaite)", "x (level 1)", 3),
        ("mixed model (Satterthwaite)", "w (level 2)", 4),
    ]
    rows = []
    for rho, reps in zip(iccs, results, strict=True):
        for analysis, predictor, column in layout:
            if column is None:
                rate, mc_se, n_ok = np.nan, np.nan, 0
            else:
                p = reps[:, column]
                ok = np.isfinite(p)
                n_ok = int(ok.sum())
                rate, mc_se = _rate_row(int(np.sum(p[ok] < alpha)), n_ok)
            rows.append((rho, analysis, predictor, rate, mc_se, n_ok))
    return pd.DataFrame(
        rows, columns=["icc", "analysis", "predictor", "rejection_rate", "mc_se", "n_fitted"]
    )


# ------------------------------------------------------------------------------------------
# Chapter 4: df methods for the level-2 and cross-level tests of y ~ x * w + (x | group)
# ------------------------------------------------------------------------------------------

_TERMS = ("w", "x:w")


def _cross_level_chunk(task):
    sizes, w, params, methods, seeds = task
    groups = np.repeat(np.arange(len(sizes)), sizes)
    out = np.full((len(seeds), len(_TERMS), len(methods), 2), np.nan)  # p and df
    hlm_cache = {}
    for row, seed in enumerate(seeds):
        data = two_level(sizes, w, seed=seed, gamma01=0.0, gamma11=0.0, **params)
        x, wv = data["x"].to_numpy(), data["w"].to_numpy()
        ones = np.ones(len(data))
        structure = _reml.LMMStructure(
            y=data["y"].to_numpy(),
            X=np.column_stack([ones, x, wv, x * wv]),
            groups=groups,
            Z=np.column_stack([ones, x]),
            fe_names=("Intercept", "x", "w", "x:w"),
            re_names=("Intercept", "x"),
        )
        try:
            truth = [params["tau00"], 0.0, params["tau11"], params["sigma2"]]
            tau = _fit(structure, start=truth)
            tests = _tests(structure, tau, True, methods, _TERMS, hlm_cache)
        except (np.linalg.LinAlgError, ValueError):
            continue
        for m, method in enumerate(methods):
            out[row, :, m, 0], out[row, :, m, 1] = tests[method]
    return out


def cross_level_null(
    group_sizes,
    n_reps: int = 2000,
    *,
    w=None,
    methods=("satterthwaite", "kenward-roger", "hlm", "residual", "asymptotic"),
    gamma10: float = 0.3,
    tau00: float = 0.3,
    tau11: float = 0.05,
    sigma2: float = 1.0,
    alpha: float = 0.05,
    seed: int | None = None,
    max_workers: int | None = None,
    executor: Executor | None = None,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Type I error of the level-2 and cross-level tests of ``y ~ x * w + (x | group)``.

    Each replicate draws :func:`~mixedtools.sim.hierarchical.two_level` data with the group sizes,
    ``gamma01 = gamma11 = 0`` (neither ``w`` nor the interaction ``x:w`` has an effect), a random
    intercept (``tau00``) and a random slope of ``x`` (``tau11``), fits the model by REML and tests
    ``w`` and ``x:w`` with every df method. A test that keeps its level rejects in about
    ``alpha`` of the replicates.

    Parameters
    ----------
    group_sizes : sequence of int
        Group sizes, the same in every replicate (at least 4 groups).
    n_reps : int
        Number of simulated data sets.
    w : sequence of float, optional
        The level-2 predictor, one value per group, the same in every replicate; by default new
        standard normal draws in each replicate.
    methods : sequence of str
        df methods of :data:`mixedtools.lmm.ddf.DDF_METHODS`.
    gamma10, tau00, tau11, sigma2 : float
        Average slope of ``x`` and the variances of the model.
    alpha : float
        Significance level.
    seed : int, optional
        Seed of the root :class:`numpy.random.SeedSequence`.
    max_workers : int, optional
        Worker processes; default :func:`os.cpu_count`.
    executor : concurrent.futures.Executor, optional
        Run the tasks there (e.g. a Dask cluster's ``Client(...).get_executor()``) instead of on
        ``max_workers`` local processes; the result is the same, bit for bit.
    progress : bool, optional
        Progress bar; by default only for a person watching (see :mod:`mixedtools._progress`).

    Returns
    -------
    pandas.DataFrame
        One row per term and df method: ``term`` (``"w"`` or ``"x:w"``), ``ddf``,
        ``rejection_rate``, ``mc_se``, ``median_df`` and ``n_fitted``.

    Examples
    --------
    >>> from mixedtools.sim.rejection import cross_level_null
    >>> res = cross_level_null([6, 9, 12, 15, 8, 10], n_reps=8, methods=["hlm"], seed=2,
    ...                        max_workers=1)
    >>> res[["term", "ddf", "median_df"]].to_records(index=False).tolist()
    [('w', 'hlm', 4.0), ('x:w', 'hlm', 4.0)]
    """
    sizes = np.asarray(group_sizes)
    if sizes.ndim != 1 or len(sizes) < 4 or not np.issubdtype(sizes.dtype, np.integer):
        raise ValueError("group_sizes must list the integer sizes of at least 4 groups.")
    if np.any(sizes < 2):
        raise ValueError("every group needs at least 2 rows for a random slope.")
    _check_reps(n_reps, alpha)
    methods = tuple(methods)
    unknown = [m for m in methods if m not in DDF_METHODS]
    if unknown or not methods:
        raise ValueError(f"unknown df method(s) {unknown}; choose from {DDF_METHODS}.")
    params = {"gamma10": gamma10, "tau00": tau00, "tau11": tau11, "sigma2": sigma2}
    children = np.random.SeedSequence(seed).spawn(int(n_reps))
    w = None if w is None else np.asarray(w, float)
    tasks = [
        (sizes, w, params, methods, children[s : s + _CHUNK]) for s in range(0, int(n_reps), _CHUNK)
    ]
    results = np.concatenate(_run(_cross_level_chunk, tasks, max_workers, executor, progress))
    rows = []
    for t, term in enumerate(_TERMS):
        for m, method in enumerate(methods):
            p, df = results[:, t, m, 0], results[:, t, m, 1]
            ok = np.isfinite(p)
            n_ok = int(ok.sum())
            rate, mc_se = _rate_row(int(np.sum(p[ok] < alpha)), n_ok)
            median_df = float(np.median(df[ok])) if n_ok else np.nan
            rows.append((term, method, rate, mc_se, median_df, n_ok))
    return pd.DataFrame(
        rows, columns=["term", "ddf", "rejection_rate", "mc_se", "median_df", "n_fitted"]
    )


# ------------------------------------------------------------------------------------------
# Chapter 4: dfdata.level2_rejection_rates, in parallel
# ------------------------------------------------------------------------------------------


def level2_null(
    group_sizes,
    n_reps: int = 2000,
    *,
    w=None,
    methods=("residual", "asymptotic", "hlm", "satterthwaite", "kenward-roger"),
    reml=(True,),
    alpha: float = 0.05,
    tau00: float = 0.5,
    seed: int = 0,
    max_workers: int | None = None,
    executor: Executor | None = None,
    progress: bool | None = None,
) -> pd.DataFrame:
    """``mt.dfdata.level2_rejection_rates``, faster: in parallel and started at the truth.

    Both run the same simulator (:func:`mixedtools.sim.hierarchical.level2_rejection_rates`):
    replicate ``r`` uses seed ``seed + r`` and the same model is fitted to the same data. Here the
    optimiser starts at the true parameters instead of lme4's neutral start, which reaches the
    same optimum in fewer iterations, so the rejection rates agree with that function's up to the
    rare replicate whose p-value sits at alpha; and the replicates run on all CPUs by default.

    Parameters
    ----------
    group_sizes, n_reps, w, methods, reml, alpha, tau00, seed
        As for ``mt.dfdata.level2_rejection_rates``.
    max_workers : int, optional
        Worker processes; default :func:`os.cpu_count`.
    executor : concurrent.futures.Executor, optional
        Run the tasks there (e.g. a Dask cluster's ``Client(...).get_executor()``) instead of on
        ``max_workers`` local processes; the result is the same, bit for bit.
    progress : bool, optional
        Progress bar; by default only for a person watching (see :mod:`mixedtools._progress`).

    Returns
    -------
    pandas.DataFrame
        ``estimation``, ``ddf``, ``rejection_rate`` and ``mc_se``, as ``level2_rejection_rates``.

    Examples
    --------
    >>> from mixedtools.sim.rejection import level2_null
    >>> out = level2_null([4, 8, 12, 16, 20], n_reps=5, methods=["hlm"], max_workers=1)
    >>> out.columns.tolist()
    ['estimation', 'ddf', 'rejection_rate', 'mc_se']
    """
    _check_reps(n_reps, alpha)
    methods = tuple(methods)
    unknown = [m for m in methods if m not in DDF_METHODS]
    if unknown or not methods:
        raise ValueError(f"unknown df method(s) {unknown}; choose from {DDF_METHODS}.")
    return _level2_rates(
        group_sizes,
        n_reps,
        w=w,
        methods=methods,
        reml=reml,
        alpha=alpha,
        tau00=tau00,
        seed=seed,
        start="truth",
        max_workers=max_workers,
        executor=executor,
        progress=progress,
    )
