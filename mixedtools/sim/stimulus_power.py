"""Power of subjects x items experiments with random subjects and random stimuli.

Westfall, Kenny & Judd (2014) give the power of the condition test in designs where both
participants and stimuli are random samples. For their *counterbalanced* design -- the Latin
square of :func:`mixedtools.stimuli.latin_square`: every subject sees every item once, half of
the items in each condition, and each item is seen in each condition by half of the subjects --
with the model

``Y_si = gamma_00 + gamma_10 c_si + u_0s + u_1s c_si + w_0i + w_1i c_si + e_si``,
``c = -1/2, +1/2``,

the estimate of ``gamma_10`` (the difference of the condition means) has variance

``Var = sd_subject_slope^2 / S + sd_item_slope^2 / I + 4 sd_residual^2 / (S I)``;

the subject and item intercepts cancel. The design splits into two lists of subjects and two
sets of items (by parity); the mean squares of subjects-within-list x set (df ``S - 2``),
items-within-set x list (``I - 2``) and the residual (``(S - 2)(I - 2)``) have expectations
``E1 = I sd_subject_slope^2 / 4 + sd_residual^2``, ``E2 = S sd_item_slope^2 / 4 +
sd_residual^2`` and ``E3 = sd_residual^2``, and ``Var = 4 (E1 + E2 - E3) / (S I)``. The test is
the quasi-F (equivalently the mixed model with by-subject and by-item random slopes) with
noncentrality ``delta = gamma_10 / sqrt(Var)`` and Satterthwaite's df

``df = (E1 + E2 - E3)^2 / (E1^2 / (S - 2) + E2^2 / (I - 2) + E3^2 / ((S - 2)(I - 2)))``,

Westfall, Kenny & Judd's approximation; power is that of a two-sided noncentral t test.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["stimulus_power", "quasi_f_rejection_rate"]


def _check_sizes(values, name):
    values = np.atleast_1d(values)
    for v in values:
        if not isinstance(v, (int, np.integer)) or v < 4 or v % 2:
            raise ValueError(f"{name} must be even integers of at least 4, got {v!r}.")
    return [int(v) for v in values]


def _check_sd(**sds):
    for name, value in sds.items():
        if not np.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a finite, non-negative standard deviation.")
    if sds["sd_residual"] <= 0:
        raise ValueError("sd_residual must be positive.")


def _moments(n_s, n_i, sd_subject_slope, sd_item_slope, sd_residual):
    e1 = n_i * sd_subject_slope**2 / 4 + sd_residual**2
    e2 = n_s * sd_item_slope**2 / 4 + sd_residual**2
    e3 = sd_residual**2
    var = 4 * (e1 + e2 - e3) / (n_s * n_i)
    df = (e1 + e2 - e3) ** 2 / (
        e1**2 / (n_s - 2) + e2**2 / (n_i - 2) + e3**2 / ((n_s - 2) * (n_i - 2))
    )
    return var, df


def _power(delta, df, alpha):
    crit = stats.t.isf(alpha / 2, df)
    return stats.nct.sf(crit, df, delta) + stats.nct.cdf(-crit, df, delta)


def stimulus_power(
    n_subjects,
    n_items,
    effect: float,
    sd_subject_slope: float = 0.0,
    sd_item_slope: float = 0.0,
    sd_residual: float = 1.0,
    sd_subject: float = 0.0,
    sd_item: float = 0.0,
    alpha: float = 0.05,
    df="satterthwaite",
) -> pd.DataFrame:
    """Analytic power of the condition test in a counterbalanced subjects x items design.

    Westfall, Kenny & Judd's (2014) noncentral-t power for the Latin square of
    :func:`mixedtools.stimuli.latin_square` (see the module description for the formulas),
    over a grid of numbers of subjects and items.

    Parameters
    ----------
    n_subjects, n_items : int or sequence of int
        Even numbers (at least 4); every combination is a row of the result.
    effect : float
        The condition effect ``gamma_10`` (difference of the condition means).
    sd_subject_slope, sd_item_slope : float
        SDs of the by-subject and by-item condition effects.
    sd_residual : float
        Residual SD.
    sd_subject, sd_item : float
        SDs of the random intercepts: they cancel from the test in this design and enter only
        the standardised effect ``d`` of the result.
    alpha : float
        Two-sided significance level.
    df : {"satterthwaite", "intercepts", "by_subject"} or float
        Reference df: Westfall, Kenny & Judd's Satterthwaite df of the quasi-F (default);
        ``S I - S - I``, the df of the random-intercept model (exact when both slope SDs are
        0); ``S - 1``, the by-subject analysis F1 (exact when items have neither intercepts
        nor slopes); or a number.

    Returns
    -------
    DataFrame
        One row per (n_subjects, n_items): ``n_subjects, n_items, d`` (effect over the SD of
        one observation, WKJ's standardised effect), ``std_error, delta`` (noncentrality),
        ``df, power``.

    Examples
    --------
    >>> import mixedtools as mt
    >>> grid = mt.sim.stimulus_power([16, 32], [8, 16, 32], effect=0.5,
    ...                              sd_subject_slope=0.5, sd_item_slope=0.5)
    >>> grid[["n_subjects", "n_items", "df", "power"]].round(3)
       n_subjects  n_items      df  power
    0          16        8   7.447  0.345
    1          16       16  15.611  0.582
    2          16       32  20.550  0.769
    3          32        8   7.750  0.465
    4          32       16  20.550  0.769
    5          32       32  41.590  0.937
    """
    subjects = _check_sizes(n_subjects, "n_subjects")
    items = _check_sizes(n_items, "n_items")
    _check_sd(
        sd_subject_slope=sd_subject_slope,
        sd_item_slope=sd_item_slope,
        sd_residual=sd_residual,
        sd_subject=sd_subject,
        sd_item=sd_item,
    )
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}.")
    total_sd = np.sqrt(
        sd_subject**2 + sd_item**2 + (sd_subject_slope**2 + sd_item_slope**2) / 4 + sd_residual**2
    )
    rows = []
    for n_s in subjects:
        for n_i in items:
            var, wkj_df = _moments(n_s, n_i, sd_subject_slope, sd_item_slope, sd_residual)
            if isinstance(df, str):
                choice = {
                    "satterthwaite": wkj_df,
                    "intercepts": n_s * n_i - n_s - n_i,
                    "by_subject": n_s - 1,
                }
                if df not in choice:
                    raise ValueError(
                        f"df must be 'satterthwaite', 'intercepts', 'by_subject' or a number, "
                        f"got {df!r}."
                    )
                ref_df = float(choice[df])
            else:
                ref_df = float(df)
                if not ref_df > 0:
                    raise ValueError(f"df must be positive, got {df!r}.")
            se = np.sqrt(var)
            delta = effect / se
            rows.append(
                {
                    "n_subjects": n_s,
                    "n_items": n_i,
                    "d": effect / total_sd,
                    "std_error": se,
                    "delta": delta,
                    "df": ref_df,
                    "power": float(_power(delta, ref_df, alpha)),
                }
            )
    return pd.DataFrame(rows)


def quasi_f_rejection_rate(
    n_reps: int,
    n_subjects: int,
    n_items: int,
    effect: float,
    sd_subject_slope: float = 0.0,
    sd_item_slope: float = 0.0,
    sd_residual: float = 1.0,
    sd_subject: float = 0.0,
    sd_item: float = 0.0,
    alpha: float = 0.05,
    seed: int = 0,
) -> pd.Series:
    """Simulated rejection rate of the quasi-F test whose power :func:`stimulus_power` predicts.

    Simulates the Latin-square model (as :func:`mixedtools.stimuli.latin_square` does) and
    tests the condition with ``t = estimate / sqrt(4 (MS1 + MS2 - MS3) / (S I))`` on the
    Satterthwaite df of the observed mean squares (a replicate whose variance estimate is not
    positive counts as not rejected).

    Returns
    -------
    Series
        ``rate`` and ``mc_se`` (``sqrt(rate (1 - rate) / n_reps)``), ``n_reps``.

    Examples
    --------
    >>> import mixedtools as mt
    >>> out = mt.sim.quasi_f_rejection_rate(400, 16, 16, effect=0.0, sd_item_slope=0.5, seed=2)
    >>> bool(abs(out["rate"] - 0.05) < 3 * out["mc_se"])
    True
    """
    n_s, n_i = _check_sizes(n_subjects, "n_subjects")[0], _check_sizes(n_items, "n_items")[0]
    if not isinstance(n_reps, (int, np.integer)) or n_reps < 1:
        raise ValueError(f"n_reps must be a positive integer, got {n_reps!r}.")
    _check_sd(
        sd_subject_slope=sd_subject_slope,
        sd_item_slope=sd_item_slope,
        sd_residual=sd_residual,
        sd_subject=sd_subject,
        sd_item=sd_item,
    )
    rng = np.random.default_rng(seed)
    s, i = np.meshgrid(np.arange(n_s), np.arange(n_i), indexing="ij")
    c = ((s + i) % 2) - 0.5
    g, h = np.arange(n_s) % 2, np.arange(n_i) % 2
    rejected = 0
    chunk = max(1, 2_000_000 // (n_s * n_i))
    done = 0
    while done < n_reps:
        size = min(chunk, n_reps - done)
        u0 = rng.normal(0, sd_subject, (size, n_s, 1))
        u1 = rng.normal(0, sd_subject_slope, (size, n_s, 1))
        w0 = rng.normal(0, sd_item, (size, 1, n_i))
        w1 = rng.normal(0, sd_item_slope, (size, 1, n_i))
        e = rng.normal(0, sd_residual, (size, n_s, n_i))
        y = (effect + u1 + w1) * c + u0 + w0 + e
        estimate = (y * c).sum((-2, -1)) * 4 / (n_s * n_i)
        # mean of each subject over each item set, and of each item over each subject list
        ys = np.stack([y[:, :, h == k].mean(-1) for k in (0, 1)], -1)  # size x S x 2
        yi = np.stack([y[:, g == k, :].mean(-2) for k in (0, 1)], -1)  # size x I x 2
        ds = ys[..., 1] - ys[..., 0]
        di = yi[..., 1] - yi[..., 0]
        ss1 = sum(
            ((ds[:, g == k] - ds[:, g == k].mean(-1, keepdims=True)) ** 2).sum(-1) for k in (0, 1)
        ) * (n_i / 4)
        ss2 = sum(
            ((di[:, h == k] - di[:, h == k].mean(-1, keepdims=True)) ** 2).sum(-1) for k in (0, 1)
        ) * (n_s / 4)
        # residual: subject(list) x item(set) interaction within each of the four blocks
        ss3 = np.zeros(size)
        for a in (0, 1):
            for b in (0, 1):
                block = y[:, g == a][:, :, h == b]
                resid = (
                    block
                    - block.mean(-1, keepdims=True)
                    - block.mean(-2, keepdims=True)
                    + block.mean((-2, -1), keepdims=True)
                )
                ss3 += (resid**2).sum((-2, -1))
        df1, df2, df3 = n_s - 2, n_i - 2, (n_s - 2) * (n_i - 2)
        ms1, ms2, ms3 = ss1 / df1, ss2 / df2, ss3 / df3
        comb = ms1 + ms2 - ms3
        ok = comb > 0
        safe = np.where(ok, comb, 1.0)
        t = estimate / np.sqrt(4 * safe / (n_s * n_i))
        df = safe**2 / (ms1**2 / df1 + ms2**2 / df2 + ms3**2 / df3)
        p = 2 * stats.t.sf(np.abs(t), df)
        rejected += int(((p < alpha) & ok).sum())
        done += size
    rate = rejected / n_reps
    return pd.Series({"rate": rate, "mc_se": np.sqrt(rate * (1 - rate) / n_reps), "n_reps": n_reps})
