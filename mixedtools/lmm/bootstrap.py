"""Parametric bootstrap for :func:`mixedtools.lmer` and :func:`mixedtools.glmer` fits.

* :func:`bootstrap_lrt` — the likelihood-ratio test of a variance component or of fixed effects
  with its null distribution simulated from the reduced model (as R's ``pbkrtest::PBmodcomp``
  does), instead of the asymptotic chi-square (mixture) that :func:`mixedtools.lrt` uses;
* :func:`bootstrap_varcorr` — percentile intervals for the standard deviations and correlations
  of the random effects (as lme4's ``confint(fit, method = "boot")``), and the share of
  bootstrap fits in which a variance is estimated as exactly zero;
* :func:`bootstrap_fixef` — percentile intervals for the fixed effects (lme4's
  ``confint(fit, parm = "beta_", method = "boot")``), for lmer and glmer fits alike.

Responses are simulated from the fitted model with new random effects (lme4's
``simulate(fit)``, ``use.u = FALSE``): for an lmer fit ``y* = X beta + Z b* + e*`` with
``b* ~ N(0, G)`` and ``e* ~ N(0, sigma^2)``; for a glmer fit binomial responses with the prior
weights as numbers of trials, or Poisson counts, at the means ``g^-1(offset + X beta + Z b*)``.
Each is refitted on the structure already built for the fit (no formula is read again), the
search started at the fitted parameters: for lmer by the REML engine behind
:func:`mixedtools.lmer`, for glmer by glmer's own optimiser. Replicates run in tasks of 25, each
with its own child of ``numpy.random.SeedSequence(seed)``, gathered in task order, on this
process, on local worker processes or on any :class:`concurrent.futures.Executor` (as
:func:`mixedtools.sim.power`): results do not depend on where or on how many workers they run.
"""

from __future__ import annotations

import os
import time
import warnings
from concurrent.futures import Executor

import numpy as np
import pandas as pd

from mixedtools._threads import run_parallel
from mixedtools._warnings import external_stacklevel
from mixedtools.lmm.engine import varcorr_rows
from mixedtools.lmm.fit import LmerResult
from mixedtools.lmm.generalized import refit_response
from mixedtools.lmm.glmer_results import GlmerResult
from mixedtools.lmm.optimize import bounded_refit, newton_finish

__all__ = ["simulate_responses", "bootstrap_lrt", "bootstrap_varcorr", "bootstrap_fixef"]

_CHUNK = 25
# with max_workers=None, replicates that would take less than this many seconds in this process
# stay here: starting worker processes (each imports the package) costs seconds
_LOCAL_SECONDS = 10.0


def _check_fit(fit, name="fit"):
    if not isinstance(fit, LmerResult | GlmerResult):
        raise TypeError(
            f"{name} must be a fit returned by mixedtools.lmer or mixedtools.glmer, "
            f"got {type(fit)!r}"
        )


def _check_n(n_boot):
    if not (isinstance(n_boot, int | np.integer) and n_boot >= 1):
        raise ValueError(f"n_boot must be a positive integer; got {n_boot!r}.")


def simulate_responses(
    fit: LmerResult | GlmerResult, n_sim: int = 1, seed: int | None = None
) -> np.ndarray:
    """Responses simulated from a fitted model (lme4's ``simulate(fit)``), one row per draw.

    New random effects are drawn for every response (lme4's ``use.u = FALSE``). For a glmer
    fit the responses are on the scale the fit reads them: proportions of the prior weights
    (numbers of trials) for the binomial, counts for the Poisson.

    Parameters
    ----------
    fit : LmerResult or GlmerResult
    n_sim : int
        Number of response vectors.
    seed : int, optional
        Seed of :func:`numpy.random.default_rng`.

    Returns
    -------
    ndarray, shape (n_sim, fit.nobs)

    Examples
    --------
    >>> import mixedtools as mt
    >>> fit = mt.lmer("Q('yield') ~ 1 + (1 | batch)", mt.datasets.load("dyestuff"))
    >>> y = simulate_responses(fit, n_sim=2000, seed=1)
    >>> y.shape
    (2000, 30)
    >>> bool(abs(y.mean() - fit.fixef["Intercept"]) < 5)
    True
    >>> cbpp = mt.datasets.load("cbpp").astype({"period": "category"})
    >>> g = mt.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp)
    >>> k = simulate_responses(g, n_sim=3, seed=1) * g.structure.prior_weights  # successes
    >>> bool(abs(k - k.round()).max() < 1e-9 and (k <= g.structure.prior_weights).all())
    True
    """
    _check_fit(fit)
    _check_n(n_sim)
    rng = np.random.default_rng(seed)
    beta = fit.fixef.to_numpy()
    return np.vstack([fit.structure.simulate(beta, fit.tau, rng) for _ in range(int(n_sim))])


