"""Clustered binary data and two simulation studies of random-intercept logistic models.

The model is the random-intercept logistic model of chapter 8,

``logit P(Y_ij = 1) = gamma_00 + gamma_10 x_ij + gamma_01 w_j + u_0j,  u_0j ~ N(0, tau_00)``

with a standard normal level-1 predictor ``x`` and a level-2 predictor ``w`` coded -1/2, +1/2
(half the groups each).

* :func:`binary_clusters` draws one data set;
* :func:`quadrature_study` fits each of many data sets with the Laplace approximation and with
  adaptive Gauss-Hermite quadrature (``mt.glmer(nagq=...)``) and returns the estimates, for the
  bias of each method;
* :func:`icc_scale_study` fits each data set as a random-intercept logistic model and as a
  linear model of the 0/1 outcome, for the latent ICC against the ICC of the 0/1 scale across
  base rates;
* :func:`glmm_rejection_study` returns the p-values of the Wald z and likelihood-ratio tests of
  the level-2 predictor, and of the boundary-corrected likelihood-ratio test of ``tau_00``, and
  optionally of parametric-bootstrap tests of both, for type I error rates with few groups.

The studies run their replicates in chunks through :func:`mixedtools._threads.run_parallel`, so
they can use local processes (``max_workers``) or any executor (``executor=``); the results depend
on the seed only.
"""

from __future__ import annotations

import warnings
from concurrent.futures import Executor

import numpy as np
import pandas as pd
from scipy import stats

from mixedtools._threads import run_parallel

__all__ = ["binary_clusters", "quadrature_study", "icc_scale_study", "glmm_rejection_study"]

_CHUNK = 20  # replicates per task, whatever the number of workers


