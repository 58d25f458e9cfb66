"""Subjects x items experiments: simulation and the classic by-subject / by-item analyses.

A psycholinguistics-style design: every subject sees every item once, in one of two conditions,
counterbalanced in a Latin square (subject s sees item i in condition ``(s + i) mod 2``), so the
condition varies within subjects and within items. The response is

``Y_si = gamma_00 + gamma_10 c_si + u_0s + u_1s c_si + w_0i + w_1i c_si + e_si``

with c = -1/2 or +1/2, subject intercepts and slopes (u) and item intercepts and slopes (w).

The analyses (Clark 1973):

* F1: the by-subject ANOVA — average over items within subject and condition, then a
  repeated-measures test over subjects (df 1, S - 1);
* F2: the by-item ANOVA — average over subjects within item and condition (df 1, I - 1);
* min F' = F1 F2 / (F1 + F2) with denominator df (F1 + F2)^2 / (F1^2 / df2 + F2^2 / df1);
* the crossed random-intercept model ``y ~ cond + (1 | subject) + (1 | item)``. In this balanced
  design the condition codes are orthogonal to the subject and item indicators, so its estimate
  is the difference of the condition means, its standard error uses the residual variance of
  the additive subject + item + condition model, and the Satterthwaite df are that model's
  residual df, ``S I - S - I``. :func:`analyses` computes it in closed form (identical to
  ``mt.lmer`` with ``ddf="satterthwaite"`` whenever neither variance estimate is zero; the test
  suite checks it), which is what lets the book run thousands of replications in seconds.
"""

from __future__ import annotations

import time
import warnings
from concurrent.futures import Executor

import numpy as np
import pandas as pd
from scipy import stats

from mixedtools._progress import progress_bar
from mixedtools._threads import run_parallel

__all__ = ["latin_square", "analyses", "rejection_rates", "lmer_rejection_rate"]

METHODS = ("F1 (by subject)", "F2 (by item)", "min F'", "LMM (1|subject) + (1|item)")


def _check_design(n_subjects: int, n_items: int) -> None:
    for name, value in (("n_subjects", n_subjects), ("n_items", n_items)):
        if not isinstance(value, (int, np.integer)) or value < 4 or value % 2:
            raise ValueError(f"{name} must be an even integer of at least 4, got {value!r}.")


def _check_sds(sds: dict) -> dict:
    for name, value in sds.items():
        if not np.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a finite, non-negative standard deviation.")
    if sds["sd_residual"] == 0:
        raise ValueError("sd_residual must be positive.")
    return sds


def _condition(n_subjects: int, n_items: int) -> np.ndarray:
    """S x I matrix of condition codes -1/2, +1/2 (Latin square)."""
    s, i = np.meshgrid(np.arange(n_subjects), np.arange(n_items), indexing="ij")
    return ((s + i) % 2) - 0.5


def _simulate(rng, n_reps, n_subjects, n_items, effect, sds) -> np.ndarray:
    """n_reps x S x I responses."""
    c = _condition(n_subjects, n_items)
    shape_s, shape_i = (n_reps, n_subjects, 1), (n_reps, 1, n_items)
    u0 = rng.normal(0, sds["sd_subject"], shape_s)
    u1 = rng.normal(0, sds["sd_subject_slope"], shape_s)
    w0 = rng.normal(0, sds["sd_item"], shape_i)
    w1 = rng.normal(0, sds["sd_item_slope"], shape_i)
    e = rng.normal(0, sds["sd_residual"], (n_reps, n_subjects, n_items))
    return (effect + u1 + w1) * c + u0 + w0 + e