def _refit(structure, y, tau_start, reml):
    """(structure, tau, log-likelihood) of an lmer `structure` with response `y`, the search
    started at the original fit (as lme4's ``refit``) and finished by Newton steps."""
    new = structure.with_response(y)
    tau = bounded_refit(new, tau_start, reml=reml, try_neutral_start=False)
    tau = newton_finish(new, tau, reml=reml)
    return new, tau, new.log_likelihood(tau, reml)


def _glmer_refit(structure, y, theta_start, nagq):
    """(tau, beta, log-likelihood) of a glmer `structure` with response `y`."""
    fit = refit_response(structure, y, theta_start, nagq)
    return structure.tau_from_theta(fit.theta), fit.beta, -0.5 * fit.deviance


def _refit_payload(fit):
    """What a worker needs to simulate from ``fit`` and refit it: the structure, beta, tau and
    (glmer) theta and nagq, or (lmer) whether the fit is REML."""
    beta = fit.fixef.to_numpy()
    if isinstance(fit, GlmerResult):
        return (fit.structure, beta, fit.tau, fit.theta, fit.nagq)
    return (fit.structure, beta, fit.tau, bool(fit.reml))


def _tasks(payload, n_boot, seed):
    children = np.random.SeedSequence(seed).spawn(int(n_boot))
    return [(payload, children[s : s + _CHUNK]) for s in range(0, int(n_boot), _CHUNK)]


def _run(chunk_worker, payload, n_boot, seed, max_workers, executor, progress):
    """The chunks' results in order. With ``max_workers=None`` (and no executor) the first
    chunk runs here, and the rest too unless they would take more than ``_LOCAL_SECONDS``."""
    tasks = _tasks(payload, n_boot, seed)
    counts = [len(seeds) for _, seeds in tasks]
    done = []
    if executor is None and max_workers is None and len(tasks) > 1:
        start = time.perf_counter()
        done = run_parallel(chunk_worker, tasks[:1], 1, progress=False)
        per_draw = (time.perf_counter() - start) / counts[0]
        if per_draw * sum(counts[1:]) < _LOCAL_SECONDS or (os.cpu_count() or 1) == 1:
            max_workers = 1
        tasks, counts = tasks[1:], counts[1:]
    return done + run_parallel(
        chunk_worker,
        tasks,
        max_workers,
        executor=executor,
        progress=progress,
        counts=counts,
        desc="bootstrap",
    )


# ------------------------------------------------------------------------------------------
# Likelihood-ratio test
# ------------------------------------------------------------------------------------------


def _lrt_chunk(task):
    (reduced, full, beta0, tau0, tau_full, reml), seeds = task
    out = np.full(len(seeds), np.nan)
    for row, seed in enumerate(seeds):
        y = reduced.simulate(beta0, tau0, np.random.default_rng(seed))
        try:
            _, _, ll0 = _refit(reduced, y, tau0, reml)
            _, _, ll1 = _refit(full, y, tau_full, reml)
        except (np.linalg.LinAlgError, ValueError):
            continue
        out[row] = max(2.0 * (ll1 - ll0), 0.0)
    return out


