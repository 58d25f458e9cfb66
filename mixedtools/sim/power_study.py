"""Power of the level-2 and cross-level tests of a two-level random-slope model, by simulation."""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import Executor

import numpy as np
import pandas as pd
from scipy import stats

from mixedtools._threads import run_parallel
from mixedtools.lmm import reml as _reml
from mixedtools.lmm.optimize import bounded_refit, neutral_start
from mixedtools.sim.examples import _check_variance

__all__ = ["power"]


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

    ``engine="reml"`` maximises the profiled REML criterion of :mod:`mixedtools.lmm.reml` with
    :func:`mixedtools.lmm.optimize.bounded_refit` from lme4's neutral start; ``"statsmodels"`` uses
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
        quantities = structure.quantities(tau)
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
    *,
    executor: Executor | None = None,
    progress: bool | None = None,
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

    * ``"t (HLM rule)"``: t distribution with the HLM rule's df, ``K - q - 1`` for the
      level-2 effect and ``K - q_c - 1`` for the cross-level interaction (here ``q = q_c = 1``,
      so ``K - 2`` for both);
    * ``"z"``: the standard normal (the asymptotic test, as if ``K`` were infinite).

    Standard errors are ``sqrt(diag((X' V^-1 X)^-1))`` at the REML estimates, as in lme4 and
    the HLM program (statsmodels' own Hessian-based ``bse`` differs near the boundary).

    Two fitting engines give the same REML estimates:

    * ``"reml"`` (default): lme4's profiled REML criterion from :mod:`mixedtools.lmm.reml` (the
      engine behind :func:`mixedtools.lmer`), computed blockwise from per-group cross-products
      and minimised with its analytic gradient by L-BFGS-B over the relative covariance factor,
      with its diagonal bounded at 0 (as lme4 does). About 5 ms per fit; boundary (singular)
      fits are ordinary results, not failures.
    * ``"statsmodels"``: :class:`statsmodels.regression.mixed_linear_model.MixedLM` with
      L-BFGS. About 10 times slower, and with few groups or small ``n`` a sizeable share of fits
      end with a convergence warning when the slope variance is near 0; those count as failed.

    Confidence intervals use the same reference distribution as the test, so coverage is the
    share of intervals ``estimate +- quantile * se`` that contain the true value.

    Replicates run in tasks of 25 on local processes, or on any
    :class:`concurrent.futures.Executor` given as ``executor`` (a Dask cluster's
    ``Client(...).get_executor()``, for instance). Every replicate has its own child of
    ``numpy.random.SeedSequence(seed)`` and results are gathered in task order, so they are the
    same, bit for bit, serially, on local processes or on a cluster with any number of workers.
    Local workers are started fresh ("spawn") with one BLAS thread each, so a script (not a
    notebook) that calls this with several workers needs the usual
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
    executor : concurrent.futures.Executor, optional
        Run the tasks there instead of on ``max_workers`` local processes.
    progress : bool, optional
        Progress bar; by default shown only to a person watching (a terminal or a notebook run
        by hand), never in CI or in stored notebook outputs (see :mod:`mixedtools._progress`).

    Returns
    -------
    pandas.DataFrame
        One row per ``(K, n, effect, method)``: ``K``, ``n``, ``effect`` (``"level-2"`` or
        ``"cross-level"``), ``method`` (``"t (HLM rule)"`` or ``"z"``), ``df`` (``inf`` for z),
        ``power`` (rejection rate among converged fits), ``coverage``, ``mc_se`` (Monte Carlo
        standard error of ``power``), ``n_failed`` (fits that failed or did not converge;
        they are left out of ``power`` and ``coverage``) and ``coverage_mcse`` (Monte Carlo
        standard error of ``coverage``).

    Examples
    --------
    >>> from mixedtools.sim import power
    >>> res = power(n_groups=8, group_size=5, n_reps=10, seed=1, max_workers=1)
    >>> res[["K", "n", "effect", "method"]].to_records(index=False).tolist()[:2]
    [(8, 5, 'level-2', 't (HLM rule)'), (8, 5, 'level-2', 'z')]
    >>> bool(res["power"].between(0, 1).all())
    True

    The same study on a thread pool (or a Dask cluster's executor) gives the same table:

    >>> from concurrent.futures import ThreadPoolExecutor
    >>> with ThreadPoolExecutor(2) as pool:
    ...     same = power(n_groups=8, group_size=5, n_reps=10, seed=1, executor=pool)
    >>> same.equals(res)
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
    if max_workers is not None and int(max_workers) < 1:
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

    chunks = run_parallel(
        _power_replicates,
        tasks,
        max_workers,
        executor=executor,
        progress=progress,
        counts=[len(task[3]) for task in tasks],
        desc="power",
    )
    results = np.concatenate(chunks).reshape(len(settings), int(n_reps), -1)

    truth = {"level-2": params["level2_effect"], "cross-level": params["cross_level_effect"]}
    rows = []
    for (k, n), reps in zip(settings, results, strict=True):
        for column, effect in enumerate(_POWER_TERMS):
            estimate, se = reps[:, 2 * column], reps[:, 2 * column + 1]
            ok = np.isfinite(estimate)
            estimate, se = estimate[ok], se[ok]
            for method, df in (("t (HLM rule)", float(k - 2)), ("z", np.inf)):
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
                        "coverage_mcse": (
                            float(np.sqrt(covered.mean() * (1 - covered.mean()) / n_ok))
                            if n_ok
                            else np.nan
                        ),
                    }
                )
    return pd.DataFrame(rows)