def latin_square(
    n_subjects: int = 24,
    n_items: int = 16,
    effect: float = 0.0,
    sd_subject: float = 1.0,
    sd_item: float = 1.0,
    sd_subject_slope: float = 0.0,
    sd_item_slope: float = 0.0,
    sd_residual: float = 1.0,
    seed: int = 0,
) -> pd.DataFrame:
    """One simulated subjects x items experiment in long form.

    Parameters
    ----------
    n_subjects, n_items : int
        Even numbers (at least 4) of subjects and items.
    effect : float
        Fixed condition effect gamma_10 (0 = the null hypothesis is true).
    sd_subject, sd_item : float
        SDs of the subject and item random intercepts.
    sd_subject_slope, sd_item_slope : float
        SDs of the by-subject and by-item condition effects (random slopes).
    sd_residual : float
        Residual SD (positive).
    seed : int
        Seed of ``numpy.random.default_rng``.

    Returns
    -------
    pandas.DataFrame
        Columns ``subject`` (str), ``item`` (str), ``cond`` (-0.5 / 0.5), ``condition``
        ("A" / "B") and ``y``; one row per subject and item.

    Examples
    --------
    >>> import mixedtools as mt
    >>> data = mt.stimuli.latin_square(n_subjects=4, n_items=4, seed=1)
    >>> data.shape, data.groupby("subject")["cond"].mean().tolist()
    ((16, 5), [0.0, 0.0, 0.0, 0.0])
    """
    _check_design(n_subjects, n_items)
    sds = _check_sds(
        dict(
            sd_subject=sd_subject,
            sd_item=sd_item,
            sd_subject_slope=sd_subject_slope,
            sd_item_slope=sd_item_slope,
            sd_residual=sd_residual,
        )
    )
    y = _simulate(np.random.default_rng(seed), 1, n_subjects, n_items, effect, sds)[0]
    c = _condition(n_subjects, n_items)
    s, i = np.meshgrid(np.arange(n_subjects), np.arange(n_items), indexing="ij")
    return pd.DataFrame(
        {
            "subject": [f"s{k + 1:02d}" for k in s.ravel()],
            "item": [f"i{k + 1:02d}" for k in i.ravel()],
            "cond": c.ravel(),
            "condition": np.where(c.ravel() < 0, "A", "B"),
            "y": y.ravel(),
        }
    )