def _glmer_lrt_chunk(task):
    (reduced, full, beta0, tau0, theta0, theta1, nagq), seeds = task
    out = np.full(len(seeds), np.nan)
    for row, seed in enumerate(seeds):
        y = reduced.simulate(beta0, tau0, np.random.default_rng(seed))
        try:
            ll0 = _glmer_refit(reduced, y, theta0, nagq)[2]
            ll1 = _glmer_refit(full, y, theta1, nagq)[2]
        except (np.linalg.LinAlgError, ValueError, FloatingPointError):
            continue
        if np.isfinite(ll0) and np.isfinite(ll1):
            out[row] = max(2.0 * (ll1 - ll0), 0.0)
    return out


def _check_pair(reduced, full):
    """Same kind of fit, family, link, rows and response; `full` has more parameters."""
    if type(reduced) is not type(full):
        raise TypeError("both fits must be lmer fits, or both glmer fits")
    if isinstance(full, GlmerResult):
        if (reduced.family.name, reduced.family.link) != (full.family.name, full.family.link):
            raise TypeError(
                "both glmer fits must have the same family and link; got "
                f"{reduced.family.name} ({reduced.family.link}) and "
                f"{full.family.name} ({full.family.link})"
            )
        if reduced.nagq != full.nagq:
            raise ValueError(
                f"both glmer fits must use the same nagq; got {reduced.nagq} and {full.nagq}"
            )
    same = reduced.nobs == full.nobs and np.array_equal(reduced.structure.y, full.structure.y)
    if same and isinstance(full, GlmerResult):
        same = np.array_equal(
            reduced.structure.prior_weights, full.structure.prior_weights
        ) and np.array_equal(reduced.structure.offset, full.structure.offset)
    if not same:
        raise ValueError("the two fits must use the same response and rows")
    if full.n_params <= reduced.n_params:
        raise ValueError(
            f"full has {full.n_params} parameters, reduced {reduced.n_params}: pass the model "
            "with fewer parameters as `reduced`"
        )