def binary_clusters(
    n_groups: int,
    group_size,
    intercept: float = 0.0,
    slope: float = 0.0,
    level2_effect: float = 0.0,
    tau00: float = 1.0,
    seed: int = 0,
) -> pd.DataFrame:
    """One data set of clustered binary outcomes from the random-intercept logistic model.

    Parameters
    ----------
    n_groups : int
        Number of groups (at least 2).
    group_size : int or tuple of two ints
        Units per group; ``(low, high)`` draws each group's size uniformly from low..high.
    intercept, slope, level2_effect : float
        ``gamma_00``, ``gamma_10`` (of ``x``, standard normal) and ``gamma_01`` (of ``w``,
        -1/2 for the first half of the groups and +1/2 for the rest).
    tau00 : float
        Variance of the random intercept ``u_0j`` on the logit scale (0 allowed).
    seed : int

    Returns
    -------
    DataFrame
        Columns ``group`` (text), ``w``, ``x``, ``y`` (0/1), ``u`` (the drawn random intercept).

    Examples
    --------
    >>> d = binary_clusters(4, 3, tau00=1.0, seed=1)
    >>> d.shape, sorted(d["y"].unique().tolist()) in ([0, 1], [0], [1])
    ((12, 5), True)
    >>> binary_clusters(5, (2, 5), seed=2).groupby("group").size().between(2, 5).all()
    np.True_
    """
    if n_groups < 2:
        raise ValueError(f"n_groups must be at least 2, got {n_groups}")
    if tau00 < 0:
        raise ValueError(f"tau00 must be non-negative, got {tau00}")
    rng = np.random.default_rng(seed)
    if np.ndim(group_size) == 0:
        if int(group_size) < 1:
            raise ValueError(f"group_size must be at least 1, got {group_size}")
        sizes = np.full(n_groups, int(group_size))
    else:
        low, high = (int(v) for v in group_size)
        if not 1 <= low <= high:
            raise ValueError(
                f"group_size must be (low, high) with 1 <= low <= high, got {group_size}"
            )
        sizes = rng.integers(low, high + 1, size=n_groups)
    groups = np.repeat(np.arange(n_groups), sizes)
    w = np.where(np.arange(n_groups) < n_groups // 2, -0.5, 0.5)
    u = rng.normal(0.0, np.sqrt(tau00), size=n_groups)
    x = rng.normal(size=len(groups))
    eta = intercept + slope * x + level2_effect * w[groups] + u[groups]
    y = rng.binomial(1, 1.0 / (1.0 + np.exp(-eta)))
    return pd.DataFrame(
        {"group": [f"g{g}" for g in groups], "w": w[groups], "x": x, "y": y, "u": u[groups]}
    )


def _run_replicates(worker, settings, n_reps, seed, max_workers, executor, progress, desc, columns):
    """Replicates ``seed .. seed + n_reps - 1`` in chunks of ``_CHUNK``, each task
    ``(*settings, seeds)``, run here, on local processes or on ``executor``; one row per
    result row of the worker, in seed order."""
    if not isinstance(n_reps, (int, np.integer)) or n_reps < 1:
        raise ValueError(f"n_reps must be a positive integer, got {n_reps!r}")
    seeds = [seed + k for k in range(int(n_reps))]
    chunks = [seeds[i : i + _CHUNK] for i in range(0, len(seeds), _CHUNK)]
    results = run_parallel(
        worker,
        [(*settings, chunk) for chunk in chunks],
        None if executor is not None else max_workers,
        executor=executor,
        progress=progress,
        counts=[len(chunk) for chunk in chunks],
        desc=desc,
    )
    return pd.DataFrame([row for result in results for row in result], columns=columns)


def _fit_quietly(formula, data, **kwargs):
    from mixedtools.lmm.generalized import glmer

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return glmer(formula, data, **kwargs)


def _quadrature_chunk(task):
    design, nagqs, seeds = task
    rows = []
    for seed in seeds:
        data = binary_clusters(**design, seed=seed)
        for nagq in nagqs:
            try:
                fit = _fit_quietly("y ~ x + (1 | group)", data, nagq=nagq)
                intercept, slope = fit.fixef.to_numpy()
                tau = float(fit.varcorr["vcov"].iloc[0])
            except (ValueError, np.linalg.LinAlgError):
                intercept = slope = tau = np.nan
            rows.append((seed, nagq, intercept, slope, tau))
    return rows


def quadrature_study(
    n_reps: int,
    n_groups: int = 60,
    group_size=(2, 5),
    intercept: float = 0.0,
    slope: float = 1.0,
    tau00: float = 2.0,
    nagq=(1, 25),
    seed: int = 0,
    max_workers: int | None = 1,
    *,
    executor: Executor | None = None,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Estimates of ``y ~ x + (1 | group)`` by Laplace and by adaptive quadrature, per replicate.

    Replicate ``k`` is :func:`binary_clusters` with seed ``seed + k``; it is fitted once per
    value of ``nagq`` (1 = Laplace, as ``lme4::glmer``'s default).

    Parameters
    ----------
    n_reps : int
    n_groups, group_size, intercept, slope, tau00
        The design and the true values, as for :func:`binary_clusters` (no level-2 effect).
    nagq : sequence of int
        The numbers of quadrature nodes to compare.
    seed : int
    max_workers : int, default 1
        Local processes (the result does not depend on it).
    executor : concurrent.futures.Executor, optional
        Run the chunks of 20 replicates there instead (e.g. a Dask cluster's executor).
    progress : bool, optional

    Returns
    -------
    DataFrame
        One row per replicate and ``nagq``: ``seed``, ``nagq``, ``intercept``, ``slope``,
        ``tau00`` (NaN where a fit failed).  ``attrs["truth"]`` holds the true values.

    Examples
    --------
    >>> out = quadrature_study(2, n_groups=20, nagq=(1, 5), seed=3)
    >>> out.shape, sorted(out["nagq"].unique().tolist())
    ((4, 5), [1, 5])
    """
    design = dict(
        n_groups=n_groups, group_size=group_size, intercept=intercept, slope=slope, tau00=tau00
    )
    nagqs = tuple(int(q) for q in nagq)
    out = _run_replicates(
        _quadrature_chunk, (design, nagqs), n_reps, seed, max_workers, executor, progress,
        "glmer fits", ["seed", "nagq", "intercept", "slope", "tau00"],
    )  # fmt: skip
    out.attrs["truth"] = {"intercept": intercept, "slope": slope, "tau00": tau00}
    return out


def _icc_chunk(task):
    from mixedtools.lmm.fit import lmer

    design, intercepts, seeds = task
    rows = []
    for seed in seeds:
        for intercept in intercepts:
            data = binary_clusters(**design, intercept=intercept, seed=seed)
            try:
                latent = _fit_quietly("y ~ 1 + (1 | group)", data).icc()["adjusted"]
            except (ValueError, np.linalg.LinAlgError):
                latent = np.nan
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                linear = lmer("y ~ 1 + (1 | group)", data).icc()
            rows.append((seed, intercept, data["y"].mean(), latent, linear))
    return rows


def icc_scale_study(
    n_reps: int,
    intercepts=(0.0, -1.0, -2.0, -3.0),
    n_groups: int = 500,
    group_size=20,
    tau00: float = 1.0,
    seed: int = 0,
    max_workers: int | None = 1,
    *,
    executor: Executor | None = None,
    progress: bool | None = None,
) -> pd.DataFrame:
    """The latent ICC and the ICC of the 0/1 outcome across base rates, replicate by replicate.

    Replicate ``k`` at each value of ``intercepts`` (``gamma_00``, which sets the share of 1s)
    is :func:`binary_clusters` with seed ``seed + k`` and no predictors. It is fitted as
    ``y ~ 1 + (1 | group)`` by ``mt.glmer`` (Laplace; the latent ICC
    ``tau_00 / (tau_00 + pi^2 / 3)``) and by ``mt.lmer`` on the 0/1 outcome (REML; the ICC of
    the observed outcome). The true latent ICC is ``tau00 / (tau00 + pi^2 / 3)`` at every
    base rate.

    Parameters
    ----------
    n_reps : int
        Data sets per value of ``intercepts``.
    intercepts : sequence of float
        The values of ``gamma_00``.
    n_groups, group_size, tau00
        The design, as for :func:`binary_clusters`.
    seed : int
    max_workers : int, default 1
        Local processes (the result does not depend on it).
    executor : concurrent.futures.Executor, optional
        Run the chunks of 20 replicates there instead.
    progress : bool, optional

    Returns
    -------
    DataFrame
        One row per replicate and intercept: ``seed``, ``intercept``, ``share`` (of 1s),
        ``latent_icc`` (glmer; NaN where the fit failed), ``linear_icc`` (lmer).
        ``attrs["truth"]`` holds the true latent ICC.

    Examples
    --------
    >>> out = icc_scale_study(2, intercepts=(0.0, -2.0), n_groups=30, group_size=10, seed=4)
    >>> out.shape, round(out.attrs["truth"], 3)
    ((4, 5), 0.233)
    >>> bool((out["linear_icc"] < out["latent_icc"]).all())
    True
    """
    design = dict(n_groups=n_groups, group_size=group_size, tau00=tau00)
    intercepts = tuple(float(v) for v in intercepts)
    out = _run_replicates(
        _icc_chunk, (design, intercepts), n_reps, seed, max_workers, executor, progress,
        "data sets", ["seed", "intercept", "share", "latent_icc", "linear_icc"],
    )  # fmt: skip
    out.attrs["truth"] = tau00 / (tau00 + np.pi**2 / 3)
    return out


def _sequential_p(observed, draw, seeds, n_boot):
    """Besag & Clifford's (1991) sequential Monte Carlo p-value with h = 1: draws stop at the
    first simulated statistic at least as large as ``observed`` (the l-th: p = 1 / l); if none
    of ``n_boot`` draws reaches it, p = 1 / (n_boot + 1).  It rejects at level
    ``1 / (n_boot + 1)`` exactly when the full parametric bootstrap with as many draws does, at
    a fraction of the draws under the null hypothesis.  A draw whose refit fails is replaced by
    the next seed (``seeds`` holds spares)."""
    tie = observed - 1e-8 * max(1.0, observed)
    done = 0
    for seed in seeds:
        value = draw(np.random.default_rng(seed))
        if not np.isfinite(value):
            continue
        done += 1
        if value >= tie:
            return 1.0 / done
        if done == n_boot:
            break
    return 1.0 / (done + 1) if done else np.nan


def _boot_seeds(seed, test, n_boot):
    """The bootstrap draws' seeds of one replicate and test (2 x n_boot: spares for failures)."""
    return np.random.SeedSequence((seed, test)).spawn(2 * n_boot)


def _boot_p_w(full, reduced, observed, n_boot, seed):
    """Parametric-bootstrap p-value of the LRT of w: responses from the reduced fit."""
    from mixedtools.lmm.generalized import refit_response

    beta0, tau0 = reduced.fixef.to_numpy(), reduced.tau

    def draw(rng):
        y = reduced.structure.simulate(beta0, tau0, rng)
        try:
            ll0 = -0.5 * refit_response(reduced.structure, y, reduced.theta, 1).deviance
            ll1 = -0.5 * refit_response(full.structure, y, full.theta, 1).deviance
        except (ValueError, np.linalg.LinAlgError, FloatingPointError):
            return np.nan
        return max(2.0 * (ll1 - ll0), 0.0)

    return _sequential_p(observed, draw, _boot_seeds(seed, 1, n_boot), n_boot)


def _boot_p_tau(reduced, X, beta_glm, observed, n_boot, seed):
    """Parametric-bootstrap p-value of the LRT of tau_00 = 0: responses from the logistic
    regression without random effects."""
    from mixedtools.lmm.generalized import refit_response

    if observed <= 0:
        return 1.0  # every simulated statistic reaches 0
    mu = 1.0 / (1.0 + np.exp(-(X @ beta_glm)))

    def draw(rng):
        y = rng.binomial(1, mu).astype(float)
        if y.min() == y.max():
            return np.nan
        try:
            ll1 = -0.5 * refit_response(reduced.structure, y, reduced.theta, 1).deviance
        except (ValueError, np.linalg.LinAlgError, FloatingPointError):
            return np.nan
        return max(2.0 * (ll1 - _bernoulli_fit(y, X)[0]), 0.0)

    return _sequential_p(observed, draw, _boot_seeds(seed, 2, n_boot), n_boot)


def _bernoulli_fit(y, X):
    """Maximised log-likelihood and coefficients of a logistic regression without random
    effects."""
    import statsmodels.api as sm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = sm.GLM(y, X, family=sm.families.Binomial()).fit()
    return float(fit.llf), np.asarray(fit.params)


def _rejection_chunk(task):
    design, seeds, bootstrap, n_boot, boot_below = task
    rows = []
    for seed in seeds:
        boot = bootstrap if seed < boot_below else ()
        data = binary_clusters(**design, seed=seed)
        p_boot = p_boot_tau = np.nan
        try:
            full = _fit_quietly("y ~ x + w + (1 | group)", data)
            reduced = _fit_quietly("y ~ x + (1 | group)", data)
            p_wald = float(full.coef_table().loc["w", "p_value"])
            lr_w = max(2.0 * (full.loglik - reduced.loglik), 0.0)
            p_lrt = float(stats.chi2.sf(lr_w, 1))
            X = np.column_stack([np.ones(len(data)), data["x"].to_numpy()])
            ll_glm, beta_glm = _bernoulli_fit(data["y"].to_numpy(), X)
            lr_tau = max(2.0 * (reduced.loglik - ll_glm), 0.0)
            p_tau = float(0.5 * stats.chi2.sf(lr_tau, 1)) if lr_tau > 0 else 1.0
            with warnings.catch_warnings(), np.errstate(over="ignore", under="ignore"):
                warnings.simplefilter("ignore")
                if "w" in boot:
                    p_boot = _boot_p_w(full, reduced, lr_w, n_boot, seed)
                if "tau" in boot:
                    p_boot_tau = _boot_p_tau(reduced, X, beta_glm, lr_tau, n_boot, seed)
        except (ValueError, np.linalg.LinAlgError):
            p_wald = p_lrt = p_tau = np.nan
        row = (seed, p_wald, p_lrt, p_tau)
        rows.append(
            row
            + ((p_boot,) if "w" in bootstrap else ())
            + ((p_boot_tau,) if "tau" in bootstrap else ())
        )
    return rows


def glmm_rejection_study(
    n_reps: int,
    n_groups: int = 10,
    group_size=20,
    intercept: float = 0.0,
    slope: float = 0.5,
    level2_effect: float = 0.0,
    tau00: float = 1.0,
    seed: int = 0,
    max_workers: int | None = 1,
    *,
    bootstrap: tuple = (),
    n_boot: int = 19,
    bootstrap_reps: int | None = None,
    executor: Executor | None = None,
    progress: bool | None = None,
) -> pd.DataFrame:
    """p-values of tests in a random-intercept logistic model, replicate by replicate.

    Each replicate (:func:`binary_clusters` with seed ``seed + k``) is fitted as
    ``y ~ x + w + (1 | group)`` and ``y ~ x + (1 | group)`` (Laplace), and as a logistic
    regression ``y ~ x`` without random effects. The tests:

    * ``p_wald``: Wald z test of the level-2 predictor ``w`` (lme4's ``summary``);
    * ``p_lrt``: likelihood-ratio test of ``w`` against chi-square(1);
    * ``p_tau``: likelihood-ratio test of ``tau_00 = 0`` against the boundary mixture
      ``0.5 chi2_0 + 0.5 chi2_1`` (Self & Liang 1987);
    * with ``"w"`` in ``bootstrap``, ``p_boot``: parametric-bootstrap LRT of ``w`` (responses
      simulated from the reduced glmer fit, both models refitted, as
      :func:`mixedtools.bootstrap.bootstrap_lrt` and ``pbkrtest::PBmodcomp``);
    * with ``"tau"`` in ``bootstrap``, ``p_boot_tau``: parametric-bootstrap LRT of
      ``tau_00 = 0`` (responses simulated from the logistic regression without random
      effects; no boundary argument needed).

    The bootstrap tests are nested in the study (``n_boot`` refits per replicate at most), so
    they are run as sequential Monte Carlo tests (Besag & Clifford 1991): the draws of a
    replicate stop at the first simulated statistic that reaches the observed one, at the
    ``l``-th draw, with p-value ``1 / l``; if none of the ``n_boot`` draws does, the p-value is
    ``1 / (n_boot + 1)``.  The test rejects at level ``1 / (n_boot + 1)`` (0.05 with the
    default 19 draws) exactly when the full bootstrap with ``n_boot`` draws does, and under the
    null hypothesis it needs about ``log(n_boot)`` draws on average instead of ``n_boot``.
    Only decisions at that level are meaningful: other p-values are coarse (1, 1/2, 1/3, ...).

    Parameters
    ----------
    n_reps : int
    n_groups, group_size, intercept, slope, level2_effect, tau00
        The design and true values, as for :func:`binary_clusters`. With
        ``level2_effect=0`` the rejection rates of ``p_wald`` and ``p_lrt`` are type I error
        rates; with ``tau00=0`` that of ``p_tau`` is.
    seed : int
    max_workers : int, default 1
    bootstrap : tuple of {"w", "tau"}
        The parametric-bootstrap tests to add (default none).
    n_boot : int
        Bootstrap draws per replicate and test, at most; the level of the bootstrap tests is
        ``1 / (n_boot + 1)``.
    bootstrap_reps : int, optional
        Run the bootstrap tests on the first ``bootstrap_reps`` replicates only (NaN in the
        others); default all.
    executor : concurrent.futures.Executor, optional
        Run the chunks of 20 replicates there instead; the p-values are the same.
    progress : bool, optional

    Returns
    -------
    DataFrame
        Columns ``seed``, ``p_wald``, ``p_lrt``, ``p_tau`` and the requested ``p_boot``,
        ``p_boot_tau`` (NaN where a fit failed).

    Examples
    --------
    >>> out = glmm_rejection_study(2, n_groups=6, group_size=10, seed=5)
    >>> list(out.columns), bool(out[["p_wald", "p_lrt", "p_tau"]].le(1).all().all())
    (['seed', 'p_wald', 'p_lrt', 'p_tau'], True)
    >>> out = glmm_rejection_study(2, n_groups=6, group_size=10, seed=5, bootstrap=("w",))
    >>> list(out.columns), bool(out["p_boot"].between(1 / 20, 1).all())
    (['seed', 'p_wald', 'p_lrt', 'p_tau', 'p_boot'], True)
    """
    if not isinstance(n_reps, (int, np.integer)) or n_reps < 1:
        raise ValueError(f"n_reps must be a positive integer, got {n_reps!r}")
    bootstrap = tuple(bootstrap)
    unknown = set(bootstrap) - {"w", "tau"}
    if unknown:
        raise ValueError(f"bootstrap takes 'w' and 'tau'; got {sorted(unknown)}")
    if not isinstance(n_boot, (int, np.integer)) or n_boot < 1:
        raise ValueError(f"n_boot must be a positive integer, got {n_boot!r}")
    design = dict(
        n_groups=n_groups,
        group_size=group_size,
        intercept=intercept,
        slope=slope,
        level2_effect=level2_effect,
        tau00=tau00,
    )
    seeds = [seed + k for k in range(int(n_reps))]
    boot_below = seed + (int(n_reps) if bootstrap_reps is None else int(bootstrap_reps))
    tasks = [
        (design, seeds[i : i + _CHUNK], bootstrap, int(n_boot), boot_below)
        for i in range(0, len(seeds), _CHUNK)
    ]
    chunks = run_parallel(
        _rejection_chunk,
        tasks,
        None if executor is not None else max_workers,
        executor=executor,
        progress=progress,
        counts=[len(t[1]) for t in tasks],
        desc="glmer fits",
    )
    columns = ["seed", "p_wald", "p_lrt", "p_tau"]
    columns += [
        name for test, name in (("w", "p_boot"), ("tau", "p_boot_tau")) if test in bootstrap
    ]
    return pd.DataFrame([row for chunk in chunks for row in chunk], columns=columns)