def _tests(y: np.ndarray, c: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """F, df1, df2 of the four analyses for responses y (reps x S x I)."""
    n_s, n_i = c.shape
    b = c > 0
    # By-subject condition differences (each subject has I/2 items per condition).
    d_s = np.where(b, y, 0).sum(-1) / b.sum(-1) - np.where(~b, y, 0).sum(-1) / (~b).sum(-1)
    d_i = np.where(b, y, 0).sum(-2) / b.sum(-2) - np.where(~b, y, 0).sum(-2) / (~b).sum(-2)

    def paired_f(d):
        n = d.shape[-1]
        return d.mean(-1) ** 2 / (d.var(-1, ddof=1) / n)

    f1, f2 = paired_f(d_s), paired_f(d_i)
    df1_2, df2_2 = float(n_s - 1), float(n_i - 1)
    minf = f1 * f2 / (f1 + f2)
    minf_df = (f1 + f2) ** 2 / (f1**2 / df2_2 + f2**2 / df1_2)
    # Crossed random-intercept model, closed form for the balanced orthogonal design.
    resid = (
        y - y.mean(-1, keepdims=True) - y.mean(-2, keepdims=True) + y.mean((-2, -1), keepdims=True)
    )
    beta = (resid * c).sum((-2, -1)) / (c**2).sum()
    df_lmm = float(n_s * n_i - n_s - n_i)
    ss_res = (resid**2).sum((-2, -1)) - beta**2 * (c**2).sum()
    f_lmm = beta**2 * (c**2).sum() / (ss_res / df_lmm)
    one = np.ones_like(f1)
    return {
        METHODS[0]: (f1, one, df1_2 * one),
        METHODS[1]: (f2, one, df2_2 * one),
        METHODS[2]: (minf, one, minf_df),
        METHODS[3]: (f_lmm, one, df_lmm * one),
    }


def analyses(data: pd.DataFrame) -> pd.DataFrame:
    """F1, F2, min F' and the crossed random-intercept model for one Latin-square data set.

    Parameters
    ----------
    data : pandas.DataFrame
        As returned by :func:`latin_square` (columns ``subject``, ``item``, ``cond``, ``y``;
        every subject with every item once, half of each subject's and each item's rows in
        each condition).

    Returns
    -------
    pandas.DataFrame
        Indexed by method; columns ``F, num_df, den_df, p_value``.

    Raises
    ------
    ValueError
        Missing columns, or not one row per subject and item with the Latin-square balance.

    Examples
    --------
    >>> import mixedtools as mt
    >>> table = mt.stimuli.analyses(mt.stimuli.latin_square(seed=3))
    >>> table["den_df"].round(2).tolist()
    [23.0, 15.0, 37.66, 344.0]
    """
    missing = {"subject", "item", "cond", "y"} - set(data.columns)
    if missing:
        raise ValueError(f"data lacks the column(s) {sorted(missing)}.")
    wide_y = data.pivot(index="subject", columns="item", values="y")
    wide_c = data.pivot(index="subject", columns="item", values="cond")
    c = wide_c.to_numpy(dtype=float)
    if wide_y.isna().any().any() or not np.isin(c, (-0.5, 0.5)).all():
        raise ValueError("Every subject must see every item once, with cond coded -0.5 / 0.5.")
    if (np.abs(c.sum(0)) > 0).any() or (np.abs(c.sum(1)) > 0).any():
        raise ValueError("Each subject and each item needs as many rows in each condition.")
    tests = _tests(wide_y.to_numpy(dtype=float)[None], c)
    rows = {
        name: {
            "F": f[0],
            "num_df": a[0],
            "den_df": b[0],
            "p_value": stats.f.sf(f[0], a[0], b[0]),
        }
        for name, (f, a, b) in tests.items()
    }
    return pd.DataFrame.from_dict(rows, orient="index")


def _count_rejections(task, bar=None) -> dict[str, int]:
    """Rejections of each analysis over one stream of simulated experiments.

    The experiments are drawn from one generator in blocks of about 2 million responses, so the
    study is one task: it can run on an executor, but not split over several workers.
    """
    n_reps, n_subjects, n_items, effect, sds, alpha, seed = task
    rng = np.random.default_rng(seed)
    c = _condition(n_subjects, n_items)
    rows = {name: 0 for name in METHODS}
    chunk = max(1, 2_000_000 // (n_subjects * n_items))
    done = 0
    while done < n_reps:
        size = min(chunk, n_reps - done)
        y = _simulate(rng, size, n_subjects, n_items, effect, sds)
        for name, (f, a, b) in _tests(y, c).items():
            rows[name] += int((stats.f.sf(f, a, b) < alpha).sum())
        done += size
        if bar is not None:
            bar.update(size)
    return rows


def rejection_rates(
    n_reps: int,
    n_subjects: int = 24,
    n_items: int = 16,
    effect: float = 0.0,
    sd_subject: float = 1.0,
    sd_item: float = 1.0,
    sd_subject_slope: float = 0.0,
    sd_item_slope: float = 0.0,
    sd_residual: float = 1.0,
    alpha: float = 0.05,
    seed: int = 0,
    *,
    executor: Executor | None = None,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Share of simulated experiments in which each analysis rejects H0 at level alpha.

    With ``effect = 0`` this is the type I error rate, otherwise the power. Replications are
    simulated and analysed in one vectorised pass (see the module docstring for the closed form
    of the mixed model), from one random stream: the study is a single task, which
    ``executor`` can run elsewhere but cannot split.

    Parameters
    ----------
    n_reps : int
        Number of simulated experiments.
    n_subjects, n_items, effect, sd_subject, sd_item, sd_subject_slope, sd_item_slope, \
sd_residual
        As for :func:`latin_square`.
    alpha : float
        Significance level.
    seed : int
        Seed of ``numpy.random.default_rng``.
    executor : concurrent.futures.Executor, optional
        Run the study there (as one task) instead of in this process; the result is the same.
    progress : bool, optional
        Progress bar; by default only for a person watching (see :mod:`mixedtools._progress`).

    Returns
    -------
    pandas.DataFrame
        Indexed by method; columns ``rate`` and ``mc_se`` (Monte Carlo standard error
        ``sqrt(rate (1 - rate) / n_reps)``); ``attrs["n_reps"]``.

    Examples
    --------
    >>> import mixedtools as mt
    >>> rates = mt.stimuli.rejection_rates(200, sd_item_slope=0.0, seed=1)
    >>> list(rates.columns), rates.attrs["n_reps"]
    (['rate', 'mc_se'], 200)
    """
    _check_design(n_subjects, n_items)
    if not isinstance(n_reps, (int, np.integer)) or n_reps < 1:
        raise ValueError(f"n_reps must be a positive integer, got {n_reps!r}.")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}.")
    sds = _check_sds(
        dict(
            sd_subject=sd_subject,
            sd_item=sd_item,
            sd_subject_slope=sd_subject_slope,
            sd_item_slope=sd_item_slope,
            sd_residual=sd_residual,
        )
    )
    task = (int(n_reps), n_subjects, n_items, effect, sds, alpha, seed)
    if executor is None:
        bar = progress_bar(int(n_reps), "rejection rates", progress)
        try:
            rows = _count_rejections(task, bar)
        finally:
            bar.close()
    else:
        (rows,) = run_parallel(
            _count_rejections,
            [task],
            executor=executor,
            progress=progress,
            counts=[int(n_reps)],
            desc="rejection rates",
        )
    rate = pd.Series(rows, dtype=float) / n_reps
    table = pd.DataFrame({"rate": rate, "mc_se": np.sqrt(rate * (1 - rate) / n_reps)})
    table.attrs["n_reps"] = int(n_reps)
    return table


_LMER_CHUNK = 25  # replicates per task, whatever the number of workers


def _lmer_null_counts(task) -> tuple[int, int, int]:
    """Rejections, singular fits and failures of one chunk of replicates (run in a worker)."""
    from mixedtools.lmm.fit import SingularFitWarning, lmer

    formula, settings, alpha, seeds = task
    rejected = singular = failed = 0
    for replicate_seed in seeds:
        data = latin_square(**settings, seed=replicate_seed)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                table = lmer(formula, data).coef_table(ddf="satterthwaite")
                p_value = table.loc["cond", "p_value"]
            except (ValueError, np.linalg.LinAlgError):
                p_value = np.nan
        singular += any(issubclass(w.category, SingularFitWarning) for w in caught)
        if not np.isfinite(p_value):
            failed += 1
            continue
        rejected += bool(p_value < alpha)
    return rejected, singular, failed


def lmer_rejection_rate(
    formula: str,
    n_reps: int,
    n_subjects: int = 24,
    n_items: int = 16,
    effect: float = 0.0,
    sd_subject: float = 1.0,
    sd_item: float = 1.0,
    sd_subject_slope: float = 0.0,
    sd_item_slope: float = 0.0,
    sd_residual: float = 1.0,
    alpha: float = 0.05,
    seed: int = 0,
    max_workers: int | None = 1,
    *,
    executor: Executor | None = None,
    progress: bool | None = None,
) -> pd.Series:
    """Rejection rate of the ``cond`` test of one ``mt.lmer`` model over simulated experiments.

    Every replicate is simulated like :func:`latin_square` and fitted with ``mt.lmer``; the
    Satterthwaite test of ``cond`` is counted as a rejection when ``p < alpha``. Use it for
    models without a closed form (random slopes); it costs one full fit per replicate.

    Parameters
    ----------
    formula : str
        lme4-style formula with response ``y`` and predictor ``cond``, e.g.
        ``"y ~ cond + (1 + cond || subject) + (1 + cond || item)"``.
    n_reps : int
        Number of simulated experiments.
    n_subjects, n_items, effect, sd_subject, sd_item, sd_subject_slope, sd_item_slope, \
sd_residual, alpha, seed
        As for :func:`rejection_rates` (replicate k uses seed ``seed + k``).
    max_workers : int, default 1
        Processes that fit replicates in parallel (fresh processes with one BLAS thread each).
        The result does not depend on it, only the wall time does.
    executor : concurrent.futures.Executor, optional
        Run the replicates (in tasks of 25 seeds) there instead, e.g. on a Dask cluster's
        ``Client(...).get_executor()``; the counts are the same.
    progress : bool, optional
        Progress bar; by default only for a person watching (see :mod:`mixedtools._progress`).

    Returns
    -------
    pandas.Series
        ``rate``, ``mc_se``, ``n_reps``, ``n_singular`` (fits with a singular-fit warning),
        ``n_failed`` (fits that raised or gave no p-value; excluded from the rate) and
        ``seconds`` (wall time of the whole run).

    Examples
    --------
    >>> import mixedtools as mt
    >>> out = mt.stimuli.lmer_rejection_rate(
    ...     "y ~ cond + (1 | subject) + (1 | item)", 3, n_subjects=8, n_items=8, seed=1
    ... )
    >>> int(out["n_reps"]), int(out["n_failed"])
    (3, 0)
    """
    if not isinstance(n_reps, (int, np.integer)) or n_reps < 1:
        raise ValueError(f"n_reps must be a positive integer, got {n_reps!r}.")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}.")
    settings = dict(
        n_subjects=n_subjects,
        n_items=n_items,
        effect=effect,
        sd_subject=sd_subject,
        sd_item=sd_item,
        sd_subject_slope=sd_subject_slope,
        sd_item_slope=sd_item_slope,
        sd_residual=sd_residual,
    )
    seeds = [seed + k for k in range(int(n_reps))]
    tasks = [
        (formula, settings, alpha, seeds[i : i + _LMER_CHUNK])
        for i in range(0, len(seeds), _LMER_CHUNK)
    ]
    start = time.perf_counter()
    counts = run_parallel(
        _lmer_null_counts,
        tasks,
        None if executor is not None else max_workers,
        executor=executor,
        progress=progress,
        counts=[len(task[3]) for task in tasks],
        desc="lmer fits",
    )
    rejected, singular, failed = (int(sum(c[i] for c in counts)) for i in range(3))
    used = n_reps - failed
    rate = rejected / used if used else np.nan
    return pd.Series(
        {
            "rate": rate,
            "mc_se": np.sqrt(rate * (1 - rate) / used) if used else np.nan,
            "n_reps": n_reps,
            "n_singular": singular,
            "n_failed": failed,
            "seconds": time.perf_counter() - start,
        }
    )