def bootstrap_lrt(
    reduced: LmerResult | GlmerResult,
    full: LmerResult | GlmerResult,
    n_boot: int = 1000,
    seed: int | None = None,
    max_workers: int | None = None,
    *,
    executor: Executor | None = None,
    progress: bool | None = None,
) -> pd.Series:
    """Likelihood-ratio test with a parametric-bootstrap null distribution.

    Responses are simulated ``n_boot`` times from the reduced fit (the null hypothesis), both
    models are refitted to each, and the observed statistic is compared with the simulated ones:
    ``p = (1 + #{LR* >= LR}) / (n_boot + 1)``, as ``pbkrtest::PBmodcomp``. This needs no
    boundary correction and no large-sample argument, which matters with few groups. For lmer
    fits whose fixed parts differ, both models are refitted by ML (REML likelihoods of
    different fixed parts are not comparable); otherwise the fits are compared as they are.
    glmer fits (maximum likelihood, Laplace or quadrature) must share the family, link,
    ``nagq``, rows, response and prior weights.

    Parameters
    ----------
    reduced, full : LmerResult or GlmerResult
        Nested fits to the same rows; ``full`` has more parameters.
    n_boot : int
        Number of simulated data sets.
    seed : int, optional
        Seed of the root :class:`numpy.random.SeedSequence`.
    max_workers : int, optional
        Worker processes. By default the replicates run in this process when they would take
        under about ten seconds (judged from the first 25), else on :func:`os.cpu_count`
        processes. With 1, everything runs in this process.
    executor : concurrent.futures.Executor, optional
        Run the replicates there (e.g. a Dask cluster's ``Client(...).get_executor()``)
        instead of on ``max_workers`` local processes; the result is the same.
    progress : bool, optional
        Progress bar; by default only for a person watching (see :mod:`mixedtools._progress`).

    Returns
    -------
    pandas.Series
        ``statistic`` (observed LR), ``df`` (difference in parameters), ``p_value``
        (bootstrap), ``n_boot`` (replicates that could be refitted), ``estimation``
        ("REML" or "ML"). The simulated statistics are in ``.attrs["null_statistics"]``.

    Examples
    --------
    >>> import mixedtools as mt
    >>> sleep = mt.datasets.load("sleepstudy")
    >>> m0 = mt.lmer("reaction ~ days + (1 | subject)", sleep)
    >>> m1 = mt.lmer("reaction ~ days + (days | subject)", sleep)
    >>> res = bootstrap_lrt(m0, m1, n_boot=19, seed=1, max_workers=1)
    >>> round(res["statistic"], 2), res["p_value"]  # smallest p possible with 19 draws
    (42.84, 0.05)

    A fixed effect in a binomial GLMM (the test ``PBmodcomp`` makes of two glmer fits):

    >>> cbpp = mt.datasets.load("cbpp").astype({"period": "category"})
    >>> g0 = mt.glmer("cbind(incidence, size - incidence) ~ 1 + (1 | herd)", cbpp)
    >>> g1 = mt.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp)
    >>> res = bootstrap_lrt(g0, g1, n_boot=19, seed=1, max_workers=1)
    >>> round(res["statistic"], 3), res["df"], res["p_value"]
    (25.61, 3, 0.05)
    """
    _check_fit(reduced, "reduced")
    _check_fit(full, "full")
    _check_n(n_boot)
    _check_pair(reduced, full)
    if isinstance(full, GlmerResult):
        statistic = max(2.0 * (full.loglik - reduced.loglik), 0.0)
        payload = (
            reduced.structure,
            full.structure,
            reduced.fixef.to_numpy(),
            reduced.tau,
            reduced.theta,
            full.theta,
            reduced.nagq,
        )
        worker, reml = _glmer_lrt_chunk, False
    else:
        same_fixed = reduced.design.X.shape == full.design.X.shape and (
            np.linalg.matrix_rank(np.column_stack([reduced.design.X, full.design.X]))
            == reduced.design.X.shape[1]
        )
        reml = bool(reduced.reml and full.reml and same_fixed)
        if not reml:
            reduced, full = reduced.refit(reml=False), full.refit(reml=False)
        statistic = max(2.0 * (full.loglik - reduced.loglik), 0.0)
        payload = (
            reduced.structure,
            full.structure,
            reduced.fixef.to_numpy(),
            reduced.tau,
            full.tau,
            reml,
        )
        worker = _lrt_chunk
    null = np.concatenate(_run(worker, payload, n_boot, seed, max_workers, executor, progress))
    ok = null[np.isfinite(null)]
    # a tolerance keeps replicates that tie with the observed value (e.g. both 0) as ties
    exceed = int(np.sum(ok >= statistic - 1e-8 * max(1.0, statistic)))
    out = pd.Series(
        {
            "statistic": statistic,
            "df": full.n_params - reduced.n_params,
            "p_value": (1 + exceed) / (len(ok) + 1),
            "n_boot": len(ok),
            "estimation": "REML" if reml else "ML",
        },
        name="parametric bootstrap LRT",
        dtype=object,
    )
    out.attrs["null_statistics"] = ok
    return out


# ------------------------------------------------------------------------------------------
# Intervals for the variance components
# ------------------------------------------------------------------------------------------


def _sdcor(structure, tau, residual=True):
    """SDs and correlations in the row order of the fit's varcorr (``residual``: with the
    residual SD last, as an lmer fit has it)."""
    rows = varcorr_rows(structure.random_terms(tau), tau[-1] if residual else None)
    return np.asarray([row[-1] for row in rows])


def _varcorr_chunk(task):
    (structure, beta, tau, reml), seeds = task
    n_rows = len(_sdcor(structure, tau))
    out = np.full((len(seeds), n_rows), np.nan)
    for row, seed in enumerate(seeds):
        y = structure.simulate(beta, tau, np.random.default_rng(seed))
        try:
            new, tau_star, _ = _refit(structure, y, tau, reml)
        except (np.linalg.LinAlgError, ValueError):
            continue
        out[row] = _sdcor(new, tau_star)
    return out


def _glmer_varcorr_chunk(task):
    (structure, beta, tau, theta, nagq), seeds = task
    n_rows = len(_sdcor(structure, tau, residual=False))
    out = np.full((len(seeds), n_rows), np.nan)
    for row, seed in enumerate(seeds):
        y = structure.simulate(beta, tau, np.random.default_rng(seed))
        try:
            tau_star, _, ll = _glmer_refit(structure, y, theta, nagq)
        except (np.linalg.LinAlgError, ValueError, FloatingPointError):
            continue
        if np.isfinite(ll):
            out[row] = _sdcor(structure, tau_star, residual=False)
    return out


