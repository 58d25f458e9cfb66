"""Parametric bootstrap for the variance components of an :func:`mixedtools.lmer` fit.

* :func:`bootstrap_lrt` — the likelihood-ratio test of a variance component with its null
  distribution simulated from the reduced model (as R's ``pbkrtest::PBmodcomp`` does), instead of
  the asymptotic chi-square mixture that :func:`mixedtools.lrt` uses;
* :func:`bootstrap_varcorr` — percentile intervals for the standard deviations and correlations
  of the random effects (as lme4's ``confint(fit, method = "boot")``), and the share of
  bootstrap fits in which a variance is estimated as exactly zero.

Responses are simulated from the fitted model, ``y* = X beta + Z b* + e*`` with
``b* ~ N(0, G)`` and ``e* ~ N(0, sigma^2)``, and refitted with the REML engine behind
:func:`mixedtools.lmer`. Replicates run in tasks of 25 on local worker processes or on any
:class:`concurrent.futures.Executor` (as :func:`mixedtools.sim.power`), each with its own child
of ``numpy.random.SeedSequence(seed)``, gathered in task order: results do not depend on where
or on how many workers they run.
"""

from __future__ import annotations

from concurrent.futures import Executor

import numpy as np
import pandas as pd

from mixedtools._threads import run_parallel
from mixedtools.lmm.engine import varcorr_rows
from mixedtools.lmm.fit import LmerResult
from mixedtools.lmm.optimize import bounded_refit, maximize

__all__ = ["simulate_responses", "bootstrap_lrt", "bootstrap_varcorr"]

_CHUNK = 25


def _check_fit(fit, name="fit"):
    if not isinstance(fit, LmerResult):
        raise TypeError(f"{name} must be a fit returned by mixedtools.lmer, got {type(fit)!r}")


def _check_n(n_boot):
    if not (isinstance(n_boot, int | np.integer) and n_boot >= 1):
        raise ValueError(f"n_boot must be a positive integer; got {n_boot!r}.")


def simulate_responses(fit: LmerResult, n_sim: int = 1, seed: int | None = None) -> np.ndarray:
    """Responses simulated from a fitted model (lme4's ``simulate(fit)``), one row per draw.

    Parameters
    ----------
    fit : LmerResult
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
    """
    _check_fit(fit)
    _check_n(n_sim)
    rng = np.random.default_rng(seed)
    beta = fit.fixef.to_numpy()
    return np.vstack([fit.structure.simulate(beta, fit.tau, rng) for _ in range(int(n_sim))])


def _refit(structure, y, tau_start, reml):
    """(tau, log-likelihood) of `structure` with response `y`, started at the original fit."""
    new = structure.with_response(y)
    tau = bounded_refit(new, tau_start, reml=reml, try_neutral_start=True)
    tau = maximize(new, tau, reml=reml)
    return new, tau, new.log_likelihood(tau, reml)


def _tasks(payload, n_boot, seed):
    children = np.random.SeedSequence(seed).spawn(int(n_boot))
    return [(payload, children[s : s + _CHUNK]) for s in range(0, int(n_boot), _CHUNK)]


def _run(chunk_worker, payload, n_boot, seed, max_workers, executor, progress):
    tasks = _tasks(payload, n_boot, seed)
    counts = [len(seeds) for _, seeds in tasks]
    return run_parallel(
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


def bootstrap_lrt(
    reduced: LmerResult,
    full: LmerResult,
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
    ``p = (1 + #{LR* >= LR}) / (n_boot + 1)``. This needs no boundary correction and no
    large-sample argument, which matters with few groups. When the fixed parts differ, both
    models are refitted by ML (REML likelihoods of different fixed parts are not comparable);
    otherwise the fits are compared as they are.

    Parameters
    ----------
    reduced, full : LmerResult
        Nested fits to the same rows; ``full`` has more parameters.
    n_boot : int
        Number of simulated data sets.
    seed : int, optional
        Seed of the root :class:`numpy.random.SeedSequence`.
    max_workers : int, optional
        Worker processes; default :func:`os.cpu_count`. With 1, everything runs in this process.
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
    """
    _check_fit(reduced, "reduced")
    _check_fit(full, "full")
    _check_n(n_boot)
    if reduced.nobs != full.nobs or not np.array_equal(reduced.structure.y, full.structure.y):
        raise ValueError("the two fits must use the same response and rows")
    if full.n_params <= reduced.n_params:
        raise ValueError(
            f"full has {full.n_params} parameters, reduced {reduced.n_params}: pass the model "
            "with fewer parameters as `reduced`"
        )
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
    null = np.concatenate(_run(_lrt_chunk, payload, n_boot, seed, max_workers, executor, progress))
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


def _sdcor(structure, tau):
    """SDs and correlations in the row order of LmerResult.varcorr."""
    rows = varcorr_rows(structure.random_terms(tau), tau[-1])
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


def bootstrap_varcorr(
    fit: LmerResult,
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
    fit : LmerResult
    n_boot : int
        Number of simulated data sets.
    level : float
        Confidence level.
    seed : int, optional
        Seed of the root :class:`numpy.random.SeedSequence`.
    max_workers : int, optional
        Worker processes; default :func:`os.cpu_count`.
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
        fits with this SD estimated as exactly 0; NaN for correlations) and ``n_boot``.

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
    payload = (fit.structure, fit.fixef.to_numpy(), fit.tau, bool(fit.reml))
    draws = np.concatenate(
        _run(_varcorr_chunk, payload, n_boot, seed, max_workers, executor, progress)
    )
    table = fit.varcorr[["group", "var1", "var2"]].copy()
    table["estimate"] = _sdcor(fit.structure, fit.tau)
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
