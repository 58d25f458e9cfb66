"""Pieces shared by the simulation studies that fit a mixed model per replicate.

Input checks, the direct REML/ML fit of an :class:`~mixedtools.lmm.reml.LMMStructure` (as
:func:`mixedtools.lmer`'s optimiser does, without building formulas thousands of times), the
p-values of every df method with as few passes as possible, and the call that runs chunks of
replicates on local processes or an executor.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from mixedtools._threads import run_parallel
from mixedtools.lmm.ddf import coef_table
from mixedtools.lmm.optimize import bounded_refit, maximize, neutral_start


def _check_reps(n_reps, alpha):
    if not (isinstance(n_reps, int | np.integer) and n_reps >= 1):
        raise ValueError(f"n_reps must be a positive integer; got {n_reps!r}.")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1); got {alpha}.")


def _fit(structure, reml=True, start=None):
    """(RE)ML variance parameters of `structure`, as mixedtools.lmer's direct optimiser finds them.

    A simulation knows the true parameters; starting there (``start``) saves iterations.
    """
    start = neutral_start(structure) if start is None else np.asarray(start, float)
    tau = bounded_refit(structure, start, reml, try_neutral_start=False)
    return maximize(structure, tau, reml=reml)


def _tests(structure, tau, reml, methods, terms, hlm_cache):
    """p-values and df of `terms` for each df method, with as few passes as possible.

    The residual and asymptotic tests use the same t statistic as Satterthwaite's (only the
    reference distribution differs), and the HLM rule's df depend on the design alone, so they
    are computed once per design (``hlm_cache``).
    """
    out = {}
    base = coef_table((structure, tau, reml), "satterthwaite", polish=False)
    t = base.loc[list(terms), "t"].to_numpy()
    for method in methods:
        if method == "kenward-roger":
            if not reml:
                continue
            kr = coef_table((structure, tau, reml), method, polish=False).loc[list(terms)]
            out[method] = (kr["p_value"].to_numpy(), kr["df"].to_numpy())
            continue
        if method == "satterthwaite":
            df = base.loc[list(terms), "df"].to_numpy()
        elif method == "hlm":
            if "hlm" not in hlm_cache:
                table = coef_table((structure, tau, reml), "hlm", polish=False)
                hlm_cache["hlm"] = table.loc[list(terms), "df"].to_numpy()
            df = hlm_cache["hlm"]
        elif method == "residual":
            df = np.full(len(terms), float(structure.n_obs - structure.n_fixed))
        elif method == "asymptotic":
            df = np.full(len(terms), np.inf)
        else:
            table = coef_table((structure, tau, reml), method, polish=False).loc[list(terms)]
            out[method] = (table["p_value"].to_numpy(), table["df"].to_numpy())
            continue
        p = np.where(np.isinf(df), 2 * stats.norm.sf(np.abs(t)), 2 * stats.t.sf(np.abs(t), df))
        out[method] = (p, df)
    return out


def _run(chunk_worker, tasks, max_workers, executor, progress, seeds_at=-1):
    """run_parallel for chunks of replicates, each task holding its seeds at ``task[seeds_at]``."""
    return run_parallel(
        chunk_worker,
        tasks,
        max_workers,
        executor=executor,
        progress=progress,
        counts=[len(task[seeds_at]) for task in tasks],
        desc=chunk_worker.__name__.strip("_").removesuffix("_chunk").replace("_", " "),
    )


def _rate_row(rejections, n_ok):
    rate = rejections / n_ok if n_ok else np.nan
    mc_se = np.sqrt(rate * (1 - rate) / n_ok) if n_ok else np.nan
    return rate, mc_se