def bootstrap_varcorr(
    fit: LmerResult | GlmerResult,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int | None = None,
    max_workers: int | None = None,
    *,
    executor: Executor | None = None,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Parametric-bootstrap percentile intervals for the SDs and correlations of the random effects.

    Parameters
    ----------
    fit : LmerResult or GlmerResult
    n_boot : int
        Number of simulated data sets.
    level : float
        Confidence level.
    seed : int, optional
        Seed of the root :class:`numpy.random.SeedSequence`.
    max_workers : int, optional
        Worker processes. By default the replicates run in this process when they would take
        under about ten seconds (judged from the first 25), else on :func:`os.cpu_count`
        processes.
    executor : concurrent.futures.Executor, optional
        Run the replicates there (e.g. a Dask cluster's ``Client(...).get_executor()``)
        instead of on ``max_workers`` local processes; the result is the same.
    progress : bool, optional
        Progress bar; by default only for a person watching (see :mod:`mixedtools._progress`).

    Returns
    -------
    pandas.DataFrame
        The rows of ``fit.varcorr`` (group, var1, var2) with ``estimate`` (SD, or correlation
        for covariance rows), ``ci_lower``, ``ci_upper``, ``share_zero`` (share of bootstrap
        fits with this SD estimated as exactly 0; NaN for correlations) and ``n_boot``. A
        glmer fit has no residual row (its SDs are on the link scale).

    Examples
    --------
    >>> import mixedtools as mt
    >>> fit = mt.lmer("Q('yield') ~ 1 + (1 | batch)", mt.datasets.load("dyestuff"))
    >>> ci = bootstrap_varcorr(fit, n_boot=50, seed=3, max_workers=1)
    >>> ci[["group", "estimate"]].round(2).values.tolist()
    [['batch', 42.0], ['Residual', 49.51]]
    >>> bool((ci["ci_lower"] <= ci["estimate"]).all() and (ci["estimate"] <= ci["ci_upper"]).all())
    True
    """
    _check_fit(fit)
    _check_n(n_boot)
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1); got {level}.")
    glmm = isinstance(fit, GlmerResult)
    payload = _refit_payload(fit)
    worker = _glmer_varcorr_chunk if glmm else _varcorr_chunk
    draws = np.concatenate(_run(worker, payload, n_boot, seed, max_workers, executor, progress))
    table = fit.varcorr[["group", "var1", "var2"]].copy()
    table["estimate"] = _sdcor(fit.structure, fit.tau, residual=not glmm)
    alpha = 1.0 - level
    is_correlation = (table["var2"] != "").to_numpy()
    lower, upper, zero, counts = [], [], [], []
    for column, corr in zip(draws.T, is_correlation, strict=True):
        ok = column[np.isfinite(column)]
        counts.append(len(ok))
        lower.append(np.quantile(ok, alpha / 2) if len(ok) else np.nan)
        upper.append(np.quantile(ok, 1 - alpha / 2) if len(ok) else np.nan)
        zero.append(np.nan if corr or not len(ok) else float(np.mean(ok <= 1e-6 * ok.max())))
    table["ci_lower"], table["ci_upper"] = lower, upper
    table["share_zero"], table["n_boot"] = zero, counts
    return table


# ------------------------------------------------------------------------------------------
# Fixed effects
# ------------------------------------------------------------------------------------------


def _fixef_chunk(task):
    (structure, beta, tau, reml), seeds = task
    out = np.full((len(seeds), len(beta)), np.nan)
    for row, seed in enumerate(seeds):
        y = structure.simulate(beta, tau, np.random.default_rng(seed))
        try:
            new, tau_star, _ = _refit(structure, y, tau, reml)
        except (np.linalg.LinAlgError, ValueError):
            continue
        out[row] = new.quantities(tau_star, reml).beta  # GLS beta at the refit's optimum
    return out


def _glmer_fixef_chunk(task):
    (structure, beta, tau, theta, nagq), seeds = task
    out = np.full((len(seeds), len(beta)), np.nan)
    for row, seed in enumerate(seeds):
        y = structure.simulate(beta, tau, np.random.default_rng(seed))
        try:
            _, beta_star, ll = _glmer_refit(structure, y, theta, nagq)
        except (np.linalg.LinAlgError, ValueError, FloatingPointError):
            continue
        if np.isfinite(ll):
            out[row] = beta_star
    return out


def bootstrap_fixef(
    fit: LmerResult | GlmerResult,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int | None = None,
    max_workers: int | None = None,
    *,
    executor: Executor | None = None,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Parametric-bootstrap percentile intervals for the fixed effects.

    Each replicate simulates a response from the fitted model with new random effects, refits
    the model and keeps its fixed effects; the interval is the ``(1 - level) / 2`` and
    ``(1 + level) / 2`` quantiles of those estimates, as lme4's
    ``confint(fit, parm = "beta_", method = "boot", boot.type = "perc")``. Unlike the Wald
    interval it needs no normal approximation to the estimate's distribution and no degrees
    of freedom; for a glmer fit it is on the link scale (exponentiate both ends for odds or
    rate ratios).

    Parameters
    ----------
    fit : LmerResult or GlmerResult
    n_boot : int
        Number of simulated data sets (lme4's ``nsim``).
    level : float
        Confidence level.
    seed : int, optional
        Seed of the root :class:`numpy.random.SeedSequence`.
    max_workers : int, optional
        Worker processes; by default as :func:`bootstrap_varcorr`.
    executor : concurrent.futures.Executor, optional
        Run the replicates there instead; the result is the same.
    progress : bool, optional

    Returns
    -------
    pandas.DataFrame
        One row per fixed effect: ``estimate``, ``ci_lower``, ``ci_upper``, ``boot_se`` (the
        standard deviation of the bootstrap estimates) and ``n_boot`` (replicates whose refit
        succeeded).

    Examples
    --------
    >>> import mixedtools as mt
    >>> fit = mt.lmer("reaction ~ days + (days | subject)", mt.datasets.load("sleepstudy"))
    >>> ci = bootstrap_fixef(fit, n_boot=100, seed=1, max_workers=1)
    >>> list(ci.columns)
    ['estimate', 'ci_lower', 'ci_upper', 'boot_se', 'n_boot']
    >>> bool(((ci["ci_lower"] < ci["estimate"]) & (ci["estimate"] < ci["ci_upper"])).all())
    True
    """
    _check_fit(fit)
    _check_n(n_boot)
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1); got {level}.")
    beta = fit.fixef.to_numpy()
    payload = _refit_payload(fit)
    worker = _glmer_fixef_chunk if isinstance(fit, GlmerResult) else _fixef_chunk
    draws = np.concatenate(_run(worker, payload, n_boot, seed, max_workers, executor, progress))
    ok = np.all(np.isfinite(draws), axis=1)
    if isinstance(fit, GlmerResult) and ok.any():
        # a simulated data set can be separated (e.g. no success in a small level): its
        # estimate runs off, as glmer's separation warning judges it on the linear predictor
        reach = np.abs(draws[ok]) * np.max(np.abs(fit.structure.X), axis=0)
        separated = int(np.any(reach > 20, axis=1).sum())
        if separated:
            warnings.warn(
                f"{separated} of {int(ok.sum())} bootstrap refits ran off to a very large "
                "coefficient (separation in the simulated data); the percentile interval "
                "is robust to a few such refits, the bootstrap SD (boot_se) is not",
                UserWarning,
                stacklevel=external_stacklevel(),
            )
    alpha = 1.0 - level
    table = pd.DataFrame({"estimate": beta}, index=fit.fixef.index)
    if ok.any():
        table["ci_lower"] = np.quantile(draws[ok], alpha / 2, axis=0)
        table["ci_upper"] = np.quantile(draws[ok], 1 - alpha / 2, axis=0)
        table["boot_se"] = draws[ok].std(axis=0, ddof=1) if ok.sum() > 1 else np.nan
    else:
        table["ci_lower"] = table["ci_upper"] = table["boot_se"] = np.nan
    table["n_boot"] = int(ok.sum())
    return table
